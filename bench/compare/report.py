# SPDX-License-Identifier: Apache-2.0
"""From samples to what a reader sees: medians with their spread over the rounds, each figure
also as a ratio to the baseline of the same round, a Markdown table and a gnuplot chart."""

import os
import statistics
import subprocess

# (key in the summary, how to read it from a sample, compared with the baseline?)
METRICS = [
    ("connections_per_second", lambda s: s["connect"]["per_second"], True),
    ("cpu_us_per_connection", lambda s: s["connect"]["cpu_us_per_connection"], True),
    ("latency_p50_us", lambda s: s["latency"]["p50_us"], True),
    ("latency_p99_us", lambda s: s["latency"]["p99_us"], True),
    ("throughput_gbit", lambda s: s["throughput"]["gbit_per_second"], True),
    ("load_s", lambda s: s["load"]["seconds"] if s["load"]["seconds"] else None, False),
    ("change_effect_ms", lambda s: s["change"]["effect_ms"] if s.get("change") else None,
     False),
    ("change_command_ms", lambda s: s["change"]["command_ms"] if s.get("change") else None,
     False),
    ("change_api_effect_ms",
     lambda s: s["change_api"]["effect_ms"] if s.get("change_api") else None, False),
]


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "rounds": len(values)}


def summarize(samples, contenders, sizes):
    baseline = {(s["n"], s["round"]): s for s in samples if s["contender"] == "baseline"}
    summary = []
    for n in sizes:
        for contender in contenders:
            mine = [s for s in samples if s["contender"] == contender and s["n"] == n]
            if not mine:
                continue
            entry = {"contender": contender, "n": n,
                     "connection_errors": sum(s["connect"]["failed"] + s["connect"]["timed_out"]
                                              for s in mine)}
            for key, read, relative in METRICS:
                entry[key] = spread([read(s) for s in mine])
                if relative and entry[key] is not None:
                    ratios = []
                    for s in mine:
                        base = baseline.get((n, s["round"]))
                        if base and read(base):
                            ratios.append(read(s) / read(base))
                    entry[key]["ratio"] = spread(ratios)
            summary.append(entry)
    return summary


def _number(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _with_ratio(figure, digits=0, show_ratio=True, spread=True):
    if figure is None:
        return "–"
    text = _number(figure["median"], digits)
    ratio = figure.get("ratio")
    if show_ratio and ratio:
        text += (f" ({ratio['median']:.2f}×, {ratio['min']:.2f}–{ratio['max']:.2f})" if spread
                 else f" ({ratio['median']:.2f}×)")
    return text


def _plain(figure, digits):
    if figure is None:
        return "–"
    return (f"{_number(figure['median'], digits)} "
            f"({_number(figure['min'], digits)}–{_number(figure['max'], digits)})")


def markdown(summary, labels):
    lines = [
        "| N | contender | connections/s (× baseline, spread) | CPU µs/conn (×) | p50 µs | "
        "p99 µs (× baseline, spread) | Gbit/s (× baseline) | load s | change ms (command ms) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    errors = False
    for entry in summary:
        baseline = entry["contender"] == "baseline"
        rate = _with_ratio(entry["connections_per_second"], 0, not baseline)
        if entry.get("connection_errors"):
            rate += f" ({entry['connection_errors']} failed*)"
            errors = True
        change = entry["change_effect_ms"]
        command = entry["change_command_ms"]
        change_text = "–" if change is None else (
            f"{_plain(change, 1)} ({_number(command['median'], 1)})")
        if entry["change_api_effect_ms"] is not None:
            change_text += f"; API {_plain(entry['change_api_effect_ms'], 1)}"
        lines.append(
            f"| {entry['n']:,} | {labels[entry['contender']]} "
            f"| {rate} "
            f"| {_with_ratio(entry['cpu_us_per_connection'], 1, not baseline, spread=False)} "
            f"| {_number(entry['latency_p50_us']['median'], 1)} "
            f"| {_with_ratio(entry['latency_p99_us'], 1, not baseline)} "
            f"| {_with_ratio(entry['throughput_gbit'], 1, not baseline)} "
            f"| {'–' if entry['load_s'] is None else _plain(entry['load_s'], 3)} "
            f"| {change_text} |")
    if errors:
        lines.append("\n\\* connections refused, reset or unanswered within 1 s during the "
                     "measure, over all rounds (compare.json has them by round).")
    return "\n".join(lines) + "\n"


def chart(summary, labels, path, title):
    """Connections/s against N per contender (median, bars from min to max), and the same as
    a ratio to the round's baseline. Needs gnuplot; returns an error text or None."""
    data_dir = os.path.dirname(path) or "."
    blocks, names = [], []
    for contender in labels:
        rows = [e for e in summary if e["contender"] == contender]
        if not rows:
            continue
        names.append(labels[contender])
        block = []
        for e in rows:
            f = e["connections_per_second"]
            r = f.get("ratio") or {"median": 1, "min": 1, "max": 1}
            block.append(f"{e['n']} {f['median']} {f['min']} {f['max']} "
                         f"{r['median']} {r['min']} {r['max']}")
        blocks.append("\n".join(block))
    data = os.path.join(data_dir, ".compare-chart.dat")
    with open(data, "w") as out:
        out.write("\n\n\n".join(blocks) + "\n")
    plots_abs, plots_ratio = [], []
    for index, name in enumerate(names):
        style = f"lw 2 pt {5 + index} ps 0.8"
        plots_abs.append(f"'{data}' index {index} using 1:2:3:4 with yerrorlines {style} "
                         f"title '{name}'")
        plots_ratio.append(f"'{data}' index {index} using 1:5:6:7 with yerrorlines {style} "
                           f"notitle")
    script = f"""
set terminal pngcairo size 1200,500 font 'sans,11' background '#ffffff'
set output '{path}'
set multiplot layout 1,2 title '{title}'
set logscale x
set xrange [5:200000]
set xtics ('10' 10, '1,000' 1000, '10,000' 10000, '100,000' 100000)
set xlabel 'allowed flows (N)'
set grid
set key bottom left
set logscale y
set ylabel 'new connections/s (median, min-max)'
plot {', '.join(plots_abs)}
unset logscale y
set yrange [0:1.3<*]
set ylabel 'x no-firewall baseline, same round'
plot {', '.join(plots_ratio)}, 0.95 with lines dt 2 lc rgb '#888888' title '0.95x'
unset multiplot
"""
    try:
        result = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True,
                                timeout=60)
    except OSError as error:
        return f"gnuplot did not run: {error}"
    finally:
        os.remove(data)
    return None if result.returncode == 0 else f"gnuplot failed: {result.stderr.strip()}"
