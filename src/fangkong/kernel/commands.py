"""Kernel commands: init and serve (the kernel modules' own sub-commands are in their `cli.py`, listed
in `fangkong.cli.KERNEL_COMMAND_MODULES`)."""

from __future__ import annotations

import typer

from fangkong.cli import app
from fangkong.kernel.i18n import _


@app.command("init", help=_("Create the data directory and key, migrate the database to head, seed roles and the "
                             "default policy pack."))
def init_cmd(
    mode: str = typer.Option(None, "--mode", help=_("production (default), test or drill; fixed at the first init.")),
) -> None:
    """Create the data directory and key, migrate the database to head, seed roles and the default policy pack."""
    from fangkong.kernel import db
    from fangkong.kernel import labels as _labels  # noqa: F401  (the modes' names)
    from fangkong.kernel.bootstrap import ModeMismatch, initialise
    from fangkong.kernel.cli_support import describe_error, fail
    from fangkong.kernel.files import private_dir
    from fangkong.kernel.i18n import cli_locale
    from fangkong.kernel.messages import label_of, translate
    from fangkong.settings import get_settings

    settings = get_settings()
    private_dir(settings.data_dir)
    engine = db.get_engine()
    try:
        with db.unit_of_work() as session:
            report = initialise(engine, session, mode=mode)
    except ModeMismatch as exc:
        fail(describe_error(exc), 2)
    typer.echo(_("Database ready: {url} (mode: {mode})").format(
        url=engine.url.render_as_string(hide_password=True),
        mode=translate(label_of("mode", report.mode), cli_locale())))
    if report.key_created:
        typer.echo(_("Secret key created: {path}").format(path=settings.key_file))
    if report.root_unit_created:
        typer.echo(_("Root unit created: {name}").format(name=settings.root_unit_name))
    if report.roles_added:
        typer.echo(_("Roles and permissions added: {n}").format(n=report.roles_added))


def check_start() -> None:
    """Read the database's mode before anything starts: a production database with `FANGKONG_NOW` set
    stops here with the translated reason and exit 1 (without this, uvicorn would fail later in the
    app factory with a traceback). Commands that open `cli_session` (jobs, drill …) get the same check."""
    from fangkong.kernel.cli_support import cli_session

    with cli_session():
        pass


@app.command("serve", help=_("Serve the web platform and the API."))
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help=_("Address to listen on.")),
    port: int = typer.Option(8000, help=_("Port to listen on.")),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help=_(
        "Do not run the scheduled jobs in this process (another process or server runs them).")),
    workers: int = typer.Option(1, min=1, max=64, help=_(
        "Worker processes serving requests (each claims scheduled jobs through the database, so every job "
        "still runs once).")),
) -> None:
    """Serve the web platform and the API."""
    import os

    import uvicorn

    from fangkong.settings import reset_settings_cache

    if no_scheduler:
        os.environ["FANGKONG_SCHEDULER"] = "false"
        reset_settings_cache()
    check_start()
    typer.echo(_("Serving on http://{host}:{port}").format(host=host, port=port))
    # no `Server: uvicorn` header: it tells an attacker what to try (the app sets the security headers)
    # with httptools and uvloop installed (runtime dependencies) uvicorn uses them: its C HTTP parser and
    # event loop; `workers` > 1 forks that many processes on one socket (docs/operations.md)
    uvicorn.run("fangkong.app:create_app", factory=True, host=host, port=port, log_level="info",
                server_header=False, workers=workers if workers > 1 else None)
