"""bench/report.py: bench/results/report.md with PNG plots, from the newest result file of each
benchmark (`make bench` runs it last; it runs on its own too: `bench/report.sh`).

Plots (matplotlib, Debian's python3-matplotlib; bench/report.sh installs it when missing):
  throughput.png  calls/s of each server against its peer, pipelined and sequential, unpinned
                  (the headline: how AI clients launch servers) and pinned, from bench/stdio and
                  bench/python (the same run holds each server and its peer);
  latency_sequential.png, latency_pipelined.png
                  the latency distribution of each server (percentile against microseconds) in
                  the round with the median p50, unpinned and pinned;
  scaling.png     CPU-bound Python tools: speed-up of the worker configurations against one
                  worker (bench/gil);
  coldstart.png   spawn to the first answered tools/call (bench/stdio, bench/python) and to the
                  tools/list reply (bench/python/coldstart.sh).
The PNGs go to bench/results/ (git-ignored) and to docs/bench/ (committed: README.md shows them).
Nothing here measures; a missing result file leaves its plot out and says so.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "bench", "results")
DOCS = os.path.join(ROOT, "docs", "bench")
COLORS = {"fasterapi-c": "#1f77b4", "fasterapi-py": "#2ca02c", "ts-sdk": "#d62728"}
NAMES = {"fasterapi-c": "FasterAPI C echo", "fasterapi-py": "FasterAPI Python echo",
         "ts-sdk": "TypeScript SDK"}
LAYOUT_NAMES = {"none": "unpinned", "same": "pinned (one vCPU)", "split": "split"}


def newest(prefix: str):
    files = sorted(f for f in glob.glob(os.path.join(RESULTS, prefix + "-*.json"))
                   if os.path.basename(f)[len(prefix) + 1:][:1].isdigit())
    if not files:
        return None, None
    with open(files[-1]) as f:
        return json.load(f), os.path.relpath(files[-1], ROOT)


def fmt(v, f):
    return "-" if v is None else f % v


def save(fig, name: str, made: list) -> None:
    fig.tight_layout()
    path = os.path.join(RESULTS, name)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    os.makedirs(DOCS, exist_ok=True)
    shutil.copyfile(path, os.path.join(DOCS, name))
    made.append(name)


def throughput_plot(suites: list, made: list) -> None:
    """Grouped bars: for each layout and phase, each server's median calls/s."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, phase, key in ((axes[0], "pipelined", "pipelined_calls_per_s"),
                           (axes[1], "sequential", "sequential_calls_per_s")):
        groups, x = [], 0
        for data in suites:
            for layout in data["meta"]["layouts"]:
                md = data["medians"][layout]
                servers = [s for s in ("fasterapi-c", "fasterapi-py", "ts-sdk") if s in md]
                for i, s in enumerate(servers):
                    v = md[s][key] or 0
                    ax.bar(x + i, v / 1000, color=COLORS[s], label=NAMES[s])
                    ax.text(x + i, v / 1000, "%.0fk" % (v / 1000), ha="center", va="bottom", fontsize=7)
                groups.append((x + (len(servers) - 1) / 2,
                               "%s\n%s" % ("C suite" if data.get("suite") == "c" else "Python suite",
                                           LAYOUT_NAMES.get(layout, layout))))
                x += len(servers) + 1
        ax.set_xticks([g[0] for g in groups], [g[1] for g in groups], fontsize=8)
        ax.set_ylabel("thousand calls/s (median)")
        ax.set_title("%s echo tools/call on stdio" % phase)
        h, l = ax.get_legend_handles_labels()
        uniq = dict(zip(l, h))
        ax.legend(uniq.values(), uniq.keys(), fontsize=8)
    save(fig, "throughput.png", made)


def median_run(runs: list, server: str, phase: str, layout: str):
    rows = [r for r in runs if r["server"] == server and r["phase"] == phase
            and r.get("layout", "none") == layout and r["valid"] and r.get("lat_pcts_us")]
    if not rows:
        return None
    rows.sort(key=lambda r: r["lat_p50_us"])
    return rows[len(rows) // 2]


def latency_plot(suites: list, phase: str, made: list) -> None:
    layouts = [lay for lay in ("none", "same") if any(lay in d["meta"]["layouts"] for d in suites)]
    fig, axes = plt.subplots(1, len(layouts), figsize=(5.5 * len(layouts), 4.2), squeeze=False)
    for ax, layout in zip(axes[0], layouts):
        seen = set()
        for data in suites:
            for s in ("fasterapi-c", "fasterapi-py", "ts-sdk"):
                if s in seen:
                    continue
                r = median_run(data["runs"], s, phase, layout)
                if not r:
                    continue
                seen.add(s)
                p = sorted((float(k), v) for k, v in r["lat_pcts_us"].items())
                ticks = ["%g" % k if k < 100 else "max" for k, _ in p]
                ax.plot(range(len(p)), [v for _, v in p], marker="o", ms=3, color=COLORS[s],
                        label="%s (p50 %.1f us)" % (NAMES[s], r["lat_p50_us"]))
                ax.set_xticks(range(len(p)), ticks, fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel("percentile (not to scale)")
        ax.set_ylabel("latency, us (log)")
        ax.set_title("%s latency, %s" % (phase, LAYOUT_NAMES.get(layout, layout)))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, "latency_%s.png" % phase, made)


def scaling_plot(gil: dict, made: list) -> None:
    med = gil["medians"]
    order = [k for k in ("x1", "own-gil x2", "shared-gil x2") if k in med]
    order += [k for k in med if k not in order]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    vals = [med[k]["speedup"] or 0 for k in order]
    colors = ["#7f7f7f" if k == "x1" else "#d62728" if "shared" in k else "#2ca02c" for k in order]
    ax.bar(range(len(order)), vals, color=colors)
    for i, v in enumerate(vals):
        ax.text(i, v, "%.2fx" % v, ha="center", va="bottom")
    ax.set_xticks(range(len(order)), ["1 worker" if k == "x1" else k.replace("x2", "2 workers")
                                      for k in order])
    ax.set_ylabel("speed-up against 1 worker")
    ax.set_title("CPU-bound Python tool, 8 calls at once")
    ax.axhline(1.0, color="black", lw=0.8)
    save(fig, "scaling.png", made)


def coldstart_plot(suites: list, cold: dict, made: list) -> None:
    labels, vals, colors = [], [], []
    for data in suites:
        run = "C suite" if data.get("suite") == "c" else "Python suite"
        for s, c in (data.get("coldstart") or {}).items():
            if c.get("first_call_ms") is None:
                continue
            labels.append("%s (%s)" % (NAMES.get(s, s), run))
            vals.append(c["first_call_ms"])
            colors.append(COLORS.get(s, "#7f7f7f"))
    if not labels:
        return
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(labels) + 1.6))
    ax.barh(range(len(labels)), vals, color=colors)
    for i, v in enumerate(vals):
        ax.text(v, i, " %.0f ms" % v, va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("ms, spawn to the first answered tools/call (median, unpinned)")
    ax.axvline(120, color="black", ls="--", lw=0.8)
    ax.set_title("cold start, each server with its same-run peer (dashed: 120 ms)", fontsize=10)
    ax.invert_yaxis()
    save(fig, "coldstart.png", made)


def main() -> None:
    os.makedirs(RESULTS, exist_ok=True)
    stdio, f_stdio = newest("stdio")
    py, f_py = newest("python-stdio")
    cold, f_cold = newest("coldstart")
    gil, f_gil = newest("gil")
    suites = [d for d in (stdio, py) if d and "layouts" in d.get("meta", {})]
    made: list = []
    if suites:
        throughput_plot(suites, made)
        latency_plot(suites, "sequential", made)
        latency_plot(suites, "pipelined", made)
        coldstart_plot(suites, cold or {}, made)
    if gil:
        scaling_plot(gil, made)

    out = ["# Benchmark report", "",
           "Written by `bench/report.py` from the newest result of each benchmark; every figure "
           "is a median over rounds, each server measured in the same run as its peer. "
           "Unpinned rows are the headline (how an AI client launches a server); pinned rows put "
           "client and server on one vCPU. See bench/README.md for the methods.", ""]
    for name, data, path in (("bench/stdio: C echo vs TS SDK", stdio, f_stdio),
                             ("bench/python: Python echo vs TS SDK", py, f_py)):
        if not data or "layouts" not in data.get("meta", {}):
            out += ["## %s" % name, "", "(no result with both layouts yet: run it)", ""]
            continue
        out += ["## %s" % name, "", "`%s`, commit %s, load before %s" % (
            path, data["meta"].get("code", {}).get("commit", "?"), data["meta"].get("loadavg_before")), ""]
        servers = [s for s in ("fasterapi-c", "fasterapi-py", "ts-sdk") if s in data["medians"][data["meta"]["layouts"][0]]]
        out.append("| | " + " | ".join("%s %s" % (NAMES[s], LAYOUT_NAMES.get(lay, lay))
                                        for lay in data["meta"]["layouts"] for s in servers) + " |")
        out.append("|---" * (1 + len(servers) * len(data["meta"]["layouts"])) + "|")
        for label, key, f in (("pipelined calls/s", "pipelined_calls_per_s", "%.0f"),
                              ("sequential calls/s", "sequential_calls_per_s", "%.0f"),
                              ("sequential p50 us", "seq_p50_us", "%.1f"),
                              ("sequential p99 us", "seq_p99_us", "%.1f"),
                              ("server CPU us/call, pipelined", "pipe_server_cpu_us_per_call", "%.2f"),
                              ("peak RSS MB", "peak_rss_mb", "%.1f")):
            out.append("| %s | " % label + " | ".join(
                fmt(data["medians"][lay][s][key], f) for lay in data["meta"]["layouts"] for s in servers) + " |")
        c = data.get("coldstart") or {}
        if c:
            out += ["", "Cold start, spawn to the first answered tools/call (unpinned, median ms): " +
                    ", ".join("%s %s" % (NAMES.get(s, s), fmt(v["first_call_ms"], "%.0f")) for s, v in c.items())]
        out.append("")
    if cold:
        out += ["## bench/python/coldstart.sh", "", "`%s`" % f_cold, "",
                "| server | tools/list ms | first call ms | idle RSS MB |", "|---|---|---|---|"]
        for s, m in cold["medians"].items():
            out.append("| %s | %s | %s | %s |" % (s, fmt(m.get("ready_ms"), "%.0f"),
                                                 fmt(m.get("first_call_ms"), "%.0f"), fmt(m.get("rss_mb"), "%.1f")))
        out.append("")
    if gil:
        out += ["## bench/gil: CPU-bound Python tools", "", "`%s`" % f_gil, "",
                "| configuration | wall ms | speed-up vs 1 worker |", "|---|---|---|"]
        for k, m in gil["medians"].items():
            out.append("| %s | %s | %s |" % (k, fmt((m.get("wall_s") or 0) * 1e3, "%.0f"), fmt(m.get("speedup"), "%.2fx")))
        out.append("")
    out += ["## Plots", ""]
    for name in made:
        out += ["![%s](%s)" % (name[:-4], name), ""]
    if not made:
        out.append("(no plots: no results yet)")
    with open(os.path.join(RESULTS, "report.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("bench/report: wrote bench/results/report.md and %d plot(s) (copied to docs/bench/): %s" % (
        len(made), ", ".join(made)))
    missing = [n for n, d in (("stdio", stdio), ("python-stdio", py), ("coldstart", cold), ("gil", gil)) if not d]
    if missing:
        print("bench/report: no result yet for %s" % ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    main()
