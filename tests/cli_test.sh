#!/usr/bin/env bash
# End-to-end checks of the fcnrt command line against the contract in
# shared/spec/model-format.md ("Command line"): help and usage, `run` on a
# golden model (well-formed, deterministic .npy outputs), device selection,
# `info`, and the error cases: each must exit non-zero with exactly one
# `fcnrt: error:` line on stderr naming the file or option at fault, never
# crash, and leave no output file (partial or whole) behind.
#
# Usage: FCNRT=/path/to/fcnrt bash tests/cli_test.sh
# Needs bash and coreutils only (no Python): the .npy inputs it needs are
# copied from tests/golden/ or written with printf.

set -u

if [[ -z "${FCNRT:-}" || ! -x "$FCNRT" ]]; then
    echo "cli: set FCNRT to the fcnrt executable (got '${FCNRT:-}')" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
golden="$here/golden/graph_unet_valid"  # x [1, 1, null, null] -> scores (float32), labels (int32)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcnrt_cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# The shared helpers: pass/fail counting, fcnrt (runs $FCNRT), last_output, check_error.
source "$here/cli_helpers.sh"

# Leftovers of an interrupted or refused write anywhere under $tmp.
partial_files() {
    find "$tmp" \( -name '*.fcnrt-partial' -o -name '*.fcnrt-partial.*' -o -name '.*.tmp-*' \) -print
}

# check_ok NAME: the last command exited 0.
check_ok() {
    if [[ $rc -eq 0 ]]; then pass "$1"; else fail "$1" "$(last_output)"; fi
}

# write_npy PATH DESCR SHAPE: a version 1.0 .npy of zeros, e.g.
# write_npy a.npy '<f4' '1, 2, 3' (the element count is taken from SHAPE).
write_npy() {
    local path=$1 descr=$2 shape=$3
    local dict="{'descr': '$descr', 'fortran_order': False, 'shape': ($shape), }"
    local count=1 d
    for d in ${shape//,/ }; do count=$((count * d)); done
    # Pad with spaces so that magic (6) + version (2) + length (2) + header ends at a
    # multiple of 64, the header ending in a newline, as NumPy writes it.
    local len=$(( ${#dict} + 1 ))
    local total=$(( (10 + len + 63) / 64 * 64 ))
    local pad=$(( total - 10 - len ))
    local hlen=$(( total - 10 ))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
        printf '%s%*s\n' "$dict" "$pad" ''
        head -c $((count * 4)) /dev/zero
    } >"$path"
}

# npy_header PATH: the magic, version, length and header dict of a version 1.0 file.
npy_header() {
    local hlen
    hlen=$(od -An -tu2 --endian=little -j8 -N2 "$1" | tr -d ' ')
    head -c $((10 + hlen)) "$1"
}

model="$golden/model.json"
input="$golden/input_x.npy"

# ---- help and usage ----

fcnrt --help
if [[ $rc -eq 0 ]] && grep -q 'usage:' "$tmp/stdout"; then pass "fcnrt --help"
else fail "fcnrt --help" "$(last_output)"; fi
for cmd in run info bench; do
    fcnrt "$cmd" --help
    if [[ $rc -eq 0 ]] && grep -q "usage: fcnrt $cmd" "$tmp/stdout"; then pass "fcnrt $cmd --help"
    else fail "fcnrt $cmd --help" "$(last_output)"; fi
done

fcnrt
if [[ $rc -ne 0 && $rc -lt 124 ]] && grep -qE '^(fcnrt: error:|usage:)' "$tmp/stderr"; then
    pass "fcnrt alone: usage and non-zero exit"
else
    fail "fcnrt alone: usage and non-zero exit" "$(last_output)"
fi

fcnrt frobnicate
check_error "unknown command" "frobnicate"

fcnrt run
check_error "run without a model" "run"

# ---- run on a golden model ----

out1="$tmp/run1"
out2="$tmp/run2"
mkdir -p "$out1" "$out2"
fcnrt run "$model" --input "x=$input" --output "scores=$out1/scores.npy" \
    --output "labels=$out1/labels.npy" --device cpu
check_ok "run golden graph_unet_valid on cpu"
for name in scores labels; do
    got="$out1/$name.npy"
    want="$golden/output_$name.npy"
    if [[ ! -f "$got" ]]; then
        fail "$name.npy written" "no file $got"
        continue
    fi
    if [[ "$(head -c 6 "$got" | od -An -tx1 | tr -d ' \n')" == "934e554d5059" ]]; then
        pass "$name.npy starts with \\x93NUMPY"
    else
        fail "$name.npy starts with \\x93NUMPY" "got $(head -c 6 "$got" | od -An -c)"
    fi
    # Same dtype and shape as the golden file, written with NumPy's header layout.
    if cmp -s <(npy_header "$got") <(npy_header "$want"); then
        pass "$name.npy header equals NumPy's"
    else
        fail "$name.npy header equals NumPy's" \
            "got '$(npy_header "$got" | tail -c +11 | tr -s ' ')', want '$(npy_header "$want" | tail -c +11 | tr -s ' ')'"
    fi
    if [[ $(wc -c <"$got") -eq $(wc -c <"$want") ]]; then pass "$name.npy size equals golden"
    else fail "$name.npy size equals golden" "$(wc -c <"$got") vs $(wc -c <"$want") bytes"; fi
done
if [[ -z "$(partial_files)" ]]; then pass "run leaves no partial files"
else fail "run leaves no partial files" "$(partial_files | tr '\n' ' ')"; fi

fcnrt run "$model" --input "x=$input" --output "scores=$out2/scores.npy" \
    --output "labels=$out2/labels.npy" --device cpu
check_ok "run golden graph_unet_valid again"
if cmp -s "$out1/scores.npy" "$out2/scores.npy" && cmp -s "$out1/labels.npy" "$out2/labels.npy"; then
    pass "two runs give identical outputs"
else
    fail "two runs give identical outputs" "the output files differ"
fi

# The single output of a single-output model may be written without NAME=.
single="$here/golden/conv_basic"
fcnrt run "$single/model.json" --input "$single/input_x.npy" --output "$tmp/conv.npy" --device cpu
if [[ $rc -eq 0 && -f "$tmp/conv.npy" ]]; then pass "run with unnamed --input and --output"
else fail "run with unnamed --input and --output" "$(last_output)"; fi
rm -f "$tmp/conv.npy"

# Without --output: a summary line per output on stdout.
fcnrt run "$model" --input "x=$input" --device cpu
if [[ $rc -eq 0 ]] && grep -q '^scores:' "$tmp/stdout" && grep -q '^labels:' "$tmp/stdout"; then
    pass "run without --output prints a summary"
else
    fail "run without --output prints a summary" "$(last_output)"
fi

# ---- devices ----

fcnrt run "$model" --input "x=$input" --device cpu
if [[ $rc -eq 0 ]] && grep -q '^fcnrt: device: cpu' "$tmp/stderr"; then pass "--device cpu"
else fail "--device cpu" "$(last_output)"; fi

fcnrt run "$model" --input "x=$input" --device auto
auto_stderr=$(cat "$tmp/stderr")
if [[ $rc -eq 0 ]] && grep -q '^fcnrt: device: ' "$tmp/stderr"; then pass "--device auto says which device"
else fail "--device auto says which device" "$(last_output)"; fi

fcnrt run "$model" --input "x=$input" --output "scores=$tmp/cuda_scores.npy" --device cuda
if grep -q 'device: cuda\|CUDA device is emulated' <<<"$auto_stderr"; then
    # auto chose the GPU (or the build emulates one), so cuda must work.
    check_ok "--device cuda with a usable GPU"
    rm -f "$tmp/cuda_scores.npy"
else
    check_error "--device cuda without a usable GPU" "cuda" "$tmp/cuda_scores.npy"
fi

fcnrt run "$model" --input "x=$input" --output "scores=$tmp/bogus.npy" --device bogus
check_error "--device bogus" "bogus" "$tmp/bogus.npy"

# --precision: tensor-core formats only on CUDA; the CPU computes in fp32.
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/p.npy" --device cpu --precision tf32
check_error "--precision tf32 on the CPU" "--precision tf32 needs --device cuda" "$tmp/p.npy"
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/p.npy" --device cpu --precision fp64
check_error "--precision fp64" "unknown precision 'fp64'" "$tmp/p.npy"
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/p.npy" --device cpu --precision fp32
check_ok "--precision fp32 on the CPU"
rm -f "$tmp/p.npy"
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/p.npy" --device cuda --precision bf16
if grep -q 'device: cuda\|CUDA device is emulated' <<<"$auto_stderr"; then
    check_ok "--device cuda --precision bf16 with a usable GPU"
    rm -f "$tmp/p.npy"
else
    check_error "--precision bf16 without a usable GPU" "cuda" "$tmp/p.npy"
fi

# ---- errors of `run` ----

fcnrt run "$tmp/absent.json" --input "x=$input" --output "scores=$tmp/s.npy"
check_error "missing model file" "$tmp/absent.json" "$tmp/s.npy"

mkdir -p "$tmp/malformed"
cp "$golden/model.safetensors" "$tmp/malformed/"
head -c 300 "$model" >"$tmp/malformed/model.json"
fcnrt run "$tmp/malformed/model.json" --input "x=$input" --output "scores=$tmp/s.npy"
check_error "malformed (truncated) JSON" "$tmp/malformed/model.json" "$tmp/s.npy"

mkdir -p "$tmp/deep"
{
    printf '{"format": "fcnrt-graph", "version": 1, "inputs": [{"name": "x", "shape": '
    printf '%.0s[' {1..100000}
    printf '%.0s]' {1..100000}
    printf '}], "outputs": ["x"], "nodes": []}\n'
} >"$tmp/deep/model.json"
fcnrt run "$tmp/deep/model.json" --input "x=$input" --output "x=$tmp/s.npy"
check_error "deeply nested JSON" "$tmp/deep/model.json" "$tmp/s.npy"

mkdir -p "$tmp/noweights"
cp "$model" "$tmp/noweights/"
fcnrt run "$tmp/noweights/model.json" --input "x=$input" --output "scores=$tmp/s.npy"
check_error "missing weights file" "model.safetensors" "$tmp/s.npy"

head -c 200 "$input" >"$tmp/truncated.npy"
fcnrt run "$model" --input "x=$tmp/truncated.npy" --output "scores=$tmp/s.npy"
check_error "truncated .npy input" "$tmp/truncated.npy" "$tmp/s.npy"

printf 'not a numpy file\n' >"$tmp/text.npy"
fcnrt run "$model" --input "x=$tmp/text.npy" --output "scores=$tmp/s.npy"
check_error ".npy input that is no .npy" "$tmp/text.npy" "$tmp/s.npy"

fcnrt run "$model" --input "x=$tmp/absent.npy" --output "scores=$tmp/s.npy"
check_error "missing .npy input" "$tmp/absent.npy" "$tmp/s.npy"

write_npy "$tmp/zeros.npy" '<f4' '1, 1, 20, 18'
fcnrt run "$model" --input "x=$tmp/zeros.npy" --output "scores=$tmp/s.npy" --device cpu
if [[ $rc -eq 0 && -f "$tmp/s.npy" ]]; then pass "a .npy written by this script is accepted"
else fail "a .npy written by this script is accepted" "$(last_output)"; fi
rm -f "$tmp/s.npy"

write_npy "$tmp/channels2.npy" '<f4' '1, 2, 20, 18'
fcnrt run "$model" --input "x=$tmp/channels2.npy" --output "scores=$tmp/s.npy"
check_error "wrong input shape (channels)" "[1, 2, 20, 18]" "$tmp/s.npy"

write_npy "$tmp/rank3.npy" '<f4' '1, 20, 18'
fcnrt run "$model" --input "x=$tmp/rank3.npy" --output "scores=$tmp/s.npy"
check_error "wrong input rank" "[1, 20, 18]" "$tmp/s.npy"

write_npy "$tmp/tiny.npy" '<f4' '1, 1, 4, 4'
fcnrt run "$model" --input "x=$tmp/tiny.npy" --output "scores=$tmp/s.npy"
check_error "input too small for the net names a node" "node " "$tmp/s.npy"

write_npy "$tmp/int.npy" '<i4' '1, 1, 20, 18'
fcnrt run "$model" --input "x=$tmp/int.npy" --output "scores=$tmp/s.npy"
check_error "int32 input" "$tmp/int.npy" "$tmp/s.npy"

fcnrt run "$model" --input "image=$input" --output "scores=$tmp/s.npy"
check_error "wrong input name" "image" "$tmp/s.npy"

fcnrt run "$model" --output "scores=$tmp/s.npy"
check_error "missing input" "'x'" "$tmp/s.npy"

fcnrt run "$model" --input "x=$input" --output "logits=$tmp/s.npy"
check_error "wrong output name" "logits" "$tmp/s.npy"

fcnrt run "$model" --input "x=$input" --output "scores=$tmp/s.npy" --frobnicate 3
check_error "unknown option" "--frobnicate" "$tmp/s.npy"

fcnrt run "$model" --input
check_error "option without its value" "--input"

fcnrt run "$model" --input "x=$input" --output "scores=$tmp/nodir/s.npy"
check_error "--output in a nonexistent directory" "$tmp/nodir/s.npy" "$tmp/nodir/s.npy"

fcnrt run "$model" --input "x=$input" --output "scores=$tmp/good.npy" \
    --output "labels=$tmp/nodir/labels.npy"
check_error "one good and one bad --output (missing directory)" "$tmp/nodir/labels.npy" \
    "$tmp/good.npy" "$tmp/nodir/labels.npy"

mkdir -p "$tmp/adir"
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/good.npy" --output "labels=$tmp/adir"
check_error "one good and one bad --output (a directory)" "$tmp/adir" "$tmp/good.npy"
if [[ -d "$tmp/adir" && -z "$(ls -A "$tmp/adir")" ]]; then pass "the directory named as --output is untouched"
else fail "the directory named as --output is untouched" "$(ls -la "$tmp/adir" 2>&1 | tr '\n' '|')"; fi

fcnrt run "$model" --input "x=$input" --output "labels=$tmp/adir" --output "scores=$tmp/good.npy"
check_error "one bad and one good --output (a directory)" "$tmp/adir" "$tmp/good.npy"

# ---- untrusted files (issue 16): not regular files, absurd headers ----
# Each is one error line naming the file the user gave, exit 1, no output and
# no hang (check_error fails a run that the 120 s timeout ends).

mkdir -p "$tmp/zero_weights"
cp "$model" "$tmp/zero_weights/"
ln -s /dev/zero "$tmp/zero_weights/model.safetensors"
fcnrt run "$tmp/zero_weights/model.json" --input "x=$input" --output "scores=$tmp/s.npy"
check_error "weights a symlink to /dev/zero" "not a regular file" "$tmp/s.npy"

mkdir -p "$tmp/fifo_weights"
cp "$model" "$tmp/fifo_weights/"
mkfifo "$tmp/fifo_weights/model.safetensors"
fcnrt run "$tmp/fifo_weights/model.json" --input "x=$input" --output "scores=$tmp/s.npy"
check_error "weights a FIFO" "a FIFO" "$tmp/s.npy"

mkfifo "$tmp/fifo.npy"
fcnrt run "$model" --input "x=$tmp/fifo.npy" --output "scores=$tmp/s.npy"
check_error "input .npy a FIFO" "$tmp/fifo.npy: is a FIFO" "$tmp/s.npy"
rm -f "$tmp/fifo.npy"

ln -s /dev/zero "$tmp/zero.json"
fcnrt info "$tmp/zero.json"
check_error "graph a symlink to /dev/zero" "$tmp/zero.json: is a character device"
rm -f "$tmp/zero.json"

for onnx in "$here"/fuzz/regression/onnx/*.onnx; do
    fcnrt info "$onnx"
    check_error "onnx regression $(basename "$onnx")" "$onnx"
    fcnrt import "$onnx" -o "$tmp/imported.json"
    check_error "import of onnx regression $(basename "$onnx")" "$onnx" "$tmp/imported.json"
done

for graph in "$here"/fuzz/regression/graph_json/*; do
    fcnrt info "$graph"
    check_error "graph JSON regression $(basename "$graph")" "$graph"
done

# An output that cannot be written is reported under the name the user gave,
# not under run's temporary (NAME.fcnrt-partial).
fcnrt run "$model" --input "x=$input" --output "scores=$tmp/no_such_dir/s.npy"
check_error "run --output into a missing directory" "$tmp/no_such_dir/s.npy:" "$tmp/no_such_dir"
if grep -q 'fcnrt-partial' "$tmp/stderr"; then
    fail "run's error names the user's file" "$(last_output)"
else
    pass "run's error names the user's file"
fi

# ---- info ----

fcnrt info "$model" --size 64x64
info_ok=1
for want in 'FLOPs' 'e1a' 'conv' 'receptive field' 'planned peak'; do
    grep -qF -- "$want" "$tmp/stdout" || info_ok=0
done
if [[ $rc -eq 0 && $info_ok -eq 1 ]]; then pass "info --size 64x64: layer table, receptive field, planned peak"
else fail "info --size 64x64: layer table, receptive field, planned peak" "$(last_output); stdout: $(head -c 400 "$tmp/stdout" | tr '\n' '|')"; fi

fcnrt info "$model" --size 64xQ
check_error "info with a bad --size" "--size"

fcnrt info "$tmp/absent.json"
check_error "info on a missing model" "$tmp/absent.json"

fcnrt info "$model" --size 2x2
check_error "info at a size too small for the net" "node "

# ---- bench ----

# check_usage_error NAME TEXT: check_error, and the exit status of a usage error (2).
check_usage_error() {
    local status=$rc
    check_error "$1" "$2"
    if [[ $status -ne 2 ]]; then fail "$1: exit status" "expected 2 (a usage error), got $status"; fi
}

# json_has KEY...: every KEY (a literal piece of compact JSON) is in stdout.
json_has() {
    local key
    for key in "$@"; do
        grep -qF -- "$key" "$tmp/stdout" || { echo "missing $key"; return 1; }
    done
}

# Well-formed enough to parse, checked without Python: one line holding one
# object, braces and brackets balanced, no NaN or infinity (JSON has neither).
json_object_ok() {
    local text
    text=$(cat "$tmp/stdout")
    [[ $(wc -l <"$tmp/stdout") -eq 1 && $text == \{*\} ]] || { echo "not one object on one line"; return 1; }
    [[ $(tr -cd '{' <<<"$text" | wc -c) -eq $(tr -cd '}' <<<"$text" | wc -c) ]] || { echo "braces unbalanced"; return 1; }
    [[ $(tr -cd '[' <<<"$text" | wc -c) -eq $(tr -cd ']' <<<"$text" | wc -c) ]] || { echo "brackets unbalanced"; return 1; }
    if grep -qiE '(nan|inf)[,}]' "$tmp/stdout"; then echo "NaN or infinity"; return 1; fi
}

fcnrt bench "$model" --device cpu --size 36x36 --iterations 3 --warmup 1 --json
why=$(json_object_ok && json_has '"fcnrt_bench":1' '"commit":"' '"backend":"cpu"' '"threads":' \
    '"peak_tflops":' '"peak_source":"measured' '"input_shapes":{"x":[1,1,36,36]}' '"batch":1' \
    '"warmup":1' '"iterations":3' '"flops":' '"latency_ms":{"min":' '"median":' '"mean":' '"p90":' \
    '"p95":' '"p99":' '"max":' '"h2d_ms":{' '"compute_ms":{' '"d2h_ms":{' '"throughput_per_s":' \
    '"achieved_tflops":' '"share_of_peak":' '"weights_bytes":' '"activation_arena_bytes":' \
    '"peak_device_bytes":')
if [[ $rc -eq 0 && -z "$why" ]] && ! grep -qF '"nodes"' "$tmp/stdout"; then
    pass "bench --json: one JSON object with latency percentiles, phases, rates, memory"
else
    fail "bench --json: one JSON object with latency percentiles, phases, rates, memory" \
        "${why:-has nodes without --profile}; $(last_output); stdout: $(head -c 600 "$tmp/stdout")"
fi

fcnrt bench "$model" --device cpu --size 36x36 --iterations 3 --warmup 1 --profile
bench_ok=1
for want in 'throughput' 'p99' 'host-to-device' 'compute' 'device-to-host' 'TFLOP/s' \
    'peak device memory' 'per-node' 'e1a' 'pool1' 'up' 'skip_crop' 'labels'; do
    grep -qF -- "$want" "$tmp/stdout" || bench_ok=0
done
if [[ $rc -eq 0 && $bench_ok -eq 1 ]]; then pass "bench --profile: the report and a per-node table"
else fail "bench --profile: the report and a per-node table" "$(last_output); stdout: $(head -c 600 "$tmp/stdout" | tr '\n' '|')"; fi

fcnrt bench "$model" --device cpu --size 36x36 --iterations 2 --warmup 0 --profile --json
why=$(json_object_ok && json_has '"nodes":[{"name":"' '"name":"e1a","op":"conv","ms":' '"gflops":' '"gbs":' '"share":')
if [[ $rc -eq 0 && -z "$why" ]]; then pass "bench --profile --json: a nodes list"
else fail "bench --profile --json: a nodes list" "$why; $(last_output); stdout: $(head -c 600 "$tmp/stdout")"; fi

fcnrt bench "$model" --device reference --size 20x18 --iterations 1 --warmup 0 --json
why=$(json_object_ok && json_has '"backend":"reference"' '"name":"cpu reference' '"input_shapes":{"x":[1,1,20,18]}')
if [[ $rc -eq 0 && -z "$why" ]]; then pass "bench --device reference"
else fail "bench --device reference" "$why; $(last_output)"; fi

# The cell model leaves its batch dim open.
cells="$here/../models/bsubtilis-patch31/dense.json"
fcnrt bench "$cells" --device cpu --size 32x33 --batch 2 --iterations 1 --warmup 0 --json
why=$(json_object_ok && json_has '"input_shapes":{"image":[2,1,32,33]}' '"batch":2')
if [[ $rc -eq 0 && -z "$why" ]]; then pass "bench --batch 2 on an open batch dim"
else fail "bench --batch 2 on an open batch dim" "$why; $(last_output)"; fi

fcnrt bench "$model" --device cpu --size 36x36 --duration 0.2 --warmup 0 --json
if [[ $rc -eq 0 ]] && grep -qE '"iterations":[1-9]' "$tmp/stdout"; then pass "bench --duration runs at least once"
else fail "bench --duration runs at least once" "$(last_output)"; fi

fcnrt bench "$model" --device cpu --size 36x36 --iterations 0
check_usage_error "bench --iterations 0" "--iterations"
fcnrt bench "$model" --device cpu --size 36x36 --duration -1
check_usage_error "bench --duration -1" "--duration"
fcnrt bench "$model" --device cpu --size 36x36 --iterations 3 --duration 1
check_usage_error "bench with --iterations and --duration" "--duration"
fcnrt bench "$model" --device cpu --size 36x36 --warmup many
check_usage_error "bench --warmup many" "--warmup"
fcnrt bench "$model" --device cpu --size 36xQ
check_usage_error "bench with a bad --size" "--size"
fcnrt bench "$model" --device cpu --size 36x36 --frobnicate
check_usage_error "bench with an unknown option" "--frobnicate"
fcnrt bench
check_usage_error "bench without a model" "bench"

fcnrt bench "$model" --device cpu
check_error "bench on open dims without --size" "--size"
fcnrt bench "$tmp/absent.json" --device cpu --size 36x36
check_error "bench on a missing model" "$tmp/absent.json"
fcnrt bench "$model" --device cpu --size 36x36 --batch 2 --input "$input"
check_usage_error "bench with --input and --batch" "--input"
fcnrt bench "$model" --device cpu --size 36x36 --batch 3
check_error "bench --batch against a fixed batch" "--batch"
fcnrt bench "$single/model.json" --device cpu --size 8x8
check_error "bench --size against a fixed size" "--size"
fcnrt bench "$model" --device cpu --size 2x2
check_error "bench at a size too small for the net" "node "
fcnrt bench "$model" --device cuda --size 36x36 --iterations 1 --warmup 0
if grep -q 'device: cuda\|CUDA device is emulated' <<<"$auto_stderr"; then
    check_ok "bench --device cuda with a usable GPU"
    grep -q '^precision:   tf32$' "$tmp/stdout" && pass "bench on CUDA defaults to tf32" ||
        fail "bench on CUDA defaults to tf32" "$(last_output)"
    fcnrt bench "$model" --device cuda --precision fp16 --size 36x36 --iterations 1 --warmup 0 --json
    check_ok "bench --device cuda --precision fp16 --json"
    grep -q '"precision":"fp16"' "$tmp/stdout" && pass "bench --json names the precision" ||
        fail "bench --json names the precision" "$(last_output)"
else
    check_error "bench --device cuda without a usable GPU" "cuda"
fi
# --graphs: on (the default) replays a CUDA graph, off launches node by node; the
# CPU never has one. The report says which ran.
fcnrt bench "$model" --device cpu --size 20x18 --iterations 1 --warmup 0 --json
if [[ $rc -eq 0 ]] && grep -qF '"graphs":false' "$tmp/stdout"; then pass "bench on the CPU: no graphs"
else fail "bench on the CPU: no graphs" "$(last_output)"; fi
fcnrt bench "$model" --device cpu --size 20x18 --graphs maybe
check_usage_error "bench --graphs maybe" "--graphs"
if grep -q 'device: cuda\|CUDA device is emulated' <<<"$auto_stderr"; then
    fcnrt bench "$model" --device cuda --size 20x18 --iterations 2 --warmup 1 --json
    if [[ $rc -eq 0 ]] && grep -qF '"graphs":true' "$tmp/stdout"; then pass "bench on CUDA: graphs by default"
    else fail "bench on CUDA: graphs by default" "$(last_output)"; fi
    fcnrt bench "$model" --device cuda --size 20x18 --iterations 2 --warmup 1 --graphs off
    if [[ $rc -eq 0 ]] && grep -q '^graphs: *off' "$tmp/stdout"; then pass "bench on CUDA --graphs off"
    else fail "bench on CUDA --graphs off" "$(last_output); stdout: $(head -c 600 "$tmp/stdout" | tr '\n' '|')"; fi
fi

# ---- eval ----

# label_pgm PATH W H V...: an 8-bit binary PGM label map holding the values V, row by row.
label_pgm() {
    local path=$1 w=$2 h=$3 v
    shift 3
    { printf 'P5\n%d %d\n255\n' "$w" "$h"; for v in "$@"; do printf "\\x$(printf %02x "$v")"; done; } >"$path"
}
# truth           prediction        (6 x 3; 255 = void), as in tests/test_eval.cpp
#   0 0 1 1 2 255   0 1 1 1 2 2
#   0 0 1 1 2 2     0 0 0 1 2 2
#   0 0 0 0 0 0     0 0 0 0 0 1
label_pgm "$tmp/truth.pgm" 6 3 0 0 1 1 2 255 0 0 1 1 2 2 0 0 0 0 0 0
label_pgm "$tmp/pred.pgm" 6 3 0 1 1 1 2 2 0 0 0 1 2 2 0 0 0 0 0 1

# With 255 ignored: confusion [[8,2,0],[1,3,0],[0,0,3]]; class 0 IoU 8/11, 1 IoU 3/6,
# 2 IoU 1; pixel accuracy 14/17.
fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --ignore 255 --json
why=$(json_object_ok && json_has '"classes":3' '"confusion":[[8,2,0],[1,3,0],[0,0,3]]' \
    '"iou":[0.7272727272727273,0.5,1.0]' '"pixel_accuracy":0.8235294117647058' '"pixels":17' \
    '"dice":[' '"precision":[' '"recall":[' '"mean_iou":0.7424242424242')
if [[ $rc -eq 0 && -z "$why" ]]; then pass "eval --json: confusion and scores of a hand-checked pair"
else fail "eval --json: confusion and scores of a hand-checked pair" "${why:-}; $(last_output); stdout: $(head -c 600 "$tmp/stdout")"; fi

# A class absent from both maps is null, not 0 or NaN; the region keeps columns 1..3, rows 1..2.
fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --classes 4 --region 1,1,4,3 --json
why=$(json_object_ok && json_has '"classes":4' '"iou":[0.8,0.5,null,null]' '"recall":[1.0,0.5,null,null]' \
    '"precision":[0.8,1.0,null,null]' '"mean_iou":0.65' '"pixels":6')
if [[ $rc -eq 0 && -z "$why" ]]; then pass "eval --classes 4 --region: absent classes are null"
else fail "eval --classes 4 --region: absent classes are null" "${why:-}; $(last_output); stdout: $(head -c 600 "$tmp/stdout")"; fi

fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --ignore 255
eval_ok=1
for want in 'pixels scored' 'mean IoU' 'pixel accuracy' '0.7273' 'rows: ground truth'; do
    grep -qF -- "$want" "$tmp/stdout" || eval_ok=0
done
if [[ $rc -eq 0 && $eval_ok -eq 1 ]]; then pass "eval: the table"
else fail "eval: the table" "$(last_output); stdout: $(head -c 400 "$tmp/stdout" | tr '\n' '|')"; fi

# Two directories, paired by stem: segment's labels PNG against itself (and a PGM
# ground truth with no prediction, which is noted, not scored).
label_pgm "$tmp/in40.pgm" 40 40 $(for ((i = 0; i < 1600; ++i)); do echo $(((i * 37) % 256)); done)
fcnrt segment "$model" "$tmp/in40.pgm" -o "$tmp/evseg" --device cpu --quiet
mkdir -p "$tmp/evgt"
cp "$tmp/evseg/in40_labels.png" "$tmp/evgt/in40.png"
cp "$tmp/truth.pgm" "$tmp/evgt/other.pgm"
fcnrt eval "$tmp/evseg" "$tmp/evgt" --json
why=$(json_object_ok && json_has '"pixel_accuracy":1.0' '"pixels":1600')
if [[ $rc -eq 0 && -z "$why" ]] && grep -q '^fcnrt: note: 1 file' "$tmp/stderr"; then
    pass "eval DIR DIR: segment's labels PNG paired with its namesake"
else fail "eval DIR DIR: segment's labels PNG paired with its namesake" "${why:-no note}; $(last_output); stdout: $(head -c 600 "$tmp/stdout")"; fi

# A 0/255 mask: 254 classes between are absent from both maps, named in one line.
label_pgm "$tmp/mask_truth.pgm" 2 2 0 255 255 0
label_pgm "$tmp/mask_pred.pgm" 2 2 0 255 0 0
fcnrt eval "$tmp/mask_pred.pgm" "$tmp/mask_truth.pgm"
if [[ $rc -eq 0 ]] && grep -q '^absent from both maps, left out here: classes 1-254$' "$tmp/stdout" &&
    [[ $(grep -cE '^ +[0-9]+ ' "$tmp/stdout") -eq 4 ]]; then
    pass "eval of a 0/255 mask: the 254 absent classes in one line"
else fail "eval of a 0/255 mask: the 254 absent classes in one line" "$(last_output); stdout: $(head -c 600 "$tmp/stdout" | tr '\n' '|')"; fi

fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --classes 2
check_error "eval: a label beyond --classes, with its place" "$tmp/truth.pgm: label 2 at column 4, row 0 is not below --classes 2"
fcnrt eval "$tmp/pred.pgm" "$tmp/in40.pgm"
check_error "eval: maps of different sizes" "$tmp/pred.pgm: the prediction is 6x3"
fcnrt eval "$tmp/evseg/in40_mask.png" "$tmp/evgt/in40.png"
check_error "eval: a colour mask is no label map" "$tmp/evseg/in40_mask.png: a label map has one channel"
fcnrt eval "$tmp/pred.pgm" "$tmp/absent.png"
check_error "eval: a missing file" "$tmp/absent.png"
fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --region 0,0,7,3
check_error "eval: a region beyond the image" "$tmp/truth.pgm: --region 0,0,7,3"
fcnrt eval "$tmp/pred.pgm" "$tmp/truth.pgm" --region 3,0,1,2
check_usage_error "eval: an empty region" "--region"
fcnrt eval "$tmp/pred.pgm" "$tmp/evgt"
check_usage_error "eval: a file and a directory" "is a directory"

# ---- zoo ----

fcnrt zoo "$here/../models/zoo/cellpatch.arch.json" -o "$tmp/zoo" --seed 3
first=$(cksum <"$tmp/zoo/cellpatch.safetensors" 2>/dev/null)
fcnrt info "$tmp/zoo/cellpatch.json"
if [[ $rc -eq 0 ]] && grep -q '626423 parameters' "$tmp/stdout"; then pass "zoo: a model that info loads, 626,423 parameters"
else fail "zoo: a model that info loads, 626,423 parameters" "$(last_output); stdout: $(head -c 300 "$tmp/stdout" | tr '\n' '|')"; fi
fcnrt zoo "$here/../models/zoo/cellpatch.arch.json" -o "$tmp/zoo" --seed 3 --quiet
if [[ $rc -eq 0 && ! -s "$tmp/stderr" && "$(cksum <"$tmp/zoo/cellpatch.safetensors")" == "$first" ]]; then
    pass "zoo --seed: the same weights again; --quiet: nothing on stderr"
else fail "zoo --seed: the same weights again; --quiet: nothing on stderr" "$(last_output)"; fi
fcnrt zoo "$model" -o "$tmp/zoo2"
check_error "zoo on a graph file (not an architecture)" "$model: not a zoo architecture file" "$tmp/zoo2/model.json"

# ---- quiet and progress ----

fcnrt run "$model" --input "x=$input" --device cpu --quiet
if [[ $rc -eq 0 && ! -s "$tmp/stderr" ]]; then pass "run --quiet: nothing on stderr"
else fail "run --quiet: nothing on stderr" "$(last_output)"; fi

fcnrt bench "$model" --device cpu --size 36x36 --iterations 2 --warmup 1 --json --quiet
if [[ $rc -eq 0 && ! -s "$tmp/stderr" ]] && grep -q '"fcnrt_bench":1' "$tmp/stdout"; then pass "bench --quiet: nothing on stderr"
else fail "bench --quiet: nothing on stderr" "$(last_output)"; fi

# stderr is a file here: plain progress lines every FCNRT_PROGRESS_SECONDS (10 by default).
FCNRT_PROGRESS_SECONDS=0.2 fcnrt bench "$here/../models/bsubtilis-patch31/dense.json" --device cpu \
    --size 96x96 --duration 1.5 --warmup 1
lines=$(grep -c '^fcnrt: progress: bench: ' "$tmp/stderr")
if [[ $rc -eq 0 && $lines -ge 3 ]] && ! grep -q $'\r' "$tmp/stderr"; then
    pass "bench off a terminal: plain progress lines ($lines in 1.5 s at a 0.2 s period)"
else fail "bench off a terminal: plain progress lines" "$lines lines; $(last_output)"; fi

fcnrt info "$model" --size 64x48
if [[ $rc -eq 0 ]] && grep -qF 'input:  x [1, 1, 64, 48] float32 (declared [1, 1, ?, ?])' "$tmp/stdout"; then
    pass "info --size: the concrete input shape beside the declared one"
else fail "info --size: the concrete input shape beside the declared one" "$(last_output); stdout: $(head -c 300 "$tmp/stdout" | tr '\n' '|')"; fi

fcnrt info "$model" --size 65x64
if [[ $rc -eq 0 ]] && grep -q '^fcnrt: warning: .*65 input rows do not fit .* node pool1 leaves 1 of its 61 rows unused.* 66 rows' "$tmp/stderr" &&
    ! grep -q 'columns do not fit' "$tmp/stderr"; then
    pass "info at a size the pooling does not fit: a warning with the nearest fitting size"
else fail "info at a size the pooling does not fit: a warning with the nearest fitting size" "$(last_output)"; fi

fcnrt segment "$here/../models/bsubtilis-patch31/patch.json" "$tmp/truth.pgm" -o "$tmp/patchseg" --device cpu
check_error "segment on a patch model names densify and --patchwise" "--patchwise" "$tmp/patchseg"

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
