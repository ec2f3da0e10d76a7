// SPDX-License-Identifier: Apache-2.0
// flowwalld's configuration: a struct with defaults that work with no file at all, filled
// from the JSON config file and then from the command line. Every option has one name, used
// both as the long flag (--docker-socket) and as the key in the file ("docker-socket").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/tc_attachment.h"
#include "src/datapath/xdp_attachment.h"
#include "src/identity/identity_naming.h"
#include "src/identity/pod_naming.h"

namespace flowwall::config {

// What the datapath does with a connection of a workload it cannot identify: on a guarded
// interface, the workload's own address has no ipcache entry (the source has not reported
// that address yet, it changed while flowwalld was down, the ipcache is full).
//   open:   the address is `world`: the peer's mode and the model decide, as for any outside
//           address; an unidentified workload may reach what `world` may reach.
//   closed: the connection is dropped (reported as a block, source or destination `world`)
//           unless the model allows the flow from or to `world`, whatever the modes say.
// Neither mode changes what is judged where no program runs (a workload whose interface is
// not guarded yet), nor what the daemon does when a source is unreachable: it keeps the
// ipcache entries and links it has until the source lists again (docs/architecture.md).
enum class FailMode { open, closed };

struct DaemonConfig {
    std::filesystem::path config_file = "/etc/flowwall/config.json"; // --config (flag only)
    std::string log_level = "info"; // trace|debug|info|warn|error|critical|off

    std::filesystem::path socket = "/run/flowwall/flowwall.sock"; // control API
    std::filesystem::path state_dir = "/var/lib/flowwall";
    std::filesystem::path bpffs_dir = "/sys/fs/bpf/flowwall"; // pins

    bool docker = true; // follow the Docker Engine API
    std::filesystem::path docker_socket = "/var/run/docker.sock";
    // Kubernetes pods through the container runtime's CRI (containerd, CRI-O).
    bool cri = false;
    std::filesystem::path cri_socket; // empty: the first of containerd's and CRI-O's that exists
    identity::PodNaming pod_identity_from; // "image" | "label:NAME" | "bare-image"
    std::chrono::milliseconds resync_interval = std::chrono::seconds(30);
    std::filesystem::path endpoints_file; // empty: none

    identity::IdentityNaming identity_from; // "image" | "image-tag" | "label:NAME"
    uint8_t default_mode = 1;               // FW_MODE_*: learn|alert|block|off ("learn")
    // Learning (issue 4): each identity learns for learning_period from when it is first
    // seen (and, with learning_quiet, until no new flow came for that long), then moves to
    // after_learning. default_mode is what the datapath applies to an identity the daemon
    // has not given a mode yet.
    std::chrono::milliseconds learning_period = std::chrono::hours(1);
    std::map<std::string, std::chrono::milliseconds> learning_period_overrides;
    std::chrono::milliseconds learning_quiet{0};
    uint8_t after_learning = 3; // FW_MODE_ALERT
    std::filesystem::path audit_log = "/var/log/flowwall/audit.jsonl";
    uint64_t audit_log_max_bytes = 64ull << 20;
    std::string node_name;                     // empty: the host name
    std::string web_listen = "127.0.0.1:9190"; // /metrics, /healthz; empty: off

    // Start even when the bpffs of bpffs_dir is private to this mount namespace (its pins then
    // die with it): for throw-away labs only. Refused by default (datapath/bpffs.h).
    bool allow_private_bpffs = false;
    datapath::TcAttachMode attach_mode = datapath::TcAttachMode::automatic; // auto|tcx|clsact
    // open|closed: what an unidentified workload gets (FailMode)
    FailMode fail_mode = FailMode::open;

    datapath::FirewallCapacities capacities; // ipcache-entries, policy-entries, ...
    // conntrack-other-timeout: UDP/ICMP flows (TCP is not tracked)
    std::chrono::milliseconds conntrack_timeout = std::chrono::seconds(60);
    std::chrono::milliseconds event_dedup_interval = std::chrono::seconds(5);

    // The cluster (docs/architecture.md, "The cluster"): empty cluster_store runs alone.
    std::string cluster_store;         // "etcd://HOST:PORT[,HOST:PORT...]"
    std::filesystem::path etcd_cacert; // TLS: the CA of etcd's certificates
    std::filesystem::path etcd_cert;   // TLS: this node's client certificate
    std::filesystem::path etcd_key;    // and its key
    std::chrono::milliseconds cluster_lease_ttl = std::chrono::seconds(15);

    // Deny lists and CIDR entities (docs/deny-lists.md).
    bool deny_lists = true;           // the XDP prefilter on the uplinks and the lists API
    bool uplinks_automatic = true;    // "auto": the interfaces of the default routes
    std::vector<std::string> uplinks; // otherwise these ("": none, XDP not attached)
    datapath::XdpMode xdp_mode = datapath::XdpMode::automatic; // auto|native|generic
    std::vector<IpPrefix> allow_prefixes; // never dropped by a deny list (management networks)
    std::map<std::string, std::vector<IpPrefix>> entities; // NAME -> prefixes (CIDR entities)

    bool cleanup = false; // --cleanup (flag only): remove everything flowwall made, exit
};

// What went wrong while reading configuration: "config file /etc/flowwall/config.json: key
// \"log-level\": value \"loud\" is not one of trace, debug, info, warn, error, critical, off".

// Applies the keys of one JSON object (the config file's content) onto config. Unknown keys
// and bad values are errors naming the key, the value and what is allowed; config is left
// unchanged on error.
Status apply_config_json(std::string_view json_text, const std::string& origin,
                         DaemonConfig& config);

// The whole start-up sequence: defaults, then --config FILE (default path: a missing file is
// fine; an explicitly given missing file is an error), then the other flags. Returns the
// config, or an Error whose message is the one line to print. --help, --version and
// --print-config are reported through `exit_now` with the text to print on stdout.
// `args` are the arguments after the program name (argv[1..argc-1]).
struct CommandLineOutcome {
    DaemonConfig config;
    bool exit_now = false; // --help/--version: print `text` and exit 0
    std::string text;
};
Result<CommandLineOutcome> load_daemon_config(const std::vector<std::string>& args);

// The effective configuration as a config file (every key, --config and --cleanup aside):
// what `flowwalld --print-config` prints; apply_config_json() accepts it back unchanged.
std::string config_to_json(const DaemonConfig& config);

const char* fail_mode_name(FailMode mode); // "open", "closed"
// fw_settings.flags for the datapath: FW_SETTINGS_F_FAIL_CLOSED when closed.
uint32_t settings_flags(const DaemonConfig& config);

} // namespace flowwall::config
