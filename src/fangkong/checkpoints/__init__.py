"""Checkpoints (卡口): inspections, truck e-passes, trips."""
