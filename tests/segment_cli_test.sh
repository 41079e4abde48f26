#!/usr/bin/env bash
# End-to-end checks of `fcnrt segment` (tools/fcnrt/cmd_segment.cpp; the library
# parts have gtests in tests/test_segment.cpp): the files it writes per image
# (well-formed PNGs of the image's size, the .npy header and size), several
# images and directories at once, tiled runs equal to untiled ones bit for bit,
# --patchwise equal to the dense model, and the error cases: each bad image or
# bad option gives exactly one `fcnrt: error:` line naming the file or option,
# exit status 1 (2 for a usage error), no signal, and no file at all for that
# image: neither an output nor a hidden temporary one, not even when an output
# cannot be put in place or the run is interrupted by a signal.
#
# Usage: FCNRT=/path/to/fcnrt bash tests/segment_cli_test.sh (about 20 s on 2 cores)
# Needs bash, coreutils, grep and find only (no Python). Inputs: the sample
# micrograph models/bsubtilis-patch31/sample_cells.png (512x384, 16-bit gray),
# small binary PGMs written here with printf (their samples are bytes of that
# PNG's compressed data: fixed noise), and PNG headers written byte by byte.
# Every run names its device (cpu or reference), so the checks mean the same on
# a machine with a GPU.

set -u

if [[ -z "${FCNRT:-}" || ! -x "$FCNRT" ]]; then
    echo "segment_cli: set FCNRT to the fcnrt executable (got '${FCNRT:-}')" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cells="$here/../models/bsubtilis-patch31"  # dense.json, patch.json: 3 classes, 1-channel 16-bit input
unet="$here/golden/graph_unet_valid/model.json"  # tiny VALID U-Net: x [1, 1, H, W] -> scores, labels (3 classes)
sample="$cells/sample_cells.png"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcnrt_segment_cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
in="$tmp/in"    # inputs
out="$tmp/out"  # one output directory per case, made by fcnrt
mkdir -p "$in" "$out"

# The shared helpers: pass/fail counting, fcnrt (runs $FCNRT), last_output, check_error.
source "$here/cli_helpers.sh"

# Leftovers of an interrupted or refused write in any output directory: fcnrt
# writes each file as a hidden temporary (.NAME.tmp-XXXXXXXX) and renames it,
# and no output of segment is hidden, so any hidden file there is one.
partial_files() {
    find "$out" -mindepth 1 \( -name '.*' -o -name '*.fcnrt-partial' -o -name '*.fcnrt-partial.*' \) -print
}

# check_ok NAME: the last command exited 0 with nothing on stdout, only
# `fcnrt:` lines, none of them an error, on stderr, and no partial file.
check_ok() {
    local left
    left=$(partial_files | tr '\n' ' ')
    if [[ $rc -ne 0 ]]; then
        fail "$1" "$(last_output)"
    elif [[ -s "$tmp/stdout" ]]; then
        fail "$1" "stdout is not empty: $(head -c 300 "$tmp/stdout" | tr '\n' '|')"
    elif grep -v '^fcnrt: ' "$tmp/stderr" | grep -q . || grep -q '^fcnrt: error' "$tmp/stderr"; then
        fail "$1" "stderr has an error or lines besides fcnrt's own; $(last_output)"
    elif [[ -n "$left" ]]; then
        fail "$1" "left partial files behind: $left"
    else
        pass "$1"
    fi
    partial_files | xargs -r rm -f
}

# check_usage_error NAME TEXT [PATH...]: check_error, and the exit status of a usage error (2).
check_usage_error() {
    local status=$rc
    check_error "$@"
    if [[ $status -ne 2 ]]; then fail "$1: exit status" "expected 2 (a usage error), got $status"; fi
}

# check_image_error NAME TEXT DIR [LISTING]: check_error, exit status 1 (an
# image was refused), and DIR holding exactly LISTING (`ls -A`, one line, names
# separated by spaces; empty by default, and an absent DIR is empty too): the
# refused image has no file there, not even a hidden one.
check_image_error() {
    local status=$rc name=$1 text=$2 dir=$3 want=${4:-}
    local got
    got=$(ls -A "$dir" 2>/dev/null | tr '\n' ' ')
    check_error "$name" "$text"
    if [[ $status -ne 1 ]]; then fail "$name: exit status" "expected 1 (an image refused), got $status"; fi
    if [[ "${got% }" != "$want" ]]; then fail "$name: output directory" "holds '${got% }', want '$want'"; fi
}

# check_listing NAME DIR LISTING: DIR holds exactly LISTING (`ls -A`, as above).
check_listing() {
    local got
    got=$(ls -A "$2" 2>/dev/null | tr '\n' ' ')
    if [[ "${got% }" == "$3" ]]; then pass "$1"; else fail "$1" "holds '${got% }', want '$3'"; fi
}

# png_problem PATH W H COLOUR: what is wrong with PATH as a complete 8-bit PNG
# of W x H pixels and colour type COLOUR (0 gray, 2 RGB); nothing when all is right.
png_problem() {
    local path=$1 w=$2 h=$3 colour=$4
    if [[ ! -s "$path" ]]; then echo "$path: missing or empty"; return; fi
    local sig ihdr size depth_colour end
    sig=$(head -c 8 "$path" | od -An -tx1 | tr -d ' \n')
    if [[ $sig != 89504e470d0a1a0a ]]; then echo "$path: no PNG signature (got $sig)"; return; fi
    ihdr=$(head -c 16 "$path" | tail -c 4)
    if [[ $ihdr != IHDR ]]; then echo "$path: the first chunk is '$ihdr', not IHDR"; return; fi
    size=$(od -An -tu4 --endian=big -j16 -N8 "$path" | tr -s ' ')
    if [[ "${size# }" != "$w $h" ]]; then echo "$path: ${size# } pixels, want $w $h"; return; fi
    depth_colour=$(od -An -tu1 -j24 -N2 "$path" | tr -s ' ')
    if [[ "${depth_colour# }" != "8 $colour" ]]; then
        echo "$path: bit depth and colour type ${depth_colour# }, want 8 $colour"
        return
    fi
    end=$(tail -c 12 "$path" | od -An -tx1 | tr -d ' \n')
    if [[ $end != 0000000049454e44ae426082 ]]; then echo "$path: does not end in IEND (got $end)"; fi
}

# check_png NAME PATH W H COLOUR: pass or fail by png_problem.
check_png() {
    local why
    why=$(png_problem "$2" "$3" "$4" "$5")
    if [[ -z "$why" ]]; then pass "$1"; else fail "$1" "$why"; fi
}

# npy_header PATH: the magic, version, length and header dict of a version 1.0 file.
npy_header() {
    local hlen
    hlen=$(od -An -tu2 --endian=little -j8 -N2 "$1" | tr -d ' ')
    head -c $((10 + hlen)) "$1"
}

# f32_npy_header C H W: the header NumPy writes for a float32 [C, H, W] array in
# C order (version 1.0: magic, version, length, the dict padded with spaces and
# a newline to a multiple of 64 bytes).
f32_npy_header() {
    local dict="{'descr': '<f4', 'fortran_order': False, 'shape': ($1, $2, $3), }"
    local hlen=$(( (10 + ${#dict} + 1 + 63) / 64 * 64 - 10 ))
    printf '\x93NUMPY\x01\x00'
    printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
    printf '%s%*s\n' "$dict" $((hlen - ${#dict} - 1)) ''
}

# check_probs NAME PATH C H W: PATH is a .npy of float32 [C, H, W] with NumPy's
# header layout, and exactly as long as that.
check_probs() {
    local name=$1 path=$2 c=$3 h=$4 w=$5
    if [[ ! -s "$path" ]]; then fail "$name" "$path: missing or empty"; return; fi
    local total
    total=$(f32_npy_header "$c" "$h" "$w" | wc -c)
    if ! cmp -s <(head -c "$total" "$path") <(f32_npy_header "$c" "$h" "$w"); then
        fail "$name" "$path: header '$(npy_header "$path" | tr -c '[:print:]' '.')', want '$(f32_npy_header "$c" "$h" "$w" | tr -c '[:print:]' '.')'"
    elif [[ $(wc -c <"$path") -ne $((total + 4 * c * h * w)) ]]; then
        fail "$name" "$path: $(wc -c <"$path") bytes, want $((total + 4 * c * h * w))"
    else
        pass "$name"
    fi
}

# check_same NAME DIR1 DIR2 FILE...: each FILE is byte for byte the same in both directories.
check_same() {
    local name=$1 a=$2 b=$3 f differ=""
    shift 3
    for f in "$@"; do
        cmp -s "$a/$f" "$b/$f" || differ+=" $f"
    done
    if [[ -z "$differ" ]]; then pass "$name"; else fail "$name" "differ:$differ"; fi
}

# write_pgm PATH W H MAXVAL: a binary PGM (8-bit for MAXVAL 255, 16-bit for
# 65535) whose samples are the sample PNG's bytes from OFFSET (default 1001).
write_pgm() {
    local path=$1 w=$2 h=$3 maxval=$4 from=${5:-1001}
    local bytes=$((w * h * (maxval > 255 ? 2 : 1)))
    { printf 'P5\n%d %d\n%d\n' "$w" "$h" "$maxval"; tail -c +"$from" "$sample" | head -c "$bytes"; } >"$path"
}

# png_header PATH W H [DEPTH]: a PNG signature, an IHDR chunk of W x H gray
# pixels (W, H as 8 hex digits; its CRC deliberately wrong: readers skip it),
# no image data, and IEND.
png_header() {
    local path=$1 w=$2 h=$3 depth=${4:-08}
    local bytes="\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\x0dIHDR"
    local i
    for i in 0 2 4 6; do bytes+="\\x${w:i:2}"; done
    for i in 0 2 4 6; do bytes+="\\x${h:i:2}"; done
    bytes+="\\x$depth\\x00\\x00\\x00\\x00\\xde\\xad\\xbe\\xef"
    bytes+="\\x00\\x00\\x00\\x00IEND\\xae\\x42\\x60\\x82"
    printf "$bytes" >"$path"
}

# reserve_mib MODEL DEVICE: the MiB (rounded up) that segment sets aside for the
# program, model and kernel scratch before any image, from its refusal of a
# 1 MiB budget; nothing if it did not say.
reserve_mib() {
    fcnrt segment "$1" "$sample" -o "$out/reserve" --device "$2" --max-memory 1M
    local line
    line=$(grep -o 'already take [0-9.]* MiB' "$tmp/stderr") || return
    line=${line#already take }
    line=${line% MiB}
    echo $((${line%.*} + 1))
}

# tile_count: N from the note "IMAGE: N tiles of up to ..." of the last command.
tile_count() {
    local n
    n=$(grep -oE ': [0-9]+ tiles? of up to' "$tmp/stderr" | head -n 1)
    n=${n#: }
    echo "${n%% *}"
}

stem=sample_cells
W=512
H=384

# ---- help ----

fcnrt segment --help
if [[ $rc -eq 0 ]] && grep -q '^usage: fcnrt segment' "$tmp/stdout"; then pass "segment --help"
else fail "segment --help" "$(last_output)"; fi

# ---- happy path: files, their format, stderr ----

fcnrt segment "$unet" "$sample" -o "$out/full" --overlay --probs --device cpu
check_ok "segment U-Net on the sample with --overlay --probs"
check_listing "writes mask, labels, overlay and probs, nothing else" "$out/full" \
    "${stem}_labels.png ${stem}_mask.png ${stem}_overlay.png ${stem}_probs.npy"
check_png "mask: complete RGB PNG of the image's size" "$out/full/${stem}_mask.png" $W $H 2
check_png "labels: complete gray PNG of the image's size" "$out/full/${stem}_labels.png" $W $H 0
check_png "overlay: complete RGB PNG of the image's size" "$out/full/${stem}_overlay.png" $W $H 2
check_probs "probs: float32 [3, H, W] .npy" "$out/full/${stem}_probs.npy" 3 $H $W
if grep -q '^fcnrt: device: cpu' "$tmp/stderr" &&
    [[ $(grep -c "^fcnrt: note: $sample: 1 tile of up to ${H}x${W} pixels" "$tmp/stderr") -eq 1 ]]; then
    pass "stderr: the device and one note for the image"
else
    fail "stderr: the device and one note for the image" "$(last_output)"
fi

fcnrt segment "$unet" "$sample" -o "$out/quiet" --device cpu --quiet
check_ok "segment --quiet"
if ! grep -q '^fcnrt: note' "$tmp/stderr"; then pass "--quiet: no notes"
else fail "--quiet: no notes" "$(last_output)"; fi
check_listing "without --overlay and --probs: mask and labels only" "$out/quiet" \
    "${stem}_labels.png ${stem}_mask.png"
check_same "the options leave mask and labels alone" "$out/full" "$out/quiet" \
    "${stem}_mask.png" "${stem}_labels.png"

# At opacity 1 the overlay is the mask, row for row: the same PNG bytes.
fcnrt segment "$unet" "$sample" -o "$out/opaque" --overlay --opacity 1 --device cpu --quiet
if [[ $rc -eq 0 ]] && cmp -s "$out/opaque/${stem}_overlay.png" "$out/opaque/${stem}_mask.png"; then
    pass "--overlay --opacity 1: the overlay equals the mask"
else
    fail "--overlay --opacity 1: the overlay equals the mask" "$(last_output)"
fi

fcnrt segment "$unet" "$sample" -o "$out/zero" --halo zero --device cpu --quiet
check_ok "segment --halo zero"

# The README's demo: the cell model on the sample (the slowest run here, seconds).
fcnrt segment "$cells/dense.json" "$sample" -o "$out/cells" --overlay --probs --device cpu
check_ok "segment the cell model on the sample"
check_listing "cell model: all four files" "$out/cells" \
    "${stem}_labels.png ${stem}_mask.png ${stem}_overlay.png ${stem}_probs.npy"
check_png "cell model: mask" "$out/cells/${stem}_mask.png" $W $H 2
check_png "cell model: labels" "$out/cells/${stem}_labels.png" $W $H 0
check_png "cell model: overlay" "$out/cells/${stem}_overlay.png" $W $H 2
check_probs "cell model: probs [3, H, W]" "$out/cells/${stem}_probs.npy" 3 $H $W

# 8- and 16-bit PGMs, odd sizes.
write_pgm "$in/gray8.pgm" 45 31 255
write_pgm "$in/gray16.pgm" 37 50 65535
fcnrt segment "$cells/dense.json" "$in/gray8.pgm" "$in/gray16.pgm" -o "$out/pgm" --probs --device cpu
check_ok "segment 8- and 16-bit PGMs"
check_png "8-bit PGM: labels of its size" "$out/pgm/gray8_labels.png" 45 31 0
check_png "16-bit PGM: mask of its size" "$out/pgm/gray16_mask.png" 37 50 2
check_probs "16-bit PGM: probs [3, 50, 37]" "$out/pgm/gray16_probs.npy" 3 50 37

# A model whose output is the class indices (argmax in the graph) gives the
# same labels as the scores it is computed from; --probs needs scores.
mkdir -p "$in/labels_model"
cp "$here/golden/graph_unet_valid/model.safetensors" "$in/labels_model/"
unet_json=$(<"$unet")
printf '%s\n' "${unet_json/'"outputs": ["scores", "labels"]'/'"outputs": ["labels"]'}" \
    >"$in/labels_model/model.json"
fcnrt segment "$in/labels_model/model.json" "$sample" -o "$out/labels_model" --device cpu --quiet
if [[ $rc -eq 0 ]] && cmp -s "$out/labels_model/${stem}_labels.png" "$out/quiet/${stem}_labels.png"; then
    pass "an int32 labels output gives the labels of the scores"
else
    fail "an int32 labels output gives the labels of the scores" "$(last_output)"
fi
fcnrt segment "$in/labels_model/model.json" "$sample" -o "$out/labels_probs" --probs --device cpu
check_image_error "--probs with a labels-only model" "--probs" "$out/labels_probs"

# ---- several images, directories ----

mkdir -p "$in/two/sub"
cp "$sample" "$in/two/a.png"
cp "$sample" "$in/two/b.png"
cp "$in/gray8.pgm" "$in/two/.hidden.pgm"
cp "$in/gray8.pgm" "$in/two/sub/c.pgm"
echo "not an image" >"$in/two/notes.txt"
fcnrt segment "$unet" "$in/two" -o "$out/dir" --device cpu
check_ok "segment a directory"
check_listing "a directory: its images, not hidden files, other files or subdirectories" "$out/dir" \
    "a_labels.png a_mask.png b_labels.png b_mask.png"
if [[ $(grep -c '^fcnrt: note: ' "$tmp/stderr") -eq 2 ]]; then pass "a directory: one note per image"
else fail "a directory: one note per image" "$(last_output)"; fi
if cmp -s "$out/dir/a_mask.png" "$out/dir/b_mask.png" && cmp -s "$out/dir/a_labels.png" "$out/dir/b_labels.png"; then
    pass "the same image under two names: the same outputs"
else
    fail "the same image under two names: the same outputs" "a_* and b_* differ"
fi
if cmp -s "$out/dir/a_labels.png" "$out/quiet/${stem}_labels.png"; then
    pass "an image in a directory: the same outputs as alone"
else
    fail "an image in a directory: the same outputs as alone" "a_labels.png differs"
fi

fcnrt segment "$unet" "$in/gray8.pgm" "$in/two" "$in/gray16.pgm" -o "$out/mixed" --device cpu --quiet
check_ok "segment files and a directory at once"
check_listing "files and a directory: outputs named per stem" "$out/mixed" \
    "a_labels.png a_mask.png b_labels.png b_mask.png gray16_labels.png gray16_mask.png gray8_labels.png gray8_mask.png"

mkdir -p "$in/other"
cp "$in/gray8.pgm" "$in/other/a.pgm"
fcnrt segment "$unet" "$in/two" "$in/other/a.pgm" -o "$out/same_stem" --device cpu
check_image_error "two images with the same stem" "$in/other/a.pgm" "$out/same_stem"
fcnrt segment "$unet" "$in/gray8.pgm" "$in/gray8.pgm" -o "$out/same_file" --device cpu
check_image_error "one image given twice" "gray8" "$out/same_file"

mkdir -p "$in/empty_dir"
fcnrt segment "$unet" "$in/empty_dir" -o "$out/empty_dir" --device cpu
check_image_error "a directory without images" "$in/empty_dir" "$out/empty_dir"

# ---- tiled equals untiled ----

# check_tiling LABEL MODEL DEVICE IMAGE EXTRA: MODEL on IMAGE with --probs, once
# with the default budget (1 tile) and once with the fixed reserve + EXTRA MiB,
# which must give at least 2 tiles: labels, mask and probs the same bit for bit.
# The reserve is measured here, so the split does not hang on this machine's
# program size, only on the untiled run's planned peak being well above EXTRA.
check_tiling() {
    local label=$1 model=$2 device=$3 image=$4 extra=$5
    local what="$label on ${image##*/}, --device $device"
    local image_stem=${image##*/}
    image_stem=${image_stem%.*}
    local untiled="$out/untiled_${label}_$device" tiled="$out/tiled_${label}_$device"
    local reserve n
    reserve=$(reserve_mib "$model" "$device")
    if [[ -z "$reserve" ]]; then
        fail "tiled run ($what)" "no 'already take N MiB' in the refusal of --max-memory 1M: $(last_output)"
        return
    fi
    fcnrt segment "$model" "$image" -o "$untiled" --probs --device "$device"
    check_ok "untiled run ($what)"
    n=$(tile_count)
    if [[ "$n" == 1 ]]; then pass "untiled run: 1 tile ($what)"
    else fail "untiled run: 1 tile ($what)" "the note says '${n:-nothing}'; $(last_output)"; fi
    fcnrt segment "$model" "$image" -o "$tiled" --probs --device "$device" --max-memory "$((reserve + extra))M"
    check_ok "tiled run, --max-memory $((reserve + extra))M ($what)"
    n=$(tile_count)
    if [[ -n "$n" && "$n" -ge 2 ]]; then pass "tiled run: $n tiles ($what)"
    else fail "tiled run: at least 2 tiles ($what)" "the note says '${n:-nothing}'; $(last_output)"; fi
    check_same "tiled equals untiled bit for bit: labels, mask, probs ($what)" "$untiled" "$tiled" \
        "${image_stem}_labels.png" "${image_stem}_mask.png" "${image_stem}_probs.npy"
}

# The untiled runs' planned peaks: U-Net on the sample 14.5 MiB; the cell model on 96x80 39 MiB.
write_pgm "$in/tiles16.pgm" 96 80 65535 2001
check_tiling unet "$unet" cpu "$sample" 8
check_tiling unet "$unet" reference "$sample" 8
check_tiling cells "$cells/dense.json" cpu "$in/tiles16.pgm" 10

# ---- the CUDA default budget (under the CUDA emulation) ----

# Without --max-memory the budget on a GPU is 80% of the device memory that
# cudaMemGetInfo reports free once the weights are up. An emulated device of 400 KiB
# (FCNRT_CUDA_EMU_MEMORY) must therefore tile U-Net on a 96x80 image (planned peak
# about 0.8 MiB untiled), every tile's buffers must fit that device (else cudaMalloc
# fails the run), and the stitched labels, mask and probs must be the untiled run's
# (on the default 8 GiB device) bit for bit. On a real GPU the capacity cannot be
# set, so this runs only where `--device cuda` is the emulation.
write_pgm "$in/cuda_budget.pgm" 96 80 65535 4001
fcnrt segment "$unet" "$in/cuda_budget.pgm" -o "$out/cuda_untiled" --probs --device cuda
if [[ $rc -eq 0 ]] && grep -q '^fcnrt: device: cuda: .*CUDA emulation' "$tmp/stderr"; then
    n=$(tile_count)
    if [[ "$n" == 1 ]]; then pass "CUDA, 8 GiB device: 1 tile"
    else fail "CUDA, 8 GiB device: 1 tile" "the note says '${n:-nothing}'; $(last_output)"; fi
    FCNRT_CUDA_EMU_MEMORY=400K fcnrt segment "$unet" "$in/cuda_budget.pgm" -o "$out/cuda_tiled" \
        --probs --device cuda
    check_ok "CUDA, 400 KiB device, default budget"
    n=$(tile_count)
    if [[ -n "$n" && "$n" -ge 3 ]] && grep -q 'of the 0\.[0-9]* MiB device budget' "$tmp/stderr"; then
        pass "CUDA, 400 KiB device: the default budget from cudaMemGetInfo gives $n tiles"
    else
        fail "CUDA, 400 KiB device: at least 3 tiles under a sub-MiB device budget" \
            "the note says '${n:-nothing}'; $(last_output)"
    fi
    check_same "CUDA: tiled by the device budget equals untiled bit for bit: labels, mask, probs" \
        "$out/cuda_untiled" "$out/cuda_tiled" cuda_budget_labels.png cuda_budget_mask.png \
        cuda_budget_probs.npy

    # Two emulated devices of 400 KiB (--device cuda:all): the tiles are shared out
    # between them, each device with its own copy of the model; the outputs are
    # the one device's, bit for bit.
    FCNRT_CUDA_EMU_DEVICES=2 FCNRT_CUDA_EMU_MEMORY=400K fcnrt segment "$unet" \
        "$in/cuda_budget.pgm" -o "$out/cuda_two" --probs --device cuda:all
    check_ok "CUDA, two 400 KiB devices, --device cuda:all"
    if grep -q '^fcnrt: device: 2 CUDA devices: cuda:0 .*; cuda:1 ' "$tmp/stderr"; then
        pass "CUDA, cuda:all: the device line names both devices"
    else
        fail "CUDA, cuda:all: the device line names both devices" "$(last_output)"
    fi
    check_same "CUDA: two devices equal one, bit for bit: labels, mask, probs" \
        "$out/cuda_untiled" "$out/cuda_two" cuda_budget_labels.png cuda_budget_mask.png \
        cuda_budget_probs.npy
    FCNRT_CUDA_EMU_DEVICES=2 fcnrt segment "$unet" "$in/cuda_budget.pgm" -o "$out/cuda_bad" \
        --device cuda:0,cuda:2
    check_error "CUDA: --device cuda:0,cuda:2 with two devices" "cuda:2: there are 2 CUDA devices"
    FCNRT_CUDA_EMU_DEVICES=2 fcnrt segment "$unet" "$in/cuda_budget.pgm" -o "$out/cuda_bad" \
        --device cuda:1,cuda:1
    check_error "CUDA: --device cuda:1,cuda:1" "cuda:1 is given twice"
else
    echo "note: --device cuda is not the CUDA emulation here: the CUDA budget checks are not run"
fi

# ---- patchwise ----

fcnrt segment "$cells/patch.json" "$in/gray8.pgm" -o "$out/patch_dense" --device cpu
check_image_error "a patch model without --patchwise: the densify hint" "densify" "$out/patch_dense"
fcnrt segment "$cells/dense.json" "$in/gray8.pgm" -o "$out/dense_patchwise" --patchwise --device cpu
check_image_error "--patchwise with a dense model" "--patchwise" "$out/dense_patchwise"

# 780 us a pixel on one core: a 16x12 image only.
write_pgm "$in/tiny.pgm" 16 12 65535 3001
fcnrt segment "$cells/patch.json" "$in/tiny.pgm" -o "$out/patchwise" --patchwise --probs --device cpu
check_ok "segment --patchwise on a 16x12 image"
if grep -q "^fcnrt: note: $in/tiny.pgm: patchwise, [0-9]* runs" "$tmp/stderr"; then pass "--patchwise: a note with its runs"
else fail "--patchwise: a note with its runs" "$(last_output)"; fi
check_listing "--patchwise --probs: mask, labels, probs" "$out/patchwise" \
    "tiny_labels.png tiny_mask.png tiny_probs.npy"
check_probs "--patchwise: probs [3, 12, 16]" "$out/patchwise/tiny_probs.npy" 3 12 16
fcnrt segment "$cells/dense.json" "$in/tiny.pgm" -o "$out/patchwise_dense" --device cpu --quiet
# The scores agree to float32 rounding, not bit for bit; no pixel of this image is near a tie.
if [[ $rc -eq 0 ]] && cmp -s "$out/patchwise/tiny_labels.png" "$out/patchwise_dense/tiny_labels.png"; then
    pass "--patchwise gives the dense model's labels"
else
    fail "--patchwise gives the dense model's labels" "labels differ; $(last_output)"
fi

# ---- bad images ----

head -c 5000 "$sample" >"$in/truncated.png"
: >"$in/empty.png"
png_header "$in/zero.png" 00000000 00000000
png_header "$in/absurd.png" 000f4240 000f4240           # 1000000 x 1000000
png_header "$in/no_data.png" 00000040 00000020          # 64 x 32, no IDAT
head -c 33 "$sample" >"$in/header_only.png"             # signature and IHDR, then the end
head -c 20 "$sample" >"$in/short_header.png"
echo "this is not an image" >"$in/text.png"
mkdir -p "$in/dir.png"
for bad in truncated:"truncated" empty:"empty" zero:"no pixels (0x0)" \
    absurd:"1000000x1000000" no_data:"ends after 0 of 32 rows" header_only:"truncated" \
    short_header:"not a readable image" text:"not a readable image" missing:"missing.png"; do
    name=${bad%%:*}
    fcnrt segment "$unet" "$in/$name.png" -o "$out/bad_$name" --device cpu
    check_image_error "bad image $name.png: one error naming it" "$in/$name.png" "$out/bad_$name"
    if ! grep -q '^fcnrt: error:' "$tmp/stderr" || grep '^fcnrt: error:' "$tmp/stderr" | grep -qF -- "${bad#*:}"; then
        pass "bad image $name.png: says '${bad#*:}'"
    else
        fail "bad image $name.png: says '${bad#*:}'" "$(last_output)"
    fi
done
fcnrt segment "$unet" "$in/dir.png" -o "$out/bad_dir" --device cpu
check_image_error "a directory named .png holding no image" "$in/dir.png" "$out/bad_dir"

# A good image beside a bad one: the good one's files, none of the bad one's.
fcnrt segment "$unet" "$in/gray8.pgm" "$in/truncated.png" "$in/gray16.pgm" -o "$out/good_bad" --probs --device cpu
check_image_error "good, bad, good: one error, exit 1" "$in/truncated.png" "$out/good_bad" \
    "gray16_labels.png gray16_mask.png gray16_probs.npy gray8_labels.png gray8_mask.png gray8_probs.npy"
check_same "good, bad, good: the good images' files as without the bad one" "$out/mixed" "$out/good_bad" \
    gray16_mask.png gray16_labels.png gray8_mask.png gray8_labels.png

# An image whose own buffers do not fit the budget is refused from its header.
png_header "$in/big.png" 00007530 00007530              # 30000 x 30000
# padded to a size that could hold it (deflate expands at most about 1032:1),
# else it is refused as impossible for its size before the budget is asked
truncate -s 1M "$in/big.png"
fcnrt segment "$unet" "$in/big.png" -o "$out/big" --max-memory 100M --device cpu
check_image_error "an image larger than the budget: refused from its header" "--max-memory" "$out/big"

# ---- outputs that cannot be written ----

: >"$tmp/a_file"
fcnrt segment "$unet" "$in/gray8.pgm" -o "$tmp/a_file" --device cpu
check_image_error "-o names a file" "$tmp/a_file" "$out/none"
if [[ -f "$tmp/a_file" && ! -s "$tmp/a_file" ]]; then pass "-o names a file: the file is untouched"
else fail "-o names a file: the file is untouched" "$(ls -la "$tmp/a_file" 2>&1)"; fi

# One output cannot be put in place (a directory has its name): the image gets
# no file at all, those already renamed are taken back.
for blocked in mask.png labels.png overlay.png probs.npy; do
    mkdir -p "$out/blocked_$blocked/gray8_$blocked"
    fcnrt segment "$unet" "$in/gray8.pgm" -o "$out/blocked_$blocked" --overlay --probs --device cpu
    check_image_error "gray8_$blocked cannot be replaced: no file for the image" "gray8_$blocked" \
        "$out/blocked_$blocked" "gray8_$blocked"
done
for blocked in labels.png probs.npy; do
    mkdir -p "$out/pblocked_$blocked/tiny_$blocked"
    fcnrt segment "$cells/patch.json" "$in/tiny.pgm" -o "$out/pblocked_$blocked" --patchwise --probs --device cpu --quiet
    check_image_error "--patchwise, tiny_$blocked cannot be replaced: no file for the image" "tiny_$blocked" \
        "$out/pblocked_$blocked" "tiny_$blocked"
done

# ---- interrupted ----

# Ctrl-C (SIGINT) or a kill (SIGKILL, as the OOM killer sends) one second into
# the cell model's seconds of inference, while the scores stream into their
# file: nothing is left, visible or hidden (the temporaries are O_TMPFILE files,
# which the kernel frees; on a file system without O_TMPFILE they would be
# hidden named files, which a signal leaves behind).
for signal in INT KILL; do
    # --foreground: the signal goes to fcnrt only, not to timeout itself too.
    timeout --foreground -s "$signal" 1 "$FCNRT" segment "$cells/dense.json" "$sample" -o "$out/interrupted_$signal" \
        --probs --overlay --device cpu --quiet >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    got=$(ls -A "$out/interrupted_$signal" 2>/dev/null | tr '\n' ' ')
    if [[ $rc -eq 0 ]]; then
        pass "SIG$signal during inference: nothing left (the run ended before the signal)"
    elif [[ $rc -ne 124 && $rc -ne 137 ]]; then
        fail "SIG$signal during inference: nothing left" "not ended by the signal; $(last_output)"
    elif [[ -n "$got" ]]; then
        fail "SIG$signal during inference: nothing left" "left '${got% }' (a file system without O_TMPFILE?)"
    else
        pass "SIG$signal during inference: nothing left"
    fi
    rm -rf "${out:?}/interrupted_$signal"
done

# ---- untrusted files (issue 16) ----
# Every input of the fuzzing regression corpus, and files that are not
# regular: one error line naming the file, exit 1, no output, no hang.

for bad in "$here"/fuzz/regression/image/*; do
    name=$(basename "$bad")
    fcnrt segment "$unet" "$bad" -o "$out/regression_$name" --device cpu
    check_image_error "image regression $name" "$bad:" "$out/regression_$name"
done

ln -s /dev/zero "$in/z.png"
fcnrt segment "$unet" "$in/z.png" -o "$out/dev_zero" --device cpu
check_image_error "an image that is a symlink to /dev/zero" "$in/z.png: is a character device" "$out/dev_zero"
rm -f "$in/z.png"

mkdir -p "$in/with_fifo"
cp "$in/gray8.pgm" "$in/with_fifo/b.pgm"
mkfifo "$in/with_fifo/a.png"
fcnrt segment "$unet" "$in/with_fifo" -o "$out/with_fifo" --device cpu
check_image_error "a FIFO named a.png in a directory" "$in/with_fifo/a.png: is a FIFO" \
    "$out/with_fifo" "b_labels.png b_mask.png"
rm -rf "$in/with_fifo"

# A truncated JPEG (libjpeg-turbo would fill the rest with grey) and a good one.
jpegs="$here/fuzz/seeds/image"
head -c 900 "$jpegs/rgb.jpg" >"$in/truncated.jpg"
fcnrt segment "$unet" "$in/truncated.jpg" -o "$out/truncated_jpeg" --device cpu
check_image_error "a truncated JPEG" "$in/truncated.jpg: cannot decode" "$out/truncated_jpeg"
fcnrt segment "$unet" "$jpegs/gray.jpg" "$jpegs/rgb_progressive.jpg" -o "$out/jpeg" --device cpu --quiet
check_ok "JPEG (greyscale baseline, RGB progressive) through libjpeg-turbo"

# The cause of a failed mkdir is the real one (it was overwritten by a stat:
# "No such file or directory"): mkdir(1) says what it should be.
noperm=/sys/fcnrt_segment_cli_test
if [[ $(id -u) -ne 0 ]]; then
    mkdir -p "$in/readonly" && chmod 555 "$in/readonly"
    noperm="$in/readonly/out"
fi
cause=$(mkdir "$noperm" 2>&1 | sed 's/.*: //')
if [[ -n "$cause" ]]; then
    fcnrt segment "$unet" "$sample" -o "$noperm" --device cpu
    check_error "-o where mkdir fails: the real cause ($cause)" "$noperm: cannot create the output directory: $cause"
else
    rmdir "$noperm" 2>/dev/null
    echo "skip -o where mkdir fails: mkdir $noperm succeeded here"
fi

# ---- TIFF (made with libtiff by make_test_tiff) ----

if [[ -n "${MAKE_TEST_TIFF:-}" && -x "$MAKE_TEST_TIFF" ]]; then
    # A 16-bit time-lapse of 3 pages: each page segmented as its own image.
    "$MAKE_TEST_TIFF" "$in/stack.tif" pages=3 bits=16 compression=lzw width=45 height=31
    fcnrt segment "$cells/dense.json" "$in/stack.tif" -o "$out/tiff_stack" --device cpu --quiet
    check_ok "16-bit 3-page TIFF segments page by page"
    check_listing "16-bit 3-page TIFF: one mask and labels per page" "$out/tiff_stack" \
        "stack_p0000_labels.png stack_p0000_mask.png stack_p0001_labels.png stack_p0001_mask.png stack_p0002_labels.png stack_p0002_mask.png"
    for p in 0 1 2; do
        check_png "TIFF page $p labels" "$out/tiff_stack/stack_p000${p}_labels.png" 45 31 0
    done
    # The same pages as a tiled, deflated BigTIFF: the same labels.
    "$MAKE_TEST_TIFF" "$in/stack_big.tif" pages=3 bits=16 compression=deflate tiled=1 bigtiff=1 width=45 height=31
    fcnrt segment "$cells/dense.json" "$in/stack_big.tif" -o "$out/tiff_stack_big" --device cpu --quiet
    check_ok "16-bit 3-page tiled BigTIFF segments"
    for p in 0 1 2; do
        if cmp -s "$out/tiff_stack/stack_p000${p}_labels.png" "$out/tiff_stack_big/stack_big_p000${p}_labels.png"; then
            pass "strips and tiles give the same labels (page $p)"
        else
            fail "strips and tiles give the same labels (page $p)" "labels differ"
        fi
    done
    # --tiff-out: the labels of every page in one TIFF, no labels PNGs.
    fcnrt segment "$cells/dense.json" "$in/stack.tif" -o "$out/tiff_out" --tiff-out --device cpu --quiet
    check_ok "--tiff-out"
    check_listing "--tiff-out: masks per page and one labels TIFF" "$out/tiff_out" \
        "stack_labels.tif stack_p0000_mask.png stack_p0001_mask.png stack_p0002_mask.png"
    # Segmenting the labels TIFF reads its 3 pages back (8-bit grey).
    fcnrt segment "$cells/dense.json" "$out/tiff_out/stack_labels.tif" -o "$out/tiff_out_back" --device cpu --quiet
    check_ok "the labels TIFF reads back"
    check_listing "the labels TIFF has 3 pages" "$out/tiff_out_back" \
        "stack_labels_p0000_labels.png stack_labels_p0000_mask.png stack_labels_p0001_labels.png stack_labels_p0001_mask.png stack_labels_p0002_labels.png stack_labels_p0002_mask.png"
    # The last page's data overwritten: the first pages are segmented, the
    # last refused with one error, and the --tiff-out labels file not written.
    cp "$in/stack.tif" "$in/cut.tif"
    size=$(stat -c %s "$in/cut.tif")
    head -c 64 /dev/zero | tr '\0' '\377' |
        dd of="$in/cut.tif" bs=1 seek=$((size * 5 / 6)) conv=notrunc status=none
    fcnrt segment "$cells/dense.json" "$in/cut.tif" -o "$out/tiff_cut" --tiff-out --device cpu --quiet
    if [[ $rc -eq 1 && $(grep -c '^fcnrt: error:' "$tmp/stderr") -eq 1 && ! -e "$out/tiff_cut/cut_labels.tif" ]] &&
        grep -q "^fcnrt: error: $in/cut.tif" "$tmp/stderr"; then
        pass "a corrupt page in a TIFF stack: refused, no labels TIFF"
    else
        fail "a corrupt page in a TIFF stack: refused, no labels TIFF" "$(last_output); $(ls "$out/tiff_cut" 2>&1 | tr '\n' ' ')"
    fi
    # A larger 16-bit stack (800x600, one LZW strip per page) within a budget
    # that forces tiles: each page is decoded row by row into its samples, and
    # the process's peak resident memory stays within --max-memory.
    "$MAKE_TEST_TIFF" "$in/big_stack.tif" pages=2 bits=16 compression=lzw width=800 height=600 rows_per_strip=600
    reserve=$(reserve_mib "$unet" cpu)
    budget=$((reserve + 12))
    if grep -q AddressSanitizer "$FCNRT"; then
        echo "skip TIFF budget: this fcnrt is built with AddressSanitizer, whose shadow memory is not in the budget"
    elif [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f 'peak_kib %M' -o "$tmp/peak" "$FCNRT" segment "$unet" "$in/big_stack.tif" \
            -o "$out/tiff_budget" --max-memory "${budget}M" --device cpu >"$tmp/stdout" 2>"$tmp/stderr"
        rc=$?
        peak=$(grep -o 'peak_kib [0-9]*' "$tmp/peak" | grep -o '[0-9]*$')
        n=$(tile_count)
        if [[ $rc -eq 0 && -n "$n" && "$n" -ge 2 && -n "$peak" && $peak -le $((budget * 1024)) ]]; then
            pass "a 2-page 800x600 16-bit TIFF in $n tiles within --max-memory ${budget}M (peak $((peak / 1024)) MiB)"
        else
            fail "a 2-page 800x600 16-bit TIFF within --max-memory ${budget}M" \
                "tiles '${n:-none}', peak ${peak:-?} KiB; $(last_output)"
        fi
    else
        echo "skip TIFF budget: /usr/bin/time is not installed"
    fi
    partial_files | xargs -r rm -f
else
    echo "skip TIFF: MAKE_TEST_TIFF is not set (ctest sets it to the make_test_tiff it builds)"
fi

# ---- budget ----

fcnrt segment "$unet" "$sample" -o "$out/budget_1m" --max-memory 1M --device cpu
check_error "--max-memory 1M: too small for the program and model" "--max-memory" "$out/budget_1m"
fcnrt segment "$unet" "$sample" -o "$out/budget_abc" --max-memory abc --device cpu
check_usage_error "--max-memory abc" "--max-memory" "$out/budget_abc"
fcnrt segment "$unet" "$sample" -o "$out/budget_0" --max-memory 0 --device cpu
check_usage_error "--max-memory 0" "--max-memory" "$out/budget_0"

# ---- usage errors ----

fcnrt segment "$unet" "$sample" --device cpu
check_usage_error "segment without -o" "-o"
fcnrt segment "$unet" -o "$out/usage" --device cpu
check_usage_error "segment without an image" "IMAGE" "$out/usage"
fcnrt segment
check_usage_error "segment without arguments" "segment"
fcnrt segment "$unet" "$sample" -o "$out/usage" --opacity 2 --device cpu
check_usage_error "--opacity 2" "--opacity" "$out/usage"
fcnrt segment "$unet" "$sample" -o "$out/usage" --overlay --opacity -0.5 --device cpu
check_usage_error "--opacity -0.5" "--opacity" "$out/usage"
fcnrt segment "$unet" "$sample" -o "$out/usage" --opacity --device cpu
check_usage_error "--opacity without a value" "--opacity" "$out/usage"
fcnrt segment "$unet" "$sample" -o "$out/usage" --halo bogus --device cpu
check_usage_error "--halo bogus" "--halo" "$out/usage"
fcnrt segment "$unet" "$sample" -o "$out/usage" --frobnicate --device cpu
check_usage_error "unknown option" "--frobnicate" "$out/usage"
fcnrt segment "$unet" "$sample" -o "$out/device_bogus" --device bogus
check_usage_error "--device bogus" "bogus" "$out/device_bogus"
fcnrt segment "$in/absent.json" "$sample" -o "$out/absent_model" --device cpu
check_error "missing model" "$in/absent.json" "$out/absent_model"

# ---- several images on CUDA (the CUDA emulation): decoding and writing overlap ----

# On a GPU the next image is decoded, and the last one's files written, on host
# threads while an image segments: the files must be those of each image run
# alone, a bad image must still cost only its own files, and a write that fails
# (a directory in the way) must be reported for its own image.
fcnrt segment "$unet" "$in/gray8.pgm" -o "$out/cuda_alone8" --probs --device cuda
if [[ $rc -eq 0 ]] && grep -q '^fcnrt: device: cuda: .*CUDA emulation' "$tmp/stderr"; then
    fcnrt segment "$unet" "$in/gray16.pgm" -o "$out/cuda_alone16" --probs --device cuda
    fcnrt segment "$unet" "$in/gray8.pgm" "$in/truncated.png" "$in/gray16.pgm" -o "$out/cuda_good_bad" \
        --probs --device cuda
    check_image_error "CUDA: good, bad, good: one error, exit 1" "$in/truncated.png" "$out/cuda_good_bad" \
        "gray16_labels.png gray16_mask.png gray16_probs.npy gray8_labels.png gray8_mask.png gray8_probs.npy"
    check_same "CUDA: overlapped images give each image's files as alone (8-bit)" \
        "$out/cuda_alone8" "$out/cuda_good_bad" gray8_labels.png gray8_mask.png gray8_probs.npy
    check_same "CUDA: overlapped images give each image's files as alone (16-bit)" \
        "$out/cuda_alone16" "$out/cuda_good_bad" gray16_labels.png gray16_mask.png gray16_probs.npy
    mkdir -p "$out/cuda_blocked/gray8_mask.png"
    fcnrt segment "$unet" "$in/gray8.pgm" "$in/gray16.pgm" -o "$out/cuda_blocked" --device cuda
    check_image_error "CUDA: a write that fails in the background is its image's error" \
        "gray8_mask.png" "$out/cuda_blocked" "gray16_labels.png gray16_mask.png gray8_mask.png"
else
    echo "note: --device cuda is not the CUDA emulation here: the CUDA overlap checks are not run"
fi

echo "segment_cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
