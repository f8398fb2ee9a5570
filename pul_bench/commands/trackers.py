"""``pulbench trackers`` and ``pulbench benchmarks``: what can be run."""

from __future__ import annotations

import click

from pul_bench.benchmarks import all_benchmarks
from pul_bench.io import json_text
from pul_bench.registry import all_specs


@click.command("trackers")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def trackers_cmd(as_json: bool) -> None:
    """List every registered tracker, one line each, and whether it is ready to run."""
    rows = []
    for name, spec in all_specs().items():
        ok, why = spec.ready()
        rows.append({"name": name, "ready": ok, "status": why, "description": spec.description,
                     "source": spec.source, "licence": spec.licence, "origin": spec.origin})
    if as_json:
        click.echo(json_text({r["name"]: r for r in rows}))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        mark = click.style("ready", fg="green") if r["ready"] else click.style("not ready",
                                                                               fg="yellow")
        click.echo(f"{r['name']:<{width}}  {mark:<9}  {r['description']}")
        if not r["ready"]:
            click.echo(f"{'':<{width}}    {r['status']}")
        if r["licence"] or r["origin"]:  # a pretrained model from elsewhere: its terms and source
            click.echo(f"{'':<{width}}    licence: {r['licence'] or 'not stated'}; "
                       f"from: {r['origin'] or 'not stated'}")


@click.command("benchmarks")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a list.")
def benchmarks_cmd(as_json: bool) -> None:
    """List the benchmarks `eval` and `score` accept, with their metric and official source."""
    rows = {name: {"kind": b.kind, "layout": b.layout,
                   "sequences": len(b.sequences) if b.sequences is not None else None,
                   "convention": b.convention, "metric": b.metric, "source": b.source,
                   "description": b.description} for name, b in all_benchmarks().items()}
    if as_json:
        click.echo(json_text(rows))
        return
    for name, r in rows.items():
        n = f"{r['sequences']} seqs" if r["sequences"] is not None else "folder"
        click.echo(f"{name:<12} {r['kind']:<6} {n:>9}  {r['description']}")
        if r["metric"]:
            click.echo(f"{'':<12} metric: {r['metric']}; source: {r['source']}")
