# Sourced by the training drivers (train_chain.sh, train_fig6.sh): run one stage unless it
# is finished, resuming it if a kill left a checkpoint.
# train_stage NAME SEED OUT WEIGHTS CMD...: skip when WEIGHTS is newer than OUT/model.pt (trained
# and exported), else run CMD, with --resume appended when OUT/checkpoints/last.pt exists.
train_stage() {
    local name=$1 seed=$2 out=$3 weights=$4
    shift 4
    if [[ -f $out/model.pt && $weights -nt $out/model.pt ]]; then
        echo "== $name seed $seed: done ($weights)"
        return 0
    fi
    local resume=()
    [[ -f $out/checkpoints/last.pt ]] && resume=(--resume)
    echo "== $name seed $seed: $(date -u +%H:%M:%S)"
    "$@" "${resume[@]}"
}
