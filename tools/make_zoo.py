#!/usr/bin/python3
"""The fcnrt model zoo: classic fully convolutional segmentation nets, random weights.

Run with Debian's PyTorch (python3-torch, python3-numpy):

    /usr/bin/python3 tools/make_zoo.py [OUT_DIR]          # full size, default build/zoo
    /usr/bin/python3 tools/make_zoo.py --goldens tests/golden   # small golden cases

Every architecture is written twice: as an idiomatic torch.nn.Module (the forward
pass below, as the paper describes it) and as an fcnrt graph (shared/spec/model-format.md)
emitted from the module's weights by a separate builder. The two are checked against
each other: at golden size the module's float64 output must equal the reference
interpreter of tests/make_golden.py on the graph, and at full size the module's output
shape (a forward pass on PyTorch's meta device) must equal the graph's.

Weights are RANDOM (seeded), not trained: He-normal convolutions, small random biases,
batch norm with random scale, shift and running statistics. The zoo is for the engine
(loading, planning, speed, parameter counts), not for segmenting anything.

Full size (OUT_DIR/NAME.json + NAME.safetensors; about 1.4 GB in all, generated, never
committed):

    unet        Ronneberger et al. 2015, 572x572 -> 388x388, 2 classes
    fcn8s       Long et al. 2015, VGG16 FCN-8s (Caffe geometry: pad 100, crops 5/9/31), 500x500
    tiramisu    Jegou et al. 2017, FC-DenseNet103, 224x224, 11 classes
    dilation    Yu & Koltun 2016, VGG16 front end + basic context module, 900x900 -> 528x528
    segnet      Badrinarayanan et al. 2017, SegNet (VGG16 widths), 360x480, 11 classes
    cellpatch   the 31x31 patch classifier of models/bsubtilis-patch31

--goldens DIR writes the same architectures at reduced width and input size as golden
cases DIR/zoo_NAME/ (the layout tests/make_golden.py writes) and replaces the zoo_*
entries of DIR/MANIFEST.json, leaving every other case alone. tests/make_golden.py
rewrites the whole golden folder, so run this after it.
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
import make_golden as mg  # noqa: E402  (Case, reference interpreter, writers)


class ZooError(Exception):
    pass


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def centre_crop(x, h, w):
    """U-Net / Tiramisu skip crop: the centre h x w of x (even differences only)."""
    dh, dw = x.shape[2] - h, x.shape[3] - w
    if dh < 0 or dw < 0 or dh % 2 or dw % 2:
        raise ZooError(f"centre crop of {list(x.shape)} to {h}x{w} is not centred")
    return x[:, :, dh // 2:dh // 2 + h, dw // 2:dw // 2 + w]


def max_unpool(x, indices, size):
    # PyTorch has no meta kernel for max_unpool2d; the output shape is all a meta run needs.
    if x.is_meta:
        return x.new_empty(tuple(x.shape[:2]) + tuple(size))
    # PyTorch flags max_unpool2d as nondeterministic because overlapping windows could
    # write one place twice; 2x2 stride-2 windows never overlap.
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        return F.max_unpool2d(x, indices, 2, 2, output_size=list(size))
    finally:
        torch.use_deterministic_algorithms(deterministic)


def randomize(module, seed, bn_shift=0.0):
    """Seeded random weights: He-normal weights, N(0, 0.1) biases, random batch norm.

    Batch norm gets scale U(0.5, 1.5), shift N(bn_shift, 0.1), running mean N(0, 0.1)
    and running variance U(0.5, 1.5), so that a graph that ignored any of the four would
    fail its golden."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in module.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                mod.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=g)
                if mod.bias is not None:
                    mod.bias.normal_(0.0, 0.1, generator=g)
            elif isinstance(mod, nn.ConvTranspose2d):
                cin, _, kh, kw = mod.weight.shape
                # Taps that reach one output pixel: (C/groups) * kh * kw / (stride_h * stride_w).
                fan_in = max(1, cin // mod.groups * kh * kw // (mod.stride[0] * mod.stride[1]))
                mod.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=g)
                if mod.bias is not None:
                    mod.bias.normal_(0.0, 0.1, generator=g)
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5, generator=g)
                mod.bias.normal_(bn_shift, 0.1, generator=g)
                mod.running_mean.normal_(0.0, 0.1, generator=g)
                mod.running_var.uniform_(0.5, 1.5, generator=g)
    return module


def trainable_parameters(module):
    return sum(p.numel() for p in module.parameters())


def stored_weights(module):
    """Everything the safetensors file holds: parameters plus batch norm running stats."""
    return sum(v.numel() for k, v in module.state_dict().items()
               if not k.endswith("num_batches_tracked"))


def voc_classes():
    names = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
             "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
             "pottedplant", "sheep", "sofa", "train", "tvmonitor"]
    out = []
    for i, name in enumerate(names):  # the PASCAL VOC colour map
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append({"name": name, "color": [r, g, b]})
    return out


CAMVID_CLASSES = [
    {"name": "sky", "color": [128, 128, 128]}, {"name": "building", "color": [128, 0, 0]},
    {"name": "pole", "color": [192, 192, 128]}, {"name": "road", "color": [128, 64, 128]},
    {"name": "pavement", "color": [60, 40, 222]}, {"name": "tree", "color": [128, 128, 0]},
    {"name": "sign", "color": [192, 128, 128]}, {"name": "fence", "color": [64, 64, 128]},
    {"name": "car", "color": [64, 0, 128]}, {"name": "pedestrian", "color": [64, 64, 0]},
    {"name": "bicyclist", "color": [0, 128, 192]}]


def generic_classes(n):
    return [{"name": f"class{i}", "color": [(67 * i) % 256, (151 * i + 40) % 256,
                                            (29 * i + 90) % 256]} for i in range(n)]


# --------------------------------------------------------------------------
# Graph builder: emits fcnrt nodes that read a module's state_dict by name and
# infers every tensor's shape as it goes (PyTorch meta tensors).
# --------------------------------------------------------------------------


class GraphBuilder:
    def __init__(self, module, input_name, input_shape, json_shape):
        self.module = module
        self.paths = {id(m): p for p, m in module.named_modules()}
        self.state = {k: v.detach().to(torch.float32).contiguous().numpy()
                      for k, v in module.state_dict().items()
                      if not k.endswith("num_batches_tracked")}
        self.used = set()
        self.nodes = []
        self.input_name = input_name
        self.input_shape = list(input_shape)
        self.json_shape = list(json_shape)
        self.meta = {input_name: torch.empty(input_shape, device="meta")}

    def shape(self, name):
        return list(self.meta[name].shape)

    def weight(self, mod, attr):
        name = f"{self.paths[id(mod)]}.{attr}"
        if name not in self.state:
            raise ZooError(f"no weight {name}")
        self.used.add(name)
        return name

    def meta_weight(self, mod, attr):
        return torch.empty(getattr(mod, attr).shape, device="meta")

    def add(self, op, name, inputs, outputs, meta_outputs, **attrs):
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        metas = [meta_outputs] if isinstance(meta_outputs, torch.Tensor) else meta_outputs
        node = {"op": op, "name": name, "inputs": list(inputs), "outputs": outputs}
        node.update(attrs)
        self.nodes.append(node)
        for out, m in zip(outputs, metas):
            if out in self.meta:
                raise ZooError(f"tensor {out} produced twice")
            self.meta[out] = m
        return outputs[0] if len(outputs) == 1 else outputs

    @staticmethod
    def _geometry(mod, attrs):
        if tuple(mod.stride) != (1, 1):
            attrs["stride"] = list(mod.stride)
        ph, pw = mod.padding
        if (ph, pw) != (0, 0):
            attrs["pads"] = [ph, pw, ph, pw]
        if tuple(mod.dilation) != (1, 1):
            attrs["dilation"] = list(mod.dilation)
        if mod.groups != 1:
            attrs["groups"] = mod.groups

    def conv(self, mod, x, activation=None, name=None):
        name = name or self.paths[id(mod)]
        attrs = {}
        self._geometry(mod, attrs)
        if activation:
            attrs["activation"] = activation
        attrs["weight"] = self.weight(mod, "weight")
        if mod.bias is not None:
            attrs["bias"] = self.weight(mod, "bias")
        y = F.conv2d(self.meta[x], self.meta_weight(mod, "weight"), None, mod.stride,
                     mod.padding, mod.dilation, mod.groups)
        return self.add("conv", name, [x], name, y, **attrs)

    def conv_transpose(self, mod, x, name=None):
        name = name or self.paths[id(mod)]
        attrs = {}
        self._geometry(mod, attrs)
        if tuple(mod.output_padding) != (0, 0):
            attrs["output_padding"] = list(mod.output_padding)
        attrs["weight"] = self.weight(mod, "weight")
        if mod.bias is not None:
            attrs["bias"] = self.weight(mod, "bias")
        y = F.conv_transpose2d(self.meta[x], self.meta_weight(mod, "weight"), None, mod.stride,
                               mod.padding, mod.output_padding, mod.groups, mod.dilation)
        return self.add("conv_transpose", name, [x], name, y, **attrs)

    def batch_norm(self, mod, x, name=None):
        name = name or self.paths[id(mod)]
        attrs = {"scale": self.weight(mod, "weight"), "bias": self.weight(mod, "bias"),
                 "mean": self.weight(mod, "running_mean"), "var": self.weight(mod, "running_var")}
        if mod.eps != 1e-5:
            attrs["epsilon"] = mod.eps
        return self.add("batch_norm", name, [x], name, self.meta[x], **attrs)

    def dense(self, mod, x, activation=None, name=None):
        name = name or self.paths[id(mod)]
        attrs = {}
        if activation:
            attrs["activation"] = activation
        attrs["weight"] = self.weight(mod, "weight")
        if mod.bias is not None:
            attrs["bias"] = self.weight(mod, "bias")
        y = torch.empty((self.meta[x].shape[0], mod.out_features), device="meta")
        return self.add("dense", name, [x], name, y, **attrs)

    def unary(self, op, name, x):
        return self.add(op, name, [x], name, self.meta[x])

    def flatten(self, name, x):
        return self.add("flatten", name, [x], name, self.meta[x].flatten(1))

    def max_pool(self, name, x, ceil_mode=False, indices=False):
        attrs = {"kernel": [2, 2], "stride": [2, 2]}
        if ceil_mode:
            attrs["ceil_mode"] = True
        y = F.max_pool2d(self.meta[x], 2, 2, ceil_mode=ceil_mode)
        if indices:
            return self.add("max_pool", name, [x], [name, name + ".indices"], [y, y], **attrs)
        return self.add("max_pool", name, [x], name, y, **attrs)

    def max_unpool(self, name, x, indices, output_size):
        n, c = self.meta[x].shape[:2]
        y = torch.empty((n, c) + tuple(output_size), device="meta")
        return self.add("max_unpool", name, [x, indices], name, y,
                        output_size=list(output_size))

    def crop(self, name, x, ref=None, offset=None, size=None, margins=None):
        xs = self.shape(x)
        inputs = [x]
        attrs = {}
        if offset is not None:
            top, left = offset
            h, w = size
            attrs = {"offset": list(offset), "size": list(size)}
        elif margins is not None:
            top, left = margins[0], margins[1]
            h, w = xs[2] - margins[0] - margins[2], xs[3] - margins[1] - margins[3]
            attrs = {"margins": list(margins)}
        else:
            h, w = self.shape(ref)[2:]
            if (xs[2] - h) % 2 or (xs[3] - w) % 2:
                raise ZooError(f"{name}: centre crop with an odd difference is ambiguous")
            top, left = (xs[2] - h) // 2, (xs[3] - w) // 2
            inputs.append(ref)
        if top < 0 or left < 0 or h <= 0 or w <= 0 or top + h > xs[2] or left + w > xs[3]:
            raise ZooError(f"{name}: crop out of range of {xs}")
        return self.add("crop", name, inputs, name, self.meta[x][:, :, top:top + h, left:left + w],
                        **attrs)

    def concat(self, name, xs):
        return self.add("concat", name, xs, name, torch.cat([self.meta[x] for x in xs], 1))

    def add_tensors(self, name, a, b):
        return self.add("add", name, [a, b], name, self.meta[a] + self.meta[b])

    def finish(self):
        unused = sorted(set(self.state) - self.used)
        if unused:
            raise ZooError(f"weights the graph does not use: {unused[:5]}")
        return {k: self.state[k] for k in sorted(self.used)}


# --------------------------------------------------------------------------
# U-Net (Ronneberger, Fischer, Brox 2015)
# --------------------------------------------------------------------------


class DoubleConv(nn.Module):
    """Two unpadded 3x3 convolutions, each followed by ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3)
        self.conv2 = nn.Conv2d(cout, cout, 3)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class UNet(nn.Module):
    def __init__(self, in_channels=1, classes=2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()
        self.widths = widths
        chans = [in_channels] + list(widths)
        self.enc = nn.ModuleList(DoubleConv(chans[i], chans[i + 1]) for i in range(5))
        self.drop = nn.Dropout(0.5)  # "drop-out layers at the end of the contracting path"
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[4 - i], widths[3 - i], 2, stride=2)
                                for i in range(4))
        self.dec = nn.ModuleList(DoubleConv(widths[4 - i], widths[3 - i]) for i in range(4))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x)
            if i < 4:
                skips.append(x)
                x = F.max_pool2d(x, 2, 2)
        x = self.drop(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = up(x)
            x = dec(torch.cat([centre_crop(skip, x.shape[2], x.shape[3]), x], 1))
        return self.head(x)


def unet_graph(m, b):
    x = b.input_name
    skips = []
    for i, block in enumerate(m.enc):
        x = b.conv(block.conv1, x, "relu")
        x = b.conv(block.conv2, x, "relu")
        if i < 4:
            skips.append(x)
            x = b.max_pool(f"pool{i + 1}", x)
    x = b.unary("dropout", "drop", x)
    for i, (up, dec, skip) in enumerate(zip(m.up, m.dec, reversed(skips))):
        x = b.conv_transpose(up, x)
        s = b.crop(f"skip{4 - i}.crop", skip, ref=x)
        x = b.concat(f"cat{4 - i}", [s, x])
        x = b.conv(dec.conv1, x, "relu")
        x = b.conv(dec.conv2, x, "relu")
    return [b.conv(m.head, x, name="scores")]


# --------------------------------------------------------------------------
# FCN-8s (Long, Shelhamer, Darrell 2015), the Caffe voc-fcn8s geometry
# --------------------------------------------------------------------------

VGG16 = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def vgg_convs(module, widths, in_channels, first_pad, dilations=(1, 1, 1, 1, 1), pad=True):
    """Registers conv{b}_{i} on `module`; returns [[name, ...] per block]."""
    names = []
    cin = in_channels
    for bi, block in enumerate(widths):
        names.append([])
        for li, cout in enumerate(block):
            d = dilations[bi]
            p = (first_pad if (bi, li) == (0, 0) else d) if pad else 0
            name = f"conv{bi + 1}_{li + 1}"
            setattr(module, name, nn.Conv2d(cin, cout, 3, padding=p, dilation=d))
            names[-1].append(name)
            cin = cout
    return names


class FCN8s(nn.Module):
    # Caffe's Crop layer offsets in voc-fcn8s (from the net's coordinate mapping; fixed
    # for every input size): score_pool4 by 5, score_pool3 by 9, upscore8 by 31.
    OFFSETS = (5, 9, 31)

    def __init__(self, classes=21, widths=VGG16, fc=4096):
        super().__init__()
        self.blocks = vgg_convs(self, widths, 3, first_pad=100)
        self.fc6 = nn.Conv2d(widths[4][-1], fc, 7)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.drop7 = nn.Dropout(0.5)
        self.score_fr = nn.Conv2d(fc, classes, 1)
        self.score_pool4 = nn.Conv2d(widths[3][-1], classes, 1)
        self.score_pool3 = nn.Conv2d(widths[2][-1], classes, 1)
        self.upscore2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, bias=False)
        self.upscore_pool4 = nn.ConvTranspose2d(classes, classes, 4, stride=2, bias=False)
        self.upscore8 = nn.ConvTranspose2d(classes, classes, 16, stride=8, bias=False)

    def forward(self, x):
        h, w = x.shape[2:]
        pools = []
        for block in self.blocks:
            for name in block:
                x = F.relu(getattr(self, name)(x))
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)  # Caffe pooling rounds up
            pools.append(x)
        x = self.drop6(F.relu(self.fc6(x)))
        x = self.drop7(F.relu(self.fc7(x)))
        up2 = self.upscore2(self.score_fr(x))
        o4, o3, o8 = self.OFFSETS
        s4 = self.score_pool4(pools[3])[:, :, o4:o4 + up2.shape[2], o4:o4 + up2.shape[3]]
        up4 = self.upscore_pool4(up2 + s4)
        s3 = self.score_pool3(pools[2])[:, :, o3:o3 + up4.shape[2], o3:o3 + up4.shape[3]]
        up8 = self.upscore8(up4 + s3)
        return up8[:, :, o8:o8 + h, o8:o8 + w]


def fcn8s_graph(m, b):
    x = b.input_name
    pools = []
    for i, block in enumerate(m.blocks):
        for name in block:
            x = b.conv(getattr(m, name), x, "relu")
        x = b.max_pool(f"pool{i + 1}", x, ceil_mode=True)
        pools.append(x)
    x = b.unary("dropout", "drop6", b.conv(m.fc6, x, "relu"))
    x = b.unary("dropout", "drop7", b.conv(m.fc7, x, "relu"))
    up2 = b.conv_transpose(m.upscore2, b.conv(m.score_fr, x))
    o4, o3, o8 = m.OFFSETS
    s4 = b.crop("score_pool4c", b.conv(m.score_pool4, pools[3]), offset=[o4, o4],
                size=b.shape(up2)[2:])
    up4 = b.conv_transpose(m.upscore_pool4, b.add_tensors("fuse_pool4", up2, s4))
    s3 = b.crop("score_pool3c", b.conv(m.score_pool3, pools[2]), offset=[o3, o3],
                size=b.shape(up4)[2:])
    up8 = b.conv_transpose(m.upscore8, b.add_tensors("fuse_pool3", up4, s3))
    return [b.crop("score", up8, offset=[o8, o8], size=b.input_shape[2:])]


# --------------------------------------------------------------------------
# FC-DenseNet (Tiramisu; Jegou, Drozdzal, Vazquez, Romero, Bengio 2017)
# --------------------------------------------------------------------------


class DenseLayer(nn.Module):
    """BN - ReLU - 3x3 conv (growth) - dropout."""

    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.drop(self.conv(F.relu(self.bn(x))))


class TransitionDown(nn.Module):
    """BN - ReLU - 1x1 conv - dropout - 2x2 max pool."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, c, 1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return F.max_pool2d(self.drop(self.conv(F.relu(self.bn(x)))), 2, 2)


class FCDenseNet(nn.Module):
    """The authors' Lasagne code: transition up is a 3x3 stride-2 'valid' transposed conv
    (2H+1 rows) of the last block's new feature maps only, cropped to the skip's size
    (Lasagne's centre crop of a difference of 1 keeps the first 2H rows), then
    [upsampled, skip] concatenated."""

    def __init__(self, classes=11, growth=16, first=48,
                 layers=(4, 5, 7, 10, 12, 15, 12, 10, 7, 5, 4)):
        super().__init__()
        self.first = nn.Conv2d(3, first, 3, padding=1)
        n_pool = len(layers) // 2
        c = first
        skips = []
        self.down = nn.ModuleList()
        self.td = nn.ModuleList()
        for i in range(n_pool):
            self.down.append(nn.ModuleList(DenseLayer(c + j * growth, growth)
                                           for j in range(layers[i])))
            c += layers[i] * growth
            skips.append(c)
            self.td.append(TransitionDown(c))
        self.bottleneck = nn.ModuleList(DenseLayer(c + j * growth, growth)
                                        for j in range(layers[n_pool]))
        self.tu = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(n_pool):
            keep = growth * layers[n_pool + i]
            self.tu.append(nn.ConvTranspose2d(keep, keep, 3, stride=2))
            c = keep + skips[n_pool - 1 - i]
            self.up.append(nn.ModuleList(DenseLayer(c + j * growth, growth)
                                         for j in range(layers[n_pool + 1 + i])))
            c += layers[n_pool + 1 + i] * growth
        self.final = nn.Conv2d(c, classes, 1)

    @staticmethod
    def block(layers, x, stack=True):
        """Returns the block's input and new maps concatenated (when `stack`; the
        bottleneck and the up path feed only the new maps to the next transition up)
        and the new maps."""
        new = []
        for j, layer in enumerate(layers):
            y = layer(x)
            new.append(y)
            if stack or j + 1 < len(layers):
                x = torch.cat([x, y], 1)
        return x, new

    def forward(self, x):
        x = self.first(x)
        skips = []
        for block, td in zip(self.down, self.td):
            x, _ = self.block(block, x)
            skips.append(x)
            x = td(x)
        _, new = self.block(self.bottleneck, x, stack=False)
        for i, (tu, block, skip) in enumerate(zip(self.tu, self.up, reversed(skips))):
            u = tu(torch.cat(new, 1))
            u = u[:, :, :skip.shape[2], :skip.shape[3]]
            x, new = self.block(block, torch.cat([u, skip], 1), stack=i + 1 == len(self.up))
        return self.final(x)


def tiramisu_graph(m, b):
    def dense_layer(layer, x, prefix):
        y = b.batch_norm(layer.bn, x)
        y = b.unary("relu", prefix + ".relu", y)
        y = b.conv(layer.conv, y)
        return b.unary("dropout", prefix + ".drop", y)

    def block(layers, x, prefix, stack=True):
        new = []
        for j, layer in enumerate(layers):
            y = dense_layer(layer, x, f"{prefix}.{j}")
            new.append(y)
            if stack or j + 1 < len(layers):
                x = b.concat(f"{prefix}.{j}.cat", [x, y])
        return x, new

    x = b.conv(m.first, b.input_name)
    skips = []
    for i, (layers, td) in enumerate(zip(m.down, m.td)):
        x, _ = block(layers, x, f"down.{i}")
        skips.append(x)
        y = b.batch_norm(td.bn, x)
        y = b.unary("relu", f"td.{i}.relu", y)
        y = b.unary("dropout", f"td.{i}.drop", b.conv(td.conv, y))
        x = b.max_pool(f"td.{i}.pool", y)
    _, new = block(m.bottleneck, x, "bottleneck", stack=False)
    for i, (tu, layers, skip) in enumerate(zip(m.tu, m.up, reversed(skips))):
        u = b.conv_transpose(tu, b.concat(f"tu.{i}.in", new))
        u = b.crop(f"tu.{i}.crop", u, margins=[0, 0, 1, 1])
        x, new = block(layers, b.concat(f"tu.{i}.cat", [u, skip]), f"up.{i}",
                       stack=i + 1 == len(m.up))
    return [b.conv(m.final, x, name="scores")]


# --------------------------------------------------------------------------
# Dilated convolutions (Yu & Koltun 2016): front end + basic context module
# --------------------------------------------------------------------------


class DilationNet(nn.Module):
    """VGG16 without pool4 and pool5, conv5 dilated by 2, fc6 (7x7) by 4; then the basic
    context module (3x3 convs with C = classes channels, dilations 1,1,2,4,8,16,1, each
    followed by ReLU, then a 1x1 conv), then the 8x upsampling of the Caffe release: a
    grouped (one filter per class) 16x16 stride-8 transposed conv with pads 4.

    valid=True is the paper's front end: no padding inside it (the images are
    reflection-padded by 186 px outside the net), so a 900x900 tile gives 66x66 scores,
    upsampled to the 528x528 centre. valid=False pads every front-end conv to keep sizes
    (used by the small golden, whose input cannot be 380 px)."""

    CONTEXT_DILATIONS = (1, 1, 2, 4, 8, 16, 1)

    def __init__(self, classes=21, widths=VGG16, fc=4096, valid=True):
        super().__init__()
        self.blocks = vgg_convs(self, widths, 3, first_pad=1, dilations=(1, 1, 1, 1, 2),
                                pad=not valid)
        self.fc6 = nn.Conv2d(widths[4][-1], fc, 7, dilation=4, padding=0 if valid else 12)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.drop7 = nn.Dropout(0.5)
        self.final = nn.Conv2d(fc, classes, 1)
        self.ctx = nn.ModuleList(nn.Conv2d(classes, classes, 3, padding=d, dilation=d)
                                 for d in self.CONTEXT_DILATIONS)
        self.ctx_final = nn.Conv2d(classes, classes, 1)
        self.ctx_upsample = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4,
                                               groups=classes, bias=False)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            for name in block:
                x = F.relu(getattr(self, name)(x))
            if i < 3:
                x = F.max_pool2d(x, 2, 2)
        x = self.drop6(F.relu(self.fc6(x)))
        x = self.drop7(F.relu(self.fc7(x)))
        x = self.final(x)
        for conv in self.ctx:
            x = F.relu(conv(x))
        return self.ctx_upsample(self.ctx_final(x))


def dilation_graph(m, b):
    x = b.input_name
    for i, block in enumerate(m.blocks):
        for name in block:
            x = b.conv(getattr(m, name), x, "relu")
        if i < 3:
            x = b.max_pool(f"pool{i + 1}", x)
    x = b.unary("dropout", "drop6", b.conv(m.fc6, x, "relu"))
    x = b.unary("dropout", "drop7", b.conv(m.fc7, x, "relu"))
    x = b.conv(m.final, x)
    for conv in m.ctx:
        x = b.conv(conv, x, "relu")
    x = b.conv(m.ctx_final, x)
    return [b.conv_transpose(m.ctx_upsample, x, name="scores")]


# --------------------------------------------------------------------------
# SegNet (Badrinarayanan, Kendall, Cipolla 2017)
# --------------------------------------------------------------------------


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.relu else y


class SegNet(nn.Module):
    """VGG16 encoder (conv-BN-ReLU, 2x2 max pool keeping the indices, ceil mode as in
    Caffe, so 360x480 pools to 12x15), mirrored decoder (max unpool with the encoder's
    indices, conv-BN-ReLU), a plain 3x3 conv classifier (Caffe segnet conv1_1_D)."""

    def __init__(self, classes=11, widths=VGG16):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = 3
        for block in widths:
            self.enc.append(nn.ModuleList())
            for cout in block:
                self.enc[-1].append(ConvBNReLU(cin, cout))
                cin = cout
        self.dec = nn.ModuleList()
        for bi in reversed(range(len(widths))):
            block = widths[bi]
            outs = list(reversed(block[:-1])) + [widths[bi - 1][-1] if bi else None]
            self.dec.append(nn.ModuleList())
            for li, cout in enumerate(outs):
                if cout is None:  # the classifier
                    self.dec[-1].append(nn.Conv2d(cin, classes, 3, padding=1))
                else:
                    self.dec[-1].append(ConvBNReLU(cin, cout))
                    cin = cout

    def forward(self, x):
        saved = []
        for block in self.enc:
            for layer in block:
                x = layer(x)
            size = x.shape[2:]
            x, idx = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            saved.append((idx, size))
        for block, (idx, size) in zip(self.dec, reversed(saved)):
            x = max_unpool(x, idx, size)
            for layer in block:
                x = layer(x)
        return x


def segnet_graph(m, b):
    x = b.input_name
    saved = []
    for bi, block in enumerate(m.enc):
        for li, layer in enumerate(block):
            x = b.batch_norm(layer.bn, b.conv(layer.conv, x))
            x = b.unary("relu", f"enc.{bi}.{li}.relu", x)
        size = b.shape(x)[2:]
        x, idx = b.max_pool(f"pool{bi + 1}", x, ceil_mode=True, indices=True)
        saved.append((idx, size))
    for bi, (block, (idx, size)) in enumerate(zip(m.dec, reversed(saved))):
        x = b.max_unpool(f"unpool{len(saved) - bi}", x, idx, size)
        for li, layer in enumerate(block):
            if isinstance(layer, nn.Conv2d):
                x = b.conv(layer, x, name="scores")
            else:
                x = b.conv(layer.conv, x)
                x = b.unary("relu", f"dec.{bi}.{li}.relu", b.batch_norm(layer.bn, x))
    return [x]


# --------------------------------------------------------------------------
# Patchwise classifier: the 31x31 cell net of models/bsubtilis-patch31
# --------------------------------------------------------------------------


class CellPatchNet(nn.Module):
    def __init__(self, classes=3, widths=(20, 40, 80, 120, 240), hidden=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 4)
        self.conv2 = nn.Conv2d(widths[0], widths[1], 3)
        self.conv3 = nn.Conv2d(widths[1], widths[2], 3)
        self.conv4 = nn.Conv2d(widths[2], widths[3], 3)
        self.conv5 = nn.Conv2d(widths[3], widths[4], 3)
        self.fc1 = nn.Linear(widths[4], hidden)  # conv5 is 1x1 for a 31x31 patch
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.relu(self.conv3(F.relu(self.conv2(x))))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv5(F.relu(self.conv4(x))))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def cellpatch_graph(m, b):
    x = b.conv(m.conv1, b.input_name, "relu")
    x = b.max_pool("pool1", x)
    x = b.conv(m.conv3, b.conv(m.conv2, x, "relu"), "relu")
    x = b.max_pool("pool2", x)
    x = b.conv(m.conv5, b.conv(m.conv4, x, "relu"), "relu")
    x = b.dense(m.fc1, b.flatten("flatten", x), "relu")
    return [b.dense(m.fc2, x, name="scores")]


# --------------------------------------------------------------------------
# The zoo
# --------------------------------------------------------------------------


def div(widths, d):
    return [[max(1, c // d) for c in block] for block in widths]


ZOO = [
    {
        "name": "unet",
        "title": "U-Net",
        "paper": "Ronneberger, Fischer, Brox: U-Net: Convolutional Networks for Biomedical "
                 "Image Segmentation, MICCAI 2015 (arXiv:1505.04597), Fig. 1",
        # The paper states no count. 31,031,685 (31.03 M), the figure usually quoted, is
        # the zhixuhao/unet Keras model, whose head is a 3x3 conv 64->2 and a 1x1 conv
        # 2->1: 1,027 more than the paper's 1x1 conv 64->2.
        "published": "31.03 M (31,031,685 for the zhixuhao/unet head; none in the paper)",
        "make": lambda: UNet(1, 2),
        "graph": unet_graph,
        "input": ("image", [1, 1, 572, 572], [1, 1, None, None]),
        "classes": [{"name": "membrane", "color": [0, 0, 0]},
                    {"name": "cell", "color": [255, 255, 255]}],
        "seed": 1,
        "small": {
            "make": lambda: UNet(1, 2, (4, 8, 16, 32, 64)),
            "input": ("image", [1, 1, 188, 188], [1, 1, None, None]),
            "what": "channel widths / 16 (4..64), 188x188 -> 4x4",
        },
    },
    {
        "name": "fcn8s",
        "title": "FCN-8s (VGG16)",
        "paper": "Long, Shelhamer, Darrell: Fully Convolutional Networks for Semantic "
                 "Segmentation, CVPR 2015 (arXiv:1411.4038), Table 1; Caffe voc-fcn8s",
        "published": "134 M (Table 1, FCN-VGG16)",
        "make": lambda: FCN8s(21),
        "graph": fcn8s_graph,
        "input": ("image", [1, 3, 500, 500], [1, 3, 500, 500]),
        "classes": voc_classes(),
        "seed": 2,
        "small": {
            "make": lambda: FCN8s(5, div(VGG16, 32), 32),
            "input": ("image", [1, 3, 64, 64], [1, 3, 64, 64]),
            "what": "VGG widths / 32 (2..16), fc6/fc7 32 channels, 5 classes, 64x64",
        },
    },
    {
        "name": "tiramisu",
        "title": "FC-DenseNet103 (Tiramisu)",
        "paper": "Jegou, Drozdzal, Vazquez, Romero, Bengio: The One Hundred Layers Tiramisu: "
                 "Fully Convolutional DenseNets for Semantic Segmentation, CVPRW 2017 "
                 "(arXiv:1611.09326), Table 2",
        "published": "9.4 M (Table 2; ours is 9.43 M with the running statistics counted)",
        "make": lambda: FCDenseNet(11),
        "graph": tiramisu_graph,
        "input": ("image", [1, 3, 224, 224], [1, 3, None, None]),
        "classes": CAMVID_CLASSES,
        "seed": 3,
        "small": {
            "make": lambda: FCDenseNet(11, growth=2, first=6),
            "input": ("image", [1, 3, 32, 32], [1, 3, None, None]),
            "what": "growth 2, first conv 6 (widths / 8), all 103 layers, 32x32",
        },
    },
    {
        "name": "dilation",
        "title": "Dilated front end + basic context module",
        "paper": "Yu, Koltun: Multi-Scale Context Aggregation by Dilated Convolutions, ICLR "
                 "2016 (arXiv:1511.07122), Sec. 3-4, Table 1 (basic module)",
        "published": "none stated (front end: VGG16 with fc6 as a 7x7 conv, about 134 M; "
                     "basic context module: 64 C^2 weights)",
        "make": lambda: DilationNet(21),
        "graph": dilation_graph,
        "input": ("image", [1, 3, 900, 900], [1, 3, None, None]),
        "classes": voc_classes(),
        "seed": 4,
        "small": {
            "make": lambda: DilationNet(8, div(VGG16, 32), 32, valid=False),
            "input": ("image", [1, 3, 64, 64], [1, 3, None, None]),
            "what": "VGG widths / 32, fc 32, 8 classes (C = 8), padded front end "
                    "(a valid one needs a 380 px input), 64x64",
        },
    },
    {
        "name": "segnet",
        "title": "SegNet",
        "paper": "Badrinarayanan, Kendall, Cipolla: SegNet: A Deep Convolutional "
                 "Encoder-Decoder Architecture for Image Segmentation, TPAMI 2017 "
                 "(arXiv:1511.00561)",
        "published": "29.46 M (as ENet, Paszke et al. 2016, quotes it; the paper gives "
                     "the model size, 117 MB)",
        "make": lambda: SegNet(11),
        "graph": segnet_graph,
        "input": ("image", [1, 3, 360, 480], [1, 3, 360, 480]),
        "classes": CAMVID_CLASSES,
        "seed": 5,
        "small": {
            "make": lambda: SegNet(11, div(VGG16, 32)),
            "input": ("image", [1, 3, 20, 24], [1, 3, 20, 24]),
            "what": "VGG widths / 32 (2..16), 20x24 (ceil-mode pools 20x24 -> 10x12 -> 5x6 "
                    "-> 3x3 -> 2x2 -> 1x1), batch norm statistics of the golden input and "
                    "shifts around +2",
            # A window of ReLU zeros has no winner that survives rounding (a pre-ReLU value
            # near 0 can change sign), and the decoder's value lands wherever its index
            # says. Normalizing with the input's own statistics and shifting by about +2
            # makes such windows rare, so a seed with clear maxima everywhere (make_golden's
            # margin check) exists.
            "bn_shift": 2.0,
            "calibrate_bn": True,
        },
    },
    {
        "name": "cellpatch",
        "title": "31x31 patch classifier",
        "paper": "models/bsubtilis-patch31 (the seed's cell net; Li et al. 2014 style "
                 "patchwise classifier)",
        "published": "626,423 (models/bsubtilis-patch31/README.md)",
        "make": lambda: CellPatchNet(3),
        "graph": cellpatch_graph,
        "input": ("patch", [1, 1, 31, 31], [1, 1, 31, 31]),
        "classes": [{"name": "other", "color": [0, 0, 0]},
                    {"name": "cell", "color": [0, 200, 0]},
                    {"name": "edge", "color": [255, 60, 60]}],
        "patch": [31, 31],
        "seed": 6,
        "small": {
            "make": lambda: CellPatchNet(3, (5, 10, 20, 30, 60), 250),
            "input": ("patch", [2, 1, 31, 31], [2, 1, 31, 31]),
            "what": "widths / 4, hidden 250, batch 2",
        },
    },
]


def build(spec, module, input_spec, seed, bn_shift=0.0, calibrate=None):
    """Randomizes `module`, emits its graph; returns (builder, outputs, weights).

    With `calibrate` (an input batch), every batch norm's running statistics are then
    set to the statistics of its input on that batch, so that its output is about
    N(shift, scale^2) per channel."""
    randomize(module, seed, bn_shift)
    if calibrate is not None:
        norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in norms:
            bn.train()
            bn.momentum = 1.0  # the running statistics become this batch's
        with torch.no_grad():
            module(calibrate)
        for bn in norms:
            bn.momentum = 0.1
    module.eval()
    name, shape, json_shape = input_spec
    b = GraphBuilder(module, name, shape, json_shape)
    outputs = spec["graph"](module, b)
    weights = b.finish()
    return b, outputs, weights


def metadata(spec, module, small=None):
    meta = {}
    if "patch" in spec:
        meta["patch"] = spec["patch"]
    if small is None:
        meta["classes"] = spec["classes"]
    meta["zoo"] = {
        "architecture": spec["title"] + (f" at reduced size: {small}" if small else ""),
        "paper": spec["paper"],
        "parameters": trainable_parameters(module),
        "published_parameters": spec["published"],
        "weights": f"RANDOM (tools/make_zoo.py, seed {spec['seed']}), not trained",
    }
    return meta


def graph_document(name, weights_file, inputs, outputs, nodes, meta):
    """The graph JSON, formatted as tests/make_golden.py formats it (one node a line)."""
    doc = {"format": "fcnrt-graph", "version": 1, "name": name, "weights": weights_file,
           "inputs": [{"name": n, "shape": s} for n, s in inputs], "outputs": outputs}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in doc.items()]
    lines.append('  "nodes": [')
    lines += ["    " + json.dumps(n) + ("," if i + 1 < len(nodes) else "")
              for i, n in enumerate(nodes)]
    lines += ["  ],", '  "metadata": ' + json.dumps(meta), "}"]
    return "\n".join(lines) + "\n"


def human(n):
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k"


def write_full(spec, out_dir):
    module = spec["make"]()
    b, outputs, weights = build(spec, module, spec["input"], spec["seed"])
    # The module's own output shape at the canonical size must be the graph's.
    with torch.no_grad():
        meta_out = module.to("meta")(torch.empty(spec["input"][1], device="meta"))
    if list(meta_out.shape) != b.shape(outputs[0]):
        raise ZooError(f"{spec['name']}: module output {list(meta_out.shape)} but graph "
                       f"output {b.shape(outputs[0])}")
    trainable = sum(int(np.prod(w.shape)) for k, w in weights.items()
                                     if not k.endswith(("running_mean", "running_var")))
    stored = sum(int(np.prod(w.shape)) for w in weights.values())
    if trainable != trainable_parameters(module) or stored != stored_weights(module):
        raise ZooError(f"{spec['name']}: graph weights do not cover the module's")
    name = spec["name"]
    meta = metadata(spec, module)
    with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as f:
        f.write(graph_document(name, name + ".safetensors",
                               [(spec["input"][0], spec["input"][2])], outputs, b.nodes, meta))
    mg.write_safetensors(os.path.join(out_dir, name + ".safetensors"), weights)
    published = spec["published"]
    print(f"{name:10s} {trainable:>12,d} parameters ({human(trainable)}); published "
          f"{published}; {stored:,d} stored weights incl. BN running stats; "
          f"{spec['input'][1]} -> {b.shape(outputs[0])}", flush=True)


def golden_case(spec):
    small = spec["small"]
    last_error = None
    for attempt in range(20):
        seed = 100 * spec["seed"] + attempt
        c = mg.Case(f"zoo_{spec['name']}", f"model zoo {spec['title']} ({small['what']}); "
                    f"regenerate: /usr/bin/python3 tools/make_zoo.py --goldens tests/golden",
                    seed)
        name, shape, json_shape = small["input"]
        c.input(name, shape, json_shape)
        x = torch.from_numpy(c.inputs[0][2])
        module = small["make"]()
        b, outputs, weights = build(spec, module, small["input"], seed,
                                    small.get("bn_shift", 0.0),
                                    x if small.get("calibrate_bn") else None)
        c.weights = weights
        c.nodes = b.nodes
        c.outputs = outputs
        c.metadata = metadata(spec, module, small["what"])
        c.shuffle = True
        try:
            env = mg.evaluate(c)
        except mg.GoldenError as e:  # a max_pool window or argmax without a clear winner
            if "margin" not in str(e):
                raise
            last_error = e
            continue
        # The graph, run by the reference interpreter, must be the module.
        with torch.no_grad():
            expected = module.double()(x.double())
        got = env[outputs[0]]
        err = ((got - expected).abs().max() / expected.abs().max()).item()
        if got.shape != expected.shape or err > 1e-12:
            raise ZooError(f"{c.name}: graph differs from the torch module ({err:.3g}, "
                           f"{list(got.shape)} vs {list(expected.shape)})")
        return c, trainable_parameters(module)
    raise ZooError(f"{spec['name']}: no seed with clear max_pool margins: {last_error}")


def write_goldens(golden_dir, only):
    manifest_path = os.path.join(golden_dir, "MANIFEST.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    mg.GOLDEN = golden_dir
    entries = [e for e in manifest["cases"] if not e["name"].startswith("zoo_")]
    kept_zoo = {e["name"]: e for e in manifest["cases"] if e["name"].startswith("zoo_")}
    new = {}
    for spec in ZOO:
        name = f"zoo_{spec['name']}"
        if only and spec["name"] not in only:
            if name in kept_zoo:
                new[name] = kept_zoo[name]
            continue
        c, params = golden_case(spec)
        directory = os.path.join(golden_dir, c.name)
        if os.path.isdir(directory):
            shutil.rmtree(directory)
        new[name] = mg.write_case(c)
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
        print(f"{c.name:14s} {len(c.nodes):4d} nodes, {params:>9,d} parameters, "
              f"{size / 1024:7.1f} KiB, float32-rerun error {c.float32_error:.2g}", flush=True)
    entries += [new[f"zoo_{s['name']}"] for s in ZOO if f"zoo_{s['name']}" in new]
    with open(manifest_path, "w", encoding="utf-8") as f:
        f.write('{\n  "format": "fcnrt-golden",\n  "version": 1,\n'
                f'  "regenerate": {json.dumps(manifest["regenerate"])},\n  "cases": [\n')
        f.write(",\n".join("    " + json.dumps(entry) for entry in entries))
        f.write("\n  ]\n}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default=os.path.join(REPO, "build", "zoo"),
                        help="where the full-size models go (default: build/zoo in the "
                             "repository)")
    parser.add_argument("--goldens", metavar="DIR",
                        help="write the small golden cases into DIR (tests/golden) instead")
    parser.add_argument("--only", nargs="*", default=[],
                        help="only these models: " + ", ".join(s["name"] for s in ZOO))
    args = parser.parse_args()
    unknown = set(args.only) - {s["name"] for s in ZOO}
    if unknown:
        parser.error(f"unknown model(s): {sorted(unknown)}")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.goldens:
        write_goldens(args.goldens, args.only)
        return
    os.makedirs(args.out_dir, exist_ok=True)
    for spec in ZOO:
        if not args.only or spec["name"] in args.only:
            write_full(spec, args.out_dir)
    print(f"wrote the zoo to {args.out_dir}")


if __name__ == "__main__":
    try:
        main()
    except (ZooError, mg.GoldenError) as e:
        print(f"make_zoo: error: {e}", file=sys.stderr)
        sys.exit(1)
