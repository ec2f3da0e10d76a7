// SPDX-License-Identifier: Apache-2.0
#include "src/identity/cri/runtime_events.h"
#include "src/identity/workload_source.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "containerd_events.grpc.pb.h"

namespace flowwall::identity::cri {

namespace events = containerd::services::events::v1;

void watch_runtime_events(const RuntimeEventWatchOptions& options,
                          const std::function<void()>& on_change,
                          const std::function<void(EventWatchState)>& on_state,
                          std::stop_token stop) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    auto channel = grpc::CreateCustomChannel("unix://" + options.socket_path,
                                             grpc::InsecureChannelCredentials(), arguments);
    auto stub = events::Events::NewStub(channel);
    events::SubscribeRequest request;
    // Task starts and exits (a pod's pause and app containers), deletes: what changes the set
    // of ready sandboxes and running containers. Exec events of probes are not asked for.
    const std::string in_namespace = "namespace==" + options.containerd_namespace;
    request.add_filters(in_namespace + R"(,topic~="^/tasks/(start|exit|delete)$")");
    request.add_filters(in_namespace + R"(,topic=="/containers/delete")");

    auto backoff = options.backoff_min;
    EventWatchState state = EventWatchState::connecting;
    auto set_state = [&](EventWatchState next) {
        if (next == state)
            return;
        state = next;
        try {
            on_state(next);
        } catch (...) {
        }
    };
    while (!stop.stop_requested()) {
        grpc::ClientContext context;
        std::stop_callback cancel(stop, [&context] { context.TryCancel(); });
        auto reader = stub->Subscribe(&context, request);
        events::Envelope envelope;
        while (reader->Read(&envelope)) {
            set_state(EventWatchState::following);
            backoff = options.backoff_min;
            spdlog::debug("cri: runtime event {} in {}", envelope.topic(), envelope.namespace_());
            try {
                on_change();
            } catch (...) {
            }
        }
        grpc::Status status = reader->Finish();
        if (stop.stop_requested())
            break;
        if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED ||
            status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
            spdlog::info("cri: the runtime offers no containerd events ({}); polling only",
                         status.error_message());
            set_state(EventWatchState::unsupported);
            return;
        }
        set_state(EventWatchState::connecting);
        spdlog::debug("cri: event subscription ended ({}); again in {} ms", status.error_message(),
                      backoff.count());
        if (!sleep_unless_stopped(backoff, stop))
            break;
        backoff = std::min(backoff * 2, options.backoff_max);
    }
}

} // namespace flowwall::identity::cri
