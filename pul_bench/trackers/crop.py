"""Square crops resized to a network input, with the exact coordinate maps between frame and crop.

Convention (as :mod:`pul_bench.tracker`): continuous 0-based image coordinates in which pixel
(i, j) covers [j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5). A crop of side ``size``
(frame pixels, any real value) centred on ``center`` = (cx, cy) is resampled to ``out_size``
pixels; the frame point (X, Y) lands at

    u = (X - cx) * out_size / size + out_size / 2        (same for Y -> v)

in crop coordinates. The crop is one affine warp with that exact map (bilinear, the area outside
the frame filled with a given colour, e.g. the frame's mean colour as SiamFC pads), so boxes map
to a crop and back without the one-pixel rounding of corner-based crops. :func:`crop_batch` does
the same for a batch of tensors on any device (used for batched temporal mining).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def crop_matrix(center: Sequence[float], size: float, out_size: int) -> np.ndarray:
    """2x3 affine matrix taking frame pixel indices to crop pixel indices (OpenCV convention)."""
    s = out_size / size
    cx, cy = center
    # index = coordinate - 0.5 on both sides of the map above
    return np.array([[s, 0.0, (0.5 - cx) * s + out_size / 2 - 0.5],
                     [0.0, s, (0.5 - cy) * s + out_size / 2 - 0.5]])


def image_to_crop(points: np.ndarray, center: Sequence[float], size: float,
                  out_size: int) -> np.ndarray:
    """Map frame coordinates (..., 2) into crop coordinates."""
    return (np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)) \
        * (out_size / size) + out_size / 2


def crop_to_image(points: np.ndarray, center: Sequence[float], size: float,
                  out_size: int) -> np.ndarray:
    """Map crop coordinates (..., 2) back into frame coordinates (inverse of image_to_crop)."""
    return (np.asarray(points, dtype=np.float64) - out_size / 2) * (size / out_size) \
        + np.asarray(center, dtype=np.float64)


def box_to_crop(box: Sequence[float], center: Sequence[float], size: float,
                out_size: int) -> np.ndarray:
    """An [x, y, w, h] frame box in crop coordinates."""
    b = np.asarray(box, dtype=np.float64)
    xy = image_to_crop(b[:2], center, size, out_size)
    return np.concatenate([xy, b[2:] * (out_size / size)])


def crop_to_box(box: Sequence[float], center: Sequence[float], size: float,
                out_size: int) -> np.ndarray:
    """An [x, y, w, h] crop box back in frame coordinates."""
    b = np.asarray(box, dtype=np.float64)
    xy = crop_to_image(b[:2], center, size, out_size)
    return np.concatenate([xy, b[2:] * (size / out_size)])


def crop_square(image: np.ndarray, center: Sequence[float], size: float, out_size: int,
                fill: Sequence[float]) -> np.ndarray:
    """The ``size``-pixel square around ``center`` resampled to (out_size, out_size, C)."""
    return cv2.warpAffine(image, crop_matrix(center, size, out_size), (out_size, out_size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(float(f) for f in fill))


def crop_pyramid(image: np.ndarray, center: Sequence[float], sizes: Sequence[float],
                 out_size: int, fill: Sequence[float]) -> np.ndarray:
    """Crops of several sizes around one centre (the scale search): (N, out, out, C)."""
    return np.stack([crop_square(image, center, s, out_size, fill) for s in sizes])


def crop_batch(images: torch.Tensor, centers: torch.Tensor, sizes: torch.Tensor, out_size: int,
               fill: torch.Tensor) -> torch.Tensor:
    """Batched :func:`crop_square` on tensors: images (B, C, H, W) float, centers (B, 2) as
    (cx, cy), sizes (B,), fill (B, C) -> (B, C, out, out). Same geometry, bilinear."""
    b, c, h, w = images.shape
    dtype, dev = images.dtype, images.device
    centers = centers.to(dev, dtype).reshape(b, 2)
    sizes = sizes.to(dev, dtype).reshape(b, 1)
    fill = fill.to(dev, dtype).reshape(b, c, 1, 1)
    # crop pixel centre u + 0.5 -> frame coordinate -> grid_sample's [-1, 1] (align_corners=False)
    t = (torch.arange(out_size, device=dev, dtype=dtype) + 0.5) / out_size - 0.5
    xs = (centers[:, :1] + t * sizes) * (2 / w) - 1
    ys = (centers[:, 1:] + t * sizes) * (2 / h) - 1
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)
    out = F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out + fill
