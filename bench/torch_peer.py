#!/usr/bin/env python3
"""Times an fcnrt model run by PyTorch (the peer), prints one JSON object.

    python3 bench/torch_peer.py MODEL.json --device cuda --size 572x572 \\
        [--batch B] [--warmup 5] [--iterations 20] [--variants all] \\
        [--input NAME=FILE.npy ...] [--save-output DIR] [--profile] [--json-out FILE]

The model is bench/torch_graph.py's module: the same graph built from the JSON
with idiomatic torch ops. Variants (--variants, comma-separated, default all
for the device):

    cuda: nchw-fp32   NCHW, strict float32 (TF32 off for cuDNN convolutions and
                      cuBLAS matmuls), like fcnrt
          cl-fp32     channels_last (NHWC) weights and input, strict float32
          nchw-tf32   NCHW, TF32 allowed (tensor cores, 10-bit mantissa inputs)
          cl-tf32     channels_last, TF32 allowed
    cpu:  nchw-fp32   torch.set_num_threads(--threads) (cl-fp32 on request)

Every variant runs under torch.inference_mode() with cudnn.benchmark on (the
warm-up runs pick the algorithms). Per variant:

- compute_ms: CUDA events around forward() on a device-resident input (already
  in the variant's memory format), synchronising after each run (one inference's
  latency, launch overhead included); on the CPU, perf_counter around forward().
- e2e_ms (cuda): events from before the H2D copy of a pinned NCHW host input to
  after the D2H copy of every output into pinned host buffers (channels_last:
  the input's conversion on the device and the outputs' back to NCHW included).
- latency stats: min, median, mean, p90, p95, p99, max over --iterations runs.
- peak_device_bytes: torch.cuda.max_memory_allocated over the variant's runs.

--save-output DIR writes each variant's outputs (on the same input) to
DIR/VARIANT/NAME.npy (the last timed run's; float32 NCHW, int32 for
argmax/indices), and the input to DIR/input_NAME.npy. --profile adds per-node
times for the first variant (events around each node; not used for the
totals). Runs on torch 1.13 and 2.x.
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_graph import GraphError, concrete_shapes, load_graph_module, parse_size  # noqa: E402

CUDA_VARIANTS = ["nchw-fp32", "cl-fp32", "nchw-tf32", "cl-tf32"]
CPU_VARIANTS = ["nchw-fp32", "cl-fp32"]  # 'all' on the CPU is nchw-fp32 only


def stats(values):
    v = np.sort(np.asarray(values, dtype=np.float64))
    if v.size == 0:
        return None
    pct = lambda q: float(np.percentile(v, q))  # noqa: E731
    return {"min": float(v[0]), "median": float(np.median(v)), "mean": float(v.mean()),
            "p90": pct(90), "p95": pct(95), "p99": pct(99), "max": float(v[-1]), "n": int(v.size)}


def set_tf32(allow):
    """Allows or forbids TF32 in cuDNN convolutions and cuBLAS matmuls; returns what
    was set. torch >= 2.9 has fp32_precision ('ieee' | 'tf32'); older ones allow_tf32."""
    cudnn_conv = getattr(torch.backends.cudnn, "conv", None)
    if cudnn_conv is not None and hasattr(cudnn_conv, "fp32_precision"):
        value = "tf32" if allow else "ieee"
        cudnn_conv.fp32_precision = value
        torch.backends.cuda.matmul.fp32_precision = value
        return {"api": "fp32_precision", "cudnn.conv": cudnn_conv.fp32_precision,
                "cuda.matmul": torch.backends.cuda.matmul.fp32_precision}
    torch.backends.cudnn.allow_tf32 = allow
    torch.backends.cuda.matmul.allow_tf32 = allow
    return {"api": "allow_tf32", "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def to_numpy(t):
    t = t.detach().to("cpu").contiguous()
    a = t.numpy()
    return a.astype(np.int32) if np.issubdtype(a.dtype, np.integer) else a.astype(np.float32)


def parse_inputs(items):
    out = {}
    for item in items:
        if "=" in item:
            name, path = item.split("=", 1)
        else:
            name, path = None, item
        out[name] = np.load(path)
    return out


def make_inputs(specs, args):
    """--input files where given (their shapes rule), else seeded standard-normal
    float32 at the graph's shapes with open dims from --size and --batch."""
    given = parse_inputs(args.input)
    rng = np.random.default_rng(args.seed)
    xs = {}
    for name, spec in specs:
        if name in given or (None in given and len(specs) == 1):
            a = given.get(name, given.get(None))
            xs[name] = np.ascontiguousarray(a, dtype=np.float32)
        else:
            shape = concrete_shapes([(name, spec)], args.size, args.batch)[name]
            xs[name] = rng.standard_normal(shape).astype(np.float32)
    return xs


class CudaNodeTimer:
    def __init__(self):
        self.records = []

    @contextlib.contextmanager
    def __call__(self, name, op):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        yield
        end.record()
        self.records.append((name, op, start, end))

    def collect(self):
        torch.cuda.synchronize()
        return [(n, o, s.elapsed_time(e)) for n, o, s, e in self.records]


class CpuNodeTimer:
    def __init__(self):
        self.records = []

    @contextlib.contextmanager
    def __call__(self, name, op):
        t0 = time.perf_counter()
        yield
        self.records.append((name, op, (time.perf_counter() - t0) * 1e3))

    def collect(self):
        return self.records


def run_variant(module, host_inputs, variant, args, dev, save_dir):
    cuda = dev.type == "cuda"
    channels_last = variant.startswith("cl-")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    settings = {"cudnn.benchmark": None,
                "memory_format": "channels_last" if channels_last else "NCHW"}
    if cuda:
        torch.backends.cudnn.benchmark = True
        settings["cudnn.benchmark"] = True
        settings["tf32"] = set_tf32(variant.endswith("tf32"))
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    module.to(memory_format=fmt)

    def dev_input(a):
        t = torch.from_numpy(a).to(dev)
        return t.contiguous(memory_format=fmt) if t.dim() == 4 else t

    xs = [dev_input(a) for a in host_inputs.values()]
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    result = {"settings": settings}
    with torch.inference_mode():
        for _ in range(args.warmup):
            module(*xs)
        sync()
        compute = []
        outs = None
        for _ in range(args.iterations):
            outs = None
            if cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                outs = module(*xs)
                end.record()
                end.synchronize()
                compute.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                outs = module(*xs)
                compute.append((time.perf_counter() - t0) * 1e3)
        result["compute_ms"] = stats(compute)
        if save_dir:  # the last timed run's outputs
            if outs is None:
                outs = module(*xs)
            d = os.path.join(save_dir, variant)
            os.makedirs(d, exist_ok=True)
            for name, o in zip(module.output_names, outs):
                np.save(os.path.join(d, f"{name}.npy"), to_numpy(o))
            result["saved_outputs"] = d
        outs = None

        if cuda:  # end to end from pinned host memory
            pinned_in = [torch.from_numpy(a).pin_memory() for a in host_inputs.values()]
            outs = module(*xs)
            pinned_out = [torch.empty(o.shape, dtype=o.dtype).pin_memory() for o in outs]
            del outs
            for _ in range(max(1, args.warmup // 2)):
                _e2e_once(module, pinned_in, pinned_out, fmt, dev)
            e2e = [_e2e_once(module, pinned_in, pinned_out, fmt, dev)
                   for _ in range(args.iterations)]
            result["e2e_ms"] = stats(e2e)
            result["peak_device_bytes"] = int(torch.cuda.max_memory_allocated())
        else:
            result["e2e_ms"] = result["compute_ms"]

        if args.profile and not args.profile_done:
            timer = CudaNodeTimer() if cuda else CpuNodeTimer()
            per_node = {}
            for _ in range(max(1, args.profile_iterations)):
                timer.records = []
                module.run_profiled(xs, timer)
                sync()
                for name, op, ms in timer.collect():
                    per_node.setdefault((name, op), []).append(ms)
            result["nodes"] = [{"name": n, "op": o, "ms": float(np.median(v))}
                               for (n, o), v in per_node.items()]
            args.profile_done = True
    del xs
    return result


def _e2e_once(module, pinned_in, pinned_out, fmt, dev):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    xs = []
    for h in pinned_in:
        t = h.to(dev, non_blocking=True)
        xs.append(t.contiguous(memory_format=fmt) if t.dim() == 4 else t)
    outs = module(*xs)
    for h, o in zip(pinned_out, outs):
        h.copy_(o, non_blocking=True)
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("The model"):])
    ap.add_argument("model")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--size", type=parse_size, help="HxW for open spatial dims")
    ap.add_argument("--batch", type=int, help="batch (overrides the graph's first dim)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--variants", default="all", help="comma-separated, or 'all'")
    ap.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-output", metavar="DIR")
    ap.add_argument("--profile", action="store_true", help="per-node times (first variant)")
    ap.add_argument("--profile-iterations", type=int, default=3)
    ap.add_argument("--json-out", metavar="FILE")
    args = ap.parse_args()
    args.profile_done = False

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_peer: --device cuda but torch.cuda.is_available() is False")
    known = CUDA_VARIANTS if args.device == "cuda" else CPU_VARIANTS
    variants = (known if args.device == "cuda" else ["nchw-fp32"]) if args.variants == "all" \
        else args.variants.split(",")
    for v in variants:
        if v not in known:
            sys.exit(f"torch_peer: variant {v!r} is not one of {known} for --device {args.device}")
    if args.threads:
        torch.set_num_threads(args.threads)

    try:
        module, specs = load_graph_module(args.model)
    except GraphError as e:
        sys.exit(f"torch_peer: {e}")
    host_inputs = make_inputs(specs, args)
    if args.save_output:
        os.makedirs(args.save_output, exist_ok=True)
        for name, a in host_inputs.items():
            np.save(os.path.join(args.save_output, f"input_{name}.npy"), a)
    dev = torch.device(args.device)
    module.to(dev)

    report = {
        "torch_peer": 1,
        "model": os.path.abspath(args.model),
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version() if args.device == "cuda" else None,
        "device": {"backend": args.device,
                   "name": torch.cuda.get_device_name(0) if args.device == "cuda"
                   else cpu_name(),
                   "threads": torch.get_num_threads()},
        "input_shapes": {k: list(v.shape) for k, v in host_inputs.items()},
        "warmup": args.warmup, "iterations": args.iterations,
        "weights_bytes": int(sum(b.numel() * b.element_size() for b in module.buffers())),
        "variants": {},
    }
    for v in variants:
        print(f"torch_peer: {os.path.basename(args.model)} {v} ...", file=sys.stderr, flush=True)
        try:
            report["variants"][v] = run_variant(module, host_inputs, v, args, dev, args.save_output)
        except RuntimeError as e:  # e.g. out of memory: report it, go on with the others
            report["variants"][v] = {"error": str(e).splitlines()[0]}
            if args.device == "cuda":
                torch.cuda.empty_cache()
    text = json.dumps(report)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
