#!/usr/bin/env python3
"""fcnrt against onnxruntime on the CPU, on ONNX files both read as they are
(fcnrt's own ONNX import; no fcnrt graph, no re-export): for models that
bench/compare_models.py cannot rebuild from an fcnrt graph, such as the
torchvision exports of bench/export_torchvision_onnx.py.

    python3 bench/compare_onnx_cpu.py --fcnrt build/fcnrt --ort-python VENV/bin/python
        [--threads 2] [--warmup 1] [--iterations 3] [--rounds 1] [--json-out FILE]
        MODEL.onnx@HxW ...

Per model: one seeded standard-normal float32 input (numpy default_rng(0)) of
shape [1, 3, H, W] shared by both engines; `fcnrt run` and onnxruntime's saved
output on it give the max-norm relative error (max |fcnrt - ort| / max |ort|);
`fcnrt bench --json --input` (with --profile in the first round) and
bench/ort_peer.py (CPUExecutionProvider, --threads intra-op, ORT_ENABLE_ALL) the
timings, each engine once per round, interleaved; each engine's lowest median
over the rounds is reported. OMP_NUM_THREADS = --threads for every process.
A model fcnrt refuses is reported with fcnrt's error and onnxruntime's time.
Prints a Markdown table; --json-out keeps everything (commands, stats, loads).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(cmd, env):
    full = dict(os.environ, **env)
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, env=full, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} exited {p.returncode}: "
                           + (p.stderr.strip().splitlines() or ["(no message)"])[-1])
    return p.stdout


def last_json(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("no JSON on stdout")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", metavar="MODEL.onnx@HxW")
    ap.add_argument("--fcnrt", required=True)
    ap.add_argument("--ort-python", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out-dir", default="/tmp/fcnrt-onnx-cpu")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    env = {"OMP_NUM_THREADS": str(args.threads)}
    records = []
    for spec in args.models:
        path, size = spec.split("@")
        h, w = (int(v) for v in size.split("x"))
        name = os.path.splitext(os.path.basename(path))[0]
        work = os.path.join(args.out_dir, name)
        os.makedirs(work, exist_ok=True)
        x = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
        in_path = os.path.join(work, "input.npy")
        np.save(in_path, x)
        rec = {"model": path, "size": size, "load_before": loadavg(), "fcnrt": [], "ort": [],
               "errors": []}
        print(f"compare_onnx_cpu: {name} ...", file=sys.stderr, flush=True)
        fc_out = os.path.join(work, "fcnrt_scores.npy")
        try:
            run([args.fcnrt, "run", path, "--device", "cpu", "--input", f"image={in_path}",
                 "--output", f"scores={fc_out}", "--quiet"], env)
        except RuntimeError as e:
            rec["errors"].append(f"fcnrt run: {e}")
        ort_dir = os.path.join(work, "ort")
        for r in range(args.rounds):
            if not any(e.startswith("fcnrt") for e in rec["errors"]):
                cmd = [args.fcnrt, "bench", path, "--device", "cpu", "--input", in_path,
                       "--warmup", str(args.warmup), "--iterations", str(args.iterations), "--json"]
                if r == 0:
                    cmd.append("--profile")
                try:
                    rec["fcnrt"].append(last_json(run(cmd, env)))
                except RuntimeError as e:
                    rec["errors"].append(f"fcnrt bench: {e}")
            cmd = [args.ort_python, os.path.join(HERE, "ort_peer.py"), path, "--threads",
                   str(args.threads), "--input", f"image={in_path}", "--warmup", str(args.warmup),
                   "--iterations", str(args.iterations)]
            if r == 0:
                cmd += ["--save-output", ort_dir]
            rec["ort"].append(last_json(run(cmd, env)))
        rec["load_after"] = loadavg()
        ort_out = os.path.join(ort_dir, "scores.npy")
        if os.path.exists(fc_out) and os.path.exists(ort_out):
            a, b = np.load(fc_out), np.load(ort_out)
            rec["error"] = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
        fc_ms = min((f["compute_ms"]["median"] for f in rec["fcnrt"]), default=None)
        ort_ms = min(o["compute_ms"]["median"] for o in rec["ort"])
        rec["fcnrt_ms"], rec["ort_ms"] = fc_ms, ort_ms
        rec["speed_ratio"] = ort_ms / fc_ms if fc_ms else None
        records.append(rec)
    print("| model | input | fcnrt ms | onnxruntime ms | speed ratio (ort / fcnrt) | max-norm rel. error | load before / after |")
    print("|---|---|---:|---:|---:|---|---|")
    for r in records:
        fc = f"{r['fcnrt_ms']:,.1f}" if r["fcnrt_ms"] else "refused: " + "; ".join(r["errors"])
        ratio = f"{r['speed_ratio']:.2f}x" if r["speed_ratio"] else "-"
        err = f"{r['error']:.2e}" if "error" in r else "-"
        print(f"| {os.path.basename(r['model'])} | {r['size']} | {fc} | {r['ort_ms']:,.1f} | {ratio} | "
              f"{err} | {r['load_before']} / {r['load_after']} |")
    if args.json_out:
        meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "argv": sys.argv,
                "threads": args.threads}
        with open(args.json_out, "w") as f:
            json.dump({"meta": meta, "models": records}, f, indent=1)


if __name__ == "__main__":
    main()
