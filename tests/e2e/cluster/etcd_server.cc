// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/cluster/etcd_server.h"

#include "tests/support/netns_lab.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace flowwall::testing {

namespace {

std::atomic<int> counter{0};

std::filesystem::path fresh_dir(const std::string& kind) {
    auto dir =
        std::filesystem::temp_directory_path() /
        ("flowwall-" + kind + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// A port nothing listens on now (bound, read, released).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("no free port");
    int port = ntohs(address.sin_port);
    ::close(fd);
    return port;
}

void run_openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    ExecResult result = Lab::exec("", argv, std::chrono::seconds(30));
    if (!result.ok())
        throw std::runtime_error("openssl failed: " + result.err);
}

void issue(const std::filesystem::path& dir, const std::string& ca_name, const std::string& name,
           const std::string& subject, const std::string& extensions) {
    auto pem = dir / (name + ".pem");
    auto key = dir / (name + "-key.pem");
    auto csr = dir / (name + ".csr");
    auto ext = dir / (name + ".ext");
    std::ofstream(ext) << extensions;
    run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", key.string(), "-subj", subject, "-out", csr.string()});
    run_openssl({"x509", "-req", "-in", csr.string(), "-CA", (dir / (ca_name + ".pem")).string(),
                 "-CAkey", (dir / (ca_name + "-key.pem")).string(), "-CAcreateserial", "-days", "2",
                 "-extfile", ext.string(), "-out", pem.string()});
}

void make_ca(const std::filesystem::path& dir, const std::string& name) {
    run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", (dir / (name + "-key.pem")).string(), "-subj", "/CN=" + name,
                 "-days", "2", "-out", (dir / (name + ".pem")).string()});
}

} // namespace

TestCertificates::TestCertificates() : dir_(fresh_dir("certs")) {
    make_ca(dir_, "ca");
}

TestCertificates::~TestCertificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void TestCertificates::issue_server(const std::string& ip) {
    issue(dir_, "ca", "server", "/CN=etcd",
          "subjectAltName=IP:" + ip + "\nextendedKeyUsage=serverAuth,clientAuth\n");
}

void TestCertificates::issue_client(const std::string& name) {
    issue(dir_, "ca", name, "/CN=" + name, "extendedKeyUsage=clientAuth\n");
}

void TestCertificates::issue_foreign_client(const std::string& name) {
    if (!std::filesystem::exists(dir_ / "foreign-ca.pem"))
        make_ca(dir_, "foreign-ca");
    issue(dir_, "foreign-ca", name, "/CN=" + name, "extendedKeyUsage=clientAuth\n");
}

EtcdServer::EtcdServer(Options options)
    : options_(std::move(options)), dir_(fresh_dir("etcd")), client_port_(free_port()),
      peer_port_(free_port()) {}

EtcdServer::~EtcdServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string EtcdServer::endpoint() const {
    return options_.listen_ip + ":" + std::to_string(client_port_);
}

void EtcdServer::start() {
    if (running())
        return;
    const std::string scheme = options_.tls ? "https://" : "http://";
    const std::string client_url = scheme + endpoint();
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> argv;
    if (!options_.netns.empty())
        argv = {"ip", "netns", "exec", options_.netns};
    std::vector<std::string> etcd = {"etcd",
                                     "--name",
                                     "test",
                                     "--data-dir",
                                     (dir_ / "data").string(),
                                     "--listen-client-urls",
                                     client_url,
                                     "--advertise-client-urls",
                                     client_url,
                                     "--listen-peer-urls",
                                     peer_url,
                                     "--initial-advertise-peer-urls",
                                     peer_url,
                                     "--initial-cluster",
                                     "test=" + peer_url,
                                     "--log-outputs",
                                     "stderr",
                                     "--logger",
                                     "zap"};
    argv.insert(argv.end(), etcd.begin(), etcd.end());
    if (options_.tls) {
        const auto& tls = *options_.tls;
        for (const std::string& arg :
             {std::string("--cert-file=") + tls.cert("server").string(),
              "--key-file=" + tls.key("server").string(), "--trusted-ca-file=" + tls.ca().string(),
              std::string("--client-cert-auth")})
            argv.push_back(arg);
    }
    process_ = std::make_unique<ChildProcess>(argv);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        auto args = etcdctl({"endpoint", "health", "--command-timeout=1s"});
        if (Lab::exec(options_.netns, args, std::chrono::seconds(5)).ok())
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string log_text = log();
    process_.reset();
    throw std::runtime_error("etcd did not answer within 20 s:\n" + log_text);
}

void EtcdServer::stop() {
    process_.reset(); // SIGTERM, then SIGKILL; reaped
}

std::vector<std::string> EtcdServer::etcdctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {
        "env", "ETCDCTL_API=3", "etcdctl",
        "--endpoints=" + std::string(options_.tls ? "https://" : "http://") + endpoint()};
    if (options_.tls) {
        argv.push_back("--cacert=" + options_.tls->ca().string());
        argv.push_back("--cert=" + options_.tls->cert("root").string());
        argv.push_back("--key=" + options_.tls->key("root").string());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string EtcdServer::log() const {
    return process_ ? process_->errors() : std::string("(etcd not running)");
}

} // namespace flowwall::testing
