#!/usr/bin/env bash
# Packaging check: build the sdist and wheel with `python -m build`, install the wheel into a
# fresh virtual environment outside the checkout, and run it from there: `pulbench trackers`,
# `pulbench report --help`, the shipped report recipes are found, and the shared published OTB
# results score exactly as the checkout scores them (when the checkout has .venv, or PYTHON_REF
# names a Python that has the dependencies).
#   bash scripts/check_wheel.sh          # needs the real data: $PULBENCH_DATA or ../shared/data
# Build tools go into a scratch environment, never into .venv. Set KEEP=1 to keep the folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
data=${PULBENCH_DATA:-$repo/../shared/data}
data=$(cd "$data" && pwd)
ref=${PYTHON_REF:-$repo/.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/pulbench-wheel.XXXXXX")
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { echo "== [$((SECONDS - start))s] $*"; }

step "build sdist and wheel"
"$PY" -m venv "$work/build-env"
"$work/build-env/bin/python" -m pip install -q build
"$work/build-env/bin/python" -m build -q --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/*.whl)
echo "$(basename "$wheel") $(du -h "$wheel" | cut -f1)"

step "install it into a fresh venv"
"$PY" -m venv "$work/venv"
# the CPU build of torch first, as scripts/setup.sh does (a bare requirement pulls CUDA wheels)
"$work/venv/bin/python" -m pip install -q "torch==2.13.0"
"$work/venv/bin/python" -m pip install -q "$wheel"

step "run it outside the checkout"
cd "$work"
run() { env -u PYTHONPATH -u PULBENCH_TRACKERS -u PULBENCH_DATASETS -u PULBENCH_REPORTS \
          PULBENCH_DATA="$data" "$work/venv/bin/pulbench" "$@"; }
"$work/venv/bin/python" -c "import pul_bench, sys; p = pul_bench.__file__; print(p); \
sys.exit(p.startswith('$repo'))"
run trackers >trackers.txt
head -5 trackers.txt
grep -q "alexpul-bd" trackers.txt
run report --help >report-help.txt
head -3 report-help.txt
set +e
run report no-such-report 2>report.err
rc=$?
set -e
cat report.err
[ "$rc" = 2 ] && grep -q "known: .*compare" report.err

step "score the shared published OTB results"
run score otb2015 "$data"/reference/otb/results/* --json >score.json
"$work/venv/bin/python" -c "import json; d = json.load(open('score.json')); print(len(d), 'keys')"
if [ -x "$ref" ]; then
  (cd "$repo" && env PYTHONPATH="$repo" PULBENCH_DATA="$data" "$ref" -m pul_bench.cli \
     score otb2015 "$data"/reference/otb/results/* --json) >score-checkout.json
  cmp score.json score-checkout.json && echo "identical to the checkout's scores"
fi
step "wheel check passed"
