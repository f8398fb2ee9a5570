"""A TraX server around any registered tracker, so vot-toolkit (or any TraX client) can run it.

Run as ``python -m pul_bench.interop.trax TRACKER [--checkpoint FILE]``; vot-toolkit starts it
from the ``trackers.ini`` entry that ``pulbench vot-toolkit TRACKER`` prints. The tracker gets
the axis-aligned bounds of the initial region (a polygon is converted the way vot-toolkit
converts it), image files are read as RGB, and the reply is an ``x,y,w,h`` rectangle.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from pul_bench.geometry import polygon_to_box
from pul_bench.registry import create
from pul_bench.tracker import read_image


def region_to_box(region) -> np.ndarray:
    """``[x, y, w, h]`` of a TraX rectangle, or the bounds of a TraX polygon."""
    import trax

    if region.type == trax.Region.RECTANGLE:
        return np.asarray(region.bounds(), dtype=np.float64)
    points = np.asarray([region.get(i) for i in range(region.size())], dtype=np.float64)
    return polygon_to_box(points.reshape(1, -1))[0]


def serve(tracker_name: str, checkpoint: Path | None = None) -> None:
    """Answer TraX requests on stdin/stdout (or the socket the client set) until it quits."""
    import trax

    tracker = create(tracker_name, checkpoint=checkpoint)
    with trax.Server([trax.Region.RECTANGLE, trax.Region.POLYGON], [trax.Image.PATH],
                     tracker_name=tracker_name) as server:
        while True:
            request = server.wait()
            if request.type == trax.TraxStatus.QUIT:
                break
            image = read_image(request.image[trax.ImageChannel.COLOR].path())
            if request.type == trax.TraxStatus.INITIALIZE:
                box = region_to_box(request.objects[0][0])
                tracker.init(image, box)
            else:
                box = np.asarray(tracker.update(image), dtype=np.float64).reshape(4)
            server.status([(trax.Rectangle.create(*(float(v) for v in box)), {})])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pul_bench.interop.trax",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("tracker", help="registered tracker name (see 'pulbench trackers')")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint overriding the spec's")
    args = parser.parse_args(argv)
    serve(args.tracker, args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
