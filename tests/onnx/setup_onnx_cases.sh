#!/usr/bin/env bash
# Collects the ONNX backend node test cases for the ops fcnrt imports into DEST
# (a build folder, not git): DEST/<case>/model.onnx and test_data_set_0/*.pb,
# copied from the `onnx` Python package. Runs as a ctest FIXTURES_SETUP step.
#
# The package comes from a virtual environment inside the build folder, VENV
# (default: DEST's folder/python-venv), made here on first use with the
# system's python3 (`-m venv`, Debian's python3-venv) and filled by pip with
# onnx and numpy: nothing is installed into the user's own Python. A Python
# that already has onnx can be named with FCNRT_PYTHON instead (it is used as
# is, never installed into). Without python3-venv or the network it leaves DEST
# absent and exits 0, so tests/test_onnx_node_cases.cpp skips with the reason.
# Usage: setup_onnx_cases.sh DEST [VENV]
set -uo pipefail
dest=${1:?usage: setup_onnx_cases.sh DEST [VENV]}
venv=${2:-$(dirname "$dest")/python-venv}

skip() {
    echo "setup_onnx_cases: $1; the ONNX node cases will be skipped" >&2
    rm -rf "$dest"
    exit 0
}

if [[ -n "${FCNRT_PYTHON:-}" ]]; then
    python=$FCNRT_PYTHON
    "$python" -c "import onnx" 2>/dev/null || skip "FCNRT_PYTHON=$python has no onnx module"
else
    python=$venv/bin/python
    if ! "$python" -c "import onnx, onnxruntime" 2>/dev/null; then
        base=$(command -v python3 || true)
        [[ -n "$base" ]] || skip "no python3 to make a virtual environment with"
        if [[ ! -x "$python" ]]; then
            echo "setup_onnx_cases: making a virtual environment in $venv (once per build folder)"
            "$base" -m venv "$venv" ||
                skip "cannot make a virtual environment in $venv (Debian: apt-get install python3-venv)"
        fi
        echo "setup_onnx_cases: pip-installing onnx, onnxruntime and numpy into $venv (a few minutes, once)"
        "$python" -m pip install --quiet --disable-pip-version-check onnx numpy ||
            skip "pip install onnx into $venv failed (no network?)"
        # onnxruntime is the peer of tests/onnx/issue14_vs_onnxruntime.py only: that
        # test skips without it, the node cases do not need it.
        "$python" -m pip install --quiet --disable-pip-version-check onnxruntime ||
            echo "setup_onnx_cases: pip install onnxruntime failed; the onnxruntime comparison will skip"
    fi
fi

"$python" - "$dest" <<'PY'
import os, shutil, sys
import onnx
from onnx import numpy_helper

dest = sys.argv[1]
# Case-name prefixes of the ops the importer maps (test_<op>...). Function
# expansions (*_expanded*) use ops fcnrt does not have and are left out.
prefixes = [
    "test_conv_", "test_basic_conv_", "test_convtranspose", "test_maxpool_", "test_averagepool_",
    "test_globalaveragepool", "test_maxunpool_", "test_batchnorm_", "test_relu", "test_leakyrelu",
    "test_sigmoid", "test_tanh", "test_hardsigmoid", "test_hardswish", "test_add", "test_mul",
    "test_concat_", "test_softmax_", "test_argmax_", "test_resize_", "test_upsample_",
    "test_constant_pad", "test_reflect_pad", "test_edge_pad", "test_wrap_pad", "test_slice",
    "test_flatten_", "test_gemm_", "test_matmul_", "test_dropout", "test_identity",
    "test_prelu", "test_elu", "test_gelu", "test_depthtospace", "test_spacetodepth",
    "test_instancenorm",
]
wanted = lambda case: "_expanded" not in case and any(case.startswith(p) for p in prefixes)
if os.path.isdir(dest):
    shutil.rmtree(dest)
os.makedirs(dest)
count = 0
root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
if os.path.isdir(root):
    # Older wheels ship the generated cases.
    for case in sorted(os.listdir(root)):
        src = os.path.join(root, case)
        if not wanted(case) or not os.path.isdir(os.path.join(src, "test_data_set_0")):
            continue
        shutil.copytree(src, os.path.join(dest, case))
        count += 1
else:
    # Newer wheels ship only the generators: write the cases as onnx's
    # `backend-test-tools generate-data` would (first data set only).
    from onnx.backend.test.case.node import collect_testcases
    for case in collect_testcases():
        if not wanted(case.name) or not case.model or not case.data_sets:
            continue
        inputs, outputs = case.data_sets[0]
        graph = case.model.graph
        if any(not vi.type.HasField("tensor_type") for vi in list(graph.input) + list(graph.output)):
            continue
        out = os.path.join(dest, case.name, "test_data_set_0")
        os.makedirs(out)
        with open(os.path.join(dest, case.name, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            for j, v in enumerate(values):
                t = v if isinstance(v, onnx.TensorProto) else numpy_helper.from_array(v, infos[j].name)
                with open(os.path.join(out, f"{kind}_{j}.pb"), "wb") as f:
                    f.write(t.SerializeToString())
        count += 1
print(f"setup_onnx_cases: {count} cases from onnx {onnx.__version__} in {dest}")
PY
