// SPDX-License-Identifier: Apache-2.0
// What ./scripts/demo runs until flowwalld exists: the datapath alone on a lab it creates.
// web -> api -> db is the normal traffic; an intruder tries to reach db. The programs learn
// the normal flows, switch to block, and then stop the intruder while normal traffic
// goes on. Everything it creates is removed at the end, also on failure.
#include <cstdio>
#include <filesystem>
#include <map>

#include "src/datapath/bpffs.h"
#include "src/datapath/counters.h"
#include "src/datapath/event_reader.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/ip_address.h"
#include "src/datapath/kernel_features.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/tc_attachment.h"
#include "tests/support/netns_lab.h"
#include "tests/support/traffic.h"

namespace {

using namespace flowwall;
using namespace flowwall::testing;
using namespace std::chrono_literals;

const std::map<uint32_t, std::string> identity_names = {
    {FW_ID_WORLD, "world"}, {1000, "web"}, {1001, "api"}, {1002, "db"}, {1003, "intruder"}};

const char* protocol_name(uint8_t protocol) {
    return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "other";
}

void print_event(const fw_event& e) {
    const char* kind = e.kind == FW_EVENT_LEARNED ? "learned"
                       : e.kind == FW_EVENT_ALERT ? "alert"
                                                  : "BLOCKED";
    std::printf("    %-8s %s -> %s %u/%s\n", kind, identity_names.at(e.src_identity).c_str(),
                identity_names.at(e.dst_identity).c_str(), e.dst_port, protocol_name(e.protocol));
}

void step(const char* text) {
    std::printf("\n== %s\n", text);
}

void show(const char* what, bool ok) {
    std::printf("    %-34s %s\n", what, ok ? "ok" : "refused");
}

int run() {
    if (auto status = datapath::require_datapath_features(datapath::probe_kernel_features());
        !status) {
        std::fprintf(stderr, "demo: %s\n", status.error().to_string().c_str());
        return 1;
    }
    step("lab: network namespaces web, api, db, intruder behind a hub (198.18.0.0/15)");
    Lab::remove_stale();
    Lab lab;
    std::map<std::string, uint32_t> ids = {
        {"web", 1000}, {"api", 1001}, {"db", 1002}, {"intruder", 1003}};
    for (const auto& [name, id] : ids)
        std::printf("    %-8s %s\n", name.c_str(), lab.add_workload(name).v4.str().c_str());

    step("load the firewall and attach it to each workload's veth peer");
    auto firewall = datapath::FirewallObject::load({}).value_or_throw();
    auto& maps = firewall->maps();
    std::vector<datapath::TcAttachment> hooks;
    for (const auto& [name, id] : ids) {
        const Workload& w = lab.workload(name);
        auto ip = datapath::IpAddress::parse(w.v4.str()).value();
        maps.ipcache.update(datapath::ipcache_key(ip), {id, FW_IDENTITY_F_LOCAL}).value_or_throw();
        maps.modes.update(id, {FW_MODE_LEARN}).value_or_throw();
        datapath::InterfaceRef peer{lab.hub_netns_path(), w.hub_ifname};
        for (auto [hook, program] :
             {std::pair{datapath::TcHook::ingress, datapath::FirewallProgram::from_workload},
              {datapath::TcHook::egress, datapath::FirewallProgram::to_workload}})
            hooks.push_back(datapath::TcAttachment::attach(peer, hook,
                                                           firewall->program_fd(program),
                                                           datapath::TcAttachMode::automatic)
                                .value_or_throw());
    }
    std::printf("    %zu hooks attached (%s)\n", hooks.size(),
                hooks.front().mode() == datapath::TcAttachMode::tcx ? "tcx links" : "clsact");
    auto events = datapath::EventReader::open(maps.events_fd, print_event).value_or_throw();

    const Workload &web = lab.workload("web"), &api = lab.workload("api"), &db = lab.workload("db"),
                   &intruder = lab.workload("intruder");
    TcpServer api_http(api.netns_path, api.v4, 8080);
    TcpServer db_sql(db.netns_path, db.v4, 5432);
    UdpEchoServer db_stats(db.netns_path, db.v4, 8125);
    auto normal_traffic = [&] {
        show("web -> api 8080/tcp", tcp_connect(web.netns_path, api.v4, 8080, kAllowTimeout).ok());
        show("api -> db 5432/tcp", tcp_connect(api.netns_path, db.v4, 5432, kAllowTimeout).ok());
        show("api -> db 8125/udp", udp_exchange(api.netns_path, db.v4, 8125, kAllowTimeout).ok());
    };

    step("learn: normal traffic, three times; each new flow is learned once");
    for (int i = 0; i < 3; ++i)
        normal_traffic();
    (void)events.drain();
    std::printf("    the model now holds %zu flows\n", maps.policy.count());

    step("block: every identity switches, one map write each");
    for (const auto& [name, id] : ids)
        maps.modes.update(id, {FW_MODE_BLOCK}).value_or_throw();
    normal_traffic();
    show("intruder -> db 5432/tcp", tcp_connect(intruder.netns_path, db.v4, 5432).ok());
    show("web -> db 5432/tcp (lateral)", tcp_connect(web.netns_path, db.v4, 5432).ok());
    (void)events.drain();

    step("counters");
    for (uint32_t reason : {FW_REASON_LEARNED, FW_REASON_POLICY_ALLOW, FW_REASON_CT_ESTABLISHED,
                            FW_REASON_CT_REPLY, FW_REASON_BLOCKED})
        std::printf(
            "    %-16s %6llu packets\n", datapath::counter_name(reason),
            static_cast<unsigned long long>(datapath::read_counter(maps.stats, reason).packets));
    step("cleanup: hooks detached, namespaces removed");
    return 0;
}

} // namespace

int main() try { return run(); } catch (const std::exception& error) {
    std::fprintf(stderr, "demo failed: %s\n", error.what());
    return 1;
}
