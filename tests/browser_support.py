"""What every browser test shares: one generous timeout for actions and `expect` waits.

Browser tests wait for states (a text, an attribute, a URL), never for a fixed time, and give those
states time to come on a loaded 2-core machine; a wait that needs the whole timeout is still a wait
for a state, so a slow machine makes the suite slower, never red.
"""

from __future__ import annotations

#: milliseconds for every Playwright action and `expect` assertion (set in tests/conftest.py for expect)
BROWSER_TIMEOUT_MS = 30_000
