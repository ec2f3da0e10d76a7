// SPDX-License-Identifier: Apache-2.0
// check_bpffs_is_hosts() in real mount namespaces: the host's own namespace passes; a private
// namespace passes only while it still sees the host's bpffs instance, and is refused (with
// the way out in the message) once it has a bpffs of its own or none, as under
// `ip netns exec`, which mounts a fresh sysfs on /sys.
//
// Each case runs in a forked child that unshare()s its mount namespace, so nothing the test
// mounts is ever visible to the host, and the namespace dies with the child.
#include "src/datapath/bpffs.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>

namespace flowwall::datapath {
namespace {

const std::filesystem::path kDir = "/sys/fs/bpf/flowwall-sharing-test";

// Runs `body` in a child with its own mount namespace (mounts made private, so none leaks to
// the host); returns what the child wrote to the pipe: "ok" or the check's error, or a line
// starting with "setup:" when preparing the namespace failed.
std::string in_private_mount_namespace(const std::function<std::string()>& body) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        return "setup: pipe";
    pid_t child = ::fork();
    if (child == 0) {
        ::close(pipe_fds[0]);
        std::string answer;
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            answer = std::string("setup: unshare/make-private: ") + std::strerror(errno);
        else
            answer = body();
        (void)!::write(pipe_fds[1], answer.data(), answer.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string answer;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0)
        answer.append(buffer, static_cast<size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return answer;
}

std::string check() {
    auto checked = check_bpffs_is_hosts(kDir);
    return checked ? "ok" : checked.error().message;
}

class BpffsSharing : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("creates mount namespaces and mounts bpffs");
        if (!is_bpffs(kBpffsMountPoint))
            GTEST_SKIP() << "the host has no bpffs at /sys/fs/bpf";
    }
};

TEST_F(BpffsSharing, TheHostsOwnNamespacePasses) {
    EXPECT_TRUE(check_bpffs_is_hosts(kDir).ok());
}

TEST_F(BpffsSharing, APrivateNamespaceThatStillSeesTheHostsBpffsPasses) {
    EXPECT_EQ(in_private_mount_namespace(check), "ok");
}

TEST_F(BpffsSharing, APrivateBpffsIsRefusedWithTheWayOut) {
    if (::access("/proc/1/ns/mnt", F_OK) != 0 || ::access("/proc/1/root/sys/fs/bpf", F_OK) != 0)
        GTEST_SKIP() << "PID 1's mount namespace is not visible here (hidepid or a sandbox): "
                        "a bpffs on the pin path cannot be compared with the host's";
    std::string answer = in_private_mount_namespace([] {
        if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
            return std::string("setup: mount bpffs: ") + std::strerror(errno);
        return check();
    });
    EXPECT_NE(answer.find("private to this mount namespace"), std::string::npos) << answer;
    EXPECT_NE(answer.find("--allow-private-bpffs"), std::string::npos) << answer;
}

TEST_F(BpffsSharing, AFreshSysfsAsUnderIpNetnsExecIsRefused) {
    std::string answer = in_private_mount_namespace([] {
        // What `ip netns exec` does: a new sysfs on /sys, with no bpffs below it.
        if (::umount2("/sys", MNT_DETACH) != 0 ||
            ::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0)
            return std::string("setup: remount /sys: ") + std::strerror(errno);
        return check();
    });
    EXPECT_NE(answer.find("is not on bpffs"), std::string::npos) << answer;
    EXPECT_NE(answer.find("nsenter --net"), std::string::npos) << answer;
    EXPECT_NE(answer.find("mountPropagation"), std::string::npos) << answer;
}

TEST_F(BpffsSharing, MountingTheHostsBpffsInTheNamespaceFixesIt) {
    std::string answer = in_private_mount_namespace([] {
        // The host's bpffs kept aside before /sys is replaced, then put back on top: what a
        // bind mount of the host's /sys/fs/bpf into a container does.
        const char* aside = "/run/flowwall-sharing-test-bpffs";
        ::mkdir(aside, 0700);
        if (::mount("/sys/fs/bpf", aside, nullptr, MS_BIND, nullptr) != 0)
            return std::string("setup: keep bpffs aside: ") + std::strerror(errno);
        if (::umount2("/sys", MNT_DETACH) != 0 ||
            ::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0)
            return std::string("setup: remount /sys: ") + std::strerror(errno);
        if (::mount(aside, "/sys/fs/bpf", nullptr, MS_BIND, nullptr) != 0)
            return std::string("setup: bind-mount: ") + std::strerror(errno);
        std::string result = check();
        ::umount2(aside, MNT_DETACH);
        ::rmdir(aside); // the directory is on the host's filesystem
        return result;
    });
    EXPECT_EQ(answer, "ok");
}

} // namespace
} // namespace flowwall::datapath
