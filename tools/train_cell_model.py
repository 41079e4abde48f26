#!/usr/bin/python3
"""Trains the B. subtilis patch classifier and exports it as an fcnrt patch model.

Run with Debian's PyTorch (python3-torch, python3-numpy, python3-pil):

    /usr/bin/python3 tools/train_cell_model.py            # train, export, evaluate
    build/fcnrt densify models/bsubtilis-patch31/patch.json \
        -o models/bsubtilis-patch31/dense.json

The network is the one of the data's README (../shared/data/bsubtilis/README.md):
a 31x31 single-channel patch, conv 4x4 1->20 ReLU, max-pool 2/2, conv 3x3 20->40
ReLU, conv 3x3 40->80 ReLU, max-pool 2/2, conv 3x3 80->120 ReLU, conv 3x3 120->240
ReLU, dense 240->1000 ReLU, dense 1000->3, VALID everywhere. It classifies the
patch's centre pixel (row 15, column 15) as 0 other, 1 cell interior, 2 cell edge.

Data split (image phase_027, the only labelled one): the right quarter of the
image, columns >= 3*W/4, is held out. No training patch reaches into it, so a
training centre lies at least 15 columns left of it. Patches crossing the image
border are never used. Held-out pixels are those whose centre lies in the right
quarter and whose patch lies inside the image; their patches do read (unlabelled)
pixels up to 15 columns left of the boundary.

Training: Adam lr 1e-4, batches of 256 patches drawn equally from the three
classes (with replacement), each patch flipped/rotated by one of the 8 symmetries
of the square. Every --eval-every steps the held-out pixel accuracy is computed
on the whole held-out quarter; training stops when it has not improved for
--patience evaluations or after --minutes of wall time, and the best weights are
exported. (The held-out quarter thus also picks the stopping step: the reported
numbers carry that one selection.)

Evaluation uses the dense form of the net (strides removed, later kernels
dilated, dense layers as 1x1 convolutions: the computation `fcnrt densify`
produces), run in horizontal strips. Every layer is VALID, so strips of the
input overlapping by 30 rows give exactly the full-image output.

Exits 0 with a message when the data folder is absent.
"""

import argparse
import json
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from make_golden import write_safetensors  # noqa: E402  (the one safetensors writer of the scripts)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PATCH = 31
HALF = PATCH // 2  # the centre pixel's row and column within the patch
CONTEXT = PATCH - 1  # rows/columns the dense net's output is smaller than its input
CLASSES = [
    {"name": "other", "color": [0, 0, 0]},
    {"name": "cell", "color": [0, 200, 0]},
    {"name": "edge", "color": [255, 60, 60]},
]


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------


class PatchNet(nn.Module):
    """[N, 1, 31, 31] -> [N, 3] logits of the centre pixel."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 4)
        self.conv2 = nn.Conv2d(20, 40, 3)
        self.conv3 = nn.Conv2d(40, 80, 3)
        self.conv4 = nn.Conv2d(80, 120, 3)
        self.conv5 = nn.Conv2d(120, 240, 3)
        self.fc1 = nn.Linear(240, 1000)
        self.fc2 = nn.Linear(1000, 3)

    def forward(self, x):  # (N, 1, 31, 31)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 20, 14, 14)
        x = F.relu(self.conv2(x))  # (N, 40, 12, 12)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (N, 80, 5, 5)
        x = F.relu(self.conv4(x))  # (N, 120, 3, 3)
        x = F.relu(self.conv5(x))  # (N, 240, 1, 1)
        x = F.relu(self.fc1(torch.flatten(x, 1)))  # (N, 1000)
        return self.fc2(x)  # (N, 3)

    def dense_forward(self, x):
        """[1, 1, H, W] -> [1, 3, H-30, W-30]: output (y, x) is forward() of the
        patch x[:, :, y:y+31, x:x+31]. Strides removed, later kernels dilated by
        the product of the strides before them (Li et al. 2014)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, stride=1)
        x = F.relu(F.conv2d(x, self.conv2.weight, self.conv2.bias, dilation=2))
        x = F.relu(F.conv2d(x, self.conv3.weight, self.conv3.bias, dilation=2))
        x = F.max_pool2d(x, 2, stride=1, dilation=2)
        x = F.relu(F.conv2d(x, self.conv4.weight, self.conv4.bias, dilation=4))
        x = F.relu(F.conv2d(x, self.conv5.weight, self.conv5.bias, dilation=4))
        x = F.relu(F.conv2d(x, self.fc1.weight[:, :, None, None], self.fc1.bias))
        return F.conv2d(x, self.fc2.weight[:, :, None, None], self.fc2.bias)


def layer_table():
    """(name, kind, in_ch, out_ch, kernel, patch output size, dense dilation)."""
    rows = []
    size = PATCH
    dil = 1
    for name, kind, cin, cout, k in [
        ("conv1", "conv", 1, 20, 4), ("pool1", "max_pool", 20, 20, 2),
        ("conv2", "conv", 20, 40, 3), ("conv3", "conv", 40, 80, 3),
        ("pool2", "max_pool", 80, 80, 2), ("conv4", "conv", 80, 120, 3),
        ("conv5", "conv", 120, 240, 3), ("fc1", "dense", 240, 1000, 1),
            ("fc2", "dense", 1000, 3, 1)]:
        if kind == "max_pool":
            size //= 2
            rows.append((name, kind, cin, cout, k, size, dil))
            dil *= 2
        else:
            size = size - k + 1
            rows.append((name, kind, cin, cout, k, size, dil))
    return rows


def macs():
    """Exact multiply-accumulates: per patch (patchwise) and per output pixel (dense)."""
    patch = dense = 0
    for _, kind, cin, cout, k, size, _ in layer_table():
        if kind == "max_pool":
            continue
        per_position = cin * cout * k * k
        patch += per_position * size * size
        dense += per_position
    return patch, dense


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def read_png(path):
    from PIL import Image
    return np.array(Image.open(path))


class Split:
    """Training and held-out pixel sets of one labelled image."""

    def __init__(self, image, labels):
        h, w = image.shape
        self.h, self.w = h, w
        self.boundary = 3 * w // 4  # first held-out column
        # Training centres: patch inside the image and left of the held-out quarter.
        ys, xs = np.mgrid[HALF:h - HALF, HALF:self.boundary - HALF]
        ys, xs = ys.ravel(), xs.ravel()
        lab = labels[ys, xs]
        self.train = [(ys[lab == c], xs[lab == c]) for c in range(len(CLASSES))]
        train_region = image[:, :self.boundary].astype(np.float64)
        self.mean = float(train_region.mean())
        self.std = float(train_region.std())
        # Held-out centres: x in [boundary, w - 16], y in [15, h - 16].
        self.heldout_labels = labels[HALF:h - HALF, self.boundary:w - HALF]

    def heldout_input(self, norm):
        """The image columns the held-out centres' patches read."""
        return norm[:, self.boundary - HALF:]


def gather_patches(norm, ys, xs):  # -> (N, 1, 31, 31)
    off = np.arange(-HALF, HALF + 1)
    rows = (ys[:, None] + off)[:, :, None]
    cols = (xs[:, None] + off)[:, None, :]
    return torch.from_numpy(norm[rows, cols][:, None])


def augment(x, rng):
    """Applies one of the 8 symmetries of the square to each patch (centre fixed)."""
    which = rng.integers(0, 8, len(x))
    out = torch.empty_like(x)
    for t in range(8):
        idx = torch.from_numpy(np.nonzero(which == t)[0])
        if len(idx) == 0:
            continue
        p = x[idx]
        if t & 4:
            p = p.flip(3)
        out[idx] = torch.rot90(p, t & 3, (2, 3))
    return out


def balanced_batch(split, norm, rng, batch):
    per_class = [batch // 3 + (1 if c < batch % 3 else 0) for c in range(3)]
    ys, xs, ls = [], [], []
    for c, n in enumerate(per_class):
        cy, cx = split.train[c]
        pick = rng.integers(0, len(cy), n)
        ys.append(cy[pick])
        xs.append(cx[pick])
        ls.append(np.full(n, c))
    ys, xs, ls = np.concatenate(ys), np.concatenate(xs), np.concatenate(ls)
    return gather_patches(norm, ys, xs), torch.from_numpy(ls)


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


@torch.no_grad()
def dense_scores(net, norm, strip_rows=64):
    """[H, W] normalised image -> [3, H-30, W-30] logits, in horizontal strips
    (input strips overlap by 30 rows; exact, as every layer is VALID)."""
    h, w = norm.shape
    out = np.empty((len(CLASSES), h - CONTEXT, w - CONTEXT), np.float32)
    for y0 in range(0, h - CONTEXT, strip_rows):
        y1 = min(y0 + strip_rows, h - CONTEXT)
        x = torch.from_numpy(np.ascontiguousarray(norm[y0:y1 + CONTEXT]))[None, None]
        out[:, y0:y1] = net.dense_forward(x)[0].numpy()
    return out


def metrics(pred, labels):
    k = len(CLASSES)
    conf = np.bincount(labels.ravel().astype(np.int64) * k + pred.ravel(),
                       minlength=k * k).reshape(k, k)  # rows: truth, columns: prediction
    accuracy = np.trace(conf) / conf.sum()
    iou = [conf[c, c] / (conf[c, :].sum() + conf[:, c].sum() - conf[c, c]) for c in range(k)]
    return {"pixel_accuracy": float(accuracy), "iou": [float(v) for v in iou],
            "mean_iou": float(np.mean(iou)), "confusion": conf.tolist(),
            "pixels": int(conf.sum())}


def evaluate(net, split, norm):
    net.eval()
    scores = dense_scores(net, split.heldout_input(norm))
    net.train()
    return metrics(scores.argmax(0), split.heldout_labels)


def colour_mask(pred):
    palette = np.array([c["color"] for c in CLASSES], np.uint8)
    return palette[pred]


@torch.no_grad()
def segment_same_size(net, norm):
    """Class per pixel at the image's own size: reflect-padded by 15 on every side."""
    padded = np.pad(norm, HALF, mode="reflect")
    net.eval()
    return dense_scores(net, padded).argmax(0)


# --------------------------------------------------------------------------
# Export (fcnrt model format, shared/spec/model-format.md)
# --------------------------------------------------------------------------


def export(net, directory, metadata):
    os.makedirs(directory, exist_ok=True)
    weights = {k: v.detach().numpy() for k, v in net.state_dict().items()}

    def conv(name, x):
        return {"op": "conv", "name": name, "inputs": [x], "outputs": [name],
                "weight": name + ".weight", "bias": name + ".bias", "activation": "relu"}

    nodes = [
        conv("conv1", "image"),
        {"op": "max_pool", "name": "pool1", "inputs": ["conv1"], "outputs": ["pool1"],
         "kernel": [2, 2], "stride": [2, 2]},
        conv("conv2", "pool1"),
        conv("conv3", "conv2"),
        {"op": "max_pool", "name": "pool2", "inputs": ["conv3"], "outputs": ["pool2"],
         "kernel": [2, 2], "stride": [2, 2]},
        conv("conv4", "pool2"),
        conv("conv5", "conv4"),
        {"op": "flatten", "name": "flatten", "inputs": ["conv5"], "outputs": ["features"]},
        {"op": "dense", "name": "fc1", "inputs": ["features"], "outputs": ["fc1"],
         "weight": "fc1.weight", "bias": "fc1.bias", "activation": "relu"},
        {"op": "dense", "name": "fc2", "inputs": ["fc1"], "outputs": ["scores"],
         "weight": "fc2.weight", "bias": "fc2.bias"},
    ]
    doc = {"format": "fcnrt-graph", "version": 1, "name": "bsubtilis-patch31",
           "weights": "patch.safetensors",
           "inputs": [{"name": "image", "shape": [1, 1, PATCH, PATCH]}],
           "outputs": ["scores"]}
    lines = ["{"]
    for key, val in doc.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(val)},")
    lines.append('  "nodes": [')
    for i, node in enumerate(nodes):
        lines.append("    " + json.dumps(node) + ("," if i + 1 < len(nodes) else ""))
    lines.append("  ],")
    lines.append('  "metadata": ' + json.dumps(metadata, indent=2).replace("\n", "\n  "))
    lines.append("}")
    with open(os.path.join(directory, "patch.json"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_safetensors(os.path.join(directory, "patch.safetensors"), weights)


def load_exported(directory):
    """The PatchNet and metadata of an exported patch.json/patch.safetensors."""
    with open(os.path.join(directory, "patch.json")) as f:
        doc = json.load(f)
    with open(os.path.join(directory, "patch.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        state[name] = torch.from_numpy(
            np.frombuffer(data[b:e], "<f4").reshape(info["shape"]).copy())
    net = PatchNet()
    net.load_state_dict(state)
    net.eval()
    return net, doc["metadata"]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, 1 thread, PyTorch {torch.__version__}"


def train(args, image, labels):
    split = Split(image, labels)
    norm = ((image.astype(np.float64) - split.mean) / split.std).astype(np.float32)
    print(f"image {split.w}x{split.h}; held out: columns >= {split.boundary}; "
          f"mean {split.mean:.4f}, std {split.std:.4f} (training columns)")
    print("training centres per class:", [len(ys) for ys, _ in split.train])
    print("held-out pixels:", split.heldout_labels.size)

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    net = PatchNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    start = time.time()
    best = None  # (accuracy, step, metrics, state)
    since_best = 0
    step = 0
    loss_sum = correct = seen = 0
    history = []
    while True:
        x, y = balanced_batch(split, norm, rng, args.batch)
        x = augment(x, rng)
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        elapsed = time.time() - start
        out_of_time = elapsed >= args.minutes * 60 or (args.max_steps and step >= args.max_steps)
        if step % args.eval_every == 0 or out_of_time:
            t0 = time.time()
            m = evaluate(net, split, norm)
            history.append((step, m["pixel_accuracy"], m["mean_iou"]))
            improved = best is None or m["pixel_accuracy"] > best[0]
            if improved:
                best = (m["pixel_accuracy"], step, m,
                        {k: v.detach().clone() for k, v in net.state_dict().items()})
                since_best = 0
            else:
                since_best += 1
            print(f"step {step:6d}  {time.time() - start:7.1f} s  train loss "
                  f"{loss_sum / seen:.4f} acc {correct / seen:.4f} | held-out acc "
                  f"{m['pixel_accuracy']:.4f} mIoU {m['mean_iou']:.4f} "
                  f"IoU {' '.join(f'{v:.3f}' for v in m['iou'])} (eval {time.time() - t0:.1f} s)"
                  f"{'  *' if improved else ''}", flush=True)
            loss_sum = correct = seen = 0
            if since_best >= args.patience:
                reason = f"held-out accuracy not improved for {args.patience} evaluations"
                break
            if out_of_time:
                reason = "time limit" if elapsed >= args.minutes * 60 else "step limit"
                break
    took = time.time() - start
    print(f"stopped after {step} steps, {took:.0f} s ({reason}); best step {best[1]}")
    net.load_state_dict(best[3])
    net.eval()
    return net, split, norm, {"steps": step, "best_step": best[1], "seconds": took,
                              "reason": reason, "metrics": best[2], "history": history}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "bsubtilis"),
                        help="folder with phase_027.png and phase_027_labels.png "
                             "(default: ../shared/data/bsubtilis relative to the repository)")
    parser.add_argument("--out", default=os.path.join(REPO, "models", "bsubtilis-patch31"),
                        help="where patch.json and patch.safetensors are written")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-time limit")
    parser.add_argument("--max-steps", type=int, default=0, help="step limit (0: none)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--patience", type=int, default=4,
                        help="evaluations without a better held-out accuracy before stopping")
    parser.add_argument("--masks", nargs="*", default=[],
                        help="after training (or with --evaluate-only), write a colour "
                             "mask PNG for each of these images into --masks-dir")
    parser.add_argument("--masks-dir", default="/tmp")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="load the exported patch model from --out instead of training")
    args = parser.parse_args()

    image_path = os.path.join(args.data, "phase_027.png")
    labels_path = os.path.join(args.data, "phase_027_labels.png")
    if not (os.path.isfile(image_path) and os.path.isfile(labels_path)):
        print(f"train_cell_model: {args.data} has no phase_027.png/phase_027_labels.png "
              "(the shared B. subtilis data); skipping")
        return 0
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    image = read_png(image_path)
    labels = read_png(labels_path)

    patch_macs, dense_macs = macs()
    n_params = sum(p.numel() for p in PatchNet().parameters())
    print(f"parameters {n_params}; MACs per pixel: patchwise {patch_macs}, dense {dense_macs}")

    if args.evaluate_only:
        net, meta = load_exported(args.out)
        split = Split(image, labels)
        pre = meta["preprocess"]
        norm = ((image.astype(np.float64) * pre["scale"] - pre["mean"][0]) / pre["std"][0]
                ).astype(np.float32)
        m = evaluate(net, split, norm)
    else:
        net, split, norm, info = train(args, image, labels)
        m = info["metrics"]
        hist = ", ".join(f"{s}:{a:.4f}" for s, a, _ in info["history"])
        summary = (
            f"tools/train_cell_model.py --seed {args.seed}: phase_027.png with "
            f"phase_027_labels.png (public repository levinejh/simple-cell-seg-demo), right "
            f"quarter (columns >= {split.boundary}) held out and no training patch overlapping "
            f"it; Adam lr {args.lr:g}, batches of {args.batch} patches drawn equally from the "
            f"3 classes, random flips/90-degree rotations, cross-entropy; {info['steps']} steps "
            f"in {info['seconds']:.0f} s ({info['reason']}), weights of step "
            f"{info['best_step']} kept (best held-out pixel accuracy, evaluated every "
            f"{args.eval_every} steps); {machine()}. Held-out (dense, {m['pixels']} pixels): "
            f"pixel accuracy {m['pixel_accuracy']:.4f}, IoU other {m['iou'][0]:.4f}, cell "
            f"{m['iou'][1]:.4f}, edge {m['iou'][2]:.4f}, mean {m['mean_iou']:.4f}. Scores are "
            f"logits (no softmax).")
        metadata = {
            "patch": [PATCH, PATCH],
            "classes": CLASSES,
            "preprocess": {"scale": 1.0, "mean": [split.mean], "std": [split.std],
                           "channels": "gray"},
            "training": summary,
        }
        export(net, args.out, metadata)
        print(f"wrote {args.out}/patch.json and patch.safetensors")
        print("held-out accuracy history (step:accuracy):", hist)
        print(summary)
    print(json.dumps({k: m[k] for k in ("pixel_accuracy", "iou", "mean_iou", "pixels")}))
    print("confusion (rows truth other/cell/edge, columns prediction):", m["confusion"])

    if args.masks:
        from PIL import Image
        pre_mean, pre_std = split.mean, split.std
        if args.evaluate_only:
            pre_mean, pre_std = meta["preprocess"]["mean"][0], meta["preprocess"]["std"][0]
        for path in args.masks:
            img = read_png(path).astype(np.float64)
            t0 = time.time()
            pred = segment_same_size(net, ((img - pre_mean) / pre_std).astype(np.float32))
            name = os.path.splitext(os.path.basename(path))[0]
            out = os.path.join(args.masks_dir, name + "_mask.png")
            Image.fromarray(colour_mask(pred)).save(out)
            frac = np.bincount(pred.ravel(), minlength=3) / pred.size
            print(f"wrote {out} ({time.time() - t0:.0f} s; class fractions "
                  f"{' '.join(f'{v:.3f}' for v in frac)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
