"""Signed venue codes: forged, altered and rotated codes are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from venues_factories import token_of, units, user, venue

from fangkong.kernel.errors import NotFound, PermissionDenied
from fangkong.venues import codes
from fangkong.venues.service import codes as codes_service


def test_a_token_names_its_venue_and_version() -> None:
    token = codes.make_token(123456, 3)
    assert codes.verify_token(token) == codes.TokenInfo(123456, 3)
    assert codes.verify_token(f"https://fk.example.org/v/{token}?from=wechat") == codes.TokenInfo(123456, 3)


@settings(max_examples=200)
@given(place_id=st.integers(1, 2_000_000), version=st.integers(1, 50), data=st.data())
def test_any_altered_character_is_refused(place_id: int, version: int, data) -> None:
    token = codes.make_token(place_id, version)
    i = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_."))
    altered = token[:i] + replacement + token[i + 1:]
    if altered == token:
        return
    with pytest.raises(codes.BadToken):
        codes.verify_token(altered)


@pytest.mark.parametrize("text", ["", "abc", "1.1", "1.1.short", "0.1.AAAAAAAAAAAAAAAAAAAA",
                                  "1.1.AAAAAAAAAAAAAAAAAAAA", "1.zzzzzzzzzzzzz.AAAAAAAAAAAAAAAAAAAA"])
def test_malformed_and_forged_tokens_are_refused(text: str) -> None:
    with pytest.raises(codes.BadToken):
        codes.verify_token(text)


def test_another_venues_signature_does_not_transfer() -> None:
    a, b = codes.make_token(7, 1), codes.make_token(8, 1)
    forged = f"1.{codes._b36(8)}.{a.rsplit('.', 1)[1]}"
    assert forged != b
    with pytest.raises(codes.BadToken):
        codes.verify_token(forged)


def test_issue_is_idempotent_and_the_page_resolves_the_venue(session, system) -> None:
    place = venue(session, ref="V-1")
    first = codes_service.issue_code(session, system, place_id=place.id)
    assert codes_service.issue_code(session, system, place_id=place.id).id == first.id
    scanned = codes_service.venue_for_token(session, first.token)
    assert (scanned.place_id, scanned.name) == (place.id, "万达广场")
    assert codes_service.find_venue(session, system, "V-1").id == place.id
    assert codes_service.find_venue(session, system, place.code).id == place.id
    assert codes_service.find_venue(session, system, codes_service.venue_url(first.token)).id == place.id


def test_a_rotated_code_is_refused_and_the_new_one_works(session, system) -> None:
    place = venue(session)
    old = token_of(session, place)
    new = codes_service.rotate_code(session, system, place_id=place.id)
    assert new.key_version == 2 and new.token != old
    with pytest.raises(codes_service.CodeRefused) as exc:
        codes_service.venue_for_token(session, old)
    assert exc.value.revoked and exc.value.status == 404
    assert codes_service.venue_for_token(session, new.token).place_id == place.id
    # a well-signed token of a version never issued is refused too
    with pytest.raises(codes_service.CodeRefused):
        codes_service.venue_for_token(session, codes.make_token(place.id, 9))


def test_a_forged_code_is_a_400(session) -> None:
    place = venue(session)
    token = token_of(session, place)
    with pytest.raises(codes_service.CodeRefused) as exc:
        codes_service.venue_for_token(session, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert exc.value.status == 400 and not exc.value.revoked


def test_codes_need_the_permission_and_the_jurisdiction(session) -> None:
    a, b = units(session)
    place_b = venue(session, unit=b)
    manager_a = user(session, "vmanager_a", "district", a)
    viewer = user(session, "vviewer", "viewer", a)
    with pytest.raises(PermissionDenied):
        codes_service.issue_code(session, viewer, place_id=place_b.id)
    with pytest.raises(NotFound):
        codes_service.rotate_code(session, manager_a, place_id=place_b.id)
    with pytest.raises(NotFound):
        codes_service.find_venue(session, manager_a, place_b.code)
