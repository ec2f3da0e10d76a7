// SPDX-License-Identifier: Apache-2.0
// A real etcd (Debian's etcd-server) for tests: its own data dir, client URL on a free
// loopback port (or a given address), optionally TLS with client certificates from a test CA
// (openssl). Stop and start again on the same data dir (the store down and back); the
// destructor stops it and removes everything it made.
#pragma once

#include "tests/support/child_process.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace flowwall::testing {

// A test CA and certificates signed by it, in a temp dir removed with the object.
class TestCertificates {
public:
    TestCertificates();
    ~TestCertificates();
    // server.pem/server-key.pem for `ip`; a client cert with CN `name` (etcd's user name when
    // auth is on): <dir>/<name>.pem and <dir>/<name>-key.pem.
    void issue_server(const std::string& ip);
    void issue_client(const std::string& name);
    // A CA nobody trusts, and a client cert it signed: what a node without a valid cert has.
    void issue_foreign_client(const std::string& name);

    std::filesystem::path ca() const { return dir_ / "ca.pem"; }
    std::filesystem::path cert(const std::string& name) const { return dir_ / (name + ".pem"); }
    std::filesystem::path key(const std::string& name) const { return dir_ / (name + "-key.pem"); }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

class EtcdServer {
public:
    struct Options {
        std::string listen_ip = "127.0.0.1";
        const TestCertificates* tls = nullptr; // server.pem must be issued for listen_ip
        std::string netns;                     // run inside this named netns ("" : here)
    };
    explicit EtcdServer(Options options);
    EtcdServer() : EtcdServer(Options{}) {}
    ~EtcdServer();
    EtcdServer(const EtcdServer&) = delete;
    EtcdServer& operator=(const EtcdServer&) = delete;

    // Starts (again, on the same data dir and port) and waits until it answers. Throws with
    // etcd's log when it does not within 20 s.
    void start();
    void stop();
    bool running() const { return process_ != nullptr; }

    // "127.0.0.1:23791"
    std::string endpoint() const;
    // "etcd://127.0.0.1:23791", as --cluster-store takes it.
    std::string store_url() const { return "etcd://" + endpoint(); }
    // etcdctl with this server's endpoint (and the root client cert under TLS).
    std::vector<std::string> etcdctl(const std::vector<std::string>& args) const;
    std::string log() const;

private:
    Options options_;
    std::filesystem::path dir_;
    int client_port_ = 0;
    int peer_port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

} // namespace flowwall::testing
