"""Person matching (人员匹配), shared by every channel: pure scoring over candidates, no session, no clock.

Matching order (decisions.md, "Identity fields"):

1. `id_number`    — the same valid ID number (blind index). Two different valid numbers never merge.
2. `phone_name`   — the same valid phone and the same name key (traditional/simplified, full-width
                    and spaces already folded by the name key). A phone with another name is another
                    person (families share phones). A lead or person without a name matches by phone
                    alone (`phone`), when that is unambiguous.
3. `name_address` — the same name key and the same normalised address on the same grid (an address
                    the gazetteer could not place on a grid never takes part).
4. `fuzzy_name`   — a one-character typo of the name (same length, surname kept) with corroborating
                    fields: the phone, the address, the birth date. A 3+ character name needs one,
                    a 2-character name two — 张国/张伟 sharing a phone are father and son far more
                    often than a typo.

A name alone never merges. `Registry` holds the candidates of one import batch (loaded from the
database by the batch's keys) and the persons the batch creates, so rows of one file resolve against
each other exactly as against stored persons.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from fangkong.kernel.jurisdictions.address import normalise_address

#: minimum normalised Levenshtein similarity for a typo, by name length (tested on 2–3-char names:
#: 欧阳娜/欧阳那 = 0.67, 王小明/王晓明 = 0.67, 张伟/张纬 = 0.5, 张伟/张伟伟 = 0.67 but a different length)
TYPO_MIN_SIMILARITY = {2: 0.5, 3: 0.66, 4: 0.75}
#: corroborating fields a fuzzy name needs, by name length (longer names: 1)
CORROBORATORS_NEEDED = {2: 2}

RULES = ("id_number", "phone_name", "phone", "name_address", "fuzzy_name", "new_person")


@lru_cache(maxsize=65536)
def address_key(text: str | None) -> str | None:
    """The gazetteer's canonical key of a free-text address (None when empty)."""
    if not text or not text.strip():
        return None
    return normalise_address(text).key or None


def name_similarity(a: str, b: str) -> float:
    """Normalised Levenshtein similarity (0–1) of two name keys: the explicit scorer for names."""
    return Levenshtein.normalized_similarity(a, b)


def is_name_typo(a: str | None, b: str | None) -> bool:
    """One character substituted, surname (first character) kept, similarity at the length's threshold.

    Insertions and deletions are not typos here: 张伟/张伟伟 are two people far more often than not.
    """
    if not a or not b or a == b or len(a) != len(b) or len(a) < 2 or a[0] != b[0]:
        return False
    if sum(1 for x, y in zip(a, b, strict=True) if x != y) != 1:
        return False
    return name_similarity(a, b) >= TYPO_MIN_SIMILARITY.get(len(a), 0.75)


@dataclass
class Candidate:
    """A person as the matcher sees them (ids and keys only, no clear personal data)."""

    person_id: int | None
    name_key: str | None = None
    id_bidx: str | None = None
    phone_bidx: str | None = None
    unit_id: int | None = None
    address_id: int | None = None
    address_text: str | None = None
    birth_date: dt.date | None = None
    #: position of the batch row that created it (None for stored persons)
    created_by_row: int | None = None

    @property
    def address_key(self) -> str | None:
        return address_key(self.address_text)


@dataclass(frozen=True)
class Probe:
    """What a lead offers for matching: only valid ID and phone numbers are keys."""

    name_key: str | None = None
    id_bidx: str | None = None
    phone_bidx: str | None = None
    unit_id: int | None = None
    address_id: int | None = None
    address_text: str | None = None
    birth_date: dt.date | None = None

    @property
    def address_key(self) -> str | None:
        return address_key(self.address_text)

    @property
    def findable(self) -> bool:
        return bool(self.id_bidx or self.phone_bidx or (self.name_key and self.address_key))


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    rule: str
    #: for fuzzy matches: the corroborating fields ("phone", "address", "birth_date")
    because: tuple[str, ...] = ()


def _conflicting_ids(probe: Probe, cand: Candidate) -> bool:
    return bool(probe.id_bidx and cand.id_bidx and probe.id_bidx != cand.id_bidx)


def _same_address(probe: Probe, cand: Candidate) -> bool:
    if probe.address_id is not None and probe.address_id == cand.address_id:
        return True
    key = probe.address_key
    # "on the same grid": an address the gazetteer did not place proves nothing
    return key is not None and probe.unit_id is not None and key == cand.address_key and probe.unit_id == cand.unit_id


def corroborators(probe: Probe, cand: Candidate) -> tuple[str, ...]:
    out: list[str] = []
    if probe.phone_bidx and probe.phone_bidx == cand.phone_bidx:
        out.append("phone")
    if _same_address(probe, cand):
        out.append("address")
    if probe.birth_date is not None and probe.birth_date == cand.birth_date:
        out.append("birth_date")
    return tuple(out)


def _first(cands: list[Candidate]) -> Candidate:
    # stored persons first (lowest id), then the batch's new persons in row order
    return min(cands, key=lambda c: (c.person_id is None, c.person_id or 0, c.created_by_row or 0))


@dataclass
class Registry:
    """Candidates indexed by ID, phone, address and (name, unit); `match` applies the rules in order."""

    by_id: dict[str, Candidate] = field(default_factory=dict)
    by_phone: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    by_address_id: dict[int, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    by_name_unit: dict[tuple[str, int | None], list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    _seen: set[int] = field(default_factory=set)

    def add(self, cand: Candidate) -> None:
        if cand.person_id is not None:
            if cand.person_id in self._seen:
                return
            self._seen.add(cand.person_id)
        if cand.id_bidx:
            self.by_id.setdefault(cand.id_bidx, cand)
        if cand.phone_bidx:
            self.by_phone[cand.phone_bidx].append(cand)
        if cand.address_id is not None:
            self.by_address_id[cand.address_id].append(cand)
        if cand.name_key:
            self.by_name_unit[(cand.name_key, cand.unit_id)].append(cand)

    def reindex(self, cand: Candidate, *, id_bidx: str | None = None, phone_bidx: str | None = None,
                name_key: str | None = None, address_id: int | None = None) -> None:
        """Index keys a merged lead added to a person (so later rows of the batch see them)."""
        if id_bidx and not cand.id_bidx:
            cand.id_bidx = id_bidx
            self.by_id.setdefault(id_bidx, cand)
        if phone_bidx and not cand.phone_bidx:
            cand.phone_bidx = phone_bidx
            self.by_phone[phone_bidx].append(cand)
        if name_key and not cand.name_key:
            cand.name_key = name_key
            self.by_name_unit[(name_key, cand.unit_id)].append(cand)
        if address_id is not None and cand.address_id is None:
            cand.address_id = address_id
            self.by_address_id[address_id].append(cand)

    def match(self, probe: Probe) -> Match | None:
        # 1. valid ID number
        if probe.id_bidx and probe.id_bidx in self.by_id:
            return Match(self.by_id[probe.id_bidx], "id_number")
        phone_cands = [c for c in self.by_phone.get(probe.phone_bidx or "", ()) if not _conflicting_ids(probe, c)]
        # 2. phone + the same name (or a side without a name)
        if phone_cands:
            if probe.name_key:
                same = [c for c in phone_cands if c.name_key == probe.name_key]
                if same:
                    return Match(_first(same), "phone_name")
                nameless = [c for c in phone_cands if not c.name_key]
                if nameless:
                    return Match(_first(nameless), "phone")
            else:
                if len(phone_cands) == 1:
                    return Match(phone_cands[0], "phone")
                nameless = [c for c in phone_cands if not c.name_key]
                if nameless:
                    return Match(_first(nameless), "phone")
                # a phone shared by several named persons: attach to none of them
        if not probe.name_key:
            return None
        # 3. the same name and address on the same unit
        household = self._near(probe)
        same_place = [c for c in household if c.name_key == probe.name_key and _same_address(probe, c)
                      and not _conflicting_ids(probe, c)]
        if same_place:
            return Match(_first(same_place), "name_address")
        # 4. a typo of the name with corroborating fields
        best: tuple[int, Candidate, tuple[str, ...]] | None = None
        for c in {id(c): c for c in phone_cands + household}.values():
            if _conflicting_ids(probe, c) or not is_name_typo(probe.name_key, c.name_key):
                continue
            why = corroborators(probe, c)
            if len(why) >= CORROBORATORS_NEEDED.get(len(probe.name_key), 1) and (
                    best is None or len(why) > best[0]):
                best = (len(why), c, why)
        if best is not None:
            return Match(best[1], "fuzzy_name", best[2])
        return None

    def _near(self, probe: Probe) -> list[Candidate]:
        """Candidates sharing the probe's address row or its (name, unit)."""
        out: list[Candidate] = []
        if probe.address_id is not None:
            out.extend(self.by_address_id.get(probe.address_id, ()))
        if probe.address_key:
            out.extend(self.by_name_unit.get((probe.name_key or "", probe.unit_id), ()))
        return list({id(c): c for c in out}.values())
