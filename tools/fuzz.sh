#!/usr/bin/env bash
# Fuzzes fcnrt's readers of untrusted files with libFuzzer under ASan and
# UBSan: tools/fuzz.sh [SECONDS [TARGET...]]
#
# Builds the targets of tests/fuzz (fuzz_NAME) with clang in their own build
# folder (FCNRT_FUZZ_BUILD_DIR, default build-fuzz; -DFCNRT_FUZZ=ON instruments
# the whole engine), then runs each target for SECONDS (default 60) on a
# corpus kept in that folder (fuzz-corpus/NAME, grown run after run) seeded
# from tests/fuzz/seeds/NAME, tests/fuzz/regression/NAME and the repository
# files listed in tests/fuzz/repo_seeds.txt. Prints one line per target:
# executions, executions per second, corpus size and findings. A finding (a
# crash, a sanitizer report, a leak, a timeout of 10 s or more than 2 GiB of
# memory for one input) is saved under fuzz-findings/NAME/ and makes the
# script exit 1; copy the input into tests/fuzz/regression/NAME/ once fixed.
#
# Needs Debian's clang and libclang-rt-dev (tools/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
all_targets=(safetensors npy graph_json weights onnx image cli_args)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
build_dir=${FCNRT_FUZZ_BUILD_DIR:-build-fuzz}

for tool in clang clang++; do
    command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
done
# -O1 -g: libFuzzer's recommendation, and a build about half as long as -O2's.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFCNRT_FUZZ=ON \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DFCNRT_WITH_CUDA=OFF -DFCNRT_BUILD_BENCH=OFF -DFCNRT_BUILD_TESTS=ON >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build_dir" -j"$(nproc)" --target "${build_targets[@]}" >"$build_dir/fuzz-build.log" 2>&1 ||
    { tail -30 "$build_dir/fuzz-build.log" >&2; exit 2; }

# One thread per run: fuzzing wants executions, not parallel kernels.
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

found=0
for t in "${targets[@]}"; do
    corpus="$build_dir/fuzz-corpus/$t"
    seeds="$build_dir/fuzz-seeds/$t"
    findings="$build_dir/fuzz-findings/$t"
    mkdir -p "$corpus" "$seeds" "$findings"
    # The repository's own files as seeds (copied: libFuzzer takes folders).
    while read -r target pattern; do
        [[ $target == "$t" ]] || continue
        for f in $pattern; do
            [[ -f $f ]] && cp "$f" "$seeds/$(echo "$f" | tr / _)"
        done
    done < <(grep -E '^[a-z_]+ ' tests/fuzz/repo_seeds.txt)
    dirs=("$corpus" "$seeds")
    for d in tests/fuzz/seeds/$t tests/fuzz/regression/$t; do [[ -d $d ]] && dirs+=("$d"); done

    log="$build_dir/fuzz-$t.log"
    started=$SECONDS
    touch "$findings/.started"  # findings of earlier runs are not this run's
    set +e
    "$build_dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/" "${dirs[@]}" >"$log" 2>&1
    status=$?
    set -e
    elapsed=$((SECONDS - started))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    files=$(find "$corpus" -type f | wc -l)
    crashes=$(find "$findings" -type f -newer "$findings/.started" | wc -l)
    echo "fuzz $t: ${execs:-0} executions in ${elapsed} s (${rate:-0}/s), corpus $files files, findings $crashes (exit $status)"
    if ((status != 0 || crashes > 0)); then
        found=1
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -8 >&2
        echo "fuzz $t: log in $log" >&2
    fi
done
exit $found
