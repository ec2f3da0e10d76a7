// SPDX-License-Identifier: Apache-2.0
#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace flowwall::testing {

namespace {
std::atomic<int> counter{0};

bool reaped(pid_t pid, int& status) {
    return ::waitpid(pid, &status, WNOHANG) == pid;
}
} // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
    if (argv.empty())
        throw std::invalid_argument("ChildProcess: no program");
    stderr_path_ =
        std::filesystem::temp_directory_path() /
        ("flowwall-child-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    std::vector<std::string> args = argv;
    std::vector<char*> raw;
    for (auto& arg : args)
        raw.push_back(arg.data());
    raw.push_back(nullptr);
    std::string err_path = stderr_path_.string();
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (err >= 0)
            ::dup2(err, STDERR_FILENO);
        ::setpgid(0, 0); // its own group: the kill reaches what it starts (Chromium)
        ::execvp(raw[0], raw.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        int status = 0;
        if (!reaped(pid_, status)) {
            ::kill(-pid_, SIGTERM);
            for (int i = 0; i < 50 && !reaped(pid_, status); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (::kill(pid_, 0) == 0) {
                ::kill(-pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
            }
        }
        ::kill(-pid_, SIGKILL); // anything of its group still around
    }
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
    std::error_code ignored;
    std::filesystem::remove(stderr_path_, ignored);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (auto end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd ready{stdout_fd_, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char chunk[4096];
        ssize_t got = ::read(stdout_fd_, chunk, sizeof(chunk));
        if (got <= 0)
            return std::nullopt;
        buffer_.append(chunk, static_cast<size_t>(got));
    }
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (reaped(pid_, status)) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
}

std::string ChildProcess::errors() const {
    std::ifstream file(stderr_path_);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

} // namespace flowwall::testing
