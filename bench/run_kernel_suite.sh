#!/usr/bin/env bash
# run_kernel_suite.sh: the kernel suite on one device, with its roofs, the PyTorch
# peer, the roofline picture and the comparison table.
#
#   bench/run_kernel_suite.sh BIN_DIR cpu|cuda OUT_DIR
#
# BIN_DIR is a build tree (BIN_DIR/bench/bench_cpu_kernels) or a folder holding the
# benchmark binaries themselves (tools/gpu-check.sh's unpacked bundle). Writes, in
# OUT_DIR (6 files by default, so that a lent GPU machine's $OUT can return them all):
#   fcnrt-DEV.json          bench_DEV_kernels, roof/ and suite/ benchmarks (Google Benchmark JSON)
#   torch-DEV.json          bench/torch_kernels_peer.py, the same suite in PyTorch
#   roofline-DEV.svg/.png   bench/roofline.py over both (PNG when PIL is importable)
#   kernel-suite-DEV.md     machine, commit, commands, load averages, bench/compare_kernels.py's tables
#   run-DEV.log             everything the steps printed
#
# Environment:
#   REPS      repetitions per run (default 3)
#   MIN_TIME  seconds per repetition (default 0.5 on the CPU, 0.1 on the GPU)
#   ROUNDS    rounds (default 1); results of all rounds are pooled (medians over every
#             repetition, roofs the best of all)
#   INTERLEAVE=1  for a machine shared with other work (this project's 2-core CPU box):
#             instead of the whole suite in fcnrt and then in PyTorch, each round
#             measures the roofs of both, then runs case by case, fcnrt's then the
#             peer's, so that both sides of each ratio see the same load, then the
#             roofs again. The JSON
#             files then go to OUT_DIR/parts/ (one per process), and shares come from
#             the pooled roofs, not from counters measured in the same process.
#   BUDGET    seconds the whole script may take (default 390 on the GPU, where
#             tools/gpu-check.sh gives the step 420; 0 = no limit, the CPU's default):
#             the peer gets what fcnrt left, less 20 s for the picture and the table, and
#             writes the case variants it had no time for as skipped
#   THREADS   CPU threads for both fcnrt (OMP_NUM_THREADS) and PyTorch (default: all cores)
#   FILTER    a regular expression on case names
#   PYTHON    the interpreter with torch (default: the first of python3, /usr/bin/python3
#             that imports it); PEER=0 skips the PyTorch peer
# The suite file is bench/kernel_suite.json of this checkout (passed with --suite to
# both). On a GPU machine whose CUDA toolkit lacks cuBLAS, the cuBLAS of PyTorch's
# nvidia-cublas wheel is put on LD_LIBRARY_PATH.
set -uo pipefail

usage() {
    echo "usage: bench/run_kernel_suite.sh BIN_DIR cpu|cuda OUT_DIR" >&2
    exit 2
}
[ $# -eq 3 ] || usage
bin_dir=$1 dev=$2 out=$3
case "$dev" in cpu | cuda) ;; *) usage ;; esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite="$here/bench/kernel_suite.json"
mkdir -p "$out" || exit 1
out="$(cd "$out" && pwd)"
log="$out/run-$dev.log"
: >"$log"

die() {
    echo "run_kernel_suite: error: $*" | tee -a "$log" >&2
    exit 1
}

bin=""
for b in "$bin_dir/bench/bench_${dev}_kernels" "$bin_dir/bench_${dev}_kernels"; do
    [ -x "$b" ] && bin="$b" && break
done
[ -n "$bin" ] || die "no bench_${dev}_kernels in $bin_dir or $bin_dir/bench"

reps=${REPS:-3}
rounds=${ROUNDS:-1}
interleave=${INTERLEAVE:-0}
if [ "$dev" = cpu ]; then
    min_time=${MIN_TIME:-0.5}
    threads=${THREADS:-$(nproc)}
    budget=${BUDGET:-0}
else
    min_time=${MIN_TIME:-0.1}
    threads=""
    budget=${BUDGET:-390}
fi

python=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then
        python=$p
        break
    fi
done
plain_python=$(command -v python3 || command -v /usr/bin/python3)

if [ "$dev" = cuda ] && ldd "$bin" | grep -q 'libcublas.*not found'; then
    if [ -n "$python" ]; then
        wheel=$("$python" -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
        if [ -n "$wheel" ] && [ -d "$wheel" ]; then
            export LD_LIBRARY_PATH="$wheel${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            echo "run_kernel_suite: cuBLAS from $wheel" | tee -a "$log"
        fi
    fi
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

step() { # step NAME CMD...: runs CMD, appends its output to the log
    echo "== $1: ${*:2}" | tee -a "$log"
    "${@:2}" 2>&1 | tee -a "$log"
    return "${PIPESTATUS[0]}"
}

peer_note=""
[ "${PEER:-1}" = 0 ] && peer_note="PyTorch peer skipped (PEER=0)."
[ -z "$peer_note" ] && [ -z "$python" ] && peer_note="PyTorch peer skipped: no Python with torch found."

# fcnrt JSON-FILE GB-FILTER: one bench_DEV_kernels run
run_fcnrt() {
    fcnrt_cmd=("$bin" "--suite=$suite" "--benchmark_filter=$2" "--benchmark_repetitions=$reps"
        "--benchmark_min_time=$min_time" "--benchmark_display_aggregates_only=true"
        "--benchmark_out=$1" "--benchmark_out_format=json")
    if [ "$dev" = cpu ]; then
        step fcnrt env OMP_NUM_THREADS="$threads" "${fcnrt_cmd[@]}" || die "bench_cpu_kernels failed"
    else
        step fcnrt "${fcnrt_cmd[@]}" || die "bench_cuda_kernels failed"
    fi
    grep -q '"benchmarks"' "$1" 2>/dev/null || die "no results in $1 (is there a usable device?)"
    jsons+=("$1")
}

# torch JSON-FILE ARGS...: one peer run (skipped, with a note, when there is no peer)
run_torch() {
    [ -n "$peer_note" ] && return 0
    local file=$1
    shift
    local limit=()
    if [ "$budget" -gt 0 ]; then
        local left=$((budget - SECONDS - 20))
        if [ "$left" -lt 30 ]; then
            peer_note="PyTorch peer skipped: BUDGET=$budget s spent by fcnrt."
            return 0
        fi
        limit=(--time-budget "$((left - 15))")  # its start-up and roofs come first
    fi
    peer_cmd=("$python" "$here/bench/torch_kernels_peer.py" --device "$dev" --suite "$suite"
        --repetitions "$reps" --min-time "$min_time" --out "$file" "${limit[@]}" "$@")
    [ "$dev" = cpu ] && peer_cmd+=(--threads "$threads")
    if step torch "${peer_cmd[@]}"; then
        jsons+=("$file")
    else
        peer_note="PyTorch peer failed: see run-$dev.log."
    fi
}

md="$out/kernel-suite-$dev.md"
jsons=() loads=() fcnrt_cmd=() peer_cmd=()
if [ "$interleave" = 1 ]; then
    # the cases, as bench_DEV_kernels registers them (the CPU subset on the CPU)
    mapfile -t cases < <("$bin" "--suite=$suite" --benchmark_list_tests |
        sed -n 's|^suite/\([^/]*\)/.*|\1|p' | grep -E "${FILTER:-.}")
    [ ${#cases[@]} -gt 0 ] || die "no suite cases to run"
    parts="$out/parts"
    mkdir -p "$parts" || die "cannot create $parts"
    for round in $(seq 1 "$rounds"); do
        loads+=("round $round start $(load)")
        run_fcnrt "$parts/fcnrt-$dev-r$round-roofs.json" '^roof/'
        run_torch "$parts/torch-$dev-r$round-roofs.json" --filter '^$'
        for c in "${cases[@]}"; do
            run_fcnrt "$parts/fcnrt-$dev-r$round-$c.json" "^suite/$c/"
            run_torch "$parts/torch-$dev-r$round-$c.json" --no-roofs --subset all --filter "^$c\$"
        done
        # the roofs again: on a shared machine a quiet spell may come at either end
        run_fcnrt "$parts/fcnrt-$dev-r$round-roofs-end.json" '^roof/'
        run_torch "$parts/torch-$dev-r$round-roofs-end.json" --filter '^$'
    done
    loads+=("end $(load)")
else
    filter_gb='^(roof|suite)/'
    filter_py=()
    if [ -n "${FILTER:-}" ]; then
        filter_gb="^roof/|^suite/.*(${FILTER})"
        filter_py=(--filter "$FILTER")
    fi
    for round in $(seq 1 "$rounds"); do
        suffix=""
        [ "$rounds" -gt 1 ] && suffix="-$round"
        loads+=("round $round start $(load)")
        run_fcnrt "$out/fcnrt-$dev$suffix.json" "$filter_gb"
        loads+=("after fcnrt $(load)")
        run_torch "$out/torch-$dev$suffix.json" "${filter_py[@]}"
    done
    loads+=("end $(load)")
fi

step roofline "$plain_python" "$here/bench/roofline.py" "${jsons[@]}" -o "$out/roofline-$dev.svg" ||
    echo "run_kernel_suite: roofline failed" | tee -a "$log"
if [ ! -f "$out/roofline-$dev.png" ] && [ -n "$python" ] && [ "$plain_python" != "$python" ]; then
    "$python" "$here/bench/roofline.py" "${jsons[@]}" -o "$out/roofline-$dev.svg" >>"$log" 2>&1
fi

{
    echo "# Kernel suite, $dev: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    if [ "$dev" = cpu ]; then
        echo "- Device: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, $threads threads"
    else
        echo "- Device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
    fi
    echo "- Commit: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$here" status --porcelain 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
    echo "- Load average (1, 5, 15 min): $(printf '%s; ' "${loads[@]}")"
    echo "- $reps repetitions a run, $rounds round(s)$([ "$interleave" = 1 ] && echo ', interleaved case by case'), min time $min_time s each; the tables give medians over all"
    [ -n "$peer_note" ] && echo "- $peer_note"
    echo
    echo 'Last commands (the suite filter and output file change per run):'
    echo
    echo '```sh'
    [ "$dev" = cpu ] && printf 'OMP_NUM_THREADS=%s ' "$threads"
    printf '%q ' "${fcnrt_cmd[@]}"
    echo
    [ ${#peer_cmd[@]} -gt 0 ] && printf '%q ' "${peer_cmd[@]}" && echo
    echo "python3 bench/roofline.py ... -o $out/roofline-$dev.svg"
    echo "python3 bench/compare_kernels.py ..."
    echo '```'
    echo
    per_round=()
    [ "$rounds" -gt 1 ] && per_round=(--per-round)
    "$plain_python" "$here/bench/compare_kernels.py" "${per_round[@]}" "${jsons[@]}"
} >"$md" 2>>"$log" || die "compare_kernels failed"
echo "run_kernel_suite: wrote $(cd "$out" && ls | tr '\n' ' ')" | tee -a "$log"
