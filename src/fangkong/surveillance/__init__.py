"""Sentinel surveillance and early warning (哨点监测与预警): detection algorithms, `fangkong surveillance`."""
