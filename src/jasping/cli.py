"""The `jasping` command: serve, worker, migrate, demo, org, jobs, keys, audit."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time

import click

from jasping import clock
from jasping.config import get_settings
from jasping.crypto import CryptoError


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def _migrate_quietly() -> str:
    from jasping import migrate

    try:
        return migrate.upgrade()
    except CryptoError as exc:
        _fail(str(exc))
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """JasPing: AI customer-service agents for businesses, privacy first."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    rev = _migrate_quietly()
    click.echo(f"database at revision {rev} ({_db_label()})")


def _db_label() -> str:
    settings = get_settings()
    return "SQLite " + str(settings.data_dir / "jasping.db") if settings.is_sqlite else "PostgreSQL"


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="8000")
@click.option("--workers", default=1, type=int, help="web processes")
@click.option("--no-worker", is_flag=True, help="do not start a job worker next to the web server")
@click.option("--demo-port", type=int, default=None, help="port of the demo web page (default PORT+1; 0: none)")
def serve(host: str, port: int, workers: int, no_worker: bool, demo_port: int | None) -> None:
    """Migrate, then serve the dashboard, API and webhooks (with a job worker unless --no-worker)."""
    import uvicorn

    _migrate_quietly()
    worker = None
    if not no_worker:
        worker = subprocess.Popen(
            [sys.executable, "-m", "jasping.cli", "worker", "--exit-with-parent"], env=os.environ.copy()
        )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - display only
    click.echo(f"JasPing dashboard: http://{shown}:{port}/   (API docs: http://{shown}:{port}/api/v1/docs)")
    _start_demo_site(host, shown, port, port + 1 if demo_port is None else demo_port)
    try:
        uvicorn.run(
            "jasping.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            proxy_headers=True,
        )
    finally:
        if worker and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()


def _start_demo_site(host: str, shown: str, port: int, demo_port: int) -> None:
    """The demo clinic's web page with the widget, when the demo workspace exists."""
    from jasping import demo_site
    from jasping.demo import demo_public_key

    public_key = demo_public_key() if demo_port else None
    if not public_key:
        return
    try:
        demo_site.start(host, demo_port, platform_url=f"http://{shown}:{port}", public_key=public_key)
    except OSError as exc:
        click.echo(f"demo web page not started (port {demo_port}: {exc.strerror})", err=True)
        return
    click.echo(f"Demo web page with the chat widget: http://{shown}:{demo_port}/")


@main.command()
@click.option("--workers", default=4, type=int, help="worker threads (per process)")
@click.option("--processes", default=1, type=click.IntRange(1, 64), help="consumer processes, supervised")
@click.option("--no-periodic", is_flag=True, help="do not run the periodic schedule in this worker")
@click.option("--grace", default=25.0, type=float, help="seconds the jobs in hand get to finish on SIGTERM")
@click.option("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
@click.option("--exit-with-parent", is_flag=True, hidden=True, help="stop when the process that started us ends")
def worker(
    workers: int, processes: int, no_periodic: bool, grace: float, metrics_port: int | None, exit_with_parent: bool
) -> None:
    """Consume background jobs (SQLite queue by default, Redis with JASPING_REDIS_URL); SIGTERM stops gracefully."""
    from jasping import logs
    from jasping.jobs import worker as jobs_worker
    from jasping.jobs.queue import backend_name

    logs.setup(get_settings().log_level, get_settings().log_format)
    if processes > 1:
        sys.exit(
            jobs_worker.supervise(processes, workers, periodic=not no_periodic, grace=grace, metrics_port=metrics_port)
        )
    if exit_with_parent:
        _exit_with_parent()
    if metrics_port is not None:
        from jasping import metrics

        metrics.serve(metrics_port)
    click.echo(f"worker: {workers} threads on the {backend_name()} queue (pid {os.getpid()})", err=True)
    jobs_worker.consume(workers, periodic=not no_periodic, grace=grace)


def _exit_with_parent() -> None:
    """`serve` may be stopped by a signal that skips its clean-up: follow it rather than linger."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # the graceful shutdown

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# ---- demo and organizations --------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="print ids and keys as JSON")
def demo(as_json: bool) -> None:
    """Create the demo workspace if absent (idempotent); prints the demo login.

    With --json a fresh demo API key is issued (the previous demo key is revoked), since a key's
    secret cannot be shown twice."""
    from jasping.demo import ensure_demo

    _migrate_quietly()
    info = ensure_demo(fresh_api_key=as_json)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Demo login: {info['email']} / {info['password']}   (organization {info['org_name']})")


@main.group()
def org() -> None:
    """Organizations."""


@org.command("create")
@click.option("--name", required=True)
@click.option("--owner-email", required=True)
@click.option("--json", "as_json", is_flag=True)
def org_create(name: str, owner_email: str, as_json: bool) -> None:
    """Create an organization, its owner (with a one-time password) and an API key."""
    from jasping.db import session_scope
    from jasping.errors import DomainError
    from jasping.security.audit import SYSTEM
    from jasping.tenancy import service as tenancy

    _migrate_quietly()
    password = None
    try:
        with session_scope() as s:
            user = tenancy.find_user_by_email(s, owner_email)
            if user is None:
                password = secrets.token_urlsafe(12)
                user = tenancy.create_user(s, email=owner_email, password=password)
            organization = tenancy.create_organization(s, name=name, owner=user, actor=SYSTEM)
            key = tenancy.create_api_key(s, org_id=organization.id, name="CLI", actor=SYSTEM)
            out = {
                "org_id": organization.id,
                "api_key": key.secret,
                "owner_email": user.email,
                "owner_password": password,
            }
    except DomainError as exc:
        _fail(exc.message)
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"organization {out['org_id']} created\nAPI key (shown once): {out['api_key']}")
        if password:
            click.echo(f"owner {owner_email}, one-time password: {password}")


# ---- jobs --------------------------------------------------------------------------------------
@main.group()
def jobs() -> None:
    """Background and periodic jobs."""


@jobs.command("run-due")
@click.option("--now", "now_text", help="run as of this ISO-8601 time (default: the real now)")
@click.option("--force", is_flag=True, help="run every periodic job, due or not")
@click.option("--job", "only", multiple=True, help="only this periodic job (repeatable)")
@click.option("--json", "as_json", is_flag=True)
def jobs_run_due(now_text: str | None, force: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Run the periodic jobs that are due as of --now."""
    from jasping.jobs import tasks  # noqa: F401 - registers the periodic jobs
    from jasping.jobs.schedule import REGISTRY, run_due

    unknown = sorted(set(only) - set(REGISTRY))
    if unknown:
        _fail(f"no periodic job named {', '.join(unknown)} (see `jasping jobs status`)")

    _migrate_quietly()
    try:
        now = clock.parse_instant(now_text) if now_text else clock.now()
    except ValueError:
        _fail(f"--now must be an ISO-8601 time such as 2027-01-31T03:00:00Z (got {now_text!r})")
    results = run_due(now, force=force, only=only)
    if as_json:
        click.echo(json.dumps({"now": now.isoformat(), "jobs": results}, default=str))
    else:
        for r in results:
            state = "error" if "error" in r else ("skipped" if "skipped" in r else "ran")
            click.echo(f"{r['job']:<24} {state:<8} {r.get('result') or r.get('error') or ''}")
    if any("error" in r for r in results):
        sys.exit(1)


@jobs.command("status")
def jobs_status() -> None:
    """The periodic jobs, their interval and last run."""
    from jasping.jobs import tasks  # noqa: F401
    from jasping.jobs.schedule import status

    for row in status():
        click.echo(
            f"{row['job']:<24} every {row['every']:<16} last {row['last_due_at'] or 'never'} ({row['runs']} runs)"
        )


@jobs.command("ping")
@click.option("--timeout", default=30.0, type=float)
def jobs_ping(timeout: float) -> None:
    """Enqueue a job and wait for a worker to answer it (is anyone consuming the queue?)."""
    from jasping.jobs import tasks

    token = secrets.token_hex(8)
    started = time.monotonic()
    result = tasks.ping(token)
    try:
        answer = result.get(blocking=True, timeout=timeout)
    except Exception:  # noqa: BLE001 - huey raises its own timeout type
        _fail(f"no worker answered within {timeout:.0f}s; start one with `jasping worker`")
    if answer.get("token") != token:
        _fail("a worker answered with the wrong token")
    click.echo(json.dumps({"ok": True, "worker_pid": answer["pid"], "seconds": round(time.monotonic() - started, 3)}))


# ---- keys and audit ----------------------------------------------------------------------------
@main.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("rotate")
@click.option("--new-key", help="the new master key (base64); generated when omitted")
@click.option("--data-keys", is_flag=True, help="also start new data keys for every scope")
def keys_rotate(new_key: str | None, data_keys: bool) -> None:
    """Re-wrap every data key under a new master key; rows stay readable throughout."""
    from jasping.crypto import DataKey, decode_key, encode_key, get_keyring, key_file, key_id, write_key_file
    from jasping.db import session_scope

    _migrate_quietly()
    settings = get_settings()
    keyring = get_keyring()
    old = keyring.current
    raw = decode_key(new_key) if new_key else secrets.token_bytes(32)
    kf = key_file(settings)
    if not settings.master_key:
        pending = kf.with_name("master.key.next")
        write_key_file(pending, raw)  # written first: a crash below leaves both keys on disk
    count = keyring.rewrap_all(raw)
    if data_keys:
        with session_scope(write=False) as s:
            scopes = sorted(set(s.query(DataKey.scope).scalars()))
        for scope in scopes:
            keyring.new_data_key_version(scope)
    click.echo(f"re-wrapped {count} data keys: master key {key_id(old)} → {key_id(raw)}")
    if settings.master_key:
        click.echo(
            "Set JASPING_MASTER_KEY to the new key below, and JASPING_OLD_MASTER_KEYS to the old one until "
            "every process has restarted; then run `jasping keys retire`."
        )
        click.echo(f"new master key: {encode_key(raw)}")
    else:
        write_key_file(kf.with_name(f"master.key.old-{key_id(old)}"), old)
        os.replace(pending, kf)
        click.echo(
            f"new key in {kf} (mode 0600). Restart running processes, then `jasping keys retire` removes the old key."
        )


@keys.command("retire")
def keys_retire() -> None:
    """Re-wrap data keys still under an old master key, then delete old key files."""
    from jasping.crypto import get_keyring, key_file

    _migrate_quietly()
    keyring = get_keyring()
    count = keyring.rewrap_all(keyring.current)
    removed = [p.name for p in key_file(get_settings()).parent.glob("master.key.old-*")]
    for name in removed:
        (key_file(get_settings()).parent / name).unlink()
    click.echo(f"{count} data keys under master key {keyring.current_kid}; removed {len(removed)} old key files")


@keys.command("status")
def keys_status() -> None:
    """Master key fingerprints and how many data keys each wraps."""
    from sqlalchemy import func, select

    from jasping.crypto import DataKey, get_keyring
    from jasping.db import session_scope

    keyring = get_keyring()
    with session_scope(write=False) as s:
        rows = s.execute(select(DataKey.master_kid, func.count()).group_by(DataKey.master_kid)).all()
    click.echo(f"current master key: {keyring.current_kid}")
    for kid, n in rows:
        click.echo(f"  {kid}: {n} data keys{'' if kid in keyring.masters else '  (MISSING: cannot be opened)'}")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if any row was edited or removed."""
    from jasping.db import session_scope
    from jasping.security.audit import verify

    _migrate_quietly()
    with session_scope(write=False) as s:
        result = verify(s)
    if result.ok:
        click.echo(f"audit log intact: {result.checked} events verified")
    else:
        click.secho(
            f"audit log TAMPERED: {result.problem} ({result.checked} events verified before it)", fg="red", err=True
        )
        sys.exit(1)


@main.group()
def operator() -> None:
    """The platform's operators: who keeps the breach register and edits the public legal pages."""


@operator.command("grant")
@click.argument("email")
def operator_grant(email: str) -> None:
    """Make the user with EMAIL an operator of this server."""
    from jasping.db import session_scope
    from jasping.errors import DomainError
    from jasping.tenancy import operators

    _migrate_quietly()
    try:
        with session_scope() as s:
            user_id = operators.grant(s, email)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"{email} ({user_id}) is an operator")


@operator.command("revoke")
@click.argument("email")
def operator_revoke(email: str) -> None:
    """EMAIL is no longer an operator."""
    from jasping.db import session_scope
    from jasping.tenancy import operators

    _migrate_quietly()
    with session_scope() as s:
        done = operators.revoke(s, email)
    click.echo(f"{email} is no longer an operator" if done else f"{email} was not an operator")


def _register_subcommands() -> None:
    from jasping.cli_eval import eval_command
    from jasping.cli_kb import kb

    main.add_command(kb)
    main.add_command(eval_command)


_register_subcommands()

if __name__ == "__main__":
    main()
