#!/usr/bin/env python3
"""PyTorch's images/s on the work `mobilenet-bench run --sections network` times, for
ours ÷ PyTorch ratios (`make bench-pytorch`, which reads this script's output with
`mobilenet-bench compare`).

The network is the project's PyTorch MobileNetV1 (python/mobilenet_cpu) at alpha = 1,
10 classes, on random 32 x 32 images, on the CPU, in both memory formats:
  contiguous (NCHW) and channels_last (NHWC).
A training step is forward, cross-entropy on the logits, backward, SGD (momentum 0.9,
weight decay 5e-4) and a OneCycleLR step; inference is an eval-mode forward under
torch.inference_mode(). Each figure is the batch size divided by the median time of
--steps steps after --warmup untimed ones.

Prints one JSON line:
  {"torch": VERSION, "threads": T, "batch": B, "infer_batch": I,
   "train_img_s": {"contiguous": …, "channels_last": …},
   "infer_img_s": {"contiguous": …, "channels_last": …}}
(`mobilenet-bench compare` refuses an --infer-batch other than I).

    python3 scripts/pytorch_bench.py [--threads 2] [--batch 128] [--infer-batch 100] \\
        [--steps 10] [--warmup 3]

Needs torch (`pip install torch`; a CPU-only build is enough). Run it in the same shell
command as our benchmark so both see the same machine load, and read the ratios.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
import mobilenet_cpu  # noqa: E402

FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def median_seconds(work, steps, warmup):
    """The median wall time of `steps` calls of work() after `warmup` untimed calls."""
    for _ in range(warmup):
        work()
    durations = []
    for _ in range(steps):
        start = time.perf_counter()
        work()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def measure(memory_format, args):
    """(training images/s, inference images/s) in one memory format."""
    torch.manual_seed(0)
    net = mobilenet_cpu.MobileNetV1(num_classes=10).to(memory_format=memory_format)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1,
                                                   total_steps=args.warmup + args.steps + 1)
    criterion = nn.CrossEntropyLoss()
    images = torch.randn(args.batch, 3, 32, 32).contiguous(memory_format=memory_format)
    labels = torch.randint(0, 10, (args.batch,))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        criterion(net(images), labels).backward()
        optimizer.step()
        schedule.step()

    net.train()
    train = args.batch / median_seconds(train_step, args.steps, args.warmup)

    batch = torch.randn(args.infer_batch, 3, 32, 32).contiguous(memory_format=memory_format)

    def infer():
        with torch.inference_mode():
            net(batch)

    net.eval()
    infer_rate = args.infer_batch / median_seconds(infer, args.steps, args.warmup)
    return train, infer_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--batch", type=int, default=128, help="training batch")
    parser.add_argument("--infer-batch", type=int, default=100, help="inference batch")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (the median is reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    args = parser.parse_args()
    for name in ("threads", "batch", "infer_batch", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be zero or more")
    torch.set_num_threads(args.threads)
    result = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch,
              "infer_batch": args.infer_batch, "train_img_s": {}, "infer_img_s": {}}
    for name, memory_format in FORMATS.items():
        train, infer = measure(memory_format, args)
        result["train_img_s"][name] = round(train, 1)
        result["infer_img_s"][name] = round(infer, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
