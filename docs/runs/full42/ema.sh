#!/bin/bash
# --recipe fast with --ema-decay 0.999 (candidate.sh). The raw weights of each run are `fast`'s
# of the same seed bit for bit (the average does not feed back into training), so each run
# gives both candidates.
exec "$(dirname "$0")/candidate.sh" ema --ema-decay 0.999
