"""Checkpoint benches; each part registers its own."""

from fangkong.checkpoints.epass import bench as _epass_bench  # noqa: F401
