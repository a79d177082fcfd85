"""Writes Tests/MobileNetTests/Fixtures/linear_schedule.json: the learning rates of
torch.optim.lr_scheduler.SequentialLR([LinearLR(start_factor, 1, W), LinearLR(1, F, T - W)],
milestones=[W]) over T steps, as `train --schedule linear` must reproduce them.

W = int(warmup_pct * T) (Python's truncation); with W = 0 the schedule is LinearLR(1, F, T)
alone. lr[i] is the learning rate in force at optimizer step i (0 <= i <= T), read with
get_last_lr() before the i-th scheduler.step().

Run once (needs torch): python3 scripts/make_linear_schedule_fixture.py
"""
import json
import os
import warnings

import torch
from torch.optim.lr_scheduler import LinearLR, SequentialLR

CASES = [
    # name, max_lr, total steps, warmup_pct, start_factor (1/div_factor), final_lr_factor
    ("ten_steps", 0.4, 10, 0.3, 1 / 25, 0.01),
    ("odd_split", 0.1, 23, 0.15, 0.1, 0.0),
    ("no_warmup", 0.05, 7, 0.0, 1 / 25, 0.5),
    ("long", 0.1, 391 * 3, 0.05, 1 / 25, 1e-3),
]


def rates(max_lr, total, warmup_pct, start_factor, final_factor):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=max_lr, momentum=0.9)
    warmup = int(warmup_pct * total)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if warmup == 0:
            scheduler = LinearLR(optimizer, start_factor=1.0, end_factor=final_factor, total_iters=total)
        else:
            scheduler = SequentialLR(optimizer, [
                LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup),
                LinearLR(optimizer, start_factor=1.0, end_factor=final_factor, total_iters=total - warmup),
            ], milestones=[warmup])
        lrs = []
        for _ in range(total):
            lrs.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return warmup, lrs


def main():
    cases = []
    for name, max_lr, total, pct, start, final in CASES:
        warmup, lrs = rates(max_lr, total, pct, start, final)
        cases.append({"name": name, "max_lr": max_lr, "total_steps": total, "warmup_pct": pct,
                      "start_factor": start, "final_lr_factor": final, "warmup_steps": warmup, "lr": lrs})
    out = {"torch_version": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "MobileNetTests", "Fixtures", "linear_schedule.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
