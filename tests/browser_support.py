"""What every browser test shares: one generous timeout for actions and `expect` waits.

Browser tests wait for states (a text, an attribute, a URL), never for a fixed time, and give those
states time to come on a loaded 2-core machine; a wait that needs the whole timeout is still a wait
for a state, so a slow machine makes the suite slower, never red.
"""

from __future__ import annotations

from typing import Any

#: milliseconds for every Playwright action and `expect` assertion (set in tests/conftest.py for expect)
BROWSER_TIMEOUT_MS = 30_000


def signed_in_page(chromium: Any, base: str, username: str, password: str, *,
                   viewport: tuple[int, int] = (1280, 900)) -> Any:
    """A new browser context signed in through the real login form, Chinese first (zh-CN)."""
    page = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN").new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def click_menu(page: Any, *, text: str | None = None, href: str | None = None) -> None:
    """Follow a main-menu entry by its exact text or its href, opening its section first when the
    bar is grouped into drop-downs (an actor with many entries: kernel/web/nav.py)."""
    import re

    links = page.locator("nav.main-nav a")
    if href is not None:
        link = page.locator(f'nav.main-nav a[href="{href}"]')
    else:
        link = links.filter(has_text=re.compile(f"^\\s*{re.escape(text or '')}\\s*$"))
    link = link.first
    if not link.is_visible():
        link.locator("xpath=ancestor::details[1]/summary").click()
    link.click()
