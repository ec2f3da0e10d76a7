// SPDX-License-Identifier: Apache-2.0
#include "src/policy/model_store.h"

#include <unistd.h>

#include <cerrno>
#include <optional>
#include <system_error>

#include <spdlog/spdlog.h>

#include "src/common/atomic_file.h"

namespace flowwall::policy {
namespace {

struct Attempt {
    std::optional<Model> model;
    bool missing = false;
    bool corrupt = false;     // read, but not a model: a reason to fall back
    std::optional<Error> why; // set when the file exists but cannot be used
};

Attempt attempt(const std::filesystem::path& path) {
    auto text = common::read_file(path, ModelStore::kMaxFileBytes);
    if (!text) {
        if (text.error().errnum == ENOENT)
            return {.missing = true};
        // Too big for a model we wrote: as good as corrupt. Anything else (permissions,
        // a directory, I/O) says nothing about the content.
        bool corrupt = text.error().errnum == EFBIG;
        return {.corrupt = corrupt, .why = Error{text.error().errnum, text.error().to_string()}};
    }
    auto model = Model::from_json(text.value(), path.string());
    if (!model)
        return {.corrupt = true, .why = model.error()};
    return {.model = std::move(model).value()};
}

std::string describe(const Attempt& attempt, const std::filesystem::path& path) {
    if (attempt.missing)
        return path.string() + " is missing";
    return attempt.why ? attempt.why->message : path.string() + ": unusable";
}

// "20261122T180000Z": sorts by time, and has no ':' to trip up tools that read paths.
std::string timestamp_now() {
    auto text = format_time(std::chrono::system_clock::now()); // 2026-11-22T18:00:00Z
    std::string compact;
    for (char c : text) {
        if (c != '-' && c != ':')
            compact += c;
    }
    return compact;
}

// Moves the file that did not parse aside (never over an earlier one), so the next save
// cannot make it the .prev copy and the operator still has it to look at.
Result<std::filesystem::path> move_aside(const std::filesystem::path& file) {
    auto base = file.string() + ".corrupt-" + timestamp_now();
    std::filesystem::path target = base;
    for (int n = 1; n < 1000; ++n) {
        std::error_code ec;
        if (!std::filesystem::exists(std::filesystem::symlink_status(target, ec)))
            break;
        target = base + "-" + std::to_string(n);
    }
    if (::rename(file.c_str(), target.c_str()) != 0)
        return Error::from_errno(errno, "move the unreadable " + file.string() + " aside to " +
                                            target.string() + " (move it away by hand)");
    return target;
}

} // namespace

Result<ModelStore> ModelStore::open(const std::filesystem::path& state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec)
        return Error::from_errno(ec.value(), "create state directory " + state_dir.string());
    if (!std::filesystem::is_directory(state_dir, ec))
        return Error{ENOTDIR, "state directory " + state_dir.string() + " is not a directory"};
    return ModelStore(state_dir / kFileName);
}

std::filesystem::path ModelStore::previous_file() const {
    return common::previous_version_path(file_);
}

void ModelStore::remove_interrupted_saves() {
    if (size_t removed = common::remove_interrupted_writes(file_); removed > 0)
        spdlog::info("model: removed {} temporary files left by a save that was interrupted",
                     removed);
}

Result<Model> ModelStore::load() {
    remove_interrupted_saves();
    auto current = attempt(file_);
    if (current.model)
        return std::move(*current.model);
    if (!current.missing && !current.corrupt)
        return Error{current.why->errnum, "cannot load the learned model: " + current.why->message};

    auto previous_path = previous_file();
    auto previous = attempt(previous_path);
    if (current.missing && previous.missing)
        return Model{}; // first start
    if (previous.model) {
        if (current.corrupt) {
            auto aside = move_aside(file_);
            if (!aside)
                return Error{aside.error().errnum,
                             "cannot load the learned model: " + current.why->message + "; " +
                                 aside.error().to_string()};
            spdlog::warn("model: {}; kept that file as {} and loaded the previous version {} "
                         "({} flows): changes since its last save are lost",
                         current.why->message, aside.value().string(), previous_path.string(),
                         previous.model->size());
        } else {
            spdlog::warn("model: {} is missing (a save was interrupted?); loaded the previous "
                         "version {} ({} flows)",
                         file_.string(), previous_path.string(), previous.model->size());
        }
        return std::move(*previous.model);
    }
    return Error{EINVAL, "cannot load the learned model: " + describe(current, file_) + "; " +
                             describe(previous, previous_path) +
                             ". To recover, copy a good export (`flowwall model export`) to " +
                             file_.string() +
                             ", or move both files away to start with an empty model (then "
                             "`flowwall model import FILE` restores an export)"};
}

Status ModelStore::save(const Model& model) {
    return save_text(model.to_json_text());
}

Status ModelStore::save_text(std::string_view text) {
    if (auto status = common::write_file_atomically(file_, text, 0600, true); !status)
        return Error{status.error().errnum, "save the model: " + status.error().message};
    return {};
}

} // namespace flowwall::policy
