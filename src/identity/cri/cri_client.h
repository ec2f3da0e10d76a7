// SPDX-License-Identifier: Apache-2.0
// A typed client for the CRI runtime.v1 RuntimeService on the runtime's Unix socket
// (containerd, CRI-O). Every call has a deadline and returns a Result: a runtime that is gone
// or slow is an Error the caller retries, never an exception or a hang.
//
// The reading calls serve the CRI source; the pod lifecycle calls (run, create, start, stop,
// remove) are what kubelet does and serve the tests and benchmarks, which create pods exactly
// as kubelet would. flowwalld itself never changes pods.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "cri_api.grpc.pb.h"
#include "src/common/result.h"

namespace flowwall::identity::cri {

// errnum of an Error from CriClient, by gRPC status: callers tell "the runtime is not there"
// (retry with backoff) from "this sandbox is gone" (drop it) from "the runtime cannot do it".
inline constexpr int kRuntimeUnavailable = ECONNREFUSED; // UNAVAILABLE, DEADLINE_EXCEEDED
inline constexpr int kNotFound = ENOENT;                 // NOT_FOUND
inline constexpr int kUnimplemented = ENOTSUP;           // UNIMPLEMENTED

class CriClient {
public:
    struct Options {
        std::string socket_path;
        std::chrono::milliseconds timeout{std::chrono::seconds(5)}; // per call
        // kubelet's own limit; a node with thousands of containers answers large lists.
        int max_message_bytes = 16 << 20;
    };

    explicit CriClient(Options options);
    ~CriClient();
    CriClient(const CriClient&) = delete;
    CriClient& operator=(const CriClient&) = delete;

    const Options& options() const { return options_; }

    Result<runtime::v1::VersionResponse> version();
    // Ready sandboxes only: a sandbox that is not ready has no network to guard.
    Result<std::vector<runtime::v1::PodSandbox>> list_ready_pod_sandboxes();
    Result<runtime::v1::PodSandboxStatusResponse> pod_sandbox_status(const std::string& id,
                                                                     bool verbose);
    // Running containers only.
    Result<std::vector<runtime::v1::Container>> list_running_containers();
    Result<runtime::v1::ContainerStatusResponse> container_status(const std::string& id);

    // GetContainerEvents: calls on_event for each event until stop is requested or `until`
    // passes (ok), or the stream fails (Error; kUnimplemented on containerd 1.6).
    Status follow_container_events(
        const std::function<void(const runtime::v1::ContainerEventResponse&)>& on_event,
        std::stop_token stop, std::chrono::steady_clock::time_point until);

    // kubelet's side: the pod lifecycle.
    Result<std::string> run_pod_sandbox(const runtime::v1::PodSandboxConfig& config);
    Status stop_pod_sandbox(const std::string& id);
    Status remove_pod_sandbox(const std::string& id);
    Result<std::string> create_container(const std::string& sandbox_id,
                                         const runtime::v1::ContainerConfig& config,
                                         const runtime::v1::PodSandboxConfig& sandbox_config);
    Status start_container(const std::string& id);
    Status stop_container(const std::string& id, int64_t timeout_seconds);
    Status remove_container(const std::string& id);
    // Every sandbox, ready or not (for cleanup).
    Result<std::vector<runtime::v1::PodSandbox>> list_all_pod_sandboxes();

private:
    Options options_;
    struct Connection;
    std::unique_ptr<Connection> connection_;
};

// The first of /run/containerd/containerd.sock and /var/run/crio/crio.sock that exists; empty
// when neither does.
std::string default_cri_socket();

} // namespace flowwall::identity::cri
