#!/usr/bin/env bash
# tools/apt_wait.sh's apt_get against a stub apt-get: it waits (with one message)
# while the package lock is held, gives up after FCNRT_APT_WAIT, and fails at once
# on any other apt error. Needs bash and coreutils only; runs nothing as root.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcnrt_apt.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# The stub: locked for the first $LOCKED calls (all when "always"), then it
# succeeds, or fails with another error when $OTHER is set.
mkdir "$tmp/bin"
cat >"$tmp/bin/apt-get" <<'STUB'
#!/usr/bin/env bash
n=$(($(cat "$STUB_DIR/calls" 2>/dev/null || echo 0) + 1))
echo $n >"$STUB_DIR/calls"
if [[ -n "${OTHER:-}" ]]; then echo "E: Unable to locate package nosuch" >&2; exit 100; fi
if [[ $LOCKED == always || $n -le $LOCKED ]]; then
    echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
    exit 100
fi
echo "stub apt-get $*"
STUB
chmod +x "$tmp/bin/apt-get"

# run_apt_get: apt_get install -y pkg with the stub, polling every 0.05 s;
# stdout, stderr and status in $tmp/out, $tmp/err, $status; calls in $calls.
run_apt_get() {
    rm -f "$tmp/calls"
    (
        export PATH="$tmp/bin:$PATH" STUB_DIR=$tmp FCNRT_APT_POLL=0.05
        sudo_cmd=()
        source "$here/../tools/apt_wait.sh"
        apt_get install -y pkg
    ) >"$tmp/out" 2>"$tmp/err"
    status=$?
    calls=$(cat "$tmp/calls")
}

LOCKED=2 run_apt_get
if [[ $status -eq 0 && $calls -eq 3 && $(grep -c 'holds the package lock (held by process 4242 (apt-get)); waiting' "$tmp/out") -eq 1 ]] &&
    grep -q 'stub apt-get install -y pkg' "$tmp/out"; then
    pass "a held lock: one message, waits, then installs"
else fail "a held lock: one message, waits, then installs" "status $status, $calls calls; $(tr '\n' '|' <"$tmp/out")"; fi

LOCKED=always FCNRT_APT_WAIT=30 run_apt_get
if [[ $status -ne 0 && $calls -eq 4 ]] && grep -q 'Could not get lock' "$tmp/err"; then
    pass "a lock held too long: gives up after FCNRT_APT_WAIT with apt's error"
else fail "a lock held too long: gives up after FCNRT_APT_WAIT with apt's error" "status $status, $calls calls"; fi

OTHER=1 LOCKED=0 run_apt_get
if [[ $status -ne 0 && $calls -eq 1 ]] && grep -q 'Unable to locate package' "$tmp/err" && [[ ! -s "$tmp/out" ]]; then
    pass "another apt error: fails at once, no waiting"
else fail "another apt error: fails at once, no waiting" "status $status, $calls calls"; fi

echo "apt_wait: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
