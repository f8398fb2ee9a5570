#!/usr/bin/env bash
# Train the CPU-scale AlexNet PUL chain for one seed, stage after stage:
#   BD, BD+AHM, TCL-10 (NR), TCL-10 (BCE), TCL-20 (NR), TCL-20 (BCE), supervised SiamFC.
# Usage: scripts/train_alexpul_chain.sh [SEED]   (default 1)
# Seed 1 (the recipes' own) writes the committed checkpoints in trackers/weights/ and lists them in
# MANIFEST.yaml; other seeds write runs/weights/<recipe>-s<SEED>.pt. Run folders are
# runs/train/<recipe>-s<SEED>. Rerunning after a kill resumes the unfinished stage and retrains no
# finished one (a finished stage is one whose exported checkpoint is newer than its model.pt).
set -euo pipefail
seed=${1:-1}
source "$(dirname "$0")/train_stage.sh"
bin=$(dirname "$(command -v pul_train || echo .venv/bin/pul_train)")
for stage in bd:alexpul-bd bd:alexpul-bd-ahm tc:alexpul-tcl10 tc:alexpul-tcl10-bce \
             tc:alexpul-tcl20 tc:alexpul-tcl20-bce supervised:siamfc; do
    task=${stage%%:*} recipe=${stage#*:}
    out=runs/train/$recipe-s$seed
    weights=trackers/weights/$recipe.pt
    [[ $seed == 1 ]] || weights=runs/weights/$recipe-s$seed.pt
    train_stage "$recipe" "$seed" "$out" "$weights" \
        "$bin/pul_train" "$task" --config "$recipe" --seeds "$seed" --quiet \
        --export "trackers/weights/$recipe.pt"
done
