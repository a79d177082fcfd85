#!/bin/bash
# `fast` at its full 42 epochs (the first 22 on 24×24 crops: 33.6 epochs' worth of 32×32
# work, within the hour's 36) on all 50,000 training images with seeds 1 and 2
# (../test-runs.sh), the test set evaluated once, after the last epoch (--eval-every 0).
# Run from the repository root after `make release`; DATA, OUT as there.
exec "$(dirname "$0")/../test-runs.sh" fast42 --recipe fast --eval-every 0
