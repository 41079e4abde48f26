#!/usr/bin/env python3
"""The kernel suite (bench/kernel_suite.json) in PyTorch: the per-kernel peer of
bench_cuda_kernels / bench_cpu_kernels.

Each case runs as the PyTorch op a user would call (F.conv2d, F.conv_transpose2d,
F.max_pool2d, F.avg_pool2d, torch.cat, torch.softmax, F.interpolate), under
torch.inference_mode(), with the same shapes, bias, FLOP and byte counts as fcnrt's
benchmarks (bench/kernel_suite.h), and the same method:

- Rotation: S sets of every input (and room for the output), S chosen so that the
  sets together exceed 4x the last-level cache (GPU: the L2, at least 256 MiB; CPU:
  the L3, at least 64 MiB), 2 <= S <= 512 (GPU) or 64 (CPU); call i uses set i mod S.
- GPU: torch.backends.cudnn.benchmark = True (autotuned per shape in the warm-up);
  variants NCHW and channels_last, each with TF32 off (strict float32, as fcnrt) and
  on (torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32, or on
  torch >= 2.9 their successors cuda.matmul / cudnn.conv.fp32_precision). Ops
  without a matrix product (pools, concat, softmax, resize) run only in the fp32
  variants: TF32 does not touch them. One pass = one call per set, captured once
  into a CUDA graph when PyTorch allows it ("graph" = 1; else plain launches), timed
  with torch.cuda.Event; warm-up: 2 passes. Time per call = pass time / S.
- CPU: torch.set_num_threads(--threads), NCHW float32 only, one variant; each
  repetition runs calls round the sets until --min-time has passed, timed with
  time.perf_counter; warm-up: one pass. PyTorch allocates every output (its
  functional API has no out= for most of these ops), and that cost is counted.
- Roofs of its own, measured first: roof/copy_torch (dst.copy_(src), 512 MiB,
  bytes read + written) and roof/mm_torch_fp32 (torch.mm 8192^3 on the GPU, 2048^3
  on the CPU, TF32 off); on the GPU also roof/mm_torch_tf32. share_of_roof uses the
  fp32 ones, as fcnrt's uses its own.

Output: Google Benchmark JSON (--benchmark_out format) with one entry per
repetition and mean/median/stddev aggregates, named "suite/<case>/<variant>" with
fields "case" ("suite/<case>") and "variant" (torch-nchw-fp32, torch-cl-tf32, ...,
torch-cpu-nchw-fp32), counters GFLOPS (convs), GB/s, flop, bytes, share_of_roof.
A case PyTorch cannot run (avg_pool2d has no dilation) is an entry with
"error_occurred": true and the reason.

Runs with torch 1.13 and 2.x. Examples:
  python3 bench/torch_kernels_peer.py --device cpu --threads 2 --out torch_cpu.json
  python3 bench/torch_kernels_peer.py --device cuda --out torch_cuda.json
"""
import argparse
import datetime
import json
import os
import platform
import re
import socket
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Unsupported(Exception):
    """A case this PyTorch cannot run as specified."""


# ---- the suite: the same geometry as bench/kernel_suite.h ----


def window_out(n, kernel, stride, pad, dilation):
    return (n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def case_geometry(c):
    """Adds out_h, macs, bytes (per call, each tensor once, float32) to a case dict."""
    op, h = c["op"], c["H"]
    plane = float(h * h)
    if op in ("conv2d", "conv_transpose2d"):
        C, K, k, g = c["C"], c["K"], c["kernel"], c["groups"]
        if op == "conv2d":
            o = window_out(h, k, c["stride"], c["pad"], c["dilation"])
            macs = K * (C // g) * k * k * float(o * o)
            weights = K * (C // g) * k * k
        else:
            o = (h - 1) * c["stride"] - 2 * c["pad"] + c["dilation"] * (k - 1) + 1
            macs = C * (K // g) * k * k * plane
            weights = C * (K // g) * k * k
        nbytes = 4.0 * (C * plane + weights + K + K * float(o * o))
    elif op in ("max_pool2d", "avg_pool2d"):
        o = window_out(h, c["kernel"], c["stride"], c["pad"], c["dilation"])
        macs, nbytes = 0.0, 4.0 * c["C"] * (plane + float(o * o))
    elif op == "concat":
        o, macs, nbytes = h, 0.0, 2.0 * 4.0 * sum(c["inputs"]) * plane
    elif op == "softmax":
        o, macs, nbytes = h, 0.0, 2.0 * 4.0 * c["C"] * plane
    elif op == "resize":
        o = h * c["scale"]
        macs, nbytes = 0.0, 4.0 * c["C"] * (plane + float(o * o))
    else:
        raise ValueError("unknown op %r in case %s" % (op, c.get("name")))
    c = dict(c)
    c.update(out_h=o, macs=macs, bytes=nbytes)
    return c


def load_suite(path):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("format") != "fcnrt-kernel-suite/1":
        raise SystemExit("%s: not a kernel suite (format fcnrt-kernel-suite/1)" % path)
    return [case_geometry(c) for c in doc["cases"]]


def default_suite_path():
    src = os.environ.get("FCNRT_SOURCE_DIR")
    if src and os.path.exists(os.path.join(src, "bench", "kernel_suite.json")):
        return os.path.join(src, "bench", "kernel_suite.json")
    return os.path.join(HERE, "kernel_suite.json")


# ---- one case as PyTorch ops ----


def build_case(c, device, gen):
    """Returns (make_set, call): make_set() -> tuple of NCHW tensors on `device`, uniform
    in [-1, 1) from `gen` (a generator on that device); call(*set) -> output."""
    op, h = c["op"], c["H"]

    def rnd(*shape):
        return torch.rand(*shape, generator=gen, device=device) * 2 - 1

    if op == "conv2d":
        C, K, k, g = c["C"], c["K"], c["kernel"], c["groups"]
        s, p, d = c["stride"], c["pad"], c["dilation"]
        return (lambda: (rnd(1, C, h, h), rnd(K, C // g, k, k), rnd(K)),
                lambda x, w, b: F.conv2d(x, w, b, s, p, d, g))
    if op == "conv_transpose2d":
        C, K, k, g = c["C"], c["K"], c["kernel"], c["groups"]
        s, p, d = c["stride"], c["pad"], c["dilation"]
        return (lambda: (rnd(1, C, h, h), rnd(C, K // g, k, k), rnd(K)),
                lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, 0, g, d))
    if op == "max_pool2d":
        k, s, p, d = c["kernel"], c["stride"], c["pad"], c["dilation"]
        return (lambda: (rnd(1, c["C"], h, h),), lambda x: F.max_pool2d(x, k, s, p, d))
    if op == "avg_pool2d":
        k, s, p, d = c["kernel"], c["stride"], c["pad"], c["dilation"]
        if d != 1:
            raise Unsupported("PyTorch's avg_pool2d has no dilation")
        return (lambda: (rnd(1, c["C"], h, h),),
                lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=False, count_include_pad=False))
    if op == "concat":
        inputs = c["inputs"]
        return (lambda: tuple(rnd(1, ci, h, h) for ci in inputs), lambda *xs: torch.cat(xs, 1))
    if op == "softmax":
        return (lambda: (rnd(1, c["C"], h, h),), lambda x: torch.softmax(x, 1))
    if op == "resize":
        mode, scale = c["mode"], c["scale"]
        if mode == "bilinear":
            return (lambda: (rnd(1, c["C"], h, h),),
                    lambda x: F.interpolate(x, scale_factor=scale, mode="bilinear",
                                            align_corners=False))
        return (lambda: (rnd(1, c["C"], h, h),),
                lambda x: F.interpolate(x, scale_factor=scale, mode="nearest"))
    raise Unsupported("unknown op " + op)


# ---- TF32 switch ----


def new_precision_api():
    """torch >= 2.9 controls TF32 with fp32_precision ("ieee" | "tf32") and warns
    about (later: refuses) the old allow_tf32 flags; the two must not be mixed."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    return (hasattr(torch.backends.cuda.matmul, "fp32_precision") and
            conv is not None and hasattr(conv, "fp32_precision"))


def set_tf32(on):
    """TF32 for both cuBLAS matrix products and cuDNN convolutions."""
    if new_precision_api():
        torch.backends.cuda.matmul.fp32_precision = "tf32" if on else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if on else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on


# ---- timing ----


def num_sets(set_bytes, rotation_bytes, max_sets):
    return max(2, min(max_sets, -(-int(rotation_bytes) // max(int(set_bytes), 1))))


def time_cpu(call, sets, min_time):
    """Mean seconds of one call over calls round the sets for at least min_time; calls."""
    n = 0
    start = time.perf_counter()
    while True:
        call(*sets[n % len(sets)])
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n, n


class CudaTimer:
    """One pass = one call per set; captured into a CUDA graph when possible."""

    def __init__(self, call, sets, use_graph):
        self.call, self.sets = call, sets
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up (and cuDNN autotuning) off the capture stream
            for _ in range(2):
                self.run_pass()
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        self.graph = None
        if use_graph:
            try:
                g = torch.cuda.CUDAGraph()
                with torch.cuda.graph(g):
                    self.run_pass()
                g.replay()
                torch.cuda.synchronize()
                self.graph = g
            except Exception as e:  # an op that cannot be captured: plain launches
                print("  (no CUDA graph: %s)" % str(e).splitlines()[0], file=sys.stderr)
                torch.cuda.synchronize()
                self.graph = None

    def run_pass(self):
        for s in self.sets:
            self.call(*s)

    def measure(self, min_time):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        total, passes = 0.0, 0
        while total < min_time or passes < 2:
            start.record()
            if self.graph is not None:
                self.graph.replay()
            else:
                self.run_pass()
            stop.record()
            stop.synchronize()
            total += start.elapsed_time(stop) / 1e3
            passes += 1
        calls = passes * len(self.sets)
        return total / calls, calls


# ---- Google Benchmark JSON ----


def counters(macs, nbytes, seconds, roofs):
    out = {"GB/s": nbytes / seconds / 1e9, "flop": 2.0 * macs, "bytes": nbytes}
    if macs > 0:
        out["GFLOPS"] = 2.0 * macs / seconds / 1e9
    bw, peak = roofs.get("bandwidth"), roofs.get("compute")
    if bw and (macs == 0 or peak):
        if macs > 0:
            attainable = min(peak, 2.0 * macs / nbytes * bw)
            out["share_of_roof"] = 2.0 * macs / seconds / 1e9 / attainable
        else:
            out["share_of_roof"] = nbytes / seconds / 1e9 / bw
    return out


def entries(name, case, variant, reps, macs, nbytes, roofs, extra):
    """reps: list of (seconds per call, calls). Iteration entries, then aggregates."""
    base = {"run_name": name, "case": case, "variant": variant, "threads": 1, "time_unit": "ms"}
    base.update(extra)
    out = []
    for i, (sec, calls) in enumerate(reps):
        e = dict(base, name=name, run_type="iteration", repetitions=len(reps), repetition_index=i,
                 iterations=calls, real_time=sec * 1e3, cpu_time=sec * 1e3)
        e.update(counters(macs, nbytes, sec, roofs))
        out.append(e)
    if len(reps) > 1:
        per_rep = [counters(macs, nbytes, sec, roofs) for sec, _ in reps]
        times = [sec * 1e3 for sec, _ in reps]
        for agg, fn in (("mean", statistics.mean), ("median", statistics.median),
                        ("stddev", statistics.stdev)):
            e = dict(base, name=name + "_" + agg, run_type="aggregate", repetitions=len(reps),
                     aggregate_name=agg, aggregate_unit="time", iterations=len(reps),
                     real_time=fn(times), cpu_time=fn(times))
            for key in per_rep[0]:
                e[key] = fn([r[key] for r in per_rep])
            out.append(e)
    return out


def error_entry(name, case, variant, message):
    return {"name": name, "run_name": name, "case": case, "variant": variant,
            "run_type": "iteration", "repetitions": 0, "threads": 1, "iterations": 0,
            "real_time": 0, "cpu_time": 0, "time_unit": "ms", "error_occurred": True,
            "error_message": message}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---- roofs ----


def measure_roofs(device, reps, min_time, sync):
    """roof/copy_torch, roof/mm_torch_fp32 (and _tf32 on the GPU): entries and values."""
    results, values = [], {}
    n = 128 << 20  # 512 MiB of float32
    src = torch.rand(n, device=device)
    dst = torch.empty_like(src)

    def timed(fn, warm=2):
        for _ in range(warm):
            fn()
        sync()
        times = []
        for _ in range(reps):
            calls, start = 0, time.perf_counter()
            if device == "cuda":
                t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                total = 0.0
                while total < min_time or calls < 2:
                    t0.record()
                    fn()
                    t1.record()
                    t1.synchronize()
                    total += t0.elapsed_time(t1) / 1e3
                    calls += 1
                times.append((total / calls, calls))
            else:
                while True:
                    fn()
                    calls += 1
                    if time.perf_counter() - start >= min_time:
                        break
                times.append(((time.perf_counter() - start) / calls, calls))
        return times

    copy = timed(lambda: dst.copy_(src))
    values["bandwidth"] = max(2.0 * n * 4 / s / 1e9 for s, _ in copy)
    results += entries("roof/copy_torch", "roof/copy_torch", "torch", copy, 0, 2.0 * n * 4, {}, {})
    src = dst = None  # free them before the matrix product

    size = 8192 if device == "cuda" else 2048
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    macs = float(size) ** 3
    modes = [("fp32", False)] + ([("tf32", True)] if device == "cuda" else [])
    for label, tf32 in modes:
        if device == "cuda":
            set_tf32(tf32)
        mm = timed(lambda: torch.mm(a, b))
        if label == "fp32":
            values["compute"] = max(2.0 * macs / s / 1e9 for s, _ in mm)
        name = "roof/mm_torch_" + label
        results += entries(name, name, "torch", mm, macs, 3.0 * size * size * 4, {}, {})
    if device == "cuda":
        set_tf32(False)
    return results, values


# ---- main ----


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["cpu", "cuda"], required=True)
    ap.add_argument("--suite", default=None, help="suite file (default: bench/kernel_suite.json)")
    ap.add_argument("--subset", choices=["cpu", "all"], default=None,
                    help="cases to run (default: cpu on the CPU, all on the GPU)")
    ap.add_argument("--filter", default=None, help="regular expression on case names")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--variants", default=None,
                    help="comma-separated subset of the variants (GPU: torch-nchw-fp32, "
                         "torch-nchw-tf32, torch-cl-fp32, torch-cl-tf32)")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=None,
                    help="seconds per repetition (default 0.5 CPU, 0.1 GPU)")
    ap.add_argument("--no-graph", action="store_true", help="GPU: plain launches, no CUDA graph")
    ap.add_argument("--no-roofs", action="store_true", help="skip roof/copy_torch and roof/mm_torch_*")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="seconds: case variants not started by then are written as skipped "
                         "(errors), so that a time-limited caller still gets a JSON file")
    ap.add_argument("--out", required=True, help="JSON file to write")
    args = ap.parse_args()

    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_kernels_peer: no usable CUDA device")
    min_time = args.min_time if args.min_time is not None else (0.1 if device == "cuda" else 0.5)
    subset = args.subset or ("cpu" if device == "cpu" else "all")
    suite_path = args.suite or default_suite_path()
    cases = load_suite(suite_path)
    if subset == "cpu":
        cases = [c for c in cases if c.get("cpu")]
    if args.filter:
        cases = [c for c in cases if re.search(args.filter, c["name"])]

    if device == "cpu":
        if args.threads:
            torch.set_num_threads(args.threads)
        variants = [("torch-cpu-nchw-fp32", False, False)]
        l3 = 0
        try:
            l3 = os.sysconf("SC_LEVEL3_CACHE_SIZE")
        except (ValueError, OSError):
            pass
        llc = l3 if l3 > 0 else 32 << 20
        rotation, max_sets = max(64 << 20, 4 * llc), 64

        def sync():
            pass
    else:
        torch.backends.cudnn.benchmark = True
        variants = [("torch-nchw-fp32", False, False), ("torch-nchw-tf32", False, True),
                    ("torch-cl-fp32", True, False), ("torch-cl-tf32", True, True)]
        props = torch.cuda.get_device_properties(0)
        llc = getattr(props, "L2_cache_size", 0) or (50 << 20)
        rotation, max_sets = max(256 << 20, 4 * llc), 512
        sync = torch.cuda.synchronize
    if args.variants:
        wanted = set(args.variants.split(","))
        variants = [v for v in variants if v[0] in wanted]
        if not variants:
            raise SystemExit("torch_kernels_peer: no variant left by --variants")

    context = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": "bench/torch_kernels_peer.py",
        "num_cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "library_build_type": "release",
        "peer": "pytorch",
        "torch_version": torch.__version__,
        "device": device,
        "kernel_suite": suite_path,
        "rotation_bytes": str(rotation),
        "min_time_s": str(min_time),
        "threads": str(torch.get_num_threads()),
    }
    if device == "cuda":
        context["cuda_device"] = torch.cuda.get_device_name(0)
        context["cudnn_version"] = str(torch.backends.cudnn.version())
        context["cuda_l2_bytes"] = str(llc)
        context["cudnn_benchmark"] = "true"
        context["tf32_switch"] = ("fp32_precision (ieee|tf32)" if new_precision_api()
                                  else "allow_tf32 (matmul and cudnn)")
    else:
        context["mkldnn"] = str(torch.backends.mkldnn.is_available())

    benchmarks = []
    gen = torch.Generator(device=device).manual_seed(0)
    started = time.monotonic()
    skipped = 0
    with torch.inference_mode():
        roofs = {}
        if not args.no_roofs:
            print("roofs ...", file=sys.stderr, flush=True)
            roof_entries, roofs = measure_roofs(device, args.repetitions, max(min_time, 0.5), sync)
            benchmarks += roof_entries
            print("  copy %.1f GB/s, mm fp32 %.1f GFLOP/s" % (roofs["bandwidth"], roofs["compute"]),
                  file=sys.stderr, flush=True)
        for c in cases:
            case = "suite/" + c["name"]
            base = None  # the case's NCHW inputs, made once and shared by its variants
            try:
                make_set, call = build_case(c, device, gen)
            except Unsupported as e:
                for variant, _, tf32 in variants:
                    if not (tf32 and c["macs"] == 0):
                        benchmarks.append(error_entry(case + "/" + variant, case, variant, str(e)))
                print("%-60s %s" % (case, e), file=sys.stderr, flush=True)
                continue
            for variant, channels_last, tf32 in variants:
                name = case + "/" + variant
                if tf32 and c["macs"] == 0:
                    continue  # TF32 changes nothing without a matrix product
                if args.time_budget and time.monotonic() - started > args.time_budget:
                    benchmarks.append(error_entry(name, case, variant,
                                                  "skipped: --time-budget %g s spent" % args.time_budget))
                    skipped += 1
                    continue
                if device == "cuda":
                    set_tf32(tf32)
                if base is None:
                    base = make_set()
                first = tuple(t.contiguous(memory_format=torch.channels_last)
                              if channels_last and t.dim() == 4 else t for t in base)
                out_bytes = 4.0 * c["K"] * c["out_h"] ** 2 if "K" in c else \
                    4.0 * (sum(c["inputs"]) if "inputs" in c else c["C"]) * c["out_h"] ** 2
                set_bytes = sum(t.numel() * 4 for t in first) + out_bytes
                n_sets = num_sets(set_bytes, rotation, max_sets)
                sets = [first] + [tuple(t.clone() for t in first) for _ in range(n_sets - 1)]
                extra = {"sets": n_sets}
                reps = []
                try:
                    if device == "cuda":
                        timer = CudaTimer(call, sets, not args.no_graph)
                        extra["graph"] = 1 if timer.graph is not None else 0
                        for _ in range(args.repetitions):
                            reps.append(timer.measure(min_time))
                        del timer
                    else:
                        for s in sets:
                            call(*s)  # warm-up pass
                        for _ in range(args.repetitions):
                            reps.append(time_cpu(call, sets, min_time))
                except RuntimeError as e:
                    msg = str(e).splitlines()[0]
                    benchmarks.append(error_entry(name, case, variant, msg))
                    print("%-60s error: %s" % (name, msg), file=sys.stderr, flush=True)
                    continue
                finally:
                    sets = first = None
                    if device == "cuda":
                        torch.cuda.empty_cache()
                benchmarks += entries(name, case, variant, reps, c["macs"], c["bytes"], roofs,
                                      extra)
                med = statistics.median(s for s, _ in reps)
                rate = ("%.1f GFLOP/s" % (2 * c["macs"] / med / 1e9) if c["macs"] > 0
                        else "%.2f GB/s" % (c["bytes"] / med / 1e9))
                print("%-60s %10.3f ms  %s" % (name, med * 1e3, rate), file=sys.stderr, flush=True)
            base = None
    if skipped:
        print("torch_kernels_peer: %d case variants skipped: --time-budget %g s spent"
              % (skipped, args.time_budget), file=sys.stderr)
    if device == "cuda":
        set_tf32(False)

    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)
    print("wrote %s (%d entries)" % (args.out, len(benchmarks)), file=sys.stderr)


if __name__ == "__main__":
    main()
