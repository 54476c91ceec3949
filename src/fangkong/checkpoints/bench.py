"""Checkpoint benches; each part registers its own."""

from fangkong.checkpoints import bench_inspection as _inspection_bench  # noqa: F401
from fangkong.checkpoints.epass import bench as _epass_bench  # noqa: F401
