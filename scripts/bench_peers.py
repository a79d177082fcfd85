#!/usr/bin/env python3
"""Inference speed beside the peers: our folded inference, PyTorch (NCHW and channels_last)
and onnxruntime on our own exported ONNX, all on the same network and weights, measured one
after the other in interleaved rounds (`make bench-peers`).

    python3 scripts/bench_peers.py --bench .build/release/mobilenet-bench --label native \
        [--output bench-results/peers] [--rounds 3] [--threads 2] [--calls 1000]

Per engine and round: images/s at batch 100 on --threads threads (median of 20 passes), and
batch-1 latency on 1 and --threads threads (median and 99th percentile of --calls calls).
The network: `mobilenet-bench infer --write-model` (alpha 1, 10 classes, random weights,
BatchNorm statistics that keep activations in range) as model.safetensors, loaded into the
project's PyTorch MobileNetV1 (python/mobilenet_cpu) with strict=True, and as
model.onnx, written by our ONNX export. onnxruntime: intra_op_num_threads = our threads,
inter_op_num_threads = 1, sequential execution, graph optimisation level ORT_ENABLE_ALL.
Ratios per round (ours / peer for images/s; our median latency / the peer's), then the
median over the rounds. Writes LABEL/results.json and LABEL/report.md under --output; the
report starts with the CPU model, vector width, OpenBLAS core type and load average.
PyTorch is left out, saying so, when torch or safetensors is not installed, or with --no-pytorch.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import machine  # noqa: E402

PYTHON_PACKAGE = os.path.join(ROOT, "python")  # mobilenet_cpu, also without pip install -e python/


def percentile(samples, q):
    ordered = sorted(samples)
    import math
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(run_batch, run_single, set_threads, args):
    """The same protocol as `mobilenet-bench infer`: batch --batch on --threads, then batch 1."""
    set_threads(args.threads)
    for _ in range(3):
        run_batch()
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter_ns()
        run_batch()
        times.append(time.perf_counter_ns() - t0)
    median = statistics.median(times) / 1e6
    result = {"throughput": {"threads": args.threads, "batch": args.batch, "runs": args.runs, "median_ms": median,
                             "images_per_s": args.batch / (median / 1000)}, "latency": []}
    for threads in sorted({1, args.threads}):
        set_threads(threads)
        for _ in range(args.warmup):
            run_single()
        times = []
        for _ in range(args.calls):
            t0 = time.perf_counter_ns()
            run_single()
            times.append(time.perf_counter_ns() - t0)
        result["latency"].append({"threads": threads, "calls": args.calls, "median_ms": percentile(times, 0.5) / 1e6,
                                  "p99_ms": percentile(times, 0.99) / 1e6})
    return result


def worker_torch(args):
    import numpy as np
    import torch
    sys.path.insert(0, PYTHON_PACKAGE)
    import mobilenet_cpu
    memory_format = torch.channels_last if args.format == "channels_last" else torch.contiguous_format
    net = mobilenet_cpu.load(args.model, strict=True).to(memory_format=memory_format)
    rng = np.random.default_rng(2)
    big = torch.from_numpy(rng.uniform(-2, 2, (args.batch, 3, 32, 32)).astype(np.float32)).to(memory_format=memory_format)
    one = torch.from_numpy(rng.uniform(-2, 2, (1, 3, 32, 32)).astype(np.float32)).to(memory_format=memory_format)
    with torch.inference_mode():
        result = measure(lambda: net(big), lambda: net(one), torch.set_num_threads, args)
    result.update(engine=f"pytorch-{args.format}", version=torch.__version__,
                  cpu_capability=torch.backends.cpu.get_cpu_capability())
    return result


def worker_ort(args):
    import numpy as np
    import onnxruntime as ort
    sessions = {}

    def session(threads):
        if threads not in sessions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sessions[threads] = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        return sessions[threads]

    current = {}
    rng = np.random.default_rng(2)
    big = rng.uniform(-2, 2, (args.batch, 3, 32, 32)).astype(np.float32)
    one = rng.uniform(-2, 2, (1, 3, 32, 32)).astype(np.float32)

    def set_threads(threads):
        current["s"] = session(threads)

    result = measure(lambda: current["s"].run(["logits"], {"input": big}), lambda: current["s"].run(["logits"], {"input": one}),
                     set_threads, args)
    result.update(engine="onnxruntime", version=ort.__version__)
    return result


def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"bench_peers: {' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "mobilenet-bench"))
    parser.add_argument("--label", default="native", help="names the results folder (native, haswell, …)")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench-results", "peers"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--no-pytorch", action="store_true", help="leave PyTorch out (ours and onnxruntime only)")
    parser.add_argument("--worker", choices=["torch", "ort"], help=argparse.SUPPRESS)
    parser.add_argument("--format", default="contiguous", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_torch(args) if args.worker == "torch" else worker_ort(args)))
        return

    folder = os.path.join(args.output, args.label)
    os.makedirs(folder, exist_ok=True)
    load_before = os.getloadavg()
    # The machine line of our benchmark: CPU, vector width, OpenBLAS core type, load and how
    # busy other work kept the processors just before (with its warning when over the limit).
    machine_line = subprocess.run([args.bench, "machine"], capture_output=True, text=True)
    if machine_line.returncode != 0:
        sys.exit(f"bench_peers: {args.bench} machine failed (exit {machine_line.returncode}):\n{machine_line.stderr}")
    before = " ".join(line.strip() for line in (machine_line.stdout + machine_line.stderr).splitlines() if line.strip())
    print(before, flush=True)
    run_json_ok = subprocess.run([args.bench, "infer", "--write-model", folder], capture_output=True, text=True)
    if run_json_ok.returncode != 0:
        sys.exit(f"bench_peers: {args.bench} infer --write-model failed:\n{run_json_ok.stderr}")
    common = ["--threads", str(args.threads), "--batch", str(args.batch), "--runs", str(args.runs),
              "--calls", str(args.calls), "--warmup", str(args.warmup)]
    ours_command = [args.bench, "infer", "--model", os.path.join(folder, "model.safetensors"), "--batch", str(args.batch),
                    "--throughput-threads", str(args.threads), "--runs", str(args.runs), "--calls", str(args.calls),
                    "--warmup", str(args.warmup), "--latency-threads"] + [str(t) for t in sorted({1, args.threads})]
    me = [sys.executable, os.path.abspath(__file__)]
    peers = []
    try:
        import onnxruntime  # noqa: F401
        peers.append(("onnxruntime", me + ["--worker", "ort", "--model", os.path.join(folder, "model.onnx")] + common))
    except ImportError:
        print("bench_peers: onnxruntime not installed (make deps-onnx): left out")
    notes = []
    if args.no_pytorch:
        notes.append("PyTorch left out (--no-pytorch)")
    else:
        try:
            import torch  # noqa: F401
            import safetensors  # noqa: F401
            for fmt in ("contiguous", "channels_last"):
                peers.append((f"pytorch-{fmt}", me + ["--worker", "torch", "--format", fmt,
                                                      "--model", os.path.join(folder, "model.safetensors")] + common))
        except ImportError as error:
            notes.append(f"PyTorch left out: {error.name} is not installed (pip install torch safetensors, the +cpu torch wheel)")
    for note in notes:
        print("bench_peers: " + note)

    rounds = []
    for r in range(args.rounds):
        entry = {"ours": run_json(ours_command)}
        print(f"round {r + 1}: ours {entry['ours']['throughput']['images_per_s']:.0f} images/s", end="", flush=True)
        for name, command in peers:
            entry[name] = run_json(command)
            print(f", {name} {entry[name]['throughput']['images_per_s']:.0f}", end="", flush=True)
        print()
        rounds.append(entry)

    def latency(result, threads, key="median_ms"):
        return next(l[key] for l in result["latency"] if l["threads"] == threads)

    thread_counts = sorted({1, args.threads})
    ratios = {}
    for name, _ in peers:
        per_round = [{"throughput": e["ours"]["throughput"]["images_per_s"] / e[name]["throughput"]["images_per_s"],
                      **{f"latency_{t}t": latency(e["ours"], t) / latency(e[name], t) for t in thread_counts}} for e in rounds]
        ratios[name] = {key: {"median": statistics.median(p[key] for p in per_round), "rounds": [p[key] for p in per_round]}
                        for key in per_round[0]}
    load_after = os.getloadavg()
    info = machine()
    info.update(openblas_core=rounds[0]["ours"]["openblas_core"], openblas_core_note=rounds[0]["ours"].get("openblas_core_note", ""),
                openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE", ""),
                aten_cpu_capability_env=os.environ.get("ATEN_CPU_CAPABILITY", ""),
                onednn_max_cpu_isa_env=os.environ.get("ONEDNN_MAX_CPU_ISA", ""), load_before=load_before, load_after=load_after,
                python=platform.python_version(), label=args.label, bench=args.bench, machine_line_before=before)
    results = {"machine": info, "settings": vars(args), "notes": notes, "rounds": rounds, "ratios": ratios}
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    lines = [f"# Inference beside the peers ({args.label})", "",
             f"- CPU: {info['cpu']}, {info['cores']} cores, vector width {info['vector']}",
             f"- OpenBLAS core type (ours): {info['openblas_core']}{info['openblas_core_note'] or ' (OPENBLAS_CORETYPE unset)'}; "
             f"PyTorch ATEN_CPU_CAPABILITY={info['aten_cpu_capability_env'] or 'unset'}, "
             f"ONEDNN_MAX_CPU_ISA={info['onednn_max_cpu_isa_env'] or 'unset'}",
             f"- load average before {' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in load_after)}",
             f"- before the measurements: {before}",
             f"- ours: {args.bench}; " + ", ".join(f"{n} {rounds[0][n].get('version', '')}" for n, _ in peers),
             f"- network: MobileNetV1 alpha 1, 10 classes, 32x32; batch {args.batch} on {args.threads} threads (median of {args.runs}); "
             f"batch-1 latency over {args.calls} calls; {args.rounds} interleaved rounds", ""]
    lines += [f"- {n}" for n in notes]
    lines += ["", "| engine | images/s, batch %d, %d threads | " % (args.batch, args.threads)
              + " | ".join(f"batch 1, {t} thread{'s' if t > 1 else ''}: median / p99 ms" for t in thread_counts) + " |",
              "|---|---|" + "---|" * len(thread_counts)]
    for name in ["ours"] + [n for n, _ in peers]:
        tp = statistics.median(e[name]["throughput"]["images_per_s"] for e in rounds)
        cells = [f"{statistics.median(latency(e[name], t) for e in rounds):.3f} / {statistics.median(latency(e[name], t, 'p99_ms') for e in rounds):.3f}"
                 for t in thread_counts]
        lines.append(f"| {name} | {tp:.0f} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios, median over the rounds (per-round values in brackets): images/s ours / peer (higher is better); "
              "median latency ours / peer (lower is better).", "",
              "| peer | images/s | " + " | ".join(f"latency {t} thread{'s' if t > 1 else ''}" for t in thread_counts) + " |",
              "|---|---|" + "---|" * len(thread_counts)]
    for name, r in ratios.items():
        lines.append(f"| {name} | " + " | ".join(f"{v['median']:.2f}× [{', '.join(f'{x:.2f}' for x in v['rounds'])}]" for v in r.values()) + " |")
    report = "\n".join(lines) + "\n"
    with open(os.path.join(folder, "report.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
