#!/usr/bin/env bash
# Train the Fig. 6 checkpoints: supervised SiamFC (the siamfc recipe, its 10 epochs) on labels
# with 0-50 px of injected centre noise, balanced BCE and NR, for each seed given; with seed 1 also
# the three NR points in Monte-Carlo form (one seed, a series of the nr-vs-bce report).
# Usage: scripts/train_fig6.sh [SEEDS]   (comma-separated, default 1,2,3)
# Seed by seed, so a partial run already holds whole curves. Seed 1 (the recipe's own) writes
# runs/weights/siamfc-noise<x>-<loss>.pt, seed k runs/weights/siamfc-noise<x>-<loss>-s<k>.pt: the
# checkpoints of trackers/siamfc-noise.yaml and siamfc-noise-seeds.yaml. Run folders are
# runs/train/siamfc-noise<x>-<loss>-s<k>. Rerunning after a kill resumes the unfinished point and
# retrains no finished one (one whose exported checkpoint is newer than its model.pt).
set -euo pipefail
seeds=${1:-1,2,3}
source "$(dirname "$0")/train_stage.sh"
bin=$(dirname "$(command -v pul_train || echo .venv/bin/pul_train)")
checkpoints=()
for seed in ${seeds//,/ }; do
    points=()
    for x in 0 10 20 30 40 50; do points+=("$x:bce" "$x:nr"); done
    [[ $seed == 1 ]] && points+=(10:nr-mc 30:nr-mc 50:nr-mc)
    for point in "${points[@]}"; do
        x=${point%%:*} loss=${point#*:}
        name=siamfc-noise$x-$loss
        sets=(--set "supervised.noise_px=$x" --set supervised.loss="${loss%-mc}")
        [[ $loss == nr-mc ]] && sets+=(--set supervised.nr.form=mc)
        out=runs/train/$name-s$seed
        weights=runs/weights/$name.pt
        [[ $seed == 1 ]] || weights=runs/weights/$name-s$seed.pt
        checkpoints+=("$weights")
        train_stage "$name" "$seed" "$out" "$weights" \
            "$bin/pul_train" supervised --config siamfc "${sets[@]}" --seeds "$seed" --quiet \
            --out "runs/train/$name" --export "runs/weights/$name.pt"
    done
done
echo "Fig. 6 checkpoints (seeds $seeds):"
printf '  %s\n' "${checkpoints[@]}"
echo "report: pulbench report nr-vs-bce"
