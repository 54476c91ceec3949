"""Checkpoint use cases (卡口), split by use case; the only checkpoint modules that write."""

# the e-pass part registers its verification at the one boundary (`verifier.register_verifier`)
from fangkong.checkpoints.epass import service as _epass_service  # noqa: F401
from fangkong.checkpoints.service import checkpoints, figures, records, reports, trips, verifier

__all__ = ["checkpoints", "figures", "records", "reports", "trips", "verifier"]
