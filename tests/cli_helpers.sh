# Shared by the command-line test scripts (cli_test.sh, segment_cli_test.sh),
# sourced after they set $FCNRT and $tmp and before their checks. The sourcing
# script defines partial_files (what counts as a leftover of a refused write).

passed=0
failed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# Runs fcnrt with the given arguments: stdout in $tmp/stdout, stderr in
# $tmp/stderr, the exit status in $rc. A hang counts as a failure (status 124).
rc=0
fcnrt() {
    timeout 120 "$FCNRT" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
}

# What went wrong with the last command, for a FAIL line.
last_output() {
    printf 'exit %s; stderr: %s' "$rc" "$(head -c 600 "$tmp/stderr" | tr '\n' '|')"
}

# check_error NAME TEXT [PATH...]: the last command failed cleanly: a non-zero
# status that is no signal, exactly one stderr line beginning `fcnrt: error:`
# and containing TEXT, every other stderr line a `fcnrt:` note (no crash
# report, no stray output), none of the PATHs existing and no partial file.
check_error() {
    local name=$1 text=$2
    shift 2
    local errors
    errors=$(grep -c '^fcnrt: error:' "$tmp/stderr")
    if [[ $rc -eq 0 ]]; then
        fail "$name" "exited 0; $(last_output)"
    elif [[ $rc -ge 124 ]]; then
        fail "$name" "crashed, hung or was killed; $(last_output)"
    elif [[ $errors -ne 1 ]]; then
        fail "$name" "expected one 'fcnrt: error:' line, got $errors; $(last_output)"
    elif grep -v '^fcnrt: ' "$tmp/stderr" | grep -q .; then
        fail "$name" "stderr has lines besides fcnrt's own; $(last_output)"
    elif ! grep '^fcnrt: error:' "$tmp/stderr" | grep -qF -- "$text"; then
        fail "$name" "the error line does not name '$text'; $(last_output)"
    else
        local p left=""
        for p in "$@"; do
            [[ -e "$p" ]] && left+=" $p"
        done
        left+=$(partial_files | tr '\n' ' ')
        if [[ -n "${left// /}" ]]; then
            fail "$name" "left files behind:$left"
        else
            pass "$name"
        fi
    fi
    rm -rf -- "$@"  # under $tmp; a directory left by mistake must not fail later checks too
    partial_files | xargs -r rm -f
}
