"""The offline verifier page (`fangkong epass verifier-page`) in Debian chromium, opened from a file
with the network off: a pass issued here is green, the revoked one grey with 已吊销, an edited one
签名无效, another plate 车牌不符 — the page's JavaScript gives the platform's verdicts. A page whose
built-in list was tampered with refuses to verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from epass_factories import application, at_now, region, sampled  # noqa: F401

from fangkong.checkpoints.epass import service, verifier_page
from fangkong.checkpoints.epass import token as tk

pytestmark = pytest.mark.browser


def _open(chromium, path: Path):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, offline=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(path.as_uri())
    return page


def _verdict(page, token: str, plate: str = "") -> tuple[str, str, str]:
    from playwright.sync_api import expect

    page.fill("#token", token)
    page.fill("#plate", plate)
    page.fill("#at", "2022-04-18T12:00:00")
    page.evaluate("document.getElementById('verdict').dataset.verdict = ''")
    page.click("#check")
    expect(page.locator("#verdict")).not_to_have_attribute("data-verdict", "")
    box = page.locator("#verdict")
    return box.get_attribute("data-verdict"), box.get_attribute("data-reason"), page.inner_text("#label")


@pytest.mark.usefixtures("region", "at_now")
def test_offline_page_green_revoked_edited(session, system, chromium, tmp_path: Path, artifacts: Path) -> None:
    import epass_vectors as v

    sampled(session, 1, "2022-04-17 09:00")
    sampled(session, 2, "2022-04-17 10:00")
    good, revoked = service.issue_passes(session, system, [
        service.Application(2, application("O1", "苏DA1234", 1)), service.Application(3, application("O2", "苏DB5678", 2))])
    service.revoke(session, system, no=revoked.epass.no, reason="驾驶员阳性")
    path = verifier_page.write(session, system, tmp_path / "page")
    page = _open(chromium, path)
    assert page.locator("#stop").is_hidden()
    assert _verdict(page, good.epass.token) == ("valid", "", "✓ 有效")
    page.screenshot(path=str(artifacts / "epass_offline_valid.png"))
    assert "司机1" in page.inner_text("#details") and "********" in page.inner_text("#details")
    assert _verdict(page, "https://fk.example.cn/v#" + good.epass.token, "苏 d·a1234")[0] == "valid"
    assert _verdict(page, revoked.epass.token) == ("invalid", "revoked", "✕ 已吊销")
    page.screenshot(path=str(artifacts / "epass_offline_revoked.png"))
    h, p, s = good.epass.token.split(".")
    body = json.loads(tk.b64url_decode(p))
    body["exp"] += 30 * 86400
    edited = f"{h}.{tk.b64url_encode(tk.compact_json(body))}.{s}"
    assert _verdict(page, edited)[:2] == ("invalid", "bad_signature")
    assert _verdict(page, good.epass.token, "苏DA9999")[:2] == ("invalid", "plate_mismatch")
    # the platform's forgery vectors get the platform's reasons here too (the page's ring is ours, so
    # the vectors are checked against a page built with the vectors' ring and list)
    vectors_page = tmp_path / "vectors.html"
    crl = tk.sign_revocation_list(sorted(v.REVOKED), v.OUR_KEY, v.KID, iat=v.AT)
    vectors_page.write_text(verifier_page.render(v.jwks(), crl, made_at="2022-04-18T08:00:00+08:00"), encoding="utf-8")
    page = _open(chromium, vectors_page)
    for name, (token, reason) in sorted(v.FORGERIES.items()):
        page.fill("#at", "2022-04-18T08:00:00")
        got = _verdict_at(page, token)
        assert got == (reason or ""), (name, got)
    # a page whose list was edited (a revoked number taken out) refuses to verify
    hh, _pp, ss = crl.split(".")
    tampered = f"{hh}.{tk.b64url_encode(tk.compact_json({'iat': v.AT, 'revoked': []}))}.{ss}"
    bad_page = tmp_path / "tampered.html"
    bad_page.write_text(verifier_page.render(v.jwks(), tampered, made_at="x"), encoding="utf-8")
    page = _open(chromium, bad_page)
    from playwright.sync_api import expect

    expect(page.locator("#stop")).to_contain_text("吊销清单验证失败")
    assert page.locator("#check").is_disabled()


def _verdict_at(page, token: str) -> str:
    from playwright.sync_api import expect

    page.fill("#token", token)
    page.fill("#plate", "")
    page.evaluate("document.getElementById('verdict').dataset.verdict = ''")
    page.click("#check")
    expect(page.locator("#verdict")).not_to_have_attribute("data-verdict", "")
    return page.locator("#verdict").get_attribute("data-reason") or ""
