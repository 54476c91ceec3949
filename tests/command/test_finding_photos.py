"""Photos taken when a finding is recorded (现场取证照片): JPEG/PNG/WebP by their bytes, each ≤ 10 MB, at
most 6, kept under the data directory like rectification evidence and shown on the finding; the phone
page records a finding with them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from command_factories import NOW, actor, build_tree
from fastapi.testclient import TestClient
from signin import sign_in, user_headers
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.command.models import Finding
from fangkong.command.service import inspections
from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound, ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 32


def test_photos_checked_stored_and_scoped(session: Session) -> None:
    tree = build_tree(session)
    inspector, other = actor(tree.root, "inspector", "inspector"), actor(tree.d2, "district", "d2")
    with clock.frozen(NOW):
        with pytest.raises(ValidationFailed) as bad:
            inspections.record_finding(session, inspector, kind="onsite", unit_code="G1", item="scan_not_enforced",
                                       severity="low", photo_files=[inspections.Evidence("x.jpg", b"not an image")])
        assert [f.field for f in bad.value.fields] == ["photos"] and "x.jpg" in str(bad.value.fields[0].message)
        with pytest.raises(ValidationFailed):
            inspections.record_finding(session, inspector, kind="onsite", unit_code="G1", item="scan_not_enforced",
                                       severity="low", photo_files=[inspections.Evidence("p.png", PNG)] * 7)
        assert session.query(Finding).count() == 0
        finding, _rect = inspections.record_finding(
            session, inspector, kind="onsite", unit_code="G1", item="scan_not_enforced", severity="low",
            photo_files=[inspections.Evidence("a.png", PNG), inspections.Evidence("b.jpg", JPEG)])
    view = inspections.view(session, inspector, finding.id)
    assert view["photos"] == [f"/command/findings/{finding.id}/photos/1", f"/command/findings/{finding.id}/photos/2"]
    assert inspections.get_photo(session, inspector, finding.id, 1) == ("image/png", PNG)
    assert inspections.get_photo(session, inspector, finding.id, 2) == ("image/jpeg", JPEG)
    with pytest.raises(NotFound):
        inspections.get_photo(session, inspector, finding.id, 3)
    with pytest.raises(NotFound):
        inspections.get_photo(session, other, finding.id, 1)  # outside the subtree


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_phone_page_records_a_finding_with_photos(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    user_headers(session, "insp1", "inspector", tree.root.code)  # the city's inspector, signing in on the page
    session.commit()
    assert sign_in(client, "insp1", "correct-horse-9").status_code == 303
    page = client.get("/command/findings/new")
    assert page.status_code == 200 and 'type="file" name="photos"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/command/findings/new", follow_redirects=False,
                    data={"csrf_token": token, "kind": "onsite", "unit": "G1", "item": "scan_not_enforced",
                          "severity": "medium", "note": "入口无人查码"},
                    files=[("photos", ("entrance.png", PNG, "image/png"))])
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"])
    assert 'data-testid="photos"' in shown.text
    src = re.search(r'<img src="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
    photo = client.get(src)
    assert (photo.status_code, photo.headers["content-type"], photo.content) == (200, "image/png", PNG)
    bad = client.post("/command/findings/new", data={"csrf_token": token, "kind": "onsite", "unit": "G1",
                                                     "item": "scan_not_enforced", "severity": "medium"},
                      files=[("photos", ("notes.txt", b"plain text", "image/png"))])
    assert bad.status_code == 422
