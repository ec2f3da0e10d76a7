// SPDX-License-Identifier: Apache-2.0
// The lists in the state dir, so a restarted daemon puts the last good versions back in
// force before it downloads anything (a feed that is down at boot leaves the node protected):
//   deny-lists.json          every list: spec, id, ETag/Last-Modified, when applied
//   deny-lists/NAME.txt      the version in force, one prefix per line
// Every file is written atomically; a prefixes file that is missing or unreadable leaves that
// list empty and says so, the others load.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/denylist/list_spec.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace flowwall::denylist {

struct StoredList {
    ListSpec spec;
    uint32_t id = 0;
    std::vector<IpPrefix> prefixes; // folded
    std::string etag;
    std::string last_modified;
    std::chrono::system_clock::time_point updated_at{};
};

struct LoadedLists {
    std::vector<StoredList> lists;
    std::vector<std::string> problems; // one line per file that could not be used
};

class ListStore {
public:
    explicit ListStore(std::filesystem::path state_dir);

    // No index yet: no lists. An index that does not parse is an Error (the daemon refuses
    // to start rather than run with lists silently gone), naming the file.
    Result<LoadedLists> load() const;
    Status save_index(const std::vector<const StoredList*>& lists) const;
    Status save_prefixes(const std::string& name, const std::vector<IpPrefix>& prefixes) const;
    void forget(const std::string& name) const; // removes NAME.txt

    std::filesystem::path index_path() const { return state_dir_ / "deny-lists.json"; }
    std::filesystem::path prefixes_path(const std::string& name) const {
        return state_dir_ / "deny-lists" / (name + ".txt");
    }

private:
    std::filesystem::path state_dir_;
};

} // namespace flowwall::denylist
