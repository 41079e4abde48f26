#!/usr/bin/env bash
# cell_dense_vs_patchwise.sh: the B. subtilis cell model (models/bsubtilis-patch31)
# on a whole 1040x1392 phase-contrast image, on the CPU: the dense conversion
# (`fcnrt segment dense.json`) against the patchwise baseline (`fcnrt segment
# --patchwise patch.json`: the patch model on the 31x31 patch around every
# pixel, a batch of patches per run) and against PyTorch running the same dense
# computation (the patch net's convs with the dense graph's dilations).
#
# Usage: bench/cell_dense_vs_patchwise.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR holds the fcnrt binary (default: build); OUT_DIR gets the logs,
#   masks and summary.txt (default: /tmp/fcnrt-cell-bench).
# Environment: THREADS (default 2), IMAGE (default
#   ../shared/data/bsubtilis/phase_020.png), BAND_ROWS (default 64),
#   FULL_LIMIT_S (default 720: the patchwise run over the whole image is done
#   only when the band's timing predicts it within this many seconds; otherwise
#   the whole-image time is extrapolated from the band's per-pixel time, and
#   summary.txt says so), REPEATS (default 3), PYTHON (default /usr/bin/python3:
#   Debian's PyTorch, NumPy and PIL).
#
# Times are wall clock of whole processes (/usr/bin/time -v: model load, PNG
# decode and encode included), medians of REPEATS runs; peak memory is the
# process's maximum RSS. PyTorch's compute is timed inside the process
# (preprocess, halo, strips, argmax; the image already decoded).
# Exits 0 with a message when the image is absent.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
out=${2:-/tmp/fcnrt-cell-bench}
threads=${THREADS:-2}
image=${IMAGE:-$here/../shared/data/bsubtilis/phase_020.png}
band_rows=${BAND_ROWS:-64}
full_limit=${FULL_LIMIT_S:-720}
repeats=${REPEATS:-3}
python=${PYTHON:-/usr/bin/python3}
fcnrt=$build/fcnrt
model=$here/models/bsubtilis-patch31

if [[ ! -f $image ]]; then
    echo "cell_dense_vs_patchwise: $image is absent; nothing to do (see ../shared/data/bsubtilis/README.md)"
    exit 0
fi
[[ -x $fcnrt ]] || { echo "cell_dense_vs_patchwise: no fcnrt in $build (build it first)" >&2; exit 2; }
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
export OMP_NUM_THREADS=$threads

say "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
say "commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- engine kernels tools || echo ' (engine/kernels/tools with uncommitted changes)')"
say "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; OMP_NUM_THREADS=$threads"
say "image: $image"

# FLOPs from fcnrt info (a multiply-add counts 2, pooling comparisons included).
"$fcnrt" info "$model/patch.json" >"$out/info_patch.txt"
"$fcnrt" info "$model/dense.json" --size 1070x1422 >"$out/info_dense.txt"
say "fcnrt info patch.json (31x31): $(grep -i 'total' "$out/info_patch.txt" | head -1)"
say "fcnrt info dense.json --size 1070x1422: $(grep -i 'total' "$out/info_dense.txt" | head -1)"

# One timed process: wall seconds and max RSS (KiB) appended to $out/times_<tag>.txt.
timed() {
    local tag=$1; shift
    local log=$out/time_$tag.log
    say "load average before $tag: $(cut -d' ' -f1-3 /proc/loadavg)"
    say "+ $*"
    /usr/bin/time -v "$@" 2>"$log" >"$out/stdout_$tag.txt" || { cat "$log" >&2; exit 1; }
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
           awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    grep '^fcnrt: note:' "$log" | tee -a "$summary" || true
    say "  wall ${wall} s, max RSS $((rss / 1024)) MiB"
    echo "$wall $rss" >>"$out/times_${tag%%#*}.txt"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max_rss_mib() { awk '{ if ($2 > m) m = $2 } END { printf "%d", m / 1024 }'; }
rm -f "$out"/times_*.txt

# A band of rows from the middle of the image, as its own 16-bit PNG.
band=$out/band.png
"$python" - "$image" "$band" "$band_rows" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1])
rows = int(sys.argv[3])
top = (im.height - rows) // 2
im.crop((0, top, im.width, top + rows)).save(sys.argv[2])
print(f"band: rows {top}..{top + rows - 1} of {im.height}, {im.width} wide, mode {im.mode}")
EOF

# 1. Dense, whole image, default budget; then under --max-memory 1G.
for r in $(seq "$repeats"); do
    timed "dense#$r" "$fcnrt" segment "$model/dense.json" "$image" -o "$out/dense" --device cpu
done
timed dense_1g "$fcnrt" segment "$model/dense.json" "$image" -o "$out/dense_1g" --device cpu --max-memory 1G
if cmp -s "$out/dense/$(basename "${image%.*}")_labels.png" "$out/dense_1g/$(basename "${image%.*}")_labels.png"; then
    say "dense labels with --max-memory 1G: identical to the default budget's"
else
    say "dense labels with --max-memory 1G: DIFFER from the default budget's"
fi

# 2. Dense and patchwise on the band.
for r in $(seq "$repeats"); do
    timed "dense_band#$r" "$fcnrt" segment "$model/dense.json" "$band" -o "$out/dense_band" --device cpu
done
for r in $(seq "$repeats"); do
    timed "patchwise_band#$r" "$fcnrt" segment --patchwise "$model/patch.json" "$band" -o "$out/patchwise_band" --device cpu
done
"$python" - "$out/dense_band/band_labels.png" "$out/patchwise_band/band_labels.png" <<'EOF' | tee -a "$summary"
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p)) for p in sys.argv[1:3])
print(f"band labels, patchwise vs dense: {np.mean(a == b):.6f} of {a.size} pixels equal")
EOF

pixels_band=$((band_rows * $("$python" -c "from PIL import Image; print(Image.open('$image').width)")))
pixels_full=$("$python" -c "from PIL import Image; im = Image.open('$image'); print(im.width * im.height)")
pw_band=$(median <"$out/times_patchwise_band.txt")
estimate=$(awk -v t="$pw_band" -v b="$pixels_band" -v f="$pixels_full" 'BEGIN { printf "%.1f", t / b * f }')
say "patchwise band: median ${pw_band} s for $pixels_band pixels = $(awk -v t="$pw_band" -v b="$pixels_band" 'BEGIN { printf "%.1f", t / b * 1e6 }') us/pixel; whole image ($pixels_full pixels) extrapolated: ${estimate} s"

# 3. Patchwise over the whole image, only when it fits FULL_LIMIT_S.
if awk -v e="$estimate" -v l="$full_limit" 'BEGIN { exit !(e <= l) }'; then
    timed patchwise "$fcnrt" segment --patchwise "$model/patch.json" "$image" -o "$out/patchwise" --device cpu
    pw_full=$(median <"$out/times_patchwise.txt")
    pw_how="measured (one run)"
else
    pw_full=$estimate
    pw_how="EXTRAPOLATED from the ${band_rows}-row band (a whole run would exceed ${full_limit} s)"
fi

# 4. PyTorch: the dense graph's computation, same halo (reflect 15), strips of 128 output rows.
for r in $(seq "$repeats"); do
    timed "torch#$r" "$python" - "$model" "$image" "$threads" "$out/dense/$(basename "${image%.*}")_labels.png" <<'EOF'
import json, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

model_dir, image_path, threads, fcnrt_labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
graph = json.load(open(f"{model_dir}/dense.json"))
raw = open(f"{model_dir}/{graph['weights']}", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
weights = {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                             dtype="<f4").reshape(v["shape"]).copy())
           for k, v in header.items() if k != "__metadata__"}
pre = graph["metadata"]["preprocess"]
ph, pw = graph["metadata"]["dense_from_patch"]
img = np.asarray(Image.open(image_path)).astype(np.float64)

def net(x):
    t = {graph["inputs"][0]["name"]: x}
    for nd in graph["nodes"]:  # written in execution order
        a = t[nd["inputs"][0]]
        if nd["op"] == "conv":
            b = nd.get("bias")
            y = F.conv2d(a, weights[nd["weight"]], weights[b] if b else None,
                         stride=nd.get("stride", [1, 1]), dilation=nd.get("dilation", [1, 1]))
            y = torch.relu(y) if nd.get("activation", "none") == "relu" else y
        elif nd["op"] == "max_pool":
            y = F.max_pool2d(a, nd["kernel"], stride=nd.get("stride", nd["kernel"]), dilation=nd.get("dilation", [1, 1]))
        elif nd["op"] in ("identity", "dropout"):
            y = a
        else:
            raise SystemExit(f"unsupported op {nd['op']}")
        t[nd["outputs"][0]] = y
    return t[graph["outputs"][0]]

with torch.no_grad():
    start = time.perf_counter()
    x = torch.from_numpy(((img * pre["scale"] - pre["mean"][0]) / pre["std"][0]).astype(np.float32))[None, None]
    x = F.pad(x, (pw // 2, pw - 1 - pw // 2, ph // 2, ph - 1 - ph // 2), mode="reflect")
    H = img.shape[0]
    strip = 128
    labels = torch.empty(img.shape, dtype=torch.uint8)
    for y0 in range(0, H, strip):
        y1 = min(H, y0 + strip)
        s = net(x[:, :, y0:y1 + ph - 1, :])
        labels[y0:y1] = s[0].argmax(0).to(torch.uint8)
    elapsed = time.perf_counter() - start
ref = np.asarray(Image.open(fcnrt_labels))
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: dense compute {elapsed:.2f} s; "
      f"labels equal to fcnrt dense: {np.mean(labels.numpy() == ref):.6f}")
EOF
    cat "$out/stdout_torch#$r.txt" | tee -a "$summary"
    sed -n 's/.*dense compute \([0-9.]*\) s.*/\1/p' "$out/stdout_torch#$r.txt" >>"$out/torch_compute.txt"
done

dense_med=$(median <"$out/times_dense.txt")
torch_med=$(median <"$out/torch_compute.txt")
say ""
say "== summary =="
say "dense, whole image: median wall ${dense_med} s of $repeats (max RSS $(max_rss_mib <"$out/times_dense.txt") MiB; with --max-memory 1G: $(max_rss_mib <"$out/times_dense_1g.txt") MiB, $(cut -d' ' -f1 "$out/times_dense_1g.txt") s)"
say "dense, band: median wall $(median <"$out/times_dense_band.txt") s (max RSS $(max_rss_mib <"$out/times_dense_band.txt") MiB)"
say "patchwise, band: median wall ${pw_band} s (max RSS $(max_rss_mib <"$out/times_patchwise_band.txt") MiB)"
say "patchwise, whole image: ${pw_full} s, ${pw_how}"
say "speedup dense over patchwise (whole image): $(awk -v p="$pw_full" -v d="$dense_med" 'BEGIN { printf "%.1fx", p / d }')"
say "PyTorch dense compute, whole image: median ${torch_med} s (process max RSS $(max_rss_mib <"$out/times_torch.txt") MiB)"
say "logs and masks in $out"
