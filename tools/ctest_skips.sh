#!/usr/bin/env bash
# Lists the tests of the last ctest run in BUILD_DIR that were skipped, each
# with the reason it printed (GoogleTest's GTEST_SKIP() message, the lines
# between "Skipped" and "[  SKIPPED ]"), tests of one reason grouped on one
# line. ctest itself shows only "(Skipped)"; this reads its log,
# BUILD_DIR/Testing/Temporary/LastTest.log. Run by tools/test.sh after ctest.
# Usage: tools/ctest_skips.sh [BUILD_DIR]   (default: build)
set -euo pipefail
log=${1:-build}/Testing/Temporary/LastTest.log
[[ -f "$log" ]] || { echo "ctest_skips: no $log (run ctest first)" >&2; exit 2; }

awk '
    function flush() {
        if (name != "" && skipped) {
            r = (reason == "" ? "(the test printed no reason)" : reason)
            if (!(r in count)) order[++n] = r
            count[r]++
            if (count[r] <= 3) names[r] = names[r] (count[r] > 1 ? ", " : "") name
        }
        name = ""; reason = ""; skipped = 0; grab = 0
    }
    /^[0-9]+\/[0-9]+ Test: / {
        flush()
        name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); sub(/  # .*$/, "", name)
        next
    }
    grab && /^\[  SKIPPED \]/ { grab = 0; next }
    grab { reason = reason (reason == "" ? "" : " ") $0; next }
    /: Skipped$/ && name != "" { grab = 1; next }
    /^skipped: / && name != "" { reason = substr($0, 10) }  # a script test saying why
    /^Skip regular expression found in output/ { skipped = 1 }
    END {
        flush()
        total = 0
        for (i = 1; i <= n; ++i) total += count[order[i]]
        if (total == 0) { print "skipped tests: none"; exit }
        print "skipped tests: " total ", by reason:"
        for (i = 1; i <= n; ++i) {
            r = order[i]
            more = count[r] > 3 ? ", ..." : ""
            printf "  %d x %s\n      (%s%s)\n", count[r], r, names[r], more
        }
    }
' "$log"
