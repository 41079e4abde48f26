# Sourced by tools/setup.sh (and tests/apt_wait_test.sh): apt_get, which runs
# apt-get as root (the caller's sudo_cmd array: empty for root, or (sudo)) and
# waits while another apt or dpkg process holds the package lock.
# FCNRT_APT_WAIT: seconds to wait at most (default 1800); FCNRT_APT_POLL: the
# seconds between tries (default 10; the waiting time counts each as 10).

# apt-get ARGS..., waiting while another apt or dpkg process (an unattended
# upgrade, another install) holds the package lock, instead of failing at once
# with exit status 100. Gives up after FCNRT_APT_WAIT seconds (default 1800).
apt_get() {
    local err waited=0 limit=${FCNRT_APT_WAIT:-1800} poll=${FCNRT_APT_POLL:-10}
    err=$(mktemp)
    until "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" 2>"$err"; do
        if ! grep -qiE 'could not get lock|unable to acquire the dpkg frontend lock|unable to lock' "$err" ||
            ((waited >= limit)); then
            cat "$err" >&2
            rm -f "$err"
            return 1
        fi
        if ((waited == 0)); then
            local holder
            holder=$(grep -oiE 'held by process [0-9]+( \([^)]*\))?' "$err" | head -1 || true)
            echo "fcnrt setup: another apt or dpkg process holds the package lock${holder:+ ($holder)};" \
                 "waiting for it to finish..."
        elif ((waited % 60 == 0)); then
            echo "fcnrt setup: still waiting for the package lock ($((waited / 60)) min; gives up after $((limit / 60)) min)"
        fi
        sleep "$poll"
        waited=$((waited + 10))
    done
    cat "$err" >&2
    rm -f "$err"
}

