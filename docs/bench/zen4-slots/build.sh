#!/bin/bash
# Builds the three clones beside this script — before/ (cf53ccb), after/ (a345829: the
# normalised input in per-thread slots), after2/ (ce3725e: the depthwise output too) — for
# this CPU and for the AVX2 stand-in, and the trainer of before/ and after2/ for the
# peak-memory epoch. Then: ./measure.sh out && python3 ../rounds.py out before after after2
set -e
B=$(cd "$(dirname "$0")" && pwd)
for v in before after after2; do
  cd "$B/$v"
  swift build -c release -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native --product mobilenet-bench
  swift build -c release -Xswiftc -target-cpu -Xswiftc haswell -Xcc -march=haswell --scratch-path .build-haswell --product mobilenet-bench
done
for v in before after2; do
  cd "$B/$v" && swift build -c release -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native --product mobilenet-train
done
