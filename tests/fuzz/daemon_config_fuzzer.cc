// SPDX-License-Identifier: Apache-2.0
// flowwalld's configuration: the JSON config file and the command line (src/config/).
//
// Input: the config file's text, then optionally a NUL byte and command-line arguments
// separated by NUL bytes (argv cannot hold a NUL, so every argument is possible). With the
// NUL, the file and the arguments go through load_daemon_config, as flowwalld starts.
//
// Promises checked (daemon_config.h): an error is one line, the one to print, and a file
// with an error changes nothing; --print-config's output (config_to_json) is accepted back
// unchanged; a duration that parses formats to text that parses to the same duration.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/duration.h"
#include "src/config/daemon_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

using config::DaemonConfig;

// The config file handed to --config: a memfd, so that no input touches the disk and every
// run reads exactly the bytes of its input.
class ConfigFile {
public:
    ConfigFile() : fd_(memfd_create("flowwall-fuzz-config", 0)) {
        FUZZ_CHECK(fd_ >= 0, "memfd_create failed");
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }

    void write(std::string_view text) {
        FUZZ_CHECK(ftruncate(fd_, 0) == 0, "ftruncate failed");
        FUZZ_CHECK(pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()),
                   "pwrite failed");
    }
    const std::string& path() const { return path_; }

private:
    int fd_;
    std::string path_;
};

void check_error(const Error& error, std::string_view what) {
    FUZZ_CHECK(!error.message.empty(), what);
    FUZZ_CHECK(is_one_line(error.message), error.message);
}

// What --print-config prints must configure the same daemon again.
void check_round_trip(const DaemonConfig& config) {
    std::string printed = config::config_to_json(config);
    DaemonConfig again;
    auto status = config::apply_config_json(printed, "printed config", again);
    FUZZ_CHECK(status.ok(), status.ok() ? printed : status.error().message + "\n" + printed);
    FUZZ_CHECK(config::config_to_json(again) == printed, printed);
}

void check_duration(std::string_view text) {
    auto duration = common::parse_duration(text);
    if (!duration) {
        check_error(duration.error(), "parse_duration error without a message");
        return;
    }
    auto formatted = common::format_duration(duration.value());
    auto again = common::parse_duration(formatted);
    FUZZ_CHECK(again.ok() && again.value() == duration.value(), formatted);
}

void fuzz_file(std::string_view text) {
    DaemonConfig config;
    config.log_level = "debug"; // not the default, to see that a refused file changes nothing
    auto status = config::apply_config_json(text, "config file", config);
    if (!status) {
        check_error(status.error(), "apply_config_json error without a message");
        FUZZ_CHECK(status.error().message.starts_with("config file: "), status.error().message);
        FUZZ_CHECK(config.log_level == "debug", "a refused file changed the config");
        return;
    }
    check_round_trip(config);
}

void fuzz_command_line(ConfigFile& file, std::string_view text,
                       const std::vector<std::string>& flags) {
    file.write(text);
    // Ours comes first and no input argument may name another file: an input saying
    // --config /dev/stdin would otherwise wait for ever.
    std::vector<std::string> args = {"--config", file.path()};
    for (const auto& flag : flags) {
        if (!flag.starts_with("--config"))
            args.push_back(flag);
    }
    auto outcome = config::load_daemon_config(args);
    if (!outcome) {
        check_error(outcome.error(), "load_daemon_config error without a message");
        return;
    }
    if (outcome.value().exit_now) {
        FUZZ_CHECK(!outcome.value().text.empty(),
                   "--help/--version/--print-config printed nothing");
        return;
    }
    check_round_trip(outcome.value().config);
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    static ConfigFile file;
    const std::string_view input = as_text(data, size);
    std::string_view text = input.substr(0, input.find('\0'));
    std::vector<std::string> flags;
    if (text.size() < input.size()) {
        std::string_view rest = input.substr(text.size() + 1);
        while (true) {
            auto end = rest.find('\0');
            flags.emplace_back(rest.substr(0, end));
            if (end == std::string_view::npos)
                break;
            rest.remove_prefix(end + 1);
        }
    }
    fuzz_file(text);
    // Building the command-line parser costs a hundred times what parsing a file does; an
    // input without flags would only take the file through it again.
    if (text.size() < input.size())
        fuzz_command_line(file, text, flags);
    for (const auto& flag : flags)
        check_duration(flag);
    return 0;
}
