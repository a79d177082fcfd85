"""MobileNetV1, CIFAR variant, in PyTorch: the network mobilenet-train trains.

Parameter and buffer names are those of mobilenet-train's safetensors files
(``entry.0.weight``, ``stage1.0.depthConv.1.running_mean``, ``stage2.3.pointConv.0.weight``,
``linear.bias``, ...), so a file it writes loads with ``strict=True``::

    import mobilenet_cpu
    net = mobilenet_cpu.load("runs/a/best.safetensors")    # eval mode
    logits = net(images)     # images: N x 3 x 32 x 32 float32, normalised with MEAN and STD

and a model trained in PyTorch saves in a form mobilenet-train reads::

    from safetensors.torch import save_file
    save_file(net.state_dict(), "model.safetensors")

Install with ``pip install -e python/`` from the repository (needs torch, safetensors, numpy).

The network (Howard et al. 2017, arXiv:1704.04861, adapted to 32 x 32 images as in the
original PyTorch CIFAR-10 tutorial): an entry 3 x 3 convolution at stride 1 + BatchNorm +
ReLU6, thirteen depthwise-separable blocks (depthwise 3 x 3 + BatchNorm + ReLU6, then
pointwise 1 x 1 + BatchNorm + ReLU6) in three stages, global average pooling and a linear
layer giving logits (no softmax). The width multiplier alpha scales every channel count to
``int(n * alpha)``.
"""
import torch
from torch import nn

__all__ = ["MEAN", "STD", "BLOCKS", "MobileNetV1", "architecture", "preprocessing", "load"]

#: Per-channel CIFAR-10 mean and standard deviation the images are normalised with (RGB).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)

#: The thirteen blocks at alpha = 1 as (input channels, output channels, stride), by stage.
BLOCKS = {
    "stage1": [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1)],
    "stage2": [(256, 512, 2)] + [(512, 512, 1)] * 5,
    "stage3": [(512, 1024, 2), (1024, 1024, 1)],
}


def _conv_bn_relu6(conv):
    """conv, then BatchNorm over its output channels, then ReLU6: children 0, 1, 2."""
    return nn.Sequential(conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU6(inplace=True))


class DSCconv(nn.Module):
    """A depthwise-separable block: ``depthConv`` (3 x 3, one filter per channel, padding 1,
    stride s, then BatchNorm and ReLU6) followed by ``pointConv`` (1 x 1, then BatchNorm and
    ReLU6). Neither convolution has a bias."""

    def __init__(self, channels_in, channels_out, stride=1):
        super().__init__()
        self.depthConv = _conv_bn_relu6(
            nn.Conv2d(channels_in, channels_in, kernel_size=3, stride=stride, padding=1,
                      groups=channels_in, bias=False))
        self.pointConv = _conv_bn_relu6(
            nn.Conv2d(channels_in, channels_out, kernel_size=1, bias=False))

    def forward(self, x):
        return self.pointConv(self.depthConv(x))


class MobileNetV1(nn.Module):
    """MobileNetV1 for CIFAR: N x input_channel x H x W images to N x num_classes logits.

    alpha: the width multiplier (section 3.3 of the paper); channel counts become
    ``int(n * alpha)``, at least 1.
    """

    def __init__(self, input_channel=3, num_classes=10, alpha=1.0):
        super().__init__()
        width = lambda n: max(1, int(n * alpha))  # noqa: E731
        self.num_classes = num_classes
        self.alpha = alpha
        self.entry = _conv_bn_relu6(
            nn.Conv2d(input_channel, width(32), kernel_size=3, stride=1, padding=1, bias=False))
        for stage, blocks in BLOCKS.items():
            setattr(self, stage, nn.Sequential(
                *[DSCconv(width(i), width(o), s) for i, o, s in blocks]))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(width(1024), num_classes)

    def forward(self, x):
        x = self.entry(x)
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.linear(self.avgpool(x).flatten(1))


def architecture(path):
    """(num_classes, alpha) of a model file: from its ``__metadata__`` (``num_classes``,
    ``width_multiplier``, written by mobilenet-train) or, for a file PyTorch saved, from the
    shape of ``linear.weight`` [num_classes, int(1024 * alpha)]."""
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
        if "linear.weight" not in f.keys():
            raise ValueError(f"{path}: no tensor 'linear.weight'; is it a MobileNetV1 model file?")
        classes, features = f.get_slice("linear.weight").get_shape()
    return int(meta.get("num_classes", classes)), float(meta.get("width_multiplier", features / 1024))


def preprocessing(path):
    """What a model file's inputs must be, as the run that trained it recorded:
    ``{"image_size": S, "mean": (r, g, b), "std": (r, g, b), "class_names": [...]}``. Read from
    the ``dataset`` entry of the file's ``__metadata__`` (a JSON object mobilenet-train writes:
    an image-folder run's size, its mean and std computed from its training images, its class
    names); a file without it (CIFAR runs before that entry, a file PyTorch saved) gets
    CIFAR's 32, ``MEAN``, ``STD`` and no class names. Images are scaled to [0, 1], then
    ``(x - mean) / std`` per channel, as an N x 3 x S x S float32 tensor."""
    import json
    import os
    from safetensors import safe_open
    if os.path.isdir(path) or not path.endswith(".safetensors"):
        raise ValueError(f"{path}: not a .safetensors model file; give the file export wrote, or a "
                         "checkpoint's model.safetensors (for a .onnx file, read its metadata_props)")
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    dataset = json.loads(meta["dataset"]) if "dataset" in meta else {}
    return {"image_size": int(dataset.get("imageSize") or 32),
            "mean": tuple(dataset.get("mean") or MEAN), "std": tuple(dataset.get("std") or STD),
            "class_names": list(dataset.get("classNames") or [])}


def load(path, strict=True, eval_mode=True):
    """The model stored in a mobilenet-train safetensors file (``export``, ``best.safetensors``
    or a checkpoint's ``model.safetensors``), its width and class count read from the file.

    strict: refuse a missing or extra tensor (PyTorch's ``load_state_dict(strict=True)``).
    eval_mode: return the model in eval mode (BatchNorm uses its running statistics).
    Raises RuntimeError (PyTorch's) when a tensor is missing, extra or of another shape.
    """
    from safetensors.torch import load_file
    classes, alpha = architecture(path)
    net = MobileNetV1(num_classes=classes, alpha=alpha)
    net.load_state_dict(load_file(path), strict=strict)
    return net.eval() if eval_mode else net
