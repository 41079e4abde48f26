#!/usr/bin/python3
"""Renders models/bsubtilis-patch31/sample_cells.png: a synthetic phase-contrast
micrograph of rod-shaped B. subtilis cells, the sample `tools/demo.sh` segments.

The shared micrographs may not be copied into the repository, so the sample is
drawn instead, calibrated on them (../shared/data/bsubtilis/phase_027.png with
its label map, and phase_020.png):
  - 16-bit raw camera counts; background about 2025 with a slow variation of a
    few tens of counts and pixel noise of about 60 (neighbour differences / sqrt 2),
  - cells as capsules 11 to 14 px wide (cell + edge label runs peak at 13 px,
    interiors at 9 px) and 32 to 58 px long (as the rods of phase_020 measure), interior about 1650 deepening
    from 2450 at the outline over 3 to 4 px,
  - the phase halo: a bright ring peaking near 3100 about 2.5 px outside each
    cell (summed where cells touch, so the narrow gaps inside a colony glow
    up to 4000 to 5000, as in the real colonies), and a faint tail that fades
    over about 20 px around the whole colony,
  - a slight optical blur.
Colonies are rows of aligned rods with gaps of 2 to 3 px; a few cells lie
isolated. Everything is seeded: the same command writes the same bytes.

numpy only; the PNG is written with zlib by hand (no PIL needed).

usage: /usr/bin/python3 tools/render_sample_cells.py [--out PATH] [--seed N]
                                                      [--width W] [--height H]
"""
import argparse
import os
import struct
import zlib

import numpy as np

BACKGROUND = 2025.0
NOISE = 60.0
INTERIOR = 1650.0
OUTLINE = 2450.0
RING = 850.0  # ring peak above the background (about 3100 - 2025 with the tail)
RING_AT, RING_WIDTH = 2.5, 2.2
TAIL, TAIL_LENGTH = 450.0, 14.0


def capsule_distance(yy, xx, p0, p1, radius):
    """Signed distance from pixel centres to a capsule (segment p0-p1, radius)."""
    d = p1 - p0
    length2 = max(float(d @ d), 1e-9)
    t = np.clip(((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / length2, 0.0, 1.0)
    return np.hypot(yy - (p0[0] + t * d[0]), xx - (p0[1] + t * d[1])) - radius


def place_colony(rng, centre, angle, rows, extent, cells):
    """Rows of aligned rods around `centre`, clipped to an irregular ellipse."""
    along = np.array([np.sin(angle), np.cos(angle)])  # (dy, dx) along the rods
    across = np.array([along[1], -along[0]])
    spacing = 13.0 + 2.5  # cell width + gap
    for r in range(-rows // 2, rows - rows // 2):
        offset = r * spacing + rng.uniform(-0.8, 0.8)
        # Colony outline: shorter rows towards its flanks.
        half = extent * np.sqrt(max(0.0, 1.0 - (2.0 * r / (rows + 1)) ** 2)) * rng.uniform(0.75, 1.1)
        s = -half + rng.uniform(0, 20)
        while True:
            length = rng.uniform(34, 58)
            if s + length > half:
                break
            tilt = angle + rng.normal(0, 0.05) + 0.0015 * offset  # rows fan out a little
            dirv = np.array([np.sin(tilt), np.cos(tilt)])
            mid = centre + across * offset + along * (s + length / 2)
            radius = rng.uniform(5.6, 6.8)
            half_core = max(length / 2 - radius, 1.0)
            cells.append((mid - dirv * half_core, mid + dirv * half_core, radius))
            s += length + rng.uniform(2.0, 3.5)


def render(width, height, seed):
    rng = np.random.default_rng(seed)
    cells = []
    place_colony(rng, np.array([0.46 * height, 0.38 * width]), 0.35, 10, 130.0, cells)
    place_colony(rng, np.array([0.74 * height, 0.80 * width]), -0.9, 4, 70.0, cells)

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    union = np.full((height, width), 1e9)  # signed distance to the nearest cell
    ring = np.zeros((height, width))
    kept = []
    # Isolated cells, rejected where they would touch another cell.
    isolated = 0
    for _ in range(200):
        if isolated == 7:
            break
        mid = np.array([rng.uniform(20, height - 20), rng.uniform(20, width - 20)])
        tilt = rng.uniform(0, np.pi)
        length = rng.uniform(32, 54)
        radius = rng.uniform(5.6, 6.6)
        dirv = np.array([np.sin(tilt), np.cos(tilt)])
        half_core = length / 2 - radius
        p0, p1 = mid - dirv * half_core, mid + dirv * half_core
        clear = all(
            capsule_distance(np.array([mid[0]]), np.array([mid[1]]), c[0], c[1], c[2])[0]
            > length / 2 + 25
            for c in cells
        )
        if clear:
            cells.append((p0, p1, radius))
            isolated += 1

    for c in cells:
        p0, p1, radius = c[0], c[1], c[2]
        d = capsule_distance(yy, xx, p0, p1, radius)
        if d.min() > 0:
            continue  # entirely outside the frame
        kept.append(c)
        union = np.minimum(union, d)
        ring += np.exp(-(((d - RING_AT) / RING_WIDTH) ** 2)) * (d > -1.0)

    # Background: a slow, seeded undulation of a few tens of counts.
    bg = np.full((height, width), BACKGROUND)
    for _ in range(4):
        ky, kx = rng.uniform(0.5, 2.5, 2) * 2 * np.pi / np.array([height, width])
        bg += rng.uniform(10, 25) * np.sin(ky * yy + kx * xx + rng.uniform(0, 2 * np.pi))

    outside = np.maximum(union, 0.0)
    image = bg + TAIL * np.exp(-outside / TAIL_LENGTH) * (union > 0) + RING * ring
    depth = np.maximum(-union, 0.0)
    inside = INTERIOR + (OUTLINE - INTERIOR) * np.exp(-depth / 1.6)
    # Slight granularity inside cells.
    inside += rng.normal(0, 40, size=inside.shape)
    image = np.where(union < 0, inside, image)

    # Optical blur (Gaussian, sigma 0.9 px) by FFT, then camera noise.
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    sigma = 0.9
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (fy**2 + fx**2))
    image = np.fft.irfft2(np.fft.rfft2(image) * kernel, s=(height, width))
    image += rng.normal(0, NOISE, size=image.shape)
    return np.clip(np.rint(image), 370, 6000).astype(np.uint16), len(kept)


def write_png16(path, pixels):
    """A 16-bit grayscale PNG: filter 'up' rows (noise compresses a little better), zlib level 9."""
    height, width = pixels.shape
    be = pixels.astype(">u2").view(np.uint8).reshape(height, width * 2)
    up = be.copy()
    up[1:] = (be[1:].astype(np.int16) - be[:-1].astype(np.int16)).astype(np.uint8)
    raw = np.concatenate([np.full((height, 1), 2, np.uint8), up], axis=1)
    raw[0, 0] = 0  # the first row has nothing above it

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
    data += chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.normpath(
        os.path.join(here, "..", "models", "bsubtilis-patch31", "sample_cells.png")))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=384)
    args = ap.parse_args()
    pixels, cells = render(args.width, args.height, args.seed)
    size = write_png16(args.out, pixels)
    print(f"wrote {args.out}: {args.width}x{args.height}, 16-bit, {cells} cells, "
          f"values {pixels.min()}..{pixels.max()}, {size} bytes")


if __name__ == "__main__":
    main()
