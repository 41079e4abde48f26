#!/usr/bin/env bash
# Runs the Python module's pytest suite in VENV, comparing with the command
# line FCNRT_CLI. Exits 77 (ctest: skipped) with the reason when the module
# could not be installed (tests/python/install_module.sh).
# usage: run_pytest.sh VENV TESTS_DIR FCNRT_CLI SOURCE_DIR [PYTEST_ARGS...]
set -uo pipefail
venv=$(realpath "$1") tests=$2 cli=$(realpath "$3") src=$(realpath "$4")
shift 4
if [[ -f $venv/fcnrt-module-skip-reason ]]; then
    echo "skipped: $(cat "$venv/fcnrt-module-skip-reason")"
    exit 77
fi
"$venv/bin/python" -c "import fcnrt, pytest" 2>/dev/null || {
    echo "skipped: the fcnrt module or pytest is not installed in $venv"
    exit 77
}
cd "$tests" && FCNRT_CLI=$cli FCNRT_SOURCE_DIR=$src exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .
