# SPDX-License-Identifier: Apache-2.0
"""Commands the comparison runs: one-shot ones (run), and background ones it must stop again
whatever happens (Processes keeps every one it started until it is stopped)."""

import os
import select
import signal
import subprocess
import time


class CommandError(RuntimeError):
    pass


def run(argv, stdin=None, timeout=600, check=True):
    """Runs argv to its end; on failure raises CommandError with the command and its stderr."""
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CommandError(f"{' '.join(argv[:8])} did not finish within {timeout} s")
    if check and result.returncode != 0:
        raise CommandError(f"{' '.join(argv[:8])} failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-2000:]}")
    return result


def timed_run(argv, stdin=None, timeout=600):
    """run(), and the wall time it took in seconds."""
    started = time.monotonic()
    result = run(argv, stdin=stdin, timeout=timeout)
    return time.monotonic() - started, result


def cpu_seconds(pid):
    """utime + stime of every thread of pid, from /proc (clock ticks: 10 ms resolution)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Processes:
    def __init__(self):
        self.running = []

    def start(self, argv, ready_line=None, timeout=10.0, stdin=subprocess.DEVNULL):
        """Starts argv; with ready_line, waits until it prints a line containing it.
        stdin=subprocess.PIPE gives the caller process.stdin to write to."""
        # Unbuffered bytes: wait_line() reads what is there without blocking on a full line.
        process = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, bufsize=0)
        process.unread = b""  # read by wait_line() after the line it waited for
        self.running.append(process)
        if ready_line is not None:
            self.wait_line(process, ready_line, timeout)
        return process

    def wait_line(self, process, wanted, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = process.unread.split(b"\n")
            for index, line in enumerate(lines[:-1]):
                if wanted.encode() in line:
                    process.unread = b"\n".join(lines[index + 1:])
                    return
            ready, _, _ = select.select([process.stdout], [], [], 0.05)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if chunk:
                    process.unread += chunk
                    continue
            if process.poll() is not None:
                break
        seen = process.unread.decode(errors="replace")[-500:]
        if process.poll() is None:
            process.kill()
            process.wait()
        err = process.stderr.read().decode(errors="replace")[-1500:]
        self.stop(process)
        raise CommandError(f"{' '.join(process.args[:8])} did not say \"{wanted}\" within "
                           f"{timeout} s (exit {process.returncode}): {seen} {err}")

    def stop(self, process, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.running:
            self.running.remove(process)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream:
                stream.close()
        return process.returncode

    def finish(self, process, timeout):
        """Waits for a process that ends by itself; returns (exit code, stdout, stderr)."""
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise CommandError(f"{' '.join(process.args[:8])} did not finish within {timeout} s")
        if process in self.running:
            self.running.remove(process)
        out = getattr(process, "unread", b"") + (out or b"")
        return process.returncode, out.decode(errors="replace"), (err or b"").decode(
            errors="replace")

    def stop_all(self):
        for process in list(self.running):
            self.stop(process)
