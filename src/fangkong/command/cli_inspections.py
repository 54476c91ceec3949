"""Inspections, rectification and exposure on the command line (督查, 整改, 曝光)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import EXIT_USAGE, cli_session, fail
from fangkong.kernel.i18n import _

AS_HELP = _("Act as this user (their role and unit).")
inspections_app = typer.Typer(help=_("Inspections (督查): record a finding."), no_args_is_help=True)
rectifications_app = typer.Typer(help=_("Rectification (整改): close with evidence, verify."), no_args_is_help=True)
exposure_app = typer.Typer(help=_("Exposure (曝光): publish or take down a finding at a venue."), no_args_is_help=True)
app.add_typer(inspections_app, name="inspections")
app.add_typer(rectifications_app, name="rectifications")
app.add_typer(exposure_app, name="exposure")


def _print(view: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
    else:
        typer.echo(line)


@inspections_app.command("record", help=_("Record a finding at a unit or a venue; opens its rectification."))
def record_cmd(
    kind: str = typer.Option(..., "--kind", help=_("onsite, unannounced or online.")),
    unit: str = typer.Option(None, "--unit", help=_("The inspected unit (code) …")),
    venue: str = typer.Option(None, "--venue", help=_("… or venue (ref, code or QR link).")),
    item: str = typer.Option(..., "--item", help=_("A checklist item of the policy pack.")),
    severity: str = typer.Option(..., "--severity", help=_("high, medium or low.")),
    note: str = typer.Option("", "--note", help=_("What was found.")),
    plan: int = typer.Option(None, "--plan", help=_("The unannounced plan this finding was made under.")),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import inspections
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        finding, rect = inspections.record_finding(session, actor, kind=kind, item=item, severity=severity,
                                                   unit_code=unit, venue_ref=venue, note=note, plan_id=plan)
        view = {"id": finding.id, "finding_id": finding.id, "rectification_id": rect.id,
                "due_at": inspections.view(session, actor, finding.id)["rectification"]["due_at"],
                "repeat_of": finding.repeat_of_id}
    _print(view, as_json, _("Finding {id} recorded; rectification {rid} due {due}").format(
        id=view["id"], rid=view["rectification_id"], due=view["due_at"]))


@inspections_app.command("plan", help=_("An unannounced inspection plan (四不两直): targets drawn at random "
                                       "from the units of a level, the seed kept; seen only by its team."))
def plan_cmd(
    title: str = typer.Option(..., "--title", help=_("The plan's title.")),
    level: str = typer.Option(..., "--level", help=_("Draw targets among the units of this level.")),
    under: str = typer.Option(None, "--under", help=_("… under this unit (default: yours).")),
    size: int = typer.Option(..., "--size", help=_("How many targets.")),
    team: str = typer.Option("", "--team", help=_("The team's user names, comma-separated (you are in it).")),
    seed: str = typer.Option(None, "--seed", help=_("The draw's seed (default: a random one, kept).")),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import plans
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        plan = plans.create_plan(session, actor, title=title, level=level, under=under, size=size,
                                 team=[t for t in team.replace("，", ",").split(",")], seed=seed)
        view = plans.view(session, actor, plan.id)
    _print(view, as_json, _("Plan {id}: targets {targets} (seed {seed})").format(
        id=view["id"], targets=", ".join(t["unit_code"] for t in view["targets"]), seed=view["seed"]))


@inspections_app.command("show-plan", help=_("A plan of your team, its draw checked again from the seed."))
def show_plan_cmd(plan_id: int = typer.Argument(..., help=_("Plan id.")),
                  as_user: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    from fangkong.command.service import plans
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        view = plans.view(session, auth_service.actor_for(session, as_user), plan_id)
    typer.echo(json.dumps(view, ensure_ascii=False))


@rectifications_app.command("close", help=_("Close a rectification with evidence (a file and a note)."))
def close_cmd(
    rect_id: int = typer.Argument(..., help=_("Rectification id.")),
    evidence: Path = typer.Option(None, "--evidence", help=_("The evidence file (photo or document).")),
    note: str = typer.Option("", "--note", help=_("What was done.")),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import inspections
    from fangkong.kernel.auth import service as auth_service

    if evidence is None:
        fail("evidence: " + _("required"), EXIT_USAGE)
    assert evidence is not None
    try:
        content = evidence.read_bytes()
    except OSError as exc:
        fail(f"{evidence}: {exc.strerror}", EXIT_USAGE)
        raise
    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        rect = inspections.close(session, actor, rect_id=rect_id, evidence=inspections.Evidence(evidence.name, content),
                                 note=note or evidence.name)
        view = {"id": rect.id, "status": rect.status, "sha256": rect.evidence_sha256}
    _print(view, as_json, _("Rectification {id}: {status}").format(id=view["id"], status=view["status"]))


@rectifications_app.command("verify", help=_("Accept or reject a closure (a second person)."))
def verify_cmd(
    rect_id: int = typer.Argument(..., help=_("Rectification id.")),
    accept: bool = typer.Option(None, "--accept/--reject", help=_("Accept or reject the closure.")),
    note: str = typer.Option("", "--note", help=_("Why.")),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import inspections
    from fangkong.kernel.auth import service as auth_service

    if accept is None:
        fail(_("give --accept or --reject"), EXIT_USAGE)
    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        rect = inspections.verify(session, actor, rect_id=rect_id, accept=bool(accept), note=note)
        view = {"id": rect.id, "status": rect.status}
    _print(view, as_json, _("Rectification {id}: {status}").format(id=view["id"], status=view["status"]))


def _expose(finding_id: int, as_user: str, as_json: bool, publish: bool) -> None:
    from fangkong.command.service import inspections
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        if publish:
            inspections.publish(session, actor, finding_id=finding_id)
        else:
            inspections.unpublish(session, actor, finding_id=finding_id)
        view = {"id": finding_id, "published": publish}
    _print(view, as_json, (_("Finding {id} published") if publish else _("Finding {id} taken down")).format(
        id=finding_id))


@exposure_app.command("publish", help=_("Publish a finding at a venue to /public/exposure."))
def publish_cmd(finding_id: int = typer.Argument(..., help=_("Finding id.")),
                as_user: str = typer.Option(..., "--as", help=AS_HELP),
                as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    _expose(finding_id, as_user, as_json, True)


@exposure_app.command("unpublish", help=_("Take a published finding down."))
def unpublish_cmd(finding_id: int = typer.Argument(..., help=_("Finding id.")),
                  as_user: str = typer.Option(..., "--as", help=AS_HELP),
                  as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    _expose(finding_id, as_user, as_json, False)


@app.command("review", help=_("Case review (复盘): a case's events from every source and each stage against its "
                              "target; --all for every case you see."))
def review_cmd(
    case_id: int = typer.Argument(None, help=_("Case id.")),
    all_cases: bool = typer.Option(False, "--all", help=_("Every case (newest 50).")),
    causes: list[str] = typer.Option(None, "--cause", help=_("Conclude the review: a cause code of the pack "
                                                              "(repeatable).")),
    actions: list[str] = typer.Option(None, "--action", help=_("An action CAUSE=UNIT[:NOTE]: a rectification of "
                                                                "that unit (repeatable).")),
    note: str = typer.Option("", "--note", help=_("The reviewer's note.")),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import review
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.cli_support import print_rows

    if (case_id is None) == (not all_cases):
        fail(_("give a case id or --all"), EXIT_USAGE)
    if (causes or actions) and (all_cases or not as_user):
        fail(_("concluding a review needs a case id and --as"), EXIT_USAGE)
    parsed = []
    for a in actions or []:
        cause, _sep, rest = a.partition("=")
        unit, _sep2, text = rest.partition(":")
        if not cause or not unit:
            fail(_("--action is CAUSE=UNIT[:NOTE]"), EXIT_USAGE)
        parsed.append({"cause": cause.strip(), "unit": unit.strip(), "note": text.strip()})
    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user) if as_user else SYSTEM_ACTOR
        if causes:
            review.complete_review(session, actor, case_id=case_id, causes=list(causes), actions=parsed, note=note)
        out = review.reviews(session, actor) if all_cases else [review.review(session, actor, case_id)]
    if as_json:
        typer.echo(json.dumps(out if all_cases else out[0], ensure_ascii=False))
        return
    for r in out:
        typer.echo(_("Case {id}: detected {at}, under a measure then: {yes}").format(
            id=r["case_id"], at=r["detected_at"], yes=_("yes") if r["detected_in_control"] else _("no")))
        print_rows(["stage", "ref", "hours", "target_h", "slow"],
                   [[s["stage"], s["ref"], s["hours"], s["target_h"], s["slow"]] for s in r["stages"]])
