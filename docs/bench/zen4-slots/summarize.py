#!/usr/bin/env python3
"""Training images/s at batch 128 per round: before, after, PyTorch's faster format; the
ratios after ÷ PyTorch, before ÷ PyTorch and after ÷ before; medians over the rounds."""
import json, re, statistics, sys
from pathlib import Path
out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
def ours(log, threads):
    m = re.search(rf"network, {threads} thread\(s\), batch 128, 32×32: train ([0-9.]+) images/s", log.read_text())
    return float(m.group(1))
for kind in ("native", "haswell"):
    for t in (2, 1):
        rows = []
        for r in (1, 2, 3):
            d = out / f"{kind}-r{r}"
            if not (d / f"pytorch-t{t}.json").exists(): continue
            py = json.loads((d / f"pytorch-t{t}.json").read_text())["train_img_s"]
            best = max(py.values())
            b, a, a2 = ours(d / "before.log", t), ours(d / "after.log", t), ours(d / "after2.log", t)
            rows.append((b, a, best, max(py, key=py.get), a2))
        if not rows: continue
        print(f"{kind}, {t} thread(s):")
        for i, (b, a, p, fmt, a2) in enumerate(rows, 1):
            print(f"  r{i}: before {b:.1f}, after {a:.1f}, after2 {a2:.1f}, PyTorch {p:.1f} ({fmt}); ratios to PyTorch {b/p:.3f} / {a/p:.3f} / {a2/p:.3f}; after2/before {a2/b:.3f}")
        med = lambda f: statistics.median(f(x) for x in rows)
        print(f"  median ratio to PyTorch: before {med(lambda x: x[0]/x[2]):.3f}, after {med(lambda x: x[1]/x[2]):.3f}, after2 {med(lambda x: x[4]/x[2]):.3f}; after2/before {med(lambda x: x[4]/x[0]):.3f}")
