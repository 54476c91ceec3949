"""Policy packs (政策包): parse, store, activate, and read the active pack.

Every stored version stays, so a decision recorded with its `RuleRef` can be explained later with
`get_pack(session, "cn-2022-v9@1")`. Parsed packs are cached by the content's sha256: the active
pack is parsed once per process, however often it is asked for.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed, library_message
from fangkong.kernel.messages import Message, _, message
from fangkong.kernel.policy.models import PolicyPack
from fangkong.kernel.policy.schema import Category, KeyGroup, Measure, Pack
from fangkong.policy_packs import BUNDLED_PACKS, read_pack_text

NOT_YAML = message("policy.not_yaml", _("policy pack is not valid YAML"))
#: the YAML parser's own sentence stays in the English text (the API, logs); people read where it is
YAML_AT = message("policy.yaml_at", _("the YAML cannot be read at line %(line)s, column %(column)s"))
YAML_PROBLEM = message("policy.yaml_problem", _("the YAML cannot be read"))
NOT_MAPPING = message("policy.not_mapping", _("policy pack must be a YAML mapping"))
EXPECTED_MAPPING = message("policy.expected_mapping", _("expected a mapping"))
INVALID_PACK = message("policy.invalid", _("invalid policy pack"))
PACK_CHANGED = message("policy.changed",
                       _("policy pack %(pack)s is already stored with different content; raise its version"))
PACK_NOT_FOUND = message("policy.not_found", _("policy pack %(pack)s not found"))
NO_ACTIVE_INIT = message("policy.no_active_init",
                         _("no active policy pack; run `fangkong init` or `fangkong policy activate`"))
NO_ACTIVE = message("policy.no_active", _("no active policy pack"))


class RuleRef(NamedTuple):
    """Which pack and which rule made a decision (e.g. ("cn-2022-v9@1", "categories.close_contact"))."""

    pack_version: str
    rule: str


#: sha256 of a pack's text → the parsed pack (packs are immutable, so sharing is safe)
_cache: dict[str, Pack] = {}
_cache_lock = threading.Lock()


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "pack"


def parse_pack(text: str) -> Pack:
    """YAML text → a validated Pack; errors as ValidationFailed with one FieldError per problem."""
    try:
        # the C loader when libyaml is there: ten times faster than the pure-Python one
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark is not None else {}
        said = f"{problem} (line {where['line']}, column {where['column']})" if where else problem
        kind = YAML_AT if where else YAML_PROBLEM
        detail = Message.worded(kind.code, kind.template, where, said)
        raise ValidationFailed(NOT_YAML(), [FieldError("yaml", detail)]) from None
    if not isinstance(data, dict):
        raise ValidationFailed(NOT_MAPPING(), [FieldError("pack", EXPECTED_MAPPING())])
    try:
        return Pack.model_validate(data)
    except ValidationError as exc:
        fields = [FieldError(_loc(e["loc"]), library_message(e)) for e in exc.errors(include_url=False)]
        raise ValidationFailed(INVALID_PACK(), fields) from None


def _parsed(row: PolicyPack) -> Pack:
    with _cache_lock:
        pack = _cache.get(row.sha256)
    if pack is None:
        pack = parse_pack(row.content)
        with _cache_lock:
            pack = _cache.setdefault(row.sha256, pack)
    return pack


def _find(session: Session, code: str, version: str) -> PolicyPack | None:
    return session.execute(
        select(PolicyPack).where(PolicyPack.code == code, PolicyPack.version == version)
    ).scalar_one_or_none()


def store_pack(session: Session, actor: Actor, text: str) -> PolicyPack:
    """Validate and store a pack version. The same text again is a no-op; other text under a stored
    code and version is a Conflict (a version, once stored, never changes)."""
    actor.require("policy.manage")
    pack = parse_pack(text)
    digest = sha256_of(text)
    row = _find(session, pack.code, pack.version)
    if row is not None:
        if row.sha256 != digest:
            raise Conflict(PACK_CHANGED(pack=pack.version_tag))
        return row
    row = PolicyPack(code=pack.code, version=pack.version, name=pack.name, content=text, sha256=digest,
                     loaded_at=clock.now(), is_active=False)
    session.add(row)
    session.flush()
    with _cache_lock:
        _cache.setdefault(digest, pack)
    audit.record(session, actor, "policy.stored", object_type="policy_pack", object_id=row.id,
                 version=pack.version_tag, sha256=digest)
    return row


def activate_pack(session: Session, actor: Actor, *, code: str, version: str) -> PolicyPack:
    """Make one stored pack the active one (exactly one is active)."""
    actor.require("policy.manage")
    row = _find(session, code, version)
    if row is None:
        raise NotFound(PACK_NOT_FOUND(pack=f"{code}@{version}"))
    previous = session.execute(
        select(PolicyPack.code, PolicyPack.version).where(PolicyPack.is_active.is_(True), PolicyPack.id != row.id)
    ).first()
    session.execute(update(PolicyPack).where(PolicyPack.id != row.id, PolicyPack.is_active.is_(True))
                    .values(is_active=False).execution_options(synchronize_session="fetch"))
    if not row.is_active:
        row.is_active = True
        row.activated_at = clock.now()
    session.flush()
    audit.record(session, actor, "policy.activated", object_type="policy_pack", object_id=row.id,
                 version=row.version_tag,
                 previous=f"{previous.code}@{previous.version}" if previous else None)
    return row


def ensure_default_pack(session: Session) -> PolicyPack:
    """Store the bundled packs that are not stored (the 9th edition, 二十条, 新十条); activate the default
    if no pack is active. Idempotent: a stored version is never touched, an active pack stays active."""
    row = None
    for name in BUNDLED_PACKS:
        text = read_pack_text(name)
        pack = parse_pack(text)
        found = _find(session, pack.code, pack.version)
        if found is None:
            found = store_pack(session, SYSTEM_ACTOR, text)
        if name == BUNDLED_PACKS[0]:
            row = found
    assert row is not None
    active = _active_row(session)
    if active is None:
        active = activate_pack(session, SYSTEM_ACTOR, code=row.code, version=row.version)
    return active


def _active_row(session: Session) -> PolicyPack | None:
    return session.execute(
        select(PolicyPack).where(PolicyPack.is_active.is_(True)).order_by(PolicyPack.id.desc()).limit(1)
    ).scalar_one_or_none()


#: the one policy read of a hot path (a scan, a check): built once, so a call only executes it
_ACTIVE_SHA = select(PolicyPack.sha256).where(PolicyPack.is_active.is_(True)).order_by(PolicyPack.id.desc()).limit(1)


def active_pack(session: Session) -> Pack:
    """The active pack, parsed once per process (cached by the active row's sha256)."""
    found = session.execute(_ACTIVE_SHA).scalar_one_or_none()
    if found is None:
        raise NotFound(NO_ACTIVE_INIT())
    with _cache_lock:
        pack = _cache.get(found)
    if pack is not None:
        return pack
    row = _active_row(session)
    assert row is not None
    return _parsed(row)


def active_version(session: Session) -> str:
    """The active pack's version tag ("code@version")."""
    row = session.execute(
        select(PolicyPack.code, PolicyPack.version).where(PolicyPack.is_active.is_(True))
        .order_by(PolicyPack.id.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(NO_ACTIVE())
    return f"{row.code}@{row.version}"


def list_packs(session: Session) -> list[PolicyPack]:
    return list(session.execute(select(PolicyPack).order_by(PolicyPack.code, PolicyPack.id)).scalars())


def get_pack_row(session: Session, version_tag: str) -> PolicyPack:
    code, sep, version = version_tag.rpartition("@")
    row = _find(session, code, version) if sep else None
    if row is None:
        raise NotFound(PACK_NOT_FOUND(pack=version_tag))
    return row


def get_pack(session: Session, version_tag: str) -> Pack:
    """A stored pack by "code@version" (also old ones, to explain old decisions)."""
    return _parsed(get_pack_row(session, version_tag))


def export_pack_text(session: Session, version_tag: str | None = None) -> str:
    """The stored YAML text of a pack (the active one by default), byte for byte as loaded."""
    if version_tag is None:
        row = _active_row(session)
        if row is None:
            raise NotFound(NO_ACTIVE())
        return row.content
    return get_pack_row(session, version_tag).content


# -- names of codes a pack does not define ----------------------------------------------------------
@lru_cache(maxsize=1)
def bundled_packs() -> tuple[Pack, ...]:
    """The packs shipped with Fangkong, parsed once (the default first)."""
    return tuple(parse_pack(read_pack_text(name)) for name in BUNDLED_PACKS)


def known_category(code: str | None, pack: Pack | None = None) -> Category | None:
    """A category by code from `pack`, else from the bundled packs (a lead decided under the 9th
    edition keeps its secondary_contact after the 二十条 is activated, and still needs a name)."""
    for p in ([pack] if pack is not None else []) + list(bundled_packs()):
        if code is not None and code in p.categories:
            return p.categories[code]
    return None


def known_measure(code: str | None, pack: Pack | None = None) -> Measure | None:
    """A measure by code from `pack`, else from the bundled packs."""
    for p in ([pack] if pack is not None else []) + list(bundled_packs()):
        if code is not None and code in p.measures:
            return p.measures[code]
    return None


def known_group(code: str | None, pack: Pack | None = None) -> KeyGroup | None:
    """A key group by code from `pack`, else from the bundled packs."""
    for p in ([pack] if pack is not None else []) + list(bundled_packs()):
        for g in p.key_groups:
            if g.code == code:
                return g
    return None


class PackName(Message):
    """A name a pack gives (a category's, a measure's) as a message parameter: the pack's Chinese name
    for Chinese readers, its English name otherwise (no catalog needed: the pack carries both)."""

    zh: str

    def __new__(cls, code: str, name_en: str, name_zh: str) -> PackName:
        obj = super().__new__(cls, code, name_en)
        obj.zh = name_zh
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackName, (self.code, str(self), self.zh))

    def translated(self, locale: str) -> str:
        return str(self) if locale == "en" else self.zh


def pack_name(kind: str, code: str, obj: Any) -> PackName:
    """`obj` (a Category, Measure, KeyGroup, RiskLevel) named for a reader (`kind`: category, measure …)."""
    return PackName(f"policy.{kind}.{code}", obj.name_en, obj.name_zh)
