"""Backbones and the Siamese network shared by the trackers and by ``pul_train``."""
