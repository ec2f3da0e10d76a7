// SPDX-License-Identifier: Apache-2.0
// The registry against a recording KernelLists (the kernel side has its own BPF tests) and
// the test's own feed server on loopback.
#include "src/denylist/deny_lists.h"
#include "tests/support/feed_server.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace flowwall::denylist {
namespace {

using nlohmann::json;

// What the kernel would hold per list id, and every call, so tests see diffs, not only sets.
class RecordingKernel : public KernelLists {
public:
    Status apply(uint32_t id, const ListSpec& spec, const std::vector<IpPrefix>& prefixes,
                 const PrefixDiff& diff) override {
        if (fail_next) {
            fail_next = false;
            return Error{ENOSPC, "map full"};
        }
        auto& held = held_[id];
        for (const auto& prefix : diff.removed)
            EXPECT_EQ(held.erase(prefix.to_string()), 1u) << "removed what was not there";
        for (const auto& prefix : diff.added)
            EXPECT_TRUE(held.insert(prefix.to_string()).second) << "added twice";
        EXPECT_EQ(held.size(), prefixes.size());
        directions_[id] = spec.direction;
        ++applies;
        last_diff_size = diff.size();
        return {};
    }
    Status remove(uint32_t id, const ListSpec&, const std::vector<IpPrefix>&) override {
        held_.erase(id);
        return {};
    }
    DropCounters counters(uint32_t id) const override { return {id * 10, id * 1000}; }

    std::set<std::string> held(uint32_t id) const {
        auto it = held_.find(id);
        return it == held_.end() ? std::set<std::string>{} : it->second;
    }
    bool holds(uint32_t id) const { return held_.count(id) > 0; }

    bool fail_next = false;
    int applies = 0;
    size_t last_diff_size = 0;

private:
    std::map<uint32_t, std::set<std::string>> held_;
    std::map<uint32_t, Direction> directions_;
};

class DenyListsTest : public ::testing::Test {
protected:
    std::unique_ptr<DenyLists> open() {
        DenyListsOptions options;
        options.state_dir = dir.path();
        options.protected_prefixes = [this] { return guarded; };
        auto lists = DenyLists::open(options, kernel);
        EXPECT_TRUE(lists.ok()) << (lists.ok() ? "" : lists.error().message);
        return lists.ok() ? std::move(lists.value()) : nullptr;
    }

    testing::TempDir dir;
    RecordingKernel kernel;
    std::vector<IpPrefix> guarded;
};

TEST_F(DenyListsTest, AStaticListIsCreatedEditedAndDeletedInTheKernel) {
    auto lists = open();
    auto created =
        lists->create({{"name", "mine"}, {"prefixes", {"198.51.100.0/24", "203.0.113.9"}}});
    ASSERT_TRUE(created.ok()) << created.error().message;
    uint32_t id = created.value().at("id");
    EXPECT_EQ(kernel.held(id), (std::set<std::string>{"198.51.100.0/24", "203.0.113.9/32"}));

    auto added = lists->add("mine", {"2001:db8::/32", "198.51.100.7"}); // .7 is inside /24
    ASSERT_TRUE(added.ok()) << added.error().message;
    EXPECT_EQ(added.value().at("added"), 1);
    EXPECT_EQ(kernel.last_diff_size, 1u); // only the new prefix went to the kernel
    auto removed = lists->remove("mine", {"203.0.113.9"});
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(kernel.held(id), (std::set<std::string>{"198.51.100.0/24", "2001:db8::/32"}));

    auto shown = lists->list_view("mine", 10);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(shown.value().at("entries"), json({"198.51.100.0/24", "2001:db8::/32"}));
    EXPECT_EQ(shown.value().at("dropped").at("packets"), id * 10);

    ASSERT_TRUE(lists->erase("mine").ok());
    EXPECT_FALSE(kernel.holds(id));
    EXPECT_EQ(lists->erase("mine").error().errnum, ENOENT);
}

TEST_F(DenyListsTest, BadRequestsAreRefusedWithReasons) {
    auto lists = open();
    ASSERT_TRUE(lists->create({{"name", "a"}}).ok());
    EXPECT_EQ(lists->create({{"name", "a"}}).error().errnum, EEXIST);
    auto host_bits = lists->create({{"name", "b"}, {"prefixes", {"198.51.100.1/24"}}});
    ASSERT_FALSE(host_bits.ok());
    EXPECT_NE(host_bits.error().message.find("did you mean"), std::string::npos);
    auto text = lists->create({{"name", "c"}, {"text", "198.51.100.1\nnonsense\n"}});
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.error().message.find("line 2 'nonsense'"), std::string::npos)
        << text.error().message;
    EXPECT_EQ(lists->add("none", {"198.51.100.1"}).error().errnum, ENOENT);
    EXPECT_EQ(lists->add("a", {}).error().errnum, EINVAL);
    EXPECT_EQ(lists->remove("a", {"198.51.100.1"}).error().errnum, ENOENT);
    EXPECT_EQ(lists->refresh("a").error().errnum, EINVAL); // static
}

TEST_F(DenyListsTest, ListsSurviveARestartAndAreAppliedAgain) {
    {
        auto lists = open();
        ASSERT_TRUE(lists
                        ->create({{"name", "mine"},
                                  {"direction", "outbound"},
                                  {"text", "# mine\n198.51.100.0/24\n2001:db8::1\n"}})
                        .ok());
        ASSERT_TRUE(
            lists->create({{"name", "ok"}, {"role", "allow"}, {"prefixes", {"198.18.0.0/15"}}})
                .ok());
    }
    RecordingKernel fresh;
    DenyListsOptions options;
    options.state_dir = dir.path();
    auto lists = DenyLists::open(options, fresh);
    ASSERT_TRUE(lists.ok()) << lists.error().message;
    auto views = lists.value()->lists_view();
    ASSERT_EQ(views.size(), 2u);
    EXPECT_EQ(views[0].at("name"), "mine");
    EXPECT_EQ(views[0].at("direction"), "outbound");
    EXPECT_EQ(views[0].at("prefixes"), 2);
    EXPECT_EQ(views[1].at("role"), "allow");
    EXPECT_EQ(fresh.held(views[0].at("id")),
              (std::set<std::string>{"198.51.100.0/24", "2001:db8::1/128"}));
}

TEST_F(DenyListsTest, ACorruptIndexStopsStartUpNamingTheFile) {
    testing::TempDir::write(dir / "deny-lists.json", "{not json");
    DenyListsOptions options;
    options.state_dir = dir.path();
    auto lists = DenyLists::open(options, kernel);
    ASSERT_FALSE(lists.ok());
    EXPECT_NE(lists.error().message.find("deny-lists.json"), std::string::npos);
}

TEST_F(DenyListsTest, AFeedIsAppliedAndBadRefreshesKeepTheLastGoodVersion) {
    testing::FeedServer server;
    server.set_body("198.51.100.0/24\n203.0.113.1\n203.0.113.2\n203.0.113.3\n");
    auto lists = open();
    auto created = lists->create({{"name", "feed"}, {"url", server.url()}, {"refresh", "1h"}});
    ASSERT_TRUE(created.ok()) << created.error().message;
    uint32_t id = created.value().at("id");

    auto first = lists->refresh("feed");
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(first.value().at("applied")) << first.value().dump();
    EXPECT_EQ(kernel.held(id).size(), 4u);

    auto same = lists->refresh("feed"); // ETag: 304, nothing to do
    EXPECT_EQ(same.value().at("unchanged"), true);

    server.set_status(500);
    auto failed = lists->refresh("feed");
    EXPECT_FALSE(failed.value().at("applied"));
    EXPECT_NE(failed.value().at("reason").get<std::string>().find("HTTP 500"), std::string::npos);
    EXPECT_EQ(kernel.held(id).size(), 4u);
    ASSERT_EQ(lists->problems().size(), 1u);
    EXPECT_NE(lists->problems()[0].find("keeps its last good version (4 prefixes)"),
              std::string::npos);
    EXPECT_EQ(lists->status_view().at("failing").size(), 1u);

    server.set_status(200);
    server.set_body("");
    auto empty = lists->refresh("feed");
    EXPECT_FALSE(empty.value().at("applied"));
    EXPECT_NE(empty.value().at("reason").get<std::string>().find("empty"), std::string::npos);

    server.set_body("203.0.113.1\n");
    auto shrunk = lists->refresh("feed");
    EXPECT_FALSE(shrunk.value().at("applied"));
    EXPECT_NE(shrunk.value().at("reason").get<std::string>().find("shrank"), std::string::npos);

    std::string garbled = "198.51.100.0/24\n";
    for (int i = 0; i < 101; ++i)
        garbled += "junk\n";
    server.set_body(garbled);
    auto bad = lists->refresh("feed");
    EXPECT_FALSE(bad.value().at("applied"));
    EXPECT_NE(bad.value().at("reason").get<std::string>().find("101 bad lines"), std::string::npos);
    EXPECT_EQ(kernel.held(id).size(), 4u);

    // A real edit: one prefix gone, one new; only the difference reaches the kernel.
    server.set_body("198.51.100.0/24\n203.0.113.1\n203.0.113.2\n203.0.113.4\n");
    auto edited = lists->refresh("feed");
    EXPECT_TRUE(edited.value().at("applied"));
    EXPECT_EQ(edited.value().at("added"), 1);
    EXPECT_EQ(edited.value().at("removed"), 1);
    EXPECT_EQ(kernel.last_diff_size, 2u);
    EXPECT_EQ(kernel.held(id).count("203.0.113.3/32"), 0u);
    EXPECT_TRUE(lists->problems().empty());

    auto view = lists->list_view("feed", 0);
    EXPECT_EQ(view.value().at("refresh_failures"), 4);
    EXPECT_EQ(view.value().at("entries_truncated"), true);
    std::string metrics = lists->metrics_text();
    EXPECT_NE(metrics.find("flowwall_deny_list_refresh_failures_total{list=\"feed\",role=\"deny\","
                           "direction=\"inbound\"} 4"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("flowwall_deny_list_prefixes{list=\"feed\""), std::string::npos);
}

TEST_F(DenyListsTest, AFailedKernelApplyKeepsThePreviousVersionAndSaysSo) {
    auto lists = open();
    auto created = lists->create({{"name", "mine"}, {"prefixes", {"198.51.100.0/24"}}});
    uint32_t id = created.value().at("id");
    kernel.fail_next = true;
    auto added = lists->add("mine", {"203.0.113.0/24"});
    ASSERT_FALSE(added.ok());
    EXPECT_NE(added.error().message.find("map full"), std::string::npos);
    EXPECT_EQ(kernel.held(id), (std::set<std::string>{"198.51.100.0/24"}));
    EXPECT_EQ(lists->list_view("mine", 10).value().at("prefixes"), 1);
    ASSERT_EQ(lists->problems().size(), 1u);
    // The next edit brings the kernel in step, the diff against what it really holds.
    ASSERT_TRUE(lists->add("mine", {"203.0.113.0/24"}).ok());
    EXPECT_EQ(kernel.held(id).size(), 2u);
    EXPECT_TRUE(lists->problems().empty());
}

TEST_F(DenyListsTest, AListCoveringProtectedAddressesSaysSo) {
    guarded = {IpPrefix::parse("198.18.2.3").value(), IpPrefix::parse("198.19.0.0/16").value()};
    auto lists = open();
    auto created = lists->create(
        {{"name", "level1"}, {"prefixes", {"198.18.0.0/16", "198.19.7.0/24", "203.0.113.0/24"}}});
    ASSERT_TRUE(created.ok());
    EXPECT_EQ(created.value().at("covers_protected"),
              json({"198.18.0.0/16 covers 198.18.2.3/32", "198.19.7.0/24 covers 198.19.0.0/16"}));
    // Allow lists are not a threat to anyone.
    auto allow =
        lists->create({{"name", "mgmt"}, {"role", "allow"}, {"prefixes", {"198.18.0.0/16"}}});
    EXPECT_TRUE(allow.value().at("covers_protected").empty());
}

TEST_F(DenyListsTest, RunRefreshesDueFeedsOnItsOwnThread) {
    testing::FeedServer server;
    server.set_body("198.51.100.0/24\n");
    auto lists = open();
    ASSERT_TRUE(lists->create({{"name", "feed"}, {"url", server.url()}, {"refresh", "1s"}}).ok());
    {
        std::jthread runner([&](std::stop_token stop) { lists->run(stop); });
        for (int i = 0; i < 50 && server.requests() < 2; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GE(server.requests(), 2); // the first at once, the second a second later
    EXPECT_EQ(lists->list_view("feed", 1).value().at("entries"), json({"198.51.100.0/24"}));
}

} // namespace
} // namespace flowwall::denylist
