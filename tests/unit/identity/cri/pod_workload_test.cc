// SPDX-License-Identifier: Apache-2.0
// Reading CRI answers: sandboxes, verbose info, containers, and the answers no runtime should
// give (missing ids, IPs that are no address, huge label sets, broken JSON).
#include "src/identity/cri/pod_workload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace flowwall::identity::cri {
namespace {

namespace v1 = runtime::v1;

v1::PodSandboxStatusResponse sandbox(const std::string& id = "abc123def4567890") {
    v1::PodSandboxStatusResponse response;
    auto* status = response.mutable_status();
    status->set_id(id);
    status->mutable_metadata()->set_name("web-1");
    status->mutable_metadata()->set_namespace_("shop");
    status->mutable_metadata()->set_uid("u-1");
    status->set_state(v1::SANDBOX_READY);
    status->set_created_at(42);
    status->mutable_network()->set_ip("198.18.10.4");
    status->mutable_network()->add_additional_ips()->set_ip("fd00::4");
    (*status->mutable_labels())["app"] = "web";
    // What containerd 1.6 answers with verbose (abridged).
    (*response.mutable_info())["info"] =
        R"({"pid":4242,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"},)"
        R"({"type":"network","path":"/var/run/netns/cni-1234"}]}}})";
    return response;
}

PodContainer container(const std::string& image = "docker.io/library/nginx:1.25") {
    return PodContainer{"c1", "web", image, 50, 60};
}

TEST(PodSandboxStatus, ReadsWhatTheSourceNeeds) {
    auto pod = parse_pod_sandbox_status(sandbox());
    ASSERT_TRUE(pod) << pod.error().message;
    EXPECT_EQ(pod.value().id, "abc123def4567890");
    EXPECT_EQ(pod.value().name, "web-1");
    EXPECT_EQ(pod.value().namespace_name, "shop");
    EXPECT_EQ(pod.value().uid, "u-1");
    EXPECT_TRUE(pod.value().ready);
    EXPECT_FALSE(pod.value().host_network);
    EXPECT_EQ(pod.value().netns_path, "/var/run/netns/cni-1234");
    ASSERT_EQ(pod.value().addresses.size(), 2u);
    EXPECT_EQ(pod.value().addresses[0], IpAddress::parse("198.18.10.4").value());
    EXPECT_EQ(pod.value().addresses[1], IpAddress::parse("fd00::4").value());
    EXPECT_TRUE(pod.value().problems.empty());
}

TEST(PodSandboxStatus, AnswersWithoutASandboxAreErrors) {
    v1::PodSandboxStatusResponse empty;
    EXPECT_FALSE(parse_pod_sandbox_status(empty));
    auto no_id = sandbox("");
    EXPECT_FALSE(parse_pod_sandbox_status(no_id));
    auto no_metadata = sandbox();
    no_metadata.mutable_status()->clear_metadata();
    auto parsed = parse_pod_sandbox_status(no_metadata);
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("no metadata"), std::string::npos);
}

TEST(PodSandboxStatus, BadAddressesAreProblemsNotFailures) {
    auto response = sandbox();
    response.mutable_status()->mutable_network()->set_ip("not-an-ip");
    response.mutable_status()->mutable_network()->add_additional_ips()->set_ip("fd00::4");
    auto pod = parse_pod_sandbox_status(response);
    ASSERT_TRUE(pod);
    ASSERT_EQ(pod.value().addresses.size(), 1u); // fd00::4, once
    ASSERT_EQ(pod.value().problems.size(), 1u);
    EXPECT_NE(pod.value().problems[0].find("not-an-ip"), std::string::npos);
}

TEST(PodSandboxStatus, HugeLabelSetsAreReadAndSaid) {
    auto response = sandbox();
    for (int i = 0; i < 5000; ++i)
        (*response.mutable_status()->mutable_labels())["label-" + std::to_string(i)] =
            std::string(100, 'x');
    auto pod = parse_pod_sandbox_status(response);
    ASSERT_TRUE(pod);
    EXPECT_EQ(pod.value().labels.size(), 5001u);
    ASSERT_EQ(pod.value().problems.size(), 1u);
    EXPECT_NE(pod.value().problems[0].find("5001 labels"), std::string::npos);
}

TEST(PodSandboxStatus, HostNetworkIsRecognised) {
    auto response = sandbox();
    response.mutable_status()
        ->mutable_linux()
        ->mutable_namespaces()
        ->mutable_options()
        ->set_network(v1::NODE);
    auto pod = parse_pod_sandbox_status(response);
    ASSERT_TRUE(pod);
    EXPECT_TRUE(pod.value().host_network);
    pod.value().containers.push_back(container());
    std::string why;
    EXPECT_FALSE(to_workload(pod.value(), PodNaming{}, &why));
    EXPECT_EQ(why, "host network");
}

TEST(VerboseInfo, NetnsFromTheSpecElseThePid) {
    EXPECT_EQ(netns_from_verbose_info(R"({"pid":7})").value(), "/proc/7/ns/net");
    EXPECT_EQ(netns_from_verbose_info(R"({"pid":0})").value(), "");
    EXPECT_EQ(netns_from_verbose_info("").value(), "");
    EXPECT_EQ(netns_from_verbose_info(R"({"runtimeSpec":{"linux":{"namespaces":)"
                                      R"([{"type":"network","path":""}]}},"pid":9})")
                  .value(),
              "/proc/9/ns/net");
    EXPECT_EQ(netns_from_verbose_info(R"({"runtimeSpec":[],"pid":"x"})").value(), "");
    EXPECT_FALSE(netns_from_verbose_info("{broken"));
    EXPECT_FALSE(netns_from_verbose_info("[]"));
}

TEST(VerboseInfo, BrokenInfoIsAProblemAndThePodHasNoNamespace) {
    auto response = sandbox();
    (*response.mutable_info())["info"] = "{broken";
    auto pod = parse_pod_sandbox_status(response);
    ASSERT_TRUE(pod);
    EXPECT_EQ(pod.value().netns_path, "");
    ASSERT_EQ(pod.value().problems.size(), 1u);
    pod.value().containers.push_back(container());
    std::string why;
    EXPECT_FALSE(to_workload(pod.value(), PodNaming{}, &why));
    EXPECT_EQ(why, "the runtime names no network namespace");
}

TEST(ContainerStatus, ImageNameElseTheImageRef) {
    v1::ContainerStatusResponse response;
    EXPECT_FALSE(parse_container_status(response));
    response.mutable_status()->set_id("c9");
    response.mutable_status()->mutable_metadata()->set_name("db");
    response.mutable_status()->set_image_ref("sha256:" + std::string(64, 'e'));
    auto only_ref = parse_container_status(response);
    ASSERT_TRUE(only_ref);
    EXPECT_EQ(only_ref.value().image, "sha256:" + std::string(64, 'e'));
    response.mutable_status()->mutable_image()->set_image("docker.io/library/mysql:8");
    response.mutable_status()->set_created_at(5);
    auto named = parse_container_status(response);
    ASSERT_TRUE(named);
    EXPECT_EQ(named.value(), (PodContainer{"c9", "db", "docker.io/library/mysql:8", 5, 0}));
    // containerd 1.6 names an image by its first tag; the request's reference in the verbose
    // info is what kubelet asked for (two tags of one image are two applications).
    (*response.mutable_info())["info"] = R"({"sandboxID":"s","config":{"metadata":{"name":"db"},)"
                                         R"("image":{"image":"docker.io/library/mariadb:8"}}})";
    EXPECT_EQ(parse_container_status(response).value().image, "docker.io/library/mariadb:8");
    (*response.mutable_info())["info"] = "{broken";
    EXPECT_EQ(parse_container_status(response).value().image, "docker.io/library/mysql:8");
    response.mutable_status()->mutable_image()->set_user_specified_image("quay.io/x/db:1");
    EXPECT_EQ(parse_container_status(response).value().image, "quay.io/x/db:1");
}

TEST(PodWorkload, ARunningPodIsAWorkloadNamedByNamespaceAndImage) {
    auto pod = parse_pod_sandbox_status(sandbox()).value();
    pod.containers.push_back(container());
    auto workload = to_workload(pod, PodNaming{});
    ASSERT_TRUE(workload);
    EXPECT_EQ(workload->key, "cri/abc123def4567890");
    EXPECT_EQ(workload->source, "cri");
    EXPECT_EQ(workload->name, "shop/web-1");
    EXPECT_EQ(workload->identity, "shop/nginx");
    EXPECT_EQ(workload->image, "docker.io/library/nginx:1.25");
    EXPECT_EQ(workload->netns_path, "/var/run/netns/cni-1234");
    EXPECT_EQ(workload->addresses.size(), 2u);
    EXPECT_EQ(workload->started_ns, 42);
    EXPECT_TRUE(workload->interfaces.empty());
    PodNaming by_label = PodNaming::parse("label:app").value();
    EXPECT_EQ(to_workload(pod, by_label)->identity, "shop/web");
}

TEST(PodWorkload, PodsWithNothingToGuardAreSkippedWithAReason) {
    auto base = parse_pod_sandbox_status(sandbox()).value();
    std::string why;
    EXPECT_FALSE(to_workload(base, PodNaming{}, &why));
    EXPECT_EQ(why, "no running container yet");
    auto no_ip = base;
    no_ip.containers.push_back(container());
    no_ip.addresses.clear();
    EXPECT_FALSE(to_workload(no_ip, PodNaming{}, &why));
    EXPECT_EQ(why, "no pod IP");
    auto not_ready = base;
    not_ready.containers.push_back(container());
    not_ready.ready = false;
    EXPECT_FALSE(to_workload(not_ready, PodNaming{}, &why));
    EXPECT_EQ(why, "not ready");
}

} // namespace
} // namespace flowwall::identity::cri
