#!/usr/bin/env python3
"""Roofline picture of the kernel suite from Google Benchmark JSON files.

    python3 bench/roofline.py FCNRT.json [PEER.json ...] -o roofline.svg [--png roofline.png]

Reads --benchmark_out JSON files: fcnrt's (bench_cpu_kernels / bench_cuda_kernels)
and, optionally, the PyTorch peer's (bench/torch_kernels_peer.py, one series per
"variant"). Writes an SVG (Python's standard library only) and, when PIL is
importable, a PNG drawn from the same primitives (DejaVu Sans when found).

What is drawn (log-log):
- x = arithmetic intensity = flop / bytes per call (the "flop" and "bytes" counters:
  2 * multiply-adds; every tensor read or written once); y = achieved GFLOP/s.
- The roofs of the FIRST file that has roof/ entries (fcnrt's, measured in the same
  run): the copy bandwidth B (roof/copy*, GB/s read + written) as the diagonal
  y = B * x and the SGEMM rate P (roof/sgemm*, strict float32) as the flat line; they
  meet at the ridge x = P / B. The best repetition of each is used, as the
  benchmarks' own share_of_roof does.
- One marker per suite case and series: colour = op family, shape = series (fcnrt
  filled, each peer variant hollow). Peer TF32 variants may sit above the SGEMM roof,
  which is strict float32. The first peer's own roofs are drawn dashed.
- Ops that do no multiply-adds (pools, concat, softmax, resize: flop = 0) have no
  intensity on this axis. They are drawn in the shaded band at the far left, each
  case at its own x (spread evenly, in suite order, so none hide each other) and at
  y = achieved GB/s * x: a point on the diagonal reaches the copy roof, and its
  distance below the diagonal is its share of the copy bandwidth (the same factor
  as share_of_roof). Read them against the diagonal, not against the y axis.

Repetitions: the median over the repetitions (iteration entries; the median aggregate
when the file has only aggregates); files of the same series (rounds of one run) are
pooled. Names: "suite/<case>" (Google Benchmark's option and timer suffixes such as
"/real_time", and the peer's "/<variant>", are stripped).
"""
import argparse
import importlib.util
import json
import math
import os
import re
import statistics
from collections import OrderedDict

# ---- reading results (compare_kernels.py imports these) ----

# Google Benchmark's name suffixes: per-benchmark options, then the timer.
SUFFIX = re.compile(r"(/(min_time|min_warmup_time|iterations|repeats|threads):[0-9.]+)*"
                    r"(/(real_time|manual_time|process_time))?$")


def base_name(entry):
    """'suite/<case>' or 'roof/<name>' of one entry, without timer or variant suffixes."""
    if entry.get("case"):
        return entry["case"]
    name = entry.get("run_name") or entry["name"]
    return SUFFIX.sub("", name)


class Result:
    """The median of one benchmark's repetitions."""

    def __init__(self, name, seconds, counters, error=None, reps=0, best=None):
        self.name = name
        self.seconds = seconds  # per call
        self.counters = counters  # GFLOPS, GB/s, flop, bytes, share_of_roof (medians)
        self.error = error
        self.reps = reps
        self.best = best or {}  # best repetition's counters (roofs)
        self.runs = []  # [(start, median seconds per call)] of each file (process), by start

    def get(self, key, default=None):
        return self.counters.get(key, default)

    @property
    def flop(self):
        return self.counters.get("flop", 0.0) or 0.0

    @property
    def bytes(self):
        return self.counters.get("bytes", 0.0) or 0.0

    @property
    def gflops(self):
        return self.flop / self.seconds / 1e9 if self.seconds and self.flop else None

    @property
    def gbs(self):
        return self.bytes / self.seconds / 1e9 if self.seconds and self.bytes else None


class Series:
    """One source of results: fcnrt, or one peer variant."""

    def __init__(self, label, context, path):
        self.label = label
        self.context = context
        self.path = path
        self.results = OrderedDict()  # base name -> Result
        self.is_peer = False

    def roof(self, prefix, counter):
        """Best value of `counter` over entries named prefix* (e.g. roof/copy, GB/s)."""
        vals = [r.best.get(counter) or r.get(counter) for n, r in self.results.items()
                if n.startswith(prefix) and not r.error]
        vals = [v for v in vals if v]
        return max(vals) if vals else None

    def roofs(self):
        bw = self.roof("roof/copy", "GB/s")
        # the strict-float32 product: fcnrt's roof/sgemm_*, the peer's roof/mm_torch_fp32
        peak = self.roof("roof/sgemm", "GFLOPS") or self.roof("roof/mm_torch_fp32", "GFLOPS")
        return bw, peak

    def suite(self):
        """The suite/ results, in the suite file's order when it can be read."""
        order = suite_order(self.context.get("kernel_suite"))
        names = sorted((n for n in self.results if n.startswith("suite/")),
                       key=lambda n: order.get(n, len(order)))
        return OrderedDict((n, self.results[n]) for n in names)


TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
COUNTER_KEYS = ("GFLOPS", "GB/s", "flop", "bytes", "share_of_roof")


def load_raw(path):
    """One JSON file's entries: [(label, is_peer, context, {base name: [entries]})], one
    item for fcnrt's file, one per variant for the peer's, in file order."""
    with open(path) as f:
        doc = json.load(f)
    context = doc.get("context", {})
    groups = OrderedDict()  # (variant, base) -> list of entries
    for e in doc.get("benchmarks", []):
        variant = e.get("variant") or ""
        groups.setdefault((variant, base_name(e)), []).append(e)
    is_peer = context.get("peer") is not None
    out = OrderedDict()
    for (variant, name), es in groups.items():
        if variant == "torch" and name.startswith("roof/"):
            # the peer's own roofs belong to each of its variants
            targets = list(OrderedDict.fromkeys(v for (v, _) in groups if v and v != "torch"))
            targets = targets or ["torch"]
        else:
            targets = [variant]
        for v in targets:
            label = v if is_peer else "fcnrt " + ("cuda" if "cuda_device" in context or
                                                  "cuda_kernels" in context.get("executable", "")
                                                  else "cpu")
            item = out.setdefault(v, (label, is_peer, context, OrderedDict()))
            item[3].setdefault(name, []).extend(es)
    return list(out.values())


def reduce_entries(name, es):
    errors = [e for e in es if e.get("error_occurred")]
    iters = [e for e in es if e.get("run_type", "iteration") == "iteration" and
             not e.get("error_occurred")]
    aggs = {e.get("aggregate_name"): e for e in es if e.get("run_type") == "aggregate"}
    if not iters and not aggs:
        msg = errors[0].get("error_message", "error") if errors else "no result"
        return Result(name, None, {}, error=msg)

    def secs(e):
        return e["real_time"] * TIME_UNITS.get(e.get("time_unit", "ns"), 1e-9)

    best = {}
    for key in COUNTER_KEYS:
        vals = [e[key] for e in iters if key in e]
        if vals:
            best[key] = max(vals)
    if not iters:  # --benchmark_report_aggregates_only: the median aggregate
        m = aggs.get("median") or aggs.get("mean")
        counters = {k: m[k] for k in COUNTER_KEYS if k in m}
        return Result(name, secs(m), counters, reps=m.get("repetitions", 0), best=counters)
    seconds = statistics.median(secs(e) for e in iters)
    counters = {}
    for key in COUNTER_KEYS:
        vals = [e[key] for e in iters if key in e]
        if vals:
            counters[key] = statistics.median(vals)
    return Result(name, seconds, counters, reps=len(iters), best=best)


def load_all(paths):
    """Series of several files. Files that hold the same series (rounds of one run)
    are pooled: a benchmark's result is the median over all their repetitions."""
    merged = OrderedDict()  # label -> (is_peer, context, first path, {name: [entries]})
    for p in paths:
        for label, is_peer, context, groups in load_raw(p):
            start = context.get("date", "")
            item = merged.setdefault(label, (is_peer, context, p, OrderedDict()))
            if start and start < item[1].get("date", start):  # the earliest file's context
                item = merged[label] = (is_peer, context, p, item[3])
            for name, es in groups.items():
                # remember which process each entry came from (paired ratios)
                item[3].setdefault(name, []).extend(dict(e, _start=start, _file=p) for e in es)
    # A peer file run for its roofs alone (run_kernel_suite.sh INTERLEAVE=1) has the
    # series "torch" only: its roofs belong to every peer variant of the other files.
    if "torch" in merged and any(v[0] and k != "torch" for k, v in merged.items()):
        roofs = merged.pop("torch")[3]
        for label, item in merged.items():
            if item[0]:
                for name, es in roofs.items():
                    item[3].setdefault(name, []).extend(es)
    out = []
    for label, (is_peer, context, path, groups) in merged.items():
        s = Series(label, context, path)
        s.is_peer = is_peer
        for name, es in groups.items():
            r = reduce_entries(name, es)
            files = OrderedDict()
            for e in es:
                files.setdefault((e["_start"], e["_file"]), []).append(e)
            for (start, _), fes in sorted(files.items()):
                one = reduce_entries(name, fes)
                if one.seconds and not one.error:
                    r.runs.append((start, one.seconds))
            s.results[name] = r
        out.append(s)
    return out


def load_series(path):
    return load_all([path])


def suite_order(path):
    """{"suite/<case>": index} in the suite file's order, when the file is readable."""
    try:
        with open(path) as f:
            return {"suite/" + c["name"]: i for i, c in enumerate(json.load(f)["cases"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


# ---- op families ----

FAMILIES = [
    # key, label, colour, match on the case name
    ("conv3x3", "conv 3x3, dilation 1", "#1f77b4", r"^conv3x3_c\d+_k\d+_\d+px_d1$"),
    ("dilated", "conv 3x3, dilation 2-16", "#17becf", r"^conv3x3_c\d+_k\d+_\d+px_d(2|4|8|16)$"),
    ("conv_other", "conv other (1x1, stride 2, 3 ch in)", "#9467bd", r"^conv"),
    ("convT", "conv_transpose stride 2", "#ff7f0e", r"^convT"),
    ("maxpool", "max_pool", "#2ca02c", r"^maxpool"),
    ("avgpool", "avg_pool", "#8c564b", r"^avgpool"),
    ("concat", "concat", "#7f7f7f", r"^concat"),
    ("softmax", "softmax", "#d62728", r"^softmax"),
    ("resize", "resize x2", "#e377c2", r"^resize"),
]


def family_of(case):
    short = case.split("/", 1)[-1]
    short = re.sub(r"^convT", "convT", short)
    for key, label, colour, pattern in FAMILIES:
        if key == "conv_other" and short.startswith("convT"):
            continue
        if re.search(pattern, short):
            return key, label, colour
    return "other", "other", "#bcbd22"


def short_label(case):
    """'64@256' style label for a conv point."""
    short = case.split("/", 1)[-1]
    m = re.match(r"conv3x3_c(\d+)_k\d+_(\d+)px_d(\d+)$", short)
    if m:
        c, h, d = m.groups()
        return "%s@%s" % (c, h) + ("" if d == "1" else " d" + d)
    return None


# ---- drawing: one list of primitives, two back ends ----


class Canvas:
    def __init__(self, width, height):
        self.w, self.h = width, height
        self.items = []

    def line(self, pts, colour="#000", width=1.0, dash=None):
        self.items.append(("line", pts, colour, width, dash))

    def rect(self, x, y, w, h, fill=None, stroke=None):
        self.items.append(("rect", x, y, w, h, fill, stroke))

    def text(self, x, y, s, size=12, colour="#000", anchor="start", rotate=0, bold=False):
        self.items.append(("text", x, y, s, size, colour, anchor, rotate, bold))

    def marker(self, shape, x, y, r, colour, filled):
        self.items.append(("marker", shape, x, y, r, colour, filled))

    # -- SVG --
    def svg(self):
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif">'
               % (self.w, self.h, self.w, self.h),
               '<rect width="100%" height="100%" fill="#ffffff"/>']
        for it in self.items:
            kind = it[0]
            if kind == "line":
                _, pts, colour, width, dash = it
                d = " ".join("%.1f,%.1f" % p for p in pts)
                extra = ' stroke-dasharray="%s"' % ",".join(map(str, dash)) if dash else ""
                out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="%.1f"%s/>'
                           % (d, colour, width, extra))
            elif kind == "rect":
                _, x, y, w, h, fill, stroke = it
                out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s"/>'
                           % (x, y, w, h, fill or "none", stroke or "none"))
            elif kind == "text":
                _, x, y, s, size, colour, anchor, rotate, bold = it
                a = {"start": "start", "middle": "middle", "end": "end"}[anchor]
                tr = ' transform="rotate(%d %.1f %.1f)"' % (rotate, x, y) if rotate else ""
                wt = ' font-weight="bold"' if bold else ""
                out.append('<text x="%.1f" y="%.1f" font-size="%d" fill="%s" text-anchor="%s" '
                           'dominant-baseline="central"%s%s>%s</text>'
                           % (x, y, size, colour, a, wt, tr, escape(s)))
            elif kind == "marker":
                _, shape, x, y, r, colour, filled = it
                fill = colour if filled else "#ffffff"
                if shape == "circle":
                    out.append('<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" stroke="%s" '
                               'stroke-width="1.5"/>' % (x, y, r, fill, colour))
                elif shape in ("x", "plus"):
                    for seg in cross_segments(shape, x, y, r):
                        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" '
                                   'stroke-width="2"/>' % (seg[0] + seg[1] + (colour,)))
                else:
                    pts = " ".join("%.1f,%.1f" % p for p in polygon(shape, x, y, r))
                    out.append('<polygon points="%s" fill="%s" stroke="%s" stroke-width="1.5"/>'
                               % (pts, fill, colour))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    # -- PNG through PIL, drawn at 2x and reduced (anti-aliasing) --
    def png(self, path, scale=2):
        from PIL import Image, ImageDraw, ImageFont

        fonts = {}

        def font(size, bold):
            key = (size, bold)
            if key not in fonts:
                names = (["DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"]
                         if bold else
                         ["DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"])
                f = None
                for n in names:
                    try:
                        f = ImageFont.truetype(n, size * scale)
                        break
                    except OSError:
                        continue
                fonts[key] = f or ImageFont.load_default()
            return fonts[key]

        img = Image.new("RGB", (self.w * scale, self.h * scale), "#ffffff")
        draw = ImageDraw.Draw(img)
        S = lambda v: v * scale  # noqa: E731
        for it in self.items:
            kind = it[0]
            if kind == "line":
                _, pts, colour, width, dash = it
                pts = [(S(x), S(y)) for x, y in pts]
                if dash:
                    for a, b in dashed(pts, [S(d) for d in dash]):
                        draw.line([a, b], fill=colour, width=max(1, int(round(S(width)))))
                else:
                    draw.line(pts, fill=colour, width=max(1, int(round(S(width)))), joint="curve")
            elif kind == "rect":
                _, x, y, w, h, fill, stroke = it
                draw.rectangle([S(x), S(y), S(x + w), S(y + h)], fill=fill, outline=stroke,
                               width=scale if stroke else 0)
            elif kind == "text":
                _, x, y, s, size, colour, anchor, rotate, bold = it
                f = font(size, bold)
                a = {"start": "lm", "middle": "mm", "end": "rm"}[anchor]
                if rotate:
                    box = draw.textbbox((0, 0), s, font=f, anchor="lt")
                    tw, th = box[2] - box[0] + 4, box[3] - box[1] + 4
                    tmp = Image.new("RGBA", (tw, th), (255, 255, 255, 0))
                    ImageDraw.Draw(tmp).text((2, 2), s, font=f, fill=colour, anchor="lt")
                    tmp = tmp.rotate(-rotate, expand=True)
                    img.paste(tmp, (int(S(x) - tmp.width / 2), int(S(y) - tmp.height / 2)), tmp)
                else:
                    draw.text((S(x), S(y)), s, font=f, fill=colour, anchor=a)
            elif kind == "marker":
                _, shape, x, y, r, colour, filled = it
                fill = colour if filled else "#ffffff"
                if shape == "circle":
                    draw.ellipse([S(x - r), S(y - r), S(x + r), S(y + r)], fill=fill, outline=colour,
                                 width=int(1.5 * scale))
                elif shape in ("x", "plus"):
                    for a, b in cross_segments(shape, x, y, r):
                        draw.line([(S(a[0]), S(a[1])), (S(b[0]), S(b[1]))], fill=colour,
                                  width=2 * scale)
                else:
                    pts = [(S(px), S(py)) for px, py in polygon(shape, x, y, r)]
                    draw.polygon(pts, fill=fill, outline=colour)
                    draw.line(pts + [pts[0]], fill=colour, width=int(1.5 * scale))
        # Pillow >= 9.1 moved these constants into enums; older ones only have the plain names.
        resampling = getattr(Image, "Resampling", Image)
        quantize = getattr(Image, "Quantize", Image)
        dither = getattr(Image, "Dither", Image)
        img = img.resize((self.w, self.h), resampling.LANCZOS)
        # 256 adaptive colours: a third of the size, no visible loss on a flat-colour plot
        img = img.quantize(colors=256, method=quantize.MEDIANCUT, dither=dither.NONE)
        img.save(path, optimize=True)


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def polygon(shape, x, y, r):
    if shape == "square":
        r *= 0.9
        return [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    if shape == "diamond":
        r *= 1.2
        return [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
    if shape == "triangle":
        r *= 1.2
        return [(x, y - r), (x + r * 0.95, y + r * 0.65), (x - r * 0.95, y + r * 0.65)]
    if shape == "triangle_down":
        r *= 1.2
        return [(x, y + r), (x + r * 0.95, y - r * 0.65), (x - r * 0.95, y - r * 0.65)]
    # star
    pts = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = r * 1.3 if i % 2 == 0 else r * 0.55
        pts.append((x + rr * math.cos(a), y + rr * math.sin(a)))
    return pts


def cross_segments(shape, x, y, r):
    if shape == "plus":
        return [((x - r, y), (x + r, y)), ((x, y - r), (x, y + r))]
    return [((x - r, y - r), (x + r, y + r)), ((x - r, y + r), (x + r, y - r))]


def dashed(pts, pattern):
    """Segments of a dashed polyline."""
    out, on, left, i = [], True, pattern[0], 0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        pos = 0.0
        while pos < seg:
            step = min(left, seg - pos)
            a = (x0 + (x1 - x0) * pos / seg, y0 + (y1 - y0) * pos / seg)
            b = (x0 + (x1 - x0) * (pos + step) / seg, y0 + (y1 - y0) * (pos + step) / seg)
            if on:
                out.append((a, b))
            pos += step
            left -= step
            if left <= 1e-9:
                i = (i + 1) % len(pattern)
                left, on = pattern[i], not on
    return out


# ---- the plot ----

SERIES_SHAPES = ["circle", "square", "triangle", "diamond", "triangle_down", "star"]
BAND = (1.0 / 32, 1.0 / 4)  # x range of the no-FLOP band


def fmt_num(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2g" % v


def tick_label(v):
    return "%g" % v


def draw(series, title):
    bw = peak = None
    roof_src = None
    for s in series:
        b, p = s.roofs()
        if b and p:
            bw, peak, roof_src = b, p, s
            break
    # points: (series index, case, x, y, family)
    points, band_cases = [], []
    for s in series:
        for name, r in s.suite().items():
            if r.error or not r.seconds:
                continue
            if r.flop > 0:
                points.append((s, name, r.flop / r.bytes, r.gflops))
            elif name not in band_cases:
                band_cases.append(name)
    # the band: one x per no-FLOP case, evenly in log space, in suite (family) order
    band_x = {}
    if band_cases:
        lo, hi = math.log10(BAND[0]), math.log10(BAND[1])
        n = len(band_cases)
        for i, name in enumerate(band_cases):
            band_x[name] = 10 ** (lo + (hi - lo) * (i + 0.5) / n)
    for s in series:
        for name, r in s.suite().items():
            if r.error or not r.seconds or r.flop > 0:
                continue
            x = band_x[name]
            points.append((s, name, x, r.gbs * x))

    xs = [p[2] for p in points] + [BAND[0]]
    ys = [p[3] for p in points]
    if peak:
        ys.append(peak)
    if bw:
        ys.append(bw * BAND[0])
    if not ys:
        raise SystemExit("roofline: nothing to draw (no suite/ or roof/ results)")
    # limits a little beyond the data (not whole decades: those waste a third of the plot)
    x_lo = min(xs) / 1.6
    x_hi = max(xs + [peak / bw * 4 if bw and peak else 1]) * 2.0
    y_lo = min(ys) / 2.0
    y_hi = max(ys) * 2.5

    W, H = 1280, 800
    L, R, T, B = 90, 360, 70, 70  # margins; the legend sits in the right one
    pw, ph = W - L - R, H - T - B
    c = Canvas(W, H)

    def X(v):
        return L + pw * (math.log10(v) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo))

    def Y(v):
        return T + ph * (1 - (math.log10(v) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)))

    # band and grid
    c.rect(X(BAND[0]) - 8, T, X(BAND[1]) - X(BAND[0]) + 16, ph, fill="#f2f2f2")
    c.text((X(BAND[0]) + X(BAND[1])) / 2, T + 14, "no-FLOP ops", 11, "#555", "middle", bold=True)
    c.text((X(BAND[0]) + X(BAND[1])) / 2, T + 28, "read against the diagonal", 10, "#555", "middle")
    for e in range(math.ceil(math.log10(x_lo)), math.floor(math.log10(x_hi)) + 1):
        v = 10.0 ** e
        c.line([(X(v), T), (X(v), T + ph)], "#dddddd", 1)
        c.text(X(v), T + ph + 14, tick_label(v), 11, "#333", "middle")
    for e in range(math.ceil(math.log10(y_lo)), math.floor(math.log10(y_hi)) + 1):
        v = 10.0 ** e
        c.line([(L, Y(v)), (L + pw, Y(v))], "#dddddd", 1)
        c.text(L - 8, Y(v), "%g" % v, 11, "#333", "end")
    c.rect(L, T, pw, ph, stroke="#333333")
    c.text(L + pw / 2, H - 22, "arithmetic intensity (FLOP / byte, every tensor read or written once)",
           13, "#000", "middle")
    c.text(24, T + ph / 2, "GFLOP/s", 13, "#000", "middle", rotate=-90)
    c.text(L, 24, title, 15, "#000", "start", bold=True)

    # roofs
    if bw and peak:
        ridge = peak / bw
        x0 = max(x_lo, y_lo / bw)
        c.line([(X(x0), Y(bw * x0)), (X(ridge), Y(peak)), (X(x_hi), Y(peak))], "#000", 2.2)
        # drawn after the points (below), on a white box: points may crowd the line
        label = "%s SGEMM %s GFLOP/s" % (roof_src.label, fmt_num(peak))
        roof_label = (X(ridge) + 8, Y(peak) - 12, label)
        # label the diagonal along its slope
        xm = 10 ** ((math.log10(max(x0, BAND[1] * 2)) + math.log10(ridge)) / 2)
        ang = math.degrees(math.atan2(Y(bw * xm * 10) - Y(bw * xm), X(xm * 10) - X(xm)))
        c.text(X(xm) - 8, Y(bw * xm) - 14, "copy %s GB/s" % fmt_num(bw), 12, "#000", "middle",
               rotate=ang, bold=True)
        c.line([(X(ridge), Y(peak)), (X(ridge), T + ph)], "#999", 1, dash=(4, 4))
        c.text(X(ridge) + 4, T + ph - 12, "ridge %s" % fmt_num(ridge), 10, "#666", "start")

    else:
        roof_label = None

    # the first peer's own roofs, dashed, for reference (its shares use them)
    peer_roofs = None
    for s in series:
        if s.is_peer and s is not roof_src:
            pb, pp = s.roofs()
            if pb and pp:
                peer_roofs = (s, pb, pp)
                break
    if peer_roofs:
        s, pb, pp = peer_roofs
        x0 = max(x_lo, y_lo / pb)
        c.line([(X(x0), Y(pb * x0)), (X(pp / pb), Y(pp)), (X(x_hi), Y(pp))], "#888", 1.2,
               dash=(6, 4))

    # points, peers first so fcnrt's are on top
    shapes = {}
    for s in series:
        shapes.setdefault(s.label, SERIES_SHAPES[len(shapes) % len(SERIES_SHAPES)])
    order = sorted(points, key=lambda p: 0 if p[0].is_peer else 1)
    for s, name, x, y in order:
        key, label, colour = family_of(name)
        # fcnrt's filled markers a little larger, so a hollow peer marker at the same
        # spot still shows round it
        c.marker(shapes[s.label], X(x), Y(y), 4.6 if s.is_peer else 6.0, colour, not s.is_peer)
    # labels for fcnrt's 3x3 convs (dilation 1 only, to keep them legible)
    fc = [p for p in points if not p[0].is_peer]
    for s, name, x, y in fc:
        lab = short_label(name)
        if lab and " d" not in lab:
            c.text(X(x) + 9, Y(y), lab, 10, "#1f4e79", "start")

    if roof_label:
        x, y, label = roof_label
        c.rect(x - 3, y - 9, 0.62 * 12 * len(label) + 6, 18, fill="#ffffff")
        c.text(x, y, label, 12, "#000", "start", bold=True)

    # legend
    lx, ly = L + pw + 24, T + 6
    c.text(lx, ly, "op family (colour)", 12, "#000", "start", bold=True)
    ly += 22
    used = {family_of(p[1])[0] for p in points}
    for key, label, colour, _ in FAMILIES:
        if key not in used:
            continue
        c.marker("circle", lx + 6, ly, 5.5, colour, True)
        c.text(lx + 20, ly, label, 11, "#000", "start")
        ly += 20
    ly += 12
    c.text(lx, ly, "series (marker)", 12, "#000", "start", bold=True)
    ly += 22
    for s in series:
        c.marker(shapes[s.label], lx + 6, ly, 5.5, "#333", not s.is_peer)
        c.text(lx + 20, ly, s.label + (" (hollow)" if s.is_peer else ""), 11, "#000", "start")
        ly += 20
    if peer_roofs:
        s, pb, pp = peer_roofs
        c.line([(lx, ly), (lx + 14, ly)], "#888", 1.2, dash=(6, 4))
        c.text(lx + 20, ly, "%s roofs: copy %s GB/s," % (s.label, fmt_num(pb)), 10, "#444", "start")
        ly += 14
        c.text(lx + 20, ly, "fp32 mm %s GFLOP/s" % fmt_num(pp), 10, "#444", "start")
        ly += 20
    ly += 12
    notes = [
        "Roofs: the best measured in the runs",
        "plotted (fcnrt's roof/ benchmarks):",
        "copy = bytes read + written / s;",
        "SGEMM in strict float32.",
        "Conv labels: C@px (C = K).",
        "Dilated convs share their d1",
        "twin's x: the column below it",
        "is the dilation penalty.",
        "Grey band: ops with no FLOPs,",
        "spread along x for legibility;",
        "their gap below the diagonal",
        "is their share of copy GB/s.",
    ]
    for n in notes:
        c.text(lx, ly, n, 10, "#444", "start")
        ly += 15
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+", help="Google Benchmark JSON files, fcnrt's first")
    ap.add_argument("-o", "--out", required=True, help="SVG file to write")
    ap.add_argument("--png", default=None,
                    help="PNG file (default: the SVG's name with .png, when PIL is importable)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--variants", default=None,
                    help="comma-separated peer variants to draw (default: all)")
    args = ap.parse_args()
    series = load_all(args.json)
    if args.variants:
        keep = set(args.variants.split(","))
        series = [s for s in series if not s.is_peer or s.label in keep]
    ctx = series[0].context if series else {}
    device = ctx.get("cuda_device") or ctx.get("cpu_model") or ctx.get("host_name", "")
    date = (ctx.get("date") or "")[:10]
    title = args.title or "fcnrt kernel suite roofline: %s, %s" % (device, date)
    canvas = draw(series, title)
    with open(args.out, "w") as f:
        f.write(canvas.svg())
    print("wrote %s" % args.out)
    png = args.png or os.path.splitext(args.out)[0] + ".png"
    if importlib.util.find_spec("PIL") is None:
        if args.png:
            raise SystemExit("roofline: PIL is not importable; no PNG")
        return
    canvas.png(png)
    print("wrote %s" % png)


if __name__ == "__main__":
    main()
