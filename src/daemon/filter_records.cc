// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/filter_records.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <sstream>
#include <system_error>

namespace flowwall::daemon {

namespace {

constexpr const char* kMagic = "flowwall-filter-v1";

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line))
        lines.push_back(line);
    return lines;
}

// bpffs refuses names with a '.' (EPERM; it keeps them for its own files), and an interface
// name may have one ("eth0.100").
std::string file_name(const std::string& key) {
    std::string name = key;
    for (char& c : name)
        if (c == '.')
            c = '_';
    return name;
}

bool parse_u64(const std::string& text, uint64_t& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

} // namespace

std::string FilterRecord::encode() const {
    return std::string(kMagic) + "\n" + iface.netns_path + "\n" + std::to_string(netns_dev) + ":" +
           std::to_string(netns_ino) + "\n" + iface.name + "\n" +
           (hook == datapath::TcHook::ingress ? "ingress" : "egress");
}

Result<FilterRecord> FilterRecord::decode(const std::string& text) {
    auto lines = split_lines(text);
    auto bad = [&](const std::string& why) {
        return Error{EINVAL, "filter record is not flowwall's (" + why + ")"};
    };
    if (lines.size() != 5 || lines[0] != kMagic)
        return bad("expected 5 lines starting with " + std::string(kMagic));
    FilterRecord record;
    record.iface.netns_path = lines[1];
    if (!record.iface.netns_path.empty() && record.iface.netns_path.front() != '/')
        return bad("namespace path is not absolute");
    auto colon = lines[2].find(':');
    if (colon == std::string::npos || !parse_u64(lines[2].substr(0, colon), record.netns_dev) ||
        !parse_u64(lines[2].substr(colon + 1), record.netns_ino))
        return bad("namespace identity is not DEV:INO");
    record.iface.name = lines[3];
    if (record.iface.name.empty() || record.iface.name.size() >= 16 ||
        record.iface.name.find('/') != std::string::npos)
        return bad("interface name is not valid");
    if (lines[4] == "ingress")
        record.hook = datapath::TcHook::ingress;
    else if (lines[4] == "egress")
        record.hook = datapath::TcHook::egress;
    else
        return bad("side is neither ingress nor egress");
    return record;
}

Result<std::pair<uint64_t, uint64_t>> netns_identity(const std::string& netns_path) {
    const std::string path = netns_path.empty() ? "/proc/self/ns/net" : netns_path;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return Error::from_errno(errno, "stat network namespace " + path);
    return std::pair<uint64_t, uint64_t>{info.st_dev, info.st_ino};
}

Status FilterRecords::record(const std::string& key, const datapath::InterfaceRef& iface,
                             datapath::TcHook hook) const {
    auto identity = netns_identity(iface.netns_path);
    if (!identity)
        return identity.error();
    FilterRecord record{iface, identity.value().first, identity.value().second, hook};
    std::error_code error;
    std::filesystem::create_directories(dir_, error);
    if (error)
        return Error::from_errno(error.value(), "create filter record directory " + dir_.string());
    // Written under a temporary name and renamed over the old record: never a moment with a
    // half record or none.
    const auto path = dir_ / file_name(key);
    const auto partial = dir_ / ("new-" + file_name(key));
    ::unlink(partial.c_str());
    if (::symlink(record.encode().c_str(), partial.c_str()) != 0)
        return Error::from_errno(errno, "record filter at " + partial.string());
    if (::rename(partial.c_str(), path.c_str()) != 0) {
        int errnum = errno;
        ::unlink(partial.c_str());
        return Error::from_errno(errnum, "record filter at " + path.string());
    }
    return {};
}

void FilterRecords::forget(const std::string& key) const {
    ::unlink((dir_ / file_name(key)).c_str());
}

std::vector<FilterRecords::Entry> FilterRecords::list() const {
    std::vector<Entry> entries;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
        std::error_code read_error;
        auto target = std::filesystem::read_symlink(entry.path(), read_error);
        if (read_error) {
            entries.push_back(
                {entry.path(), Error::from_errno(read_error.value(),
                                                 "read filter record " + entry.path().string())});
            continue;
        }
        auto decoded = FilterRecord::decode(target.native());
        if (!decoded)
            decoded = Error{EINVAL, entry.path().string() + ": " + decoded.error().message};
        entries.push_back({entry.path(), std::move(decoded)});
    }
    return entries;
}

} // namespace flowwall::daemon
