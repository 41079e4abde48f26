#!/usr/bin/env python3
"""fcnrt vs its peer, kernel by kernel, as Markdown.

    python3 bench/compare_kernels.py FCNRT.json [PEER.json ...] [-o table.md]

FCNRT.json is bench_cpu_kernels' or bench_cuda_kernels' --benchmark_out JSON, PEER.json
bench/torch_kernels_peer.py's (one column pair per variant). Several files of the same
series (rounds of one run: fcnrt-1.json fcnrt-2.json ...) are pooled, any order. Per suite case: fcnrt's
rate (GFLOP/s for convolutions, GB/s for the rest), its share of the roof
(achieved / min(SGEMM rate, intensity * copy bandwidth), with the best roofs measured in
the runs given, as the Sources line shows them), each peer variant's rate and the ratio fcnrt/peer = peer time /
fcnrt time (> 1: fcnrt is faster). Then the geometric mean of the ratios per op family,
and fcnrt's dilation rows: GFLOP/s at dilation 2, 4, 8, 16 over dilation 1 at the same
shape (issue 3 asks for d16/d1 >= 0.70 on the GPU). Times are the medians of the
repetitions (the median aggregate when the file has only aggregates); several files of
the same series (rounds) are pooled, and fcnrt/peer is then the median of the per-round
ratios (see time_ratio).
"""
import argparse
import math
import os
import statistics
import re
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roofline import FAMILIES, family_of, load_all, suite_order  # noqa: E402

DILATION_TARGET = 0.70


def rate(r):
    if r is None or r.error or not r.seconds:
        return None
    if r.flop > 0:
        return "%s GFLOP/s" % num(r.gflops)
    return "%s GB/s" % num(r.gbs)


def num(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def share_of_roof(r, bw, peak):
    """Achieved (median) over attainable with the best roofs of all the files pooled,
    the roofs the Sources line shows; else the median of the share_of_roof counters."""
    if bw and peak:
        if r.flop > 0:
            return r.gflops / min(peak, r.flop / r.bytes * bw)
        return r.gbs / bw
    return r.get("share_of_roof")


def time_ratio(peer, fc):
    """peer time / fcnrt time. When both were measured in the same number (> 1) of
    separate processes (rounds), the median of the per-round ratios, round k of one
    paired with round k of the other in time order: on a machine whose speed drifts
    between runs this compares measurements taken minutes (interleaved: seconds)
    apart. Else the ratio of the pooled medians."""
    if fc is None or fc.error or not fc.seconds or not peer.seconds:
        return None
    if len(peer.runs) == len(fc.runs) > 1:
        return statistics.median(p[1] / f[1] for p, f in zip(peer.runs, fc.runs))
    return peer.seconds / fc.seconds


def geomean(vals):
    vals = [v for v in vals if v and v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def describe(series):
    ctx = series.context
    dev = ctx.get("cuda_device") or ctx.get("cpu_model") or ctx.get("host_name", "?")
    bw, peak = series.roofs()
    roofs = []
    if bw:
        roofs.append("copy %s GB/s" % num(bw))
    if peak:
        roofs.append("SGEMM %s GFLOP/s" % num(peak))
    fma = series.roof("roof/fma", "GFLOPS")
    if fma:
        roofs.append("FMA peak %s GFLOP/s" % num(fma))
    extra = ""
    if ctx.get("torch_version"):
        extra = ", torch %s" % ctx["torch_version"]
        if ctx.get("cudnn_version"):
            extra += ", cuDNN %s" % ctx["cudnn_version"]
        if ctx.get("device") == "cpu":
            extra += ", %s threads" % ctx.get("threads", "?")
    elif ctx.get("omp_threads"):
        extra = ", %s OpenMP threads" % ctx["omp_threads"]
    reps = {r.reps for r in series.suite().values() if r.reps}
    return "%s (%s%s; %s; %s; median of %s repetitions)" % (
        series.label, dev, extra, (ctx.get("date") or "")[:19], ", ".join(roofs) or "no roofs",
        "/".join(str(x) for x in sorted(reps)) or "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+",
                    help="fcnrt's Google Benchmark JSON and the peer's (torch_kernels_peer.py)")
    ap.add_argument("-o", "--out", default=None, help="also write the Markdown here")
    ap.add_argument("--per-round", action="store_true",
                    help="a column with each round's fcnrt/peer ratio (several rounds given)")
    args = ap.parse_args()

    series = load_all(args.json)
    fc = [s for s in series if not s.is_peer]
    if not fc:
        raise SystemExit("compare_kernels: no fcnrt results in %s" % " ".join(args.json))
    fc = fc[0]
    peers = [s for s in series if s.is_peer]

    lines = []
    w = lines.append
    w("Sources:")
    w("")
    w("- " + describe(fc))
    for s in peers:
        w("- " + describe(s))
    w("")
    rounds = {len(r.runs) for r in fc.suite().values() if r.runs}
    paired = (" (the median over the %s rounds of each round's ratio)" % "/".join(map(str, sorted(rounds)))
              if rounds and max(rounds) > 1 else "")
    w("Rates: GFLOP/s (2 * multiply-adds) for convolutions, GB/s (every tensor read or "
      "written once) for the rest: medians of all repetitions. share = fcnrt's share of the "
      "roof; FMA share = fcnrt's GFLOP/s over the machine's FMA peak (roof/fma: cores x clock "
      "x FMA lanes x 2, measured). fcnrt/peer = peer time / fcnrt time%s: > 1 means fcnrt is faster." % paired)
    w("")

    bw, peak = fc.roofs()
    fma_peak = fc.roof("roof/fma", "GFLOPS")
    cases = list(fc.suite().keys())
    for s in peers:
        for n in s.suite():
            if n not in cases:
                cases.append(n)
    order = suite_order(fc.context.get("kernel_suite"))
    cases.sort(key=lambda n: order.get(n, len(order)))
    head = ["case", "fcnrt", "share", "FMA share"]
    for s in peers:
        head += [s.label, "fcnrt/peer"] + (["per round"] if args.per_round else [])
    w("| " + " | ".join(head) + " |")
    w("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    ratios = OrderedDict((s.label, {}) for s in peers)  # label -> family -> [ratio]
    for name in cases:
        r = fc.results.get(name)
        row = [name.split("/", 1)[1]]
        if r is None:
            row += ["not run", "", ""]
        elif r.error:
            row += ["error: " + r.error, "", ""]
        else:
            share = share_of_roof(r, bw, peak)
            row += [rate(r), "%.0f%%" % (100 * share) if share is not None else "",
                    "%.0f%%" % (100 * r.gflops / fma_peak) if fma_peak and r.gflops else ""]
        for s in peers:
            p = s.results.get(name)
            extra = [""] if args.per_round else []
            if p is None:
                row += ["", ""] + extra
            elif p.error:
                row += ["n/a (%s)" % p.error, ""] + extra
            else:
                ratio = time_ratio(p, r)
                row += [rate(p), "%.2f" % ratio if ratio else ""]
                if args.per_round:
                    paired = (r is not None and not r.error and len(p.runs) == len(r.runs) > 1)
                    row.append(" / ".join("%.2f" % (a[1] / b[1]) for a, b in zip(p.runs, r.runs))
                               if paired else "")
                if ratio:
                    ratios[s.label].setdefault(family_of(name)[1], []).append(ratio)
        w("| " + " | ".join(row) + " |")

    if peers:
        w("")
        w("Geometric mean of fcnrt/peer by op family (cases):")
        w("")
        head = ["op family"] + [s.label for s in peers]
        w("| " + " | ".join(head) + " |")
        w("|" + "|".join(["---"] + ["---:"] * len(peers)) + "|")
        for _, label, _, _ in FAMILIES:
            if not any(label in ratios[s.label] for s in peers):
                continue
            row = [label]
            for s in peers:
                v = ratios[s.label].get(label, [])
                g = geomean(v)
                row.append("%.2f (%d)" % (g, len(v)) if g else "")
            w("| " + " | ".join(row) + " |")
        row = ["**all**"]
        for s in peers:
            v = [x for vs in ratios[s.label].values() for x in vs]
            g = geomean(v)
            faster = sum(1 for x in v if x > 1)
            row.append("**%.2f** (%d; fcnrt faster in %d)" % (g, len(v), faster) if g else "")
        w("| " + " | ".join(row) + " |")

    # dilation rows: conv3x3_..._d<N> against _d1 of the same shape
    groups = OrderedDict()
    for name, r in fc.suite().items():
        m = re.match(r"suite/(conv\dx\d.*)_d(\d+)$", name)
        if m and not r.error and r.seconds:
            groups.setdefault(m.group(1), {})[int(m.group(2))] = r
    rows = [(base, d) for base, d in groups.items() if 1 in d and len(d) > 1]
    if rows:
        is_gpu = "cuda" in fc.label
        w("")
        w("fcnrt's dilation penalty: GFLOP/s at dilation d over dilation 1, same shapes "
          "(pad = d). Issue 3: d16/d1 >= %.2f on the GPU." % DILATION_TARGET)
        w("")
        dils = sorted({k for _, d in rows for k in d if k != 1})
        head = ["shape", "d1 GFLOP/s"] + ["d%d/d1" % k for k in dils]
        if is_gpu and 16 in dils:
            head.append("d16/d1 >= %.2f" % DILATION_TARGET)
        w("| " + " | ".join(head) + " |")
        w("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for base, d in rows:
            row = [base, num(d[1].gflops)]
            # same FLOPs: the GFLOP/s ratio is the time ratio d1 / dk, paired by round
            ratio = {k: time_ratio(d[1], d[k]) for k in dils if k in d}
            for k in dils:
                row.append("%.2f" % ratio[k] if k in ratio else "")
            if is_gpu and 16 in dils:
                row.append(("yes" if ratio[16] >= DILATION_TARGET else "**no**")
                           if 16 in ratio else "")
            w("| " + " | ".join(row) + " |")

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
