// SPDX-License-Identifier: Apache-2.0
#include "src/identity/cri/cri_client.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <mutex>

namespace flowwall::identity::cri {

namespace v1 = runtime::v1;

namespace {

Error to_error(const char* call, const grpc::Status& status) {
    int errnum = EIO;
    switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        errnum = kRuntimeUnavailable;
        break;
    case grpc::StatusCode::NOT_FOUND:
        errnum = kNotFound;
        break;
    case grpc::StatusCode::UNIMPLEMENTED:
        errnum = kUnimplemented;
        break;
    default:
        break;
    }
    return Error{errnum, std::string("CRI ") + call + ": " + status.error_message() +
                             " (gRPC code " + std::to_string(status.error_code()) + ")"};
}

} // namespace

// The channel reconnects by itself; the stub is only a view of it. Both live as long as the
// client, so a restarted runtime is reached again without building a new client.
struct CriClient::Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::RuntimeService::Stub> stub;
};

CriClient::CriClient(Options options) : options_(std::move(options)) {
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(options_.max_message_bytes);
    // gRPC's default reconnect backoff grows to two minutes: a restarted containerd would stay
    // unseen that long. The source has its own backoff; the channel should just try again.
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    auto channel = grpc::CreateCustomChannel("unix://" + options_.socket_path,
                                             grpc::InsecureChannelCredentials(), arguments);
    auto stub = v1::RuntimeService::NewStub(channel);
    connection_ = std::make_unique<Connection>(Connection{std::move(channel), std::move(stub)});
}

CriClient::~CriClient() = default;

namespace {

template <typename Request, typename Response>
using UnaryMethod = grpc::Status (v1::RuntimeService::Stub::*)(grpc::ClientContext*, const Request&,
                                                               Response*);

// One unary call with the client's deadline.
template <typename Request, typename Response>
Result<Response> unary(v1::RuntimeService::Stub& stub, const char* name,
                       std::chrono::milliseconds timeout, UnaryMethod<Request, Response> method,
                       const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    Response response;
    grpc::Status status = (stub.*method)(&context, request, &response);
    if (!status.ok())
        return to_error(name, status);
    return response;
}

} // namespace

Result<v1::VersionResponse> CriClient::version() {
    v1::VersionRequest request;
    request.set_version("v1");
    return unary<decltype(request), v1::VersionResponse>(
        *connection_->stub, "Version", options_.timeout, &v1::RuntimeService::Stub::Version,
        request);
}

Result<std::vector<v1::PodSandbox>> CriClient::list_ready_pod_sandboxes() {
    v1::ListPodSandboxRequest request;
    request.mutable_filter()->mutable_state()->set_state(v1::SANDBOX_READY);
    auto response = unary<decltype(request), v1::ListPodSandboxResponse>(
        *connection_->stub, "ListPodSandbox", options_.timeout,
        &v1::RuntimeService::Stub::ListPodSandbox, request);
    if (!response)
        return response.error();
    auto& items = *response.value().mutable_items();
    return std::vector<v1::PodSandbox>(std::make_move_iterator(items.begin()),
                                       std::make_move_iterator(items.end()));
}

Result<std::vector<v1::PodSandbox>> CriClient::list_all_pod_sandboxes() {
    v1::ListPodSandboxRequest request;
    auto response = unary<decltype(request), v1::ListPodSandboxResponse>(
        *connection_->stub, "ListPodSandbox", options_.timeout,
        &v1::RuntimeService::Stub::ListPodSandbox, request);
    if (!response)
        return response.error();
    auto& items = *response.value().mutable_items();
    return std::vector<v1::PodSandbox>(std::make_move_iterator(items.begin()),
                                       std::make_move_iterator(items.end()));
}

Result<v1::PodSandboxStatusResponse> CriClient::pod_sandbox_status(const std::string& id,
                                                                   bool verbose) {
    v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    request.set_verbose(verbose);
    return unary<decltype(request), v1::PodSandboxStatusResponse>(
        *connection_->stub, "PodSandboxStatus", options_.timeout,
        &v1::RuntimeService::Stub::PodSandboxStatus, request);
}

Result<std::vector<v1::Container>> CriClient::list_running_containers() {
    v1::ListContainersRequest request;
    request.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
    auto response = unary<decltype(request), v1::ListContainersResponse>(
        *connection_->stub, "ListContainers", options_.timeout,
        &v1::RuntimeService::Stub::ListContainers, request);
    if (!response)
        return response.error();
    auto& items = *response.value().mutable_containers();
    return std::vector<v1::Container>(std::make_move_iterator(items.begin()),
                                      std::make_move_iterator(items.end()));
}

Result<v1::ContainerStatusResponse> CriClient::container_status(const std::string& id) {
    v1::ContainerStatusRequest request;
    request.set_container_id(id);
    request.set_verbose(true); // the info names the image as it was asked for
    return unary<decltype(request), v1::ContainerStatusResponse>(
        *connection_->stub, "ContainerStatus", options_.timeout,
        &v1::RuntimeService::Stub::ContainerStatus, request);
}

Status CriClient::follow_container_events(
    const std::function<void(const v1::ContainerEventResponse&)>& on_event, std::stop_token stop,
    std::chrono::steady_clock::time_point until) {
    grpc::ClientContext context;
    const auto left = until - std::chrono::steady_clock::now();
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::milliseconds>(left));
    // Read() blocks; a stop request cancels the call, which ends the Read.
    std::stop_callback cancel(stop, [&context] { context.TryCancel(); });
    v1::GetEventsRequest request;
    auto reader = connection_->stub->GetContainerEvents(&context, request);
    v1::ContainerEventResponse event;
    while (reader->Read(&event))
        on_event(event);
    grpc::Status status = reader->Finish();
    if (stop.stop_requested() || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        return {};
    if (status.ok())
        return Error{kRuntimeUnavailable, "CRI GetContainerEvents: the runtime ended the stream"};
    return to_error("GetContainerEvents", status);
}

Result<std::string> CriClient::run_pod_sandbox(const v1::PodSandboxConfig& config) {
    v1::RunPodSandboxRequest request;
    *request.mutable_config() = config;
    // Runtimes may set up CNI and start the pause process: longer than a read.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 4 * options_.timeout);
    v1::RunPodSandboxResponse response;
    grpc::Status status = connection_->stub->RunPodSandbox(&context, request, &response);
    if (!status.ok())
        return to_error("RunPodSandbox", status);
    return response.pod_sandbox_id();
}

Status CriClient::stop_pod_sandbox(const std::string& id) {
    v1::StopPodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    auto response = unary<decltype(request), v1::StopPodSandboxResponse>(
        *connection_->stub, "StopPodSandbox", options_.timeout,
        &v1::RuntimeService::Stub::StopPodSandbox, request);
    if (!response)
        return response.error();
    return {};
}

Status CriClient::remove_pod_sandbox(const std::string& id) {
    v1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    auto response = unary<decltype(request), v1::RemovePodSandboxResponse>(
        *connection_->stub, "RemovePodSandbox", options_.timeout,
        &v1::RuntimeService::Stub::RemovePodSandbox, request);
    if (!response)
        return response.error();
    return {};
}

Result<std::string> CriClient::create_container(const std::string& sandbox_id,
                                                const v1::ContainerConfig& config,
                                                const v1::PodSandboxConfig& sandbox_config) {
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id(sandbox_id);
    *request.mutable_config() = config;
    *request.mutable_sandbox_config() = sandbox_config;
    auto response = unary<decltype(request), v1::CreateContainerResponse>(
        *connection_->stub, "CreateContainer", options_.timeout,
        &v1::RuntimeService::Stub::CreateContainer, request);
    if (!response)
        return response.error();
    return response.value().container_id();
}

Status CriClient::start_container(const std::string& id) {
    v1::StartContainerRequest request;
    request.set_container_id(id);
    auto response = unary<decltype(request), v1::StartContainerResponse>(
        *connection_->stub, "StartContainer", options_.timeout,
        &v1::RuntimeService::Stub::StartContainer, request);
    if (!response)
        return response.error();
    return {};
}

Status CriClient::stop_container(const std::string& id, int64_t timeout_seconds) {
    v1::StopContainerRequest request;
    request.set_container_id(id);
    request.set_timeout(timeout_seconds);
    auto response = unary<decltype(request), v1::StopContainerResponse>(
        *connection_->stub, "StopContainer", options_.timeout,
        &v1::RuntimeService::Stub::StopContainer, request);
    if (!response)
        return response.error();
    return {};
}

Status CriClient::remove_container(const std::string& id) {
    v1::RemoveContainerRequest request;
    request.set_container_id(id);
    auto response = unary<decltype(request), v1::RemoveContainerResponse>(
        *connection_->stub, "RemoveContainer", options_.timeout,
        &v1::RuntimeService::Stub::RemoveContainer, request);
    if (!response)
        return response.error();
    return {};
}

std::string default_cri_socket() {
    for (const char* path : {"/run/containerd/containerd.sock", "/var/run/crio/crio.sock"}) {
        std::error_code error;
        if (std::filesystem::exists(path, error))
            return path;
    }
    return {};
}

} // namespace flowwall::identity::cri
