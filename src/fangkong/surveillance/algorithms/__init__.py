"""Detection algorithms (预警算法): pure numpy functions tested against R's `surveillance` and `EpiEstim`."""
