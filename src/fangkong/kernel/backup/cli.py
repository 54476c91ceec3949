"""`fangkong backup --out DIR` and `fangkong restore DIR --key FILE`."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import EXIT_USAGE, fail
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import translate

PASSPHRASE_ENV = "FANGKONG_BACKUP_PASSPHRASE"


def _passphrase(from_stdin: bool, *, confirm: bool) -> str:
    """From stdin (`--passphrase-stdin`), else FANGKONG_BACKUP_PASSPHRASE, else asked on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        fail(_("Give the key's passphrase: --passphrase-stdin or FANGKONG_BACKUP_PASSPHRASE."), EXIT_USAGE)
    first = getpass.getpass(_("Passphrase for the key: "))
    if confirm and getpass.getpass(_("Passphrase again: ")) != first:
        fail(_("The two passphrases differ."), EXIT_USAGE)
    return first


@app.command("backup", help=_("Back up the database to a new directory under DIR; the key goes to a "
                             "separate file, encrypted with a passphrase."))
def backup_cmd(
    out: Path = typer.Option(..., "--out", help=_("Directory to write the backup into.")),
    key_out: Path | None = typer.Option(None, "--key-out", help=_(
        "Where to write the encrypted key (default: beside the backup). Keep it apart from the data.")),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help=_("Read the passphrase from stdin.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel import db
    from fangkong.kernel.backup import service

    passphrase = _passphrase(passphrase_stdin, confirm=True)
    try:
        report = service.backup(db.get_engine(), out, passphrase=passphrase, key_out=key_out)
    except service.BackupError as exc:
        fail(translate(exc.message, cli_locale()))
    if as_json:
        typer.echo(json.dumps({"directory": str(report.directory), "key_file": str(report.key_file),
                               "tables": report.tables, "rows": report.rows,
                               "seconds": round(report.seconds, 2)}))
        return
    typer.echo(_("Backup written to {dir} ({rows} rows in {tables} tables, {s:.1f} s).").format(
        dir=report.directory, rows=report.rows, tables=report.tables, s=report.seconds))
    typer.echo(_("Encrypted key: {key} — store it apart from the backup.").format(key=report.key_file))


@app.command("restore", help=_("Restore a backup directory into the configured (empty) database and "
                              "install its key; then check rows and the audit chain against the backup."))
def restore_cmd(
    directory: Path = typer.Argument(..., help=_("A backup directory written by `fangkong backup`.")),
    key: Path = typer.Option(..., "--key", help=_("The encrypted key file written with the backup.")),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help=_("Read the passphrase from stdin.")),
    force: bool = typer.Option(False, "--force", help=_("Replace a database that holds data.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel import db
    from fangkong.kernel.backup import service
    from fangkong.kernel.files import private_dir
    from fangkong.settings import get_settings

    settings = get_settings()
    passphrase = _passphrase(passphrase_stdin, confirm=False)
    private_dir(settings.data_dir)
    key_target = None if settings.secret_key else settings.key_file
    try:
        report = service.restore(db.get_engine(), directory, key_file=key, passphrase=passphrase,
                                 key_target=key_target, force=force)
    except service.BackupError as exc:
        fail(translate(exc.message, cli_locale()))
    if as_json:
        typer.echo(json.dumps({"ok": report.ok, "tables": report.tables, "rows": report.rows,
                               "audit_events": report.audit_events, "seconds": round(report.seconds, 2),
                               "mismatches": report.mismatches}, ensure_ascii=False))
    else:
        typer.echo(_("Restored {rows} rows in {tables} tables; audit chain of {n} events verified "
                     "({s:.1f} s).").format(rows=report.rows, tables=report.tables, n=report.audit_events,
                                            s=report.seconds))
        for m in report.mismatches:
            typer.echo(_("Differs from the backup: {what}").format(what=m), err=True)
    if not report.ok:
        raise typer.Exit(1)
