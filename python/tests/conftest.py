"""Shared fixtures: the command line (FCNRT_CLI) the module is compared with,
and the cell model and its sample image (FCNRT_SOURCE_DIR)."""
import os
import pathlib
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("FCNRT_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
CELL_MODEL = SOURCE / "models" / "bsubtilis-patch31" / "dense.json"
PATCH_MODEL = SOURCE / "models" / "bsubtilis-patch31" / "patch.json"
SAMPLE = SOURCE / "models" / "bsubtilis-patch31" / "sample_cells.png"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("FCNRT_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("FCNRT_CLI does not name the fcnrt command line")

    def run(*args, check=True):
        return subprocess.run([path, *map(str, args)], capture_output=True, text=True,
                              check=check)
    return run
