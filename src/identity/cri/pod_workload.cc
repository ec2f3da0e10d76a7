// SPDX-License-Identifier: Apache-2.0
#include "src/identity/cri/pod_workload.h"

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

namespace flowwall::identity::cri {

namespace v1 = runtime::v1;

namespace {

// More labels than this is no pod kubelet would make; it is still read, but said.
constexpr size_t kManyLabels = 256;

std::string quote_for_log(std::string_view text) {
    constexpr size_t kShown = 80;
    std::string shown(text.substr(0, kShown));
    if (text.size() > kShown)
        shown += "...";
    return "\"" + shown + "\"";
}

void add_address(PodInfo& pod, const std::string& text) {
    if (text.empty())
        return;
    auto address = IpAddress::parse(text);
    if (!address) {
        pod.problems.push_back("pod ip " + quote_for_log(text) + " is not an IP address");
        return;
    }
    if (std::find(pod.addresses.begin(), pod.addresses.end(), address.value()) ==
        pod.addresses.end())
        pod.addresses.push_back(address.value());
}

// config.image.image of a verbose ContainerStatus info (containerd: the CreateContainer
// request's ContainerConfig as JSON); empty when absent or not JSON.
std::string image_from_verbose_info(std::string_view info_json) {
    auto info = nlohmann::json::parse(info_json, nullptr, /*allow_exceptions=*/false);
    if (!info.is_object())
        return {};
    const auto config = info.find("config");
    if (config == info.end() || !config->is_object())
        return {};
    const auto image = config->find("image");
    if (image == config->end() || !image->is_object())
        return {};
    const auto name = image->find("image");
    if (name == image->end() || !name->is_string())
        return {};
    return name->get<std::string>();
}

} // namespace

Result<std::string> netns_from_verbose_info(std::string_view info_json) {
    if (info_json.empty())
        return std::string();
    auto info = nlohmann::json::parse(info_json, nullptr, /*allow_exceptions=*/false);
    if (info.is_discarded())
        return Error{EINVAL, "the sandbox's verbose info is not JSON"};
    if (!info.is_object())
        return Error{EINVAL, "the sandbox's verbose info is not a JSON object"};
    // runtimeSpec.linux.namespaces[{type: "network", path: ...}] (OCI runtime spec).
    const auto spec = info.find("runtimeSpec");
    if (spec != info.end() && spec->is_object()) {
        const auto linux_spec = spec->find("linux");
        if (linux_spec != spec->end() && linux_spec->is_object()) {
            const auto namespaces = linux_spec->find("namespaces");
            if (namespaces != linux_spec->end() && namespaces->is_array()) {
                for (const auto& ns : *namespaces) {
                    if (!ns.is_object())
                        continue;
                    const auto type = ns.find("type");
                    const auto path = ns.find("path");
                    if (type != ns.end() && type->is_string() && *type == "network" &&
                        path != ns.end() && path->is_string() &&
                        !path->get_ref<const std::string&>().empty())
                        return path->get<std::string>();
                }
            }
        }
    }
    const auto pid = info.find("pid");
    if (pid != info.end() && pid->is_number_integer() && pid->get<int64_t>() > 0)
        return "/proc/" + std::to_string(pid->get<int64_t>()) + "/ns/net";
    return std::string();
}

Result<PodInfo> parse_pod_sandbox_status(const v1::PodSandboxStatusResponse& response) {
    if (!response.has_status())
        return Error{EINVAL, "PodSandboxStatus answered without a status"};
    const v1::PodSandboxStatus& status = response.status();
    if (status.id().empty())
        return Error{EINVAL, "PodSandboxStatus answered a sandbox without an id"};
    if (!status.has_metadata())
        return Error{EINVAL, "sandbox " + status.id().substr(0, 12) + " has no metadata"};
    PodInfo pod;
    pod.id = status.id();
    pod.name = status.metadata().name();
    pod.namespace_name = status.metadata().namespace_();
    pod.uid = status.metadata().uid();
    if (pod.name.empty() || pod.namespace_name.empty())
        pod.problems.push_back("sandbox " + pod.id.substr(0, 12) +
                               " has no pod name or namespace in its metadata");
    pod.labels.insert(status.labels().begin(), status.labels().end());
    if (pod.labels.size() > kManyLabels)
        pod.problems.push_back("sandbox " + pod.id.substr(0, 12) + " has " +
                               std::to_string(pod.labels.size()) + " labels");
    pod.ready = status.state() == v1::SANDBOX_READY;
    pod.created_ns = status.created_at();
    pod.host_network = status.has_linux() && status.linux().has_namespaces() &&
                       status.linux().namespaces().has_options() &&
                       status.linux().namespaces().options().network() == v1::NODE;
    if (status.has_network()) {
        add_address(pod, status.network().ip());
        for (const auto& extra : status.network().additional_ips())
            add_address(pod, extra.ip());
    }
    if (auto info = response.info().find("info"); info != response.info().end()) {
        auto netns = netns_from_verbose_info(info->second);
        if (netns)
            pod.netns_path = std::move(netns).value();
        else
            pod.problems.push_back(netns.error().message);
    }
    return pod;
}

Result<PodContainer> parse_container_status(const v1::ContainerStatusResponse& response) {
    if (!response.has_status() || response.status().id().empty())
        return Error{EINVAL, "ContainerStatus answered a container without an id"};
    const v1::ContainerStatus& status = response.status();
    PodContainer container;
    container.id = status.id();
    container.name = status.metadata().name();
    // What kubelet asked for names the image best: two tags of the same image are two
    // references to containerd, but image.image is only the first tag it knows for the image
    // id. Newer runtimes return the request's reference as user_specified_image; containerd
    // 1.6 keeps it in the verbose info's config. Then image.image, then the digest.
    container.image = status.image().user_specified_image();
    if (container.image.empty()) {
        if (auto info = response.info().find("info"); info != response.info().end())
            container.image = image_from_verbose_info(info->second);
    }
    if (container.image.empty())
        container.image = status.image().image();
    if (container.image.empty())
        container.image = status.image_ref();
    container.created_ns = status.created_at();
    container.started_ns = status.started_at();
    return container;
}

std::string pod_identity(const PodInfo& pod, const PodNaming& naming) {
    std::string_view image;
    if (!pod.containers.empty())
        image = pod.containers.front().image;
    return naming.name_for(pod.namespace_name, image, pod.labels);
}

std::optional<Workload> to_workload(const PodInfo& pod, const PodNaming& naming,
                                    std::string* why_not) {
    auto skip = [&](std::string reason) -> std::optional<Workload> {
        if (why_not)
            *why_not = std::move(reason);
        return std::nullopt;
    };
    if (!pod.ready)
        return skip("not ready");
    if (pod.host_network)
        return skip("host network");
    if (pod.containers.empty())
        return skip("no running container yet");
    if (pod.netns_path.empty())
        return skip("the runtime names no network namespace");
    if (pod.addresses.empty())
        return skip("no pod IP");
    Workload workload;
    workload.key = "cri/" + pod.id;
    workload.source = "cri";
    workload.name = pod.namespace_name + "/" + pod.name;
    workload.identity = pod_identity(pod, naming);
    workload.image = pod.containers.front().image;
    workload.netns_path = pod.netns_path;
    workload.addresses = pod.addresses;
    // The sandbox's creation is when its addresses became its own.
    workload.started_ns = pod.created_ns;
    return workload;
}

} // namespace flowwall::identity::cri
