"""``pulbench trackers`` and ``pulbench benchmarks``: what can be run."""

from __future__ import annotations

import click

from pul_bench.benchmarks import all_benchmarks
from pul_bench.io import json_text
from pul_bench.registry import all_specs


@click.command("trackers")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON object (every tracker, with its family) instead of a table.")
@click.option("--all", "every", is_flag=True,
              help="List each member of a family (a matrix spec: training seeds, the Fig. 6 "
                   "grid) on its own line instead of one line per family.")
def trackers_cmd(as_json: bool, every: bool) -> None:
    """List the registered trackers, one line each, and whether each is ready to run. The
    variants one spec file declares (seeds 2 and 3, the Fig. 6 noise grid) share one line."""
    rows = []
    for name, spec in all_specs().items():
        ok, why = spec.ready()
        rows.append({"name": name, "ready": ok, "status": why, "description": spec.description,
                     "source": spec.source, "licence": spec.licence, "origin": spec.origin,
                     "family": spec.family})
    if as_json:
        click.echo(json_text({r["name"]: r for r in rows}))
        return
    lines = rows if every else _families(rows)
    width = max((len(r["name"]) for r in lines), default=4)
    for r in lines:
        click.echo(f"{r['name']:<{width}}  {_mark(r):<9}  {r['description']}")
        if r["status"] and not r["ready"]:
            click.echo(f"{'':<{width}}    {r['status']}")
        if r["licence"] or r["origin"]:  # a pretrained model from elsewhere: its terms and source
            click.echo(f"{'':<{width}}    licence: {r['licence'] or 'not stated'}; "
                       f"from: {r['origin'] or 'not stated'}")
    if not every and len(lines) < len(rows):
        click.echo(f"({len(rows)} trackers in {len(lines)} lines; --all lists each)")


def _families(rows: list[dict]) -> list[dict]:
    """One row per family, where its first member stood: ``k of n ready``, the shared
    reason why not where all members share it (they differ only in the filled-in names)."""
    out: list[dict] = []
    members: dict[str, list[dict]] = {}
    for r in rows:
        family = r["family"]
        if family is None:
            out.append(r)
            continue
        if family not in members:
            members[family] = []
            out.append({"family_of": family})
        members[family].append(r)
    return [r if "family_of" not in r else _family_row(r["family_of"], members[r["family_of"]])
            for r in out]


def _family_row(family: str, rows: list[dict]) -> dict:
    ready = sum(r["ready"] for r in rows)
    first = rows[0]
    return {"name": family, "ready": ready == len(rows), "count": len(rows), "ready_count": ready,
            "status": "" if ready else f"e.g. {first['name']}: {first['status']}",
            "description": f"{len(rows)} trackers ({first['name']} ... {rows[-1]['name']}), "
                           f"from {first['source']}",
            "licence": first["licence"], "origin": first["origin"]}


def _mark(r: dict) -> str:
    if "count" in r and 0 < r["ready_count"] < r["count"]:
        return click.style(f"{r['ready_count']}/{r['count']} ready", fg="yellow")
    return click.style("ready", fg="green") if r["ready"] else click.style("not ready",
                                                                           fg="yellow")


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
