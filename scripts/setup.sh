#!/usr/bin/env bash
# Fresh-machine set-up: a virtual environment with everything pul_bench needs, offline-safe.
#   bash scripts/setup.sh          # install, then run the default evaluation (works offline)
#   bash scripts/setup.sh --no-run # install only
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU build first: a bare `torch` requirement would pull gigabytes of CUDA wheels.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[all]"
# vot-toolkit pulls opencv-python, whose cv2/ lacks ximgproc (EdgeBoxes); the contrib build
# installs the same cv2/ folder, so reinstall it last to make sure its files win.
cv=$(python -m pip show opencv-contrib-python-headless | sed -n 's/^Version: //p')
python -m pip install -q --force-reinstall --no-deps "opencv-contrib-python-headless==$cv"
python -c "import cv2; assert hasattr(cv2, 'ximgproc'), 'cv2 lacks ximgproc'; print('cv2', cv2.__version__, 'with ximgproc')"
if [ "${1:-}" != "--no-run" ]; then
  pulbench trackers
  # a short default job (3 of the shared OTB-layout sequences, 409 frames); the README says
  # how to run all of them
  pulbench eval otb alexpul --sequences Crossing,Football1,Diving --out runs
fi
