"""The platform-driven response (平台响应): simulated senders and scripted responders working the real
platform through its public HTTP API, and the feedback of the measures it recorded.

Each simulated day, in time order (a small event queue, times in days since the scenario's start, the
kernel clock frozen at each event's time so the platform dates what it records in simulated time):

- **senders** send only what real senders send: the checkpoint's records of travellers arriving from
  risk areas, as leads on the `checkpoint` channel (`POST /leads`, a source reference and an
  idempotency key each);
- the **sampler** samples a person who visits a fever clinic or pharmacy (`POST /samples`); the **lab**
  reports the result after its turnaround (`POST /results`);
- the **epidemiologist** registers a positive person as a case, isolated at once (`POST /cases`), and
  after the core interview lists the household and the work group or class as close contacts
  (`POST /cases/{id}/contacts`, which the platform turns into leads);
- the **grid worker** does the four checks of each lead (`GET /leads/{id}`, then
  `POST /leads/{id}/verification`: at a quarantine site when the platform decided centralised
  quarantine, else at home), and the platform starts the measure.

Delays (`responders:`): `instant` (none), `default` (each role's delay uniform between 0 and the pack's
hours: lead verification, core investigation, routine turnaround), `none` (no responder acts: senders
still send, nothing is done, no measure starts) or a mapping `{role: hours | none}` over the default.
Delays are keyed draws (seed, role, person, day), so runs are reproducible.

**Feedback.** At the end of each day the command account reads back the measures the platform recorded
(`GET /exports/leads?status=controlled`: person, measure, controlled_at; `GET /cases`: isolated_at) and
hands them to the simulator as `Measure`s (centralised quarantine → `centralised`; home quarantine, home
health monitoring and temporary control → `home`; self health monitoring and test-only measures close
no setting and are not fed back).
A measure acts from its start: one started within a day removes that day's infections at or after its
start in the settings it closes (the simulator's `Engine._thin`).
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fangkong.drill.platform.responders import ROLES, Roster, parse_responders
from fangkong.drill.scenario_schema import Scenario
from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.response import (
    Case,
    DayActions,
    DayObservation,
    ListedContact,
    Measure,
    Sample,
)
from fangkong.drill.sim.world import World
from fangkong.kernel import clock

#: the most close contacts listed per setting of one case (a work group is small; a class is too)
MAX_LISTED = 60
#: the most items of one batch call (the platform's batch endpoints take 500)
BATCH = 500
CENTRALISED_CODES = {"centralised_quarantine"}
#: measures that keep the person at home (all settings but the household); self health monitoring and
#: test-only measures close no setting, so they are not fed back
HOME_CODES = {"home_quarantine", "home_health_monitoring", "temporary_control"}


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)


class PlatformResponse:
    """The `Response` of a drill worked through the platform (see the module's docstring)."""

    name = "platform"

    def __init__(self, platform: Any, *, scenario: Scenario, seed: int, world: World, tokens: dict[str, str],
                 identity: Any, sla_hours: dict[str, float], site_id: int | None,
                 centralised: frozenset[str] = frozenset()) -> None:
        self.platform = platform
        self.scenario = scenario
        self.world = world
        self.tokens = tokens
        self.identity = identity
        self.site_id = site_id
        self.centralised = centralised
        self.draws = Draws(seed)
        self.responders = parse_responders(scenario.responders, sla_hours)
        self.hours = {r: self.responders[r].delay_h for r in ROLES}
        offset_h = scenario.start.hour + scenario.start.minute / 60
        self.rosters = {r: Roster(self.responders[r], offset_h) for r in ROLES}
        #: batches waiting for their moment: (kind, time) → items
        self.batches: dict[tuple[str, float], list[dict[str, Any]]] = {}
        persons = world.persons
        self.keys = 0
        self.ignores_home = (self.draws.uniform("noncompliance", persons) < self.responders.noncompliance
                             if self.responders.noncompliance > 0 else np.zeros(persons, dtype=bool))
        self.index = {int(p): i for i, p in enumerate(world.person_id.tolist())}
        self.queue: list[_Event] = []
        self.seq = 0
        self.day_no = 0
        self.actions = DayActions()
        self.fed: set[tuple[int, str]] = set()  # (person, source) already handed to the simulator
        self.case_of: dict[int, int] = {}  # person → platform case id
        self.members_h: dict[int, list[int]] = defaultdict(list)
        self.members_g: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(world.household.tolist()):
            self.members_h[h].append(i)
        for i, g in enumerate(world.group.tolist()):
            if g >= 0:
                self.members_g[g].append(i)
        self._delay_cache: dict[tuple[str, int], np.ndarray] = {}
        self.barcodes: dict[tuple[int, float], str] = {}
        self.extra_scores: dict[str, Any] | None = None
        self.verified_days: set[str] = set()  # local days on which the leads verified today were received
        self.cases_today = 0

    # ------------------------------------------------------------------------------------ helpers

    def start(self, *, persons: int, days: int, seed: int) -> None:
        return None

    def finish(self) -> None:
        """Read `leads_cleared_same_day` from the command indicators, summed over the run's days."""
        num = den = 0.0
        days = self.scenario.days
        for d in range(days):
            on = (self.scenario.start + dt.timedelta(days=d)).date().isoformat()
            rows = self._call("GET", "/command/indicators", "command", float(days), params={
                "day": on, "live": "true", "indicator": "leads.cleared_same_day"}).json()["rows"]
            top = [r for r in rows if r["indicator"] == "leads.cleared_same_day"][:1]
            if top and top[0]["denominator"]:
                num += float(top[0]["numerator"] or 0)
                den += float(top[0]["denominator"])
        self.extra_scores = {"leads_cleared_same_day": round(num / den, 6) if den else None,
                             "platform_leads": int(den)}

    def _time(self, t: float) -> dt.datetime:
        return self.scenario.start + dt.timedelta(seconds=round(t * 86400))

    def _iso(self, t: float) -> str:
        return self._time(t).isoformat(timespec="seconds")

    def _days(self, text: str) -> float:
        value = dt.datetime.fromisoformat(text)
        return (value - self.scenario.start).total_seconds() / 86400

    def _delay(self, role: str, person_index: int, day: int) -> float:
        """The role's delay for this person and day, in days (keyed: the same in every run)."""
        hours = self.hours[role]
        assert hours is not None
        if hours == 0:
            return 0.0
        key = (role, day)
        if key not in self._delay_cache:
            if len(self._delay_cache) > 64:
                self._delay_cache.clear()
            self._delay_cache[key] = self.draws.uniform(f"responder_{role}", self.world.persons, day)
        return float(self._delay_cache[key][person_index]) * hours / 24

    def _at(self, t: float, kind: str, **data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, _Event(round(t * 86400) / 86400, self.seq, kind, data))

    def _when(self, role: str, t: float) -> float:
        """When `role` gets to an item due at `t`: on duty, on its round, within its daily capacity."""
        return self.rosters[role].when(t)

    def _batch(self, t: float, kind: str, item: dict[str, Any]) -> None:
        """Add `item` to the `kind` batch sent at `t` (one event per batch; a batch whose moment has
        passed goes out with the next event, now)."""
        key = (kind, round(t * 86400) / 86400)
        if key not in self.batches:
            self.batches[key] = []
            self._at(key[1], kind, at=key[1])
        self.batches[key].append(item)

    def _key(self, name: str) -> str:
        """A fresh idempotency key (numbered in the run's order: the same in every run)."""
        self.keys += 1
        return f"drill-{name}-{self.keys}"

    def _error(self, role: str, person_index: int, day: int) -> bool:
        """Whether the role gets this person's item wrong (keyed: the same in every run)."""
        rate = self.responders[role].errors
        if rate <= 0:
            return False
        return bool(self.draws.uniform(f"responder_{role}_error", self.world.persons, day)[person_index] < rate)

    def _call(self, method: str, path: str, account: str, t: float, **kw: Any) -> Any:
        with clock.frozen(self._time(t)):
            return self.platform.request(method, path, token=self.tokens[account], **kw)

    def _person(self, i: int) -> dict[str, str]:
        ident = self.identity
        out = {"name": ident.name[i]}
        if ident.id_number[i]:
            out["id_number"] = ident.id_number[i]
        if ident.phone[i]:
            out["phone"] = ident.phone[i]
        return out

    # ---------------------------------------------------------------------------------------- day

    def day(self, observation: DayObservation) -> DayActions:
        d = observation.day
        self.day_no = d
        self.actions = DayActions()
        self._senders(observation)
        end = d + 1.0
        while self.queue and self.queue[0].at < end:
            event = heapq.heappop(self.queue)
            getattr(self, f"_on_{event.kind}")(max(event.at, float(d)), **event.data)
        self._feedback(end - 1 / 86400)
        return self.actions

    def _senders(self, obs: DayObservation) -> None:
        # checkpoint records of today's arrivals, one batch an hour (the checkpoint's system pushes hourly)
        if len(obs.arrivals_person):
            hours = np.floor(obs.arrivals_at * 24).astype(np.int64)
            for h in np.unique(hours).tolist():
                m = hours == h
                self._at((h + 1) / 24, "arrivals", persons=obs.arrivals_person[m].tolist(),
                         times=obs.arrivals_at[m].tolist(), modes=[str(x) for x in obs.arrivals_mode[m].tolist()])
        # fever-clinic and pharmacy visits: the sampler samples the person there
        if self.hours["sampler"] is not None:
            for p, t in zip(obs.care_person.tolist(), obs.care_at.tolist(), strict=True):
                i = self.index[int(p)]
                self._at(self._when("sampler", t + self._delay("sampler", i, obs.day)), "sample", person=int(p))
        # the lab's findings of samples taken earlier, reported in the lab's rounds
        if self.hours["lab"] is not None:
            for sample, positive in obs.results:
                i = self.index[sample.person_id]
                due = sample.collected_at + self._delay("lab", i, int(sample.collected_at))
                self._batch(self._when("lab", due), "results", {
                    "person": sample.person_id, "collected_at": sample.collected_at, "positive": positive})

    # ------------------------------------------------------------------------------------- events

    def _on_arrivals(self, t: float, *, persons: list[int], times: list[float], modes: list[str]) -> None:
        items = []
        for p, at, mode in zip(persons, times, modes, strict=True):
            i = self.index[int(p)]
            items.append({**self._person(i), "arrival_at": self._iso(at), "origin": "风险地区(演练)",
                          "transport": mode, "source_ref": f"drill-arrival-{p}-{at:.6f}"})
        key = f"drill-arrivals-{self.day_no}-{t:.6f}"
        answer = self._call("POST", "/leads", "checkpoint", t, key=key,
                            json={"channel": "checkpoint", "category": "high_risk_area", "items": items}).json()
        self._verify_leads(t, [(r.get("lead_id"), r.get("person_id"), "high_risk_area") for r in answer["items"]
                               if r.get("status") == "accepted"])

    def _verify_leads(self, t: float, leads: list[tuple[int | None, int | None, str | None]]) -> None:
        """Each new lead goes on the grid worker's list, checked in the worker's round after its delay."""
        if self.hours["grid"] is None:
            return
        received = clock.to_local(self._time(t)).date().isoformat()  # type: ignore[union-attr]
        for lead_id, person_id, category in leads:
            if lead_id is None or person_id is None or person_id not in self.index:
                continue
            i = self.index[person_id]
            due = t + self._delay("grid", i, int(t))
            self._batch(self._when("grid", due), "verify", {
                "lead": int(lead_id), "person": int(person_id), "site": category in self.centralised,
                "received": received})

    def _check(self, item: dict[str, Any], *, site: bool) -> dict[str, Any]:
        if site and self.site_id is not None:
            return {"lead_id": item["lead"], "outcome_code": "found_site", "site_place_id": self.site_id,
                    "four_checks": {"identity": True, "location": "转运至隔离点"}}
        return {"lead_id": item["lead"], "outcome_code": "found_home",
                "four_checks": {"identity": True, "location": "家中"}}

    def _post_checks(self, t: float, account: str, name: str, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`POST /leads/verifications` in batches (an idempotency key each); the per-item answers."""
        out: list[dict[str, Any]] = []
        for k in range(0, len(checks), BATCH):
            out += self._call("POST", "/leads/verifications", account, t, key=self._key(name),
                              json={"items": checks[k:k + BATCH]}).json()["items"]
        return out

    def _on_verify(self, t: float, *, at: float) -> None:
        """The grid worker's round: the four checks of every lead due (`POST /leads/verifications`): at a
        site when the lead's category starts with centralised quarantine, else at home; a person the
        worker does not find at the address (`errors`) is left to the district (the platform pushes the
        lead one level up). When the platform decided differently (the item is refused, with the lead as
        it stands), the worker follows the platform's decision in a second call."""
        items = self.batches.pop(("verify", at))
        self._checks(t, "grid", "verify", items)

    def _on_locate(self, t: float, *, at: float) -> None:
        """The district's round: the persons a grid worker did not find, found (the locate tasks)."""
        items = self.batches.pop(("locate", at))
        self._checks(t, "district", "locate", items)

    def _checks(self, t: float, role: str, name: str, items: list[dict[str, Any]]) -> None:
        day = int(t)
        checks = []
        for item in items:
            self.verified_days.add(item["received"])
            i = self.index[item["person"]]
            if role == "grid" and self._error("grid", i, day):
                checks.append({"lead_id": item["lead"], "outcome_code": "not_at_address",
                               "four_checks": {"identity": False, "location": "登记地址未见本人"}})
            else:
                checks.append(self._check(item, site=item["site"]))
        again: list[dict[str, Any]] = []
        for item, check, answer in zip(items, checks, self._post_checks(t, role, name, checks), strict=True):
            lead = answer.get("lead") or {}
            if answer["status"] == "verified":
                if check["outcome_code"] == "not_at_address" and self.hours["district"] is not None:
                    i = self.index[item["person"]]
                    due = t + self._delay("district", i, day)
                    self._batch(self._when("district", due), "locate", item)
                continue
            if lead.get("status") not in ("known", "locating") or lead.get("verification_task_id") is None:
                continue
            centralised = lead.get("measure_code") in CENTRALISED_CODES
            if centralised and self.site_id is None:
                continue
            if (check["outcome_code"] == "found_site") != centralised:
                again.append(self._check(item, site=centralised))
        if again:
            self._post_checks(t, role, name + "-again", again)

    def _on_sample(self, t: float, *, person: int) -> None:
        i = self.index[person]
        barcode = f"DR{person}D{int(t * 1440)}"
        self._call("POST", "/samples", "sampler", t, key=f"drill-sample-{barcode}",
                   json={"items": [{**self._person(i), "tube_barcode": barcode, "collected_at": self._iso(t)}]})
        sample = Sample(person_id=person, collected_at=round(t * 86400) / 86400)
        self.actions.samples.append(sample)
        self.barcodes[(person, sample.collected_at)] = barcode

    def _on_results(self, t: float, *, at: float) -> None:
        """The lab's round: every result due (`POST /results`, one call), then positives to the epidemiologist."""
        items = self.batches.pop(("results", at))
        rows = []
        for item in items:
            barcode = self.barcodes.pop((item["person"], item["collected_at"]))
            rows.append({"tube_barcode": barcode, "result": "阳性" if item["positive"] else "阴性",
                         "reported_at": self._iso(t)})
        for k in range(0, len(rows), BATCH):
            self._call("POST", "/results", "lab", t, key=self._key("results"), json={"items": rows[k:k + BATCH]})
        for item in items:
            person = item["person"]
            if item["positive"] and self.hours["epidemiologist"] is not None and person not in self.case_of:
                i = self.index[person]
                due = t + self._delay("epidemiologist", i, int(t))
                self._at(self._when("epidemiologist", due), "case", person=person,
                         collected_at=item["collected_at"], result_at=t)

    def _on_case(self, t: float, *, person: int, collected_at: float, result_at: float) -> None:
        if person in self.case_of:
            return
        answer = self._call("POST", "/cases", "epidemiologist", t, json={
            "classification": "confirmed", "detection_channel": "sentinel", "source": "manual",
            "person_id": person, "sampled_at": self._iso(collected_at), "result_at": self._iso(result_at),
            "isolated_at": self._iso(t)}).json()
        self.case_of[person] = int(answer["id"])
        self.cases_today += 1
        self.actions.cases.append(Case(person_id=person, detected_at=round(t * 86400) / 86400))
        i = self.index[person]
        self._at(self._when("epidemiologist", t + self._delay("epidemiologist", i, int(t) + 1)), "contacts",
                 person=person)

    def _on_contacts(self, t: float, *, person: int) -> None:
        """The core interview: the household, and the work group or class, as close contacts."""
        i = self.index[person]
        w = self.world
        listed: list[tuple[int, str]] = [(j, "household") for j in self.members_h[int(w.household[i])] if j != i]
        g = int(w.group[i])
        if g >= 0:
            mates = [j for j in self.members_g[g] if j != i][:MAX_LISTED]
            listed += [(j, "workplace") for j in mates]
        if not listed:
            return
        items = [{"kind": kind, "person_id": int(w.person_id[j])} for j, kind in listed]
        case_id = self.case_of[person]
        reports = []
        for k in range(0, len(items), 500):
            reports += self._call("POST", f"/cases/{case_id}/contacts", "epidemiologist", t,
                                  key=f"drill-contacts-{case_id}-{k}", json={"items": items[k:k + 500]}).json()["items"]
        listed_at = round(t * 86400) / 86400
        for (j, kind), report in zip(listed, reports, strict=True):
            if report.get("person_id") is not None:
                self.actions.contacts.append(ListedContact(case_id=person, contact_person_id=int(w.person_id[j]),
                                                           category=kind, listed_at=listed_at))
        self._verify_leads(t, [(r.get("lead_id"), r.get("person_id"), r.get("category")) for r in reports
                               if r.get("status") == "accepted"])

    # ----------------------------------------------------------------------------------- feedback

    def _feedback(self, t: float) -> None:
        """The measures the platform recorded today, read back through its API, as the simulator's: the
        controlled leads of each day on which a lead verified today was received (the leads export of
        that day), and the cases registered today (the newest page of the case list)."""
        new: list[Measure] = []
        for on in sorted(self.verified_days):
            text = self._call("GET", "/exports/leads", "command", t,
                              params={"format": "csv", "status": "controlled", "day": on}).content.decode("utf-8-sig")
            for row in csv.DictReader(io.StringIO(text)):
                if not row.get("person_id") or not row.get("controlled_at"):
                    continue
                person = int(row["person_id"])
                code = row.get("measure") or ""
                if code not in CENTRALISED_CODES and code not in HOME_CODES:
                    continue
                kind = "centralised" if code in CENTRALISED_CODES else "home"
                if kind == "home" and person in self.index and self.ignores_home[self.index[person]]:
                    continue  # the platform recorded it; the person ignores it (non-compliance)
                if (person, kind) in self.fed:
                    continue
                self.fed.add((person, kind))
                new.append(Measure(person_id=person, kind=kind, started_at=self._days(row["controlled_at"])))
        self.verified_days.clear()
        if self.cases_today:
            page = self._call("GET", "/cases", "epidemiologist", t, params={"limit": min(500, self.cases_today)}).json()
            for case in page["items"]:
                person = int(case["person_id"])
                if case.get("isolated_at") and (person, "case") not in self.fed:
                    self.fed.add((person, "case"))
                    new.append(Measure(person_id=person, kind="centralised", started_at=self._days(case["isolated_at"])))
            self.cases_today = 0
        new.sort(key=lambda m: (m.started_at, m.person_id, m.kind))
        self.actions.measures.extend(new)
