"""Build a report: compute every section into its typed result (:mod:`.model`), then render
the results as figures (PNG + PDF, :mod:`.figures`), ``report.json`` (every number) and
``report.md`` (tables, captions, what is not trained and how to train it, :mod:`.markdown`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pul_bench import __version__
from pul_bench.errors import PulBenchError
from pul_bench.io import progress_bar, write_json, write_text
from pul_bench.reports import evaluation as ev
from pul_bench.reports import figures, markdown, sections
from pul_bench.reports.claims import claims
from pul_bench.reports.compare import compare, published_dirs
from pul_bench.reports.model import Computed, unique
from pul_bench.reports.recipe import Recipe, Section

#: section kind -> what computes its result
COMPUTE: dict[str, Callable[[ev.Context, Recipe, Section, dict[str, Any]], Computed]] = {
    "table": sections.table, "curve": sections.curve, "clip-length": sections.clip_length,
    "compare": compare, "claims": claims,
}


def run_report(recipe: Recipe, data_root: Path, out: Path, runs: Path, workers: int = 1,
               command: str = "", kept: Path | None = None, keep: bool = False
               ) -> dict[str, Any]:
    """Run every section of ``recipe``; write its outputs into ``out``; return the JSON.

    ``kept``: a folder of committed results that stand in for absent checkpoints (see
    :mod:`.evaluation`); with ``keep``, what runs is copied there."""
    ctx = ev.Context(data_root=Path(data_root), runs=Path(runs), workers=workers,
                     kept=None if kept is None else Path(kept), keep=keep)
    data = _data(ctx, recipe)
    for sec in recipe.sections:
        if sec.kind == "compare":
            published_dirs(ctx, recipe, sec)  # a wrong folder fails before anything runs
    done: list[tuple[Computed, list[Path]]] = []
    with progress_bar(recipe.sections, desc=f"report {recipe.name}", unit="section",
                      dynamic_ncols=True) as bar:
        for sec in bar:
            bar.set_postfix_str(sec.id)
            res = COMPUTE[sec.kind](ctx, recipe, sec, data)
            done.append((res, figures.draw(res, Path(out), data)))
    not_ready = unique([n for res, _ in done for n in res.not_ready])
    result = {
        "report": recipe.name, "title": recipe.title, "scale": recipe.scale,
        "recipe": _shown_recipe(recipe), "command": command, "pul_bench": __version__,
        "runs": str(runs), "data": data,
        "sections": [res.to_json(files) for res, files in done],
        "not_ready": [n.to_json() for n in not_ready],
    }
    write_json(Path(out) / "report.json", result)
    write_text(Path(out) / "report.md", markdown.report(recipe, _shown_recipe(recipe), data,
                                                        done, not_ready, command))
    return result


def _data(ctx: ev.Context, recipe: Recipe) -> dict[str, dict[str, Any]]:
    """What each data source the sections use holds; none may be empty."""
    used = sorted({k for s in recipe.sections for k in s.data_keys()})
    data = {k: ev.data_summary(ctx, recipe.data[k]) for k in used}
    for k, d in data.items():
        if not d["sequences"]:
            raise PulBenchError(f"{recipe.source}: data '{k}': no {d['benchmark']} sequences "
                                f"under {ctx.root(recipe.data[k])}")
    return data


def _shown_recipe(recipe: Recipe) -> str:
    from pul_bench.paths import REPO_ROOT

    src = recipe.source.resolve()
    return str(src.relative_to(REPO_ROOT)) if src.is_relative_to(REPO_ROOT) else str(src)
