#!/usr/bin/env python3
"""Where a benchmark figure was taken: the CPU model, its cores, the widest vector unit it
has, the OpenBLAS kernels this process gets (OPENBLAS_CORETYPE included) and the load
average. `make bench-pytorch` prints it first; `scripts/bench_peers.py` records it.

    python3 scripts/machine.py          # one line
"""
import ctypes
import ctypes.util
import os


def machine():
    """{"cpu", "cores", "vector", "openblas_core"}; "unknown" where the system does not say."""
    info = {"cpu": "unknown", "vector": "unknown", "cores": os.cpu_count(), "openblas_core": "unknown"}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        field = lambda key: next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith(key))
        info["cpu"] = f"{field('model name')} (family {field('cpu family')}, model {field('model')})"
        flags = set(next(l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")))
        info["vector"] = "AVX-512 (512-bit)" if "avx512f" in flags else "AVX2 (256-bit)" if "avx2" in flags else "SSE (128-bit)"
    except (OSError, StopIteration):
        pass
    # The same library the engine links, asked which kernels it chose (it reads OPENBLAS_CORETYPE).
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        try:
            corename = ctypes.CDLL(name).openblas_get_corename
            corename.restype = ctypes.c_char_p
            info["openblas_core"] = corename().decode()
            break
        except (OSError, AttributeError, TypeError):
            continue
    return info


def line(info=None):
    """One line naming the CPU, vector width, OpenBLAS core type and load average."""
    info = info or machine()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return (f"CPU: {info['cpu']}, {info['cores']} cores, vector width {info['vector']}; "
            f"OpenBLAS core type {info['openblas_core']}" + (f" (OPENBLAS_CORETYPE={coretype})" if coretype else "")
            + f"; load average {load}")


if __name__ == "__main__":
    print(line())
