#!/usr/bin/python3
"""Regenerates tests/golden/: small models with inputs and expected outputs.

Run with Debian's PyTorch (python3-torch, python3-numpy):

    /usr/bin/python3 tests/make_golden.py

Every case is a graph in the fcnrt model format (shared/spec/model-format.md),
its weights, its inputs and the outputs a reference interpreter below computes
with torch.nn.functional in float64 (inputs and weights are drawn in float32 and
promoted, expected outputs are cast back to float32; argmax and pooling indices
are int32). The script is deterministic: fixed seeds, sorted safetensors, fixed
JSON formatting. It deletes and rewrites the whole golden folder.

Where PyTorch has no direct equivalent (asymmetric pads, dilated avg_pool,
max_unpool without a kernel size) the interpreter computes the op by hand and,
wherever PyTorch can compute the same thing, checks itself against PyTorch.
"""

import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
DEFAULT_TOLERANCE = 1e-4
# Discontinuous outputs (argmax, pooling indices) computed from computed tensors
# need a clear winner, or float32 rounding in the engine could flip them: the gap
# between the best and second-best candidate must exceed this fraction of the
# tensor's max-norm.
MARGIN = 1e-4

torch.use_deterministic_algorithms(True)


class GoldenError(Exception):
    pass


# --------------------------------------------------------------------------
# Case builder
# --------------------------------------------------------------------------


class Case:
    def __init__(self, name, description, seed, tolerance=DEFAULT_TOLERANCE):
        self.name = name
        self.description = description
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.tolerance = tolerance
        self.inputs = []  # (name, json shape, float32 array)
        self.weights = {}  # name -> float32 array
        self.nodes = []
        self.outputs = []
        self.metadata = None
        self.shuffle = False

    # Graph inputs: `shape` is the concrete shape, `json_shape` may hold None.
    def input(self, name, shape, json_shape=None, scale=1.0):
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inputs.append((name, list(json_shape or shape), data))
        return name

    def tensor(self, name, shape, kind="normal", scale=1.0):
        if kind == "normal":
            data = self.rng.standard_normal(shape) * scale
        elif kind == "positive":  # variances
            data = self.rng.uniform(0.5, 1.5, shape) * scale
        else:
            raise ValueError(kind)
        self.weights[name] = data.astype(np.float32)
        return name

    def node(self, op, name, inputs, outputs, **attrs):
        if isinstance(outputs, str):
            outputs = [outputs]
        node = {"op": op, "name": name, "inputs": list(inputs), "outputs": list(outputs)}
        node.update(attrs)
        self.nodes.append(node)
        return outputs[0] if len(outputs) == 1 else outputs

    # Convenience builders for layers with weights.
    def conv(self, name, x, cin, cout, k, bias=True, groups=1, **attrs):
        kh, kw = (k, k) if isinstance(k, int) else k
        fan_in = cin // groups * kh * kw
        attrs["weight"] = self.tensor(name + ".weight", (cout, cin // groups, kh, kw),
                                      scale=1.0 / math.sqrt(fan_in))
        if bias:
            attrs["bias"] = self.tensor(name + ".bias", (cout,), scale=0.1)
        if groups != 1:
            attrs["groups"] = groups
        return self.node("conv", name, [x], name, **attrs)

    def conv_transpose(self, name, x, cin, cout, k, bias=True, groups=1, **attrs):
        kh, kw = (k, k) if isinstance(k, int) else k
        fan_in = cin // groups * kh * kw
        attrs["weight"] = self.tensor(name + ".weight", (cin, cout // groups, kh, kw),
                                      scale=1.0 / math.sqrt(fan_in))
        if bias:
            attrs["bias"] = self.tensor(name + ".bias", (cout,), scale=0.1)
        if groups != 1:
            attrs["groups"] = groups
        return self.node("conv_transpose", name, [x], name, **attrs)

    def batch_norm(self, name, x, c, **attrs):
        attrs["scale"] = self.tensor(name + ".scale", (c,), scale=0.5)
        self.weights[attrs["scale"]] += np.float32(1.0)
        attrs["bias"] = self.tensor(name + ".bias", (c,), scale=0.2)
        attrs["mean"] = self.tensor(name + ".mean", (c,), scale=0.3)
        attrs["var"] = self.tensor(name + ".var", (c,), kind="positive")
        return self.node("batch_norm", name, [x], name, **attrs)

    def dense(self, name, x, fin, fout, bias=True, **attrs):
        attrs["weight"] = self.tensor(name + ".weight", (fout, fin), scale=1.0 / math.sqrt(fin))
        if bias:
            attrs["bias"] = self.tensor(name + ".bias", (fout,), scale=0.1)
        return self.node("dense", name, [x], name, **attrs)

    def conv_bn_relu(self, name, x, cin, cout, k=3, **attrs):
        y = self.conv(name + ".conv", x, cin, cout, k, **attrs)
        y = self.batch_norm(name + ".bn", y, cout)
        return self.node("relu", name + ".relu", [y], name)


# --------------------------------------------------------------------------
# Reference interpreter (float64, torch.nn.functional)
# --------------------------------------------------------------------------


def activation(y, node):
    kind = node.get("activation", "none")
    if kind == "none":
        return y
    if kind == "relu":
        return F.relu(y)
    if kind == "leaky_relu":
        return F.leaky_relu(y, node.get("activation_alpha", 0.01))
    if kind == "sigmoid":
        return torch.sigmoid(y)
    if kind == "tanh":
        return torch.tanh(y)
    raise GoldenError(f"unknown activation {kind}")


def pair(node, key, default):
    return list(node.get(key, default))


# Self-check tolerances: exact up to rounding in float64, loose in the float32 rerun.
TIGHT = {torch.float64: {"rtol": 1e-12, "atol": 1e-12},
         torch.float32: {"rtol": 1e-5, "atol": 1e-5}}


def check_margin(values, what):
    """values: [..., candidates] float64; require a clear winner on the last axis."""
    if values.shape[-1] < 2:
        return
    top2 = torch.topk(values, 2, dim=-1).values
    gap = (top2[..., 0] - top2[..., 1]).min().item()
    scale = max(values.abs().max().item(), 1e-30)
    if gap <= MARGIN * scale:
        raise GoldenError(f"{what}: winner margin {gap:.3g} too small (scale {scale:.3g})")


def pool_output_size(size, k, s, p0, p1, d, ceil_mode):
    # PyTorch's pooling_output_shape, with separate leading/trailing pads.
    span = size + p0 + p1 - d * (k - 1) - 1
    if span < 0:
        raise GoldenError("pooling window larger than padded input")
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p0:
            out -= 1
    else:
        out = span // s + 1
    return out


def pool_manual(x, mode, kernel, stride, pads, dilation, ceil_mode, count_include_pad):
    """Direct max/avg pooling over explicit windows. Returns (y, indices or None)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    pt, pl, pb, pr = pads
    dh, dw = dilation
    oh = pool_output_size(h, kh, sh, pt, pb, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pl, pr, dw, ceil_mode)
    y = torch.zeros((n, c, oh, ow), dtype=x.dtype)
    idx = torch.zeros((n, c, oh, ow), dtype=torch.int64)
    for i in range(oh):
        rows_all = [i * sh - pt + a * dh for a in range(kh)]
        rows = [r for r in rows_all if 0 <= r < h]
        rows_padded = [r for r in rows_all if -pt <= r < h + pb]
        for j in range(ow):
            cols_all = [j * sw - pl + b * dw for b in range(kw)]
            cols = [q for q in cols_all if 0 <= q < w]
            cols_padded = [q for q in cols_all if -pl <= q < w + pr]
            if not rows or not cols:
                raise GoldenError("pooling window entirely in padding")
            win = x[:, :, rows][:, :, :, cols].reshape(n, c, -1)
            if mode == "max":
                # First maximum in row-major window order, as PyTorch.
                best = torch.argmax(win, dim=2)  # first occurrence
                y[:, :, i, j] = torch.gather(win, 2, best[..., None])[..., 0]
                flat = torch.tensor([r * w + q for r in rows for q in cols])
                idx[:, :, i, j] = flat[best]
            else:
                div = (len(rows_padded) * len(cols_padded)) if count_include_pad else (
                    len(rows) * len(cols))
                y[:, :, i, j] = win.sum(dim=2) / div
    return y, (idx if mode == "max" else None)


def window_margin_check(x, kernel, stride, pads, dilation, ceil_mode, what):
    n, c, h, w = x.shape
    kh, kw = kernel
    oh = pool_output_size(h, kh, stride[0], pads[0], pads[2], dilation[0], ceil_mode)
    ow = pool_output_size(w, kw, stride[1], pads[1], pads[3], dilation[1], ceil_mode)
    scale = max(x.abs().max().item(), 1e-30)
    for i in range(oh):
        rows = [i * stride[0] - pads[0] + a * dilation[0] for a in range(kh)]
        rows = [r for r in rows if 0 <= r < h]
        for j in range(ow):
            cols = [j * stride[1] - pads[1] + b * dilation[1] for b in range(kw)]
            cols = [q for q in cols if 0 <= q < w]
            win = x[:, :, rows][:, :, :, cols].reshape(n, c, -1)
            if win.shape[-1] < 2:
                continue
            top2 = torch.topk(win, 2, dim=-1).values
            gap = (top2[..., 0] - top2[..., 1]).min().item()
            if gap <= MARGIN * scale:
                raise GoldenError(f"{what}: max_pool window margin {gap:.3g} too small")


def run_pool(node, x, mode, computed_input):
    kernel = pair(node, "kernel", None)
    stride = pair(node, "stride", kernel)
    pads = pair(node, "pads", [0, 0, 0, 0])
    dilation = pair(node, "dilation", [1, 1])
    ceil_mode = bool(node.get("ceil_mode", False))
    cip = bool(node.get("count_include_pad", False))
    y, idx = pool_manual(x, mode, kernel, stride, pads, dilation, ceil_mode, cip)

    # Cross-check with PyTorch wherever it can express the same pooling.
    symmetric = pads[0] == pads[2] and pads[1] == pads[3]
    torch_ok = symmetric and pads[0] <= kernel[0] // 2 and pads[1] <= kernel[1] // 2
    if mode == "avg":
        torch_ok = torch_ok and dilation == [1, 1]
    if torch_ok:
        if mode == "max":
            ty, tidx = F.max_pool2d(x, kernel, stride, (pads[0], pads[1]), dilation,
                                    ceil_mode=ceil_mode, return_indices=True)
            if not torch.equal(tidx, idx):
                raise GoldenError(f"{node['name']}: manual max_pool indices differ from torch")
        else:
            ty = F.avg_pool2d(x, kernel, stride, (pads[0], pads[1]), ceil_mode=ceil_mode,
                              count_include_pad=cip)
        if ty.shape != y.shape or not torch.allclose(ty, y, **TIGHT[ty.dtype]):
            raise GoldenError(f"{node['name']}: manual {mode}_pool differs from torch")
    elif mode == "max" and not ceil_mode:
        # Asymmetric or wide pads: pad with -inf, pool without padding.
        xp = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=-math.inf)
        ty = F.max_pool2d(xp, kernel, stride, 0, dilation)
        if not torch.equal(ty, y):
            raise GoldenError(f"{node['name']}: manual max_pool differs from padded torch")

    if mode == "max" and len(node["outputs"]) == 2 and computed_input:
        window_margin_check(x, kernel, stride, pads, dilation, ceil_mode, node["name"])
    return y, idx


def run_conv(node, x, w, b):
    stride = pair(node, "stride", [1, 1])
    pt, pl, pb, pr = pair(node, "pads", [0, 0, 0, 0])
    dilation = pair(node, "dilation", [1, 1])
    groups = node.get("groups", 1)
    if pt == pb and pl == pr:
        y = F.conv2d(x, w, b, stride, (pt, pl), dilation, groups)
    else:
        y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride, 0, dilation, groups)
    return activation(y, node)


def run_conv_transpose(node, x, w, b):
    stride = pair(node, "stride", [1, 1])
    pt, pl, pb, pr = pair(node, "pads", [0, 0, 0, 0])
    output_padding = pair(node, "output_padding", [0, 0])
    dilation = pair(node, "dilation", [1, 1])
    groups = node.get("groups", 1)
    full = F.conv_transpose2d(x, w, b, stride, 0, output_padding, groups, dilation)
    y = full[:, :, pt:full.shape[2] - pb, pl:full.shape[3] - pr]
    if pt == pb and pl == pr:
        ty = F.conv_transpose2d(x, w, b, stride, (pt, pl), output_padding, groups, dilation)
        if ty.shape != y.shape or not torch.allclose(ty, y, **TIGHT[ty.dtype]):
            raise GoldenError(f"{node['name']}: sliced conv_transpose differs from torch")
    return activation(y, node)


def run_max_unpool(node, x, idx):
    out_h, out_w = node["output_size"]
    n, c = x.shape[:2]
    flat_idx = idx.reshape(n, c, -1).long()
    flat_x = x.reshape(n, c, -1)
    if flat_idx.min() < 0 or flat_idx.max() >= out_h * out_w:
        raise GoldenError(f"{node['name']}: index out of range")
    y = torch.zeros((n, c, out_h * out_w), dtype=x.dtype)
    y.scatter_(2, flat_idx, flat_x)
    # Duplicate indices (overlapping windows) must carry equal values, or the
    # result would depend on write order.
    check = torch.zeros_like(y).scatter_(2, flat_idx, flat_x, reduce="add")
    count = torch.zeros_like(y).scatter_(2, flat_idx, torch.ones_like(flat_x), reduce="add")
    if not torch.allclose(check, y * count, **TIGHT[y.dtype]):
        raise GoldenError(f"{node['name']}: duplicate unpool indices with different values")
    return y.reshape(n, c, out_h, out_w)


def nearest_reference(x, out_h, out_w, scales):
    """Nearest as the engine's ResizeParams comment: src = min(floor(dst * cs), in - 1)."""
    h, w = x.shape[2:]
    cs_h = 1.0 / scales[0] if scales else h / out_h
    cs_w = 1.0 / scales[1] if scales else w / out_w
    rows = [min(int(math.floor(d * cs_h)), h - 1) for d in range(out_h)]
    cols = [min(int(math.floor(d * cs_w)), w - 1) for d in range(out_w)]
    return x[:, :, rows][:, :, :, cols]


def bilinear_reference(x, out_h, out_w, scales, align_corners):
    h, w = x.shape[2:]

    def coords(size_in, size_out, scale):
        res = []
        for d in range(size_out):
            if align_corners:
                src = 0.0 if size_out == 1 else d * (size_in - 1) / (size_out - 1)
            else:
                cs = 1.0 / scale if scale else size_in / size_out
                src = max((d + 0.5) * cs - 0.5, 0.0)
            i0 = min(int(math.floor(src)), size_in - 1)
            i1 = min(i0 + 1, size_in - 1)
            t = src - i0
            res.append((i0, i1, t))
        return res

    ch = coords(h, out_h, scales[0] if scales else None)
    cw = coords(w, out_w, scales[1] if scales else None)
    y = torch.zeros(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    for i, (r0, r1, th) in enumerate(ch):
        row = x[:, :, r0] * (1 - th) + x[:, :, r1] * th
        for j, (c0, c1, tw) in enumerate(cw):
            y[:, :, i, j] = row[:, :, c0] * (1 - tw) + row[:, :, c1] * tw
    return y


def run_resize(node, x):
    mode = node.get("mode", "nearest")
    align = bool(node.get("align_corners", False))
    if "scale" in node:
        scales = [float(s) for s in node["scale"]]
        kwargs = {"scale_factor": tuple(scales)}
        out_h = int(math.floor(x.shape[2] * scales[0]))
        out_w = int(math.floor(x.shape[3] * scales[1]))
    else:
        scales = None
        out_h, out_w = node["size"]
        kwargs = {"size": (out_h, out_w)}
    if mode == "nearest":
        y = F.interpolate(x, mode="nearest", **kwargs)
        ref = nearest_reference(x, out_h, out_w, scales)
    elif mode == "bilinear":
        y = F.interpolate(x, mode="bilinear", align_corners=align, **kwargs)
        ref = bilinear_reference(x, out_h, out_w, scales, align)
    else:
        raise GoldenError(f"unknown resize mode {mode}")
    if y.shape != ref.shape or not torch.allclose(y, ref, **TIGHT[y.dtype]):
        raise GoldenError(f"{node['name']}: torch interpolate differs from the documented "
                          f"coordinate rule ({list(y.shape)} vs {list(ref.shape)})")
    return y


def run_crop(node, x, ref):
    h, w = x.shape[2:]
    if "offset" in node:
        top, left = node["offset"]
        ch, cw = node["size"]
    elif "margins" in node:
        mt, ml, mb, mr = node["margins"]
        top, left, ch, cw = mt, ml, h - mt - mb, w - ml - mr
    else:
        ch, cw = ref.shape[2:]
        if (h - ch) % 2 or (w - cw) % 2:
            raise GoldenError("centre crop with an odd difference is ambiguous; avoid")
        top, left = (h - ch) // 2, (w - cw) // 2
    if top < 0 or left < 0 or top + ch > h or left + cw > w or ch <= 0 or cw <= 0:
        raise GoldenError(f"{node['name']}: crop out of range")
    return x[:, :, top:top + ch, left:left + cw]


def run_pad(node, x):
    pt, pl, pb, pr = pair(node, "pads", [0, 0, 0, 0])
    mode = node.get("mode", "constant")
    value = float(node.get("value", 0.0))
    torch_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[mode]
    pos = (max(pl, 0), max(pr, 0), max(pt, 0), max(pb, 0))
    if torch_mode == "constant":
        y = F.pad(x, pos, mode="constant", value=value)
    else:
        y = F.pad(x, pos, mode=torch_mode)
    h, w = y.shape[2:]
    y = y[:, :, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)]
    try:  # PyTorch takes negative pads directly in some modes; agree where it does.
        if torch_mode == "constant":
            ty = F.pad(x, (pl, pr, pt, pb), mode="constant", value=value)
        else:
            ty = F.pad(x, (pl, pr, pt, pb), mode=torch_mode)
        if not torch.equal(ty, y):
            raise GoldenError(f"{node['name']}: pad-then-crop differs from torch")
    except RuntimeError:
        pass
    return y


def evaluate(case, dtype=torch.float64):
    """Runs the graph; float64 for the goldens, float32 to estimate rounding error."""
    env = {}
    graph_inputs = set()
    for name, _, data in case.inputs:
        env[name] = torch.from_numpy(data).to(dtype)
        graph_inputs.add(name)

    def wt(node, key):
        if key not in node:
            return None
        return torch.from_numpy(case.weights[node[key]]).to(dtype)

    pending = list(case.nodes)
    while pending:
        ready = [n for n in pending if all(i in env for i in n["inputs"])]
        if not ready:
            raise GoldenError(f"{case.name}: graph has a cycle or dangling input")
        node = ready[0]
        pending.remove(node)
        xs = [env[i] for i in node["inputs"]]
        computed = node["inputs"][0] not in graph_inputs and dtype == torch.float64
        try:
            outs = run_node(case, node, xs, computed, wt)
        except RuntimeError as e:
            raise GoldenError(f"{case.name}: node {node['name']}: {e}") from e
        if len(outs) != len(node["outputs"]):
            raise GoldenError(f"{node['name']}: wrong number of outputs")
        for name, val in zip(node["outputs"], outs):
            if name in env:
                raise GoldenError(f"{case.name}: tensor {name} produced twice")
            env[name] = val
    return env


def run_node(case, node, xs, computed, wt):
    op = node["op"]
    x = xs[0]
    outs = None
    if op == "conv":
        y = run_conv(node, x, wt(node, "weight"), wt(node, "bias"))
    elif op == "conv_transpose":
        y = run_conv_transpose(node, x, wt(node, "weight"), wt(node, "bias"))
    elif op == "max_pool":
        y, idx = run_pool(node, x, "max", computed)
        outs = [y, idx.int()] if len(node["outputs"]) == 2 else [y]
    elif op == "avg_pool":
        y, _ = run_pool(node, x, "avg", computed)
    elif op == "global_avg_pool":
        y = x.mean(dim=(2, 3), keepdim=True)
    elif op == "max_unpool":
        y = run_max_unpool(node, x, xs[1])
    elif op == "batch_norm":
        y = F.batch_norm(x, wt(node, "mean"), wt(node, "var"), wt(node, "scale"),
                         wt(node, "bias"), False, 0.0, node.get("epsilon", 1e-5))
    elif op == "relu":
        y = F.relu(x)
    elif op == "sigmoid":
        y = torch.sigmoid(x)
    elif op == "tanh":
        y = torch.tanh(x)
    elif op == "leaky_relu":
        y = F.leaky_relu(x, node.get("alpha", 0.01))
    elif op in ("add", "mul"):
        a, b = xs
        if b.shape != a.shape and list(b.shape) != list(a.shape[:2]) + [1, 1]:
            raise GoldenError(f"{node['name']}: bad broadcast {b.shape} to {a.shape}")
        y = activation(a + b if op == "add" else a * b, node)
    elif op == "concat":
        y = torch.cat(xs, dim=node.get("axis", 1))
    elif op == "softmax":
        y = F.softmax(x, dim=node.get("axis", 1))
    elif op == "argmax":
        axis = node.get("axis", 1)
        if computed:
            check_margin(x.movedim(axis, -1), node["name"])
        y = torch.argmax(x, dim=axis, keepdim=True).int()
    elif op == "resize":
        y = run_resize(node, x)
    elif op == "crop":
        y = run_crop(node, x, xs[1] if len(xs) > 1 else None)
    elif op == "pad":
        y = run_pad(node, x)
    elif op == "flatten":
        y = x.reshape(x.shape[0], -1)
    elif op == "dense":
        y = activation(F.linear(x.reshape(x.shape[0], -1), wt(node, "weight"),
                                wt(node, "bias")), node)
    elif op in ("dropout", "identity"):
        y = x.clone()
    else:
        raise GoldenError(f"unknown op {op}")
    if outs is None:
        outs = [y]
    return outs


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------


def write_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        nbytes = arr.nbytes
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        blobs.append(arr.tobytes())
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as safetensors does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def graph_json(case, node_order):
    doc = {"format": "fcnrt-graph", "version": 1, "name": case.name}
    if case.weights:
        doc["weights"] = "model.safetensors"
    doc["inputs"] = [{"name": n, "shape": s} for n, s, _ in case.inputs]
    doc["outputs"] = list(case.outputs)
    lines = ["{"]
    for key, val in doc.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(val)},")
    lines.append('  "nodes": [')
    for i, node in enumerate(node_order):
        sep = "," if i + 1 < len(node_order) else ""
        lines.append("    " + json.dumps(node) + sep)
    if case.metadata is not None:
        lines.append("  ],")
        lines.append('  "metadata": ' + json.dumps(case.metadata))
    else:
        lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def float32_rounding_check(case, env):
    """Reruns the graph in float32: an engine computing in float32 must be able to pass.

    Float outputs must agree within a tenth of the case's tolerance, integer outputs
    exactly. Returns the largest relative max-norm error seen."""
    env32 = evaluate(case, torch.float32)
    worst = 0.0
    for name in case.outputs:
        ref, got = env[name], env32[name]
        if ref.dtype == torch.int32:
            if not torch.equal(ref, got):
                raise GoldenError(f"{case.name}: output {name} differs in a float32 rerun")
            continue
        err = ((got.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()
        worst = max(worst, err)
        if err > case.tolerance / 10:
            raise GoldenError(f"{case.name}: output {name} float32 rerun error {err:.3g}")
    return worst


def write_case(case):
    env = evaluate(case)
    case.float32_error = float32_rounding_check(case, env)
    directory = os.path.join(GOLDEN, case.name)
    os.makedirs(directory)
    order = list(case.nodes)
    if case.shuffle:
        perm = np.random.default_rng(case.seed + 1000).permutation(len(order))
        order = [order[i] for i in perm]
    with open(os.path.join(directory, "model.json"), "w", encoding="utf-8") as f:
        f.write(graph_json(case, order))
    if case.weights:
        write_safetensors(os.path.join(directory, "model.safetensors"), case.weights)
    for name, _, data in case.inputs:
        np.save(os.path.join(directory, f"input_{name}.npy"), np.ascontiguousarray(data, "<f4"))
    for name in case.outputs:
        val = env[name]
        if val.dtype == torch.int32:
            arr = np.ascontiguousarray(val.numpy(), dtype="<i4")
        else:
            arr = np.ascontiguousarray(val.numpy(), dtype="<f4")
            if not np.all(np.isfinite(arr)):
                raise GoldenError(f"{case.name}: non-finite output {name}")
        np.save(os.path.join(directory, f"output_{name}.npy"), arr)
    return {"name": case.name, "description": case.description,
            "inputs": [n for n, _, _ in case.inputs], "outputs": list(case.outputs),
            "tolerance": case.tolerance}


# --------------------------------------------------------------------------
# Single-op cases
# --------------------------------------------------------------------------

CASES = []
CHECKED = []  # (case name, float32-rerun error) for the summary line


def case(fn):
    CASES.append(fn)
    return fn


def single(name, description, seed, shape, build, tolerance=DEFAULT_TOLERANCE):
    """A one-input case whose graph `build(c, x)` returns its output tensor(s)."""
    c = Case(name, description, seed, tolerance)
    x = c.input("x", shape)
    out = build(c, x)
    c.outputs = out if isinstance(out, list) else [out]
    return c


@case
def conv_cases():
    out = []
    # (name, description, input shape, cout, kernel, conv kwargs)
    specs = [
        ("conv_basic", "conv 3x3, all attributes default, bias", [1, 3, 7, 9], 5, 3, {}),
        ("conv_batch2_nobias", "conv 3x3 without bias, batch 2", [2, 3, 7, 9], 4, 3,
         {"bias": False}),
        ("conv_stride_pads", "conv 3x3 stride 2, symmetric pads 1", [2, 3, 9, 7], 5, 3,
         {"stride": [2, 2], "pads": [1, 1, 1, 1]}),
        ("conv_asym_pads", "conv 3x3 stride [2,1], asymmetric pads [1,0,2,1]",
         [1, 3, 13, 5], 4, 3, {"stride": [2, 1], "pads": [1, 0, 2, 1]}),
        ("conv_rect_kernel", "conv kernel [2,5] stride [1,3] pads [0,2,1,2]", [1, 5, 7, 13],
         3, [2, 5], {"stride": [1, 3], "pads": [0, 2, 1, 2]}),
        ("conv_dilation", "conv 3x3 dilation [2,3] pads [2,3,2,3]", [1, 3, 13, 11], 5, 3,
         {"dilation": [2, 3], "pads": [2, 3, 2, 3]}),
        ("conv_dilation_stride", "conv 3x3 dilation 2 stride 2, no pads", [2, 1, 13, 11], 3,
         3, {"dilation": [2, 2], "stride": [2, 2]}),
        ("conv_groups", "conv groups 3 (6 -> 9 channels) with stride and pads",
         [1, 6, 9, 7], 9, 3, {"groups": 3, "stride": [1, 2], "pads": [1, 1, 1, 1]}),
        ("conv_depthwise", "depthwise conv (groups = C = 5) 3x3 pads 1", [2, 5, 7, 9], 5, 3,
         {"groups": 5, "pads": [1, 1, 1, 1]}),
        ("conv_depthwise_multiplier", "depthwise conv with multiplier 2 (5 -> 10), dilation 2",
         [1, 5, 9, 7], 10, 3, {"groups": 5, "pads": [2, 2, 2, 2], "dilation": [2, 2],
                               "bias": False}),
        ("conv_1x1_on_1x1", "1x1 conv on a 1x1 input, batch 2", [2, 5, 1, 1], 3, 1, {}),
        ("conv_pad_1x1_input", "3x3 conv with pads 1 on a 1x1 input", [1, 3, 1, 1], 2, 3,
         {"pads": [1, 1, 1, 1]}),
        ("conv_act_none", "conv with explicit activation none", [1, 3, 7, 9], 3, 3,
         {"activation": "none"}),
        ("conv_act_relu", "conv with activation relu", [1, 3, 7, 9], 5, 3,
         {"activation": "relu", "pads": [1, 1, 1, 1]}),
        ("conv_act_leaky_relu", "conv with activation leaky_relu alpha 0.2", [1, 3, 7, 9], 5, 3,
         {"activation": "leaky_relu", "activation_alpha": 0.2}),
        ("conv_act_leaky_relu_default", "conv with activation leaky_relu, default alpha 0.01",
         [1, 3, 7, 9], 5, 3, {"activation": "leaky_relu"}),
        ("conv_act_sigmoid", "conv with activation sigmoid", [1, 3, 7, 9], 5, 3,
         {"activation": "sigmoid"}),
        ("conv_act_tanh", "conv with activation tanh, no bias", [2, 3, 7, 9], 5, 3,
         {"activation": "tanh", "bias": False}),
    ]
    for i, (name, desc, shape, cout, k, kw) in enumerate(specs):
        kw = dict(kw)
        out.append(single(name, desc, 100 + i, shape,
                          lambda c, x, cin=shape[1], cout=cout, k=k, kw=kw:
                          c.conv("conv", x, cin, cout, k, **kw)))
    return out


@case
def conv_transpose_cases():
    out = []
    specs = [
        ("convt_basic", "conv_transpose 3x3, all attributes default", [1, 3, 5, 4], 5, 3, {}),
        ("convt_stride2_k2", "conv_transpose 2x2 stride 2 (upsampling), batch 2",
         [2, 4, 5, 7], 3, 2, {"stride": [2, 2]}),
        ("convt_stride_pads_outpad", "conv_transpose 3x3 stride 2 pads 1 output_padding 1",
         [1, 3, 5, 7], 4, 3, {"stride": [2, 2], "pads": [1, 1, 1, 1],
                              "output_padding": [1, 1]}),
        ("convt_asym_pads", "conv_transpose kernel [3,4] stride [2,3] asymmetric pads [1,0,2,1]",
         [1, 3, 5, 4], 2, [3, 4], {"stride": [2, 3], "pads": [1, 0, 2, 1]}),
        ("convt_asym_pads_outpad", "conv_transpose stride 2, pads [0,2,1,0], output_padding [1,0]",
         [2, 2, 4, 5], 3, 3, {"stride": [2, 2], "pads": [0, 2, 1, 0],
                              "output_padding": [1, 0]}),
        ("convt_dilation", "conv_transpose 3x3 dilation [2,1] pads [1,0,1,0]", [1, 3, 5, 7], 3,
         3, {"dilation": [2, 1], "pads": [1, 0, 1, 0]}),
        ("convt_dilation_outpad", "conv_transpose stride 1 dilation 2 output_padding [1,1]",
         [1, 2, 4, 5], 3, 3, {"dilation": [2, 2], "output_padding": [1, 1]}),
        ("convt_groups", "conv_transpose groups 3 (6 -> 9 channels) stride 2", [1, 6, 4, 5], 9,
         3, {"groups": 3, "stride": [2, 2], "pads": [1, 1, 1, 1]}),
        ("convt_depthwise", "depthwise conv_transpose (groups = C = 5) stride 2, no bias",
         [1, 5, 3, 4], 5, 4, {"groups": 5, "stride": [2, 2], "pads": [1, 1, 1, 1],
                              "bias": False}),
        ("convt_1x1_input", "conv_transpose 4x4 stride 2 on a 1x1 input", [2, 3, 1, 1], 2, 4,
         {"stride": [2, 2]}),
        ("convt_act_relu", "conv_transpose with activation relu", [1, 3, 5, 4], 3, 3,
         {"activation": "relu", "stride": [2, 2]}),
        ("convt_act_leaky_relu", "conv_transpose, no bias, activation leaky_relu alpha 0.1",
         [1, 3, 5, 4], 3, 3, {"activation": "leaky_relu", "activation_alpha": 0.1,
                              "bias": False}),
        ("convt_act_sigmoid", "conv_transpose with activation sigmoid", [1, 3, 5, 4], 3, 3,
         {"activation": "sigmoid"}),
        ("convt_act_tanh", "conv_transpose with activation tanh", [1, 3, 5, 4], 3, 3,
         {"activation": "tanh", "stride": [1, 2]}),
    ]
    for i, (name, desc, shape, cout, k, kw) in enumerate(specs):
        kw = dict(kw)
        out.append(single(name, desc, 200 + i, shape,
                          lambda c, x, cin=shape[1], cout=cout, k=k, kw=kw:
                          c.conv_transpose("convt", x, cin, cout, k, **kw)))
    return out


@case
def max_pool_cases():
    out = []
    # (name, description, shape, attributes, with indices)
    specs = [
        ("maxpool_basic", "max_pool 2x2, stride defaults to kernel, floor drops the last row",
         [1, 3, 7, 9], {"kernel": [2, 2]}, False),
        ("maxpool_basic_indices", "max_pool 2x2 with indices output", [2, 3, 7, 9],
         {"kernel": [2, 2]}, True),
        ("maxpool_k3s2p1_indices", "max_pool 3x3 stride 2 pads 1 with indices, batch 2",
         [2, 5, 9, 7], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1]}, True),
        ("maxpool_ceil_indices", "max_pool 2x2 stride 2 ceil_mode on 7x9 with indices",
         [1, 3, 7, 9], {"kernel": [2, 2], "stride": [2, 2], "ceil_mode": True}, True),
        ("maxpool_ceil_pads", "max_pool 3x3 stride 2 pads 1 ceil_mode, last window clipped",
         [1, 3, 8, 6], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1],
                        "ceil_mode": True}, True),
        ("maxpool_dilation_indices", "max_pool 3x3 dilation 2 pads 1 stride 1 with indices",
         [1, 3, 9, 11], {"kernel": [3, 3], "stride": [1, 1], "dilation": [2, 2],
                         "pads": [1, 1, 1, 1]}, True),
        ("maxpool_dilation_ceil", "max_pool 2x2 dilation [2,3] stride 2 ceil_mode",
         [2, 2, 9, 10], {"kernel": [2, 2], "stride": [2, 2], "dilation": [2, 3],
                         "ceil_mode": True}, True),
        ("maxpool_rect", "max_pool kernel [3,2] stride [1,2] pads [1,0,1,0]",
         [1, 3, 7, 9], {"kernel": [3, 2], "stride": [1, 2], "pads": [1, 0, 1, 0]}, True),
        ("maxpool_asym_pads", "max_pool 3x3 stride 2 asymmetric pads [1,0,0,1], output y only",
         [1, 3, 9, 7], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 0, 0, 1]}, False),
        ("maxpool_asym_pads_indices", "max_pool 3x3 stride 2 asymmetric pads [0,2,1,0] with "
         "indices (h*W+w of the unpadded input)", [1, 2, 7, 9],
         {"kernel": [3, 3], "stride": [2, 2], "pads": [0, 2, 1, 0]}, True),
        ("maxpool_1x1", "max_pool kernel 1 on a 1x1 input with indices", [2, 3, 1, 1],
         {"kernel": [1, 1]}, True),
    ]
    for i, (name, desc, shape, attrs, with_idx) in enumerate(specs):
        outs = ["y", "indices"] if with_idx else ["y"]
        out.append(single(name, desc, 300 + i, shape,
                          lambda c, x, attrs=attrs, outs=outs:
                          c.node("max_pool", "pool", [x], outs, **attrs)))
    return out


@case
def avg_pool_cases():
    out = []
    specs = [
        ("avgpool_basic", "avg_pool 2x2, stride defaults to kernel", [1, 3, 7, 9],
         {"kernel": [2, 2]}),
        ("avgpool_pads_exclude", "avg_pool 3x3 stride 2 pads 1, count_include_pad default false",
         [2, 3, 9, 7], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1]}),
        ("avgpool_pads_include", "avg_pool 3x3 stride 2 pads 1, count_include_pad true",
         [2, 3, 9, 7], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1],
                        "count_include_pad": True}),
        ("avgpool_ceil_exclude", "avg_pool 3x3 stride 2 pads 1 ceil_mode, exclude pad",
         [1, 3, 8, 6], {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1],
                        "ceil_mode": True, "count_include_pad": False}),
        ("avgpool_ceil_include", "avg_pool 3x3 stride 2 pads 1 ceil_mode, include pad (divisor "
         "clipped at the padded edge)", [1, 3, 8, 6],
         {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": True,
          "count_include_pad": True}),
        ("avgpool_ceil_nopad", "avg_pool 2x2 ceil_mode without pads on 7x9", [1, 5, 7, 9],
         {"kernel": [2, 2], "ceil_mode": True}),
        ("avgpool_rect", "avg_pool kernel [2,3] stride [1,2] pads [1,1,1,1] include pad",
         [1, 3, 7, 9], {"kernel": [2, 3], "stride": [1, 2], "pads": [1, 1, 1, 1],
                        "count_include_pad": True}),
        ("avgpool_dilation_exclude", "avg_pool 3x3 dilation 2 pads 2 stride 1, exclude pad "
         "(average over in-bounds taps)", [1, 3, 9, 11],
         {"kernel": [3, 3], "stride": [1, 1], "dilation": [2, 2], "pads": [2, 2, 2, 2]}),
        ("avgpool_dilation_include", "avg_pool 3x3 dilation 2 pads 2 stride 1, include pad "
         "(divide by k*k)", [1, 3, 9, 11],
         {"kernel": [3, 3], "stride": [1, 1], "dilation": [2, 2], "pads": [2, 2, 2, 2],
          "count_include_pad": True}),
        ("avgpool_dilation_stride", "avg_pool 2x2 dilation [2,3] stride 2, no pads",
         [2, 2, 9, 10], {"kernel": [2, 2], "stride": [2, 2], "dilation": [2, 3]}),
        ("avgpool_asym_pads_exclude", "avg_pool 3x3 stride 2 asymmetric pads [1,0,2,1], "
         "exclude pad", [1, 3, 9, 7], {"kernel": [3, 3], "stride": [2, 2],
                                       "pads": [1, 0, 2, 1]}),
        ("avgpool_asym_pads_include", "avg_pool 3x3 stride 2 asymmetric pads [1,0,2,1], "
         "include pad", [1, 3, 9, 7], {"kernel": [3, 3], "stride": [2, 2],
                                       "pads": [1, 0, 2, 1], "count_include_pad": True}),
    ]
    for i, (name, desc, shape, attrs) in enumerate(specs):
        out.append(single(name, desc, 400 + i, shape,
                          lambda c, x, attrs=attrs: c.node("avg_pool", "pool", [x], "y",
                                                           **attrs)))
    return out


@case
def small_op_cases():
    out = []
    out.append(single("global_avg_pool", "global_avg_pool on [2,5,7,9]", 500, [2, 5, 7, 9],
                      lambda c, x: c.node("global_avg_pool", "gap", [x], "y")))
    out.append(single("global_avg_pool_1x1", "global_avg_pool on a 1x1 input", 501,
                      [1, 3, 1, 1], lambda c, x: c.node("global_avg_pool", "gap", [x], "y")))

    # max_unpool fed by a max_pool in the same graph.
    def unpool(attrs, size, with_idx):
        def build(c, x):
            y, idx = c.node("max_pool", "pool", [x], ["pooled", "indices"], **attrs)
            u = c.node("max_unpool", "unpool", [y, idx], "y", output_size=size)
            return [u, idx] if with_idx else u
        return build
    out.append(single("max_unpool_basic", "max_pool 2x2 then max_unpool to the pool input "
                      "size", 510, [2, 3, 6, 8], unpool({"kernel": [2, 2]}, [6, 8], False)))
    out.append(single("max_unpool_odd", "max_pool 2x2 on 7x9 then max_unpool with "
                      "output_size [7,9]; outputs the indices too", 511, [1, 3, 7, 9],
                      unpool({"kernel": [2, 2]}, [7, 9], True)))
    out.append(single("max_unpool_overlap", "max_pool 3x3 stride 2 pads 1 (overlapping) then "
                      "max_unpool to [9,7]", 512, [1, 2, 9, 7],
                      unpool({"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1]},
                             [9, 7], False)))
    out.append(single("max_unpool_larger", "max_pool 2x2 on 6x8 then max_unpool to a larger "
                      "[7,9]", 513, [1, 3, 6, 8], unpool({"kernel": [2, 2]}, [7, 9], False)))

    out.append(single("batch_norm", "batch_norm in eval mode, default epsilon", 520,
                      [2, 5, 7, 9], lambda c, x: c.batch_norm("bn", x, 5)))
    out.append(single("batch_norm_epsilon", "batch_norm with epsilon 0.1 and small variances",
                      521, [1, 3, 9, 7], lambda c, x: bn_small_var(c, x)))

    for i, op in enumerate(["relu", "sigmoid", "tanh"]):
        out.append(single(op, f"{op} on [2,3,7,9]", 530 + i, [2, 3, 7, 9],
                          lambda c, x, op=op: c.node(op, op, [x], "y"), ))
    out.append(single("leaky_relu_default", "leaky_relu with default alpha 0.01", 533,
                      [1, 3, 7, 9], lambda c, x: c.node("leaky_relu", "lrelu", [x], "y")))
    out.append(single("leaky_relu_alpha", "leaky_relu with alpha 0.3, batch 2", 534,
                      [2, 5, 3, 7], lambda c, x: c.node("leaky_relu", "lrelu", [x], "y",
                                                        alpha=0.3)))
    out.append(single("dropout", "dropout is identity at inference", 535, [1, 3, 7, 9],
                      lambda c, x: c.node("dropout", "drop", [x], "y")))
    out.append(single("identity", "identity", 536, [2, 1, 5, 3],
                      lambda c, x: c.node("identity", "id", [x], "y")))
    out.append(single("softmax", "softmax, axis default 1, on [2,5,7,9]", 540, [2, 5, 7, 9],
                      lambda c, x: c.node("softmax", "softmax", [x], "y")))
    out.append(single("softmax_axis1_1x1", "softmax with explicit axis 1 on [1,3,1,1]", 541,
                      [1, 3, 1, 1], lambda c, x: c.node("softmax", "softmax", [x], "y", axis=1)))
    out.append(single("argmax", "argmax, axis default 1, int32 [2,1,7,9]", 542, [2, 5, 7, 9],
                      lambda c, x: c.node("argmax", "argmax", [x], "y")))
    out.append(single("argmax_axis1_single_channel", "argmax axis 1 over a single channel",
                      543, [1, 1, 3, 5], lambda c, x: c.node("argmax", "argmax", [x], "y",
                                                            axis=1)))
    out.append(single("flatten", "flatten [2,3,5,7] to [2,105], C-major", 550, [2, 3, 5, 7],
                      lambda c, x: c.node("flatten", "flatten", [x], "y")))
    out.append(single("flatten_1x1", "flatten [1,5,1,1]", 551, [1, 5, 1, 1],
                      lambda c, x: c.node("flatten", "flatten", [x], "y")))
    return out


def bn_small_var(c, x):
    name = c.batch_norm("bn", x, 3, epsilon=0.1)
    c.weights["bn.var"] = (c.weights["bn.var"] * np.float32(0.05)).astype(np.float32)
    return name


@case
def dense_cases():
    out = []

    def flat_dense(fin, fout, **kw):
        def build(c, x):
            f = c.node("flatten", "flatten", [x], "flat")
            return c.dense("fc", f, fin, fout, **kw)
        return build

    out.append(single("dense_2d", "flatten then dense on [N,F] with bias, batch 2", 600,
                      [2, 3, 5, 7], flat_dense(105, 7)))
    out.append(single("dense_2d_nobias_relu", "dense on [N,F] without bias, activation relu",
                      601, [1, 5, 3, 3], flat_dense(45, 6, bias=False, activation="relu")))
    out.append(single("dense_4d", "dense on [N,C,H,W] read flattened, with bias", 602,
                      [2, 3, 5, 7], lambda c, x: c.dense("fc", x, 105, 5)))
    out.append(single("dense_4d_1x1", "dense on [N,C,1,1], no bias", 603, [2, 5, 1, 1],
                      lambda c, x: c.dense("fc", x, 5, 3, bias=False)))
    for i, (act, extra) in enumerate([("sigmoid", {}), ("tanh", {}),
                                      ("leaky_relu", {"activation_alpha": 0.25}),
                                      ("none", {})]):
        out.append(single(f"dense_act_{act}", f"dense on [1,3,3,5] with activation {act}",
                          610 + i, [1, 3, 3, 5],
                          lambda c, x, act=act, extra=extra: c.dense("fc", x, 45, 4,
                                                                     activation=act, **extra)))
    return out


@case
def binary_cases():
    out = []
    specs = [
        ("add_same", "add of two [2,3,7,9] tensors", "add", [2, 3, 7, 9], [2, 3, 7, 9], {}),
        ("add_broadcast", "add with b of [N,C,1,1], batch 2 (per-sample b)", "add",
         [2, 5, 7, 9], [2, 5, 1, 1], {}),
        ("add_relu", "add with activation relu", "add", [1, 3, 7, 9], [1, 3, 7, 9],
         {"activation": "relu"}),
        ("add_broadcast_leaky", "add broadcast with activation leaky_relu alpha 0.2", "add",
         [1, 3, 7, 9], [1, 3, 1, 1], {"activation": "leaky_relu", "activation_alpha": 0.2}),
        ("mul_same", "mul of two [2,3,7,9] tensors", "mul", [2, 3, 7, 9], [2, 3, 7, 9], {}),
        ("mul_broadcast", "mul with b of [N,C,1,1], batch 2", "mul", [2, 5, 7, 9], [2, 5, 1, 1],
         {}),
        ("mul_sigmoid", "mul with activation sigmoid", "mul", [1, 3, 7, 9], [1, 3, 7, 9],
         {"activation": "sigmoid"}),
        ("mul_broadcast_tanh", "mul broadcast with activation tanh", "mul", [1, 3, 13, 5],
         [1, 3, 1, 1], {"activation": "tanh"}),
        ("add_1x1", "add of two [1,3,1,1] tensors with activation none", "add", [1, 3, 1, 1],
         [1, 3, 1, 1], {"activation": "none"}),
    ]
    for i, (name, desc, op, sa, sb, attrs) in enumerate(specs):
        c = Case(name, desc, 700 + i)
        a = c.input("a", sa)
        b = c.input("b", sb)
        c.outputs = [c.node(op, op, [a, b], "y", **attrs)]
        out.append(c)
    return out


@case
def concat_cases():
    out = []
    specs = [
        ("concat_2", "concat of 2 inputs, axis default 1", [[1, 3, 7, 9], [1, 2, 7, 9]], None),
        ("concat_3", "concat of 3 inputs, axis 1, batch 2", [[2, 1, 5, 3], [2, 3, 5, 3],
                                                             [2, 5, 5, 3]], 1),
        ("concat_axis2", "concat along H (axis 2)", [[1, 3, 4, 5], [1, 3, 7, 5]], 2),
        ("concat_axis3", "concat of 3 inputs along W (axis 3)", [[2, 2, 3, 1], [2, 2, 3, 4],
                                                                  [2, 2, 3, 2]], 3),
    ]
    for i, (name, desc, shapes, axis) in enumerate(specs):
        c = Case(name, desc, 800 + i)
        xs = [c.input(f"x{j + 1}", s) for j, s in enumerate(shapes)]
        attrs = {} if axis is None else {"axis": axis}
        c.outputs = [c.node("concat", "concat", xs, "y", **attrs)]
        out.append(c)
    return out


@case
def resize_cases():
    out = []
    specs = [
        ("resize_nearest_x2", "nearest, scale [2,2], mode and align_corners default",
         [1, 3, 5, 7], {"scale": [2.0, 2.0]}),
        ("resize_nearest_x1_7", "nearest, scale 1.7 (output floor(in*1.7))", [2, 3, 7, 9],
         {"mode": "nearest", "scale": [1.7, 1.7]}),
        ("resize_nearest_x0_6", "nearest, downscale 0.6", [1, 3, 13, 9],
         {"mode": "nearest", "scale": [0.6, 0.6]}),
        ("resize_nearest_mixed", "nearest, scale [3, 0.5]", [1, 2, 5, 9],
         {"mode": "nearest", "scale": [3.0, 0.5]}),
        ("resize_nearest_size", "nearest, size [11,4] from 5x7", [1, 3, 5, 7],
         {"mode": "nearest", "size": [11, 4]}),
        ("resize_nearest_size_down", "nearest, size [5,3] from 13x9", [1, 3, 13, 9],
         {"mode": "nearest", "size": [5, 3]}),
        ("resize_bilinear_x2", "bilinear, scale 2, align_corners default false", [1, 3, 5, 7],
         {"mode": "bilinear", "scale": [2.0, 2.0]}),
        ("resize_bilinear_x1_7", "bilinear, scale 1.7, align_corners false", [2, 3, 7, 9],
         {"mode": "bilinear", "scale": [1.7, 1.7], "align_corners": False}),
        ("resize_bilinear_x0_6", "bilinear, scale 0.6, align_corners false", [1, 3, 13, 9],
         {"mode": "bilinear", "scale": [0.6, 0.6]}),
        ("resize_bilinear_x1_7_ac", "bilinear, scale 1.7, align_corners true", [1, 3, 7, 9],
         {"mode": "bilinear", "scale": [1.7, 1.7], "align_corners": True}),
        ("resize_bilinear_x0_6_ac", "bilinear, scale [0.6,2.5], align_corners true",
         [1, 3, 13, 5], {"mode": "bilinear", "scale": [0.6, 2.5], "align_corners": True}),
        ("resize_bilinear_size", "bilinear, size [11,15] from 5x7, align_corners false",
         [1, 3, 5, 7], {"mode": "bilinear", "size": [11, 15]}),
        ("resize_bilinear_size_ac", "bilinear, size [11,15] from 5x7, align_corners true",
         [2, 3, 5, 7], {"mode": "bilinear", "size": [11, 15], "align_corners": True}),
        ("resize_bilinear_size_down", "bilinear, size [4,5] from 13x9, align_corners false",
         [1, 3, 13, 9], {"mode": "bilinear", "size": [4, 5]}),
        ("resize_bilinear_size_down_ac", "bilinear, size [4,5] from 13x9, align_corners true",
         [1, 3, 13, 9], {"mode": "bilinear", "size": [4, 5], "align_corners": True}),
        ("resize_bilinear_from_1x1", "bilinear from 1x1 to [3,4]", [1, 5, 1, 1],
         {"mode": "bilinear", "size": [3, 4]}),
        ("resize_bilinear_to_1x1_ac", "bilinear to 1x1 with align_corners true", [1, 3, 7, 9],
         {"mode": "bilinear", "size": [1, 1], "align_corners": True}),
        ("resize_nearest_from_1x1", "nearest from 1x1, scale [3,2]", [2, 3, 1, 1],
         {"mode": "nearest", "scale": [3.0, 2.0]}),
    ]
    for i, (name, desc, shape, attrs) in enumerate(specs):
        out.append(single(name, desc, 900 + i, shape,
                          lambda c, x, attrs=attrs: c.node("resize", "resize", [x], "y",
                                                           **attrs)))
    return out


@case
def crop_pad_cases():
    out = []
    out.append(single("crop_offset", "crop offset [1,2] size [4,5] of 7x9", 1000, [2, 3, 7, 9],
                      lambda c, x: c.node("crop", "crop", [x], "y", offset=[1, 2],
                                          size=[4, 5])))
    out.append(single("crop_margins", "crop margins [1,0,2,3]", 1001, [1, 3, 7, 9],
                      lambda c, x: c.node("crop", "crop", [x], "y", margins=[1, 0, 2, 3])))
    c = Case("crop_ref_centre", "centre crop of [1,3,11,9] to a ref of [1,2,7,5]", 1002)
    x = c.input("x", [1, 3, 11, 9])
    ref = c.input("ref", [1, 2, 7, 5])
    c.outputs = [c.node("crop", "crop", [x, ref], "y")]
    out.append(c)
    specs = [
        ("pad_constant_default", "pad [2,2,2,2], mode and value default (constant 0)",
         [1, 3, 7, 9], {"pads": [2, 2, 2, 2]}),
        ("pad_constant_value", "constant pad [1,2,0,3] with value 0.5", [2, 3, 7, 9],
         {"pads": [1, 2, 0, 3], "mode": "constant", "value": 0.5}),
        ("pad_reflect", "reflect pad [2,1,3,2]", [1, 3, 7, 9], {"pads": [2, 1, 3, 2],
                                                                "mode": "reflect"}),
        ("pad_edge", "edge (replicate) pad [3,0,1,4]", [2, 3, 5, 7], {"pads": [3, 0, 1, 4],
                                                                      "mode": "edge"}),
        ("pad_negative_constant", "constant pad [-1,2,1,-2] value -1 (negative pads crop)",
         [1, 3, 7, 9], {"pads": [-1, 2, 1, -2], "mode": "constant", "value": -1.0}),
        ("pad_negative_all", "constant pad [-1,-2,-1,-1] (pure crop)", [1, 3, 7, 9],
         {"pads": [-1, -2, -1, -1]}),
        ("pad_negative_edge", "edge pad [-2,1,1,2]", [1, 3, 7, 9], {"pads": [-2, 1, 1, 2],
                                                                   "mode": "edge"}),
        ("pad_negative_reflect", "reflect pad [1,-1,2,-2]", [1, 3, 7, 9],
         {"pads": [1, -1, 2, -2], "mode": "reflect"}),
    ]
    for i, (name, desc, shape, attrs) in enumerate(specs):
        out.append(single(name, desc, 1010 + i, shape,
                          lambda c, x, attrs=attrs: c.node("pad", "pad", [x], "y", **attrs)))
    return out


# --------------------------------------------------------------------------
# Multi-op graphs
# --------------------------------------------------------------------------

CLASSES3 = [{"name": "background", "color": [0, 0, 0]},
            {"name": "cell", "color": [255, 0, 0]},
            {"name": "boundary", "color": [0, 255, 0]}]
PRE_RGB = {"scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406],
           "std": [0.229, 0.224, 0.225], "channels": "rgb"}
PRE_GRAY = {"scale": 0.00392156862745098, "mean": [0.5], "std": [0.25], "channels": "gray"}


def graph_unet_padded(seed):
    c = Case("graph_unet_padded", "U-Net with padded convs: conv+BN+relu blocks, max_pool, "
             "conv_transpose up, concat skip, 1x1 head, softmax; null spatial dims; classes "
             "and preprocess metadata", seed)
    x = c.input("image", [1, 3, 12, 8], [1, 3, None, None])
    p = {"pads": [1, 1, 1, 1]}
    e1 = c.conv_bn_relu("enc1a", x, 3, 6, **p)
    e1 = c.conv_bn_relu("enc1b", e1, 6, 6, **p)
    d = c.node("max_pool", "down1", [e1], "down1", kernel=[2, 2])
    e2 = c.conv_bn_relu("enc2a", d, 6, 10, **p)
    e2 = c.conv_bn_relu("enc2b", e2, 10, 10, **p)
    d2 = c.node("max_pool", "down2", [e2], "down2", kernel=[2, 2], stride=[2, 2])
    b = c.conv_bn_relu("bottom", d2, 10, 12, **p)
    u2 = c.conv_transpose("up2", b, 12, 10, 2, stride=[2, 2])
    cat2 = c.node("concat", "cat2", [e2, u2], "cat2", axis=1)
    d2b = c.conv_bn_relu("dec2", cat2, 20, 8, **p)
    u1 = c.conv_transpose("up1", d2b, 8, 6, 2, stride=[2, 2], activation="relu")
    cat1 = c.node("concat", "cat1", [u1, e1], "cat1")
    d1 = c.conv_bn_relu("dec1", cat1, 12, 6, **p)
    logits = c.conv("head", d1, 6, 3, 1)
    c.node("softmax", "softmax", [logits], "probs", axis=1)
    c.outputs = ["probs"]
    c.metadata = {"classes": CLASSES3, "preprocess": PRE_RGB}
    c.shuffle = True
    return c


def graph_unet_valid(seed):
    c = Case("graph_unet_valid", "original U-Net style: unpadded convs, skip centre-cropped "
             "to the upsampled tensor, concat, two outputs (scores and argmax labels)", seed)
    x = c.input("x", [1, 1, 20, 18], [1, 1, None, None])
    e1 = c.conv("e1a", x, 1, 4, 3, activation="relu")
    e1 = c.conv_bn_relu("e1b", e1, 4, 4)                  # 16x14, used twice
    d = c.node("max_pool", "pool1", [e1], "pool1", kernel=[2, 2])  # 8x7
    e2 = c.conv_bn_relu("e2a", d, 4, 8)                   # 6x5
    e2 = c.conv("e2b", e2, 8, 8, 3, activation="relu")   # 4x3
    u = c.conv_transpose("up", e2, 8, 4, 2, stride=[2, 2])  # 8x6
    skip = c.node("crop", "skip_crop", [e1, u], "skip")  # centre crop 16x14 -> 8x6
    cat = c.node("concat", "cat", [skip, u], "cat")
    d1 = c.conv_bn_relu("d1", cat, 8, 6)                 # 6x4
    scores = c.conv("scores", d1, 6, 3, 1)
    c.node("argmax", "labels", [scores], "labels")
    c.outputs = ["scores", "labels"]
    c.metadata = {"classes": CLASSES3, "preprocess": PRE_GRAY}
    c.shuffle = True
    return c


def graph_segnet(seed):
    c = Case("graph_segnet", "SegNet style: conv+BN, max_pool with indices, relu, second "
             "level, then max_unpool with the saved indices and output_size; batch 2", seed)
    x = c.input("x", [2, 3, 12, 10], [2, 3, None, None])
    a = c.conv("enc1", x, 3, 5, 3, pads=[1, 1, 1, 1])
    a = c.batch_norm("enc1_bn", a, 5)
    p1, i1 = c.node("max_pool", "pool1", [a], ["p1", "i1"], kernel=[2, 2])
    p1 = c.node("relu", "relu1", [p1], "r1")
    b = c.conv("enc2", p1, 5, 6, 3, pads=[1, 1, 1, 1], bias=False)
    b = c.batch_norm("enc2_bn", b, 6, epsilon=1e-3)
    p2, i2 = c.node("max_pool", "pool2", [b], ["p2", "i2"], kernel=[2, 2], stride=[2, 2])
    p2 = c.node("relu", "relu2", [p2], "r2")
    m = c.conv_bn_relu("mid", p2, 6, 6, pads=[1, 1, 1, 1])
    u2 = c.node("max_unpool", "unpool2", [m, i2], "u2", output_size=[6, 5])
    dd = c.conv_bn_relu("dec2", u2, 6, 5, pads=[1, 1, 1, 1])
    u1 = c.node("max_unpool", "unpool1", [dd, i1], "u1", output_size=[12, 10])
    dd1 = c.conv_bn_relu("dec1", u1, 5, 5, pads=[1, 1, 1, 1])
    c.conv("classifier", dd1, 5, 4, 3, pads=[1, 1, 1, 1])
    c.outputs = ["classifier"]
    c.shuffle = True
    return c


def graph_dilated_se(seed):
    c = Case("graph_dilated_se", "context net: dilated convs (1,2,4) with leaky_relu, residual "
             "add, squeeze-excite gate (global_avg_pool, 1x1 convs, mul broadcast), bilinear "
             "resize x2; a tensor consumed by several nodes", seed)
    x = c.input("x", [1, 3, 11, 13], [1, 3, None, None])
    stem = c.conv("stem", x, 3, 8, 3, pads=[1, 1, 1, 1], activation="relu")  # used 3 times
    h = stem
    for i, dil in enumerate([1, 2, 4]):
        h = c.conv(f"ctx{i}", h, 8, 8, 3, pads=[dil] * 4, dilation=[dil, dil],
                   activation="leaky_relu", activation_alpha=0.1)
    res = c.node("add", "residual", [h, stem], "res", activation="relu")
    g = c.node("global_avg_pool", "gap", [res], "gap")
    g = c.conv("se_reduce", g, 8, 4, 1, activation="relu")
    g = c.conv("se_expand", g, 4, 8, 1, activation="sigmoid")
    gated = c.node("mul", "gate", [res, g], "gated")
    both = c.node("concat", "cat_stem", [gated, stem], "cat")
    y = c.conv("head", both, 16, 4, 1)
    c.node("resize", "upsample", [y], "scores", mode="bilinear", scale=[2.0, 2.0])
    c.outputs = ["scores"]
    c.shuffle = True
    return c


def graph_fpn(seed):
    c = Case("graph_fpn", "feature pyramid: strided convs with asymmetric pads, nearest resize "
             "to size, add, bilinear align_corners resize back, avg_pool ceil_mode branch, "
             "tanh, softmax and argmax heads (two outputs)", seed)
    x = c.input("x", [1, 3, 13, 11], [1, 3, None, None])
    f1 = c.conv("f1", x, 3, 6, 3, pads=[1, 1, 1, 1], activation="relu")            # 13x11
    f2 = c.conv("f2", f1, 6, 6, 3, stride=[2, 2], pads=[1, 1, 1, 1],
                activation="relu")                                                  # 7x6
    f3 = c.conv("f3", f2, 6, 6, 3, stride=[2, 2], pads=[0, 1, 1, 0],
                activation="relu")                                                  # 3x3
    up3 = c.node("resize", "up3", [f3], "up3", mode="nearest", size=[7, 6])
    m2 = c.node("add", "merge2", [f2, up3], "m2")
    up2 = c.node("resize", "up2", [m2], "up2", mode="bilinear", size=[13, 11],
                 align_corners=True)
    pooled = c.node("avg_pool", "ctx_pool", [f1], "ctx", kernel=[3, 3], stride=[1, 1],
                    pads=[1, 1, 1, 1], ceil_mode=True)
    cat = c.node("concat", "cat", [f1, up2, pooled], "cat")
    t = c.node("tanh", "tanh", [cat], "t")
    logits = c.conv("logits", t, 18, 4, 3, pads=[1, 1, 1, 1])
    c.node("softmax", "softmax", [logits], "probs")
    c.node("argmax", "argmax", [logits], "labels")
    c.outputs = ["probs", "labels"]
    c.shuffle = True
    return c


def graph_patch_classifier(seed):
    c = Case("graph_patch_classifier", "patchwise classifier (Li et al. style, densifiable): "
             "unpadded convs, max_pool, flatten, dense+relu, dense; metadata patch, classes, "
             "preprocess; batch 2", seed)
    x = c.input("patch", [2, 3, 14, 14])
    h = c.conv("conv1", x, 3, 6, 3, activation="relu")     # 12
    h = c.node("max_pool", "pool1", [h], "pool1", kernel=[2, 2])  # 6
    h = c.conv("conv2", h, 6, 8, 3)                         # 4
    h = c.batch_norm("bn2", h, 8)
    h = c.node("relu", "relu2", [h], "relu2")
    h = c.node("max_pool", "pool2", [h], "pool2", kernel=[2, 2], stride=[2, 2])  # 2
    f = c.node("flatten", "flatten", [h], "flat")
    f = c.dense("fc1", f, 32, 16, activation="relu")
    f = c.node("dropout", "drop", [f], "drop")
    c.dense("fc2", f, 16, 3)
    c.outputs = ["fc2"]
    c.metadata = {"patch": [14, 14], "classes": CLASSES3, "preprocess": PRE_RGB}
    c.shuffle = True
    return c


def graph_mixed_ops(seed):
    c = Case("graph_mixed_ops", "two inputs; reflect pad, conv_transpose with asymmetric pads "
             "and output_padding, crop margins and offset, avg_pool count_include_pad, "
             "identity, dropout, leaky_relu, sigmoid, mul gate, concat on axis 2", seed)
    x = c.input("x", [1, 2, 9, 7], [1, 2, None, None])
    g = c.input("guide", [1, 1, 9, 7], [1, 1, None, None])
    p = c.node("pad", "reflect", [x], "padded", pads=[1, 2, 1, 2], mode="reflect")  # 11x11
    h = c.conv("c1", p, 2, 4, 3, stride=[2, 2], activation="tanh")                 # 5x5
    h = c.node("identity", "id", [h], "id")
    u = c.conv_transpose("up", h, 4, 3, 3, stride=[2, 2], pads=[1, 0, 0, 1],
                         output_padding=[1, 1])                                    # 11x11
    u = c.node("crop", "trim", [u], "trim", margins=[1, 2, 1, 2])                  # 9x7
    u = c.node("leaky_relu", "lrelu", [u], "lrelu", alpha=0.2)
    gate = c.node("sigmoid", "gate_sig", [g], "gate")
    gsum = c.node("global_avg_pool", "guide_pool", [g], "guide_pool")
    gsum = c.conv("guide_fc", gsum, 1, 3, 1, activation="sigmoid")
    gated = c.node("mul", "gate_mul", [u, gsum], "gated")
    guided = c.conv("guide_conv", gate, 1, 3, 3, pads=[1, 1, 1, 1])
    s = c.node("add", "sum", [gated, guided], "sum", activation="leaky_relu",
               activation_alpha=0.05)
    a = c.node("avg_pool", "smooth", [s], "smooth", kernel=[3, 3], stride=[1, 1],
               pads=[1, 1, 1, 1], count_include_pad=True)
    d = c.node("dropout", "drop", [a], "drop")
    top = c.node("crop", "top", [d], "top", offset=[0, 0], size=[4, 7])
    stacked = c.node("concat", "stack_h", [top, s], "stacked", axis=2)             # 13x7
    c.conv("out", stacked, 3, 2, 3, pads=[1, 1, 1, 1], bias=False)
    c.outputs = ["out"]
    c.shuffle = True
    return c


def graph_aspp(seed):
    c = Case("graph_aspp", "DeepLab-like: depthwise-separable conv+BN+relu, ASPP branches (1x1, "
             "dilation 2 and 3) on one tensor, image-pool branch resized from 1x1, concat, 1x1 "
             "conv, bilinear resize x1.7, softmax and argmax (two outputs); edge pad", seed)
    x = c.input("x", [1, 3, 9, 11], [1, 3, None, None])
    h = c.node("pad", "edge_pad", [x], "edge", pads=[1, 1, 1, 1], mode="edge")
    h = c.conv("stem", h, 3, 6, 3, stride=[2, 2], activation="relu")                 # 5x6
    dw = c.conv("dw", h, 6, 6, 3, groups=6, pads=[1, 1, 1, 1], bias=False)
    pw = c.conv("pw", dw, 6, 8, 1, bias=False)
    f = c.batch_norm("pw_bn", pw, 8)
    f = c.node("relu", "pw_relu", [f], "feat")                                     # used 4x
    branches = [c.conv("aspp0", f, 8, 4, 1, activation="relu")]
    for i, dil in enumerate([2, 3]):
        branches.append(c.conv(f"aspp{i + 1}", f, 8, 4, 3, pads=[dil] * 4,
                               dilation=[dil, dil], activation="relu"))
    gp = c.node("global_avg_pool", "img_pool", [f], "img_pool")
    gp = c.conv("img_conv", gp, 8, 4, 1, activation="relu")
    gp = c.node("resize", "img_up", [gp], "img_up", mode="nearest", size=[5, 6])
    cat = c.node("concat", "aspp_cat", branches + [gp], "aspp_cat")
    proj = c.conv_bn_relu("proj", cat, 16, 8)  # unpadded 3x3: 3x4
    logits = c.conv("cls", proj, 8, 3, 1)
    up = c.node("resize", "up", [logits], "scores", mode="bilinear", scale=[1.7, 1.7])
    c.node("softmax", "softmax", [up], "probs", axis=1)
    c.node("argmax", "labels", [up], "labels", axis=1)
    c.outputs = ["probs", "labels"]
    c.shuffle = True
    return c


GRAPHS = [graph_unet_padded, graph_unet_valid, graph_segnet, graph_dilated_se, graph_fpn,
          graph_patch_classifier, graph_mixed_ops, graph_aspp]


@case
def graph_cases():
    out = []
    for i, make in enumerate(GRAPHS):
        # A seed whose outputs have a clear argmax / max-pool winner everywhere.
        last_error = None
        for attempt in range(20):
            c = make(2000 + 37 * i + attempt)
            try:
                evaluate(c)
            except GoldenError as e:
                if "margin" not in str(e):
                    raise
                last_error = e
                continue
            out.append(c)
            break
        else:
            raise GoldenError(f"{make.__name__}: no seed with clear margins: {last_error}")
    return out


def main():
    if os.path.isdir(GOLDEN):
        shutil.rmtree(GOLDEN)
    os.makedirs(GOLDEN)
    manifest = []
    names = set()
    for make in CASES:
        for c in make():
            if c.name in names:
                raise GoldenError(f"duplicate case {c.name}")
            names.add(c.name)
            manifest.append(write_case(c))
            CHECKED.append((c.name, c.float32_error))
    with open(os.path.join(GOLDEN, "MANIFEST.json"), "w", encoding="utf-8") as f:
        f.write('{\n  "format": "fcnrt-golden",\n  "version": 1,\n'
                '  "regenerate": "/usr/bin/python3 tests/make_golden.py",\n  "cases": [\n')
        f.write(",\n".join("    " + json.dumps(entry) for entry in manifest))
        f.write("\n  ]\n}\n")
    worst = sorted(CHECKED, key=lambda t: -t[1])[:5]
    print("largest float32-rerun errors: " + ", ".join(f"{n} {e:.2g}" for n, e in worst))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(GOLDEN) for f in fs)
    print(f"wrote {len(manifest)} cases to {GOLDEN} ({total} bytes)")


if __name__ == "__main__":
    try:
        main()
    except GoldenError as e:
        print(f"make_golden: error: {e}", file=sys.stderr)
        sys.exit(1)
