# SPDX-License-Identifier: Apache-2.0
"""The lab: client and server workloads in network namespaces, each on a veth pair whose other
end sits in one router namespace (the "node") that routes between them, as a Docker bridge
or a Kubernetes CNI does, but routed, not bridged: with dockerd on the machine
bridge-nf-call-iptables is on, and a bridge would drag the host's own iptables into the path.

Every firewall under test works inside these namespaces only (iptables, ipset and nftables
in the router's FORWARD path, flowwall on the workloads' interfaces), never in the host's.
Names carry the script's pid; deleting the namespaces removes links, addresses, rules, sets
and conntrack entries with them.
"""

import subprocess

from processes import Processes, run


class Lab:
    def __init__(self, prefix, workloads, processes: Processes):
        self.prefix = prefix  # "fwcmp<pid>"
        self.workloads = workloads
        self.processes = processes
        self.router = f"{prefix}-router"
        self.created = []

    def netns_of(self, workload):
        return f"{self.prefix}-{workload.name}"

    @staticmethod
    def netns_path(netns):
        return f"/run/netns/{netns}"

    def create(self):
        """Namespaces, veth pairs, addresses, routes; the router forwards."""
        for netns in [self.router] + [self.netns_of(w) for w in self.workloads]:
            run(["ip", "netns", "add", netns])
            self.created.append(netns)
        router_batch = ["link set lo up"]
        for w in self.workloads:
            netns = self.netns_of(w)
            peer = f"v{w.index}"  # inside the router namespace: names need not be unique
            run(["ip", "-n", self.router, "link", "add", peer, "type", "veth",
                 "peer", "name", "eth0", "netns", netns])
            router_batch += [f"addr add {w.gateway}/24 dev {peer}", f"link set {peer} up"]
            self._batch(netns, ["link set lo up", f"addr add {w.address}/24 dev eth0",
                                "link set eth0 up", f"route add default via {w.gateway}"])
        self._batch(self.router, router_batch)
        run(["ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"])

    @staticmethod
    def _batch(netns, commands):
        run(["ip", "-n", netns, "-batch", "-"], stdin="\n".join(commands) + "\n")

    def destroy(self):
        """Removes every namespace this lab created; returns the errors (empty when clean)."""
        errors = []
        for netns in reversed(self.created):
            result = subprocess.run(["ip", "netns", "del", netns], capture_output=True,
                                    text=True)
            if result.returncode != 0:
                errors.append(f"ip netns del {netns}: {result.stderr.strip()}")
        self.created = []
        return errors

    def in_netns(self, netns, argv):
        return ["ip", "netns", "exec", netns] + list(argv)

    def in_workload(self, workload, argv):
        return self.in_netns(self.netns_of(workload), argv)

    def in_router(self, argv):
        return self.in_netns(self.router, argv)
