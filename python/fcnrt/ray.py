"""Segmentation of whole datasets on a Ray cluster.

    python -m fcnrt.ray segment MODEL INPUTS... -o OUT [--address ADDR]
                        [--gpus-per-worker G] [--cpus-per-worker C] [--workers N]
                        [--probs] [--overlay] [--opacity A] [--max-memory BYTES]
                        [--halo reflect|zero]

INPUTS are listed as `fcnrt segment` lists them (fcnrt.list_images: image
files, directories of them, each page of a multi-page TIFF an image of its
own), on the driver; every node must see INPUTS and OUT at the same paths (a
shared file system). One Ray actor per worker keeps the model loaded (on a GPU
with --gpus-per-worker, else on CPUs) and writes each image's files with the
C++ output writer (fcnrt.Model.segment_file): the names and the all-or-none
writing of `fcnrt segment`. An image whose files are all in OUT already is
skipped, so an interrupted job continues where it stopped. An image that fails
is reported and the others carry on (exit code 1 at the end, as segment). A
worker that dies is restarted by Ray and its image segmented again: since
files appear only complete, nothing is lost or left half-written.

Plain Ray actors, not Ray Data: Ray Data would decode the images itself (with
PIL, losing what fcnrt reads: 16-bit samples as stored, TIFF pages, tiling
under a memory budget on huge scans) and pull in pyarrow and pandas; here the
workers decode with fcnrt, and only file names travel.
"""
import argparse
import os
import sys
import time

import fcnrt

OUTPUT_SUFFIXES = ("_mask.png", "_labels.png")


def expected_outputs(out, stem, probs, overlay):
    """The files `fcnrt segment` writes for one image with these options."""
    suffixes = list(OUTPUT_SUFFIXES)
    if overlay:
        suffixes.append("_overlay.png")
    if probs:
        suffixes.append("_probs.npy")
    return [os.path.join(out, stem + s) for s in suffixes]


def parse_bytes(text):
    """'2G', '512M', '1000000': bytes (K, M, G, T are powers of 1024), as segment's --max-memory."""
    units = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20,
             "MB": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30,
             "T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40}
    t = text.strip()
    i = len(t)
    while i > 0 and not (t[i - 1].isdigit() or t[i - 1] == "."):
        i -= 1
    try:
        value, unit = float(t[:i]), t[i:].upper()
    except ValueError:
        value, unit = 0, None
    if unit not in units or not value > 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M or 2G, got '{text}'")
    return max(1, int(value * units[unit]))


class Segmenter:
    """One worker: the model loaded once, then one image at a time."""

    def __init__(self, model, device, options):
        self.model = fcnrt.Model(model, device=device)
        self.options = options

    def pid(self):
        return os.getpid()

    def segment(self, entry, out):
        """Writes the image's files; returns (stem, None) or (stem, error message)."""
        try:
            self.model.segment_file(entry["path"], out, page=entry["page"], stem=entry["stem"],
                                    **self.options)
            return entry["stem"], None
        except fcnrt.Error as e:
            return entry["stem"], str(e)
        except MemoryError:
            return entry["stem"], f"{entry['path']}: out of memory"


def segment(args):
    import ray
    from ray.util import ActorPool

    entries = fcnrt.list_images(args.inputs)
    os.makedirs(args.output, exist_ok=True)
    todo = [e for e in entries
            if not all(os.path.exists(p) for p in
                       expected_outputs(args.output, e["stem"], args.probs, args.overlay))]
    if len(todo) < len(entries):
        print(f"fcnrt.ray: note: {len(entries) - len(todo)} of {len(entries)} images already "
              f"have their files in {args.output}, skipped", file=sys.stderr)
    if not todo:
        return 0

    ray.init(address=args.address, log_to_driver=False)
    resources = ray.cluster_resources()
    if args.gpus_per_worker > 0:
        device = "cuda"
        workers = int(resources.get("GPU", 0) // args.gpus_per_worker)
        if workers < 1:
            raise SystemExit(f"fcnrt.ray: error: the cluster has {resources.get('GPU', 0):g} "
                             f"GPUs, fewer than --gpus-per-worker {args.gpus_per_worker:g}")
    else:
        device = "cpu"
        workers = int(resources.get("CPU", 1) // args.cpus_per_worker)
    workers = max(1, min(args.workers or workers, len(todo)))
    options = {"probs": args.probs, "overlay": args.overlay, "opacity": args.opacity,
               "max_memory": args.max_memory, "halo": args.halo}
    # A worker that dies is restarted (the model loaded again) and its image
    # segmented again. Its kernels use the CPUs Ray gives it, no more: Ray sets
    # OMP_NUM_THREADS to an actor's num_cpus.
    actor = ray.remote(Segmenter).options(
        num_cpus=args.cpus_per_worker, num_gpus=args.gpus_per_worker, max_restarts=-1,
        max_task_retries=-1)
    pool = ActorPool([actor.remote(args.model, device, options) for _ in range(workers)])
    print(f"fcnrt.ray: {len(todo)} images on {workers} {device} workers", file=sys.stderr)

    failures = 0
    started = time.monotonic()
    for done, (stem, error) in enumerate(
            pool.map_unordered(lambda a, e: a.segment.remote(e, args.output), todo), 1):
        if error:
            failures += 1
            print(f"fcnrt.ray: error: {error}", file=sys.stderr)
        if not args.quiet:
            print(f"fcnrt.ray: progress: {done}/{len(todo)} images ({stem}), "
                  f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    remove_stale_temporaries(args.output, [e["stem"] for e in todo])
    return 1 if failures else 0


def remove_stale_temporaries(out, stems):
    """Once every worker is done: the hidden temporaries (.NAME.tmp-XXXXXXXX,
    engine/io/pending_file.h) that a worker killed while writing left behind."""
    prefixes = tuple("." + stem + "_" for stem in stems)
    removed = 0
    for name in os.listdir(out):
        if name.startswith(prefixes) and ".tmp-" in name:
            os.remove(os.path.join(out, name))
            removed += 1
    if removed:
        print(f"fcnrt.ray: note: removed {removed} temporaries left by workers that died",
              file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fcnrt.ray",
                                     description="fcnrt segmentation of whole datasets on Ray")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("segment", help="segment images into OUT, as fcnrt segment")
    p.add_argument("model", help="MODEL.json or MODEL.onnx (a dense model)")
    p.add_argument("inputs", nargs="+", help="image files and directories")
    p.add_argument("-o", "--output", required=True, help="OUT: where the files go")
    p.add_argument("--address", default=None,
                   help="the Ray cluster, e.g. ray://HEAD:10001 or HEAD:6379 (default: "
                        "RAY_ADDRESS, else a local Ray started for this job)")
    p.add_argument("--gpus-per-worker", type=float, default=0,
                   help="GPUs per worker (one worker per G GPUs, device cuda); 0: CPU workers")
    p.add_argument("--cpus-per-worker", type=float, default=1,
                   help="CPUs per worker (its kernels' threads; default 1)")
    p.add_argument("--workers", type=int, default=0,
                   help="how many workers (default: as many as the cluster's GPUs or CPUs allow)")
    p.add_argument("--probs", action="store_true", help="also STEM_probs.npy")
    p.add_argument("--overlay", action="store_true", help="also STEM_overlay.png")
    p.add_argument("--opacity", type=float, default=0.5, help="the mask's weight in the overlay")
    p.add_argument("--max-memory", type=parse_bytes, default=0,
                   help="each worker's budget, as segment's --max-memory")
    p.add_argument("--halo", choices=("reflect", "zero"), default="reflect")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        return segment(args)
    except fcnrt.Error as e:
        print(f"fcnrt.ray: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
