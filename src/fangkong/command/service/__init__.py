"""Command-centre use cases (指挥部); the only command modules that write."""

from fangkong.command.service.indicators import (
    COLUMNS,
    IndicatorRow,
    IndicatorTable,
    indicators,
    late_differences,
    take_snapshot,
)

__all__ = ["COLUMNS", "IndicatorRow", "IndicatorTable", "indicators", "late_differences", "take_snapshot"]
