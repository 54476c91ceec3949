"""Random draws keyed by (seed, component, person, day) (counter-based, numpy's Philox).

Each (seed, component, day) is a Philox key; a person's draw is the `person`-th number of that key's
stream. So a draw never depends on which other draws were made, or in which order: a baseline and a
response run of the same seed see the same numbers for the same person on the same day, and every
infection before the first measure is the same in both. Day-free draws (a person's incubation) use
`day = NO_DAY`.
"""

from __future__ import annotations

import zlib

import numpy as np

#: the day index of draws that do not depend on the day
NO_DAY = 0xFFFF_FFFF


def _component(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Draws:
    """The drill's random numbers for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF

    def generator(self, component: str, day: int = NO_DAY) -> np.random.Generator:
        """The stream of (component, day): its k-th number belongs to person k."""
        key = np.array([self.seed, (_component(component) << 32) | (day & 0xFFFF_FFFF)], dtype=np.uint64)
        return np.random.Generator(np.random.Philox(key=key))

    def uniform(self, component: str, n: int, day: int = NO_DAY, width: int = 1) -> np.ndarray:
        """`n` × `width` uniforms in [0, 1): row k is person (or item) k's; `width` 1 gives a vector."""
        out = self.generator(component, day).random(n * width)
        return out if width == 1 else out.reshape(n, width)

    def normal(self, component: str, n: int, day: int = NO_DAY) -> np.ndarray:
        """`n` standard normals, the k-th person k's (Box–Muller on the k-th pair of keyed uniforms)."""
        u = self.uniform(component, n, day, width=2)
        return np.sqrt(-2.0 * np.log1p(-u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
