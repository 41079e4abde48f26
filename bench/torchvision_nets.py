"""The torchvision segmentation nets of the CPU comparison (random weights:
weights=None, weights_backbone=None, so nothing is downloaded; torch seed 0
before each is built, so the ONNX export and the PyTorch peer hold the same
weights; eval mode; the 'out' head only, no aux)."""
import torch
import torchvision


class OutOnly(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)["out"]


def _builders():
    seg = torchvision.models.segmentation
    return {
        "deeplabv3_mobilenet_v3_large": lambda: seg.deeplabv3_mobilenet_v3_large(
            weights=None, weights_backbone=None, aux_loss=False),
        "fcn_resnet50": lambda: seg.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False),
    }


NAMES = list(_builders())


def build(name):
    """The named net, seeded and in eval mode."""
    torch.manual_seed(0)
    return OutOnly(_builders()[name]()).eval()
