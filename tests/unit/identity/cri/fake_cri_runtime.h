// SPDX-License-Identifier: Apache-2.0
// A fake container runtime for the CRI source's unit tests: a real gRPC server on a Unix
// socket speaking the project's runtime.v1 subset, answering from pods the test sets. Real
// runtimes run in tests/e2e/cri; this one exists to give answers no real runtime gives on
// demand (missing fields, odd addresses, thousands of labels) and to vanish and come back.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cri_api.grpc.pb.h"

namespace flowwall::testing {

struct FakePod {
    std::string id;
    std::string namespace_name = "shop";
    std::string name;
    std::vector<std::string> ips;
    std::string netns_path; // written into the verbose info's runtime spec; empty: pid only
    int64_t pid = 0;
    bool host_network = false;
    bool ready = true;
    bool no_metadata = false; // a broken answer: status without metadata
    std::map<std::string, std::string> labels;
    struct Container {
        std::string id;
        std::string name;
        std::string image;
        int64_t created_ns = 0;
    };
    std::vector<Container> containers;
};

class FakeCriRuntime {
public:
    FakeCriRuntime();
    ~FakeCriRuntime();
    FakeCriRuntime(const FakeCriRuntime&) = delete;
    FakeCriRuntime& operator=(const FakeCriRuntime&) = delete;

    const std::string& socket_path() const { return socket_path_; }

    void set_pod(FakePod pod);
    void remove_pod(const std::string& id);
    // Answer CRI's GetContainerEvents with a stream (as CRI-O and containerd >= 1.7 do)
    // instead of UNIMPLEMENTED (containerd 1.6). Streams opened later see it.
    void offer_container_events(bool offered);
    // The runtime goes away (socket closed and removed) and comes back on the same path.
    void stop();
    void start();

    // Calls answered so far, by method name ("PodSandboxStatus", ...).
    int calls(const std::string& method) const;

private:
    class Service;
    std::filesystem::path dir_;
    std::string socket_path_;
    std::unique_ptr<Service> service_;
    std::unique_ptr<grpc::Server> server_;
};

} // namespace flowwall::testing
