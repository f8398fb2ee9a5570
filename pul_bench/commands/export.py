"""``pulbench export``: a Siamese tracker's backbone as an ONNX model for deployment.

The model maps images (N, 3, H, W) float32, RGB, raw 0..255 values, to features; height and
width are dynamic, so the same file embeds 127x127 exemplars and 255x255 search crops. The
response is then the features' cross-correlation times ``head_scale`` (stored, with the
architecture and the checkpoint's sha256, in the model's metadata); the tracking procedure
around it is :mod:`pul_bench.trackers.siamfc`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from pul_bench.errors import PulBenchError
from pul_bench.registry import get_spec


def export_onnx(tracker: str, out: Path, checkpoint: Path | None = None,
                opset: int = 17) -> dict[str, str]:
    """Write ``tracker``'s backbone to ``out`` (atomically); returns the metadata stored.

    What cannot work is refused first, in one line each: a tracker without a network, a
    missing checkpoint, then the ``onnx`` extra not installed."""
    spec = get_spec(tracker)
    args = spec.args
    if "backbone" not in args or "head_scale" not in args:
        raise PulBenchError(f"tracker {tracker!r} ({spec.factory}) has no network backbone to "
                            "export; export applies to Siamese trackers (siamfc, alexpul, ...)")
    ckpt = checkpoint or spec.checkpoint
    if ckpt is not None and not Path(ckpt).is_file():
        hint = f"; train it with: {spec.train}" if spec.train else ""
        raise PulBenchError(f"tracker {tracker!r}: checkpoint not found: {ckpt}{hint}")
    try:
        import onnx
    except ImportError:
        raise PulBenchError("export writes ONNX, which needs the onnx extra: "
                            "pip install 'pul_bench[onnx]'") from None
    import torch

    from pul_bench.checkpoint import load_checkpoint
    from pul_bench.io import atomic_path
    from pul_bench.trackers.siamfc import load_net

    net = load_net(args["backbone"], args["head_scale"], ckpt, args.get("init"),
                   args.get("seed", 0))
    meta = {"tracker": tracker, "architecture": args["backbone"],
            "head_scale": str(args["head_scale"]), "input": "RGB float32 0..255, NCHW",
            "weights_sha256": load_checkpoint(ckpt)[1]["sha256"] if ckpt else "random"}
    example = torch.rand(1, 3, args.get("exemplar_size", 127), args.get("exemplar_size", 127))
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net.backbone, (example * 255,), str(tmp), dynamo=False,
                          opset_version=opset, input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "features": {0: "batch", 2: "fheight", 3: "fwidth"}})
        model = onnx.load(str(tmp))
        for key, value in meta.items():
            model.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
    return meta


@click.command("export")
@click.argument("tracker")
@click.option("--onnx", "onnx_file", type=click.Path(path_type=Path, dir_okay=False),
              required=True, help="ONNX file to write (the backbone; dynamic batch and size).")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Weights to export instead of the spec's.")
@click.option("--opset", type=click.IntRange(min=7), default=17, show_default=True,
              help="ONNX opset of the exported graph (older runtimes need lower ones).")
def export_cmd(tracker: str, onnx_file: Path, checkpoint: Path | None, opset: int) -> None:
    """Export TRACKER's backbone for deployment (onnxruntime, TensorRT, OpenVINO)."""
    meta = export_onnx(tracker, onnx_file, checkpoint, opset)
    click.echo(f"wrote {onnx_file} ({meta['architecture']}, weights {meta['weights_sha256'][:12]}"
               f", head_scale {meta['head_scale']})")
