"""Security headers (安全响应头) on every response, and pages that work under their CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from web_world import PASSWORD, build_world

from fangkong.kernel.web.security import CSP

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize("path", ["/login", "/api/v1/persons", "/no-such-page", "/api/v1/no-such", "/healthz"])
def test_every_answer_carries_the_security_headers(client, path):
    answer = client.get(path)
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (path, name)
    csp = answer.headers["content-security-policy"]
    assert csp == CSP
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert answer.headers.get("cache-control") == "no-store"  # personal data is never cached
    assert "server" not in answer.headers


def test_static_assets_may_be_cached_and_api_docs_get_their_own_policy(client):
    static = client.get("/static/js/app.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"
    docs = client.get("/api/v1/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


def test_no_template_has_inline_script_or_event_handlers():
    import re

    import fangkong

    root = Path(fangkong.__file__).parent
    offenders = []
    for html in root.rglob("templates/**/*.html"):
        text = html.read_text(encoding="utf-8")
        for m in re.finditer(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", text, re.S):
            if "src=" not in m["attrs"] and "application/json" not in m["attrs"] and m["body"].strip():
                offenders.append(f"{html.relative_to(root)}: inline <script>")
        for m in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{html.relative_to(root)}: inline handler {m.group(0).strip()}")
    assert not offenders, offenders


@pytest.mark.browser
def test_pages_run_under_the_policy_without_violations(live_site: Any, chromium: Any) -> None:
    """Sign in, open the inbox, the person page and the unit tree, close a toast: the browser reports no
    CSP violation (a blocked inline script or handler would be one) and the behaviours still work."""
    from playwright.sync_api import expect

    served = live_site(build_world)
    w = served.data
    context = chromium.new_context(locale="zh-CN")
    context.add_init_script("""window.__csp = [];
      document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(served.base + "/login")
    page.fill("#username", w.worker_username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")
    for path in ("/tasks", f"/persons/{w.person_a_id}", "/units"):
        page.goto(served.base + path)
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate("window.__csp") == [], (path, page.evaluate("window.__csp"))
    expand = page.locator("button.expand").first
    if expand.count():
        expand.click()
        expect(expand).to_be_disabled()
    # a toast from a refused action closes with its button (formerly an inline onclick)
    page.goto(served.base + f"/persons/{w.person_a_id}")
    page.evaluate("""() => { const t = document.createElement('div'); t.className = 'toast';
        t.innerHTML = '<button type="button" class="toast-close" data-close-toast>×</button><strong>x</strong>';
        document.getElementById('toasts').appendChild(t); }""")
    page.locator("#toasts [data-close-toast]").click()
    expect(page.locator("#toasts .toast")).to_have_count(0)
    assert page.evaluate("window.__csp") == []
    context.close()
