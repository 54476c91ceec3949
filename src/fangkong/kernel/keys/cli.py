"""`fangkong keys status` and `fangkong keys rotate`: the field-encryption key ring, as an operator sees it."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from fangkong.cli import app
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import EXIT_USAGE, cli_session, fail, job, print_rows, progress
from fangkong.kernel.i18n import _
from fangkong.kernel.keys import service
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.kernel.people import crypto


def _all_tables() -> None:
    """Every capability's tables, so each registers its encrypted columns (the shell lists them)."""
    from fangkong.registry import import_all_models

    import_all_models()


keys_app = typer.Typer(help=_("The field-encryption keys: status and rotation."), no_args_is_help=True)
app.add_typer(keys_app, name="keys")

#: batches a scheduled run moves before it yields (500 rows each: 100,000 rows a run)
JOB_BATCHES = 200


@keys_app.command("status", help=_("List the keys of the ring and the rotation in progress."))
def status_cmd(
    check: bool = typer.Option(False, "--check", help=_("Also count rows still encrypted under an older key "
                                                        "(reads every encrypted row).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    _all_tables()
    ring = crypto.ring()
    rows = [[k.id, k.alg, "current" if k.id == ring.current else k.state, k.fingerprint(),
             "yes" if k.id == ring.signing else ""] for k in ring.keys]
    with cli_session() as session:
        rotation = service.running(session)
        remaining = service.remaining_on_old_keys(session) if check else None
        info: dict[str, Any] = {"rotation": None if rotation is None else {
            "id": rotation.id, "from_key": rotation.from_key, "to_key": rotation.to_key,
            "algorithm": rotation.algorithm, "counts": rotation.counts}}
    if as_json:
        import json

        typer.echo(json.dumps({"keys": [dict(zip(["id", "algorithm", "state", "fingerprint", "signing"], r,
                                                 strict=True)) for r in rows],
                               **info, "remaining": remaining}, ensure_ascii=False))
        return
    print_rows(["id", "algorithm", "state", "fingerprint", "signing"], rows, title=_("Keys"))
    if info["rotation"]:
        typer.echo(_("Rotation {id} from key {a} to key {b} is running.").format(
            id=info["rotation"]["id"], a=info["rotation"]["from_key"], b=info["rotation"]["to_key"]))
    if remaining is not None:
        typer.echo(_("Rows under an older key: {n}").format(n=sum(remaining.values())))


@keys_app.command("rotate", help=_("Create a new key and re-encrypt every encrypted column and blind index "
                                   "with it, in batches (resumes an unfinished rotation)."))
def rotate_cmd(
    algorithm: str = typer.Option(None, "--algorithm", help=_("aes or sm (default: FANGKONG_CRYPTO).")),
    batch: int = typer.Option(service.DEFAULT_BATCH, "--batch", min=1, max=100_000,
                              help=_("Rows per batch (each batch commits).")),
    background: bool = typer.Option(False, "--background", help=_(
        "Only create the key; the scheduled job keys.rotation (fangkong serve) re-encrypts.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    if algorithm is not None and algorithm not in crypto.ALGORITHMS:
        fail(_("--algorithm must be aes or sm"), EXIT_USAGE)
    _all_tables()
    with cli_session() as session:
        rotation = service.start_rotation(session, SYSTEM_ACTOR, algorithm=algorithm)
        rid, to_key, alg = rotation.id, rotation.to_key, rotation.algorithm
        total = service.rows_to_do(session)
        session.commit()
        if not background:
            with progress(_("Re-encrypting"), total) as advance:
                rotation = service.drive(session, SYSTEM_ACTOR, commit=session.commit, batch=batch,
                                         on_batch=advance)
    out = {"rotation_id": rid, "key_id": to_key, "algorithm": alg,
           "finished": not background, "counts": None if rotation is None else rotation.counts}
    if as_json:
        import json

        typer.echo(json.dumps(out, ensure_ascii=False))
    elif background:
        typer.echo(_("Key {k} ({alg}) is current; rotation {id} continues in the background.").format(
            k=to_key, alg=alg, id=rid))
    else:
        typer.echo(_("Key {k} ({alg}) is current; rotation {id} finished.").format(k=to_key, alg=alg, id=rid))


@job("keys.rotation", schedule="*/2 * * * *", label=N_("Re-encrypt data under the new key during a key rotation"))
def rotation_job(session: Session) -> dict[str, Any]:
    """Continue an unfinished key rotation for a bounded share of batches (nothing when none runs)."""
    _all_tables()
    rotation = service.drive(session, SYSTEM_ACTOR, commit=session.commit, max_batches=JOB_BATCHES)
    if rotation is None:
        return {"rotation": None}
    return {"rotation": rotation.id, "status": rotation.status, "counts": rotation.counts}
