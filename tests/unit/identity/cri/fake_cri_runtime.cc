// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/identity/cri/fake_cri_runtime.h"

#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <stdexcept>

namespace flowwall::testing {

namespace v1 = runtime::v1;

class FakeCriRuntime::Service final : public v1::RuntimeService::Service {
public:
    void set_pod(FakePod pod) {
        {
            std::lock_guard lock(mutex_);
            for (const auto& container : pod.containers)
                events_.push_back(container.id);
            pods_[pod.id] = std::move(pod);
        }
        events_cv_.notify_all();
    }
    void remove_pod(const std::string& id) {
        {
            std::lock_guard lock(mutex_);
            if (auto found = pods_.find(id); found != pods_.end())
                for (const auto& container : found->second.containers)
                    events_.push_back(container.id);
            pods_.erase(id);
        }
        events_cv_.notify_all();
    }
    void offer_container_events(bool offered) {
        std::lock_guard lock(mutex_);
        events_offered_ = offered;
    }
    // Ends open event streams, so that a server shutdown does not wait for them.
    void close_streams() {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        events_cv_.notify_all();
    }
    void reopen() {
        std::lock_guard lock(mutex_);
        closing_ = false;
    }
    int calls(const std::string& method) const {
        std::lock_guard lock(mutex_);
        auto found = calls_.find(method);
        return found == calls_.end() ? 0 : found->second;
    }

    grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest*,
                         v1::VersionResponse* response) override {
        count("Version");
        response->set_version("0.1.0");
        response->set_runtime_name("fake");
        response->set_runtime_version("1.0");
        response->set_runtime_api_version("v1");
        return grpc::Status::OK;
    }

    grpc::Status ListPodSandbox(grpc::ServerContext*, const v1::ListPodSandboxRequest* request,
                                v1::ListPodSandboxResponse* response) override {
        count("ListPodSandbox");
        std::lock_guard lock(mutex_);
        for (const auto& [id, pod] : pods_) {
            const auto state = pod.ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
            if (request->filter().has_state() && request->filter().state().state() != state)
                continue;
            auto* item = response->add_items();
            item->set_id(id);
            item->set_state(state);
        }
        return grpc::Status::OK;
    }

    grpc::Status PodSandboxStatus(grpc::ServerContext*, const v1::PodSandboxStatusRequest* request,
                                  v1::PodSandboxStatusResponse* response) override {
        count("PodSandboxStatus");
        std::lock_guard lock(mutex_);
        auto found = pods_.find(request->pod_sandbox_id());
        if (found == pods_.end())
            return {grpc::StatusCode::NOT_FOUND, "no such sandbox"};
        const FakePod& pod = found->second;
        auto* status = response->mutable_status();
        status->set_id(pod.id);
        if (!pod.no_metadata) {
            status->mutable_metadata()->set_name(pod.name);
            status->mutable_metadata()->set_namespace_(pod.namespace_name);
            status->mutable_metadata()->set_uid("uid-" + pod.id);
        }
        status->set_state(pod.ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY);
        status->set_created_at(1'000'000'000);
        if (!pod.ips.empty()) {
            status->mutable_network()->set_ip(pod.ips.front());
            for (size_t i = 1; i < pod.ips.size(); ++i)
                status->mutable_network()->add_additional_ips()->set_ip(pod.ips[i]);
        }
        status->mutable_linux()->mutable_namespaces()->mutable_options()->set_network(
            pod.host_network ? v1::NODE : v1::POD);
        status->mutable_labels()->insert(pod.labels.begin(), pod.labels.end());
        if (request->verbose()) {
            nlohmann::json info = {{"pid", pod.pid}};
            if (!pod.netns_path.empty())
                info["runtimeSpec"] = {
                    {"linux",
                     {{"namespaces",
                       {{{"type", "pid"}}, {{"type", "network"}, {"path", pod.netns_path}}}}}}};
            (*response->mutable_info())["info"] = info.dump();
        }
        return grpc::Status::OK;
    }

    grpc::Status ListContainers(grpc::ServerContext*, const v1::ListContainersRequest*,
                                v1::ListContainersResponse* response) override {
        count("ListContainers");
        std::lock_guard lock(mutex_);
        for (const auto& [id, pod] : pods_) {
            for (const auto& c : pod.containers) {
                auto* item = response->add_containers();
                item->set_id(c.id);
                item->set_pod_sandbox_id(id);
                item->set_state(v1::CONTAINER_RUNNING);
                // As containerd does: the image id here, the name only in ContainerStatus.
                item->mutable_image()->set_image("sha256:0123456789abcdef");
            }
        }
        return grpc::Status::OK;
    }

    grpc::Status ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* request,
                                 v1::ContainerStatusResponse* response) override {
        count("ContainerStatus");
        std::lock_guard lock(mutex_);
        for (const auto& [id, pod] : pods_) {
            for (const auto& c : pod.containers) {
                if (c.id != request->container_id())
                    continue;
                auto* status = response->mutable_status();
                status->set_id(c.id);
                status->mutable_metadata()->set_name(c.name);
                status->set_state(v1::CONTAINER_RUNNING);
                status->set_created_at(c.created_ns);
                status->mutable_image()->set_image(c.image);
                return grpc::Status::OK;
            }
        }
        return {grpc::StatusCode::NOT_FOUND, "no such container"};
    }

    // As CRI-O and containerd >= 1.7 answer it: one event per container change, streamed
    // until the client goes away. Off by default, as on containerd 1.6 (UNIMPLEMENTED).
    grpc::Status
    GetContainerEvents(grpc::ServerContext* context, const v1::GetEventsRequest*,
                       grpc::ServerWriter<v1::ContainerEventResponse>* writer) override {
        count("GetContainerEvents");
        std::unique_lock lock(mutex_);
        if (!events_offered_)
            return {grpc::StatusCode::UNIMPLEMENTED, "unknown method GetContainerEvents"};
        size_t sent = events_.size(); // only what happens from now on
        while (!closing_ && !context->IsCancelled()) {
            events_cv_.wait_for(lock, std::chrono::milliseconds(20));
            while (sent < events_.size()) {
                v1::ContainerEventResponse event;
                event.set_container_id(events_[sent++]);
                event.set_container_event_type(v1::CONTAINER_STARTED_EVENT);
                lock.unlock();
                const bool written = writer->Write(event);
                lock.lock();
                if (!written)
                    return grpc::Status::OK;
            }
        }
        return grpc::Status::OK;
    }

private:
    void count(const std::string& method) {
        std::lock_guard lock(mutex_);
        ++calls_[method];
    }

    mutable std::mutex mutex_;
    std::condition_variable events_cv_;
    std::map<std::string, FakePod> pods_;
    std::map<std::string, int> calls_;
    std::vector<std::string> events_; // container ids, in the order they changed
    bool events_offered_ = false;
    bool closing_ = false;
};

FakeCriRuntime::FakeCriRuntime() : service_(std::make_unique<Service>()) {
    char pattern[] = "/tmp/flowwall-fake-cri-XXXXXX";
    if (!::mkdtemp(pattern))
        throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    socket_path_ = (dir_ / "cri.sock").string();
    start();
}

FakeCriRuntime::~FakeCriRuntime() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void FakeCriRuntime::start() {
    if (server_)
        return;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_path_, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    service_->reopen();
    server_ = builder.BuildAndStart();
    if (!server_)
        throw std::runtime_error("the fake CRI runtime cannot listen on " + socket_path_);
}

void FakeCriRuntime::stop() {
    if (!server_)
        return;
    service_->close_streams();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove(socket_path_, ignored);
}

void FakeCriRuntime::set_pod(FakePod pod) {
    service_->set_pod(std::move(pod));
}
void FakeCriRuntime::remove_pod(const std::string& id) {
    service_->remove_pod(id);
}
void FakeCriRuntime::offer_container_events(bool offered) {
    service_->offer_container_events(offered);
}
int FakeCriRuntime::calls(const std::string& method) const {
    return service_->calls(method);
}

} // namespace flowwall::testing
