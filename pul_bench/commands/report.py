"""``pulbench report NAME``: regenerate one of the paper's tables/figures from real runs."""

from __future__ import annotations

import shlex
from pathlib import Path

import click


@click.command("report")
@click.argument("name")
@click.option("--data-root", "root", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Shared data folder the recipe's paths are relative to, as pul_train's "
                   "(default: $PULBENCH_DATA, else ../shared/data).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder for report.md, report.json and the figures "
                   "(default: reports/NAME).")
@click.option("--runs", type=click.Path(path_type=Path, file_okay=False), default=Path("runs"),
              show_default=True,
              help="Shared raw-results folder (the layout of 'pulbench eval --out'); finished "
                   "sequences there are reused, not recomputed.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Sequences run in parallel processes.")
@click.option("--kept", type=click.Path(path_type=Path, file_okay=False),
              help="Committed raw results (default: reports/runs of the checkout) that stand in "
                   "for checkpoints kept out of git (seeds 2 and 3, Fig. 6): used when their "
                   "set-up record names the checkpoint's sha256 (the file's, or the one "
                   "trackers/weights/MANIFEST.yaml lists) and they hold every run.")
@click.option("--keep", is_flag=True,
              help="Copy the raw results this report runs into --kept (then commit them).")
def report_cmd(name: str, root: Path | None, out: Path | None, runs: Path, workers: int,
               kept: Path | None, keep: bool) -> None:
    """Run the report recipe NAME (reports/NAME.yaml, or a path to a recipe YAML).

    \b
    Shipped recipes: ablation (Table 1), nr-vs-bce (Table 2, Fig. 6), clip-length (Fig. 3),
    compare (ours beside published raw OTB results), lasot-published (the published raw LaSOT
    results: intervals, a paired verdict, three curve plots). Trackers whose checkpoint is
    missing are shown as 'not trained' with the command that trains them, unless committed
    raw results made by that very checkpoint stand in for it (--kept); nothing is invented.
    """
    from pul_bench.errors import PulBenchError
    from pul_bench.paths import REPO_ROOT, data_root
    from pul_bench.reports.build import run_report
    from pul_bench.reports.recipe import find_recipe, load_recipe

    if workers < 1:
        raise PulBenchError(f"--workers must be at least 1, got {workers}")
    recipe = load_recipe(find_recipe(name))
    out = out or Path("reports") / recipe.name
    command = shlex.join(["pulbench", "report", name,
                          *(["--data-root", str(root)] if root else []), "--out", str(out),
                          *(["--runs", str(runs)] if runs != Path("runs") else []),
                          *(["--workers", str(workers)] if workers != 1 else [])])
    result = run_report(recipe, root or data_root(), out, runs, workers, command,
                        kept or REPO_ROOT / "reports" / "runs", keep)
    for n in result["not_ready"]:
        click.echo(f"not trained: {n['tracker']}"
                   + (f" ({n['checkpoint']})" if n["checkpoint"] else "")
                   + (f"; train with: {n['train']}" if n.get("train") else ""), err=True)
    click.echo(f"wrote {out / 'report.md'}, {out / 'report.json'} and "
               f"{sum(len(s['figures']) for s in result['sections'])} figure files")
