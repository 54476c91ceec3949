"""Checkpoint commands; each part adds its own."""

from fangkong.checkpoints.epass import cli as _epass_cli  # noqa: F401
