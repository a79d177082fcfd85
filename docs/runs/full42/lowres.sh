#!/bin/bash
# --recipe fast with 8 epochs of 16×16 crops in front of its 24×24 ones (--epochs 50
# --crop-schedule 16:8,24:22: the same 22 epochs at 24×24 and 20 at 32×32 after them), the one
# change (candidate.sh): more low-resolution epochs within the budget. A 16×16 epoch costs about
# 0.24 of a 32×32 one (24×24: 0.58) on AMD EPYC Zen 3, 2 threads (`train --epochs 3
# --crop-schedule 16:1,24:1 --limit-train 12800`: 9.6, 23.0 and 40.0 s), so the run is
# 8 × 0.24 + 22 × 0.62 + 20 ≈ 35.6 of the hour's 36 full-size epochs. The validation pass after
# every second epoch and the last.
exec "$(dirname "$0")/candidate.sh" lowres --epochs 50 --crop-schedule 16:8,24:22 --eval-every 2
