#!/usr/bin/python3
"""Writes the small seed inputs of tests/fuzz/seeds/ that the repository has no
file of its own for: images in every format and layout the decoders take
(the JPEGs there were written with libjpeg-turbo's compression API and the
TIFFs with build/tests/make_test_tiff, see the end of this file; both are
kept as they are), a tiny ONNX model (encoded with protoc from text) and
command lines. Standard library only; protoc and onnx.proto for the ONNX seed.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import struct
import subprocess
import zlib

here = os.path.dirname(os.path.abspath(__file__))
seeds = os.path.join(here, "seeds")


def write(rel, data):
    path = os.path.join(seeds, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, colour, rows, interlace=0, plte=None):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace))
    if plte:
        out += chunk(b"PLTE", plte)
    return out + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def filtered(w, h, bytes_per_pixel, value):
    raw = b""
    for y in range(h):
        raw += bytes([y % 5]) + bytes(value(x, y) & 0xFF for x in range(w * bytes_per_pixel))
    return raw


w, h = 7, 5
write("image/gray8.png", png(w, h, 8, 0, filtered(w, h, 1, lambda x, y: x * 30 + y)))
write("image/rgba8.png", png(w, h, 8, 6, filtered(w, h, 4, lambda x, y: x * 9 + y * 3)))
write("image/rgb16.png", png(w, h, 16, 2, filtered(w, h, 6, lambda x, y: x * 11 + y * 7)))
write("image/gray_alpha16.png", png(w, h, 16, 4, filtered(w, h, 4, lambda x, y: x + y)))
write("image/palette4.png", png(w, h, 4, 3, b"".join(b"\x00" + bytes([0x12, 0x30, 0x21, 0x10]) for _ in range(h)),
                                plte=bytes(range(48))))
write("image/interlaced.png", png(2, 2, 8, 0, b"\x00\x10" + b"\x00\x20" + b"\x00\x30\x40", interlace=1))

# BMP: 24-bit bottom-up, rows padded to 4 bytes.
row = bytes(range(w * 3)) + b"\x00" * ((4 - w * 3 % 4) % 4)
pixels = row * h
write("image/rgb24.bmp", b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
      struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)
# TGA: uncompressed and RLE true colour.
tga_header = lambda kind: struct.pack("<BBBHHBHHHHBB", 0, 0, kind, 0, 0, 0, 0, 0, w, h, 24, 0)
write("image/rgb.tga", tga_header(2) + bytes(i % 256 for i in range(w * h * 3)))
rle = b""
for _ in range(h):
    rle += bytes([0x80 | (w - 1), 10, 20, 30])  # one run per row
write("image/rgb_rle.tga", tga_header(10) + rle)
# PNM: 8- and 16-bit grey and RGB (stb reads binary PNM only).
write("image/gray8.pgm", b"P5\n%d %d\n255\n" % (w, h) + bytes(i * 7 % 256 for i in range(w * h)))
write("image/gray16.pgm", b"P5\n%d %d\n65535\n" % (w, h) + b"".join(struct.pack(">H", i * 977) for i in range(w * h)))
write("image/rgb.ppm", b"P6\n%d %d\n255\n" % (w, h) + bytes(i % 256 for i in range(w * h * 3)))

# ONNX: y = relu(conv(x, w) + b), x [1, 1, null, null], w [2, 1, 3, 3], pads 1.
weights = struct.pack("<18f", *[0.1 * (i - 9) for i in range(18)])
text = """
ir_version: 8
opset_import { domain: "" version: 13 }
graph {
  name: "seed"
  node { input: "x" input: "w" input: "b" output: "c" op_type: "Conv"
         attribute { name: "pads" ints: 1 ints: 1 ints: 1 ints: 1 type: INTS }
         attribute { name: "kernel_shape" ints: 3 ints: 3 type: INTS } }
  node { input: "c" output: "y" op_type: "Relu" }
  initializer { dims: 2 dims: 1 dims: 3 dims: 3 data_type: 1 name: "w" raw_data: "%s" }
  initializer { dims: 2 data_type: 1 name: "b" float_data: 0.5 float_data: -0.25 }
  input { name: "x" type { tensor_type { elem_type: 1 shape {
    dim { dim_value: 1 } dim { dim_value: 1 } dim { dim_param: "h" } dim { dim_param: "w" } } } } }
  output { name: "y" type { tensor_type { elem_type: 1 } } }
}
""" % "".join("\\%03o" % b for b in weights)
proto_dir = "/usr/include/onnx"
onnx = subprocess.run(["protoc", "--encode=onnx.ModelProto", "-I" + proto_dir, proto_dir + "/onnx.proto"],
                      input=text.encode(), capture_output=True, check=True).stdout
write("onnx/conv_relu.onnx", onnx)

# ONNX, issue 14's paths: x [1, 4, null, null]; InstanceNormalization, GroupNorm's
# Reshape [0, 2, -1] / InstanceNormalization / Reshape(Shape) pattern, MaxPool, and a
# Resize back to x's dynamic size (Shape, Slice, Concat: resize size_from_input).
ints = lambda name, values: 'initializer { dims: %d data_type: 7 name: "%s" %s }' % (
    len(values), name, " ".join("int64_data: %d" % v for v in values))
floats = lambda name, values: 'initializer { dims: %d data_type: 1 name: "%s" %s }' % (
    len(values), name, " ".join("float_data: %g" % v for v in values))
text = """
ir_version: 8
opset_import { domain: "" version: 13 }
graph {
  name: "seed_norm_resize"
  node { input: "x" input: "s4" input: "b4" output: "a" op_type: "InstanceNormalization" }
  node { input: "a" input: "view" output: "r" op_type: "Reshape" }
  node { input: "r" input: "s2" input: "b2" output: "n" op_type: "InstanceNormalization" }
  node { input: "a" output: "sa" op_type: "Shape" }
  node { input: "n" input: "sa" output: "g" op_type: "Reshape" }
  node { input: "g" output: "p" op_type: "MaxPool"
         attribute { name: "kernel_shape" ints: 2 ints: 2 type: INTS }
         attribute { name: "strides" ints: 2 ints: 2 type: INTS } }
  node { input: "p" output: "sp" op_type: "Shape" }
  node { input: "sp" input: "lo" input: "mid" output: "nc" op_type: "Slice" }
  node { input: "x" output: "sx" op_type: "Shape" }
  node { input: "sx" input: "mid" input: "hi" output: "hw" op_type: "Slice" }
  node { input: "nc" input: "hw" output: "sizes" op_type: "Concat" attribute { name: "axis" i: 0 type: INT } }
  node { input: "p" input: "" input: "" input: "sizes" output: "y" op_type: "Resize"
         attribute { name: "mode" s: "linear" type: STRING }
         attribute { name: "coordinate_transformation_mode" s: "pytorch_half_pixel" type: STRING } }
  %s
  input { name: "x" type { tensor_type { elem_type: 1 shape {
    dim { dim_value: 1 } dim { dim_value: 4 } dim { dim_param: "h" } dim { dim_param: "w" } } } } }
  output { name: "y" type { tensor_type { elem_type: 1 } } }
}
""" % "\n  ".join([floats("s4", [1, -0.5, 2, 0.25]), floats("b4", [0, 1, -1, 0.5]), ints("view", [0, 2, -1]),
                      floats("s2", [1.5, -1]), floats("b2", [0.25, 0]), ints("lo", [0]), ints("mid", [2]),
                      ints("hi", [4])])
onnx = subprocess.run(["protoc", "--encode=onnx.ModelProto", "-I" + proto_dir, proto_dir + "/onnx.proto"],
                      input=text.encode(), capture_output=True, check=True).stdout
write("onnx/norm_resize_dynamic.onnx", onnx)

# Command lines: the first byte picks the command (fuzz_cli_args.cpp), then
# NUL-separated arguments.
for i, args in enumerate([
        [b"m.json", b"--input", b"x=a.npy", b"--output", b"y=b.npy", b"--device", b"cpu"],
        [b"m.json", b"--size", b"64x48", b"--batch", b"2"],
        [b"p.json", b"-o", b"d.json", b"--same-size", b"--halo=zero"],
        [b"m.onnx", b"-o", b"m.json"],
        [b"m.json", b"a.png", b"dir", b"-o", b"out", b"--max-memory", b"1.5G", b"--overlay", b"--opacity", b"0.3"],
        [b"m.json", b"--size=256x256", b"--iterations", b"3", b"--json", b"--device", b"auto"]]):
    write("cli_args/command%d" % i, bytes([i]) + b"\x00".join(args))

# TIFFs (libtiff, through the test helper, when it is built):
#   make_test_tiff gray8_lzw_strips.tif width=9 height=7 compression=lzw rows_per_strip=3
#   make_test_tiff gray16_deflate_tiles_2pages.tif width=20 height=17 bits=16 compression=deflate tiled=1 pages=2
#   make_test_tiff rgb8_packbits_bigtiff.tif width=7 height=5 channels=3 compression=packbits bigtiff=1
#   make_test_tiff rgba16_none.tif width=5 height=4 channels=4 bits=16
