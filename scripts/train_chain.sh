#!/usr/bin/env bash
# Train one CPU-scale PUL chain for one seed, stage after stage:
#   alexpul: BD, BD+AHM, TCL-10 (NR), TCL-10 (BCE), TCL-20 (NR), TCL-20 (BCE), supervised SiamFC;
#   respul:  BD, BD+AHM, TCL-10 (NR), TCL-20 (NR), TCL-20 (BCE), supervised SiamDW (CIResNet-22).
# Usage: scripts/train_chain.sh alexpul|respul [SEED]   (default seed 1)
# Seed 1 (the recipes' own) writes the committed checkpoints in trackers/weights/ and lists them in
# MANIFEST.yaml; other seeds write runs/weights/<recipe>-s<SEED>.pt. Run folders are
# runs/train/<recipe>-s<SEED>. Rerunning after a kill resumes the unfinished stage and retrains no
# finished one (a finished stage is one whose exported checkpoint is newer than its model.pt).
set -euo pipefail
family=${1:?usage: scripts/train_chain.sh alexpul|respul [SEED]}
seed=${2:-1}
case $family in
    alexpul) stages=(bd:alexpul-bd bd:alexpul-bd-ahm tc:alexpul-tcl10 tc:alexpul-tcl10-bce
                     tc:alexpul-tcl20 tc:alexpul-tcl20-bce supervised:siamfc) ;;
    respul) stages=(bd:respul-bd bd:respul-bd-ahm tc:respul-tcl10 tc:respul-tcl20
                    tc:respul-tcl20-bce supervised:siamdw) ;;
    *) echo "scripts/train_chain.sh: unknown chain '$family' (alexpul or respul)" >&2; exit 2 ;;
esac
source "$(dirname "$0")/train_stage.sh"
bin=$(dirname "$(command -v pul_train || echo .venv/bin/pul_train)")
for stage in "${stages[@]}"; do
    task=${stage%%:*} recipe=${stage#*:}
    out=runs/train/$recipe-s$seed
    weights=trackers/weights/$recipe.pt
    [[ $seed == 1 ]] || weights=runs/weights/$recipe-s$seed.pt
    train_stage "$recipe" "$seed" "$out" "$weights" \
        "$bin/pul_train" "$task" --config "$recipe" --seeds "$seed" --quiet \
        --export "trackers/weights/$recipe.pt"
done
