# SPDX-License-Identifier: Apache-2.0
"""What must hold before the comparison may start, and what a crashed run left behind.

One benchmark at a time: the figures are ratios on a 2-core machine, and a second
benchmark would be part of every one of them. A lock file keeps two comparisons apart; a
look at the process list catches the project's other benchmarks and common load generators.
"""

import errno
import fcntl
import os
import re
import shutil
import subprocess
import time

LOCK_PATH = "/run/lock/flowwall-bench.lock"
PREFIX = "fwcmp"  # netns "fwcmp<pid>-<lab>-<workload>", pins /sys/fs/bpf/fwcmp<pid>-<n>

# Executables that are benchmarks or load generators: the project's own, and common ones. Only
# names to look for among running processes (nothing here runs them or needs them installed).
BENCHMARKS = {"datapath_bench", "docker_start_bench", "mode_switch_bench", "learning_bench",
              "compare_server", "compare_connect_rate", "compare_rr_latency", "compare_probe",
              "iperf3", "iperf", "netperf", "netserver", "sockperf", "wrk", "ab", "stress-ng",
              "sysbench"}


class Refusal(RuntimeError):
    pass


def take_lock():
    """Holds the lock for as long as the returned file stays open."""
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    lock = open(LOCK_PATH, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise Refusal(f"another benchmark holds {LOCK_PATH} ({holder}): wait until it "
                      f"finishes; the figures would measure both")
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}: bench/compare/compare.py\n")
    lock.flush()
    return lock


def other_benchmarks():
    """'pid name' of every benchmark process but this one and its ancestors (sudo, ctest)."""
    mine = _ancestors(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue
        names = {os.path.basename(a.decode(errors="replace")) for a in argv[:2] if a}
        hit = names & BENCHMARKS
        if not hit and any(a.endswith(b"compare.py") for a in argv[:3]):
            hit = {"compare.py"}
        if hit:
            found.append(f"{entry} {sorted(hit)[0]}")
    return found


def _ancestors(pid):
    chain = set()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            with open(f"/proc/{pid}/status") as status:
                pid = next(int(l.split()[1]) for l in status if l.startswith("PPid:"))
        except (OSError, StopIteration, ValueError):
            break
    return chain


def remove_stale():
    """Removes what crashed comparisons left: their namespaces, flowwalld pins and temp
    dirs. Called while holding the lock, so no other comparison runs: every fwcmp name is
    stale. Returns what it removed."""
    removed = []
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if re.fullmatch(rf"{PREFIX}\d+-[\w-]+", name):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            removed.append(f"netns {name}")
    if os.path.isdir("/sys/fs/bpf"):
        for entry in os.listdir("/sys/fs/bpf"):
            if re.fullmatch(rf"{PREFIX}\d+-\d+", entry):
                shutil.rmtree(f"/sys/fs/bpf/{entry}", ignore_errors=True)
                removed.append(f"pins /sys/fs/bpf/{entry}")
    tmp = "/tmp"
    for entry in os.listdir(tmp):
        if re.fullmatch(rf"{PREFIX}\d+", entry):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)
            removed.append(f"dir {tmp}/{entry}")
    return removed


def wait_for_quiet(limit_s, note):
    """Between rounds: waits while another benchmark runs (one started after ours, which does
    not look at the lock); refuses after limit_s. Returns the seconds waited."""
    waited = 0.0
    while others := other_benchmarks():
        if waited >= limit_s:
            raise Refusal(f"another benchmark kept running for {waited:.0f} s (" +
                          ", ".join(others) + ")")
        if waited == 0:
            note(f"compare: waiting for {', '.join(others)} to end before the next round")
        time.sleep(5)
        waited += 5
    return waited
