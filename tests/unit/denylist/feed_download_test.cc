// SPDX-License-Identifier: Apache-2.0
// Downloads against the test's own HTTP server on loopback (tests/support/feed_server.h).
#include "src/denylist/feed_download.h"
#include "tests/support/feed_server.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

namespace flowwall::denylist {
namespace {

using namespace std::chrono_literals;

TEST(FeedDownload, GetsTheBodyAndItsEtagThenAsksConditionally) {
    testing::FeedServer server;
    server.set_body("198.51.100.0/24\n");
    auto first = download_feed({.url = server.url()});
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_FALSE(first.value().not_modified);
    EXPECT_EQ(first.value().body, "198.51.100.0/24\n");
    EXPECT_EQ(first.value().etag, server.etag());

    auto second = download_feed({.url = server.url(), .etag = first.value().etag});
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second.value().not_modified);
    EXPECT_EQ(server.not_modified_answers(), 1);

    server.set_body("203.0.113.0/24\n");
    auto third = download_feed({.url = server.url(), .etag = first.value().etag});
    ASSERT_TRUE(third.ok());
    EXPECT_FALSE(third.value().not_modified);
    EXPECT_EQ(third.value().body, "203.0.113.0/24\n");
}

TEST(FeedDownload, AnErrorStatusIsAnErrorNamingIt) {
    testing::FeedServer server;
    server.set_status(500);
    auto answer = download_feed({.url = server.url()});
    ASSERT_FALSE(answer.ok());
    EXPECT_NE(answer.error().message.find("answered HTTP 500"), std::string::npos)
        << answer.error().message;
}

TEST(FeedDownload, ABodyOverTheCapIsRefused) {
    testing::FeedServer server;
    server.set_body(std::string(5000, '#'));
    auto answer = download_feed({.url = server.url(), .max_bytes = 4096});
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().errnum, EFBIG);
    EXPECT_NE(answer.error().message.find("max_bytes"), std::string::npos);
}

TEST(FeedDownload, ASlowServerTimesOut) {
    testing::FeedServer server;
    server.set_delay(3s);
    auto started = std::chrono::steady_clock::now();
    auto answer = download_feed({.url = server.url(), .timeout = 300ms});
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().errnum, ETIMEDOUT) << answer.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s); // not the server's 3 s
}

TEST(FeedDownload, NobodyListeningIsAnError) {
    std::string url;
    {
        testing::FeedServer gone;
        url = gone.url();
    }
    auto answer = download_feed({.url = url, .timeout = 2s});
    ASSERT_FALSE(answer.ok());
    EXPECT_NE(answer.error().message.find(url), std::string::npos);
}

TEST(FeedDownload, ReadsFilesByPathAndFileUrl) {
    testing::TempDir dir;
    testing::TempDir::write(dir / "feed.txt", "198.51.100.1\n");
    auto by_path = download_feed({.url = (dir / "feed.txt").string()});
    ASSERT_TRUE(by_path.ok());
    EXPECT_EQ(by_path.value().body, "198.51.100.1\n");
    auto by_url = download_feed({.url = "file://" + (dir / "feed.txt").string()});
    ASSERT_TRUE(by_url.ok());
    EXPECT_EQ(by_url.value().body, "198.51.100.1\n");
    auto missing = download_feed({.url = (dir / "none.txt").string()});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().errnum, ENOENT);
    auto big = download_feed({.url = (dir / "feed.txt").string(), .max_bytes = 4});
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().errnum, EFBIG);
}

} // namespace
} // namespace flowwall::denylist
