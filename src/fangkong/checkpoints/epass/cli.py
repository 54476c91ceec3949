"""`fangkong epass issue|revoke|crl|verify|keys|verifier-page` (货车电子通行证). They act as the system
(an operator on the server). `verify --keys RING` uses no database at all."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import cli_session, describe_error, err_console, fail, print_created
from fangkong.kernel.i18n import _

epass_app = typer.Typer(help=_("Truck e-passes: issue, revoke, verify, keys."), no_args_is_help=True)
app.add_typer(epass_app, name="epass")
keys_app = typer.Typer(help=_("The e-pass key ring: export, trust another issuer, rotate."), no_args_is_help=True)
epass_app.add_typer(keys_app, name="keys")

VERIFY_COLUMNS = ["verdict", "reason", "pass_no", "valid_until"]


def _system():  # type: ignore[no-untyped-def]
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return SYSTEM_ACTOR


@epass_app.command("issue", help=_("Issue e-passes from a file of applications (CSV or XLSX), one per row."))
def issue_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.checkpoints.epass import service
    from fangkong.kernel.tabular import run_import

    run_import(_("Issuing e-passes"), file, report,
               lambda session, actor, path, progress: service.import_applications_file(
                   session, actor, path, progress=progress),
               extra_columns=service.REPORT_EXTRA)


@epass_app.command("revoke", help=_("Revoke an e-pass."))
def revoke_cmd(
    no: str = typer.Argument(..., help=_("The pass number (12 digits).")),
    reason: str = typer.Option(..., "--reason", help=_("Why the pass is revoked.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.checkpoints.epass import service

    with cli_session() as session:
        p = service.revoke(session, _system(), no=no, reason=reason)
        ids = {"epass_id": p.id, "pass_no": p.no}
    print_created(_("e-pass {no} revoked").format(no=ids["pass_no"]), ids, as_json=as_json)


@epass_app.command("crl", help=_("Write the signed list of revoked e-passes (for verifiers elsewhere)."))
def crl_cmd(out: Path = typer.Option(..., "--out", help=_("File to write."))) -> None:
    from fangkong.checkpoints.epass import service

    with cli_session() as session:
        text = service.revocation_list(session, _system())
    out.write_text(text + "\n", encoding="utf-8")
    typer.echo(_("revocation list written to {path}").format(path=out), err=True)


def _lists(paths: list[Path], ring: dict) -> frozenset[str]:  # type: ignore[type-arg]
    from fangkong.checkpoints.epass import token as tk

    revoked: set[str] = set()
    for path in paths:
        try:
            revoked |= tk.read_revocation_list(path.read_text(encoding="utf-8"), ring)[1]
        except OSError as exc:
            fail(f"{path}: {exc.strerror}", 1)
        except tk.BadRevocationList as exc:
            fail(_("{path}: the revocation list fails verification ({reason}): stopped").format(path=path, reason=exc), 1)
    return frozenset(revoked)


@epass_app.command("verify", help=_("Verify e-pass tokens: one TOKEN, or a CSV file with a token column."))
def verify_cmd(
    token: str = typer.Argument(None, help=_("The QR text: a token or https://HOST/v#TOKEN.")),
    inp: Path = typer.Option(None, "--in", help=_("CSV with a token column (optional plate).")),
    out: Path = typer.Option(None, "--out", help=_("CSV to write with verdict,reason,pass_no,valid_until added.")),
    plate: str = typer.Option(None, "--plate", help=_("The plate seen on the vehicle.")),
    at: str = typer.Option(None, "--at", help=_("Check at this time (local time unless an offset is given; default now).")),
    keys: Path = typer.Option(None, "--keys", help=_("JWK Set of trusted keys: verify without the database.")),
    revocations: list[Path] = typer.Option([], "--revocations", help=_("Signed revocation list (repeatable).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.checkpoints.epass import token as tk
    from fangkong.kernel import clock

    if (token is None) == (inp is None) or (inp is not None) != (out is not None):
        fail(_("give a TOKEN, or --in FILE with --out FILE"), 2)
    try:
        when = clock.parse_time(at) if at else None
    except clock.BadTime as exc:
        fail(describe_error(exc), 2)
    texts: list[tuple[dict[str, str], str, str | None]] = []
    fields: list[str] = []
    if inp is not None:
        try:
            with inp.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                fields = list(reader.fieldnames or [])
                if "token" not in fields:
                    fail(_("{path}: no token column").format(path=inp), 1)
                texts = [(row, row.get("token") or "", row.get("plate") or plate) for row in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            fail(f"{inp}: {exc}", 1)
    else:
        texts = [({}, token, plate)]
    if keys is not None:  # the standalone path: the ring and lists given, no database
        try:
            ring = tk.load_ring(keys.read_bytes())
        except (OSError, tk.BadKeys) as exc:
            fail(f"{keys}: {exc}", 1)
        revoked = _lists(revocations, ring)
        now = int((when or clock.now()).timestamp())
        verdicts = [tk.verify(text, ring, at=now, revoked=revoked, plate=p) for _row, text, p in texts]
        when_iso = None
    else:
        from fangkong.checkpoints.epass import keys as keys_service
        from fangkong.checkpoints.epass import service

        with cli_session() as session:
            revoked = _lists(revocations, keys_service.ring(session))
            checked = [service.verify(session, _system(), text=text, plate=p, at=when, revoked=revoked)
                       for _row, text, p in texts]
            verdicts = [c.verdict for c in checked]
            when_iso = clock.iso_local(checked[0].at) if checked else None
    rows = [_verdict_row(v) for v in verdicts]
    if inp is None:
        v = verdicts[0]
        if as_json:
            typer.echo(json.dumps({"verdict": v.verdict, "reason": v.reason, "label": v.label_zh, "pass_no": v.pass_no,
                                   "valid_until": rows[0][3] or None, "claims": v.claims, "at": when_iso},
                                  ensure_ascii=False))
        else:
            typer.echo("\t".join([*rows[0], v.label_zh]))
        return
    kept = [c for c in fields if c not in VERIFY_COLUMNS]
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(kept + VERIFY_COLUMNS)
        for (row, _t, _p), line in zip(texts, rows, strict=True):
            w.writerow([row.get(c) or "" for c in kept] + line)
    valid = sum(v.valid for v in verdicts)
    err_console.print(_("{n} passes: {valid} valid, {invalid} invalid").format(
        n=len(verdicts), valid=valid, invalid=len(verdicts) - valid), highlight=False)


def _verdict_row(v) -> list[str]:  # type: ignore[no-untyped-def]
    import datetime as dt

    from fangkong.kernel import clock

    exp = (v.claims or {}).get("exp")
    until = clock.to_local(dt.datetime.fromtimestamp(exp, dt.UTC)).isoformat() if exp is not None else ""
    return [v.verdict, v.reason or "", v.pass_no or "", until]


@keys_app.command("export", help=_("Write the key ring (every trusted public key) as a JWK Set."))
def keys_export_cmd(out: Path = typer.Option(None, "--out", help=_("File to write (default: standard output)."))) -> None:
    from fangkong.checkpoints.epass import keys as keys_service

    with cli_session() as session:
        keys_service.signing_key(session, _system())  # a fresh deployment's first key
        text = json.dumps(keys_service.export_ring(session), ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(_("key ring written to {path}").format(path=out), err=True)


@keys_app.command("add", help=_("Trust another issuer's public keys (a JWK Set or one JWK)."))
def keys_add_cmd(
    file: Path = typer.Argument(..., help=_("JWK Set file.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.checkpoints.epass import keys as keys_service

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: {exc}", 1)
    with cli_session() as session:
        added = keys_service.add_keys(session, _system(), text)
    print_created(_("{n} keys trusted").format(n=len(added)), {"kids": added}, as_json=as_json)


@keys_app.command("rotate", help=_("Make a new signing key; the old public keys stay in the ring."))
def keys_rotate_cmd(
    issuer: str = typer.Option(None, "--issuer", help=_("The issuing authority's name (default the root unit's).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.checkpoints.epass import keys as keys_service

    with cli_session() as session:
        row = keys_service.rotate_key(session, _system(), issuer=issuer)
        ids = {"kid": row.kid, "region": row.region}
    print_created(_("new signing key {kid}").format(kid=ids["kid"]), ids, as_json=as_json)


@epass_app.command("verifier-page", help=_("Write the offline verifier page (HTML, keys and revocations built in)."))
def verifier_page_cmd(out: Path = typer.Option(..., "--out", help=_("Directory to write."))) -> None:
    from fangkong.checkpoints.epass import verifier_page

    with cli_session() as session:
        path = verifier_page.write(session, _system(), out)
    typer.echo(_("verifier page written to {path}").format(path=path), err=True)
