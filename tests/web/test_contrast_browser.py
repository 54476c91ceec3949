"""Every visible button on the main pages is readable: its text colour against the background it is
drawn on (computed by the browser, transparent layers composited) meets WCAG 2 — 4.5:1 for normal
text, 3:1 for large text. Catches the class of defect where a button is white on white (查看, 标记).

The site is a small demo city (the drill generator and its first day of leads), visited in a real
browser (Debian chromium driven by Playwright) by users of three roles: every page of their menu,
each page's tabs, and a lead, a person and a venue poster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_world import PASSWORD

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit

pytestmark = pytest.mark.browser

DETAIL_PAGES = [re.compile(p) for p in (r"/leads/\d+", r"/persons/\d+", r"/cases/\d+", r"/venues/\d+/poster",
                                        r"/units/\d+", r"/tasks/\d+")]

#: the contrast of every visible, enabled button on the page: [{text, cls, ratio, needed}]
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  const els = document.querySelectorAll("button, .btn, input[type=submit], input[type=button], a[role=button]");
  for (const el of els) {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (el.disabled || s.visibility === "hidden" || s.display === "none" || r.width === 0 || r.height === 0
        || el.offsetParent === null) continue;
    const bg = background(el);
    const fg = over(parse(s.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), weight = parseInt(s.fontWeight, 10) || 400;
    const large = size >= 24 || (size >= 18.66 && weight >= 700);
    out.push({text: (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40),
              cls: el.className, ratio: Math.round(ratio * 100) / 100, needed: large ? 3 : 4.5,
              color: s.color, background: "rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")"});
  }
  return out;
}
"""


@pytest.fixture
def served(live_site: Any) -> Any:
    """A small demo city with its first day of leads, and one user per role to look through."""

    def build(session: Session) -> dict[str, str]:
        from fangkong.drill.city import generate_city
        from fangkong.drill.scenario import seed_scenario

        generate_city(session, persons=300, seed=1)
        seed_scenario(session, leads=30, seed=1)
        users = {}
        for role, level in (("admin", "city"), ("community", "community"), ("grid", "grid")):
            unit = session.execute(select(Unit).where(Unit.level == level).order_by(Unit.path).limit(1)).scalar_one()
            auth_service.create_user(session, SYSTEM_ACTOR, username=f"c_{role}", role=role, unit_code=unit.code,
                                     password=PASSWORD)
            users[role] = f"c_{role}"
        return users

    return live_site(build)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _links(page: Any, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")


@pytest.mark.slow
def test_every_visible_button_has_enough_contrast(served: Any, chromium: Any, artifacts: Path) -> None:
    failures: list[str] = []
    checked = 0
    for role, username in served.data.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60000)
        _sign_in(page, served.base, username)
        menu = _links(page, "nav.main-nav a")
        assert len(menu) >= 5, menu
        pages: list[str] = []
        details: list[str] = []
        for href in menu:
            page.goto(served.base + href)
            pages.append(href)
            pages += [h for h in _links(page, "nav.tabs a") if h and "lang=" not in h]
            # one record page of each kind the page links to (a lead, a person, a case, a poster …)
            hrefs = _links(page, "main a[href]")
            for pattern in DETAIL_PAGES:
                details += [h for h in hrefs if pattern.fullmatch(h or "")][:1]
        for href in dict.fromkeys(pages + details):
            response = page.goto(served.base + href)
            assert response is not None
            if href in details and response.status == 404:
                continue  # a record page is another test's business; its buttons are checked elsewhere
            assert response.status < 400, (role, href, response.status)
            for b in page.evaluate(CONTRAST_JS):
                checked += 1
                if b["ratio"] < b["needed"]:
                    failures.append(f"{role} {href}: {b['text']!r} ({b['cls']}) {b['color']} on {b['background']}"
                                    f" = {b['ratio']}:1, needs {b['needed']}:1")
        if role == "admin":
            page.goto(served.base + "/venues?tab=all")
            page.screenshot(path=str(artifacts / "venues-buttons.png"), full_page=True)
        context.close()
    assert checked > 50
    assert not failures, "\n".join(failures)
