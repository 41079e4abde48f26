#!/usr/bin/env bash
# Installs the Python module `fcnrt` from the repository SOURCE into VENV (the
# build folder's virtual environment, made here with the system's python3 when
# missing), with pytest; nothing goes into the user's own Python. The CMake
# build lives in BUILD/python-build and is reused by later runs. Configured like
# BUILD (the CUDA emulation when BUILD has it), with ccache when installed.
# Ray is installed too (the Ray test skips without it).
# Without python3-venv or the network (PyPI) it says why and exits 0: the tests
# that need the module then skip (tests/python/run_pytest.sh).
# usage: install_module.sh SOURCE BUILD VENV
set -uo pipefail
src=${1:?usage: install_module.sh SOURCE BUILD VENV}
build=${2:?usage: install_module.sh SOURCE BUILD VENV}
venv=${3:?usage: install_module.sh SOURCE BUILD VENV}
python=$venv/bin/python
marker=$venv/fcnrt-module-skip-reason

skip() {
    echo "install_module: $1; the Python module's tests will be skipped" >&2
    mkdir -p "$venv" && echo "$1" >"$marker"
    exit 0
}
rm -f "$marker"

if [[ ! -x $python ]]; then
    base=$(command -v python3 || true)
    [[ -n $base ]] || skip "no python3 to make a virtual environment with"
    "$base" -m venv "$venv" || skip "cannot make a virtual environment in $venv (Debian: apt-get install python3-venv)"
fi
pip=("$python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet scikit-build-core pybind11 numpy pytest ||
    skip "pip install scikit-build-core pybind11 numpy pytest into $venv failed (no network?)"

emulation=OFF
grep -q '^FCNRT_CUDA_EMULATION:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && emulation=ON
# Every core (Ninja does so anyway; make would build one file at a time).
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
fi
# --no-build-isolation: the build uses the venv's scikit-build-core and pybind11
# just installed, rather than fetching them again into a throwaway environment.
echo "install_module: pip install $src into $venv (CMake build in $build/python-build)"
"${pip[@]}" install --quiet --no-build-isolation --no-deps \
    -Cbuild-dir="$build/python-build" -Ccmake.define.FCNRT_CUDA_EMULATION=$emulation "$src" ||
    { echo "install_module: building the module failed" >&2; exit 1; }
"$python" -c "import fcnrt; print('install_module: fcnrt', fcnrt.__version__, 'from', fcnrt.__file__)" || exit 1
# Ray, for python/tests/test_ray.py only (it skips without): a large download, once.
"$python" -c "import ray" 2>/dev/null || "${pip[@]}" install --quiet ray ||
    echo "install_module: pip install ray failed; the Ray test will be skipped" >&2
