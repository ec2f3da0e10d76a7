// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/cri/containerd_lab.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "src/identity/cri/pod_workload.h"
#include "tests/support/netns_lab.h"

namespace flowwall::testing {

namespace fs = std::filesystem;
namespace v1 = runtime::v1;
using namespace std::chrono_literals;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

void run_ok(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s) {
    ExecResult result = Lab::exec("", argv, timeout);
    if (!result.ok()) {
        std::string command;
        for (const auto& arg : argv)
            command += arg + " ";
        throw std::runtime_error("`" + command + "` failed: " + result.err + result.out);
    }
}

// Processes whose command line mentions `text` (the shims of this lab's containerd: they are
// started with -address <dir>/containerd.sock).
std::vector<pid_t> processes_mentioning(const std::string& text) {
    std::vector<pid_t> pids;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmdline = read_text(entry.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(text) != std::string::npos && std::stoi(name) != ::getpid())
            pids.push_back(std::stoi(name));
    }
    return pids;
}

// Mount points under `dir`, deepest first.
std::vector<std::string> mounts_under(const fs::path& dir) {
    std::vector<std::string> points;
    std::istringstream lines(read_text("/proc/self/mountinfo"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string id, parent, device, root, point;
        fields >> id >> parent >> device >> root >> point;
        if (point.rfind(dir.string() + "/", 0) == 0)
            points.push_back(point);
    }
    std::sort(points.begin(), points.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return points;
}

// Unique per lab process and pod, like the API server's UIDs.
std::string uid_for(int counter) {
    return "flowwall-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter);
}

// Removes what one lab left (its shims, mounts, bridge, directory); used by the destructor
// and for labs of earlier runs that died before theirs ran.
void remove_lab_leftovers(const fs::path& dir, const std::string& bridge) {
    for (pid_t pid : processes_mentioning(dir.string()))
        ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(100ms);
    for (const std::string& point : mounts_under(dir))
        ::umount2(point.c_str(), MNT_DETACH);
    (void)Lab::exec("", {"ip", "link", "del", bridge}, 5s);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}

std::string bridge_for(int pid) {
    return "fwcri" + std::to_string(pid % 10000);
}

// Labs whose owner process is gone: /tmp/flowwall-cri-<pid> with no process <pid>.
void remove_orphaned_labs() {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/tmp", error)) {
        const std::string name = entry.path().filename();
        constexpr std::string_view kPrefix = "flowwall-cri-";
        if (name.rfind(kPrefix, 0) != 0)
            continue;
        const std::string pid_text = name.substr(kPrefix.size());
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const int pid = std::stoi(pid_text);
        if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        remove_lab_leftovers(entry.path(), bridge_for(pid));
    }
}

} // namespace

ContainerdLab::ContainerdLab(Options options) : options_(options) {
    remove_orphaned_labs();
    const int pid = ::getpid();
    dir_ = "/tmp/flowwall-cri-" + std::to_string(pid);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    fs::create_directories(dir_ / "cni-conf");
    socket_ = (dir_ / "containerd.sock").string();
    bridge_ = bridge_for(pid);
    subnet_ = "198.19." + std::to_string(100 + pid % 100) + ".0/24";
    write_config();
    start_containerd();
    import_images();
}

void ContainerdLab::write_config() {
    const std::string d = dir_.string();
    write_text(dir_ / "config.toml", R"(version = 2
root = ")" + d + R"(/root"
state = ")" + d + R"(/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = ")" + socket_ + R"("
[ttrpc]
  address = ")" + socket_ + R"(.ttrpc"
[debug]
  address = ")" + d + R"(/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = ")" + d + R"(/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/flowwall-test/pause:1"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ")" + d + R"(/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
)");
    const std::string prefix = subnet_.substr(0, subnet_.rfind(".0/"));
    write_text(dir_ / "cni-conf/10-flowwall-test.conflist",
               R"({"cniVersion": "0.4.0", "name": "flowwall-test", "plugins": [
  {"type": "bridge", "bridge": ")" +
                   bridge_ +
                   R"(", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": ")" +
                   d + R"(/ipam",
            "ranges": [[{"subnet": ")" +
                   subnet_ + R"(", "rangeStart": ")" + prefix + "." +
                   std::to_string(options_.first_host) + R"(", "rangeEnd": ")" + prefix + "." +
                   std::to_string(options_.last_host) + R"("}]]}}]}
)");
}

void ContainerdLab::start_containerd() {
    if (containerd_)
        return;
    if (!fs::exists("/usr/bin/containerd") || !fs::exists("/usr/lib/cni/bridge"))
        throw std::runtime_error("containerd or the CNI plugins are missing: run "
                                 "./scripts/install-deps (containerd, "
                                 "containernetworking-plugins)");
    containerd_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/containerd", "--config", (dir_ / "config.toml").string()});
    client_ = std::make_unique<identity::cri::CriClient>(
        identity::cri::CriClient::Options{.socket_path = socket_, .timeout = 5s});
    for (int attempt = 0; attempt < 150; ++attempt) {
        if (client_->version())
            return;
        std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("containerd did not answer CRI within 15 s: " + log());
}

void ContainerdLab::stop_containerd() {
    if (!containerd_)
        return;
    containerd_.reset(); // SIGTERM, then SIGKILL; reaped
}

void ContainerdLab::import_images() {
    const std::string script = std::string(FLOWWALL_CRI_TEST_DIR) + "/make_busybox_oci.sh";
    struct Image {
        std::string base;
        std::vector<std::string> command;
    };
    for (const Image& image :
         {Image{"pause", {"/bin/sleep", "2147483647"}}, Image{"web", {"/bin/sleep", "3600"}},
          Image{"db", {"/bin/sleep", "3600"}}, Image{"tool", {"/bin/sleep", "3600"}}}) {
        const std::string tar = (dir_ / (image.base + ".tar")).string();
        std::vector<std::string> argv{script, tar, "docker.io/flowwall-test/" + image.base + ":1"};
        argv.insert(argv.end(), image.command.begin(), image.command.end());
        run_ok(argv);
        run_ok({"ctr", "--address", socket_, "--namespace", "k8s.io", "images", "import", tar});
    }
}

RunningPod ContainerdLab::run_pod(const PodSpec& spec) {
    const int counter = ++pod_counter_;
    const std::string uid = uid_for(counter);
    v1::PodSandboxConfig sandbox;
    // What kubelet sends (pkg/kubelet/kuberuntime/kuberuntime_sandbox.go).
    sandbox.mutable_metadata()->set_name(spec.name);
    sandbox.mutable_metadata()->set_namespace_(spec.namespace_name);
    sandbox.mutable_metadata()->set_uid(uid);
    sandbox.mutable_metadata()->set_attempt(0);
    if (!spec.host_network) // a host-network pod keeps the node's (kubelet sends none)
        sandbox.set_hostname(spec.name);
    sandbox.set_log_directory(
        (dir_ / "pods" / (spec.namespace_name + "_" + spec.name + "_" + uid)).string());
    auto& labels = *sandbox.mutable_labels();
    for (const auto& [key, value] : spec.labels)
        labels[key] = value;
    labels["io.kubernetes.pod.name"] = spec.name;
    labels["io.kubernetes.pod.namespace"] = spec.namespace_name;
    labels["io.kubernetes.pod.uid"] = uid;
    (*sandbox.mutable_annotations())["kubernetes.io/config.source"] = "api";
    auto* namespaces =
        sandbox.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    namespaces->set_network(spec.host_network ? v1::NODE : v1::POD);
    namespaces->set_pid(v1::CONTAINER);
    namespaces->set_ipc(v1::POD);

    RunningPod pod;
    auto sandbox_id = client_->run_pod_sandbox(sandbox);
    if (!sandbox_id)
        throw std::runtime_error("RunPodSandbox " + spec.name + ": " +
                                 sandbox_id.error().to_string() + "\n" + log());
    pod.sandbox_id = sandbox_id.value();

    v1::ContainerConfig container;
    container.mutable_metadata()->set_name("app");
    container.mutable_image()->set_image(spec.image);
    for (const auto& arg : spec.command)
        container.add_command(arg);
    auto& container_labels = *container.mutable_labels();
    container_labels["io.kubernetes.container.name"] = "app";
    container_labels["io.kubernetes.pod.name"] = spec.name;
    container_labels["io.kubernetes.pod.namespace"] = spec.namespace_name;
    container_labels["io.kubernetes.pod.uid"] = uid;
    container.set_log_path("app/0.log");
    auto container_id = client_->create_container(pod.sandbox_id, container, sandbox);
    if (!container_id)
        throw std::runtime_error("CreateContainer " + spec.name + ": " +
                                 container_id.error().to_string());
    pod.container_id = container_id.value();
    if (Status started = client_->start_container(pod.container_id); !started)
        throw std::runtime_error("StartContainer " + spec.name + ": " +
                                 started.error().to_string());
    pod.ready = std::chrono::steady_clock::now();

    auto status = client_->pod_sandbox_status(pod.sandbox_id, /*verbose=*/true);
    if (!status)
        throw std::runtime_error("PodSandboxStatus: " + status.error().to_string());
    pod.ip = status.value().status().network().ip();
    auto info = status.value().info().find("info");
    if (info != status.value().info().end()) {
        auto netns = identity::cri::netns_from_verbose_info(info->second);
        if (netns)
            pod.netns = fs::path(netns.value()).filename();
    }
    if (!pod.netns.empty())
        netns_created_.push_back(pod.netns);
    return pod;
}

void ContainerdLab::remove_pod(const RunningPod& pod) {
    if (Status stopped = client_->stop_pod_sandbox(pod.sandbox_id); !stopped)
        throw std::runtime_error("StopPodSandbox: " + stopped.error().to_string());
    if (Status removed = client_->remove_pod_sandbox(pod.sandbox_id); !removed)
        throw std::runtime_error("RemovePodSandbox: " + removed.error().to_string());
}

std::string ContainerdLab::log() const {
    if (!containerd_)
        return "(containerd not running)";
    std::string text = containerd_->errors();
    constexpr size_t kTail = 4000;
    return text.size() > kTail ? text.substr(text.size() - kTail) : text;
}

ContainerdLab::~ContainerdLab() {
    // Pods first, through the runtime, so CNI releases addresses and netns go with them.
    try {
        start_containerd();
        if (auto sandboxes = client_->list_all_pod_sandboxes()) {
            for (const auto& sandbox : sandboxes.value()) {
                (void)client_->stop_pod_sandbox(sandbox.id());
                (void)client_->remove_pod_sandbox(sandbox.id());
            }
        }
    } catch (...) {
    }
    client_.reset();
    containerd_.reset();
    for (const std::string& netns : netns_created_)
        if (fs::exists("/run/netns/" + netns))
            (void)Lab::exec("", {"ip", "netns", "del", netns}, 5s);
    // Whatever survived: shims of this lab (their command line names its socket), mounts.
    remove_lab_leftovers(dir_, bridge_);
}

} // namespace flowwall::testing
