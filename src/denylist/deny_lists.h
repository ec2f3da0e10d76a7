// SPDX-License-Identifier: Apache-2.0
// The named deny and allow lists of this node: created, edited and deleted through the
// control API, persisted in the state dir, feeds refreshed on their interval, and every
// version that passes the refresh checks put in force through a KernelLists (the daemon's
// adapter to the datapath), as a diff against what the kernel holds.
//
// Threads: the API calls any method from its connection threads; run() refreshes feeds on
// its own thread. One mutex guards the lists; downloads happen outside it (a slow feed never
// blocks `flowwall deny list`), and refreshes are serialised by a second one.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/denylist/list_spec.h"
#include "src/denylist/list_store.h"
#include "src/denylist/prefix_set.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace flowwall::denylist {

struct DropCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

// Where lists act: implemented over the kernel maps by the daemon, by a recorder in tests.
class KernelLists {
public:
    virtual ~KernelLists() = default;
    // Puts a version of list `id` in force. `prefixes` is all of it; `diff` is what changed
    // since the last successful apply() of this id (everything on the first one), so an
    // implementation can edit a few entries in place and swap whole maps for big changes.
    virtual Status apply(uint32_t id, const ListSpec& spec, const std::vector<IpPrefix>& prefixes,
                         const PrefixDiff& diff) = 0;
    // Takes list `id` out of force (its entries are `prefixes`).
    virtual Status remove(uint32_t id, const ListSpec& spec,
                          const std::vector<IpPrefix>& prefixes) = 0;
    // Packets and bytes dropped because of list `id` since the daemon started using it.
    virtual DropCounters counters(uint32_t id) const = 0;
};

struct DenyListsOptions {
    std::filesystem::path state_dir;
    // Addresses that always win (workload addresses, the node's own, configured allow
    // prefixes): a list covering one of them says so when it is applied.
    std::function<std::vector<IpPrefix>()> protected_prefixes;
    uint32_t max_lists = 64;
    std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
};

class DenyLists {
public:
    // Loads the lists of the state dir and puts each in force. An unreadable index is an
    // Error (start-up stops and says which file); a list the kernel refuses is logged and
    // shown in status, the others go on.
    static Result<std::unique_ptr<DenyLists>> open(DenyListsOptions options, KernelLists& kernel);

    // The API. Each returns the JSON document of docs/api.md or an Error whose errnum tells
    // the HTTP status (EINVAL: 400, ENOENT: 404, EEXIST: 409).
    Result<nlohmann::json> create(const nlohmann::json& body); // a spec, "prefixes" optional
    Result<nlohmann::json> erase(const std::string& name);
    Result<nlohmann::json> add(const std::string& name, const std::vector<std::string>& prefixes);
    Result<nlohmann::json> remove(const std::string& name,
                                  const std::vector<std::string>& prefixes);
    // Downloads a feed now and applies it if it passes the checks (the answer says which).
    Result<nlohmann::json> refresh(const std::string& name, std::stop_token stop = {});

    nlohmann::json lists_view() const; // every list with counts, counters, refresh state
    Result<nlohmann::json> list_view(const std::string& name, size_t max_prefixes) const;
    nlohmann::json status_view() const;        // the summary in `flowwall status`
    std::vector<std::string> problems() const; // for /healthz: lists not in their intended state
    std::string metrics_text() const;          // Prometheus text (docs/metrics.md)

    // Refreshes feeds when due, until stop. Wakes at least once a second.
    void run(std::stop_token stop);

    ~DenyLists();

private:
    struct List;
    DenyLists(DenyListsOptions options, KernelLists& kernel);
    Status put_in_force(List& list, std::vector<IpPrefix> prefixes, const char* why);
    Status save_index_locked() const;
    List* find_locked(const std::string& name);
    const List* find_locked(const std::string& name) const;
    nlohmann::json view_locked(const List& list) const;
    Result<nlohmann::json> edit(const std::string& name, const std::vector<std::string>& prefixes,
                                bool adding);
    void refuse_locked(List& list, const std::string& reason);

    DenyListsOptions options_;
    KernelLists& kernel_;
    ListStore store_;
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<List>> lists_;
    std::mutex refresh_mutex_;
};

} // namespace flowwall::denylist
