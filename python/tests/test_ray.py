"""python -m fcnrt.ray on a local Ray cluster (a head and two worker nodes on
loopback, each with one CPU): the same files as `fcnrt segment`, a bad image
reported without stopping the job, a worker killed mid-job losing nothing, and
a restarted job skipping what is done. Skipped when Ray is not installed
(tests/python/install_module.sh installs it into the build folder's venv)."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fcnrt
from conftest import CELL_MODEL, SAMPLE

ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
from ray.cluster_utils import Cluster  # noqa: E402

IMAGES = 10
STACK_PAGES = 3


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(2):
        c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """IMAGES variants of a corner of the sample (flipped, shifted: different
    masks; small, so that the test takes seconds) and one bad file."""
    d = tmp_path_factory.mktemp("data")
    base = fcnrt.read_image(str(SAMPLE))[:160, :224]
    for i in range(IMAGES):
        im = np.roll(base if i % 2 else base[:, ::-1], 17 * i, axis=1)
        # 16-bit binary PGM, big-endian samples: fcnrt reads it as it reads the PNG.
        (d / f"cells_{i:02d}.pgm").write_bytes(
            f"P5\n{im.shape[1]} {im.shape[0]}\n65535\n".encode() + im.astype(">u2").tobytes())
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    # A TIFF stack: each page an image of its own, stack_p0000.. (tests/make_test_tiff).
    make_tiff = os.environ.get("FCNRT_MAKE_TEST_TIFF")
    if make_tiff and os.access(make_tiff, os.X_OK):
        subprocess.run([make_tiff, str(d / "stack.tif"), f"pages={STACK_PAGES}", "bits=16",
                        "compression=lzw", "width=64", "height=48"], check=True)
    return d


def fcnrt_ray(*args):
    return subprocess.Popen([sys.executable, "-m", "fcnrt.ray", "segment", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def segmenter_processes():
    """The Ray workers running fcnrt.ray's actors (their title is ray::Segmenter...)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = pathlib.Path("/proc", entry, "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::Segmenter"):
                pids.append(int(entry))
    return pids


def listing(d):
    return sorted(p.name for p in pathlib.Path(d).iterdir())


def test_ray_segment_matches_the_cli_and_survives_a_killed_worker(cluster, dataset, cli,
                                                                 tmp_path):
    expected = tmp_path / "cli"
    r = cli("segment", CELL_MODEL, dataset, "-o", expected, "--device", "cpu", "--quiet",
            check=False)
    assert r.returncode == 1 and "broken.png" in r.stderr  # the bad image, reported
    good = IMAGES + (STACK_PAGES if (dataset / "stack.tif").exists() else 0)
    if good == IMAGES:
        print("no TIFF stack in the dataset: FCNRT_MAKE_TEST_TIFF is not set")
    assert len(listing(expected)) == 2 * good

    out = tmp_path / "ray"
    job = fcnrt_ray(CELL_MODEL, dataset, "-o", out, "--address", cluster.address)
    # Mid-job (some images done, not all): kill one worker's process.
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and job.poll() is None:
        done = len(list(out.glob("*_labels.png"))) if out.exists() else 0
        workers = segmenter_processes()
        if 1 <= done < good - 3 and workers:
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        time.sleep(0.05)
    log, _ = job.communicate(timeout=600)
    print(f"killed worker {killed}; the job's log:\n{log}")
    assert killed is not None, "no worker was killed mid-job:\n" + log
    assert job.returncode == 1, log
    assert log.count("fcnrt.ray: error:") == 1 and "broken.png" in log, log
    # Every image's files, byte for byte the CLI's, and nothing else.
    assert listing(out) == listing(expected), log
    for name in listing(expected):
        assert (out / name).read_bytes() == (expected / name).read_bytes(), name

    # A restarted job redoes only what is missing.
    for f in out.glob("cells_03_*"):
        f.unlink()
    (out / "cells_05_mask.png").unlink()  # half an image: redone whole
    job = fcnrt_ray(CELL_MODEL, dataset, "-o", out, "--address", cluster.address, "--quiet")
    log, _ = job.communicate(timeout=600)
    assert f"{good - 2} of {good + 1} images already have their files" in log, log
    assert listing(out) == listing(expected)
    for name in listing(expected):
        assert (out / name).read_bytes() == (expected / name).read_bytes(), name
