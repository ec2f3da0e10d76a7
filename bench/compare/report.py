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
    # Changes repeat within a round: these read a list, and the spread is over every try.
    ("change_effect_ms", lambda s: [c["effect_ms"] for c in s.get("change", [])], False),
    ("change_command_ms", lambda s: [c["command_ms"] for c in s.get("change", [])], False),
    ("change_api_effect_ms", lambda s: [c["effect_ms"] for c in s.get("change_api", [])],
     False),
]


def spread(values):
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    values = [v for v in flat if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": len(values)}


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
    """Three panels against N, one line per contender (median; bars: min to max over the
    rounds): connections/s, the same as a ratio to the round's baseline, and CPU per
    connection as a ratio (the figure least moved by how much CPU the run got). Needs
    gnuplot; returns an error text or None."""
    blocks, names = [], []
    for contender in labels:
        rows = [e for e in summary if e["contender"] == contender]
        if not rows:
            continue
        names.append(labels[contender])
        block = []
        for e in rows:
            rate = e["connections_per_second"]
            columns = [e["n"], rate["median"], rate["min"], rate["max"]]
            for figure in (rate, e["cpu_us_per_connection"]):
                ratio = figure.get("ratio") or {"median": 1, "min": 1, "max": 1}
                columns += [ratio["median"], ratio["min"], ratio["max"]]
            block.append(" ".join(str(c) for c in columns))
        blocks.append("\n".join(block))
    data = os.path.join(os.path.dirname(path) or ".", ".compare-chart.dat")
    with open(data, "w") as out:
        out.write("\n\n\n".join(blocks) + "\n")

    def lines(columns, titled):
        return ", ".join(
            f"'{data}' index {index} using {columns} with yerrorlines lw 2 pt {5 + index} "
            f"ps 0.8 " + (f"title '{name}'" if titled else "notitle")
            for index, name in enumerate(names))

    script = f"""
set terminal pngcairo size 1500,480 font 'sans,10' background '#ffffff'
set output '{path}'
set multiplot layout 1,3 title '{title}'
set logscale x
set xrange [5:200000]
set xtics ('10' 10, '1,000' 1000, '10,000' 10000, '100,000' 100000)
set xlabel 'allowed flows (N)'
set grid
set key bottom left
set logscale y
set ylabel 'new connections/s'
plot {lines("1:2:3:4", True)}
unset logscale y
set yrange [0:1.3<*]
set ylabel 'connections/s, x baseline of the same round'
plot {lines("1:5:6:7", False)}, 0.95 with lines dt 2 lc rgb '#888888' title '0.95x'
set logscale y
set yrange [0.8:*]
set ylabel 'CPU per connection, x baseline of the same round'
plot {lines("1:8:9:10", False)}, 1 with lines dt 2 lc rgb '#888888' notitle
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
