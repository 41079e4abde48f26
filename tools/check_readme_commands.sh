#!/usr/bin/env bash
# Runs the commands that README.md and the model READMEs show, as written, in a
# fresh copy of the repository (the files git tracks, nothing else) whose
# build/fcnrt is the fcnrt under test, and fails when one does not work.
#
# Commands: every line of a ```sh block (a trailing \ joins the next line) in
# README.md, models/zoo/README.md and models/bsubtilis-patch31/README.md, and
# the inline `code` of README.md that is a whole command (starts with fcnrt,
# build/fcnrt, tools/, cmake, ctest or python3, with arguments). A synopsis (placeholders such
# as MODEL, [--option], ...) is not a command. Some are not run, each with its
# reason printed: the test run itself, builds, PyTorch scripts, the GPU
# machine's, and the slow or huge ones. tools/demo.sh runs with tools/setup.sh
# replaced by a stub, since the build under test is already made. Commands that
# read ../shared/data run when that folder exists beside the repository.
#
# usage: tools/check_readme_commands.sh FCNRT   (about a minute on 2 cores)
set -uo pipefail
fcnrt_bin=${1:?usage: check_readme_commands.sh FCNRT}
fcnrt_bin=$(cd "$(dirname "$fcnrt_bin")" && pwd)/$(basename "$fcnrt_bin")
src=$(cd "$(dirname "$0")/.." && pwd)
if ! git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "skipped: $src is not a git checkout (the fresh copy is made of the files git tracks)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcnrt_readme.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# The fresh copy: tracked files as they are now (uncommitted edits included).
repo=$tmp/repo
mkdir -p "$repo/build"
(cd "$src" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$repo" || exit 2
[[ -d "$src/../shared" ]] && ln -s "$src/../shared" "$tmp/shared"
ln -s "$fcnrt_bin" "$repo/build/fcnrt"
mkdir -p "$tmp/bin" && ln -s "$fcnrt_bin" "$tmp/bin/fcnrt"  # a bare `fcnrt` too
printf '#!/usr/bin/env bash\n# stub: the build under test is already made\n[[ "$*" == fcnrt ]] || { echo "setup stub: unexpected targets: $*" >&2; exit 1; }\n' \
    >"$repo/tools/setup.sh"

# The commands, one a line, as "FILE: COMMAND".
commands() {
    local f
    for f in README.md models/zoo/README.md models/bsubtilis-patch31/README.md; do
        awk -v file="$f" '
            /^```sh/ { block = 1; next }
            /^```/   { block = 0; next }
            block {
                line = line $0
                if (line ~ /\\$/) { sub(/\\$/, "", line); next }
                gsub(/[ \t]+/, " ", line)
                if (line != "" && line != " ") print file ": " line
                line = ""
            }' "$src/$f"
    done
    # Inline: a program with arguments; `fcnrt info` alone names a command in prose.
    grep -o '`[^`]*`' "$src/README.md" | tr -d '`' |
        grep -E '^((build/)?fcnrt [a-z-]+|cmake|ctest|(/usr/bin/)?python3|tools/[^ ]+)( [^ ]+)+$' |
        sed 's/^/README.md (inline): /'
}

# Why COMMAND is not run, or nothing when it is.
not_run_because() {
    local c=$1 t
    for t in $c; do
        [[ $t == '#' ]] && break
        if [[ $t == \[* || $t == *...* || ($t =~ ^[A-Z][A-Z0-9_|.=,]+$ && $t != *=*) ]]; then
            echo "a synopsis (placeholder '$t'), not a command"; return
        fi
    done
    case $c in
        *tools/test.sh* | ctest\ *) echo "the test run that this check is part of" ;;
        *check_readme_commands.sh*) echo "this check itself" ;;
        cmake\ *) echo "a build: the fcnrt under test is the one tools/test.sh built" ;;
        *python3\ *) echo "a maintainer's Python script (PyTorch, or it rewrites committed files)" ;;
        *gpu-check.sh*) echo "for the GPU machine (needs nvcc and a GPU)" ;;
        *'models/zoo/*.arch.json'*) echo "writes 1.4 GB; the U-Net line of models/zoo/README.md is run" ;;
        *'--size 256x256 --profile'*) echo "minutes on a CPU (the whole cell model, profiled)" ;;
        *../shared/data*) [[ -d "$tmp/shared/data/bsubtilis" ]] || echo "no ../shared/data/bsubtilis here" ;;
    esac
}

run=0 failed=0 skipped=0
while IFS= read -r entry; do
    file=${entry%%: *}
    cmd=${entry#*: }
    why=$(not_run_because "$cmd")
    if [[ -n $why ]]; then
        echo "skip $file: $cmd  -- $why"
        skipped=$((skipped + 1))
        continue
    fi
    run=$((run + 1))
    if (cd "$repo" && PATH="$tmp/bin:$PATH" timeout 300 bash -c "$cmd") >"$tmp/out" 2>&1; then
        # The held-out table of the cell model must come out as its README states it.
        if [[ $cmd == *"fcnrt eval"* && $cmd == *phase_027* ]] &&
            ! { grep -q '^mean IoU  *0.7306$' "$tmp/out" && grep -q '^pixel accuracy  *0.9059$' "$tmp/out"; }; then
            echo "FAIL $file: $cmd  -- not the README's mean IoU 0.7306 and pixel accuracy 0.9059:"
            sed 's/^/    /' "$tmp/out" | head -20
            failed=$((failed + 1))
        else
            echo "ok   $file: $cmd"
        fi
    else
        echo "FAIL $file: $cmd  -- exit $?:"
        tail -n 15 "$tmp/out" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done < <(commands)
echo "readme commands: $run run, $failed failed, $skipped not run (reasons above)"
[[ $failed -eq 0 && $run -gt 0 ]]
