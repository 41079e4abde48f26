"""The Python module against the command line: same labels, scores, files,
run outputs, densified model, eval scores and error messages."""
import json
import threading
import time

import numpy as np
import pytest

import fcnrt
from conftest import CELL_MODEL, PATCH_MODEL, SAMPLE


@pytest.fixture(scope="module")
def model():
    return fcnrt.Model(str(CELL_MODEL), device="cpu")


@pytest.fixture(scope="module")
def cli_outputs(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    cli("segment", CELL_MODEL, SAMPLE, "-o", out, "--probs", "--overlay", "--device", "cpu",
        "--quiet")
    return out


def test_segment_gives_the_cli_labels_and_scores(model, cli_outputs):
    image = fcnrt.read_image(str(SAMPLE))
    assert image.dtype == np.uint16 and image.shape == (384, 512)
    labels, probs = model.segment(image, probs=True)
    expected = fcnrt.read_image(str(cli_outputs / "sample_cells_labels.png"))
    assert labels.dtype == np.uint8 and labels.shape == image.shape
    np.testing.assert_array_equal(labels, expected)
    assert len(np.unique(labels)) == 3  # background, cell, edge: not a blank mask
    np.testing.assert_array_equal(probs, np.load(cli_outputs / "sample_cells_probs.npy"))
    # Labels alone, and tiled under a small budget: the same labels.
    np.testing.assert_array_equal(model.segment(image), expected)


def test_tiled_under_a_small_budget_gives_the_same_labels(model, cli, tmp_path):
    image = fcnrt.read_image(str(SAMPLE))
    cli("segment", CELL_MODEL, SAMPLE, "-o", tmp_path, "--device", "cpu", "--max-memory", "200M")
    labels = model.segment(image, max_memory=200 << 20)
    np.testing.assert_array_equal(labels, fcnrt.read_image(str(tmp_path / "sample_cells_labels.png")))


def test_segment_file_writes_the_cli_files(model, cli_outputs, tmp_path):
    [entry] = fcnrt.list_images([str(SAMPLE)])
    assert entry == {"path": str(SAMPLE), "page": 0, "pages": 1, "stem": "sample_cells"}
    model.segment_file(entry["path"], str(tmp_path), stem=entry["stem"], probs=True, overlay=True)
    for name in ("labels.png", "mask.png", "overlay.png", "probs.npy"):
        assert (tmp_path / f"sample_cells_{name}").read_bytes() == \
            (cli_outputs / f"sample_cells_{name}").read_bytes(), name


def test_image_layouts_are_converted(model):
    image = fcnrt.read_image(str(SAMPLE))
    expected = model.segment(image)
    # A non-contiguous view and an RGB copy of the gray image (luma of equal
    # channels is the gray value): the same labels.
    padded = np.zeros((384, 1024), np.uint16)
    padded[:, ::2] = image
    np.testing.assert_array_equal(model.segment(padded[:, ::2]), expected)
    with pytest.raises(fcnrt.Error, match="uint8 or uint16"):
        model.segment(image.astype(np.float32))


def test_run_gives_the_cli_outputs(model, cli, tmp_path):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 1, 45, 61), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    cli("run", CELL_MODEL, "--input", f"image={tmp_path / 'x.npy'}",
        "--output", f"scores={tmp_path / 'y.npy'}", "--device", "cpu", "--quiet")
    assert model.inputs == ["image"] and model.outputs == ["scores"]
    out = model.run({"image": x})
    np.testing.assert_array_equal(out["scores"], np.load(tmp_path / "y.npy"))
    # The output owns the library's buffer (no copy): not a fresh NumPy array.
    assert out["scores"].base is not None
    # float64 and Fortran-order inputs are converted, giving the same result.
    np.testing.assert_array_equal(model.run({"image": np.asfortranarray(x.astype(np.float64))})["scores"],
                                  out["scores"])


def test_errors_carry_the_cli_message(cli, tmp_path):
    missing = tmp_path / "missing.json"
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1, "inputs": [')
    for path in (missing, broken):
        with pytest.raises(fcnrt.Error) as err:
            fcnrt.Model(str(path))
        assert isinstance(err.value, RuntimeError)
        line = cli("info", path, check=False).stderr.strip().splitlines()[-1]
        assert line == "fcnrt: error: " + str(err.value)
    with pytest.raises(fcnrt.Error, match="input 'image' is missing"):
        fcnrt.Model(str(CELL_MODEL), device="cpu").run({})
    with pytest.raises(fcnrt.Error, match="precision 'fp8'"):
        fcnrt.Model(str(CELL_MODEL), precision="fp8")


def test_the_gil_is_released_while_segmenting(model):
    image = np.tile(fcnrt.read_image(str(SAMPLE)), (2, 2))
    count = [0]
    done = threading.Event()

    def spin():
        while not done.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    before = count[0]
    started = time.perf_counter()
    model.segment(image)
    elapsed = time.perf_counter() - started
    during = count[0] - before
    done.set()
    t.join()
    # Holding the GIL, the spinning thread would hardly run at all during the call.
    assert elapsed > 0.05 and during > 10000, (elapsed, during)


def test_densify_writes_the_cli_model(cli, tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "cli").mkdir()
    fcnrt.densify(str(PATCH_MODEL), str(tmp_path / "api" / "dense.json"))
    cli("densify", PATCH_MODEL, "-o", tmp_path / "cli" / "dense.json", "--quiet")
    for name in ("dense.json", "dense.safetensors"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()


def test_eval_gives_the_cli_scores(model, cli, cli_outputs, tmp_path):
    labels = model.segment(fcnrt.read_image(str(SAMPLE)))
    # A prediction with a block of wrong labels, against the CLI's labels.
    labels[100:150, 200:300] = (labels[100:150, 200:300] + 1) % 3
    pgm = tmp_path / "pred.pgm"
    pgm.write_bytes(b"P5\n512 384\n255\n" + labels.tobytes())
    truth = cli_outputs / "sample_cells_labels.png"
    got = fcnrt.eval(pgm, truth, region=(10, 20, 500, 380))
    expected = json.loads(cli("eval", pgm, truth, "--region", "10,20,500,380", "--json").stdout)
    assert got == expected
    assert 0.9 < got["pixel_accuracy"] < 1.0
    with pytest.raises(fcnrt.Error):
        fcnrt.eval(pgm, tmp_path / "absent.png")
