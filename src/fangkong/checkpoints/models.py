"""Checkpoint tables; each part's own models module defines them."""

from fangkong.checkpoints.epass.models import *  # noqa: F403
