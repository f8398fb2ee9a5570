"""The ``pul_train`` command (also ``pulbench train``). Subcommands load on first use, so
``--help`` never imports torch; other training stages add a line to :data:`COMMANDS`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from pul_bench.cli import LazyGroup
from pul_bench.errors import PulBenchError

#: command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "bd": "pul_train.cli:bd_cmd",
    "proposals": "pul_train.cli:proposals_cmd",
    "mine": "pul_train.mining:mine_cmd",
    "tc": "pul_train.cli:tc_cmd",
    "supervised": "pul_train.cli:supervised_cmd",
}


@click.group("pul_train", cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
def group() -> None:
    """Train tracker backbones from unlabeled video (PUL: BD, AHM, ...).

    \b
    Examples:
      pul_train proposals ../shared/data/unlabeled --video cup --frame 10 --out cup.png
      pul_train bd --config alexpul-bd-ahm --out runs/train/alexpul-bd-ahm
      pul_train bd --config alexpul-bd-ahm --out runs/train/alexpul-bd-ahm --resume
      pul_train bd --config alexpul-bd --seeds 1,2,3 --export trackers/weights/alexpul-bd.pt
      torchrun --nproc_per_node 2 -m pul_train.cli bd --config FILE --out DIR
    """


def _train_recipe(config: str, task: str, out: Path | None, resume: bool,
                  data_root: Path | None, export: Path | None, quiet: bool,
                  overrides: tuple[str, ...] = ()) -> None:
    """Train ``config`` (which must be a ``task`` recipe) and optionally export it as fp16."""
    from pul_bench.checkpoint import load_checkpoint, save_checkpoint, update_manifest
    from pul_train.recipe import load_recipe
    from pul_train.trainer import train

    recipe = load_recipe(config, overrides)
    if overrides and out is None:
        raise PulBenchError("--set changes the recipe: give the run its own --out folder")
    if recipe.task != task:
        raise PulBenchError(f"{recipe.source}: task is {recipe.task!r}, not {task!r}")
    out = out or Path("runs") / "train" / Path(recipe.source).stem
    from pul_bench.paths import data_root as shared_data_root

    data = data_root if data_root is not None else shared_data_root(required=False)
    summary = train(recipe, out, resume=resume, data_root=data, progress=not quiet)
    if "model" not in summary:
        return
    last = summary["log"][-1] if summary["log"] else {}
    click.echo(f"done: {summary['model']} (final loss {last.get('loss', float('nan')):.4f}, "
               f"{last.get('images_per_s', 0)} images/s, world size {summary['world_size']})")
    if export is not None:
        weights, meta = load_checkpoint(summary["model"])
        for key in ("dtype", "sha256"):
            meta.pop(key, None)
        save_checkpoint(export, weights, meta, fp16=True)
        click.echo(f"exported fp16 checkpoint: {export}")
        manifest = export.parent / "MANIFEST.yaml"
        if manifest.is_file():  # reference weights: keep their manifest in step
            update_manifest(manifest, export.stem, export)
            click.echo(f"listed in {manifest}")


SEED_WEIGHTS = Path("runs") / "weights"  # seeds other than a recipe's own (not committed)


def seed_overrides(recipe: Any, seed: int) -> list[str]:
    """``--set`` items that train ``recipe`` with ``seed`` instead of its own seed.

    A TC recipe also takes its inputs from the same seed's chain: a checkpoint ``DIR/NAME.pt``
    becomes ``runs/weights/NAME-s<seed>.pt`` and a mined-pairs folder ``DIR/NAME-L<n>-s<r>``
    becomes ``DIR/NAME-s<seed>-L<n>-s<seed>`` (what that seed's earlier stages write), each
    given absolute: a ``--set`` path is relative to the working folder, these to the checkout.
    """
    from pul_bench.paths import REPO_ROOT

    items = [f"seed={seed}"]
    if recipe.task != "tc" or seed == recipe.seed:
        return items
    cfg = recipe.options
    for key in ("init", "mine_with"):
        value = getattr(cfg, key)
        if value:
            weights = REPO_ROOT / SEED_WEIGHTS / f"{Path(value).stem}-s{seed}.pt"
            items.append(f"tc.{key}={weights.as_posix()}")
    pairs = []
    for folder in cfg.extra_pairs:
        path = REPO_ROOT / folder  # a recipe's relative path is under the checkout
        m = re.fullmatch(r"(.+)-L(\d+)-s\d+", path.name)
        if m is None:
            raise PulBenchError(f"{recipe.source}: tc.extra_pairs folder {folder!r} is not named "
                                f"NAME-L<length>-s<seed>: cannot tell seed {seed}'s copy")
        pairs.append((path.parent / f"{m[1]}-s{seed}-L{m[2]}-s{seed}").as_posix())
    if pairs:
        items.append(f"tc.extra_pairs=[{', '.join(pairs)}]")
    return items


def _train_seeds(config: str, task: str, seeds: tuple[int, ...], out: Path | None,
                 resume: bool, data_root: Path | None, export: Path | None, quiet: bool,
                 overrides: tuple[str, ...]) -> None:
    """Train ``config`` once per seed into ``OUT-s<k>``: the recipe's own seed exports to
    ``export``, every other seed to ``runs/weights/<name>-s<k>.pt`` (which that seed's later
    stages read, see :func:`seed_overrides`), where ``<name>`` is the stem of ``export`` if
    given, else of the recipe: runs of one recipe with different ``--set`` values export apart."""
    from pul_bench.paths import REPO_ROOT
    from pul_train.recipe import load_recipe

    if overrides and out is None:
        raise PulBenchError("--set changes the recipe: give the runs their own --out folder")
    base = load_recipe(config, overrides)
    stem = Path(base.source).stem
    out = out or Path("runs") / "train" / stem
    name = export.stem if export is not None else stem
    for k in seeds:
        own = k == base.seed
        click.echo(f"seed {k}: {out.name}-s{k}")
        _train_recipe(config, task, out.with_name(f"{out.name}-s{k}"), resume, data_root,
                      export if own else REPO_ROOT / SEED_WEIGHTS / f"{name}-s{k}.pt", quiet,
                      (*overrides, *seed_overrides(base, k)))


def parse_seeds(text: str | None) -> tuple[int, ...]:
    """``1,2,3`` -> (1, 2, 3); seeds are distinct non-negative integers."""
    if not text:
        return ()
    try:
        seeds = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise PulBenchError(f"--seeds {text!r}: expected integers like 1,2,3") from None
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise PulBenchError(f"--seeds {text!r}: seeds must be distinct and >= 0")
    return seeds


def _recipe_command(task: str, example: str, doc: str) -> click.Command:
    """A training verb: every task takes the same recipe, run-folder and export options."""

    @click.command(task, help=doc)
    @click.option("--config", "config", required=True,
                  help=f"Recipe YAML file, or a shipped recipe name (e.g. {example}).")
    @click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
                  help="Run folder (default runs/train/<recipe name>).")
    @click.option("--resume", is_flag=True, help="Continue from OUT/checkpoints/last.pt.")
    @click.option("--data-root", type=click.Path(path_type=Path, file_okay=False),
                  help="Base for a relative data.root (default: the shared data folder).")
    @click.option("--export", type=click.Path(path_type=Path, dir_okay=False),
                  help="Also write the final backbone here as a compact fp16 tracker checkpoint.")
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                  help="Override one recipe value, e.g. --set supervised.noise_px=20 "
                       "(repeatable; checked like the file; needs --out).")
    @click.option("--seeds", metavar="K,K,...",
                  help="Train once per seed into OUT-s<k> (default OUT: runs/train/<recipe>). "
                       "The recipe's own seed exports to --export; any other seed k to "
                       "runs/weights/<export name, else recipe>-s<k>.pt, and a tc recipe then "
                       "starts from seed "
                       "k's earlier stages (runs/weights/<init>-s<k>.pt).")
    @click.option("--quiet", is_flag=True, help="No progress bars.")
    def command(config: str, out: Path | None, resume: bool, data_root: Path | None,
                export: Path | None, quiet: bool, overrides: tuple[str, ...],
                seeds: str | None) -> None:
        chosen = parse_seeds(seeds)
        if chosen:
            _train_seeds(config, task, chosen, out, resume, data_root, export, quiet, overrides)
        else:
            _train_recipe(config, task, out, resume, data_root, export, quiet, overrides)

    return command


_RUN_FOLDER = ("Writes OUT/checkpoints/last.pt every epoch, OUT/log.csv, log.json, loss.png and "
               "finally OUT/model.pt (a pul_bench checkpoint usable by the siamfc trackers).")
bd_cmd = _recipe_command(
    "bd", "alexpul-bd-ahm",
    "Background-discrimination learning (NT-Xent on proposals), with AHM if the recipe says.\n\n"
    + _RUN_FOLDER)
tc_cmd = _recipe_command(
    "tc", "alexpul-tcl10",
    "Temporal-correspondence learning: mine pairs with the BD tracker, then fine-tune with the "
    "NR loss (or balanced BCE) plus the contrastive term.\n\nMined pairs are kept under "
    "tc.pairs_dir (with a contact_sheet.png each) and reused by later runs. " + _RUN_FOLDER)
supervised_cmd = _recipe_command(
    "supervised", "siamfc",
    "Supervised SiamFC/SiamDW training on labeled video, optionally with noisy centres "
    "(supervised.noise_px) and the NR loss (supervised.loss: nr).\n\n" + _RUN_FOLDER)


@click.command("proposals")
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("--video", help="Video name inside SOURCE (default: the first).")
@click.option("--frame", type=int, default=0, show_default=True,
              help="Frame number (0-based) within the video.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="PNG with the proposals drawn (default proposals_<video>_<frame>.png).")
@click.option("--top", type=int, default=64, show_default=True, help="Boxes to draw.")
@click.option("--kind", default="auto", show_default=True, help="Video layout of SOURCE.")
@click.option("--edge-model", type=click.Path(path_type=Path, dir_okay=False),
              help="Structured-forest model.yml.gz (default: Sobel edges, no model).")
@click.option("--all", "every", is_flag=True,
              help="Instead, compute (and cache) proposals for every sampled frame of SOURCE.")
@click.option("--stride", type=int, default=10, show_default=True,
              help="With --all: one frame in STRIDE.")
@click.option("--workers", type=int, default=2, show_default=True, help="With --all.")
def proposals_cmd(source: Path, video: str | None, frame: int, out: Path | None, top: int,
                  kind: str, edge_model: Path | None, every: bool, stride: int,
                  workers: int) -> None:
    """Show EdgeBox proposals on one frame of SOURCE (an image, a video file or a video folder)
    as a PNG, or with --all precompute them for training."""
    from pul_bench.plots import draw_proposals, save_image
    from pul_train.proposals import ProposalSettings, frame_proposals
    from pul_train.video import IMAGE_EXTS, FrameRef, open_videos

    settings = ProposalSettings(edge_model=str(edge_model) if edge_model else None)
    if source.is_file() and source.suffix.lower() in IMAGE_EXTS:
        name, ref = source.stem, FrameRef(source)
    else:
        videos = open_videos(source, kind)
        if every:
            frames = [f for v in videos for f in v.sampled(stride)]
            boxes = frame_proposals(frames, settings, workers=workers)
            n = sum(len(b) for b in boxes)
            click.echo(f"{len(frames)} frames of {len(videos)} videos: {n} proposals "
                       f"({n / max(len(frames), 1):.1f} per frame), cached")
            return
        chosen = next((v for v in videos if v.name == video), None) if video else videos[0]
        if chosen is None:
            raise PulBenchError(f"no video {video!r} in {source}; found: "
                                + ", ".join(v.name for v in videos[:10]))
        if not 0 <= frame < len(chosen.frames):
            raise PulBenchError(f"video {chosen.name!r} has frames 0..{len(chosen.frames) - 1}")
        name, ref = f"{chosen.name}_{frame}", chosen.frames[frame]
    boxes = frame_proposals([ref], settings, progress=False)[0]
    image = draw_proposals(ref.read(), boxes, top)
    out = out or Path(f"proposals_{name}.png")
    save_image(image, out)
    where = f"{ref.path}" + (f" frame {ref.index}" if ref.index >= 0 else "")
    click.echo(f"{len(boxes)} proposals on {where}; drew {min(top, len(boxes))} (best in red) "
               f"-> {out}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    from pul_bench.cli import run_group

    run_group(group, argv)


if __name__ == "__main__":
    main()
