#!/usr/bin/env python3
"""The CPU a benchmark figure was taken on: its model, cores and widest vector unit, for
`scripts/bench_peers.py`'s record (which adds the OpenBLAS kernels our executable ran).

The OpenBLAS core type is not asked here: OpenBLAS loaded into Python picks its own kernels
(on a CPU newer than the library, its generic "Prescott" ones), while our executables
restart with better ones (`BLAS.reexecWithBetterKernelIfNeeded`). The whole line as our
figures were taken, core type included: `mobilenet-bench machine`.
"""
import os


def machine():
    """{"cpu", "cores", "vector"}; "unknown" where the system does not say. Cores: those this
    process may run on (its CPU affinity; the executables also count a cgroup quota)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"cpu": "unknown", "vector": "unknown", "cores": cores}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        field = lambda key: next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith(key))
        info["cpu"] = f"{field('model name')} (family {field('cpu family')}, model {field('model')})"
        flags = set(next(l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")))
        info["vector"] = "AVX-512 (512-bit)" if "avx512f" in flags else "AVX2 (256-bit)" if "avx2" in flags else "SSE (128-bit)"
    except (OSError, StopIteration):
        pass
    return info
