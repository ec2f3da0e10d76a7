// SPDX-License-Identifier: Apache-2.0
// The deployment files stay valid and agree with each other and with the design: the systemd
// unit passes `systemd-analyze verify`, it and the DaemonSet grant exactly the capabilities of
// docs/architecture.md, and the example config parses with the daemon's own parser and names
// the paths the unit and the DaemonSet make writable.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/config/daemon_config.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kSource = FLOWWALL_SOURCE_DIR;
const fs::path kUnit = kSource / "deploy/systemd/flowwalld.service";
const fs::path kConfig = kSource / "deploy/systemd/config.json";
const fs::path kKubernetes = kSource / "deploy/kubernetes";
const fs::path kSwarmStack = kSource / "deploy/swarm/flowwalld-stack.yml";
const fs::path kDockerNode = kSource / "deploy/kubernetes-docker-node";

// DESIGN.md, Deployment: "The daemon needs CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN (netns entry)
// and CAP_PERFMON; it drops the rest."
const std::set<std::string> kDesignCapabilities = {"CAP_BPF", "CAP_NET_ADMIN", "CAP_SYS_ADMIN",
                                                   "CAP_PERFMON"};

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct CommandResult {
    int exit_code = -1;
    std::string output; // stdout and stderr
};

CommandResult run(const std::string& command) {
    CommandResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return result;
    char buffer[4096];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        result.output.append(buffer, got);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string quoted(const fs::path& path) {
    return "'" + path.string() + "'";
}

// Values of every "Key=" line of the unit, in order.
std::vector<std::string> unit_values(const std::string& unit, const std::string& key) {
    std::vector<std::string> values;
    std::istringstream lines(unit);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(key + "=", 0) == 0)
            values.push_back(line.substr(key.size() + 1));
    return values;
}

std::set<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::set<std::string> out;
    for (std::string word; in >> word;)
        out.insert(word);
    return out;
}

// The YAML documents of a file as JSON, through Debian's python3-yaml; null when it is not
// installed (the caller then falls back to line checks).
json yaml_documents(const fs::path& path) {
    if (run("/usr/bin/python3 -c 'import yaml'").exit_code != 0)
        return nullptr;
    auto result = run("/usr/bin/python3 -c 'import json, sys, yaml; "
                      "json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)' " +
                      quoted(path));
    if (result.exit_code != 0)
        throw std::runtime_error(path.string() + " is not valid YAML: " + result.output);
    return json::parse(result.output);
}

TEST(SystemdUnit, PassesSystemdAnalyzeVerify) {
    if (run("command -v systemd-analyze").exit_code != 0) {
        if (std::getenv("CI"))
            FAIL() << "systemd-analyze is missing (apt-get install systemd)";
        GTEST_SKIP() << "systemd-analyze is not installed";
    }
    // verify insists that ExecStart's binary exists; flowwalld is not installed where the
    // test runs, so a copy of the unit starts /bin/true instead. Everything else is as shipped.
    std::string unit = read_file(kUnit);
    const std::string exec = "ExecStart=/usr/local/sbin/flowwalld ";
    auto at = unit.find(exec);
    ASSERT_NE(at, std::string::npos) << "ExecStart changed: update this test";
    unit.replace(at, exec.size(), "ExecStart=/bin/true ");
    char pattern[] = "/tmp/flowwall-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    fs::path dir = pattern;
    std::ofstream(dir / "flowwalld.service") << unit;
    auto result = run("systemd-analyze verify " + quoted(dir / "flowwalld.service"));
    fs::remove_all(dir);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    // verify exits 0 on unknown keys and bad values: they only show up as output.
    EXPECT_EQ(result.output, "") << "systemd-analyze verify has warnings";
}

TEST(SystemdUnit, CapabilitiesAreExactlyTheDesignList) {
    std::string unit = read_file(kUnit);
    for (const char* key : {"CapabilityBoundingSet", "AmbientCapabilities"}) {
        auto values = unit_values(unit, key);
        ASSERT_EQ(values.size(), 1u) << key << " must be set once (a second line adds to it)";
        EXPECT_EQ(words(values[0]), kDesignCapabilities) << key;
    }
}

TEST(SystemdUnit, KeepsTheHardeningAndItsDeliberateGaps) {
    std::string unit = read_file(kUnit);
    for (const char* setting : {"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                                "PrivateTmp=yes", "KillSignal=SIGTERM", "Restart=on-failure",
                                "RuntimeDirectoryPreserve=yes", "MemoryDenyWriteExecute=yes"})
        EXPECT_NE(unit.find(std::string("\n") + setting + "\n"), std::string::npos) << setting;
    // Each would break the datapath: host interfaces, /sys/fs/bpf, setns() into containers.
    for (const char* key : {"PrivateNetwork", "ProtectKernelTunables", "PrivateUsers", "User",
                            "DynamicUser", "Requires"})
        EXPECT_TRUE(unit_values(unit, key).empty()) << key << "= must stay unset";
    auto namespaces = unit_values(unit, "RestrictNamespaces");
    ASSERT_EQ(namespaces.size(), 1u);
    EXPECT_EQ(namespaces[0], "net") << "setns(CLONE_NEWNET) must stay allowed";
}

// Whatever the config says the daemon writes must be writable under ProtectSystem=strict.
TEST(SystemdUnit, ConfiguredPathsAreWritable) {
    json config = json::parse(read_file(kConfig));
    auto writable_values = unit_values(read_file(kUnit), "ReadWritePaths");
    ASSERT_EQ(writable_values.size(), 1u);
    std::set<std::string> writable = words(writable_values[0]);
    EXPECT_TRUE(writable.count("/sys/fs/bpf"));
    for (const fs::path& path : {fs::path(config["state-dir"].get<std::string>()),
                                 fs::path(config["socket"].get<std::string>()).parent_path(),
                                 fs::path(config["bpffs-dir"].get<std::string>()).parent_path()})
        EXPECT_TRUE(writable.count(path.string())) << path << " is not in ReadWritePaths";
}

TEST(ExampleConfig, ParsesWithTheDaemonsParser) {
    std::string text = read_file(kConfig);
    flowwall::config::DaemonConfig config;
    auto status = flowwall::config::apply_config_json(text, kConfig.string(), config);
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_EQ(config.socket, "/run/flowwall/flowwall.sock");
}

TEST(Kubernetes, ManifestsAreConsistent) {
    json daemonset = yaml_documents(kKubernetes / "daemonset.yaml");
    if (daemonset.is_null()) {
        if (std::getenv("CI"))
            FAIL() << "python3-yaml is missing (apt-get install python3-yaml)";
        GTEST_SKIP() << "python3-yaml is not installed; see LineChecks";
    }
    ASSERT_EQ(daemonset.size(), 1u);
    const json& ds = daemonset[0];
    const json& pod = ds["spec"]["template"]["spec"];
    json configmap = yaml_documents(kKubernetes / "configmap.yaml")[0];
    json account = yaml_documents(kKubernetes / "serviceaccount.yaml")[0];
    json ns = yaml_documents(kKubernetes / "namespace.yaml")[0];

    EXPECT_EQ(ds["kind"], "DaemonSet");
    EXPECT_EQ(ns["metadata"]["name"], "flowwall");
    for (const json& object : {ds, configmap, account})
        EXPECT_EQ(object["metadata"]["namespace"], "flowwall");
    EXPECT_EQ(pod["serviceAccountName"], account["metadata"]["name"]);
    EXPECT_EQ(pod["hostNetwork"], true);
    EXPECT_EQ(pod["hostPID"], true);
    EXPECT_EQ(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    EXPECT_EQ(pod["priorityClassName"], "system-node-critical");
    EXPECT_EQ(ds["spec"]["selector"]["matchLabels"],
              json(ds["spec"]["template"]["metadata"]["labels"]));

    ASSERT_EQ(pod["containers"].size(), 1u);
    const json& container = pod["containers"][0];
    EXPECT_EQ(container["image"], std::string("flowwall/flowwalld:") + FLOWWALL_VERSION);
    EXPECT_EQ(container["livenessProbe"]["exec"]["command"], json({"flowwall", "status"}));
    const json& security = container["securityContext"];
    EXPECT_EQ(security["privileged"], false);
    EXPECT_EQ(security["capabilities"]["drop"], json({"ALL"}));
    std::set<std::string> added;
    for (const auto& capability : security["capabilities"]["add"])
        added.insert("CAP_" + capability.get<std::string>());
    std::set<std::string> unit_caps =
        words(unit_values(read_file(kUnit), "CapabilityBoundingSet").at(0));
    EXPECT_EQ(added, unit_caps) << "the DaemonSet and the systemd unit must grant the same";

    // hostPath volumes and where they are mounted.
    std::map<std::string, std::string> host_path; // volume name -> host path
    for (const auto& volume : pod["volumes"])
        if (volume.contains("hostPath"))
            host_path[volume["name"]] = volume["hostPath"]["path"];
    std::map<std::string, std::string> mounted; // host path -> mount path
    std::string config_volume;
    for (const auto& mount : container["volumeMounts"]) {
        // The API server refuses Bidirectional for unprivileged containers.
        EXPECT_NE(mount.value("mountPropagation", ""), "Bidirectional") << mount["name"];
        if (host_path.count(mount["name"]))
            mounted[host_path[mount["name"]]] = mount["mountPath"];
        else
            config_volume = mount["name"];
    }
    json config = json::parse(read_file(kConfig));
    const std::string socket_dir =
        fs::path(config["socket"].get<std::string>()).parent_path().string();
    for (const std::string& path :
         {std::string("/sys/fs/bpf"), std::string("/run/containerd"), std::string("/var/run/crio"),
          std::string("/var/run/docker/netns"), std::string("/var/run/netns"),
          config["state-dir"].get<std::string>(), socket_dir, std::string("/var/log/flowwall")}) {
        ASSERT_TRUE(mounted.count(path)) << path << " is not mounted from the host";
        EXPECT_EQ(mounted[path], path) << "the daemon sees host paths at the same place";
    }

    // The runtime sockets the daemon looks for when cri-socket is empty are all mounted, read
    // only (the daemon never changes pods).
    for (const auto& mount : container["volumeMounts"]) {
        if (mount["mountPath"] == "/run/containerd" || mount["mountPath"] == "/var/run/crio") {
            EXPECT_EQ(mount.value("readOnly", false), true) << mount["mountPath"];
        }
    }

    // The ConfigMap carries the systemd example, mounted where the command line reads it; it
    // differs only in the workload source: CRI, not Docker.
    json pod_config = json::parse(configmap["data"]["config.json"].get<std::string>());
    EXPECT_EQ(pod_config["cri"], true);
    EXPECT_EQ(pod_config["docker"], false);
    EXPECT_EQ(pod_config["cri-socket"], "");
    flowwall::config::DaemonConfig parsed;
    auto parsed_status =
        flowwall::config::apply_config_json(pod_config.dump(), "configmap", parsed);
    ASSERT_TRUE(parsed_status) << parsed_status.error().message;
    EXPECT_TRUE(parsed.cri);
    EXPECT_TRUE(parsed.cri_socket.empty());
    for (const char* key : {"cri", "docker"})
        pod_config[key] = config[key];
    EXPECT_EQ(pod_config, config);
    EXPECT_EQ(container["command"], json({"flowwalld", "--config", "/etc/flowwall/config.json"}));
    bool config_mounted = false;
    for (const auto& volume : pod["volumes"])
        if (volume.contains("configMap") && volume["name"] == config_volume &&
            volume["configMap"]["name"] == configmap["metadata"]["name"])
            config_mounted = true;
    EXPECT_TRUE(config_mounted);
}

// Without a YAML parser: the invariants that matter most, line by line.
TEST(Kubernetes, LineChecks) {
    std::string daemonset = read_file(kKubernetes / "daemonset.yaml");
    EXPECT_NE(daemonset.find("\n            privileged: false\n"), std::string::npos);
    EXPECT_EQ(daemonset.find("privileged: true"), std::string::npos);
    std::string add_line = "add: [";
    auto at = daemonset.find(add_line);
    ASSERT_NE(at, std::string::npos);
    std::string list =
        daemonset.substr(at + add_line.size(), daemonset.find(']', at) - at - add_line.size());
    std::set<std::string> added;
    std::istringstream items(list);
    for (std::string item; std::getline(items, item, ',');)
        added.insert("CAP_" + *words(item).begin());
    EXPECT_EQ(added, kDesignCapabilities);
    for (const char* path :
         {"/sys/fs/bpf", "/run/containerd", "/var/run/crio", "/var/run/docker/netns",
          "/var/lib/flowwall", "/run/flowwall", "/var/log/flowwall"})
        EXPECT_NE(daemonset.find(std::string("\n            path: ") + path + "\n"),
                  std::string::npos)
            << path;
}

struct StackMount {
    std::string source, target;
    bool read_only = false;
    std::string propagation; // "" unless the long syntax sets bind.propagation
};

// A compose file's service volumes, short ("/a:/a:ro") or long ({type: bind, ...}) syntax.
std::vector<StackMount> stack_mounts(const json& service) {
    std::vector<StackMount> mounts;
    for (const auto& volume : service["volumes"]) {
        StackMount mount;
        if (volume.is_string()) {
            std::vector<std::string> parts;
            std::istringstream fields(volume.get<std::string>());
            for (std::string part; std::getline(fields, part, ':');)
                parts.push_back(part);
            mount.source = parts.at(0);
            mount.target = parts.at(1);
            mount.read_only = parts.size() > 2 && parts[2] == "ro";
        } else {
            EXPECT_EQ(volume.value("type", ""), "bind") << volume.dump();
            mount.source = volume.value("source", "");
            mount.target = volume.value("target", "");
            mount.read_only = volume.value("read_only", false);
            if (volume.contains("bind"))
                mount.propagation = volume["bind"].value("propagation", "");
        }
        mounts.push_back(mount);
    }
    return mounts;
}

// The global service of deploy/swarm gets what the systemd unit gets: its capabilities, its
// command, its writable paths, read-only access to Docker, and the namespaces dockerd mounts
// after the service started (propagation from the host: without it the task would see empty
// files where the namespaces of later containers are).
TEST(Swarm, GlobalServiceAgreesWithTheUnit) {
    json documents = yaml_documents(kSwarmStack);
    if (documents.is_null()) {
        if (std::getenv("CI"))
            FAIL() << "python3-yaml is missing (apt-get install python3-yaml)";
        GTEST_SKIP() << "python3-yaml is not installed";
    }
    ASSERT_EQ(documents.size(), 1u);
    const json& stack = documents[0];
    ASSERT_TRUE(stack["services"].contains("flowwalld"));
    const json& service = stack["services"]["flowwalld"];
    EXPECT_EQ(service["image"], std::string("flowwall/flowwalld:") + FLOWWALL_VERSION);
    EXPECT_EQ(service["deploy"]["mode"], "global");

    const std::string unit = read_file(kUnit);
    const std::string exec_start = unit_values(unit, "ExecStart").at(0);
    std::vector<std::string> unit_command;
    std::istringstream command_words(exec_start);
    for (std::string word; command_words >> word;)
        unit_command.push_back(unit_command.empty() ? fs::path(word).filename().string() : word);
    EXPECT_EQ(service["command"], json(unit_command)) << "the unit runs " << exec_start;

    EXPECT_EQ(service["cap_drop"], json({"ALL"}));
    std::set<std::string> added;
    for (const auto& capability : service["cap_add"])
        added.insert(capability.get<std::string>());
    EXPECT_EQ(added, words(unit_values(unit, "CapabilityBoundingSet").at(0)))
        << "the service and the systemd unit must grant the same";

    EXPECT_EQ(service["networks"], json({"host"}));
    EXPECT_EQ(stack["networks"]["host"]["external"], true);
    EXPECT_EQ(stack["networks"]["host"]["name"], "host");

    std::map<std::string, StackMount> by_target;
    for (const StackMount& mount : stack_mounts(service)) {
        EXPECT_EQ(mount.source, mount.target) << "the daemon sees host paths at the same place";
        by_target[mount.target] = mount;
    }
    for (const std::string& path : words(unit_values(unit, "ReadWritePaths").at(0))) {
        ASSERT_TRUE(by_target.count(path)) << path << " (ReadWritePaths) is not mounted";
        EXPECT_FALSE(by_target[path].read_only) << path << " must be writable";
    }
    const std::string config_dir =
        fs::path(exec_start.substr(exec_start.find("--config ") + 9)).parent_path().string();
    json config = json::parse(read_file(kConfig));
    EXPECT_EQ(config["docker"], true) << "the service follows the node's dockerd";
    for (const std::string& path : {config_dir, config["docker-socket"].get<std::string>(),
                                    std::string("/var/run/docker/netns")}) {
        ASSERT_TRUE(by_target.count(path)) << path << " is not mounted";
        EXPECT_TRUE(by_target[path].read_only) << path << ": the daemon only reads it";
    }
    EXPECT_EQ(by_target["/var/run/docker/netns"].propagation, "rslave")
        << "namespaces of containers started later must appear inside the task";
}

// A Docker-based Kubernetes node is one command, no edit: the docker-node overlay patches
// the base DaemonSet with the Docker socket and flags that make the daemon follow Docker
// instead of CRI, with the same ConfigMap. The patch is applied here with nlohmann's RFC 6902
// implementation; where kubectl is installed (not a Debian package, so never required), its
// kustomize rendering must give the same DaemonSet.
TEST(Kubernetes, DockerNodeOverlayIsTheBasePlusTheDockerSocket) {
    json kustomization = yaml_documents(kDockerNode / "kustomization.yaml");
    if (kustomization.is_null()) {
        if (std::getenv("CI"))
            FAIL() << "python3-yaml is missing (apt-get install python3-yaml)";
        GTEST_SKIP() << "python3-yaml is not installed";
    }
    const json& overlay = kustomization[0];
    EXPECT_EQ(overlay["resources"], json({"../kubernetes"}));
    ASSERT_EQ(overlay["patches"].size(), 1u);
    EXPECT_EQ(overlay["patches"][0]["target"],
              json({{"kind", "DaemonSet"}, {"name", "flowwalld"}}));
    json base_resources = yaml_documents(kKubernetes / "kustomization.yaml")[0]["resources"];
    EXPECT_EQ(base_resources,
              json({"namespace.yaml", "serviceaccount.yaml", "configmap.yaml", "daemonset.yaml"}));

    const json base = yaml_documents(kKubernetes / "daemonset.yaml")[0];
    const json patch =
        yaml_documents(kDockerNode / overlay["patches"][0]["path"].get<std::string>())[0];
    const json patched = base.patch(patch);
    // Only the pod spec's volumes, the container's mounts and its args differ.
    json diff = json::diff(base, patched);
    for (const auto& op : diff)
        EXPECT_EQ(op["op"], "add") << op.dump();
    ASSERT_EQ(diff.size(), 3u) << diff.dump();

    const json& pod = patched["spec"]["template"]["spec"];
    const json& container = pod["containers"][0];
    json config =
        json::parse(yaml_documents(kKubernetes / "configmap.yaml")[0]["data"]["config.json"]
                        .get<std::string>());
    const std::string socket = config["docker-socket"];
    bool volume = false, mount = false;
    for (const auto& v : pod["volumes"])
        if (v["name"] == "docker-socket")
            volume = v["hostPath"] == json({{"path", socket}, {"type", "Socket"}});
    for (const auto& m : container["volumeMounts"])
        if (m["name"] == "docker-socket")
            mount = m["mountPath"] == socket && m.value("readOnly", false);
    EXPECT_TRUE(volume) << pod["volumes"].dump();
    EXPECT_TRUE(mount) << container["volumeMounts"].dump();

    // The daemon's own parser: the ConfigMap, then the overlay's flags, as in the pod.
    const fs::path config_file = fs::temp_directory_path() /
                                 ("flowwall-deploy-test-" + std::to_string(::getpid()) + ".json");
    std::ofstream(config_file) << config.dump();
    std::vector<std::string> args;
    for (const auto& word : container["command"])
        args.push_back(word);
    ASSERT_EQ(args.at(1), "--config");
    args.at(2) = config_file.string();
    for (const auto& word : container["args"])
        args.push_back(word);
    auto loaded = flowwall::config::load_daemon_config({args.begin() + 1, args.end()});
    fs::remove(config_file);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_TRUE(loaded.value().config.docker);
    EXPECT_FALSE(loaded.value().config.cri);
    EXPECT_EQ(loaded.value().config.docker_socket, socket);

    if (run("kubectl version --client").exit_code != 0)
        return; // not installed: the rendering check needs it, the rest did not
    auto rendered = run("kubectl kustomize " + quoted(kDockerNode) +
                        " | /usr/bin/python3 -c 'import json, sys, yaml; "
                        "json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)'");
    ASSERT_EQ(rendered.exit_code, 0) << rendered.output;
    bool found = false;
    for (const auto& object : json::parse(rendered.output))
        if (object["kind"] == "DaemonSet") {
            found = true;
            EXPECT_EQ(object, patched) << json::diff(patched, object).dump();
        }
    EXPECT_TRUE(found);
}

} // namespace
