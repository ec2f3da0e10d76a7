// SPDX-License-Identifier: Apache-2.0
// A real containerd for the CRI end-to-end tests and benchmarks, started by the test with its
// own config, root, state and socket under a temporary directory, Debian's CNI bridge and
// host-local plugins on a bridge of its own with a pod subnet in 198.19.0.0/16 (inside
// 198.18.0.0/15), and busybox images imported locally (the pause image too, named in
// sandbox_image, so nothing is ever pulled). Pods are made through the CRI API exactly as
// kubelet makes them: RunPodSandbox with kubelet's metadata and labels, CreateContainer,
// StartContainer.
//
// The destructor removes everything: pods (through CRI), the shims, containerd, its mounts,
// the CNI bridge and IPAM state, the directory. It also removes what an earlier run that
// crashed left behind (bridges and directories whose owner pid is gone).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/identity/cri/cri_client.h"
#include "tests/support/child_process.h"

namespace flowwall::testing {

struct PodSpec {
    std::string namespace_name = "default";
    std::string name;
    std::string image = "docker.io/flowwall-test/web:1";
    std::vector<std::string> command; // empty: sleep
    std::map<std::string, std::string> labels;
    bool host_network = false;
};

struct RunningPod {
    std::string sandbox_id;
    std::string container_id;
    std::string ip;    // the pod's IPv4 address; empty for host-network pods
    std::string netns; // "cni-<uuid>": the name under /run/netns
    std::chrono::steady_clock::time_point ready; // when StartContainer was answered
};

class ContainerdLab {
public:
    struct Options {
        // Last octet range of the pod addresses (host-local rangeStart/rangeEnd): a small
        // range makes address reuse predictable.
        int first_host = 10;
        int last_host = 250;
    };

    ContainerdLab() : ContainerdLab(Options{}) {}
    explicit ContainerdLab(Options options);
    ~ContainerdLab();
    ContainerdLab(const ContainerdLab&) = delete;
    ContainerdLab& operator=(const ContainerdLab&) = delete;

    const std::string& socket() const { return socket_; }
    identity::cri::CriClient& client() { return *client_; }

    // Images this lab imported: docker.io/flowwall-test/{web,db,tool}:1.
    static std::string image(const std::string& base) {
        return "docker.io/flowwall-test/" + base + ":1";
    }

    RunningPod run_pod(const PodSpec& spec);
    // StopPodSandbox + RemovePodSandbox (which stops and removes its containers).
    void remove_pod(const RunningPod& pod);

    // containerd goes away (SIGTERM; the pods' shims keep running, as on a real node) and
    // comes back with the same config.
    void stop_containerd();
    void start_containerd();

    std::string log() const;

private:
    void write_config();
    void import_images();

    Options options_;
    std::filesystem::path dir_;
    std::string socket_;
    std::string bridge_;
    std::string subnet_; // "198.19.<n>.0/24"
    std::unique_ptr<ChildProcess> containerd_;
    std::unique_ptr<identity::cri::CriClient> client_;
    int pod_counter_ = 0;
    std::vector<std::string> netns_created_; // removed in the destructor if CRI did not
};

} // namespace flowwall::testing
