// SPDX-License-Identifier: Apache-2.0
// The control socket against a real unprivileged user running the real CLI: the socket's
// mode (0600) keeps the user out before the daemon hears of it, and with the mode loosened
// (as a careless operator might) the daemon's SO_PEERCRED check still refuses the uid.
#include "tests/e2e/access/access_support.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <pwd.h>

#include <filesystem>
#include <optional>
#include <string>

namespace flowwall::testing {
namespace {

namespace fs = std::filesystem;

struct User {
    uid_t uid;
    gid_t gid;
};

// `nobody` exists on every Debian system and owns nothing, so the test needs to create (and
// then remove) no account of its own.
std::optional<User> nobody() {
    const passwd* entry = ::getpwnam("nobody");
    if (entry == nullptr || entry->pw_uid == 0)
        return std::nullopt;
    return User{entry->pw_uid, entry->pw_gid};
}

// setpriv changes the real and effective ids, clears the supplementary groups and, since the
// uid leaves 0, every capability: the command runs as that user and nothing more.
ExecResult run_as(const User& user, std::vector<std::string> argv) {
    std::vector<std::string> full{"setpriv", "--reuid=" + std::to_string(user.uid),
                                  "--regid=" + std::to_string(user.gid), "--clear-groups", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return Lab::exec("", full);
}

// A mode for the test only, put back however the test ends.
class ModeForTest {
public:
    ModeForTest(fs::path path, fs::perms mode)
        : path_(std::move(path)), saved_(fs::status(path_).permissions()) {
        fs::permissions(path_, mode);
    }
    ~ModeForTest() {
        std::error_code ignored;
        fs::permissions(path_, saved_, ignored);
    }
    ModeForTest(const ModeForTest&) = delete;
    ModeForTest& operator=(const ModeForTest&) = delete;

private:
    fs::path path_;
    fs::perms saved_;
};

fs::perms mode_of(const fs::path& path) {
    return fs::status(path).permissions() & fs::perms::all;
}

TEST(ControlSocketAccessTest, AnotherUserIsRefusedByTheModeAndThenByThePeerCheck) {
    FLOWWALL_REQUIRE_ROOT("runs flowwalld, and the CLI as another user");
    FLOWWALL_REQUIRE(have_tool("setpriv"), "setpriv (util-linux), to run the CLI as another user");
    const std::optional<User> user = nobody();
    FLOWWALL_REQUIRE(user.has_value(), "the unprivileged user nobody");
    ExecResult who = run_as(*user, {"id", "-u"});
    ASSERT_TRUE(who.ok()) << who.err;
    ASSERT_EQ(who.out, std::to_string(user->uid) + "\n");

    DaemonProcess daemon({"--docker", "false"});
    daemon.start();
    const fs::path socket = daemon.socket();
    ASSERT_EQ(mode_of(socket), fs::perms::owner_read | fs::perms::owner_write);
    // The user must reach the socket's directory and the CLI binary: the harness's directory
    // follows the umask, and the build tree may be private (a checkout under /root).
    fs::permissions(daemon.dir(), fs::perms::owner_all | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read |
                                      fs::perms::others_exec);
    const fs::path cli = daemon.dir() / "flowwall";
    fs::copy_file(DaemonProcess::flowwall_path(), cli);
    fs::permissions(cli, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec |
                             fs::perms::group_read | fs::perms::others_read);
    const std::vector<std::string> status{cli.string(), "--socket", socket.string(), "status"};

    // Mode 0600: connect() fails with EACCES; the CLI says why and the daemon sees nothing.
    std::size_t from = daemon.log().size();
    ExecResult refused = run_as(*user, status);
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("permission denied on " + socket.string()), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("root-only, run as root"), std::string::npos) << refused.err;
    EXPECT_EQ(refused.out, "");
    EXPECT_EQ(log_lines_at(daemon, from, {"warning", "error", "critical"}),
              std::vector<std::string>{})
        << "the connection never reached the daemon";

    {
        // Anyone may connect now; the server checks the peer's uid before reading a byte.
        ModeForTest loosened(socket, fs::perms::owner_read | fs::perms::owner_write |
                                         fs::perms::group_read | fs::perms::group_write |
                                         fs::perms::others_read | fs::perms::others_write);
        from = daemon.log().size();
        ExecResult peer_refused = run_as(*user, status);
        EXPECT_EQ(peer_refused.exit_code, 1) << peer_refused.out << peer_refused.err;
        // The daemon's 403 message, not the CLI's own "permission denied": the connection
        // was made, and refused by the server.
        EXPECT_NE(peer_refused.err.find("the flowwall control socket is root-only: run the "
                                        "command as root"),
                  std::string::npos)
            << peer_refused.err;
        EXPECT_EQ(peer_refused.out, "");
        const std::string expected_warning =
            "warning: control API: refused a connection from uid " + std::to_string(user->uid);
        EXPECT_TRUE(eventually([&] {
            auto lines = log_lines_at(daemon, from, {"warning"});
            return lines.size() == 1 && lines[0].starts_with(expected_warning);
        })) << daemon.log().substr(from);
        EXPECT_EQ(log_lines_at(daemon, from, {"error", "critical"}), std::vector<std::string>{});
    }

    EXPECT_EQ(mode_of(socket), fs::perms::owner_read | fs::perms::owner_write);
    ExecResult root = daemon.cli({"status"});
    EXPECT_TRUE(root.ok()) << root.err;
}

} // namespace
} // namespace flowwall::testing
