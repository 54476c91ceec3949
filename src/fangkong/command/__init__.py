"""The command centre (指挥部): indicators by unit, frozen daily snapshots and the daily figures.

Reads other capabilities only through their service modules; writes only its own tables."""
