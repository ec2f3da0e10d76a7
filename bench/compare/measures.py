# SPDX-License-Identifier: Apache-2.0
"""What is measured on one contender in one round, in this order: that it enforces the
policy (before any figure), new connections per second with CPU per connection,
request/response latency, bulk throughput, and the time one added flow takes to apply."""

import json
import math
import os
import subprocess
import time

from policy import IPERF_PORT, SERVER_PORTS
from processes import CommandError, cpu_seconds


class EnforcementError(RuntimeError):
    pass


class Measures:
    def __init__(self, lab, policy, processes, tools_dir, seconds, parallel):
        self.lab, self.policy, self.processes = lab, policy, processes
        self.tools_dir = tools_dir
        self.seconds = seconds
        self.parallel = parallel
        self.servers = []

    def tool(self, name):
        return os.path.join(self.tools_dir, name)

    def start_servers(self):
        """compare_server on the test, denied and change ports of every server; iperf3 -s on
        the first."""
        for server in self.policy.servers:
            self.servers.append(self.processes.start(self.lab.in_workload(server, [
                self.tool("compare_server"), "--listen", server.address,
                "--ports", ",".join(str(p) for p in SERVER_PORTS), "--threads", "2"]),
                ready_line="ready"))
        iperf_server = self.policy.iperf_flow.dst
        self.iperf = self.processes.start(self.lab.in_workload(iperf_server, [
            "iperf3", "--server", "--bind", iperf_server.address, "--port", str(IPERF_PORT),
            "--forceflush"]),
            ready_line="Server listening")

    def _probe(self, flow, timeout_ms):
        return self.processes.start(self.lab.in_workload(flow.src, [
            self.tool("compare_probe"), "--to", f"{flow.dst.address}:{flow.port}",
            "--timeout-ms", str(timeout_ms)]))

    def verify(self, contender):
        """Every flow under test connects and answers; every denied flow's SYN goes
        unanswered (with no firewall it connects: that proves a server listens there, so
        silence under a contender is the contender's doing)."""
        expected_denied = "dropped" if contender.enforces else "open"
        checks = [(flow, "open", self._probe(flow, 2000)) for flow in self.policy.test_flows]
        checks += [(flow, expected_denied, self._probe(flow, 400))
                   for flow in self.policy.denied_flows]
        outcome, wrong = {}, []
        for flow, expected, process in checks:
            _, out, err = self.processes.finish(process, timeout=10)
            try:
                result = json.loads(out)["result"]
            except (ValueError, KeyError):
                result = f"no result ({err.strip()})"
            outcome[flow.text()] = result
            if result != expected:
                wrong.append(f"{flow.text()}: {result}, expected {expected}")
        if wrong:
            raise EnforcementError(f"{contender.label} did not enforce the policy with N = "
                                   f"{self.policy.size}: " + "; ".join(wrong))
        return outcome

    # Each measure runs in slices of `seconds`; the caller interleaves the slices of all
    # contenders, and combine_*() below turn one contender's slices into its figure.

    def connection_rate(self, firewall_pids):
        """Every client at once, each with `parallel` connections in flight to its server."""
        servers = [p.pid for p in self.servers]
        server_cpu_before = sum(cpu_seconds(pid) for pid in servers)
        firewall_cpu_before = sum(cpu_seconds(pid) for pid in firewall_pids)
        start_at = time.monotonic_ns() + 300_000_000
        clients = [self.processes.start(self.lab.in_workload(flow.src, [
            self.tool("compare_connect_rate"), "--to", f"{flow.dst.address}:{flow.port}",
            "--seconds", str(self.seconds), "--parallel", str(self.parallel),
            "--start-at", str(start_at)])) for flow in self.policy.test_flows]
        results = []
        for process in clients:
            code, out, err = self.processes.finish(process, timeout=self.seconds + 30)
            if code != 0:
                raise CommandError(f"compare_connect_rate failed: {err.strip()}")
            results.append(json.loads(out))
        server_cpu = sum(cpu_seconds(pid) for pid in servers) - server_cpu_before
        firewall_cpu = sum(cpu_seconds(pid) for pid in firewall_pids) - firewall_cpu_before
        return {"per_second": sum(r["per_second"] for r in results),
                "connections": sum(r["connections"] for r in results),
                "failed": sum(r["failed"] for r in results),
                "timed_out": sum(r["timed_out"] for r in results),
                "client_cpu_s": sum(r["cpu_s"] for r in results), "server_cpu_s": server_cpu,
                "firewall_cpu_s": firewall_cpu}

    def latency(self):
        """One connection, one request at a time (TCP_RR): client 1 to its server."""
        flow = self.policy.test_flows[1]
        code, out, err = self.processes.finish(self.processes.start(self.lab.in_workload(
            flow.src, [self.tool("compare_rr_latency"), "--to",
                       f"{flow.dst.address}:{flow.port}", "--seconds", str(self.seconds)])),
            timeout=self.seconds + 30)
        if code != 0:
            raise CommandError(f"compare_rr_latency failed: {err.strip()}")
        return json.loads(out)

    def throughput(self):
        """One iperf3 stream, client 0 to server 0."""
        flow = self.policy.iperf_flow
        code, out, err = self.processes.finish(self.processes.start(self.lab.in_workload(
            flow.src, ["iperf3", "--client", flow.dst.address, "--port", str(flow.port),
                       "--time", str(self.seconds), "--json"])),
            timeout=self.seconds + 30)
        report = json.loads(out) if out.strip() else {}
        if code != 0 or "error" in report:
            raise CommandError(f"iperf3 failed: {report.get('error', err.strip())}")
        received = report["end"]["sum_received"]
        return {"bytes": received["bytes"], "seconds": received["seconds"],
                "retransmits": report["end"]["sum_sent"].get("retransmits")}

    def change(self, contender, flow, in_process=False, interval_us=250):
        """A prober sends a SYN of a new flow every interval_us; once 20 went unanswered, the
        contender's one command (or, in_process, its API call) adds the flow. Effect: from
        just before the change starts to the send time of the first SYN sent after that start
        that was answered (resolution interval_us, the prober's spacing)."""
        prober = self.processes.start(self.lab.in_workload(flow.src, [
            self.tool("compare_probe"), "--to", f"{flow.dst.address}:{flow.port}",
            "--until-open", "--interval-us", str(interval_us), "--give-up-ms", "60000"]),
            ready_line="closed", timeout=10, stdin=subprocess.PIPE)
        try:
            started = time.monotonic_ns()
            prober.stdin.write(f"{started}\n".encode())
            prober.stdin.flush()
            if in_process:
                contender.change_in_process(flow)
            else:
                code, _, err = self.processes.finish(
                    self.processes.start(contender.change_command(flow)), timeout=60)
                if code != 0:
                    raise CommandError(f"{contender.label}: the change command failed: "
                                       f"{err.strip()}")
            returned = time.monotonic_ns()
        except Exception:
            self.processes.stop(prober)
            raise
        code, out, err = self.processes.finish(prober, timeout=70)
        if code != 0:
            raise EnforcementError(f"{contender.label}: the added flow {flow.text()} did not "
                                   f"open after the change: {out.strip()} {err.strip()}")
        opened = json.loads(out.strip().splitlines()[-1])
        return {"effect_ms": (opened["first_open_sent_ns"] - started) / 1e6,
                "command_ms": (returned - started) / 1e6,
                "resolution_ms": interval_us / 1000,
                "answered_before_start": opened["opened_before_start"]}


def combine_connection_rate(slices):
    # Each slice's rate is over its own length (clients start together, run --seconds):
    # the figure is their mean.
    connections = sum(s["connections"] for s in slices)
    shares = {key: sum(s[key] for s in slices)
              for key in ("client_cpu_s", "server_cpu_s", "firewall_cpu_s")}
    cpu = sum(shares.values())
    return {"per_second": sum(s["per_second"] for s in slices) / len(slices),
            "connections": connections,
            "cpu_s": shares,
            "failed": sum(s["failed"] for s in slices),
            "timed_out": sum(s["timed_out"] for s in slices),
            "cpu_us_per_connection": cpu / connections * 1e6 if connections else None,
            "slices": [round(s["per_second"]) for s in slices]}


def _percentile_us(histogram, total, fraction):
    """Nearest rank over the merged histogram; the bucket's middle."""
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket, count in histogram:
        seen += count
        if seen >= rank:
            width = 250 if bucket < 1_000_000 else 100_000 if bucket < 100_000_000 else 10**7
            return (bucket + width / 2) / 1e3
    return None


def combine_latency(slices):
    merged = {}
    for s in slices:
        for bucket, count in s["histogram_ns"]:
            merged[bucket] = merged.get(bucket, 0) + count
    histogram = sorted(merged.items())
    total = sum(s["transactions"] for s in slices)
    return {"transactions": total,
            "p50_us": _percentile_us(histogram, total, 0.50),
            "p90_us": _percentile_us(histogram, total, 0.90),
            "p99_us": _percentile_us(histogram, total, 0.99),
            "max_us": max(s["max_us"] for s in slices),
            "mean_us": sum(s["mean_us"] * s["transactions"] for s in slices) / total,
            "slices_p99_us": [s["p99_us"] for s in slices]}


def combine_throughput(slices):
    return {"gbit_per_second": sum(s["bytes"] for s in slices) * 8 /
            sum(s["seconds"] for s in slices) / 1e9,
            "retransmits": sum(s["retransmits"] or 0 for s in slices),
            "slices_gbit": [round(s["bytes"] * 8 / s["seconds"] / 1e9, 2) for s in slices]}
