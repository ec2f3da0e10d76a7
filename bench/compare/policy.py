# SPDX-License-Identifier: Apache-2.0
"""The one policy every contender enforces, and how each tool is told it.

K workloads (clients and servers, one address each) and N allowed flows between them: a flow
is (source workload, destination workload, destination port), TCP; everything else is
denied. The flows under test are among the N and are spread through the list: flow k of T
sits at position (k + 0.5) * N / T, so a contender that reads its list in order (iptables)
pays what an average flow costs, not its best or worst case. The other flows fill the list
on ports from 10,000 upwards, every client to every server. Nothing here runs a command.
"""

import json
from dataclasses import dataclass

TEST_PORT = 8080  # connection rate and latency
DENIED_PORT = 8081  # a server listens on it, no flow allows it
CHANGE_PORT = 8082  # the flow a policy change adds
API_CHANGE_PORT = 8083  # the flow flowwall's control API adds (without the CLI)
IPERF_PORT = 5201
SERVER_PORTS = (TEST_PORT, DENIED_PORT, CHANGE_PORT, API_CHANGE_PORT)
FILLER_FIRST_PORT = 10000

IPSET_NAME = "fwcmp_allow"
IPTABLES_CHAIN = "FWCMP_ALLOW"
NFT_TABLE = "fwcmp"
NFT_SET = "allowed"

# The control API takes bodies up to 1 MiB (src/api/http_message.h), so a large model is
# imported in several documents below that size.
FLOWWALL_IMPORT_BYTES = 1000 * 1000


@dataclass(frozen=True)
class Workload:
    name: str  # also its flowwall identity
    role: str  # "client" or "server"
    index: int  # position in the lab: its subnet
    address: str
    gateway: str


@dataclass(frozen=True)
class Flow:
    src: Workload
    dst: Workload
    port: int

    def text(self):
        return f"{self.src.name} -> {self.dst.name} {self.port}/tcp"


def make_workloads(clients, servers):
    """Workload i lives in 198.19.i.0/24: .2 is its own address, .1 the router's."""
    workloads = []
    for role, count in (("client", clients), ("server", servers)):
        for number in range(count):
            index = len(workloads)
            workloads.append(Workload(f"{role}-{number}", role, index,
                                      f"198.19.{index}.2", f"198.19.{index}.1"))
    return workloads


class Policy:
    def __init__(self, workloads, allowed):
        self.workloads = workloads
        self.clients = [w for w in workloads if w.role == "client"]
        self.servers = [w for w in workloads if w.role == "server"]
        if len(self.clients) < 4 or len(self.servers) < 1:
            raise ValueError("the policy needs at least 4 clients and 1 server")
        # Client i calls server i mod S; client 0 also runs iperf3 against server 0.
        self.test_flows = [Flow(c, self.server_of(c), TEST_PORT) for c in self.clients]
        self.iperf_flow = Flow(self.clients[0], self.servers[0], IPERF_PORT)
        under_test = self.test_flows + [self.iperf_flow]
        if allowed < len(under_test):
            raise ValueError(f"N = {allowed} is below the {len(under_test)} flows under test")
        # Must stay denied: a port no flow allows, and an allowed port from the wrong client.
        self.denied_flows = [Flow(self.clients[0], self.servers[0], DENIED_PORT),
                             Flow(self.clients[1], self.servers[0], TEST_PORT)]
        if len(self.servers) > 1:
            assert self.server_of(self.clients[1]) is not self.servers[0]
        # Flows a change adds, one per repetition: every client to every server on the
        # change port (8 with the default lab); the API's own port for flowwall's API.
        self.change_flows = [Flow(c, s, CHANGE_PORT) for c in self.clients for s in self.servers]
        self.api_change_flows = [Flow(c, s, API_CHANGE_PORT)
                                 for c in self.clients for s in self.servers]
        self.flows = self._arrange(under_test, allowed - len(under_test))
        self.size = allowed

    def server_of(self, client):
        return self.servers[client.index % len(self.servers)]

    def _arrange(self, under_test, fillers):
        pairs = [(c, s) for c in self.clients for s in self.servers]
        filler = []
        port = FILLER_FIRST_PORT
        while len(filler) < fillers:
            for c, s in pairs:
                if len(filler) == fillers:
                    break
                filler.append(Flow(c, s, port))
            port += 1
            if port > 65535:
                raise ValueError("too many flows for the lab's client/server pairs")
        total = fillers + len(under_test)
        slots = {int((k + 0.5) * total / len(under_test)): flow
                 for k, flow in enumerate(under_test)}
        flows, rest = [], iter(filler)
        for position in range(total):
            flows.append(slots[position] if position in slots else next(rest))
        return flows

    def positions_under_test(self):
        under_test = set(self.test_flows + [self.iperf_flow])
        return [i for i, flow in enumerate(self.flows) if flow in under_test]

    # --- iptables: conntrack first, one ACCEPT per flow in a chain of its own, then DROP ---

    @staticmethod
    def _iptables_rule(flow):
        return (f"-A {IPTABLES_CHAIN} -s {flow.src.address}/32 -d {flow.dst.address}/32 "
                f"-p tcp -m tcp --dport {flow.port} -j ACCEPT")

    def iptables_restore(self):
        lines = ["*filter", ":FORWARD DROP [0:0]", f":{IPTABLES_CHAIN} - [0:0]",
                 "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                 f"-A FORWARD -j {IPTABLES_CHAIN}"]
        lines += [self._iptables_rule(flow) for flow in self.flows]
        lines.append("COMMIT")
        return "\n".join(lines) + "\n"

    def iptables_change(self, command, flow):
        """One appended rule, as an operator's tool would add it (the chain ends in no DROP:
        FORWARD's policy drops what the chain does not accept)."""
        return [command] + self._iptables_rule(flow).split()

    # --- iptables + ipset: the flows in a hash:ip,port,ip set, one rule ---

    def ipset_restore(self):
        # maxelem must hold N (the default is 65,536); hashsize is left at its default and
        # grows as the set fills, as with a tool that does not size its sets.
        lines = [f"create {IPSET_NAME} hash:ip,port,ip family inet "
                 f"maxelem {max(65536, 2 * self.size)}"]
        lines += [f"add {IPSET_NAME} {self._ipset_member(flow)}" for flow in self.flows]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _ipset_member(flow):
        return f"{flow.src.address},tcp:{flow.port},{flow.dst.address}"

    @staticmethod
    def ipset_iptables_restore():
        return "\n".join([
            "*filter", ":FORWARD DROP [0:0]",
            "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            f"-A FORWARD -m set --match-set {IPSET_NAME} src,dst,dst -j ACCEPT",
            "COMMIT"]) + "\n"

    @staticmethod
    def ipset_change(flow):
        return ["ipset", "add", IPSET_NAME, Policy._ipset_member(flow)]

    # --- nftables: a concatenated set, one rule ---

    @staticmethod
    def _nft_element(flow):
        return f"{flow.src.address} . {flow.dst.address} . {flow.port}"

    def nft_ruleset(self):
        elements = ",\n".join(f"      {self._nft_element(flow)}" for flow in self.flows)
        return (f"table inet {NFT_TABLE} {{\n"
                f"  set {NFT_SET} {{\n"
                f"    type ipv4_addr . ipv4_addr . inet_service\n"
                f"    elements = {{\n{elements}\n    }}\n"
                f"  }}\n"
                f"  chain forward {{\n"
                f"    type filter hook forward priority filter; policy drop;\n"
                f"    ct state established,related accept\n"
                f"    ip saddr . ip daddr . tcp dport @{NFT_SET} accept\n"
                f"  }}\n"
                f"}}\n")

    @staticmethod
    def nft_change(flow):
        return ["nft", "add", "element", "inet", NFT_TABLE, NFT_SET,
                f"{{ {Policy._nft_element(flow)} }}"]

    # --- flowwall: an endpoints file naming each namespace's identity, and the model ---

    def flowwall_endpoints(self, netns_path_of):
        return json.dumps({"endpoints": [
            {"name": w.name, "identity": w.name, "netns": netns_path_of(w),
             "addresses": [w.address]} for w in self.workloads]}, indent=1)

    def flowwall_model_documents(self):
        """The model as export documents of at most FLOWWALL_IMPORT_BYTES each."""
        documents, batch, size = [], [], 0
        for flow in self.flows:
            record = json.dumps({"src": flow.src.name, "dst": flow.dst.name, "port": flow.port,
                                 "protocol": "tcp", "first_seen": "2026-01-01T00:00:00Z",
                                 "last_seen": "2026-01-01T00:00:00Z", "count": 1},
                                separators=(",", ":"))
            if batch and size + len(record) + 64 > FLOWWALL_IMPORT_BYTES:
                documents.append(self._model_document(batch))
                batch, size = [], 0
            batch.append(record)
            size += len(record) + 1
        if batch:
            documents.append(self._model_document(batch))
        return documents

    @staticmethod
    def _model_document(records):
        return '{"version":1,"flows":[' + ",".join(records) + "]}"

    @staticmethod
    def flowwall_change(cli, flow):
        return cli + ["model", "allow", flow.src.name, flow.dst.name, f"{flow.port}/tcp"]

    @staticmethod
    def flowwall_api_change(flow):
        """POST /v1/model/allow's body (docs/api.md)."""
        return json.dumps({"src": flow.src.name, "dst": flow.dst.name, "port": flow.port,
                           "protocol": "tcp"})
