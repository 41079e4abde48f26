#!/usr/bin/env bash
# The installed C++ package, end to end: `cmake --install` of BUILD into a
# temporary prefix, examples/cpp_consumer configured (find_package(fcnrt)) and
# built against it, then run on the cell model's sample image. Its files must
# be byte for byte the installed `fcnrt segment`'s, and its labels from memory
# the same labels; a missing model must fail with fcnrt's one-line message.
# usage: package_consumer_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: package_consumer_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: package_consumer_test.sh SOURCE_DIR BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package_consumer_test: FAIL: $*" >&2; exit 1; }

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/fcnrt/fcnrt.h include/fcnrt/error.h bin/fcnrt; do
    [[ -e $prefix/$f ]] || fail "$f is not installed"
done
config=$(find "$prefix" -name fcnrtConfig.cmake)
[[ -n $config ]] || fail "fcnrtConfig.cmake is not installed"
[[ -e $(dirname "$config")/fcnrtConfigVersion.cmake ]] || fail "fcnrtConfigVersion.cmake is not installed"

cmake -S "$src/examples/cpp_consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null

model=$src/models/bsubtilis-patch31/dense.json
image=$src/models/bsubtilis-patch31/sample_cells.png
mkdir "$work/api"
"$work/consumer/segment_cells" "$model" "$image" "$work/api"
"$prefix/bin/fcnrt" segment "$model" "$image" -o "$work/cli" --device cpu --quiet
for f in sample_cells_labels.png sample_cells_mask.png; do
    cmp "$work/api/$f" "$work/cli/$f" || fail "$f differs from fcnrt segment's"
done
# The labels from memory, scored against the CLI's: every pixel agrees.
"$prefix/bin/fcnrt" eval "$work/api/sample_cells_memory_labels.pgm" \
    "$work/cli/sample_cells_labels.png" --json --quiet >"$work/eval.json"
grep -q '"pixel_accuracy":1.0' "$work/eval.json" || fail "labels from memory differ: $(cat "$work/eval.json")"

status=0
message=$("$work/consumer/segment_cells" "$work/missing.json" "$image" "$work/api" 2>&1) || status=$?
[[ $status == 1 ]] || fail "a missing model exited with $status, not 1"
expected=$("$prefix/bin/fcnrt" segment "$work/missing.json" "$image" -o "$work/cli" 2>&1 | sed 's/^fcnrt: error: //' || true)
[[ $message == "segment_cells: error: $expected" ]] ||
    fail "a missing model said '$message', fcnrt segment '$expected'"
echo "package_consumer_test: installed package, consumer and CLI agree"
