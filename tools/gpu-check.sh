#!/usr/bin/env bash
# gpu-check.sh: build here, check on a lent GPU machine (H100/H200, sm_90).
#
# The GPU machine gets a copy of the repository (tracked and untracked-not-ignored
# files, plus the ignored paths the call carries), has no network and no -dev
# packages, runs commands as root, and returns only what is written under $OUT (at
# most 8 files, 2 folders deep). So everything is built here and carried in .device/
# (git-ignored) as one compressed bundle, and the run writes under $OUT at most:
# summary.md, logs.tar.gz (every log, gtest XML and raw benchmark JSON),
# kernel-suite-cuda.md, roofline-cuda.png, models-cuda.md and models-cuda.json.
#
# Usage
#   1. Here (no GPU needed):
#        tools/gpu-check.sh pack
#      configures and builds build-sm90 (-DFCNRT_WITH_CUDA=ON
#      -DCMAKE_CUDA_ARCHITECTURES=90 -DFCNRT_BUILD_BENCH=ON; JOBS=N for -jN,
#      default 2; FCNRT_BUILD_DIR=DIR to build elsewhere), then fills .device/
#      with the test binaries, fcnrt, the benchmark binaries and the shared
#      libraries they need that the GPU machine may lack (gomp, libstdc++,
#      cudart...), as .device/bundle.tar.gz. It prints the size of .device/ (the carried tree must stay under 64 MiB).
#   2. On the GPU machine, through the device tool's run, carrying .device:
#        run(command="tools/gpu-check.sh run", carry=[".device"])
#      or one step per call when the 10-minute limit is tight (it is, for all):
#        tools/gpu-check.sh run tests | sanitize | bench | precisions | models | all
#      (default all)
#      tests: nvidia-smi, every test binary (gtest XML), the two CLI end-to-end
#        scripts;
#      sanitize: compute-sanitizer memcheck/racecheck/initcheck/synccheck over
#        test_kernels_cuda (each with --error-exitcode);
#      bench: every CUDA kernel entry point (Google Benchmark JSON), then the
#        kernel suite with its roofs, the PyTorch peer, the roofline and the
#        comparison table (bench/run_kernel_suite.sh);
#      precisions: fcnrt bench --precision fp32|tf32|bf16|fp16 on U-Net and the
#        cell model, and tools/precision_report.py (accuracy of each precision);
#      models: whole models, fcnrt bench against PyTorch with cuDNN
#        (bench/compare_models.py; the zoo is generated there with torch).
#      All within BUDGET seconds (default 540; a step that no longer fits is
#      recorded as skipped); writes $OUT/summary.md. The exit status is 0 only if
#      every step that ran passed. Copy the results into bench/results/ here.
#
# The tests find tests/golden through $FCNRT_SOURCE_DIR, which `run` sets to the
# repository copy it runs in; the path compiled into them is linked there too.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here" || exit 1

build_dir=${FCNRT_BUILD_DIR:-build-sm90}
pack_dir=.device

die() {
    echo "gpu-check: error: $*" >&2
    exit 1
}

# Libraries the GPU machine has (the C library family and the NVIDIA driver) or
# must come from its own driver; everything else that ldd resolves is carried.
system_lib() {
    case "$(basename "$1")" in
        libc.so* | libm.so* | libmvec.so* | libpthread.so* | libdl.so* | librt.so* | \
            ld-linux*.so* | libresolv.so* | libcuda.so* | libnvidia-*.so*) return 0 ;;
    esac
    return 1
}

pack() {
    command -v cmake >/dev/null || die "cmake not found"
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFCNRT_WITH_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DFCNRT_BUILD_BENCH=ON -DFCNRT_BUILD_TESTS=ON ||
        die "configure failed"
    cmake --build "$build_dir" -j"${JOBS:-2}" || die "build failed"

    # Everything goes into one compressed bundle: the carried tree must stay
    # under 64 MiB.
    rm -rf "$pack_dir"
    local stage="$pack_dir/stage"
    mkdir -p "$stage/bin" "$stage/lib" || die "cannot create $pack_dir"
    local bins=()
    [ -x "$build_dir/fcnrt" ] && bins+=("$build_dir/fcnrt")
    local f
    for f in "$build_dir"/tests/test_* "$build_dir"/bench/bench_*; do
        [ -f "$f" ] && [ -x "$f" ] && bins+=("$f")
    done
    [ ${#bins[@]} -gt 0 ] || die "no binaries found in $build_dir"
    for f in "${bins[@]}"; do
        cp "$f" "$stage/bin/" || die "cannot copy $f"
        strip --strip-debug "$stage/bin/$(basename "$f")" 2>/dev/null || true
    done

    # Shared libraries: every one ldd resolves, except the system's own. CUDA
    # toolkit libraries over 16 MiB (cuBLAS, should anything link it) are left to
    # the GPU machine's toolkit and listed in expected-libs.txt.
    : >"$stage/expected-libs.txt"
    local lib
    for f in "$stage"/bin/*; do
        ldd "$f" | awk '/=> \// { print $3 }'
    done | sort -u | while read -r lib; do
        system_lib "$lib" && continue
        case "$lib" in
            /usr/local/cuda*)
                if [ "$(stat -L -c %s "$lib")" -gt $((16 * 1024 * 1024)) ]; then
                    basename "$lib" >>"$stage/expected-libs.txt"
                    continue
                fi
                ;;
        esac
        cp -L "$lib" "$stage/lib/" || die "cannot copy $lib"
    done

    # Where the binaries look for tests/golden (FCNRT_SOURCE_DIR at build time).
    grep -m1 '^CMAKE_HOME_DIRECTORY:' "$build_dir/CMakeCache.txt" | cut -d= -f2- \
        >"$stage/source-dir.txt"
    git rev-parse HEAD >"$stage/commit.txt" 2>/dev/null || true
    git status --short >"$stage/worktree-status.txt" 2>/dev/null || true

    local nbin nlib
    nbin=$(find "$stage/bin" -type f | wc -l)
    nlib=$(find "$stage/lib" -type f | wc -l)
    tar -czf "$pack_dir/bundle.tar.gz" -C "$stage" . || die "cannot write the bundle"
    rm -rf "$stage"
    echo "gpu-check: packed $nbin binaries and $nlib libraries into $pack_dir/bundle.tar.gz" \
        "($(du -sh "$pack_dir" | cut -f1))"
    local expected
    expected=$(tar -xzOf "$pack_dir/bundle.tar.gz" ./expected-libs.txt | tr '\n' ' ')
    [ -n "${expected// /}" ] && echo "gpu-check: left to the GPU machine's CUDA toolkit: $expected"
    local kib
    kib=$(du -sk "$pack_dir" | cut -f1)
    [ "$kib" -gt $((48 * 1024)) ] &&
        echo "gpu-check: warning: $pack_dir is over 48 MiB; the carried tree must stay under 64 MiB" >&2
    echo "gpu-check: next, on the GPU machine: tools/gpu-check.sh run   (carry .device)"
}

# ---- run (on the GPU machine) ----

summary=""
failures=0
deadline=0

note() { summary+="$*"$'\n'; }

# Seconds left before the budget runs out.
left() { echo $((deadline - SECONDS)); }

# gtest's counts from a log: "passed/failed/skipped".
gtest_counts() {
    local log=$1 passed failed skipped
    passed=$(grep -m1 -oP '\[  PASSED  \] \K[0-9]+' "$log" || echo 0)
    failed=$(grep -m1 -oP '\[  FAILED  \] \K[0-9]+(?= tests?, listed)' "$log" || echo 0)
    skipped=$(grep -m1 -oP '\[  SKIPPED \] \K[0-9]+(?= tests?, listed)' "$log" || echo 0)
    echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
}

# run_step NAME LIMIT LOG CMD...: runs CMD under min(LIMIT, time left), records a row.
run_step() {
    local name=$1 limit=$2 log=$3
    shift 3
    local remaining
    remaining=$(left)
    if [ "$remaining" -lt 20 ]; then
        note "| $name | skipped (out of time) | | |"
        return 0
    fi
    [ "$limit" -gt "$remaining" ] && limit=$remaining
    local start=$SECONDS rc
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    local took=$((SECONDS - start)) status=ok detail=""
    [ $rc -ne 0 ] && status="FAILED (exit $rc)" && failures=$((failures + 1))
    [ $rc -eq 124 ] && status="FAILED (timed out after ${limit}s)"
    grep -q '\[==========\]' "$log" && detail=$(gtest_counts "$log")
    grep -q 'ERROR SUMMARY' "$log" && detail="$detail $(grep -m1 'ERROR SUMMARY' "$log" | sed 's/^=* *//')"
    note "| $name | $status | ${took}s | $detail |"
    if [ $rc -ne 0 ]; then
        failed_logs+=("$log")
    fi
    return 0
}

run() {
    local steps=${1:-all}
    case "$steps" in tests | sanitize | bench | precisions | models | all) ;; *) die "unknown step '$steps' (tests, sanitize, bench, precisions, models or all)" ;; esac
    [ -f "$pack_dir/bundle.tar.gz" ] ||
        die "$pack_dir/bundle.tar.gz is missing: run 'tools/gpu-check.sh pack' here first and carry .device"
    local out=${OUT:-$here/gpu-check-out}
    mkdir -p "$out" || die "cannot create $out"
    local work dev
    work=$(mktemp -d) || die "mktemp failed"
    dev=$(mktemp -d) || die "mktemp failed"
    tar -xzf "$pack_dir/bundle.tar.gz" -C "$dev" || die "cannot unpack the bundle"
    deadline=$((SECONDS + ${BUDGET:-540}))
    failed_logs=()

    export LD_LIBRARY_PATH="$dev/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export PATH="$PATH:/usr/local/cuda/bin"

    # Tests read tests/golden through FCNRT_SOURCE_DIR; tests that use only the
    # compiled-in path get a link from that path to this copy.
    export FCNRT_SOURCE_DIR="$here"
    local src
    src=$(cat "$dev/source-dir.txt" 2>/dev/null)
    if [ -n "$src" ] && [ "$src" != "$here" ] && [ ! -e "$src" ]; then
        mkdir -p "$(dirname "$src")" && ln -s "$here" "$src" ||
            echo "gpu-check: warning: cannot link $src to $here; golden tests will fail" >&2
    fi

    note "# gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    note ""
    note "Commit $(cat "$dev/commit.txt" 2>/dev/null || echo unknown), steps: $steps, budget ${BUDGET:-540}s."
    note ""
    note '```'
    note "$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -5)"
    note '```'
    nvidia-smi >"$work/nvidia-smi.txt" 2>&1
    local missing
    missing=$(for f in "$dev"/bin/*; do ldd "$f" | grep 'not found'; done | sort -u)
    if [ -n "$missing" ]; then
        note "Unresolved libraries: $(echo "$missing" | tr '\n' ' ')"
        failures=$((failures + 1))
    fi
    note ""
    note "| step | status | time | detail |"
    note "| --- | --- | --- | --- |"

    local bin name
    if [ "$steps" = tests ] || [ "$steps" = all ]; then
        # The CUDA tests first: they are why a GPU was lent.
        for bin in "$dev"/bin/test_*cuda* "$dev"/bin/test_*; do
            [ -x "$bin" ] || continue
            name=$(basename "$bin")
            [ -e "$work/$name.log" ] && continue
            run_step "$name" 240 "$work/$name.log" "$bin" --gtest_output="xml:$work/$name.xml"
            # On the GPU machine a skipped CUDA test means the GPU was not usable.
            if [[ "$name" == *cuda* ]] && grep -q '^\[  SKIPPED \]' "$work/$name.log"; then
                note "| $name | FAILED (CUDA tests skipped on the GPU machine: $(grep -m1 -o 'no usable CUDA device.*' "$work/$name.log")) | | |"
                failures=$((failures + 1))
                failed_logs+=("$work/$name.log")
            fi
        done
        if [ -x "$dev/bin/fcnrt" ] && [ -f tests/cli_test.sh ]; then
            run_step cli_end_to_end 120 "$work/cli_end_to_end.log" \
                env FCNRT="$dev/bin/fcnrt" bash tests/cli_test.sh
            run_step segment_cli_end_to_end 120 "$work/segment_cli_end_to_end.log" \
                env FCNRT="$dev/bin/fcnrt" bash tests/segment_cli_test.sh
        fi
    fi

    if [ "$steps" = sanitize ] || [ "$steps" = all ]; then
        local sanitizer tool
        sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
        if [ ! -x "$sanitizer" ] || [ ! -x "$dev/bin/test_kernels_cuda" ]; then
            note "| compute-sanitizer | FAILED (no compute-sanitizer or test_kernels_cuda) | | |"
            failures=$((failures + 1))
        else
            # Deterministic repeats every case: left out, it doubles the time for nothing.
            for tool in memcheck racecheck initcheck synccheck; do
                run_step "sanitizer $tool" 180 "$work/sanitizer-$tool.log" \
                    "$sanitizer" --tool "$tool" --error-exitcode 99 \
                    "$dev/bin/test_kernels_cuda" --gtest_filter='-*Deterministic*'
                [ -x "$dev/bin/test_conv_tensor_core_cuda" ] &&
                    run_step "sanitizer $tool (tensor-core conv)" 120 \
                        "$work/sanitizer-$tool-tensor-core.log" \
                        "$sanitizer" --tool "$tool" --error-exitcode 99 \
                        "$dev/bin/test_conv_tensor_core_cuda"
            done
        fi
    fi

    if [ "$steps" = bench ] || [ "$steps" = all ]; then
        # Every CUDA kernel entry point, then the kernel suite with its roofs (device
        # copy bandwidth, cuBLAS SGEMM), the PyTorch peer, the roofline and the table.
        for bin in "$dev"/bin/bench_*cuda*; do
            [ -x "$bin" ] || continue
            name=$(basename "$bin")
            # The suite's conv and conv_transpose cases at each tensor-core format
            # ("suite-<precision>/...") run here, not in the suite's PyTorch comparison.
            run_step "$name (every kernel)" 400 "$work/$name.log" "$bin" \
                '--benchmark_filter=-^(suite|roof)/' --precisions=fp32,tf32,bf16,fp16 \
                --benchmark_format=json \
                --benchmark_out="$work/$name-all.json" --benchmark_out_format=json
        done
        run_step "kernel suite vs PyTorch" 420 "$work/kernel-suite.log" \
            bash bench/run_kernel_suite.sh "$dev/bin" cuda "$work/suite"
        local f
        for f in "$work"/suite/kernel-suite-cuda.md "$work"/suite/roofline-cuda.png; do
            [ -f "$f" ] && cp "$f" "$out/"
        done
    fi

    if [ "$steps" = precisions ] || [ "$steps" = all ]; then
        # fcnrt bench once per --precision on two whole models (U-Net at its canonical
        # size, the cell model on its 1040x1392 example size), then each precision's
        # accuracy against the float64 reference (tools/precision_report.py, small sizes).
        local p m
        run_step "zoo U-Net weights" 120 "$work/precision-zoo.log" \
            "$dev/bin/fcnrt" zoo models/zoo/unet.arch.json -o "$work/pzoo" --quiet
        for p in fp32 tf32 bf16 fp16; do
            for m in "$work/pzoo/unet.json:572x572" "models/bsubtilis-patch31/dense.json:1070x1422"; do
                run_step "bench $(basename "${m%%:*}") ${m##*:} --precision $p" 60 \
                    "$work/bench-$p-$(basename "${m%%:*}" .json).json" \
                    "$dev/bin/fcnrt" bench "${m%%:*}" --size "${m##*:}" --device cuda \
                    --precision "$p" --iterations 20 --json --quiet
                note "|   median compute $(grep -o '"compute_ms":{[^}]*' \
                    "$work/bench-$p-$(basename "${m%%:*}" .json).json" |
                    grep -o '"median":[0-9.e+-]*' | head -1) ms | | | |"
            done
        done
        rm -rf "$work/pzoo"
        run_step "precision report (accuracy)" 240 "$work/precision-report.md" \
            python3 tools/precision_report.py --fcnrt "$dev/bin/fcnrt" --crop 0
    fi

    if [ "$steps" = models ] || [ "$steps" = all ]; then
        # Whole models against PyTorch (cuDNN; NCHW and channels_last, TF32 off and on).
        run_step "models vs PyTorch" 540 "$work/models.log" \
            python3 bench/compare_models.py --fcnrt "$dev/bin/fcnrt" --device cuda \
            --zoo "$work/zoo" --out-dir "$work/models" --results "$work/models/models-cuda.md"
        for f in "$work"/models/models-cuda.md "$work"/models/models-cuda.json; do
            [ -f "$f" ] && cp "$f" "$out/"
        done
        rm -rf "$work/zoo"  # 1.4 GB of generated weights: not for the logs
    fi

    note ""
    note "Failures: $failures."
    local log
    for log in "${failed_logs[@]}"; do
        note ""
        note "## $(basename "$log") (last 40 lines)"
        note '```'
        note "$(tail -n 40 "$log")"
        note '```'
    done
    printf '%s' "$summary" >"$out/summary.md"
    tar -czf "$out/logs.tar.gz" -C "$work" . 2>/dev/null
    rm -rf "$work" "$dev"
    cat "$out/summary.md"
    [ "$failures" -eq 0 ]
}

case "${1:-}" in
    pack) pack ;;
    run) shift && run "$@" ;;
    *)
        echo "usage: tools/gpu-check.sh pack            (here: build build-sm90, fill .device/)" >&2
        echo "       tools/gpu-check.sh run [STEP]      (GPU machine: STEP = tests|sanitize|bench|precisions|models|all)" >&2
        exit 2
        ;;
esac
