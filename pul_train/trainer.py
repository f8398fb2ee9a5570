"""The generic training loop: one task object (data plan, batches, loss) plugged into one loop.

The loop owns what every PUL stage shares: seeds, device and precision (``runtime.precision``:
bf16 autocast on CPUs that compute bf16 natively, bf16 or fp16 with loss scaling on CUDA;
channels-last tensors with ``runtime.channels_last``),
DistributedDataParallel under ``torchrun`` (NCCL on GPUs, gloo on CPU), Adam, a checkpoint with
optimizer state after every epoch, ``resume``, progress bars, the CSV/JSON log and the loss plot.
A task (BD, TC, supervised) satisfies the :class:`Task` protocol.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import atomic_path, progress_bar, status, write_json, write_text
from pul_bench.paths import DATA_ENV, REPO_ROOT
from pul_train.recipe import Recipe, task_class

LOG_FIELDS = ("epoch", "phase", "steps", "loss", "lr", "images", "seconds", "images_per_s",
              "data_wait_s", "plan_s")


class Task(Protocol):
    """The contract between :func:`train` and a training stage (BD, TC, supervised).

    A task is built as ``Task(recipe, data_root, device, progress)``; ``Config`` is the
    dataclass of its recipe section. Everything random in it is derived from (seed, epoch,
    step), so a resumed run repeats what an uninterrupted run does.
    """

    Config: ClassVar[type]

    def prepare(self, compute: bool) -> None:
        """Compute (``compute``, first on rank 0) or load from cache what the plans need."""

    def build_model(self) -> nn.Module:
        """The network to train, on the CPU."""

    def phase(self, epoch: int) -> str:
        """A name for how ``epoch``'s mini-batches are formed (logged; e.g. random, ahm)."""

    def epoch_batches(self, epoch: int, model: nn.Module) -> list[Any]:
        """The epoch's plan: one item per mini-batch, later handed to :meth:`make_batch`."""

    def make_batch(self, epoch: int, step: int, item: Any) -> dict[str, torch.Tensor]:
        """The tensors of one planned mini-batch (runs in a loader thread)."""

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]
             ) -> tuple[torch.Tensor, int]:
        """The mini-batch loss and the number of images it saw."""

    def export(self, model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The weights and metadata of the tracker checkpoint."""


@dataclasses.dataclass(frozen=True)
class Precision:
    """How a training step computes: autocast ``dtype`` (None: plain fp32) on ``device_type``,
    and whether images and weights are channels-last (oneDNN's fast layout for convolutions)."""

    dtype: torch.dtype | None
    channels_last: bool
    device_type: str

    @property
    def name(self) -> str:
        """``fp32``, ``bf16`` or ``fp16``, with ``+cl`` for channels-last."""
        base = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]
        return base + ("+cl" if self.channels_last else "")

    @property
    def scaled(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range."""
        return self.dtype == torch.float16

    def autocast(self) -> torch.autocast:
        """The autocast context of this precision (disabled for fp32)."""
        return torch.autocast(self.device_type, dtype=self.dtype or torch.float32,
                              enabled=self.dtype is not None)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as oneDNN reports it;
    elsewhere bf16 is emulated and slower than fp32."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(setting: str, device: torch.device, channels_last: bool = False
                      ) -> Precision:
    """``runtime.precision`` (fp32, bf16, auto) on ``device``: ``auto`` is bf16 where the
    hardware has it (CPU: :func:`cpu_has_bf16`; CUDA: compute capability 8+), fp16 with loss
    scaling on older GPUs, else fp32. bf16 asked for where it is not native is an error."""
    cuda = device.type == "cuda"
    native = torch.cuda.is_bf16_supported() if cuda else cpu_has_bf16()
    if setting == "bf16" and not native:
        raise PulBenchError(f"runtime.precision is bf16, but this {device.type.upper()} has no "
                            f"native bf16 (it would be slower than fp32): use fp32 or auto")
    if setting == "fp32":
        dtype = None
    elif native:
        dtype = torch.bfloat16
    else:
        dtype = torch.float16 if cuda else None
    return Precision(dtype, channels_last, device.type)


def train_step(task: Task, net: nn.Module, opt: torch.optim.Optimizer,
               scaler: torch.amp.GradScaler, prec: Precision, batch: dict[str, torch.Tensor]
               ) -> tuple[float, int]:
    """One optimiser step on a batch already on the device; returns (loss, images)."""
    with prec.autocast():
        loss, n = task.loss(net, batch)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return float(loss.detach()), n


def to_device(batch: dict[str, torch.Tensor], device: torch.device, prec: Precision
              ) -> dict[str, torch.Tensor]:
    """A batch on ``device``; images (4-D tensors) channels-last if ``prec`` says so."""
    fmt = torch.channels_last if prec.channels_last else torch.preserve_format
    return {k: v.to(device, non_blocking=True, memory_format=fmt) if v.dim() == 4
            else v.to(device, non_blocking=True) for k, v in batch.items()}


@dataclasses.dataclass(frozen=True)
class Dist:
    """This process's place in a (possibly one-process) run."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup(recipe: Recipe) -> Dist:
    want = recipe.runtime.device
    cuda = torch.cuda.is_available()
    if want == "cuda" and not cuda:
        raise PulBenchError(f"{recipe.source}: runtime.device is 'cuda' but no GPU is available")
    use_cuda = cuda and want != "cpu"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if recipe.runtime.threads:
        torch.set_num_threads(recipe.runtime.threads)
    return Dist(rank, world, device)


def resolve_root(recipe: Recipe, data_root: Path | None) -> Path:
    """The recipe's video folder; a relative ``data.root`` is under ``data_root`` (the CLI's
    ``--data-root``, else the shared data folder it found)."""
    root = Path(recipe.data.root).expanduser()
    if root.is_absolute():
        return root
    if data_root is None:
        raise PulBenchError(f"{recipe.source}: data.root {root} is relative, but no data folder "
                            f"was found: pass --data-root DIR or set {DATA_ENV}")
    return Path(data_root) / root


def _comparable(recipe: Recipe) -> dict[str, Any]:
    """The recipe without runtime settings: what must match for a resume to be valid."""
    d = recipe.to_dict()
    d.pop("runtime")
    return d


def _portable(path: str, data_root: Path | None) -> str:
    """``path`` relative to the checkout or the data folder when under one (for meta)."""
    p = Path(path).resolve()
    shared = data_root.resolve() if data_root is not None else None
    for base, label in ((REPO_ROOT, ""), (shared, "<data>/")):
        if base is not None and p.is_relative_to(base):
            return label + str(p.relative_to(base))
    return str(path)


def _load_state(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file
        raise InputError(path, f"cannot read training checkpoint (corrupt?): "
                               f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    if not isinstance(state, dict) or not {"epoch", "model", "optimizer"} <= set(state):
        raise InputError(path, "not a pul_train training checkpoint")
    return state


def _write_logs(out: Path, recipe: Recipe, rows: list[dict[str, Any]], world: int) -> None:
    buf = io.StringIO()
    fields = list(dict.fromkeys([*LOG_FIELDS, *(k for r in rows for k in r)]))
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "log.csv", buf.getvalue())
    write_json(out / "log.json", {"recipe": recipe.to_dict(), "source": recipe.source,
                                  "world_size": world, "epochs": rows})
    from pul_bench.plots import loss_curve  # the plotting library loads only when needed

    loss_curve(rows, out / "loss")


def _shard(plan: list[Any], rank: int, world: int) -> list[Any]:
    """This rank's share of the epoch's batches; shares are padded (by wrapping) to one length."""
    per = -(-len(plan) // world)
    padded = (plan * (1 + per * world // max(len(plan), 1)))[: per * world]
    return padded[rank::world]


def train(
    recipe: Recipe,
    out: str | Path,
    resume: bool = False,
    data_root: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) ``recipe``; write checkpoints, logs and ``out/model.pt``; return a summary.

    ``out/checkpoints/last.pt`` holds the model, optimizer and scaler state after the last
    finished epoch. Without ``resume`` an existing checkpoint is an error, so no run is lost.
    """
    out = Path(out)
    d = _setup(recipe)
    ckpt = out / "checkpoints" / "last.pt"
    if ckpt.exists() and not resume:
        raise PulBenchError(f"{ckpt} exists: pass --resume to continue it, or choose another "
                            f"--out")
    state = _load_state(ckpt) if resume and ckpt.exists() else None  # bad file: fail fast
    if state is not None and state.get("recipe") != _comparable(recipe):
        raise InputError(ckpt, f"was written by a different recipe than {recipe.source}; "
                               f"use another --out")
    if d.main:  # an --out that cannot be written fails now, not after the first epoch
        ckpt.parent.mkdir(parents=True, exist_ok=True)
    data = None if data_root is None else Path(data_root)
    root = resolve_root(recipe, data)
    made_of = {"recipe": _portable(recipe.source, data), "data": _portable(str(root), data)}
    show = progress and d.main
    torch.manual_seed(recipe.seed)
    task: Task = task_class(recipe.task)(recipe, root, d.device, show)
    if d.main:
        task.prepare(compute=True)
    if d.world > 1:
        dist.barrier()
        if not d.main:
            task.prepare(compute=False)
    prec = resolve_precision(recipe.runtime.precision, d.device, recipe.runtime.channels_last)
    model = task.build_model().to(d.device)
    if prec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.optimizer.lr,
                           weight_decay=recipe.optimizer.weight_decay)
    scaler = torch.amp.GradScaler(d.device.type, enabled=prec.scaled)
    start, rows = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start, rows = int(state["epoch"]), list(state["log"])
        if show:
            status(f"resuming {ckpt} after epoch {start}")
    net = nn.parallel.DistributedDataParallel(model) if d.world > 1 else model
    bar = progress_bar(range(start, recipe.epochs), desc=recipe.task, unit="epoch",
                       disable=not show, initial=start, total=recipe.epochs)
    with ThreadPoolExecutor(1) as loader:
        for epoch in bar:
            torch.manual_seed(recipe.seed * 1_000_003 + epoch * 101 + d.rank)
            t_plan = time.perf_counter()
            plan = task.epoch_batches(epoch, model)
            if d.world > 1:  # every rank must follow rank 0's plan exactly
                box = [plan]
                dist.broadcast_object_list(box, src=0)
                plan = box[0]
            plan_s = time.perf_counter() - t_plan
            row = run_epoch(task, net, opt, scaler, prec, loader, epoch, plan, d, show)
            row.update(epoch=epoch + 1, phase=task.phase(epoch), plan_s=round(plan_s, 3),
                       lr=opt.param_groups[0]["lr"])
            # a task may log per-epoch figures of its plan (BD: overlapping negatives)
            rows.append({**{k: row[k] for k in LOG_FIELDS}, **getattr(task, "stats", {})})
            if d.main:
                every = recipe.runtime.snapshot_every  # before last.pt: a resume never skips one
                if every and (epoch + 1) % every == 0:
                    _export(task, model, recipe, made_of, prec, rows,
                            out / "snapshots" / f"epoch-{epoch + 1:03d}.pt", root)
                state = {"epoch": epoch + 1, "model": model.state_dict(),
                         "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                         "recipe": _comparable(recipe), "log": rows}
                with atomic_path(ckpt) as tmp:
                    torch.save(state, tmp)
                _write_logs(out, recipe, rows, d.world)
                bar.set_postfix(loss=f"{row['loss']:.4f}", ips=f"{row['images_per_s']:.1f}")
            if d.world > 1:
                dist.barrier()
    summary = {"epochs": recipe.epochs, "world_size": d.world, "log": rows}
    if d.main:
        _export(task, model, recipe, made_of, prec, rows, out / "model.pt", root)
        summary["model"] = str(out / "model.pt")
    return summary


def _export(task: Task, model: nn.Module, recipe: Recipe, made_of: dict[str, str],
            prec: Precision, rows: list[dict[str, Any]], path: Path, root: Path) -> None:
    """Write the model as a checkpoint (the tracker's format) with what made it (``made_of``:
    the recipe file and the data folder, as portable paths); with ``bn_recalibration``, a copy
    whose batch-norm statistics are re-estimated on the training video (pul_train.bn)."""
    from pul_bench.checkpoint import save_checkpoint

    if recipe.bn_recalibration:
        from pul_train.bn import probe_batches, recalibrate
        from pul_train.video import open_videos

        model = copy.deepcopy(model)
        videos = open_videos(root, recipe.data.kind)
        recalibrate(backbone_of(model),
                    probe_batches(videos, recipe.bn_recalibration, recipe.seed))
    weights, meta = task.export(model)
    meta.update(**made_of, bn_recalibration=recipe.bn_recalibration,
                epochs=len(rows), precision=prec.name,
                seed=recipe.seed, final_loss=rows[-1]["loss"] if rows else None)
    save_checkpoint(path, weights, meta)


def backbone_of(model: nn.Module) -> nn.Module:
    """The backbone inside a task's model: BD trains the backbone itself, TC and supervised a
    :class:`~pul_train.tc.PairNet` around a SiamFC network."""
    net = getattr(model, "net", model)
    return getattr(net, "backbone", net)


def run_epoch(task: Task, net: nn.Module, opt: torch.optim.Optimizer,
               scaler: torch.amp.GradScaler, prec: Precision, loader: ThreadPoolExecutor,
               epoch: int, plan: list[Any], d: Dist, show: bool) -> dict[str, Any]:
    """One epoch over this rank's batches; the next batch is prepared while this one trains."""
    mine = _shard(plan, d.rank, d.world)
    net.train()
    losses, images, wait = [], 0, 0.0
    t0 = time.perf_counter()

    def submit(step: int) -> Future | None:
        return loader.submit(task.make_batch, epoch, step * d.world + d.rank, mine[step]) \
            if step < len(mine) else None

    pending = submit(0)
    for step in progress_bar(range(len(mine)), desc=f"epoch {epoch + 1}", unit="batch",
                             leave=False, disable=not show):
        tw = time.perf_counter()
        batch = pending.result()
        wait += time.perf_counter() - tw
        pending = submit(step + 1)
        loss, n = train_step(task, net, opt, scaler, prec, to_device(batch, d.device, prec))
        losses.append(loss)
        images += n
    seconds = time.perf_counter() - t0
    stats = torch.tensor([float(np.sum(losses)), len(losses), images], dtype=torch.float64)
    if d.world > 1:
        dist.all_reduce(stats)
    total, steps, images_all = stats.tolist()
    return {"loss": total / max(steps, 1), "steps": int(steps), "images": int(images_all),
            "seconds": round(seconds, 3), "images_per_s": round(images_all / seconds, 2),
            "data_wait_s": round(wait, 3)}
