"""`fangkong people …`: check ID numbers, register and find persons (as the system actor)."""

from __future__ import annotations

import typer

from fangkong.cli import app
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import (
    EXIT_UNUSABLE,
    EXIT_USAGE,
    cli_session,
    fail,
    print_created,
    print_rows,
)
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import Joined, Term, translate
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_id_number, check_phone

#: yes / no: the words on a terminal, `yes` / `no` in TSV and JSON
_YES, _NO = Term("yes", kind="yes_no"), Term("no", kind="yes_no")

people_app = typer.Typer(help=_("Person registry: check ID numbers, register and find persons."),
                         no_args_is_help=True)
app.add_typer(people_app, name="people")



@people_app.command("check-id", help=_(
    "Check resident ID numbers: normalised value, validity, issues, birth date, sex, region. "
    "Exits 1 when any number is not valid."))
def check_id_cmd(
    numbers: list[str] = typer.Argument(..., help=_("ID numbers (18 characters, or 15 digits).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Check resident ID numbers (身份证号校验)."""
    rows = []
    invalid = 0
    for raw in numbers:
        c = check_id_number(raw)
        if c is None:
            rows.append([raw, "", _NO, "", _("blank"), "", "", "", ""])
            invalid += 1
            continue
        invalid += not c.valid
        rows.append([raw, c.value, _YES if c.valid else _NO, _YES if c.converted else "",
                     Joined(c.issues), c.birth_date.isoformat() if c.birth_date else "", c.sex or "",
                     c.region_code or "", c.region_name or ""])
    print_rows(["input", "value", "valid", "converted", "issues", "birth_date", "sex", "region_code", "region"],
               rows, as_json=as_json)
    if invalid:
        fail(_("{n} of {total} numbers are not valid.").format(n=invalid, total=len(numbers)), EXIT_UNUSABLE)


@people_app.command("check-phone", help=_(
    "Check mobile numbers: normalised value, validity, issues. Exits 1 when any number is not valid."))
def check_phone_cmd(
    numbers: list[str] = typer.Argument(..., help=_("Mobile numbers (+86, spaces and dashes are fine).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Check mobile numbers (手机号校验)."""
    rows = []
    invalid = 0
    for raw in numbers:
        c = check_phone(raw)
        valid = c is not None and c.valid
        invalid += not valid
        rows.append([raw, c.value if c else "", _YES if valid else _NO,
                     Joined(c.issues) if c else _("blank")])
    print_rows(["input", "value", "valid", "issues"], rows, as_json=as_json)
    if invalid:
        fail(_("{n} of {total} numbers are not valid.").format(n=invalid, total=len(numbers)), EXIT_UNUSABLE)


@people_app.command("add", help=_("Register a person (as the system actor); invalid ID or phone numbers are refused."))
def add_cmd(
    name: str = typer.Option(None, "--name", help=_("Name as written.")),
    id_number: str = typer.Option(None, "--id-number", help=_("Resident ID number.")),
    phone: str = typer.Option(None, "--phone", help=_("Mobile number.")),
    address: str = typer.Option(None, "--address", help=_("Address; placed on its grid when the gazetteer knows it.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Register a person (人员登记)."""
    with cli_session() as session:
        person = people_service.register_person(session, SYSTEM_ACTOR, name=name, id_number=id_number,
                                                phone=phone, address_text=address, source="manual")
        view = people_service.masked_view(person)
    message = _("Person {id} registered: {name} {id_number}").format(
        id=view["id"], name=view["name"] or "", id_number=view["id_number_masked"] or "")
    print_created(message.rstrip(), {"id": view["id"], **{k: v for k, v in view.items() if k != "id"}},
                  as_json=as_json)


_HEADERS = ["id", "name", "id_number", "id_valid", "phone", "sex", "birth_date", "age", "address", "unit_id"]


@people_app.command("find", help=_("Find persons by full ID number, full mobile number or name; prints masked rows."))
def find_cmd(
    id_number: str = typer.Option(None, "--id-number", help=_("Full resident ID number.")),
    phone: str = typer.Option(None, "--phone", help=_("Full mobile number.")),
    name: str = typer.Option(None, "--name", help=_("Name, or the beginning of a name.")),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help=_("At most this many rows.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Find persons (人员查询)."""
    given = [v for v in (id_number, phone, name) if v]
    if len(given) != 1:
        fail(_("Give exactly one of --id-number, --phone, --name."), EXIT_USAGE)
    if id_number:
        c = check_id_number(id_number)
        if c is None or not c.valid:
            fail(_("Not a valid ID number: {issues}").format(
                issues=translate(Joined(c.issues), cli_locale()) if c else ""), EXIT_UNUSABLE)
            return
        q = c.value
    elif phone:
        p = check_phone(phone)
        if p is None or not p.valid:
            fail(_("Not a valid mobile number: {issues}").format(issues=translate(Joined(p.issues), cli_locale()) if p else ""),
                 EXIT_UNUSABLE)
            return
        q = p.value
    else:
        q = name
    with cli_session() as session:
        rows = []
        for person in people_service.search_persons(session, SYSTEM_ACTOR, q=q, limit=limit):
            v = people_service.masked_view(person)
            rows.append([v["id"], v["name"], v["id_number_masked"], "yes" if v["id_number_valid"] else "no",
                         v["phone_masked"], v["sex"], v["birth_date"], v["age"], v["address_text"], v["unit_id"]])
    print_rows(_HEADERS, rows, as_json=as_json, title=_("Persons"))
