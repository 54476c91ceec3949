"""Checkpoint routes: the `api` and `pages` routers the app includes (the e-pass part's, until the
other parts add theirs beside them)."""

from fangkong.checkpoints.epass.routes import api, pages

__all__ = ["api", "pages"]
