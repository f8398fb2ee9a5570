"""``pulbench report``: the paper's tables and figures regenerated from real runs.

Recipes (``reports/<NAME>.yaml``, dataclasses in :mod:`.recipe`, one per section kind, read by
:mod:`.parse`) say which trackers, data and published values; :mod:`.evaluation` (and
:mod:`.clips` for the clip-length study) runs what is missing through the ordinary runners and
reuses everything already computed. Each section kind is computed into its typed result
(:mod:`.model`; :mod:`.sections`, :mod:`.claims`, :mod:`.compare`), then rendered apart:
``report.json`` (``to_json``), ``report.md`` (:mod:`.markdown`) and the figures, PNG + PDF
(:mod:`.figures`, drawn by :mod:`pul_bench.plots`), whose captions are in the Markdown and JSON.
:mod:`.build` runs the sections and writes the three.
"""
