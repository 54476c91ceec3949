"""Tracing routes: the JSON API under /api/v1 (cases, contacts, links, chain) and the pages — the case
list with the positive results awaiting confirmation, the investigation page, a close contact's page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError as PydanticError

from fangkong.control.schemas import ControlStatusOut
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import INVALID_TIME, REQUIRED, FieldError, ValidationFailed, library_message
from fangkong.kernel.messages import FieldIssue, _, message, reason_of, translate
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.labels import rule_label
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav, register_person_section
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render, request_locale
from fangkong.tracing import service
from fangkong.tracing.models import CLASSIFICATIONS, DETECTION_CHANNELS, Case, CaseLink
from fangkong.tracing.schemas import (
    CaseDetailOut,
    CaseIn,
    CaseListOut,
    CaseOut,
    ChainOut,
    ContactOut,
    ContactReportOut,
    ContactsIn,
    ContactsReportOut,
    LinkIn,
    LinkOut,
    MilestoneIn,
    UpgradeIn,
)
from fangkong.tracing.service.cases import INVALID_CASE
from fangkong.tracing.service.chains import INVALID_LINK
from fangkong.tracing.service.contacts import ContactView

SOURCE_OR_TARGET = message("link.source_or_target", _("give source_case_id or target_case_id"))
NOT_CONFIRMED = message("contacts.not_confirmed", _("contact not confirmed"))
A_CASE_NUMBER = message("link.case_number", _("a case number"))

api = APIRouter(tags=["tracing"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("case.view"))]
CanManage = Annotated[Actor, Depends(requires("case.manage"))]
CanConfirm = Annotated[Actor, Depends(requires("contact.confirm"))]
CanUpgrade = Annotated[Actor, Depends(requires("contact.upgrade"))]

register_nav("cases", N_("Cases"), "/cases", "case.view", 50, group="people")
register_person_section("cases", "/persons/{person_id}/cases", "case.view", 30)


def _time(value: str | None, field: str) -> dt.datetime | None:
    try:
        return parse_time(value or "")
    except BadTime as exc:
        raise ValidationFailed(INVALID_TIME(), [FieldError(field, reason_of(exc))]) from None


def _iso(value: dt.datetime | None) -> str | None:
    return clock.iso_local(value) or None


def case_out(case: Case, person: Person) -> dict[str, Any]:
    return {
        "id": case.id, "person_id": case.person_id, "name": person.name, "phone_masked": person.phone_masked,
        "id_number_masked": person.id_number_masked, "classification": case.classification,
        "detection_channel": case.detection_channel, "source": case.source, "candidate_id": case.candidate_id,
        "status": case.status, "sampled_at": _iso(case.sampled_at), "onset_at": _iso(case.onset_at),
        "result_at": _iso(case.result_at), "isolated_at": _iso(case.isolated_at),
        "created_at": clock.iso_local(case.created_at), "created_by": case.created_by, "unit_id": case.unit_id,
        "investigation_task_id": case.investigation_task_id, "core_due_at": _iso(case.core_due_at),
        "report_due_at": _iso(case.report_due_at), "core_done_at": _iso(case.core_done_at),
        "report_done_at": _iso(case.report_done_at), "pack_version": case.pack_version, "note": case.note,
    }


def contact_out(v: ContactView) -> ContactOut:
    c = v.contact
    return ContactOut(
        id=c.id, person_id=c.person_id, name=(v.person.name if v.person else c.name),
        phone_masked=v.person.phone_masked if v.person else None, tier=c.tier, kind=c.kind, relation=c.relation,
        via_contact_id=c.via_contact_id, venue_id=c.venue_id, venue_name=v.venue_name,
        last_contact_at=_iso(c.last_contact_at), overlap_min=c.overlap_min, channel=c.channel, category=c.category,
        confirmed_at=clock.iso_local(c.confirmed_at), lead_id=c.lead_id, lead_status=v.lead_status,
        measure=v.measure_code, known_at=_iso(v.known_at), managed_at=_iso(v.managed_at),
        controlled_at=_iso(v.controlled_at), status=v.graph_status, first_contact_at=_iso(c.first_contact_at),
        promoted_to_id=c.promoted_to_id, released_at=_iso(c.released_at), release_rule=c.release_rule,
        control=ControlStatusOut.of(v.control) if v.control is not None else None)


def _create(session: Any, actor: Actor, body: CaseIn) -> Case:
    times = {f: _time(getattr(body, f), f) for f in ("sampled_at", "onset_at", "result_at", "isolated_at")}
    if body.candidate_id is not None:
        return service.confirm_candidate(session, actor, candidate_id=body.candidate_id,
                                         classification=body.classification, onset_at=times["onset_at"],
                                         detection_channel=body.detection_channel, note=body.note)
    if body.detection_channel is None:
        raise ValidationFailed(INVALID_CASE(), [FieldError("detection_channel", REQUIRED())])
    return service.create_case(session, actor, classification=body.classification,
                               detection_channel=body.detection_channel, source=body.source,
                               person_id=body.person_id, name=body.name, id_number=body.id_number, phone=body.phone,
                               note=body.note, **times)


def _links_of(session: Any, case_id: int) -> tuple[list[int], list[int]]:
    from sqlalchemy import or_, select

    rows = session.execute(select(CaseLink.source_case_id, CaseLink.target_case_id).where(
        or_(CaseLink.source_case_id == case_id, CaseLink.target_case_id == case_id))).all()
    return sorted(a for a, b in rows if b == case_id), sorted(b for a, b in rows if a == case_id)


def case_detail(session: Any, actor: Actor, case_id: int) -> CaseDetailOut:
    """The API's (and `fangkong cases show`'s) view of a case."""
    inv = service.investigation_of(session, actor, case_id, with_colocation=False)
    sources, infected = _links_of(session, case_id)
    return CaseDetailOut(
        **case_out(inv.case, inv.person), window_start=_iso(inv.window[0]) if inv.window else None,
        window_end=_iso(inv.window[1]) if inv.window else None, lookback_days=inv.lookback_days,
        lookback_rule=inv.lookback_rule,
        contacts=[contact_out(v) for v in service.contact_views(session, actor, case_id)],
        sources=sources, infected=infected, cluster=service.cluster_of(session, actor, case_id))


# ------------------------------------------------------------------------------------------------ API

@api.post("/cases", response_model=CaseDetailOut, status_code=201)
def create_case_api(body: CaseIn, session: DbSession, actor: CanManage) -> CaseDetailOut:
    """Register a case (from a positive individual result with `candidate_id`, or a clinic report /
    by hand); its investigation task goes to the epidemiologists with the policy's deadlines. The same
    `candidate_id` again returns the first answer."""
    case = _create(session, actor, body)
    return case_detail(session, actor, case.id)


@api.get("/cases", response_model=CaseListOut)
def list_cases_api(session: DbSession, actor: CanView, status: Annotated[str | None, Query(max_length=16)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   cursor: Annotated[str | None, Query(max_length=20)] = None) -> CaseListOut:
    """Cases in the caller's jurisdiction, newest first."""
    rows = service.list_cases(session, actor, status=status, limit=limit, before_id=parse_cursor(cursor))
    items = [CaseOut(**case_out(c, p)) for c, p in rows]
    return CaseListOut(items=items, next_cursor=str(rows[-1][0].id) if len(rows) == limit else None)


@api.get("/cases/{case_id}", response_model=CaseDetailOut)
def get_case_api(case_id: RowId, session: DbSession, actor: CanView) -> CaseDetailOut:
    """A case with its tracing window, contacts (and their leads' state), links and cluster."""
    return case_detail(session, actor, case_id)


@api.post("/cases/{case_id}/contacts", response_model=ContactsReportOut)
def confirm_contacts_api(case_id: RowId, body: ContactsIn, session: DbSession, actor: CanConfirm) -> ContactsReportOut:
    """Confirm contacts; each becomes a lead on the `tracing` or `colocation` channel. One report per
    item (accepted | duplicate | rejected); confirming again answers `duplicate`."""
    items = []
    for n, it in enumerate(body.items):
        times = {}
        for f in ("last_contact_at", "first_contact_at"):
            try:
                times[f] = parse_time(getattr(it, f) or "")
            except BadTime as exc:
                raise ValidationFailed(INVALID_TIME(), [FieldError(f"items.{n}.{f}", reason_of(exc))]) from None
        items.append(service.ContactItem(kind=it.kind, person_id=it.person_id, name=it.name, phone=it.phone,
                                         id_number=it.id_number, address=it.address, relation=it.relation,
                                         via_contact_id=it.via_contact_id, **times))
    reports = service.confirm_contacts(session, actor, case_id=case_id, items=items)
    counts = {s: sum(1 for r in reports if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    return ContactsReportOut(counts=counts, items=[ContactReportOut(**r.__dict__) for r in reports])


@api.post("/cases/{case_id}/contacts/{contact_id}/upgrade", response_model=ContactOut)
def upgrade_contact_api(case_id: RowId, contact_id: RowId, body: UpgradeIn, session: DbSession,
                        actor: CanUpgrade) -> ContactOut:
    """An epidemiologist's judgment: a venue co-visitor (场所同时段人员) becomes a close contact — a new
    `close_contact` lead on the `tracing` channel, decided by intake. Again: the contact unchanged."""
    service.upgrade_contact(session, actor, case_id=case_id, contact_id=contact_id, reason=body.reason)
    return contact_out(service.get_contact(session, actor, case_id, contact_id))


@api.get("/cases/{case_id}/chain", response_model=ChainOut)
def chain_api(case_id: RowId, session: DbSession, actor: CanView) -> ChainOut:
    """The case's cluster as a graph: nodes (cases, contacts with `category` case | close_controlled |
    secondary | uncontrolled) and edges (infected, close, colocation, secondary, contact)."""
    return ChainOut(**service.case_chain(session, actor, case_id))


@api.post("/cases/{case_id}/links", response_model=LinkOut, status_code=201)
def link_api(case_id: RowId, body: LinkIn, session: DbSession, actor: CanManage) -> LinkOut:
    """Link cases: `source_case_id` infected this case, or this case infected `target_case_id`."""
    if (body.source_case_id is None) == (body.target_case_id is None):
        raise ValidationFailed(INVALID_LINK(), [FieldError("source_case_id", SOURCE_OR_TARGET())])
    src, dst = (body.source_case_id, case_id) if body.source_case_id is not None else (case_id, body.target_case_id)
    link = service.link_cases(session, actor, source_case_id=src, target_case_id=dst or 0, note=body.note)
    return LinkOut(id=link.id, source_case_id=link.source_case_id, target_case_id=link.target_case_id,
                   note=link.note, created_at=clock.iso_local(link.created_at))


@api.post("/cases/{case_id}/milestones", response_model=CaseOut)
def milestone_api(case_id: RowId, body: MilestoneIn, session: DbSession, actor: CanManage) -> CaseOut:
    """Close an investigation step: `core` (core information) or `report` (closes the task)."""
    case = service.record_milestone(session, actor, case_id=case_id, step=body.step, note=body.note)
    person = session.get(Person, case.person_id)
    return CaseOut(**case_out(case, person))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- pages

def _back(case_id: int, anchor: str = "", **params: Any) -> RedirectResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return RedirectResponse(f"/cases/{case_id}{'?' + query if query else ''}{'#' + anchor if anchor else ''}",
                            status_code=303)


@pages.get("/cases")
def cases_page(request: Request, session: DbSession, actor: CanView,
               status: Annotated[str | None, Query(max_length=16)] = None) -> Any:
    rows = service.list_cases(session, actor, status=status or None, limit=200)
    candidates = service.pending_candidates(session, actor)
    return render(request, "tracing/cases.html", actor=actor, rows=rows, candidates=candidates, status=status,
                  classifications=CLASSIFICATIONS, channels=DETECTION_CHANNELS)


@pages.post("/cases")
def create_case_page(session: DbSession, actor: CanManage, classification: Annotated[str, Form()],
                     detection_channel: Annotated[str, Form()], source: Annotated[str, Form()] = "manual",
                     name: Annotated[str, Form()] = "", id_number: Annotated[str, Form()] = "",
                     phone: Annotated[str, Form()] = "", sampled_at: Annotated[str, Form()] = "",
                     onset_at: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Any:
    try:
        body = CaseIn(classification=classification, detection_channel=detection_channel, source=source,
                      name=name or None, id_number=id_number or None, phone=phone or None,
                      sampled_at=sampled_at or None, onset_at=onset_at or None, note=note or None)
    except PydanticError as exc:
        raise ValidationFailed(INVALID_CASE(), [FieldError(".".join(str(x) for x in e["loc"]), library_message(e))
                                                for e in exc.errors(include_url=False)]) from None
    case = _create(session, actor, body)
    return _back(case.id)


@pages.post("/cases/candidates/{candidate_id}/confirm")
def confirm_candidate_page(candidate_id: RowId, session: DbSession, actor: CanManage,
                           classification: Annotated[str, Form()], onset_at: Annotated[str, Form()] = "") -> Any:
    case = service.confirm_candidate(session, actor, candidate_id=candidate_id, classification=classification,
                                     onset_at=_time(onset_at, "onset_at"))
    return _back(case.id)


def _measure_names(request: Request, session: Any) -> dict[str, str]:
    """The pack's measure names in the page's language."""
    from fangkong.kernel.policy import service as policy_service
    from fangkong.kernel.web.templating import request_locale

    zh = request_locale(request) == "zh_CN"
    return {code: (m.name_zh if zh else m.name_en) for code, m in policy_service.active_pack(session).measures.items()}


@pages.get("/cases/{case_id}")
def case_page(request: Request, case_id: RowId, session: DbSession, actor: CanView,
              confirmed: Annotated[str | None, Query(max_length=40)] = None,
              upgraded: Annotated[str | None, Query(max_length=12)] = None) -> Any:
    inv = service.investigation_of(session, actor, case_id)
    contacts = service.contact_views(session, actor, case_id)
    chain = service.case_chain(session, actor, case_id)
    events = service.timeline(session, actor, case_id)
    sources, infected = _links_of(session, case_id)
    return render(request, "tracing/case.html", actor=actor, inv=inv, case=inv.case, person=inv.person,
                  contacts=contacts, chain=chain, events=events,
                  sources=sources, infected=infected, confirmed=confirmed, upgraded=upgraded, now=clock.now(),
                  measure_names=_measure_names(request, session),
                  lookback_rule=translate(rule_label(policy_service.active_pack(session), inv.lookback_rule),
                                          request_locale(request)))


def _confirm_one(session: Any, actor: Actor, case_id: int, item: Any) -> str:
    report = service.confirm_contacts(session, actor, case_id=case_id, items=[item])[0]
    if report.status == "rejected":
        found = [FieldIssue.parse(i) for i in report.issues]
        raise ValidationFailed(NOT_CONFIRMED(), [FieldError(i.field or "contact", i.message) for i in found])
    return report.status


@pages.post("/cases/{case_id}/contacts")
def confirm_contact_page(case_id: RowId, session: DbSession, actor: CanConfirm, kind: Annotated[str, Form()],
                         person_id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                         phone: Annotated[str, Form()] = "", id_number: Annotated[str, Form()] = "",
                         relation: Annotated[str, Form()] = "", last_contact_at: Annotated[str, Form()] = "") -> Any:
    pid = int(person_id) if person_id.isascii() and person_id.isdigit() and len(person_id) < 10 else None
    item = service.ContactItem(kind=kind, person_id=pid, name=name.strip() or None, phone=phone.strip() or None,
                               id_number=id_number.strip() or None, relation=relation.strip() or None,
                               last_contact_at=_time(last_contact_at, "last_contact_at"))
    status = _confirm_one(session, actor, case_id, item)
    return _back(case_id, "contacts", confirmed=status)


@pages.post("/cases/{case_id}/contacts/{contact_id}/upgrade")
def upgrade_contact_page(case_id: RowId, contact_id: RowId, session: DbSession, actor: CanUpgrade,
                         reason: Annotated[str, Form()] = "") -> Any:
    service.upgrade_contact(session, actor, case_id=case_id, contact_id=contact_id, reason=reason or None)
    return _back(case_id, "contacts", upgraded=contact_id)


@pages.post("/cases/{case_id}/places")
def add_place_page(case_id: RowId, session: DbSession, actor: CanManage, name: Annotated[str, Form()] = "",
                   address: Annotated[str, Form()] = "", visited_from: Annotated[str, Form()] = "",
                   visited_until: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Any:
    service.add_place(session, actor, case_id=case_id, name=name, address=address,
                      visited_from=_time(visited_from, "visited_from"),
                      visited_until=_time(visited_until, "visited_until"), note=note)
    return _back(case_id, "places")


@pages.post("/cases/{case_id}/milestones")
def milestone_page(case_id: RowId, session: DbSession, actor: CanManage, step: Annotated[str, Form()]) -> Any:
    service.record_milestone(session, actor, case_id=case_id, step=step)
    return _back(case_id)


@pages.post("/cases/{case_id}/links")
def link_page(case_id: RowId, session: DbSession, actor: CanManage, source_case_id: Annotated[str, Form()]) -> Any:
    source = source_case_id.strip().lstrip("#")
    if not (source.isascii() and source.isdigit() and len(source) < 10):  # int("¹") raises; ids are int32
        raise ValidationFailed(INVALID_LINK(), [FieldError("source_case_id", A_CASE_NUMBER())])
    service.link_cases(session, actor, source_case_id=int(source), target_case_id=case_id)
    return _back(case_id, "chain")


@pages.get("/cases/{case_id}/contacts/{contact_id}")
def contact_page(request: Request, case_id: RowId, contact_id: RowId, session: DbSession, actor: CanView) -> Any:
    from fangkong.tracing.service import investigation as inv_service

    view = service.get_contact(session, actor, case_id, contact_id)
    case = service.get_case(session, actor, case_id)
    household: list[Person] = []
    if view.person is not None and view.contact.tier == "close":
        household = [p for p in inv_service.household_of(session, view.person)
                     + inv_service.colleagues_of(session, view.person) if p.id != case.person_id]
    secondaries = [v for v in service.contact_views(session, actor, case_id) if v.contact.via_contact_id == contact_id]
    done = {v.contact.person_id for v in service.contact_views(session, actor, case_id)}
    return render(request, "tracing/contact.html", actor=actor, case=case, view=view, household=household,
                  secondaries=secondaries, done=done,
                  measure_names=_measure_names(request, session),
                  secondary_identified=policy_service.active_pack(session).has_category("secondary_contact"))


@pages.post("/cases/{case_id}/contacts/{contact_id}/secondary")
def secondary_page(case_id: RowId, contact_id: RowId, session: DbSession, actor: CanConfirm,
                   person_id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                   phone: Annotated[str, Form()] = "", id_number: Annotated[str, Form()] = "",
                   relation: Annotated[str, Form()] = "", last_contact_at: Annotated[str, Form()] = "") -> Any:
    pid = int(person_id) if person_id.isascii() and person_id.isdigit() and len(person_id) < 10 else None
    item = service.ContactItem(kind="secondary", person_id=pid, name=name.strip() or None,
                               phone=phone.strip() or None, id_number=id_number.strip() or None,
                               relation=relation.strip() or None, via_contact_id=contact_id,
                               last_contact_at=_time(last_contact_at, "last_contact_at"))
    _confirm_one(session, actor, case_id, item)
    return RedirectResponse(f"/cases/{case_id}/contacts/{contact_id}", status_code=303)


@pages.get("/persons/{person_id}/cases")
def person_cases_section(request: Request, person_id: RowId, session: DbSession, actor: CanView) -> Any:
    from sqlalchemy import select

    from fangkong.kernel import scope
    from fangkong.tracing.models import Contact

    person_id = scope.get_visible(session, actor, Person, person_id).id  # a person outside: 404
    cases = list(session.execute(scope.visible(select(Case).where(Case.person_id == person_id), actor, Case))
                 .scalars())
    as_contact = list(session.execute(
        scope.visible(select(Contact, Case).join(Case, Case.id == Contact.case_id)
                      .where(Contact.person_id == person_id), actor, Case)).all())
    return render(request, "tracing/_person_cases.html", actor=actor, cases=cases, as_contact=as_contact)
