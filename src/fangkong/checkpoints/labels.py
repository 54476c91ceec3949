"""Labels of checkpoint codes; each part registers its own."""

from fangkong.checkpoints.epass import labels as _epass_labels  # noqa: F401
