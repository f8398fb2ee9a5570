"""pul_bench: evaluate and train single-object trackers without labels (after PUL, CVPR 2021)."""

__version__ = "0.1.0"
