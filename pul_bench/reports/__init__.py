"""``pulbench report``: the paper's tables and figures regenerated from real runs.

Recipes (``reports/<NAME>.yaml``, schema in :mod:`.recipe`) say which trackers, data and
published values; :mod:`.evaluation` runs what is missing through the ordinary runners and
reuses everything already computed; :mod:`.build` writes ``report.json``, ``report.md`` and the
figures (PNG + PDF), each captioned with the data and scale that produced it.
"""
