#!/bin/bash
# --recipe fast with --cutout 8 (DeVries & Taylor 2017: an 8×8 square of each training image
# set to the mean), the one change (candidate.sh); the validation pass after every second
# epoch and the last (--eval-every 2 does not change the weights).
exec "$(dirname "$0")/candidate.sh" cutout --cutout 8 --eval-every 2
