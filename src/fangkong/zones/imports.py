"""`fangkong import zones FILE`: zones drawn by file (zone_ref, level, units or addresses, starts_at,
reason), one report line per row; a zone_ref already stored is `duplicate`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError
from fangkong.kernel.messages import FieldIssue, _, message, translate
from fangkong.kernel.tabular import ReportRow, Row
from fangkong.zones.models import Zone
from fangkong.zones.service import zones as zones_service

ZONE_COLUMNS: dict[str, list[str]] = {
    "zone_ref": ["区域编号", "编号", "zone_ref", "ref", "reference"],
    "name": ["区域名称", "名称", "name", "zone name"],
    "level": ["等级", "风险等级", "level", "risk level"],
    "units": ["属地编码", "网格编码", "小区/村编码", "units", "unit", "unit_code", "grid"],
    "addresses": ["地址", "地址列表", "addresses", "address"],
    "starts_at": ["开始时间", "starts_at", "start_at", "start"],
    "reason": ["原因", "划定原因", "reason"],
}
ZONE_REQUIRED = ["level"]

LEVEL_WORDS = {"高": "high", "高风险": "high", "高风险区": "high", "封控区": "high", "high": "high",
               "中": "medium", "中风险": "medium", "中风险区": "medium", "管控区": "medium", "medium": "medium",
               "低": "low", "低风险": "low", "低风险区": "low", "防范区": "low", "low": "low"}
REF_TOO_LONG = message("zone.ref_too_long", _("at most %(max)s characters"))
BAD_TIME = message("zone.bad_time", _("not a date or time: %(value)s"))
_SPLIT = re.compile(r"[;；、|\n]+")


def _split(text: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(text or "") if p.strip()]


def import_zones(session: Session, actor: Actor, *, rows: Iterable[Row]) -> list[ReportRow]:
    """Draw one zone per row (each in its own savepoint: one bad row never stops the others)."""
    actor.require("zone.manage")
    out: list[ReportRow] = []
    for row in rows:
        v = row.values
        ref = (v.get("zone_ref") or "").strip() or None
        if ref is not None and len(ref) > 64:
            out.append(ReportRow(row.number, "rejected", issues=[FieldIssue("zone_ref", translate(
                REF_TOO_LONG(max=64), "en"))]))
            continue
        if ref is not None:
            existing = session.execute(select(Zone.id).where(Zone.ref == ref)).scalar()
            if existing is not None:
                out.append(ReportRow(row.number, "duplicate", extra={"zone_id": existing}))
                continue
        issues: list[str] = []
        level = LEVEL_WORDS.get((v.get("level") or "").strip().lower(), (v.get("level") or "").strip())
        starts_at = None
        if (v.get("starts_at") or "").strip():
            try:
                starts_at = clock.parse_time(v["starts_at"])
            except Exception:
                issues.append(FieldIssue("starts_at", translate(BAD_TIME(value=v["starts_at"]), "en")))
        if issues:
            out.append(ReportRow(row.number, "rejected", issues=issues))
            continue
        try:
            with session.begin_nested():
                result = zones_service.draw_zone(session, actor, level=level, reason=v.get("reason") or "",
                                                 units=_split(v.get("units") or ""),
                                                 addresses=_split(v.get("addresses") or ""),
                                                 starts_at=starts_at, name=(v.get("name") or "").strip() or None,
                                                 ref=ref)
        except DomainError as exc:
            fields = getattr(exc, "fields", None) or []
            issues = [FieldIssue(_field(f.field), translate(f.message, "en")) for f in fields] or [
                translate(exc.message, "en") if hasattr(exc, "message") else str(exc)]
            out.append(ReportRow(row.number, "rejected", issues=issues))
            continue
        z = result.zone
        out.append(ReportRow(row.number, "accepted", extra={"zone_id": z.id, "addresses": z.addresses,
                                                            "households": z.households, "residents": z.residents}))
    return out


def import_zones_file(session: Session, actor: Actor, path: Path) -> list[ReportRow]:
    """A zones file (CSV or XLSX) → its report, in file order."""
    from fangkong.kernel.tabular import read_table

    table = read_table(path, ZONE_COLUMNS, required_any=ZONE_REQUIRED)
    return table.report(import_zones(session, actor, rows=list(table)))


def _field(name: str) -> str:
    """`addresses.2` → `addresses` (the file's column)."""
    return name.split(".", 1)[0]


# ------------------------------------------------------------------------------ special needs

SPECIAL_NEED_COLUMNS: dict[str, list[str]] = {
    "name": ["姓名", "名字", "人员姓名", "name", "full name"],
    "id_number": ["身份证号", "身份证号码", "身份证", "证件号码", "公民身份号码", "id_number", "id no", "id"],
    "phone": ["手机号", "手机号码", "手机", "联系电话", "电话", "phone", "mobile"],
    "address": ["住址", "现住址", "地址", "居住地址", "address"],
    "need": ["特殊需求", "特殊人群", "人群类别", "类别", "需求", "need", "needs", "special need"],
    "note": ["备注", "说明", "情况说明", "note", "notes"],
}
#: the words communities write for each need (the code itself and the Chinese label are read too)
NEED_WORDS = {"独居老人": "elderly_alone", "独居": "elderly_alone", "空巢老人": "elderly_alone",
              "独居老年人": "elderly_alone", "残疾": "disabled", "残疾人": "disabled", "残障": "disabled",
              "失能": "disabled", "孕产妇": "pregnant", "孕妇": "pregnant", "产妇": "pregnant", "怀孕": "pregnant",
              "慢病治疗中": "chronic_treatment", "慢病": "chronic_treatment", "慢性病": "chronic_treatment",
              "慢性病治疗": "chronic_treatment", "透析": "chronic_treatment", "化疗": "chronic_treatment",
              "elderly_alone": "elderly_alone", "disabled": "disabled", "pregnant": "pregnant",
              "chronic_treatment": "chronic_treatment"}
UNKNOWN_NEED_WORD = message("special_need.unknown", _("unknown need %(text)s: one of 独居老人, 残疾, 孕产妇, 慢病治疗中"))
NEED_PERSON = message("special_need.need_person", _("give id_number, or phone and name"))


def _needs(text: str) -> tuple[list[str], list[str]]:
    """The need codes a cell names (several separated by ;、,), and the words not understood."""
    codes, unknown = [], []
    for word in re.split(r"[;；、,，|/\s]+", text or ""):
        word = word.strip()
        if not word:
            continue
        code = NEED_WORDS.get(word) or NEED_WORDS.get(word.lower())
        if code is None:
            unknown.append(word)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


def import_special_needs(session: Session, actor: Actor, path: Path) -> list[ReportRow]:
    """`fangkong import special-needs FILE`: the community's list of residents with special needs
    (独居老人、残疾、孕产妇、慢病治疗中), one person a row with one or several needs. The person is
    found by ID number (or phone and name) through the one matcher, registered from the row when
    unknown; a need already recorded for the person is `duplicate`, so a file read again changes nothing."""
    from fangkong.kernel.errors import REQUIRED
    from fangkong.kernel.people import service as people_service
    from fangkong.kernel.people.resolution import find_known
    from fangkong.kernel.tabular import read_table
    from fangkong.zones.service import help as help_service

    actor.require("task.work")
    table = read_table(Path(path), SPECIAL_NEED_COLUMNS, required_any=["need"])
    out: list[ReportRow] = []
    for chunk in table.chunks():
        todo: list[tuple[ReportRow, int, list[str], str]] = []
        for row in chunk:
            v = row.values
            rep = ReportRow(row.number, "rejected", extra={"need": ""})
            out.append(rep)
            codes, unknown = _needs(v.get("need") or "")
            if unknown:
                rep.issues.append(FieldIssue("need", UNKNOWN_NEED_WORD(text="、".join(unknown)[:40])))
            elif not codes:
                rep.issues.append(FieldIssue("need", REQUIRED()))
            id_number, phone, name = (v.get(k, "").strip() for k in ("id_number", "phone", "name"))
            if not id_number and not (phone and name):
                rep.issues.append(FieldIssue("id_number", NEED_PERSON()))
            if rep.issues:
                continue
            ids, issue = find_known(session, id_number=id_number or None, phone=None if id_number else phone,
                                    name=name or None)
            if issue:
                rep.issues.append(issue)
                continue
            if ids:
                pid = ids[0]
            else:
                try:
                    with session.begin_nested():
                        pid = people_service.register_person(
                            session, actor, name=name or None, id_number=id_number or None, phone=phone or None,
                            address_text=v.get("address") or None, source="zones", strict=False).id
                except DomainError as exc:
                    rep.issues.extend(FieldIssue(f.field, f.message) for f in getattr(exc, "fields", []) or [])
                    if not rep.issues:
                        rep.issues.append(FieldIssue("id_number", exc.message))
                    continue
            rep.person_id = pid
            rep.extra["need"] = ";".join(codes)
            todo.append((rep, pid, codes, (v.get("note") or "").strip()))
        items = [(pid, code, note) for _rep, pid, codes, note in todo for code in codes]
        created = iter(help_service.record_special_needs(session, actor, items))
        for rep, _pid, codes, _note in todo:
            new = [next(created) for _c in codes]
            rep.status = "accepted" if any(new) else "duplicate"
    return table.report(out)


# ------------------------------------------------------------------------------ a round's samples

ROUND_COLUMN: dict[str, list[str]] = {"round": ["轮次", "核酸轮次", "区域核酸轮次", "轮次编号", "round", "round_id",
                                                "round id"]}
UNKNOWN_ROUND = message("round.unknown", _("no testing round %(text)s in your area: the sample is stored, it counts "
                                           "for the round of its time"))


def mark_round_samples(session: Session, actor: Actor, path: Path, rows: Iterable[ReportRow], *,
                       round_id: int | None = None) -> list[ReportRow]:
    """`fangkong import round-samples`: testing's sample report with each row's round (the file's
    optional `round` column, else `--round`) and whether the sampled person is one of its targets;
    the rounds named are refreshed at once, so their coverage shows the samples. A sample counts for
    a round by its time either way: an unknown round is an issue on the row, never a rejection."""
    from fangkong.kernel.errors import NotFound
    from fangkong.kernel.tabular import UnusableFile, read_table
    from fangkong.zones.models import RoundTarget
    from fangkong.zones.service import rounds as rounds_service

    named: dict[int, str] = {}
    with contextlib.suppress(UnusableFile):  # no round column: --round names it, or rows count by their time
        named = {r.number: (r.values.get("round") or "").strip() for r in read_table(
            Path(path), ROUND_COLUMN, required_any=["round"])}
    rounds: dict[str, Any] = {}
    out = list(rows)
    wanted: dict[int, set[int]] = {}
    for rep in out:
        text = named.get(rep.row) or (str(round_id) if round_id else "")
        rep.extra.setdefault("round_id", "")
        rep.extra.setdefault("round_target", "")
        if not text:
            continue
        if text not in rounds:
            try:
                rounds[text] = (rounds_service.get_round(session, actor, int(text))
                                if text.isascii() and text.isdigit() and len(text) <= 9 else None)
            except NotFound:
                rounds[text] = None
        rnd = rounds[text]
        if rnd is None:
            rep.issues.append(FieldIssue("round", translate(UNKNOWN_ROUND(text=text[:20]), "en")))
            continue
        rep.extra["round_id"] = rnd.id
        if rep.person_id is not None:
            wanted.setdefault(rnd.id, set()).add(rep.person_id)
    targets: set[tuple[int, int]] = set()
    for rid, pids in wanted.items():
        targets.update((rid, p) for p in session.execute(select(RoundTarget.person_id).where(
            RoundTarget.round_id == rid, RoundTarget.person_id.in_(sorted(pids)))).scalars())
    for rep in out:
        if rep.extra["round_id"] != "" and rep.person_id is not None:
            rep.extra["round_target"] = "yes" if (rep.extra["round_id"], rep.person_id) in targets else "no"
    now = clock.now()
    for rnd in {r.id: r for r in rounds.values() if r is not None}.values():
        rounds_service.refresh(session, rnd, at=now)
    return out
