"""Why a Siamese backbone tracks worse than its training loss suggests: its batch norms.

For each checkpoint, on random exemplar (127 px) and search (255 px) crops of the unlabeled
training clips (never an evaluation sequence), in eval mode:

* ``bn_shift``: per batch-norm layer, |mean of its input - running mean| / running std, averaged
  over channels, then over layers (0 when the running statistics describe real inputs);
* ``bn_var``: median over layers of the channel-median ratio input variance / running variance;
* ``rank``: effective rank (exp of the entropy of the normalised singular values) of the pooled
  exemplar embeddings, centred: a collapsed embedding has a low rank;

and writes a copy whose running statistics are re-estimated on those crops (``--recalibrated``
folder, ``<name>-recal.pt``), so that ``pulbench localise`` / ``eval --checkpoint`` can say how
much of the tracking error the statistics alone explain.

    python scripts/diagnose_bn.py trackers/weights/respul-*.pt --recalibrated /tmp/recal
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from pul_bench.checkpoint import load_checkpoint, save_checkpoint
from pul_bench.paths import data_root
from pul_bench.trackers.siamfc import load_net
from pul_train.bn import mismatch, probe_batches, recalibrate
from pul_train.video import open_videos


def effective_rank(backbone: nn.Module, batch: torch.Tensor) -> float:
    backbone.eval()
    with torch.no_grad():
        f = backbone(batch).float().mean(dim=(2, 3))
    s = torch.linalg.svdvals(f - f.mean(0))
    p = s / s.sum()
    return float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--recalibrated", type=Path, help="folder for the recalibrated copies")
    ap.add_argument("--crops", type=int, default=256, help="crops of each size")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    probe = probe_batches(open_videos(data_root() / "unlabeled", "folders"), args.crops,
                          args.seed)
    z = torch.cat([b for b in probe if b.shape[-1] == 127])
    rows = {}
    for path in args.checkpoints:
        _, meta = load_checkpoint(path)
        net = load_net(meta["architecture"], 1.0, path).backbone.float()
        row = {**mismatch(net, probe), "rank": effective_rank(net, z)}
        if args.recalibrated:
            recalibrate(net, probe)
            row["rank_recal"] = effective_rank(net, z)
            args.recalibrated.mkdir(parents=True, exist_ok=True)
            save_checkpoint(args.recalibrated / f"{path.stem}-recal.pt", net.state_dict(),
                            {**{k: meta[k] for k in ("architecture", "stage") if k in meta},
                             "recalibrated_from": path.name})
        rows[path.stem] = row
        print(path.stem, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
