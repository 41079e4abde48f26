#!/usr/bin/env python3
"""Whole-model comparison: fcnrt against its peers on the same machine, in one run.

    python3 bench/compare_models.py --fcnrt build/fcnrt --device cuda|cpu [--zoo DIR]
        [--models SPEC ...] [--warmup N] [--iterations N] [--threads N]
        [--out-dir DIR] [--results FILE.md] [--patch-batch B] [--no-profile]
        [--no-torch-cpu] [--torch-python PY] [--ort-python PY] [--analysis FILE.md]
    python3 bench/compare_models.py --render RAW.json [--analysis FILE.md] [--results FILE.md]

Needs only numpy itself; the peers run in their own processes:

- cuda: bench/torch_peer.py (PyTorch with cuDNN, --torch-python) in four variants:
  NCHW and channels_last, each strict float32 (TF32 off, like fcnrt) and with TF32.
- cpu: bench/export_onnx_peer.py (--torch-python, torch 1.13 here) exports the model
  at the benchmarked shape, bench/ort_peer.py (--ort-python) times it with
  onnxruntime's CPU provider on --threads intra-op threads; and (unless
  --no-torch-cpu) bench/torch_peer.py --device cpu with the same threads.

A SPEC is NAME[@HxW][#ITERATIONS]: NAME a zoo model (unet, fcn8s, tiramisu,
dilation, segnet, cellpatch: --zoo/NAME.json, generated with tools/make_zoo.py
--only NAME when missing), cell-dense (models/bsubtilis-patch31/dense.json),
cell-patch (its patch.json, the patchwise baseline: a batch of --patch-batch 31x31
patches per run, per-image time EXTRAPOLATED as ceil(pixels / B) batches, pixels
= --cell-pixels, 1040x1392 by default), or a path to a model JSON; #N overrides
--iterations for that model. The default list is the issue's: U-Net at 572x572 and
1024x1024, FC-DenseNet103 at 512x512, FCN-8s at 500x500, the dilation net at its
canonical 900x900 (models/zoo/README.md), the cell model dense on a 1040x1392 image
with its 15-pixel halo (1070x1422 in, 1040x1392 scores out, as `fcnrt segment`
runs it) and its patchwise baseline.

Per model: one seeded standard-normal input (.npy) shared by everything; `fcnrt
run` and each peer's saved output on it give the correctness check (max-norm
relative error against fcnrt's output, <= --tolerance expected for strict float32;
TF32 is reported, not held to it); `fcnrt bench --json [--profile] --input` the
timing (and per-node times, FLOPs and bytes); each peer its timing. OMP_NUM_THREADS
= --threads for every process on the CPU.

Writes --results (default bench/results/DATE-SLUG-models.md, DATE from `date +%F`,
SLUG "cpu" or the GPU's name) and the raw results as JSON beside it (same name,
.json), with device, clocks, driver, commit, the exact commands, the tables, the
physical floor of each model (max(FLOPs / peak FLOP/s, bytes / memory bandwidth):
fcnrt bench's device peak and bandwidth; bytes = the sum over fcnrt's nodes of every
tensor and weight each reads or writes, once, from --profile) and computed facts
for the analysis; --analysis FILE adds a hand-written analysis section.
--render RAW.json rewrites the Markdown from a raw JSON without running anything
(and refreshes the derived figures stored in that JSON).
"""

import argparse
import datetime
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CELL_DIR = os.path.join(ROOT, "models", "bsubtilis-patch31")
ZOO_MODELS = {"unet": "572x572", "fcn8s": "500x500", "tiramisu": "224x224",
              "dilation": "900x900", "segnet": "360x480", "cellpatch": "31x31"}
DEFAULT_MODELS = ["unet@572x572", "unet@1024x1024", "tiramisu@512x512", "fcn8s@500x500",
                  "dilation@900x900", "cell-dense@1070x1422", "cell-patch"]
CUDA_VARIANTS = ["nchw-fp32", "cl-fp32", "nchw-tf32", "cl-tf32"]
# Map a peer's op names onto fcnrt's for the per-op table.
ORT_OPS = {"Conv": "conv", "FusedConv": "conv", "ConvTranspose": "conv_transpose",
           "MaxPool": "max_pool", "AveragePool": "avg_pool", "Concat": "concat", "Slice": "crop",
           "Relu": "relu", "BatchNormalization": "batch_norm", "Add": "add", "Mul": "mul",
           "Softmax": "softmax", "ArgMax": "argmax", "Resize": "resize", "Pad": "pad",
           "Gemm": "dense", "FusedGemm": "dense", "MatMul": "dense", "Flatten": "flatten",
           "ReorderInput": "layout reorder", "ReorderOutput": "layout reorder",
           "GlobalAveragePool": "global_avg_pool", "ScatterElements": "max_unpool"}


class Failure(Exception):
    pass


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


class Runner:
    """Runs commands, logging each exact command line once for the report."""

    def __init__(self, log_path):
        self.commands = []
        self.log = open(log_path, "a")

    def wait_quiet(self, limit, max_wait):
        """Waits (at most max_wait s) until the 1-minute load average is below limit;
        returns the load average when it went on."""
        start = time.time()
        while limit and time.time() - start < max_wait:
            if float(loadavg().split()[0]) < limit:
                break
            time.sleep(5)
        return loadavg()

    def __call__(self, cmd, env=None, what=""):
        env_shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        shown = (env_shown + " " if env_shown else "") + " ".join(shlex.quote(str(c)) for c in cmd)
        self.commands.append(shown)
        print(f"+ {shown}", file=sys.stderr, flush=True)
        self.log.write(f"\n+ {shown}\n")
        self.log.flush()
        start = time.perf_counter()
        r = subprocess.run([str(c) for c in cmd], env=dict(os.environ, **(env or {})),
                           capture_output=True, text=True)
        self.log.write(r.stdout[-20000:] + r.stderr[-20000:])
        self.log.write(f"(exit {r.returncode}, {time.perf_counter() - start:.1f} s)\n")
        self.log.flush()
        if r.returncode != 0:
            tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-3:]
            raise Failure(f"{what or cmd[0]} failed (exit {r.returncode}): " + " | ".join(tail))
        return r.stdout


def last_json(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise Failure("no JSON on stdout")
    return json.loads(lines[-1])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def compare(got_path, want_path):
    """Max-norm relative error of got against want (fcnrt's); integers: share differing."""
    got, want = np.load(got_path), np.load(want_path)
    if got.shape != want.shape:
        return {"error": float("inf"), "note": f"shape {list(got.shape)} vs {list(want.shape)}"}
    if np.issubdtype(want.dtype, np.integer):
        d = int(np.count_nonzero(got.astype(np.int64) != want.astype(np.int64)))
        return {"error": d / max(want.size, 1), "note": f"{d} of {want.size} differ"}
    w = want.astype(np.float64)
    err = float(np.abs(got.astype(np.float64) - w).max() / max(np.abs(w).max(), 1e-30))
    return {"error": err, "note": f"{err:.2e}"}


def median(stats):
    return None if not stats else stats.get("median")


def fmt_ms(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:,.0f}"


def fmt_ratio(v):
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}x"


def fmt_bytes(b):
    if b is None:
        return "-"
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= div:
            return f"{b / div:.1f} {unit}"
    return f"{b:.0f} B"


def find_python(module, candidates):
    for py in candidates:
        exe = shutil.which(py) if not os.path.isabs(py) else py
        if exe and subprocess.run([exe, "-c", f"import {module}"],
                                  capture_output=True).returncode == 0:
            return exe
    raise SystemExit(f"compare_models: no python among {candidates} imports {module}")


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------
# Machine facts
# --------------------------------------------------------------------------


def machine_facts(device):
    facts = {"hostname_cores": os.cpu_count(), "load_average_start": loadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        facts["cpu"] = names[0] if names else "?"
    except OSError:
        facts["cpu"] = "?"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split(":", 1)[1].split()[0])
            facts["memory_total"] = f"{kib / (1 << 20):.1f} GiB RAM"
    except OSError:
        pass
    if device == "cuda":
        facts["gpu"] = nvidia_smi()
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "engine",
                                "kernels", "tools"], capture_output=True, text=True).stdout.strip()
        facts["commit"] = (commit or "?") + (" (engine/kernels/tools with uncommitted changes)"
                                             if dirty else "")
    except OSError:
        facts["commit"] = "?"
    return facts


def nvidia_smi():
    q = ("name,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,driver_version,memory.total,"
         "power.limit")
    try:
        r = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"],
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            vals = [v.strip() for v in r.stdout.strip().splitlines()[0].split(",")]
            return dict(zip(q.split(","), vals))
    except OSError:
        pass
    return {"name": "?", "note": "nvidia-smi failed"}


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def parse_spec(text, args):
    m = re.fullmatch(r"([^@#]+)(?:@(\d+)x(\d+))?(?:#(\d+))?", text)
    if not m:
        raise SystemExit(f"compare_models: bad model spec {text!r} (NAME[@HxW][#N])")
    name = m.group(1)
    spec = {"spec": text, "name": name,
            "iterations": int(m.group(4)) if m.group(4) else args.iterations,
            "patchwise": False, "batch": None}
    if name in ZOO_MODELS:
        spec["path"] = os.path.join(args.zoo, f"{name}.json")
        spec["zoo"] = name
        default_size = ZOO_MODELS[name]
    elif name == "cell-dense":
        spec["path"] = os.path.join(CELL_DIR, "dense.json")
        default_size = "1070x1422"
    elif name == "cell-patch":
        spec["path"] = os.path.join(CELL_DIR, "patch.json")
        spec["patchwise"] = True
        spec["batch"] = args.patch_batch
        default_size = "31x31"
    elif name.endswith(".json"):
        spec["path"] = os.path.abspath(name)
        default_size = None
    else:
        raise SystemExit(f"compare_models: unknown model {name!r} (zoo: {', '.join(ZOO_MODELS)}; "
                         "cell-dense, cell-patch, or a path to a .json)")
    size = f"{m.group(2)}x{m.group(3)}" if m.group(2) else default_size
    spec["size"] = [int(v) for v in size.split("x")] if size else None
    spec["label"] = f"{name}@{size}" if size else name
    if spec["patchwise"]:
        spec["label"] = f"{name} (batch {spec['batch']})"
    return spec


def ensure_zoo(specs, args, run):
    missing = sorted({s["zoo"] for s in specs if s.get("zoo") and not os.path.exists(s["path"])})
    if missing:
        os.makedirs(args.zoo, exist_ok=True)
        run([args.torch_python, os.path.join(ROOT, "tools", "make_zoo.py"), args.zoo, "--only",
             *missing], what="make_zoo")


def batch_open_copy(path, out_dir):
    """The patch model with an open batch dim (its JSON fixes batch 1), beside a link
    to its weights, so that fcnrt bench --batch and the peers can run B patches."""
    with open(path) as f:
        graph = json.load(f)
    for inp in graph["inputs"]:
        inp["shape"][0] = None
    d = os.path.join(out_dir, "patch-batched")
    os.makedirs(d, exist_ok=True)
    if graph.get("weights"):
        link = os.path.join(d, graph["weights"])
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(os.path.dirname(os.path.abspath(path)), graph["weights"]), link)
    out = os.path.join(d, os.path.basename(path))
    with open(out, "w") as f:
        json.dump(graph, f, indent=1)
    return out


def input_shapes(path, size, batch):
    with open(path) as f:
        graph = json.load(f)
    shapes = {}
    for inp in graph["inputs"]:
        s = list(inp["shape"])
        s[0] = batch if batch else (s[0] or 1)
        for a in (2, 3):
            if s[a] is None:
                if size is None:
                    raise Failure(f"{path}: input {inp['name']} has open dims; give @HxW")
                s[a] = size[a - 2]
        shapes[inp["name"]] = s
    return shapes, list(graph["outputs"])


# --------------------------------------------------------------------------
# One model
# --------------------------------------------------------------------------


def bench_one(spec, args, run):
    rec = {"spec": spec["spec"], "label": spec["label"], "model": spec["path"],
           "patchwise": spec["patchwise"], "batch": spec["batch"], "iterations": spec["iterations"],
           "warmup": args.warmup,
           "errors": [], "peers": {}, "correctness": {}}
    tag = slug(spec["label"])
    work = os.path.join(args.out_dir, tag)
    os.makedirs(work, exist_ok=True)
    model = spec["path"]
    if spec["patchwise"]:
        model = batch_open_copy(model, args.out_dir)
        rec["model_run"] = model
    shapes, outputs = input_shapes(model, spec["size"], spec["batch"])
    rec["input_shapes"] = shapes
    if len(shapes) != 1:
        raise Failure("only one-input models are supported (fcnrt bench --input)")
    (in_name, in_shape), = shapes.items()
    in_path = os.path.join(work, f"input_{in_name}.npy")
    np.save(in_path, np.random.default_rng(args.seed).standard_normal(in_shape).astype(np.float32))
    env = {"OMP_NUM_THREADS": str(args.threads)} if args.device == "cpu" else {}
    rec["load_average_before"] = loadavg()

    # fcnrt: one run for the output, then the benchmark.
    fc_out = os.path.join(work, "fcnrt")
    os.makedirs(fc_out, exist_ok=True)
    # fcnrt in strict float32 (--precision fp32; its CUDA default is tf32), as the
    # tolerance expects; its tensor-core precisions are compared by tools/gpu-check.sh.
    cmd = [args.fcnrt, "run", model, "--device", args.device, "--precision", "fp32",
           "--input", f"{in_name}={in_path}"]
    for o in outputs:
        cmd += ["--output", f"{o}={os.path.join(fc_out, o + '.npy')}"]
    run(cmd, env, "fcnrt run")
    def fcnrt_bench(first):
        cmd = [args.fcnrt, "bench", model, "--device", args.device, "--precision", "fp32",
               "--input", in_path,
               "--warmup", str(args.warmup), "--iterations", str(spec["iterations"]), "--json"]
        if first and not args.no_profile:
            cmd.append("--profile")
        return last_json(run(cmd, env, "fcnrt bench"))

    def torch_peer(first):
        cmd = [args.torch_python, os.path.join(HERE, "torch_peer.py"), model, "--device",
               args.device, "--input", f"{in_name}={in_path}", "--warmup", str(args.warmup),
               "--iterations", str(spec["iterations"])]
        if args.device == "cpu":
            cmd += ["--threads", str(args.threads)]
        if first:
            cmd += ["--save-output", os.path.join(work, "torch")]
            if not args.no_profile:
                cmd += ["--profile", "--profile-iterations", "1" if args.device == "cpu" else "3"]
        return last_json(run(cmd, env or None, "torch_peer"))

    def ort_peer(first):
        h, w = in_shape[2], in_shape[3]
        onnx_dir = os.path.join(args.out_dir, "onnx")
        os.makedirs(onnx_dir, exist_ok=True)
        onnx = os.path.join(onnx_dir, f"{os.path.splitext(os.path.basename(model))[0]}_"
                            f"{h}x{w}_b{in_shape[0]}.onnx")
        export = {"onnx": onnx, "reused": True}
        if not os.path.exists(onnx) or os.path.getmtime(onnx) < os.path.getmtime(model):
            cmd = [args.torch_python, os.path.join(HERE, "export_onnx_peer.py"), model, "-o",
                   onnx, "--size", f"{h}x{w}", "--batch", str(in_shape[0])]
            export = last_json(run(cmd, None, "export_onnx_peer"))
        d = os.path.join(work, "ort")
        cmd = [args.ort_python, os.path.join(HERE, "ort_peer.py"), onnx, "--threads",
               str(args.threads), "--input", f"{in_name}={in_path}", "--warmup",
               str(args.warmup), "--iterations", str(spec["iterations"])]
        if first:
            cmd += ["--save-output", d]
            if not args.no_profile:
                cmd += ["--profile", "--profile-iterations", "1"]
        res = last_json(run(cmd, env, "ort_peer"))
        res["export"] = export
        if first:
            res["saved_outputs"] = d
        return res

    engines = [("fcnrt", fcnrt_bench)]
    if args.device == "cuda":
        engines.append(("torch", torch_peer))
    else:
        engines.append(("onnxruntime", ort_peer))
        if not args.no_torch_cpu:
            engines.append(("torch", torch_peer))

    # Rounds: every engine once per round, interleaved; each engine's least disturbed
    # round (lowest median) is reported, all rounds are kept (a shared machine only
    # ever adds time).
    rounds = {name: [] for name, _ in engines}
    for r in range(args.rounds):
        for name, fn in engines:
            load = run.wait_quiet(args.quiet_load, args.quiet_wait)
            try:
                res = fn(r == 0)
            except Failure as e:
                if name == "fcnrt":
                    raise
                rec["errors"].append(f"{name} (round {r + 1}): {e}")
                print(f"compare_models: {spec['label']}: {name}: {e}", file=sys.stderr)
                continue
            res["load_average_before"] = load
            rounds[name].append(res)
    rec["rounds"] = {name: [round_summary(res) for res in runs] for name, runs in rounds.items()}
    rec["fcnrt"] = pick_best(rounds["fcnrt"])
    for name, runs in rounds.items():
        if name != "fcnrt" and runs:
            rec["peers"][name] = pick_best(runs)

    # Correctness: every peer output against fcnrt's on the same input.
    for pname, res in rec["peers"].items():
        variants = res.get("variants", {"": res}) if pname == "torch" else {"": res}
        for vname, vres in variants.items():
            d = vres.get("saved_outputs") or res.get("saved_outputs")
            if not d:
                continue
            key = pname + (f" {vname}" if vname else "")
            errs = {}
            for o in outputs:
                p = os.path.join(d, f"{o}.npy")
                if os.path.exists(p):
                    errs[o] = compare(p, os.path.join(fc_out, o + ".npy"))
            rec["correctness"][key] = errs
    rec["load_average_after"] = loadavg()
    return rec


def round_summary(res):
    """The medians of one round, for the record."""
    if "variants" in res:
        return {"load_average_before": res.get("load_average_before"),
                "compute_ms": {v: median(r.get("compute_ms")) for v, r in res["variants"].items()}}
    key = "latency_ms" if "latency_ms" in res else "compute_ms"
    return {"load_average_before": res.get("load_average_before"), key: median(res.get(key))}


def pick_best(runs):
    """The round with the lowest median (per variant for torch_peer's), keeping the
    first round's profile and saved outputs."""
    first = runs[0]
    if "variants" in first:
        best = json.loads(json.dumps(first))
        for v in first["variants"]:
            cands = [r["variants"][v] for r in runs if "compute_ms" in r["variants"].get(v, {})]
            if not cands:
                continue
            b = dict(min(cands, key=lambda x: median(x["compute_ms"])))
            for k in ("nodes", "saved_outputs"):
                if k in first["variants"][v]:
                    b[k] = first["variants"][v][k]
            best["variants"][v] = b
        return best
    key = "latency_ms" if "latency_ms" in first else "compute_ms"
    b = dict(min(runs, key=lambda x: median(x.get(key)) or float("inf")))
    for k in ("nodes", "ops", "saved_outputs", "profile_iterations"):
        if k in first:
            b[k] = first[k]
    b["rounds"] = len(runs)
    return b


def machine_peak(recs):
    """The run's device peak and bandwidth: the highest that any of its fcnrt bench
    runs measured (on a shared CPU each run measures at its start, under whatever load
    there is then, and load only ever lowers the figure; on a GPU they are constants)."""
    devs = [r["fcnrt"]["device"] for r in recs if r.get("fcnrt")]
    peak = max((d.get("peak_tflops") or 0 for d in devs), default=0)
    bw = max((d.get("memory_gbs") or 0 for d in devs), default=0)
    src = next((d for d in devs if (d.get("peak_tflops") or 0) == peak), {})
    return peak, bw, src


def derive(rec, meta, peak, bw):
    """Ratios, floor and the facts for the analysis, from the raw results; peak in
    TFLOP/s, bw in GB/s (machine_peak)."""
    fb = rec["fcnrt"]
    flops = fb["flops"]
    nodes = fb.get("nodes") or []
    comp = median(fb["compute_ms"])
    lat = median(fb["latency_ms"])
    d = {"flops": flops, "fcnrt_compute_ms": comp, "fcnrt_latency_ms": lat,
         "peak_tflops": peak, "memory_gbs": bw,
         "achieved_tflops": flops / (comp * 1e9) if comp else None}
    d["share_of_peak"] = d["achieved_tflops"] / peak if peak and d["achieved_tflops"] else None
    bytes_moved = sum(n.get("bytes", 0.0) for n in nodes) if nodes else None
    d["bytes"] = bytes_moved
    floor_c = flops / (peak * 1e12) * 1e3 if peak else None
    floor_m = bytes_moved / (bw * 1e9) * 1e3 if bw and bytes_moved else None
    floors = [f for f in (floor_c, floor_m) if f]
    d["floor_compute_ms"], d["floor_memory_ms"] = floor_c, floor_m
    d["floor_ms"] = max(floors) if floors else None
    d["floor_bound"] = (None if not floors else "compute" if floor_c and floor_c >= (floor_m or 0)
                        else "memory")
    d["fcnrt_over_floor"] = comp / d["floor_ms"] if d["floor_ms"] else None

    # Peer medians: compute-only and end to end, per variant.
    peers = {}
    for pname, res in rec["peers"].items():
        if pname == "torch" and "variants" in res:
            for v, vr in res["variants"].items():
                if "error" in vr:
                    peers[f"torch {v}"] = {"error": vr["error"]}
                    continue
                peers[f"torch {v}"] = {"compute_ms": median(vr.get("compute_ms")),
                                       "e2e_ms": median(vr.get("e2e_ms")),
                                       "peak_device_bytes": vr.get("peak_device_bytes")}
        else:
            peers[pname] = {"compute_ms": median(res.get("compute_ms")),
                            "e2e_ms": median(res.get("compute_ms"))}
    for p in peers.values():
        if p.get("compute_ms"):
            p["speed_ratio_compute"] = p["compute_ms"] / comp  # > 1: fcnrt faster
            p["speed_ratio_e2e"] = p["e2e_ms"] / lat if p.get("e2e_ms") else None
            p["over_floor"] = p["compute_ms"] / d["floor_ms"] if d["floor_ms"] else None
    d["peers"] = peers

    # Patchwise: per image = ceil(pixels / batch) runs (extrapolated).
    if rec.get("patchwise"):
        batch = rec.get("batch") or next(iter(rec["input_shapes"].values()))[0]
        runs = math.ceil(meta["cell_pixels"] / batch)
        d["patchwise_runs_per_image"] = runs
        d["fcnrt_per_image_ms"] = lat * runs
        d["peers_per_image_ms"] = {k: (v.get("e2e_ms") or v.get("compute_ms") or 0) * runs
                                   for k, v in peers.items() if v.get("compute_ms")}

    # Profiles: each engine's per-node times come from its first round, which may have
    # run under another load than the round reported; they are scaled by (reported
    # median / profiled sum), recorded as "scale", so that they add up to the table's time.
    prof_sum = sum(n["ms"] for n in nodes)
    scale = comp / prof_sum if prof_sum else 1.0
    d["profile_scale"] = {"fcnrt": scale}
    top = []
    for n in sorted(nodes, key=lambda n: -n["ms"])[:meta.get("top_nodes", 6)]:
        ms = n["ms"] * scale
        nf = max(n["flops"] / (peak * 1e12) * 1e3 if peak else 0,
                 n["bytes"] / (bw * 1e9) * 1e3 if bw else 0)
        top.append({"name": n["name"], "op": n["op"], "ms": ms, "share": n.get("share"),
                    "gflops": n["flops"] / (ms * 1e6) if ms else None,
                    "gbs": n["bytes"] / (ms * 1e6) if ms else None,
                    "floor_ms": nf, "over_floor": ms / nf if nf else None})
    d["top_nodes"] = top
    ops = {"fcnrt": {}}
    for n in nodes:
        ops["fcnrt"][n["op"]] = ops["fcnrt"].get(n["op"], 0.0) + n["ms"] * scale
    for pname, res in rec["peers"].items():
        if pname == "torch" and "variants" in res:
            for v, vr in res["variants"].items():
                if vr.get("nodes") and median(vr.get("compute_ms")):
                    total = sum(n["ms"] for n in vr["nodes"])
                    k = median(vr["compute_ms"]) / total if total else 1.0
                    t = {}
                    for n in vr["nodes"]:
                        t[n["op"]] = t.get(n["op"], 0.0) + n["ms"] * k
                    ops[f"torch {v}"] = t
                    d["profile_scale"][f"torch {v}"] = k
        elif res.get("ops") and median(res.get("compute_ms")):
            total = sum(res["ops"].values())
            k = median(res["compute_ms"]) / total if total else 1.0
            t = {}
            for op, ms in res["ops"].items():
                name = ORT_OPS.get(op, op)
                t[name] = t.get(name, 0.0) + ms * k
            ops[pname] = t
            d["profile_scale"][pname] = k
    d["ops"] = ops
    rec["derived"] = d


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def peer_names(records):
    names = []
    for r in records:
        for k in r.get("derived", {}).get("peers", {}):
            if k not in names:
                names.append(k)
    order = ["onnxruntime", "torch"] + [f"torch {v}" for v in CUDA_VARIANTS + ["nchw-fp32"]]
    return sorted(names, key=lambda k: order.index(k) if k in order else 99)


def render(raw, analysis_text=None):
    meta = raw["meta"]
    recs = raw["models"]
    device = meta["device"]
    peak, bw, peak_src = machine_peak(recs)
    for r in recs:
        if r.get("fcnrt"):
            derive(r, meta, peak, bw)
    L = []
    title = "GPU" if device == "cuda" else "CPU"
    L.append(f"# fcnrt against its peers, whole models, {title}: {meta['device_name']}")
    L.append("")
    L.append(f"- date: {meta['date']} (started {meta['started']}, finished "
             f"{meta.get('finished', '?')})")
    if device == "cuda":
        g = meta["machine"].get("gpu", {})
        L.append(f"- GPU: {g.get('name', '?')}; SM clock {g.get('clocks.sm', '?')} (max "
                 f"{g.get('clocks.max.sm', '?')}), memory clock {g.get('clocks.mem', '?')} (max "
                 f"{g.get('clocks.max.mem', '?')}); driver {g.get('driver_version', '?')}; "
                 f"{g.get('memory.total', '?')}; power limit {g.get('power.limit', '?')}")
        g2 = meta.get("gpu_end")
        if g2:
            L.append(f"- at the end: SM clock {g2.get('clocks.sm', '?')}, memory clock "
                     f"{g2.get('clocks.mem', '?')}")
    L.append(f"- CPU: {meta['machine'].get('cpu', '?')}, {meta['machine'].get('hostname_cores')} "
             f"cores, {meta['machine'].get('memory_total', '?')}; load average (1, 5, 15 min) at "
             f"the start {meta['machine'].get('load_average_start')}, at the end "
             f"{meta.get('load_average_end', '?')}")
    L.append(f"- commit: {meta['machine'].get('commit')} (fcnrt bench reports "
             f"{meta.get('fcnrt_commit', '?')})")
    fdev = meta.get("fcnrt_device", {})
    L.append(f"- fcnrt device: {fdev.get('name', '?')}, {fdev.get('threads', '?')} threads; peak "
             f"{peak:.3f} TFLOP/s ({peak_src.get('peak_source', '?')}); memory {bw:.1f} GB/s "
             f"({peak_src.get('memory_source', '?')})"
             + ("; on the CPU every fcnrt bench measures these at its start, and the highest "
                "of the run is used for every model (load only lowers them; each model's own "
                "figure is in its facts)" if device == "cpu" else ""))
    for k, v in meta.get("peer_versions", {}).items():
        L.append(f"- {k}: {v}")
    rounds = meta.get("rounds", 1)
    L.append(f"- runs: {meta['warmup']} warm-up + {meta['iterations']} timed per model and engine "
             "(a model's #N overrides the timed count, see its row); medians"
             + (f"; {rounds} rounds per model, the engines interleaved within each, and each "
                "engine's lowest-median round reported (all rounds in the facts below)"
                if rounds > 1 else ""))
    if device == "cpu":
        L.append(f"- threads: {meta['threads']} for every engine (OMP_NUM_THREADS, onnxruntime "
                 "intra_op_num_threads with inter_op 1 and sequential execution, "
                 "torch.set_num_threads)")
    L.append("")
    L.append("Conventions: **speed ratio = peer time / fcnrt time** (above 1: fcnrt is faster). "
             "fcnrt's *compute* is its node loop (input already on the device), *latency* adds the "
             "H2D copy of the input and D2H of the outputs; the peers' *compute* is forward() "
             "on a device-resident input, *e2e* from a pinned host input to pinned host outputs "
             "(on the CPU both are the same run). Floor = max(FLOPs / peak, bytes / bandwidth) "
             "with fcnrt bench's peak and bandwidth; bytes = every tensor and weight each of "
             "fcnrt's nodes reads or writes, once (fcnrt bench --profile). Errors: max-norm "
             "relative error of each peer's output against fcnrt's on the same seeded input.")
    L.append("")
    L.append("Inputs: one seeded standard-normal float32 tensor per model (numpy default_rng("
             f"{meta.get('seed', 0)})), the same file for every engine. Peers: "
             + ("bench/torch_peer.py (the graph as an nn.Module of idiomatic torch ops, "
                "bench/torch_graph.py), cudnn.benchmark on, torch.inference_mode(); "
                "nchw/cl = NCHW / channels_last, fp32 = TF32 off (strict float32, as fcnrt), "
                "tf32 = TF32 on." if device == "cuda" else
                "onnxruntime on the ONNX export of bench/torch_graph.py's module "
                "(bench/export_onnx_peer.py, opset 17, fixed shapes); PyTorch CPU "
                "(bench/torch_peer.py, the same module, torch.inference_mode())."))
    L.append("")

    # Main table.
    peers = peer_names(recs)
    L.append("## Models")
    L.append("")
    head = ["model", "GFLOP", "fcnrt latency ms (H2D / compute / D2H)", "TFLOP/s", "% peak",
            "floor ms", "fcnrt / floor"]
    for p in peers:
        head += [f"{p} ms", f"speed ratio vs {p}"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for r in recs:
        if "derived" not in r:
            L.append(f"| {r['label']} | failed: {'; '.join(r.get('errors', []))[:200]} |")
            continue
        d, fb = r["derived"], r["fcnrt"]
        n_it = r["iterations"]
        iters = (f" ({n_it} timed run{'s' if n_it > 1 else ''})" if n_it != meta["iterations"]
                 else "")
        row = [r["label"] + iters, f"{d['flops'] / 1e9:,.1f}",
               f"{fmt_ms(d['fcnrt_latency_ms'])} ({fmt_ms(median(fb['h2d_ms']))} / "
               f"{fmt_ms(d['fcnrt_compute_ms'])} / {fmt_ms(median(fb['d2h_ms']))})",
               f"{d['achieved_tflops'] or 0:.3f}", f"{100 * (d['share_of_peak'] or 0):.1f}",
               fmt_ms(d["floor_ms"]) + (f" ({d['floor_bound']})" if d["floor_bound"] else ""),
               fmt_ratio(d["fcnrt_over_floor"])]
        for p in peers:
            pv = d["peers"].get(p)
            if not pv:
                row += ["-", "-"]
            elif "error" in pv:
                row += ["failed", "-"]
            else:
                e2e = (f" (e2e {fmt_ms(pv['e2e_ms'])})" if device == "cuda" and pv.get("e2e_ms")
                       else "")
                ratio = fmt_ratio(pv.get("speed_ratio_compute"))
                if device == "cuda" and pv.get("speed_ratio_e2e"):
                    ratio += f" (e2e {fmt_ratio(pv['speed_ratio_e2e'])})"
                row += [fmt_ms(pv["compute_ms"]) + e2e, ratio]
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    if any(r["label"] == "cell-dense@1070x1422" for r in recs):
        L.append("cell-dense at 1070x1422 is a 1040x1392 image with the 15-pixel halo the 31x31 "
                 "receptive field needs (reflected by `fcnrt segment`): 1040x1392 scores, one per "
                 "pixel, the same work as the patchwise baseline's 1,447,680 patches.")
        L.append("")

    # Patchwise.
    pw = [r for r in recs if r.get("patchwise") and "derived" in r]
    dense = next((r for r in recs if r["spec"].startswith("cell-dense") and "derived" in r), None)
    if pw:
        L.append("## Dense against patchwise (the cell model)")
        L.append("")
        for r in pw:
            d = r["derived"]
            n, _, ph, pw_ = next(iter(r["input_shapes"].values()))
            L.append(f"Patchwise: {r['label']}, one run = {n} patches of {ph}x{pw_}; a "
                     f"{meta['cell_pixels_label']} image is {meta['cell_pixels']:,} patches = "
                     f"{d['patchwise_runs_per_image']:,} runs, so **per-image times are "
                     f"EXTRAPOLATED** as runs x the median run (fcnrt: latency; peers: e2e).")
            L.append("")
            L.append("| engine | dense ms per image | patchwise ms per run | "
                     "patchwise ms per image "
                     "(extrapolated) | dense speedup |")
            L.append("|---|---|---|---|---|")
            dd = dense["derived"] if dense else None
            dense_f = dd["fcnrt_latency_ms"] if dd else None
            per = d["fcnrt_per_image_ms"]
            L.append(f"| fcnrt | {fmt_ms(dense_f)} | {fmt_ms(d['fcnrt_latency_ms'])} | "
                     f"{fmt_ms(per)} | "
                     f"{fmt_ratio(per / dense_f) if dense_f else '-'} |")
            for p, ms in d["peers_per_image_ms"].items():
                dp = dd["peers"].get(p, {}) if dd else {}
                dms = dp.get("e2e_ms") or dp.get("compute_ms")
                run_ms = d["peers"][p].get("e2e_ms") or d["peers"][p].get("compute_ms")
                L.append(f"| {p} | {fmt_ms(dms)} | {fmt_ms(run_ms)} | {fmt_ms(ms)} | "
                         f"{fmt_ratio(ms / dms) if dms else '-'} |")
            L.append("")

    # Correctness.
    L.append("## Correctness (each peer against fcnrt, same input)")
    L.append("")
    L.append(f"Expected: <= {meta['tolerance']:g} for strict float32; TF32 variants round the "
             "convolution inputs to 10-bit mantissas and are shown for information.")
    L.append("")
    L.append("| model | peer | output: max-norm relative error |")
    L.append("|---|---|---|")
    for r in recs:
        for peer, errs in r.get("correctness", {}).items():
            worst = max((e["error"] for e in errs.values()), default=None)
            strict = "tf32" not in peer
            mark = "" if worst is None or not strict or worst <= meta["tolerance"] else " **over**"
            text = ", ".join(f"{o}: {e['note']}" for o, e in errs.items()) or "no output saved"
            L.append(f"| {r['label']} | {peer} | {text}{mark} |")
    L.append("")

    # Facts per model.
    L.append("## Where the time goes (computed facts)")
    L.append("")
    for r in recs:
        if "derived" not in r:
            continue
        d, fb = r["derived"], r["fcnrt"]
        L.append(f"### {r['label']}")
        L.append("")
        facts = []
        lat, comp = d["fcnrt_latency_ms"], d["fcnrt_compute_ms"]
        xfer = (median(fb["h2d_ms"]) or 0) + (median(fb["d2h_ms"]) or 0)
        facts.append(f"fcnrt: {fmt_ms(lat)} ms latency, of which {100 * xfer / lat:.1f}% H2D+D2H; "
                     f"{d['achieved_tflops'] or 0:.3f} TFLOP/s = "
                     f"{100 * (d['share_of_peak'] or 0):.1f}% "
                     f"of peak; peak memory {fmt_bytes(fb['memory'].get('peak_device_bytes'))} "
                     f"(weights {fmt_bytes(fb['memory'].get('weights_bytes'))}, arena "
                     f"{fmt_bytes(fb['memory'].get('activation_arena_bytes'))})"
                     + (f"; this model's fcnrt bench measured the peak at "
                        f"{fb['device'].get('peak_tflops') or 0:.3f} TFLOP/s and "
                        f"{fb['device'].get('memory_gbs') or 0:.1f} GB/s"
                        if device == "cpu" else "")
                     + f"; load average {r.get('load_average_before')} at the model's start, "
                     f"{r.get('load_average_after')} at its end.")
        if len(next(iter(r.get("rounds", {}).values()), [])) > 1:
            parts = []
            for eng, rs in r["rounds"].items():
                cells = []
                for x in rs:
                    m = x.get("latency_ms", x.get("compute_ms"))
                    if isinstance(m, dict):
                        m = "/".join(fmt_ms(v) for v in m.values())
                    else:
                        m = fmt_ms(m)
                    cells.append(f"{m} (load {str(x.get('load_average_before', '?')).split()[0]})")
                parts.append(f"{eng} " + ", ".join(cells))
            facts.append("round medians, ms (1-min load before): " + "; ".join(parts) + ".")
        if d["floor_ms"]:
            facts.append(f"floor: compute {fmt_ms(d['floor_compute_ms'])} ms, memory "
                         f"{fmt_ms(d['floor_memory_ms'])} ms ({fmt_bytes(d['bytes'])} moved): "
                         f"{d['floor_bound']}-bound; fcnrt at {fmt_ratio(d['fcnrt_over_floor'])} "
                         "of the floor.")
        good = {k: v for k, v in d["peers"].items() if v.get("compute_ms")}
        if good:
            best = min(good, key=lambda k: good[k]["compute_ms"])
            b = good[best]
            verdict = ("faster" if b["speed_ratio_compute"] > 1.0 else "slower")
            facts.append(f"fastest peer: {best}, {fmt_ms(b['compute_ms'])} ms compute; fcnrt is "
                         f"{verdict} (speed ratio {fmt_ratio(b['speed_ratio_compute'])}); "
                         "that peer "
                         f"is at {fmt_ratio(b.get('over_floor'))} of the floor.")
            for k, v in good.items():
                if k.startswith("torch") and v.get("peak_device_bytes"):
                    facts.append(f"{k}: peak device memory {fmt_bytes(v['peak_device_bytes'])}.")
        for f in facts:
            L.append(f"- {f}")
        if d["top_nodes"]:
            L.append("")
            L.append("fcnrt's slowest nodes (bench --profile medians, from the first round, "
                     f"scaled by {d['profile_scale']['fcnrt']:.2f} to the reported median; node "
                     "floor = max(its FLOPs / peak, its bytes / bandwidth)):")
            L.append("")
            L.append("| node | op | ms | share | GFLOP/s | GB/s | node floor ms | ms / floor |")
            L.append("|---|---|---|---|---|---|---|---|")
            for n in d["top_nodes"]:
                L.append(f"| {n['name']} | {n['op']} | {fmt_ms(n['ms'])} | "
                         f"{100 * (n['share'] or 0):.1f}% | {n['gflops'] or 0:.1f} | "
                         f"{n['gbs'] or 0:.1f} | {fmt_ms(n['floor_ms'])} | "
                         f"{fmt_ratio(n['over_floor'])} |")
        ops = d.get("ops", {})
        if len(ops) > 1 or ops.get("fcnrt"):
            engines = list(ops)
            names = sorted({o for t in ops.values() for o in t},
                           key=lambda o: -max(t.get(o, 0.0) for t in ops.values()))
            L.append("")
            scales = ", ".join(f"{e} {k:.2f}" for e, k in d["profile_scale"].items())
            L.append("Per op, ms per run (each engine's profile from its first round, scaled to "
                     f"its reported median: {scales}; fcnrt's conv includes the ReLU and "
                     "batch_norm it fused at load, PyTorch runs those as their own ops, "
                     "onnxruntime fuses Conv+ReLU into FusedConv, counted as conv):")
            L.append("")
            L.append("| op | " + " | ".join(f"{e} ms" for e in engines) + " | " +
                     " | ".join(f"speed ratio vs {e}" for e in engines[1:]) + " |")
            L.append("|" + "---|" * (1 + 2 * len(engines) - 1))
            for o in names:
                f = ops["fcnrt"].get(o)
                cells = [fmt_ms(ops[e].get(o)) for e in engines]
                ratios = [fmt_ratio(ops[e][o] / f) if f and ops[e].get(o) else "-"
                          for e in engines[1:]]
                L.append(f"| {o} | " + " | ".join(cells + ratios) + " |")
        if r.get("errors"):
            L.append("")
            L.append("Errors: " + "; ".join(r["errors"]))
        L.append("")

    L.append("## Analysis")
    L.append("")
    if analysis_text:
        L.append(analysis_text.strip())
    else:
        L.append("_Not written yet: the computed facts above are the material (compare the per-op "
                 "tables; a speed ratio below 1 marks where fcnrt is slower)._")
    L.append("")
    L.append("## Commands")
    L.append("")
    L.append("```sh")
    L.append(meta["driver_command"])
    L.append("# which ran:")
    L.extend(meta["commands"])
    if meta.get("rendered_with"):
        L.append("# this report was then re-rendered from the raw JSON (no new measurements):")
        L.append(meta["rendered_with"])
    L.append("```")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Needs only"):])
    ap.add_argument("--fcnrt", help="the fcnrt binary")
    ap.add_argument("--device", choices=["cpu", "cuda"])
    ap.add_argument("--zoo", default="/tmp/zoo", help="generated zoo folder (default /tmp/zoo)")
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="SPEC")
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--patch-batch", type=int)
    ap.add_argument("--cell-pixels", default="1040x1392", help="HxW of the image the patchwise "
                    "time is extrapolated to")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--top-nodes", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every engine this many times, interleaved, and report each "
                    "engine's lowest-median round (for a shared machine)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--quiet-load", type=float, default=0.0,
                    help="before each timing, wait until the 1-min load average is below this "
                    "(0: do not wait)")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="the longest such wait, seconds (then it goes on regardless)")
    ap.add_argument("--no-torch-cpu", action="store_true")
    ap.add_argument("--torch-python", help="a python with torch (default: the first of "
                    "/usr/bin/python3, python3, this one that imports torch)")
    ap.add_argument("--ort-python", help="a python with onnxruntime (default: the first of "
                    "python3, this one, /usr/bin/python3 that imports onnxruntime)")
    ap.add_argument("--out-dir", help="work folder (default /tmp/fcnrt-models-DEVICE)")
    ap.add_argument("--results", help="Markdown report (default bench/results/DATE-SLUG-models.md)")
    ap.add_argument("--analysis", help="Markdown file: the hand-written analysis section")
    ap.add_argument("--render", metavar="RAW.json", help="only rewrite the report from raw JSON")
    args = ap.parse_args()
    analysis = open(args.analysis).read() if args.analysis else None

    if args.render:
        with open(args.render) as f:
            raw = json.load(f)
        out = args.results or os.path.splitext(args.render)[0] + ".md"
        raw["meta"]["rendered_with"] = " ".join(
            shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
        text = render(raw, analysis)  # also refreshes each model's "derived"
        with open(out, "w") as f:
            f.write(text)
        with open(args.render, "w") as f:
            json.dump(raw, f, indent=1)
        print(out)
        return 0
    if not args.fcnrt or not args.device:
        ap.error("--fcnrt and --device are required (or --render)")
    args.fcnrt = os.path.abspath(args.fcnrt)
    args.torch_python = args.torch_python or find_python(
        "torch", ["/usr/bin/python3", "python3", sys.executable])
    if args.device == "cpu":
        args.ort_python = args.ort_python or find_python(
            "onnxruntime", ["python3", sys.executable, "/usr/bin/python3"])
    cuda = args.device == "cuda"
    args.warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    args.iterations = args.iterations or (20 if cuda else 3)
    args.patch_batch = args.patch_batch or (8192 if cuda else 1024)
    ch, cw = [int(v) for v in args.cell_pixels.split("x")]
    args.cell_pixels_label = args.cell_pixels
    args.cell_pixels = ch * cw
    args.out_dir = os.path.abspath(args.out_dir or f"/tmp/fcnrt-models-{args.device}")
    os.makedirs(args.out_dir, exist_ok=True)
    run = Runner(os.path.join(args.out_dir, "commands.log"))

    started = datetime.datetime.now()
    date = subprocess.run(["date", "+%F"], capture_output=True, text=True).stdout.strip()
    machine = machine_facts(args.device)
    device_name = machine["gpu"].get("name", "?") if cuda else machine["cpu"]
    dslug = slug(device_name) if cuda else "cpu"
    results = args.results or os.path.join(HERE, "results", f"{date}-{dslug}-models.md")
    raw_path = os.path.splitext(results)[0] + ".json"

    specs = [parse_spec(s, args) for s in args.models]
    ensure_zoo(specs, args, run)
    meta = {"date": date, "started": started.strftime("%Y-%m-%d %H:%M:%S"), "device": args.device,
            "device_name": device_name, "machine": machine, "threads": args.threads,
            "warmup": args.warmup, "iterations": args.iterations, "tolerance": args.tolerance,
            "cell_pixels": args.cell_pixels, "cell_pixels_label": args.cell_pixels_label,
            "seed": args.seed, "rounds": args.rounds, "top_nodes": args.top_nodes,
            "driver_command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)]
                                       + sys.argv[1:]),
            "commands": run.commands, "peer_versions": {}}
    raw = {"meta": meta, "models": []}

    def save():
        meta["load_average_end"] = loadavg()
        meta["finished"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        if cuda:
            meta["gpu_end"] = nvidia_smi()
        os.makedirs(os.path.dirname(results), exist_ok=True)
        with open(raw_path, "w") as f:
            json.dump(raw, f, indent=1)
        with open(results, "w") as f:
            f.write(render(raw, analysis))

    for spec in specs:
        print(f"compare_models: {spec['label']} ...", file=sys.stderr, flush=True)
        try:
            rec = bench_one(spec, args, run)
        except Failure as e:
            rec = {"spec": spec["spec"], "label": spec["label"], "model": spec["path"],
                   "patchwise": spec["patchwise"], "iterations": spec["iterations"],
                   "errors": [str(e)]}
            print(f"compare_models: {spec['label']}: {e}", file=sys.stderr)
        raw["models"].append(rec)
        fb = rec.get("fcnrt")
        if fb:
            meta["fcnrt_commit"] = fb.get("commit")
            meta["fcnrt_device"] = fb.get("device")
        for pname, res in rec.get("peers", {}).items():
            if "onnxruntime" in res:
                meta["peer_versions"]["onnxruntime"] = (
                    f"{res['onnxruntime']} ({res.get('provider')}, {res.get('threads')} intra-op "
                    f"threads, inter-op 1, sequential, {res.get('graph_optimization')}); ONNX "
                    f"exported by torch.onnx (bench/export_onnx_peer.py)")
            if "torch" in res:
                cud = f", cuDNN {res['cudnn']}" if res.get("cudnn") else ""
                meta["peer_versions"]["PyTorch"] = (f"{res['torch']}{cud}, "
                                                    f"{res['device']['threads']} threads")
        save()  # after every model, so that a long run leaves a partial report
    print(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
