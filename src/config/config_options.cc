// SPDX-License-Identifier: Apache-2.0
#include "src/config/config_options.h"
#include "src/cluster/store_url.h"
#include "src/common/duration.h"
#include "src/common/identity_name.h"
#include "src/denylist/cidr_entities.h"
#include "src/denylist/feed_parser.h"
#include "src/policy/modes.h"

#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "flowwall/abi.h"

namespace flowwall::config::detail {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Far beyond any node's needs, low enough that a typo (an extra zero or two) is caught
// before the kernel is asked for gigabytes of map memory.
constexpr uint64_t kMaxEntries = 16u << 20;
constexpr uint64_t kMinEventBufferBytes = 4096; // one page
constexpr uint64_t kMaxEventBufferBytes = 1u << 30;
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1; // room for the NUL

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

Error reason(std::string text) {
    return Error{EINVAL, std::move(text)};
}

Result<uint64_t> count_from_text(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return reason("is not a whole number");
    return value;
}

Status set_count(uint32_t& field, std::string_view text, uint64_t min, uint64_t max) {
    auto value = count_from_text(text);
    if (!value)
        return value.error();
    if (value.value() < min || value.value() > max)
        return reason("is outside the allowed range " + std::to_string(min) + ".." +
                      std::to_string(max));
    field = static_cast<uint32_t>(value.value());
    return {};
}

Status set_entries(uint32_t& field, std::string_view text) {
    return set_count(field, text, 1, kMaxEntries);
}

Status set_event_buffer_bytes(uint32_t& field, std::string_view text) {
    if (auto status = set_count(field, text, kMinEventBufferBytes, kMaxEventBufferBytes); !status)
        return status;
    if ((field & (field - 1)) != 0)
        return reason("is not a power of two (the ring buffer needs one, e.g. 1048576)");
    return {};
}

Status set_duration(milliseconds& field, std::string_view text, milliseconds min,
                    milliseconds max) {
    auto value = common::duration_from_text(text);
    if (!value)
        return value.error();
    if (value.value() < min || value.value() > max)
        return reason("is outside the allowed range " + common::format_duration(min) + ".." +
                      common::format_duration(max));
    field = value.value();
    return {};
}

Status set_path(std::filesystem::path& field, std::string_view text, bool may_be_empty = false) {
    if (text.empty() && may_be_empty) {
        field.clear();
        return {};
    }
    if (text.empty() || text.front() != '/')
        return reason("is not an absolute path");
    field = std::string(text);
    return {};
}

Status set_socket_path(std::filesystem::path& field, std::string_view text) {
    if (text.size() > kMaxSocketPath)
        return reason("is " + std::to_string(text.size()) +
                      " bytes long; a Unix socket path may have at most " +
                      std::to_string(kMaxSocketPath));
    return set_path(field, text);
}

Status set_log_level(DaemonConfig& config, std::string_view text) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), text) == kLogLevels.end())
        return reason("is not one of trace, debug, info, warn, error, critical, off");
    config.log_level = std::string(text);
    return {};
}

Status set_bool(bool& field, std::string_view text) {
    if (text == "true" || text == "false") {
        field = text == "true";
        return {};
    }
    return reason("is not true or false");
}

Status set_identity_from(DaemonConfig& config, std::string_view text) {
    auto naming = identity::IdentityNaming::parse(text);
    if (!naming)
        return reason(text == "label:" ? "names no label: write label:NAME, e.g. label:app"
                                       : "is not one of image, image-tag, label:NAME");
    const bool swarm_services = config.identity_from.swarm_services; // a key of its own
    config.identity_from = std::move(naming).value();
    config.identity_from.swarm_services = swarm_services;
    return {};
}

Status set_pod_identity_from(DaemonConfig& config, std::string_view text) {
    auto naming = identity::PodNaming::parse(text);
    if (!naming)
        return reason(text == "label:" ? "names no label: write label:NAME, e.g. "
                                         "label:app.kubernetes.io/name"
                                       : "is not one of image, label:NAME, bare-image");
    config.pod_identity_from = std::move(naming).value();
    return {};
}

Status set_default_mode(DaemonConfig& config, std::string_view text) {
    auto mode = policy::mode_from_text(text);
    if (!mode)
        return mode.error();
    config.default_mode = mode.value();
    return {};
}

// "web=2h,db=30m": identities that learn for longer or shorter than learning-period.
Status set_period_overrides(DaemonConfig& config, std::string_view text) {
    std::map<std::string, milliseconds> overrides;
    while (!text.empty()) {
        auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        auto equals = item.find('=');
        if (equals == std::string_view::npos || equals == 0)
            return reason("is not a list of IDENTITY=DURATION, e.g. web=2h,db=30m");
        std::string name(item.substr(0, equals));
        if (auto valid = common::validate_identity_name(name); !valid)
            return reason("names an invalid identity: " + valid.error().message);
        milliseconds period{};
        if (auto set = set_duration(period, item.substr(equals + 1), milliseconds(0),
                                    std::chrono::hours(24 * 365));
            !set)
            return set;
        overrides[name] = period;
    }
    config.learning_period_overrides = std::move(overrides);
    return {};
}

std::string show_period_overrides(const DaemonConfig& config) {
    std::string text;
    for (const auto& [name, period] : config.learning_period_overrides)
        text += (text.empty() ? "" : ",") + name + "=" + common::format_duration(period);
    return text;
}

Status set_after_learning(DaemonConfig& config, std::string_view text) {
    if (text != "alert" && text != "block" && text != "off")
        return reason("is not one of alert, block, off");
    config.after_learning = policy::mode_from_text(text).value();
    return {};
}

Status set_audit_log_max_bytes(DaemonConfig& config, std::string_view text) {
    uint64_t bytes = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), bytes);
    if (error != std::errc() || end != text.data() + text.size() || bytes < 4096 ||
        bytes > (uint64_t{1} << 40))
        return reason("is not a byte count between 4096 and 1 TiB");
    config.audit_log_max_bytes = bytes;
    return {};
}

Status set_node_name(DaemonConfig& config, std::string_view text) {
    // Empty: the host name, decided at start-up.
    if (text.size() > 253 ||
        text.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
            std::string_view::npos)
        return reason("is not a node name: up to 253 letters, digits, '.', '-', '_'");
    config.node_name = std::string(text);
    return {};
}

Status set_attach_mode(DaemonConfig& config, std::string_view text) {
    if (text == "auto")
        config.attach_mode = datapath::TcAttachMode::automatic;
    else if (text == "tcx")
        config.attach_mode = datapath::TcAttachMode::tcx;
    else if (text == "clsact")
        config.attach_mode = datapath::TcAttachMode::clsact;
    else
        return reason("is not one of auto, tcx, clsact");
    return {};
}

Status set_fail_mode(DaemonConfig& config, std::string_view text) {
    if (text == "open")
        config.fail_mode = FailMode::open;
    else if (text == "closed")
        config.fail_mode = FailMode::closed;
    else
        return reason("is not one of open, closed");
    return {};
}

std::string show_attach_mode(const DaemonConfig& config) {
    switch (config.attach_mode) {
    case datapath::TcAttachMode::automatic:
        return "auto";
    case datapath::TcAttachMode::tcx:
        return "tcx";
    case datapath::TcAttachMode::clsact:
        return "clsact";
    }
    return "auto";
}

// "eth0,bond0", "auto" (the interfaces of the default routes) or "" (none).
Status set_uplinks(DaemonConfig& config, std::string_view text) {
    config.uplinks.clear();
    config.uplinks_automatic = text == "auto";
    if (config.uplinks_automatic || text.empty())
        return {};
    while (!text.empty()) {
        auto comma = text.find(',');
        std::string_view name = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (name.empty() || name.size() > 15 ||
            name.find_first_of("/ \t") != std::string_view::npos)
            return reason("is not a list of interface names (e.g. eth0,bond0), auto or empty");
        config.uplinks.emplace_back(name);
    }
    return {};
}

std::string show_uplinks(const DaemonConfig& config) {
    if (config.uplinks_automatic)
        return "auto";
    std::string text;
    for (const auto& name : config.uplinks)
        text += (text.empty() ? "" : ",") + name;
    return text;
}

Status set_xdp_mode(DaemonConfig& config, std::string_view text) {
    if (text == "auto")
        config.xdp_mode = datapath::XdpMode::automatic;
    else if (text == "native")
        config.xdp_mode = datapath::XdpMode::native;
    else if (text == "generic")
        config.xdp_mode = datapath::XdpMode::generic;
    else
        return reason("is not one of auto, native, generic");
    return {};
}

std::string show_xdp_mode(const DaemonConfig& config) {
    switch (config.xdp_mode) {
    case datapath::XdpMode::automatic:
        return "auto";
    case datapath::XdpMode::native:
        return "native";
    case datapath::XdpMode::generic:
        return "generic";
    }
    return "auto";
}

Status set_allow_prefixes(DaemonConfig& config, std::string_view text) {
    std::vector<IpPrefix> prefixes;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto prefix = denylist::parse_listed_prefix(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (!prefix)
            return reason("has a bad prefix: " + prefix.error().message);
        prefixes.push_back(prefix.value());
    }
    config.allow_prefixes = std::move(prefixes);
    return {};
}

std::string show_allow_prefixes(const DaemonConfig& config) {
    std::string text;
    for (const auto& prefix : config.allow_prefixes)
        text += (text.empty() ? "" : ",") + prefix.to_string();
    return text;
}

// "payments-api=203.0.113.0/24,2001:db8::/48;partner=198.51.100.0/24"
Status set_entities(DaemonConfig& config, std::string_view text) {
    std::map<std::string, std::vector<IpPrefix>> entities;
    while (!text.empty()) {
        auto semicolon = text.find(';');
        auto entity = denylist::parse_entity_text(text.substr(0, semicolon));
        text =
            semicolon == std::string_view::npos ? std::string_view() : text.substr(semicolon + 1);
        if (!entity)
            return reason("is not NAME=PREFIX[,PREFIX][;NAME=...]: " + entity.error().message);
        if (!entities.emplace(entity.value().first, entity.value().second).second)
            return reason("names entity " + entity.value().first + " twice");
    }
    config.entities = std::move(entities);
    return {};
}

std::string show_entities(const DaemonConfig& config) {
    std::string text;
    for (const auto& [name, prefixes] : config.entities) {
        text += (text.empty() ? "" : ";") + name + "=";
        for (size_t i = 0; i < prefixes.size(); ++i)
            text += (i ? "," : "") + prefixes[i].to_string();
    }
    return text;
}

// Captureless lambdas keep each option's three facts (name, how to set, how to show) on a
// few adjacent lines.
const std::vector<ConfigOption> kOptions = {
    {"log-level", "LEVEL", "Log level: trace, debug, info, warn, error, critical or off",
     ValueKind::string, set_log_level, [](const DaemonConfig& c) { return c.log_level; }},
    {"socket", "PATH", "Unix socket of the control API, root only", ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_socket_path(c.socket, t); },
     [](const DaemonConfig& c) { return c.socket.string(); }},
    {"state-dir", "PATH", "Where identities and the model are kept across restarts",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.state_dir, t); },
     [](const DaemonConfig& c) { return c.state_dir.string(); }},
    {"bpffs-dir", "PATH", "bpffs directory where maps, programs and links are pinned",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.bpffs_dir, t); },
     [](const DaemonConfig& c) { return c.bpffs_dir.string(); }},
    {"allow-private-bpffs", "BOOL",
     "Start even when the pin dir's bpffs is private to this mount namespace (pins then die "
     "with it): true or false",
     ValueKind::boolean,
     [](DaemonConfig& c, std::string_view t) { return set_bool(c.allow_private_bpffs, t); },
     [](const DaemonConfig& c) { return std::string(c.allow_private_bpffs ? "true" : "false"); }},
    {"docker", "BOOL", "Follow the Docker Engine: true or false", ValueKind::boolean,
     [](DaemonConfig& c, std::string_view t) { return set_bool(c.docker, t); },
     [](const DaemonConfig& c) { return std::string(c.docker ? "true" : "false"); }},
    {"docker-socket", "PATH", "Docker Engine API socket", ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_socket_path(c.docker_socket, t); },
     [](const DaemonConfig& c) { return c.docker_socket.string(); }},
    {"cri", "BOOL", "Follow Kubernetes pods through the container runtime (CRI): true or false",
     ValueKind::boolean, [](DaemonConfig& c, std::string_view t) { return set_bool(c.cri, t); },
     [](const DaemonConfig& c) { return std::string(c.cri ? "true" : "false"); }},
    {"cri-socket", "PATH",
     "CRI socket; empty: the first of /run/containerd/containerd.sock and "
     "/var/run/crio/crio.sock that exists",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) {
         if (t.empty()) {
             c.cri_socket.clear();
             return Status{};
         }
         return set_socket_path(c.cri_socket, t);
     },
     [](const DaemonConfig& c) { return c.cri_socket.string(); }},
    {"swarm-service-identity", "BOOL",
     "Name a Swarm task by its service (label com.docker.swarm.service.name): true or false",
     ValueKind::boolean,
     [](DaemonConfig& c, std::string_view t) {
         return set_bool(c.identity_from.swarm_services, t);
     },
     [](const DaemonConfig& c) {
         return std::string(c.identity_from.swarm_services ? "true" : "false");
     }},
    {"pod-identity-from", "RULE",
     "Identity of a pod: image (<namespace>/<repository>), label:NAME (<namespace>/<value>) "
     "or bare-image",
     ValueKind::string, set_pod_identity_from,
     [](const DaemonConfig& c) { return c.pod_identity_from.to_string(); }},
    {"resync-interval", "DURATION", "How often sources list everything again (1s..24h)",
     ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.resync_interval, t, 1s, 24h);
     },
     [](const DaemonConfig& c) { return common::format_duration(c.resync_interval); }},
    {"endpoints-file", "PATH", "JSON file of non-container workloads; empty: none",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.endpoints_file, t, true); },
     [](const DaemonConfig& c) { return c.endpoints_file.string(); }},
    {"identity-from", "RULE", "Identity of a container: image, image-tag or label:NAME",
     ValueKind::string, set_identity_from,
     [](const DaemonConfig& c) { return c.identity_from.to_string(); }},
    {"default-mode", "MODE", "Mode of identities without their own: learn, alert, block, off",
     ValueKind::string, set_default_mode,
     [](const DaemonConfig& c) { return std::string(policy::mode_name(c.default_mode)); }},
    {"learning-period", "DURATION",
     "How long each identity learns from when it is first seen (0: no learning)",
     ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.learning_period, t, 0ms, std::chrono::hours(24 * 365));
     },
     [](const DaemonConfig& c) { return common::format_duration(c.learning_period); }},
    {"learning-period-overrides", "LIST",
     "Per-identity learning periods, e.g. web=2h,db=30m (empty: none)", ValueKind::string,
     set_period_overrides, show_period_overrides},
    {"learning-quiet", "DURATION",
     "Learning also waits until no new flow was seen for this long (0: off)", ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.learning_quiet, t, 0ms, std::chrono::hours(24 * 30));
     },
     [](const DaemonConfig& c) { return common::format_duration(c.learning_quiet); }},
    {"after-learning", "MODE", "What an identity moves to when its learning ends: alert or block",
     ValueKind::string, set_after_learning,
     [](const DaemonConfig& c) { return std::string(policy::mode_name(c.after_learning)); }},
    {"deny-lists", "BOOL",
     "Deny lists, feeds and the XDP prefilter on the uplinks (docs/deny-lists.md): true or false",
     ValueKind::boolean,
     [](DaemonConfig& c, std::string_view t) { return set_bool(c.deny_lists, t); },
     [](const DaemonConfig& c) { return std::string(c.deny_lists ? "true" : "false"); }},
    {"uplinks", "LIST",
     "Interfaces that get the XDP prefilter: auto (those of the default routes), a list such "
     "as eth0,bond0, or empty for none",
     ValueKind::string, set_uplinks, show_uplinks},
    {"xdp-mode", "MODE",
     "XDP on the uplinks: auto (native where the driver has it), native, generic",
     ValueKind::string, set_xdp_mode, show_xdp_mode},
    {"allow-prefixes", "LIST",
     "Prefixes no deny list ever drops, e.g. the management network 192.0.2.0/24",
     ValueKind::string, set_allow_prefixes, show_allow_prefixes},
    {"entities", "LIST", "CIDR entities the model can name: NAME=PREFIX[,PREFIX][;NAME=...]",
     ValueKind::string, set_entities, show_entities},
    {"audit-log", "PATH", "Where alert and block records go (JSON lines, rotated by size)",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.audit_log, t); },
     [](const DaemonConfig& c) { return c.audit_log.string(); }},
    {"audit-log-max-bytes", "BYTES", "Rotate the audit log at this size (5 files are kept)",
     ValueKind::count,
     [](DaemonConfig& c, std::string_view t) { return set_audit_log_max_bytes(c, t); },
     [](const DaemonConfig& c) { return std::to_string(c.audit_log_max_bytes); }},
    {"web-listen", "HOST:PORT",
     "Read-only HTTP endpoint (/metrics, /healthz); loopback unless told otherwise; empty: off",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) -> Status {
         if (!t.empty() && t.rfind(':') == std::string_view::npos)
             return reason("is not HOST:PORT, e.g. 127.0.0.1:9190");
         c.web_listen = std::string(t);
         return Status{};
     },
     [](const DaemonConfig& c) { return c.web_listen; }},
    {"node-name", "NAME", "This node's name in the model and audit records (default: hostname)",
     ValueKind::string, [](DaemonConfig& c, std::string_view t) { return set_node_name(c, t); },
     [](const DaemonConfig& c) { return c.node_name; }},
    {"cluster-store", "URL",
     "Share workload addresses with other nodes through etcd: etcd://HOST:PORT[,HOST:PORT...]; "
     "empty: this node alone",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) -> Status {
         if (!t.empty())
             if (auto endpoints = cluster::parse_store_url(t); !endpoints)
                 return reason("is not etcd://HOST:PORT[,HOST:PORT...]: " +
                               endpoints.error().message);
         c.cluster_store = std::string(t);
         return Status{};
     },
     [](const DaemonConfig& c) { return c.cluster_store; }},
    {"etcd-cacert", "PATH", "TLS to etcd: the CA that signed its certificate (empty: no TLS)",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.etcd_cacert, t, true); },
     [](const DaemonConfig& c) { return c.etcd_cacert.string(); }},
    {"etcd-cert", "PATH", "TLS to etcd: this node's client certificate", ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.etcd_cert, t, true); },
     [](const DaemonConfig& c) { return c.etcd_cert.string(); }},
    {"etcd-key", "PATH", "TLS to etcd: the key of this node's client certificate",
     ValueKind::string,
     [](DaemonConfig& c, std::string_view t) { return set_path(c.etcd_key, t, true); },
     [](const DaemonConfig& c) { return c.etcd_key.string(); }},
    {"cluster-lease-ttl", "DURATION",
     "How long a dead node's addresses stay in other nodes' ipcaches (2s..5m)", ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.cluster_lease_ttl, t, 2s, std::chrono::minutes(5));
     },
     [](const DaemonConfig& c) { return common::format_duration(c.cluster_lease_ttl); }},
    {"attach-mode", "MODE", "How programs attach to interfaces: auto, tcx or clsact",
     ValueKind::string, set_attach_mode, show_attach_mode},
    // Open by default: closed drops the traffic of every workload whose identity is late
    // (a source slower than the network, a full ipcache), which is an outage an operator
    // should opt into; open keeps such a workload as reachable as any outside address.
    {"fail-mode", "MODE",
     "A workload whose own address has no identity yet: open (judged as world) or closed "
     "(dropped unless the model allows world)",
     ValueKind::string, set_fail_mode,
     [](const DaemonConfig& c) { return std::string(fail_mode_name(c.fail_mode)); }},
    {"ipcache-entries", "N", "Capacity of the address -> identity map", ValueKind::count,
     [](DaemonConfig& c, std::string_view t) {
         return set_entries(c.capacities.ipcache_entries, t);
     },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.ipcache_entries); }},
    {"cidr-entries", "N", "Capacity of the CIDR entity map", ValueKind::count,
     [](DaemonConfig& c, std::string_view t) { return set_entries(c.capacities.cidr_entries, t); },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.cidr_entries); }},
    {"policy-entries", "N", "Capacity of the allowed-flows map", ValueKind::count,
     [](DaemonConfig& c, std::string_view t) {
         return set_entries(c.capacities.policy_entries, t);
     },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.policy_entries); }},
    {"mode-entries", "N",
     "Capacity of the per-identity mode map; bounds the identity ids (more than 256)",
     ValueKind::count,
     [](DaemonConfig& c, std::string_view t) {
         return set_count(c.capacities.mode_entries, t, FW_ID_FIRST_ALLOCATED + 1, kMaxEntries);
     },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.mode_entries); }},
    {"conntrack-entries", "N", "Capacity of connection tracking, per address family",
     ValueKind::count,
     [](DaemonConfig& c, std::string_view t) {
         return set_entries(c.capacities.conntrack_entries, t);
     },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.conntrack_entries); }},
    {"dedup-entries", "N", "Capacity of the event de-duplication map", ValueKind::count,
     [](DaemonConfig& c, std::string_view t) { return set_entries(c.capacities.dedup_entries, t); },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.dedup_entries); }},
    {"event-buffer-bytes", "BYTES", "Size of the event ring buffer: a power of two, >= 4096",
     ValueKind::count,
     [](DaemonConfig& c, std::string_view t) {
         return set_event_buffer_bytes(c.capacities.event_buffer_bytes, t);
     },
     [](const DaemonConfig& c) { return std::to_string(c.capacities.event_buffer_bytes); }},
    {"conntrack-other-timeout", "DURATION", "Idle time after which a UDP/ICMP flow is forgotten",
     ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.conntrack_timeout, t, 1s, 24h);
     },
     [](const DaemonConfig& c) { return common::format_duration(c.conntrack_timeout); }},
    {"event-dedup-interval", "DURATION",
     "At most one event per flow and kind in this interval; 0 reports every one",
     ValueKind::duration,
     [](DaemonConfig& c, std::string_view t) {
         return set_duration(c.event_dedup_interval, t, 0ms, 1h);
     },
     [](const DaemonConfig& c) { return common::format_duration(c.event_dedup_interval); }},
};

} // namespace

std::span<const ConfigOption> config_options() {
    return kOptions;
}

const ConfigOption* find_option(std::string_view name) {
    for (const auto& option : kOptions) {
        if (option.name == name)
            return &option;
    }
    return nullptr;
}

std::optional<std::string_view> closest_name(std::string_view name,
                                             std::span<const std::string_view> candidates) {
    std::string_view best;
    size_t best_distance = std::numeric_limits<size_t>::max();
    std::vector<size_t> previous(name.size() + 1), current(name.size() + 1);
    for (auto candidate : candidates) {
        for (size_t i = 0; i <= name.size(); ++i)
            previous[i] = i;
        for (size_t j = 1; j <= candidate.size(); ++j) {
            current[0] = j;
            for (size_t i = 1; i <= name.size(); ++i) {
                size_t substitution = previous[i - 1] + (name[i - 1] == candidate[j - 1] ? 0 : 1);
                current[i] = std::min({previous[i] + 1, current[i - 1] + 1, substitution});
            }
            std::swap(previous, current);
        }
        if (previous[name.size()] < best_distance) {
            best_distance = previous[name.size()];
            best = candidate;
        }
    }
    // A typo changes a few characters; beyond that the names merely look alike.
    if (best.empty() || best_distance > std::max<size_t>(2, name.size() / 3))
        return std::nullopt;
    return best;
}

} // namespace flowwall::config::detail
