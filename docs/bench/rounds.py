#!/usr/bin/env python3
"""Training images/s at batch 128 in interleaved rounds of our builds beside PyTorch, and
their ratios, medians over the rounds.

    python3 docs/bench/rounds.py OUT [VERSION ...]

OUT holds one folder per build kind and round, KIND-rN (train-native-r1, train-haswell-r2, ...,
as docs/bench/vs-pytorch-rounds.sh writes them), each
with one log of `mobilenet-bench run --sections network` runs per version of ours (NAME.log:
ours.log, or before.log and after.log, ...; the first figure for each thread count is read)
and PyTorch's scripts/pytorch_bench.py output for 1 and 2 threads (pytorch-t1.json,
pytorch-t2.json). For each kind and thread count it prints every
round's figures, each version's ratio to PyTorch's faster format, and the medians; with more
than one version (in the order given, else by name), the last one's ratio to the first.
Folders KIND-bound-rN holding a `mobilenet-bench run --sections bound` results.json get the
step against its bounds per round: the roofline, and the GEMMs as measured, step by step
(median and range over the round's steps), with each kind's real time against its bound."""
import json, re, statistics, sys
from pathlib import Path

def ours(log, threads):
    m = re.search(rf"network, {threads} thread\(s\), batch 128, 32×32: train ([0-9.]+) images/s", log.read_text())
    return float(m.group(1)) if m else None

def rounds(out):
    kinds = {}
    for d in sorted(out.iterdir()):
        m = re.fullmatch(r"(.+)-r(\d+)", d.name)
        if d.is_dir() and m:
            kinds.setdefault(m.group(1), []).append(d)
    return kinds

def main(out, order):
    for kind, folders in rounds(out).items():
        if kind.endswith("-bound"): continue  # bound_rounds' folders
        for t in (2, 1):
            rows, skipped = [], []
            for d in folders:
                torch = d / f"pytorch-t{t}.json"
                if not torch.exists():
                    skipped.append(f"{d.name}: no {torch.name}"); continue
                try:
                    speeds = json.loads(torch.read_text())["train_img_s"]
                except (ValueError, KeyError):
                    skipped.append(f"{d.name}: {torch.name} holds no train_img_s (see {torch.stem}.err)"); continue
                versions = {log.stem: ours(log, t) for log in sorted(d.glob("*.log")) if not log.stem.startswith("pytorch")}
                if not versions or None in versions.values():
                    logs = ", ".join(f"{v}.log" for v in versions) or "no log of ours"
                    skipped.append(f"{d.name}: no {t}-thread training figure in {logs}"); continue
                rows.append((d.name, versions, max(speeds.values()), max(speeds, key=speeds.get)))
            for reason in skipped: print(f"{kind}, {t} thread(s): skipped {reason}")
            if not rows: continue
            names = sorted(rows[0][1], key=lambda v: (order.index(v) if v in order else len(order), v))
            print(f"{kind}, {t} thread(s):")
            for name, versions, best, fmt in rows:
                figures = ", ".join(f"{v} {versions[v]:.1f}" for v in names)
                ratios = " / ".join(f"{versions[v] / best:.3f}" for v in names)
                last = f"; {names[-1]}/{names[0]} {versions[names[-1]] / versions[names[0]]:.3f}" if len(names) > 1 else ""
                print(f"  {name}: {figures}, PyTorch {best:.1f} ({fmt}); ratio to PyTorch {ratios}{last}")
            med = lambda f: statistics.median(f(row) for row in rows)
            medians = ", ".join(f"{v} {med(lambda row: row[1][v] / row[2]):.3f}" for v in names)
            last = f"; {names[-1]}/{names[0]} {med(lambda row: row[1][names[-1]] / row[1][names[0]]):.3f}" if len(names) > 1 else ""
            few = f" (over {len(rows)} of {len(folders)} rounds)" if len(rows) < len(folders) else ""
            print(f"  median ratio to PyTorch{few}: {medians}{last}")

def bound_rounds(out):
    for kind, folders in rounds(out).items():
        if not kind.endswith("-bound"): continue
        print(f"{kind}, the step against its bound:")
        medians = []
        for d in folders:
            results = d / "results.json"
            if not results.exists(): continue
            for b in json.loads(results.read_text())["bound"]:
                steps = b.get("measuredGEMMBoundFractions")
                if not steps:
                    print(f"  {d.name}: no step-by-step fractions (results.json from an older mobilenet-bench); skipped")
                    continue
                med = statistics.median(steps)
                medians.append(med)
                kinds = []
                for k in b["kinds"]:
                    seq = k.get("gemmSequenceMilliseconds")
                    bound = max(k["boundMilliseconds"], min(seq, k["realMilliseconds"])) if seq is not None else k["boundMilliseconds"]
                    kinds.append(f"{k['kind']} {k['realMilliseconds']:.1f} ms {100 * bound / k['realMilliseconds']:.1f} %")
                print(f"  {d.name}, {b['threads']} thread(s): step {b['stepMilliseconds']:.1f} ms, roofline "
                      f"{100 * b['stepBoundMilliseconds'] / b['stepMilliseconds']:.1f} %; GEMMs as measured, per step "
                      f"{100 * med:.1f} % [{100 * min(steps):.1f}–{100 * max(steps):.1f}]; " + ", ".join(kinds))
        if medians:
            print(f"  median over the rounds, GEMMs as measured: {100 * statistics.median(medians):.1f} %")

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
    if not out.is_dir():
        sys.exit(f"rounds.py: {out} is not a folder; give the OUT folder of vs-pytorch-rounds.sh")
    if not rounds(out):
        sys.exit(f"rounds.py: {out} holds no KIND-rN round folders (train-native-r1, ...) to read")
    main(out, sys.argv[2:])
    bound_rounds(out)
