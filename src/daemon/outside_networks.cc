// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/outside_networks.h"

#include "src/datapath/bpffs.h"
#include "src/denylist/prefix_set.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <map>

namespace flowwall::daemon {

namespace {

// The node's own addresses (every interface of the daemon's namespace), as /32 and /128.
std::vector<IpPrefix> node_prefixes() {
    std::vector<IpPrefix> prefixes;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return prefixes;
    for (ifaddrs* entry = list; entry; entry = entry->ifa_next) {
        if (!entry->ifa_addr)
            continue;
        IpPrefix prefix;
        if (entry->ifa_addr->sa_family == AF_INET) {
            prefix.address.family = kFamilyIpv4;
            std::memcpy(prefix.address.bytes.data(),
                        &reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr, 4);
            prefix.length = 32;
        } else if (entry->ifa_addr->sa_family == AF_INET6) {
            prefix.address.family = kFamilyIpv6;
            std::memcpy(prefix.address.bytes.data(),
                        &reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr)->sin6_addr, 16);
            prefix.length = 128;
        } else {
            continue;
        }
        prefixes.push_back(prefix);
    }
    ::freeifaddrs(list);
    return prefixes;
}

IpPrefix host_prefix(const IpAddress& address) {
    return IpPrefix{address, static_cast<uint8_t>(address.max_prefix_length())};
}

} // namespace

OutsideNetworks::OutsideNetworks(identity::IdentityRegistry& registry, datapath::FirewallMaps& maps)
    : registry_(registry), entity_map_(maps.cidr) {}

OutsideNetworks::~OutsideNetworks() = default;

Result<std::unique_ptr<OutsideNetworks>>
OutsideNetworks::start(const config::DaemonConfig& config, datapath::FirewallMaps& maps,
                       identity::IdentityRegistry& registry) {
    std::unique_ptr<OutsideNetworks> outside(new OutsideNetworks(registry, maps));
    if (config.deny_lists) {
        datapath::PrefilterOptions options;
        options.pin_dir = config.bpffs_dir;
        auto prefilter = datapath::PrefilterObject::load(options);
        if (!prefilter)
            return Error{prefilter.error().errnum, "XDP prefilter: " + prefilter.error().message};
        outside->prefilter_ = std::move(prefilter.value());
        // Pinned in one directory, the two objects share the deny maps: written once.
        outside->sets_ = std::make_unique<datapath::DenySets>(
            std::vector<datapath::DenyMaps>{maps.deny, outside->prefilter_->maps().deny});
        outside->kernel_ =
            std::make_unique<KernelDenyLists>(*outside->sets_, config.allow_prefixes);
        outside->kernel_->set_protected(node_prefixes());
        denylist::DenyListsOptions list_options;
        list_options.state_dir = config.state_dir;
        list_options.protected_prefixes = [kernel = outside->kernel_.get()] {
            return kernel->protected_prefixes();
        };
        auto lists = denylist::DenyLists::open(list_options, *outside->kernel_);
        if (!lists)
            return lists.error();
        outside->lists_ = std::move(lists.value());

        std::vector<std::string> names = config.uplinks;
        if (config.uplinks_automatic) {
            auto found = default_route_interfaces();
            if (found)
                names = found.value();
            else
                spdlog::error("uplinks: the default routes could not be read ({}); set "
                              "--uplinks",
                              found.error().to_string());
        }
        // A directory of their own: the guards remove every pin of links/ no guard owns.
        auto uplinks_dir = config.bpffs_dir / "uplinks";
        if (auto made = datapath::ensure_bpffs_dir(uplinks_dir); !made)
            return made.error();
        outside->uplinks_ = std::make_unique<Uplinks>(names, outside->prefilter_->program_fd(),
                                                      config.xdp_mode, uplinks_dir);
    }

    auto entities = denylist::CidrEntities::open(config.state_dir, config.entities);
    if (!entities)
        return entities.error();
    outside->entities_ = std::move(entities.value());
    outside->sync_entities(outside->entities_->all());
    outside->entities_->on_change(
        [raw = outside.get()](const denylist::EntityPrefixes& all) { raw->sync_entities(all); });
    return outside;
}

void OutsideNetworks::sync_entities(const denylist::EntityPrefixes& entities) {
    std::lock_guard lock(entity_mutex_);
    std::map<std::string, uint32_t> desired; // prefix text -> identity (ordered, unique)
    std::map<std::string, IpPrefix> prefixes;
    std::string error;
    for (const auto& [name, list] : entities) {
        auto id = registry_.id_for(name);
        if (!id) {
            error = "entity " + name + ": " + id.error().message;
            continue;
        }
        for (const auto& prefix : list) {
            desired[prefix.to_string()] = id.value();
            prefixes.emplace(prefix.to_string(), prefix);
        }
    }
    // Puts first, then erases: a prefix moving between entities is never world in between.
    for (const auto& [text, id] : desired) {
        auto now = entity_map_.lookup(prefixes.at(text));
        if (now && *now == id)
            continue;
        if (auto put = entity_map_.put(prefixes.at(text), id); !put)
            error = "entity prefix " + text + ": " + put.error().to_string();
    }
    for (const auto& [prefix, id] : entity_map_.entries())
        if (!desired.count(prefix.to_string()))
            if (auto erased = entity_map_.erase(prefix); !erased)
                error = "entity prefix " + prefix.to_string() + ": " + erased.error().to_string();
    if (!error.empty() && error != entity_error_)
        spdlog::error("CIDR entities: {}", error);
    entity_error_ = error;
}

DenyTargets OutsideNetworks::deny_targets() {
    return DenyTargets{lists_.get(), entities_.get(),
                       [this](const std::string& name) { return registry_.find(name); }};
}

void OutsideNetworks::workloads_changed(const NodeSnapshot& snapshot) {
    if (!kernel_)
        return;
    std::vector<IpPrefix> protected_prefixes = node_prefixes();
    for (const auto& [address, name] : snapshot.workload_names)
        protected_prefixes.push_back(host_prefix(address));
    kernel_->set_protected(std::move(protected_prefixes));
}

std::vector<std::string> OutsideNetworks::entity_names() const {
    std::vector<std::string> names;
    for (const auto& [name, prefixes] : entities_->all())
        names.push_back(name);
    return names;
}

nlohmann::json OutsideNetworks::status_view() const {
    nlohmann::json view;
    view["deny_lists"] = lists_ ? lists_->status_view() : nlohmann::json(nullptr);
    view["uplinks"] = uplinks_ ? uplinks_->view() : nlohmann::json::array();
    view["allow_entries"] = kernel_ ? kernel_->allow_entries() : 0;
    view["kernel_memory_bytes"] = kernel_ ? kernel_->kernel_memory_bytes() : 0;
    view["entities"] = entities_->all().size();
    std::lock_guard lock(entity_mutex_);
    view["entity_error"] =
        entity_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(entity_error_);
    return view;
}

std::vector<std::string> OutsideNetworks::problems() const {
    std::vector<std::string> found;
    if (lists_)
        found = lists_->problems();
    if (uplinks_)
        for (auto& problem : uplinks_->problems())
            found.push_back(std::move(problem));
    std::lock_guard lock(entity_mutex_);
    if (!entity_error_.empty())
        found.push_back("CIDR entities: " + entity_error_);
    return found;
}

std::string OutsideNetworks::metrics_text() const {
    return lists_ ? lists_->metrics_text() : std::string();
}

void OutsideNetworks::run(std::stop_token stop) {
    if (lists_)
        lists_->run(stop);
}

} // namespace flowwall::daemon
