#!/bin/bash
# `fast-lowres` (50 epochs: 8 on 16×16 crops, 22 on 24×24, 20 at 32×32: 35.6 epochs' worth of
# 32×32 work, within the hour's 36) on all 50,000 training images with seeds 1 and 2
# (../test-runs.sh), the test set evaluated once, after the last epoch (--eval-every 0).
# Run from the repository root after `make release`; DATA, OUT as there.
exec "$(dirname "$0")/../test-runs.sh" fast-lowres --recipe fast-lowres --eval-every 0
