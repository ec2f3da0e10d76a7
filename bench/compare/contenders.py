# SPDX-License-Identifier: Apache-2.0
"""The contenders: how each loads the policy (through its tool's own batch input: one
command, not one a rule), how it adds one flow, and how it goes away again.

Each contender runs on a lab of its own (topology.Lab, built anew every round; a round's
labs stand side by side), so nothing one leaves (a legacy iptables table, conntrack hooks,
an ipset) can tax another; stop() only removes what lives outside the lab's namespaces.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time

from processes import CommandError, run, timed_run


class Contender:
    name = ""  # key in the results
    label = ""  # in tables and the chart
    enforces = True

    def unavailable(self):
        """Why this contender cannot run on this machine, or None."""
        return None

    def version(self):
        return ""

    def start(self, lab, policy, workdir):
        """What must run before the policy loads (not part of the load time)."""
        self.lab, self.policy, self.workdir = lab, policy, workdir

    def load(self):
        """Loads the policy; returns {"seconds": wall time, "steps": {...}}."""
        return {"seconds": 0.0, "steps": {}}

    def change_command(self, flow):
        """The one command that adds `flow` to the loaded policy."""
        return None

    # Set by contenders that can also be changed without starting a process: a callable that
    # adds a flow and returns once the change was acknowledged.
    change_in_process = None

    def cpu_pids(self):
        """Processes whose CPU time is the firewall's own (beyond the kernel's share)."""
        return []

    def stop(self):
        """Returns a list of errors (empty when everything went)."""
        return []

    def _write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as out:
            out.write(text)
        return path


class Baseline(Contender):
    name, label, enforces = "baseline", "no firewall", False


def tool_version(argv, pattern=r"v?(\d+\.\d+[\w.+~-]*)"):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ""
    found = re.search(pattern, out)
    return found.group(1) if found else out.strip()[:40]


class Iptables(Contender):
    """conntrack ESTABLISHED,RELATED accept first, one ACCEPT rule per flow (in a chain of
    its own, as iptables-based tools emit them), and FORWARD's policy drops the rest."""

    def __init__(self, backend):
        self.backend = backend  # "nft" or "legacy"
        self.name = f"iptables-{backend}"
        self.label = f"iptables ({backend})"
        self.command = f"iptables-{backend}"

    def unavailable(self):
        missing = [tool for tool in (self.command, self.command + "-restore")
                   if shutil.which(tool) is None]
        if missing:
            return f"{', '.join(missing)} not installed (Debian package iptables)"
        # The legacy backend needs x_tables in the kernel: try it in a scratch namespace.
        scratch = f"fwcmp{os.getpid()}-probe"
        try:
            run(["ip", "netns", "add", scratch])
            tried = run(["ip", "netns", "exec", scratch, self.command, "-w", "5", "-L", "FORWARD",
                         "-n"], check=False)
            if tried.returncode != 0:
                return f"{self.command} does not work on this kernel: {tried.stderr.strip()}"
        finally:
            run(["ip", "netns", "del", scratch], check=False)
        return None

    def version(self):
        return tool_version([self.command, "--version"])

    def load(self):
        path = self._write("iptables.rules", self.policy.iptables_restore())
        # -w: the legacy backend takes the host-wide xtables lock, which Docker uses too.
        seconds, _ = timed_run(self.lab.in_router([self.command + "-restore", "-w", "5", path]))
        return {"seconds": seconds, "steps": {"iptables-restore": seconds}}

    def change_command(self, flow):
        return self.lab.in_router(self.policy.iptables_change(self.command, flow) + ["-w", "5"])


class Ipset(Contender):
    """The flows in one hash:ip,port,ip set, matched by one iptables rule (nft backend)."""

    name, label = "ipset", "iptables + ipset"

    def unavailable(self):
        for tool, package in (("ipset", "ipset"), ("iptables-nft-restore", "iptables")):
            if shutil.which(tool) is None:
                return f"{tool} not installed (Debian package {package})"
        return None

    def version(self):
        return tool_version(["ipset", "version"])

    def load(self):
        sets = self._write("ipset.restore", self.policy.ipset_restore())
        rules = self._write("ipset-iptables.rules", self.policy.ipset_iptables_restore())
        with open(sets) as stdin_text:
            set_seconds, _ = timed_run(self.lab.in_router(["ipset", "restore"]),
                                       stdin=stdin_text.read())
        rule_seconds, _ = timed_run(self.lab.in_router(["iptables-nft-restore", rules]))
        return {"seconds": set_seconds + rule_seconds,
                "steps": {"ipset restore": set_seconds, "iptables-restore": rule_seconds}}

    def change_command(self, flow):
        return self.lab.in_router(self.policy.ipset_change(flow))


class Nftables(Contender):
    """ip saddr . ip daddr . tcp dport in a concatenated set, one rule, policy drop."""

    name, label = "nftables", "nftables (set)"

    def unavailable(self):
        return None if shutil.which("nft") else "nft not installed (Debian package nftables)"

    def version(self):
        return tool_version(["nft", "--version"])

    def load(self):
        path = self._write("ruleset.nft", self.policy.nft_ruleset())
        seconds, _ = timed_run(self.lab.in_router(["nft", "-f", path]))
        return {"seconds": seconds, "steps": {"nft -f": seconds}}

    def change_command(self, flow):
        return self.lab.in_router(self.policy.nft_change(flow))


class Flowwall(Contender):
    """The real flowwalld as a black box: an endpoints file names each namespace's identity,
    `flowwall model import` loads the flows, `flowwall mode block` enforces them. Its
    programs sit on the workloads' interfaces (in-workload placement: the veth peers live in
    the router namespace, not in the daemon's), so a SYN is judged as it leaves the client
    and as it reaches the server. Each run has its own state dir, socket, pin dir and no web
    endpoint, so it never meets another flowwalld on the machine."""

    name, label = "flowwall", "flowwall (block)"

    def __init__(self, flowwalld, flowwall, processes, prefix):
        self.flowwalld, self.flowwall = flowwalld, flowwall
        self.processes = processes
        self.prefix = prefix
        self.runs = 0
        self.daemon = None
        self.dir = None

    def unavailable(self):
        for path in (self.flowwalld, self.flowwall):
            if not os.access(path, os.X_OK):
                return f"{path} is not built: run ./scripts/build first"
        return None

    def version(self):
        return tool_version([self.flowwall, "--version"], r"(\d+\.\d+\.\d+\S*)")

    def _base_args(self):
        return [self.flowwalld, "--state-dir", os.path.join(self.dir, "state"),
                "--socket", self.socket, "--bpffs-dir", self.pin_dir,
                "--audit-log", os.path.join(self.dir, "audit.jsonl"), "--web-listen", "",
                # Never the machine's own uplinks: the comparison runs in namespaces.
                "--uplinks", "", "--log-level", "warn"]

    def cli(self, *args):
        return [self.flowwall, "--socket", self.socket] + list(args)

    def start(self, lab, policy, workdir):
        super().start(lab, policy, workdir)
        self.runs += 1
        self.dir = os.path.join(workdir, f"flowwalld-{self.runs}")
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "flowwall.sock")
        self.pin_dir = f"/sys/fs/bpf/{self.prefix}-{self.runs}"
        endpoints = self._write(f"endpoints-{self.runs}.json", policy.flowwall_endpoints(
            lambda w: lab.netns_path(lab.netns_of(w))))
        # The model goes into files now, so the load time counts flowwall, not Python.
        self.documents = [self._write(f"model-{self.runs}-{i}.json", text)
                          for i, text in enumerate(policy.flowwall_model_documents())]
        log = open(os.path.join(self.dir, "flowwalld.log"), "w")
        self.daemon = subprocess.Popen(
            self._base_args() + ["--docker", "false", "--endpoints-file", endpoints],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.running.append(self.daemon)
        guarded = len(policy.workloads)
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise CommandError(f"flowwalld exited during start-up:\n{self.log()}")
            answer = run(self.cli("status", "--json"), check=False)
            if answer.returncode == 0:
                status = json.loads(answer.stdout)
                if (status.get("synced") and
                        status["datapath"]["interfaces_guarded"] == guarded):
                    return
            time.sleep(0.05)
        raise CommandError(f"flowwalld did not guard the {guarded} workloads within 30 s "
                           f"(status: {json.dumps(status)[:600]}):\n{self.log()}")

    def log(self):
        try:
            with open(os.path.join(self.dir, "flowwalld.log")) as log:
                return log.read()[-3000:]
        except OSError:
            return ""

    def load(self):
        started = time.monotonic()
        flows = 0
        for document in self.documents:
            answer = run(self.cli("model", "import", document))
            found = re.search(r"model has (\d+) flows", answer.stdout)
            flows = int(found.group(1)) if found else flows
        imported = time.monotonic() - started
        block_seconds, _ = timed_run(self.cli("mode", "block"))
        if flows != self.policy.size:
            raise CommandError(f"flowwall's model has {flows} flows after the import, "
                               f"expected {self.policy.size}")
        return {"seconds": imported + block_seconds,
                "steps": {f"model import ({len(self.documents)} files)": imported,
                          "mode block": block_seconds}}

    def change_command(self, flow):
        return self.policy.flowwall_change(self.cli(), flow)

    def change_in_process(self, flow):
        """POST /v1/model/allow on the control socket, as an orchestrator holding the API
        would: what the daemon takes, without the CLI's start-up."""
        body = self.policy.flowwall_api_change(flow).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
            control.settimeout(30)
            control.connect(self.socket)
            control.sendall(b"POST /v1/model/allow HTTP/1.1\r\nHost: flowwall\r\n"
                            b"Content-Type: application/json\r\nConnection: close\r\n"
                            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            answer = b""
            while chunk := control.recv(65536):
                answer += chunk
        if not answer.startswith(b"HTTP/1.1 200"):
            raise CommandError(f"POST /v1/model/allow: {answer[-300:].decode(errors='replace')}")

    def cpu_pids(self):
        return [self.daemon.pid] if self.daemon else []

    def stop(self):
        errors = []
        if self.daemon is not None:
            code = self.processes.stop(self.daemon, timeout=10)
            if code != 0:
                errors.append(f"flowwalld exited with {code} on SIGTERM:\n{self.log()}")
            self.daemon = None
        if self.dir is not None:
            cleaned = run(self._base_args() + ["--cleanup"], check=False, timeout=60)
            if cleaned.returncode != 0:
                errors.append(f"flowwalld --cleanup failed: {cleaned.stderr.strip()}")
            if os.path.exists(self.pin_dir):
                shutil.rmtree(self.pin_dir, ignore_errors=True)
                errors.append(f"flowwalld --cleanup left {self.pin_dir} (removed)")
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return errors


def all_contenders(flowwalld, flowwall, processes, prefix):
    return [Baseline(), Flowwall(flowwalld, flowwall, processes, prefix), Iptables("nft"),
            Iptables("legacy"), Ipset(), Nftables()]
