#!/usr/bin/env python3
"""Interop check: a model file written by mobilenet-train, loaded into the project's
PyTorch MobileNetV1 (python/mobilenet_cpu) with strict=True, gives the Swift engine's logits.

Needs torch, safetensors and numpy (pip install torch safetensors numpy); not run in CI.

    python3 scripts/interop_check.py --model runs/a/best.safetensors \
        --data data/cifar-10-batches-bin [--count 500] \
        [--trainer .build/release/mobilenet-train] [--tolerance 1e-4]

1. The engine's logits: `mobilenet-train evaluate --checkpoint MODEL --data DATA
   --limit-test N --dump-logits TMP` (eval mode, the reference recipe's normalisation).
2. PyTorch's: the first N records of test_batch.bin, read here, scaled to [0, 1] and
   normalised with mobilenet_cpu.MEAN and STD; mobilenet_cpu.load(MODEL): width and class
   count from the file, load_state_dict(strict=True), eval().
3. Prints the max abs difference of the logits (and of the labels' agreement) and exits
   1 if it exceeds the tolerance.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))  # mobilenet_cpu, also without pip install -e python/
import mobilenet_cpu  # noqa: E402

RECORD = 1 + 3 * 32 * 32


def cifar10_test(folder, count):
    """The first `count` images of test_batch.bin as N x 3 x 32 x 32 float32 (normalised) and their labels."""
    path = os.path.join(folder, "test_batch.bin")
    if not os.path.exists(path):
        path = os.path.join(folder, "cifar-10-batches-bin", "test_batch.bin")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % RECORD:
        sys.exit(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records")
    records = raw.reshape(-1, RECORD)[:count]
    labels = records[:, 0].astype(np.int64)
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255)
    mean = np.array(mobilenet_cpu.MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(mobilenet_cpu.STD, dtype=np.float32).reshape(1, 3, 1, 1)
    return torch.from_numpy((images - mean) / std), labels


def engine_logits(trainer, model_path, data, count):
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.safetensors")
        command = [trainer, "evaluate", "--checkpoint", model_path, "--data", data,
                   "--limit-test", str(count), "--dump-logits", dump]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
        tensors = load_file(dump)
        return tensors["logits"], tensors["labels"].numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model file (export, best.safetensors or a checkpoint's model.safetensors)")
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "cifar-10-batches-bin"),
                        help="CIFAR-10 binary folder (mobilenet-train download --dataset cifar10 --output data)")
    parser.add_argument("--count", type=int, default=500, help="test images compared")
    parser.add_argument("--trainer", default=os.path.join(ROOT, ".build", "release", "mobilenet-train"))
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit difference allowed")
    args = parser.parse_args()

    classes, alpha = mobilenet_cpu.architecture(args.model)
    net = mobilenet_cpu.load(args.model, strict=True)
    images, labels = cifar10_test(args.data, args.count)
    with torch.no_grad():
        reference = net(images)

    swift, swift_labels = engine_logits(args.trainer, args.model, args.data, args.count)
    if swift.shape != reference.shape or not np.array_equal(swift_labels, labels):
        sys.exit(f"engine gave logits {tuple(swift.shape)} for labels that "
                 f"{'match' if np.array_equal(swift_labels, labels) else 'do not match'} test_batch.bin; "
                 f"PyTorch gave {tuple(reference.shape)}")
    difference = (swift - reference).abs()
    worst = int(difference.max(dim=1).values.argmax())
    agree = float((swift.argmax(1) == reference.argmax(1)).float().mean())
    print(f"model {args.model}: MobileNetV1 alpha={alpha}, {classes} classes, loaded with strict=True")
    print(f"{len(labels)} test images: max |logit difference| = {difference.max().item():.3g} "
          f"(image {worst}), mean = {difference.mean().item():.3g}, max |logit| = {reference.abs().max().item():.3g}")
    print(f"top-1 predictions agree on {100 * agree:.2f} % of images; "
          f"accuracy PyTorch {100 * float((reference.argmax(1).numpy() == labels).mean()):.2f} %, "
          f"engine {100 * float((swift.argmax(1).numpy() == labels).mean()):.2f} %")
    if difference.max().item() > args.tolerance:
        print(f"FAIL: above the tolerance {args.tolerance}")
        sys.exit(1)
    print(f"OK: within {args.tolerance}")


if __name__ == "__main__":
    main()
