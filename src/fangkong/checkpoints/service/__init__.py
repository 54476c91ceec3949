"""Checkpoint use cases (卡口), split by use case; the only checkpoint modules that write."""

from fangkong.checkpoints.service import checkpoints, records, reports, trips, verifier

__all__ = ["checkpoints", "records", "reports", "trips", "verifier"]
