"""Benchmark readers (OTB one-pass, VOT supervised). Boxes come out 0-based."""
