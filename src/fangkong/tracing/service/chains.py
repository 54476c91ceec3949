"""Transmission chains (传播链): who infected whom, clusters, the graph of cases and contacts, and a
case's timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.people.models import Person
from fangkong.tracing import rules
from fangkong.tracing.models import Case, CaseLink
from fangkong.tracing.service.cases import get_case
from fangkong.tracing.service.contacts import views_of_cases

INVALID_LINK = message("link.invalid", _("invalid link"))
SELF_INFECTION = message("link.self", _("a case cannot infect itself"))
LEADS_TO = message("link.cycle", _("case %(target)s already leads to case %(source)s"))

#: graph categories, in the legend's order
CATEGORIES: tuple[str, ...] = ("case", "close_controlled", "secondary", "colocation", "uncontrolled")


def _all_links(session: Session) -> list[tuple[int, int]]:
    return [(a, b) for a, b in session.execute(select(CaseLink.source_case_id, CaseLink.target_case_id))]


def link_cases(session: Session, actor: Actor, *, source_case_id: int, target_case_id: int,
               note: str | None = None) -> CaseLink:
    """Record that `source` infected `target` (关联病例). Linking again returns the stored link; a
    self-link or a loop is refused."""
    actor.require("case.manage")
    source = get_case(session, actor, source_case_id)
    target = get_case(session, actor, target_case_id)
    existing = session.execute(select(CaseLink).where(CaseLink.source_case_id == source.id,
                                                      CaseLink.target_case_id == target.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    if rules.would_cycle(_all_links(session), source.id, target.id):
        raise ValidationFailed(INVALID_LINK(), [FieldError(
            "source_case_id", SELF_INFECTION() if source.id == target.id
            else LEADS_TO(target=target.id, source=source.id))])
    link = CaseLink(source_case_id=source.id, target_case_id=target.id, note=(note or "").strip()[:255] or None,
                    created_at=clock.now(), created_by=actor.username)
    session.add(link)
    session.flush()
    audit.record(session, actor, "tracing.cases_linked", object_type="case", object_id=target.id,
                 source_case_id=source.id)
    return link


def cluster_of(session: Session, actor: Actor, case_id: int) -> list[int]:
    """The cases of the case's cluster (聚集性疫情) that the actor may see, ascending."""
    case = get_case(session, actor, case_id)
    links = _all_links(session)
    for group in rules.clusters([case.id], links):
        if case.id in group:
            paths = dict(session.execute(select(Case.id, Case.unit_path).where(Case.id.in_(group))).all())
            return [cid for cid in group if scope.sees(actor, paths.get(cid))]
    return [case.id]


def case_chain(session: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    """The graph of the case's cluster: case nodes, contact nodes coloured by status, and edges
    (`infected` case → case, `close`/`colocation` case → contact, `secondary` contact → contact)."""
    ids = cluster_of(session, actor, case_id)
    cases = {c.id: (c, p) for c, p in session.execute(
        select(Case, Person).join(Person, Person.id == Case.person_id).where(Case.id.in_(ids)))}
    case_of_person = {c.person_id: c.id for c, _p in cases.values()}
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for cid in ids:
        c, p = cases[cid]
        nodes.append({"id": f"case-{cid}", "kind": "case", "case_id": cid, "name": f"#{cid} {p.name or ''}".strip(),
                      "category": "case", "classification": c.classification, "status": c.status})
    for a, b in _all_links(session):
        if a in cases and b in cases:
            edges.append({"source": f"case-{a}", "target": f"case-{b}", "kind": "infected"})
    views = views_of_cases(session, actor, ids)
    for cid in ids:
        for v in views.get(cid, []):
            c = v.contact
            if c.person_id in case_of_person:  # the contact is a case of this cluster
                other = case_of_person[c.person_id]
                if other != cid:
                    edges.append({"source": f"case-{cid}", "target": f"case-{other}", "kind": "contact"})
                continue
            nodes.append({"id": f"contact-{c.id}", "kind": "contact", "contact_id": c.id, "case_id": cid,
                          "name": (v.person.name if v.person else c.name) or f"#{c.id}", "tier": c.tier,
                          "contact_kind": c.kind, "category": v.graph_status, "lead_id": c.lead_id,
                          "lead_status": v.lead_status, "measure": v.measure_code})
            if c.via_contact_id is not None:
                edges.append({"source": f"contact-{c.via_contact_id}", "target": f"contact-{c.id}",
                              "kind": "secondary"})
            else:
                edges.append({"source": f"case-{cid}", "target": f"contact-{c.id}",
                              "kind": "colocation" if c.kind == "colocation" else "close"})
    known = {n["id"] for n in nodes}
    edges = [e for e in edges if e["source"] in known and e["target"] in known]
    return {"case_id": case_id, "cluster": ids, "categories": list(CATEGORIES), "nodes": nodes, "edges": edges}


@dataclass
class TimelineEvent:
    at: dt.datetime
    event: str
    label: str = ""


def timeline(session: Session, actor: Actor, case_id: int) -> list[TimelineEvent]:
    """The case's timeline (时间线): onset, sampling, result, case created, investigation steps, each
    contact confirmed and controlled (from the leads' clocks), in time order."""
    case = get_case(session, actor, case_id)
    events = [TimelineEvent(at, name) for at, name in (
        (case.onset_at, "onset"), (case.sampled_at, "sampled"), (case.result_at, "result"),
        (case.created_at, "case_created"), (case.core_done_at, "core_done"), (case.report_done_at, "report_done"),
        (case.isolated_at, "isolated")) if at is not None]
    for v in views_of_cases(session, actor, [case.id]).get(case.id, []):
        who = (v.person.name if v.person else v.contact.name) or f"#{v.contact.id}"
        events.append(TimelineEvent(v.contact.confirmed_at, "contact_confirmed", who))
        if v.managed_at is not None:
            events.append(TimelineEvent(v.managed_at, "contact_managed", who))
        if v.controlled_at is not None:
            events.append(TimelineEvent(v.controlled_at, "contact_controlled", who))
    order = {"onset": 0, "sampled": 1, "result": 2, "case_created": 3}
    events.sort(key=lambda e: (e.at, order.get(e.event, 9), e.label))
    return events
