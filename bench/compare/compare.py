#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""flowwall against iptables, ipset and nftables: the same allow-list of N flows between the
same workloads, enforced by each in turn on the same traffic (issue 18; docs/benchmarks.md).

Each round builds one lab per contender (all standing side by side), loads each, checks
each enforces the policy (the flows under test pass, a denied flow's SYN goes unanswered)
before any figure, then runs every measure in slices: each contender one slice in turn, the
order reversed each pass and rotated each round. Every figure is also divided by the
no-firewall baseline of the same round, so the ratios hold on a noisy machine.

  sudo bench/compare/compare.py                  # full run: N = 10 .. 100,000, 5 rounds
  sudo bench/compare/compare.py --smoke          # N = 10 and 1,000, one short round (ctest)
  sudo bench/compare/compare.py --sizes 1000 --rounds 3 --contenders baseline,flowwall,nftables
  bench/compare/compare.py --from-json FILE      # redo table and chart of an earlier run

Results go to --out: compare.json (every sample and the summary), compare.md (the table)
and the chart (--chart, default OUT/compare-connections.png). Needs root; installs missing
tools through scripts/install-deps; refuses to run while another benchmark runs; removes
everything it created, also on failure or Ctrl-C.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback

# This script's own modules are imported from the source tree: write no __pycache__ there.
sys.dont_write_bytecode = True
import report  # noqa: E402
import run_guard  # noqa: E402
from contenders import all_contenders  # noqa: E402
from measures import (EnforcementError, Measures, combine_connection_rate,  # noqa: E402
                      combine_latency, combine_throughput)
from policy import Policy, make_workloads  # noqa: E402
from processes import CommandError, Processes  # noqa: E402
from topology import Lab  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = ("iptables", "ipset", "nft", "iperf3", "gnuplot")
SKIPPED = 77  # ctest's SKIP_RETURN_CODE for this test


class Interrupted(Exception):
    pass


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="N = 10 and 1,000, one round, one 1 s slice per measure "
                             "(what ctest runs)")
    parser.add_argument("--sizes", help="allowed flows N, comma-separated "
                                        "(default 10,1000,10000,100000; smoke 10,1000)")
    parser.add_argument("--rounds", type=int, help="rounds per N (default 5; smoke 1)")
    parser.add_argument("--seconds", type=int, default=1, help="length of one slice (default 1)")
    parser.add_argument("--slices", type=int,
                        help="slices per measure, contender and round (default 5; smoke 1)")
    parser.add_argument("--parallel", type=int, default=4,
                        help="connections in flight per client (4 clients)")
    parser.add_argument("--contenders", help="comma-separated subset; baseline always runs")
    default_build = os.path.join(REPO, "build")
    parser.add_argument("--tools-dir", default=os.path.join(default_build, "bench", "compare"))
    parser.add_argument("--flowwalld", default=os.path.join(default_build, "src", "daemon",
                                                            "flowwalld"))
    parser.add_argument("--flowwall", default=os.path.join(default_build, "src", "cli",
                                                           "flowwall"))
    parser.add_argument("--out", default=os.path.join(REPO, "build", "compare"),
                        help="where the JSON, table and chart go")
    parser.add_argument("--chart", help="where the chart goes (default OUT/compare-connections.png)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="run nothing: redo the summary, table and chart of FILE into --out")
    args = parser.parse_args()
    try:
        args.sizes = [int(n) for n in (args.sizes or ("10,1000" if args.smoke else
                                                      "10,1000,10000,100000")).split(",")]
    except ValueError:
        parser.error(f"--sizes: \"{args.sizes}\" is not a comma-separated list of numbers, "
                     f"e.g. 10,1000")
    args.rounds = args.rounds or (1 if args.smoke else 5)
    args.slices = args.slices or (1 if args.smoke else 5)
    if min(args.sizes) < 5 or max(args.sizes) > 200000:
        parser.error("--sizes: each N must be 5..200,000 (the flows under test are 5)")
    if not 1 <= args.rounds <= 50 or not 1 <= args.seconds <= 60 or not 1 <= args.slices <= 60:
        parser.error("--rounds must be 1..50, --seconds 1..60 and --slices 1..60")
    if not 1 <= args.parallel <= 64:
        parser.error("--parallel must be 1..64")
    return args


def say(text):
    print(text, flush=True)


def install_missing_tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        say(f"compare: {', '.join(missing)} missing: running scripts/install-deps")
        subprocess.run([os.path.join(REPO, "scripts", "install-deps")], check=True)


def machine_facts():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((l.split(":", 1)[1].strip() for l in info if l.startswith("model name")),
                       "")
    except OSError:
        pass
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cpu": cpu,
            "load_average_at_start": list(os.getloadavg())}


def git_revision():
    result = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                            capture_output=True, text=True)
    return result.stdout.strip()


class Stand:
    """One contender on its own lab, loaded and checked, for one round."""

    def __init__(self, contender, index, policy, workloads, args, processes, prefix):
        self.contender = contender
        self.lab = Lab(f"{prefix}-{index}", workloads, processes)
        self.measures = Measures(self.lab, policy, processes, args.tools_dir, args.seconds,
                                 args.parallel)
        self.sample = {"contender": contender.name}

    def set_up(self, policy, workdir):
        self.lab.create()
        self.measures.start_servers()
        self.contender.start(self.lab, policy, workdir)
        self.sample["load"] = self.contender.load()


def tear_down(stands, processes):
    errors = []
    for stand in reversed(stands):
        errors += stand.contender.stop()
    processes.stop_all()
    for stand in reversed(stands):
        errors += stand.lab.destroy()
    if errors:
        say("compare: cleanup trouble: " + "; ".join(errors))


def run_round(order, policy, workloads, args, processes, workdir, prefix):
    """Every contender on a lab of its own, all standing at once: loaded one after the other
    and each checked before any figure is taken. Then each measure runs in slices: every
    contender one slice, in `order` and back again (A B C, C B A, ...), so a contender's
    figure and the baseline's share the same moments of a noisy machine."""
    stands = []
    try:
        for index, contender in enumerate(order):
            # Listed before it is built, so tear_down() also removes a half-built one.
            stands.append(Stand(contender, index, policy, workloads, args, processes, prefix))
            stands[-1].set_up(policy, workdir)
        for stand in stands:
            stand.sample["verified"] = stand.measures.verify(stand.contender)
        for name, measure, combine in (
                ("connect", lambda s: s.measures.connection_rate(s.contender.cpu_pids()),
                 combine_connection_rate),
                ("latency", lambda s: s.measures.latency(), combine_latency),
                ("throughput", lambda s: s.measures.throughput(), combine_throughput)):
            slices = {id(stand): [] for stand in stands}
            for number in range(args.slices):
                for stand in (stands if number % 2 == 0 else reversed(stands)):
                    slices[id(stand)].append(measure(stand))
            for stand in stands:
                stand.sample[name] = combine(slices[id(stand)])
        # Changes repeat too (a new flow each time), interleaved like the slices: a pause the
        # contender takes now and then shows in its spread, not as chance in one try.
        repeats = min(args.slices, len(policy.change_flows))
        for stand in stands:
            stand.sample["change"], stand.sample["change_api"] = [], []
        for number in range(repeats):
            for stand in (stands if number % 2 == 0 else reversed(stands)):
                contender = stand.contender
                if contender.enforces:
                    stand.sample["change"].append(stand.measures.change(
                        contender, policy.change_flows[number]))
                if contender.change_in_process:
                    stand.sample["change_api"].append(stand.measures.change(
                        contender, policy.api_change_flows[number], in_process=True))
    finally:
        tear_down(stands, processes)
    return [stand.sample for stand in stands]


def describe(sample):
    c = sample["connect"]
    text = (f"{c['per_second']:9.0f} conn/s  p50 {sample['latency']['p50_us']:6.1f} µs  "
            f"p99 {sample['latency']['p99_us']:7.1f} µs  "
            f"{sample['throughput']['gbit_per_second']:5.1f} Gbit/s  "
            f"load {sample['load']['seconds']:.3f} s")
    if sample.get("change"):
        text += "  change " + "/".join(f"{c['effect_ms']:.0f}" for c in sample["change"]) + " ms"
    if sample.get("change_api"):
        text += " (API " + "/".join(f"{c['effect_ms']:.1f}" for c in sample["change_api"]) + ")"
    if c["failed"] or c["timed_out"]:
        text += f"  ({c['failed']} failed, {c['timed_out']} timed out)"
    return text


def benchmark(args, processes, workdir, prefix):
    workloads = make_workloads(clients=4, servers=2)
    contenders = all_contenders(args.flowwalld, args.flowwall, processes, prefix)
    wanted = set((args.contenders or ",".join(c.name for c in contenders)).split(","))
    unknown = wanted - {c.name for c in contenders}
    if unknown:
        raise CommandError(f"--contenders: unknown {', '.join(sorted(unknown))} (known: "
                           f"{', '.join(c.name for c in contenders)})")
    wanted.add("baseline")
    chosen, skipped = [], {}
    for contender in contenders:
        if contender.name not in wanted:
            continue
        reason = contender.unavailable()
        if reason is None:
            chosen.append(contender)
        elif contender.name == "iptables-legacy":
            skipped[contender.name] = reason  # the issue asks for it only where it works
            say(f"compare: leaving out {contender.label}: {reason}")
        else:
            raise CommandError(f"{contender.label} cannot run: {reason}")

    results = {
        "version": 1, "mode": "smoke" if args.smoke else "full",
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_facts(), "flowwall_revision": git_revision(),
        "settings": {"sizes": args.sizes, "rounds": args.rounds, "slices": args.slices,
                     "seconds_per_slice": args.seconds,
                     "clients": 4, "servers": 2, "parallel_per_client": args.parallel},
        "contenders": [{"name": c.name, "label": c.label, "version": c.version()}
                       for c in chosen],
        "left_out": skipped, "samples": []}
    labels = {c.name: c.label for c in chosen}
    for n in args.sizes:
        policy = Policy(workloads, n)
        for round_number in range(args.rounds):
            shift = round_number % len(chosen)
            order = chosen[shift:] + chosen[:shift]
            waited = run_guard.wait_for_quiet(900, say)
            load = [round(x, 2) for x in os.getloadavg()]
            samples = run_round(order, policy, workloads, args, processes, workdir, prefix)
            for position, sample in enumerate(samples):
                sample.update({"n": n, "round": round_number, "order": position,
                               "load_average_before": load,
                               "waited_for_other_benchmarks_s": waited})
                results["samples"].append(sample)
                say(f"N={n:<7,} round {round_number + 1}/{args.rounds} "
                    f"{labels[sample['contender']]:<18} {describe(sample)}")
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    results["summary"] = report.summarize(results["samples"], list(labels), args.sizes)
    return results, labels


def write_atomically(path, text):
    with open(path + ".tmp", "w") as file:
        file.write(text)
    os.replace(path + ".tmp", path)


def write_outputs(results, labels, out, chart_path=None):
    os.makedirs(out, exist_ok=True)
    write_atomically(os.path.join(out, "compare.json"), json.dumps(results, indent=1) + "\n")
    table = report.markdown(results["summary"], labels)
    write_atomically(os.path.join(out, "compare.md"), table)
    settings = results["settings"]
    title = (f"one allow-list of N flows in each firewall: {results['mode']} run "
             f"{results['started'][:10]}, {settings['rounds']} rounds x {settings['slices']} "
             f"slices, kernel {results['machine']['kernel']}, {results['machine']['cpus']} CPUs")
    chart_path = chart_path or os.path.join(out, "compare-connections.png")
    problem = report.chart(results["summary"], labels, chart_path, title)
    if problem:
        say(f"compare: no chart: {problem}")
    say("\n" + table)
    say(f"compare: results in {out}/compare.json and compare.md, the chart in {chart_path}")


def rereport(path, out, chart_path):
    with open(path) as file:
        results = json.load(file)
    labels = {c["name"]: c["label"] for c in results["contenders"]}
    results["summary"] = report.summarize(results["samples"], list(labels),
                                          results["settings"]["sizes"])
    write_outputs(results, labels, out, chart_path)
    return 0


def main():
    args = parse_arguments()
    if args.from_json:
        return rereport(args.from_json, args.out, args.chart)
    if os.geteuid() != 0:
        message = ("compare: needs root (network namespaces, iptables, nft, ipset and BPF); "
                   "run: sudo bench/compare/compare.py")
        print(message, file=sys.stderr)
        return 1 if os.environ.get("CI") else SKIPPED

    def interrupt(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)

    processes = Processes()
    prefix = f"{run_guard.PREFIX}{os.getpid()}"
    workdir = os.path.join("/tmp", prefix)
    lock = None
    try:
        lock = run_guard.take_lock()
        others = run_guard.other_benchmarks()
        if others:
            raise run_guard.Refusal("another benchmark is running (" + ", ".join(others) +
                                    "): its load would be in every figure; wait until it ends")
        for leftover in run_guard.remove_stale():
            say(f"compare: removed a crashed run's {leftover}")
        install_missing_tools()
        if not os.path.ismount("/sys/fs/bpf"):
            subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
        os.makedirs(workdir)
        started = time.monotonic()
        results, labels = benchmark(args, processes, workdir, prefix)
        write_outputs(results, labels, args.out, args.chart)
        say(f"compare: done in {time.monotonic() - started:.0f} s")
        return 0
    except run_guard.Refusal as refusal:
        print(f"compare: refusing to run: {refusal}", file=sys.stderr)
        return 3
    except EnforcementError as error:
        print(f"compare: ENFORCEMENT CHECK FAILED: {error}", file=sys.stderr)
        return 1
    except (CommandError, subprocess.CalledProcessError, OSError) as error:
        print(f"compare: {error}", file=sys.stderr)
        return 1
    except Interrupted as why:
        print(f"compare: interrupted ({why}); cleaning up", file=sys.stderr)
        return 130
    except Exception:  # a bug in the script: say where, and still clean up
        print("compare: unexpected error (a bug in bench/compare):", file=sys.stderr)
        traceback.print_exc()
        return 1
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        processes.stop_all()
        if lock is not None:
            run_guard.remove_stale()  # whatever an interrupted round left
            shutil.rmtree(workdir, ignore_errors=True)
            lock.close()


if __name__ == "__main__":
    sys.exit(main())
