"""fcnrt: inference for fully convolutional segmentation networks.

The C++ engine's API for NumPy arrays (see the README's "Python" section):

    import fcnrt
    model = fcnrt.Model("models/bsubtilis-patch31/dense.json", device="auto")
    labels = model.segment(fcnrt.read_image("cells.png"), max_memory=2 << 30)
    outputs = model.run({"image": array})

Errors are raised as fcnrt.Error (a RuntimeError) with the one-line message
the command line prints.
"""
import json as _json

from ._fcnrt import Error, Model, __version__, densify, list_images, read_image
from ._fcnrt import _evaluate_json

__all__ = ["Error", "Model", "densify", "eval", "list_images", "read_image", "__version__"]


def eval(prediction, truth, *, classes=0, ignore=None, region=None):
    """`fcnrt eval PRED GT --json` as a dict: two label maps (PNG, PGM) or two
    directories paired by name. region is (x0, y0, x1, y1), half-open."""
    return _json.loads(_evaluate_json(str(prediction), str(truth), classes, ignore,
                                      None if region is None else tuple(region)))
