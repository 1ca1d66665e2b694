"""The ``lms-graph`` command: serve, migrate, seed a demo, make admins, print tokens and the SDL.

Errors a person can act on are one line on stderr: exit code 1 when the request
was refused (unknown user, invalid email), 2 when the set-up is wrong (settings,
database unreachable, plugins).

Each command imports what it runs (the server, the schema, the database) when it
runs, so ``lms-graph --help`` and a usage error answer without loading any of it.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from lms_graph.errors import LMSError, StartupError

if TYPE_CHECKING:
    from lms_graph.core import LMS
    from lms_graph.records import UserRecord
    from lms_graph.settings import Settings

T = TypeVar("T")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class CommandFailed(Exception):
    """A refusal the command reports as one line on stderr."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# --- argument parsing -------------------------------------------------------------------------


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lms-graph",
        description="GraphQL service for the learner-management side of an LMS.",
        epilog="Settings come from the environment: LMS_DATABASE_URL, LMS_SECRET_KEY, "
        "LMS_PLUGINS, LMS_ENV ...",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="upgrade the database, then serve the API")
    _add_address(serve)
    serve.add_argument("--workers", type=_positive, default=1, help="uvicorn workers (default 1)")
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_upgrade = db_commands.add_parser(
        "upgrade", help="apply the migrations of the core and of every plugin"
    )
    db_upgrade.set_defaults(handler=_db_upgrade)

    demo = commands.add_parser(
        "demo", help="seed demo data (once), print an admin token, then serve"
    )
    _add_address(demo)
    demo.set_defaults(handler=_demo)

    create_admin = commands.add_parser(
        "create-admin", help="create an administrator, or promote an existing user"
    )
    create_admin.add_argument("email")
    create_admin.add_argument("--name", help="display name (default: from the email)")
    create_admin.set_defaults(handler=_create_admin)

    token = commands.add_parser("token", help="print a bearer token for a user (alone on stdout)")
    token.add_argument("email")
    token.add_argument(
        "--ttl", type=_positive, default=None, help="lifetime in seconds (default: LMS_TOKEN_TTL)"
    )
    token.set_defaults(handler=_token)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(handler=_schema)

    mail = commands.add_parser("mail", help="e-mail delivery (the email plugin)")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True, metavar="MAIL_COMMAND")
    mail_retry = mail_commands.add_parser(
        "retry", help="queue every failed e-mail again, with a new day to get through"
    )
    mail_retry.set_defaults(handler=_mail_retry)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse already reported
        return _exit_code(exit_)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

    try:
        return handler(args)
    except CommandFailed as error:
        return _fail(error.message, error.exit_code)
    except LMSError as error:
        return _fail(error.message, 1)
    except StartupError as error:
        return _fail(str(error), 2)
    except ArgumentError as error:
        return _fail(f"LMS_DATABASE_URL is not usable: {error}", 2)
    except CommandError as error:
        return _fail(f"Database migration failed: {error}", 2)
    except BrokenPipeError:  # e.g. `lms-graph schema | head`: stop quietly
        _silence_stdout()
        return 1
    except OSError as error:
        if error.filename is not None:  # e.g. the signing key file cannot be written
            return _fail(f"{error.strerror}: {error.filename}", 2)
        return _fail(_database_problem(error), 2)
    except DBAPIError as error:
        return _fail(_database_problem(error), 2)
    except SQLAlchemyError as error:
        return _fail(f"Database error: {error}", 2)
    except SystemExit as exit_:  # settings (``Settings.from_env``) or uvicorn start-up
        if isinstance(exit_.code, str):
            return _fail(exit_.code, 2)
        return _exit_code(exit_)
    except KeyboardInterrupt:
        return 130


def _exit_code(exit_: SystemExit) -> int:
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _fail(message: str, exit_code: int) -> int:
    print(f"lms-graph: {message}", file=sys.stderr)
    return exit_code


def _database_problem(error: Exception) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from lms_graph.settings import Settings

    settings_url = os.environ.get("LMS_DATABASE_URL") or Settings().database_url
    try:
        where = make_url(settings_url).render_as_string(hide_password=True)
    except ArgumentError:
        where = "LMS_DATABASE_URL"
    detail = getattr(error, "orig", None) or error
    text = " ".join(str(detail).split()) or type(detail).__name__
    return (
        f"Database error at {where}: {text} "
        "(check LMS_DATABASE_URL; `lms-graph db upgrade` sets up a new database)"
    )


# --- running async work -----------------------------------------------------------------------


def _with_lms(settings: Settings, work: Callable[[LMS], Awaitable[T]]) -> T:
    """Run ``work`` on a fresh ``LMS`` in its own event loop, closing it afterwards."""
    import asyncio

    from lms_graph.core import LMS

    async def run() -> T:
        lms = LMS(settings)
        try:
            return await work(lms)
        finally:
            await lms.close()

    return asyncio.run(run())


# --- commands ---------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from lms_graph.migrations import upgrade
    from lms_graph.settings import Settings

    settings = Settings.from_env()
    _with_lms(settings, upgrade)
    return _run_server(args.host, args.port, args.workers, settings)


def _run_server(host: str, port: int, workers: int, settings: Settings) -> int:
    import uvicorn

    from lms_graph.logs import log_config

    uvicorn.run(
        "lms_graph.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(settings),
        access_log=False,  # lms_graph.access logs each request, with its id
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from lms_graph.migrations import upgrade
    from lms_graph.settings import Settings

    settings = Settings.from_env()
    _with_lms(settings, upgrade)
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"Database {where} is up to date.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lms_graph.auth import issue_token
    from lms_graph.demo import mail_settings, seed
    from lms_graph.migrations import upgrade
    from lms_graph.settings import Settings

    settings = Settings.from_env()
    if settings.production:
        raise CommandFailed("Refusing to seed demo data with LMS_ENV=production.", 2)
    _check_port(args.host, args.port)

    mail = mail_settings(os.environ)  # before the service reads the mail settings

    async def prepare(lms: LMS) -> UserRecord:
        await upgrade(lms)
        return await seed(lms)

    admin = _with_lms(settings, prepare)
    if not (admin.is_admin and admin.active):
        print(
            f"lms-graph: warning: {admin.email} exists but is not an active admin; "
            f"run `lms-graph create-admin {admin.email}`.",
            file=sys.stderr,
        )
    token = issue_token(settings, admin.id)
    print(f"Demo data is ready. Admin: {admin.name} <{admin.email}>")
    print(f"GraphiQL:    {_browser_address(args.host, args.port)}/graphql")
    if settings.admin_ui_enabled:
        address = _browser_address(args.host, args.port)
        print(f"Dashboard:   {address}/admin/#token={token}")
    print(f"Admin token: {token}")
    print(f"E-mails:     {mail}")
    print('In GraphiQL, add the header {"Authorization": "Bearer <admin token>"}.', flush=True)
    return _run_server(args.host, args.port, 1, settings)


def _check_port(host: str, port: int) -> None:
    """Fail before seeding or printing a token when the server could not listen: a busy
    port would otherwise send a newcomer, with a valid token, to someone else's server.

    Binds the way uvicorn does (``SO_REUSEADDR``, IPv6 for a host with a colon), then lets
    go; the port is free again for uvicorn a moment later.
    """
    if port == 0:  # any free port: nothing to check
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandFailed(
                f"Port {port} on {host} is already in use; stop what listens there, "
                "or choose another port with --port.",
                2,
            ) from None
        reason = error.strerror or str(error)
        raise CommandFailed(f"Cannot listen on {host}:{port}: {reason}.", 2) from None


def _browser_address(host: str, port: int) -> str:
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _email(raw: str) -> str:
    from lms_graph.services.users import normalize_email

    email = normalize_email(raw)
    if email is None:
        raise CommandFailed("Give an email address.")
    return email


def _create_admin(args: argparse.Namespace) -> int:
    email = _email(args.email)
    name: str | None = args.name
    from sqlalchemy import select, update

    from lms_graph import models as m
    from lms_graph.auth import Viewer
    from lms_graph.migrations import upgrade
    from lms_graph.queries import USER_COLUMNS
    from lms_graph.records import UserRecord
    from lms_graph.services.journal import record_audit
    from lms_graph.services.tx import write
    from lms_graph.services.users import insert_user
    from lms_graph.settings import Settings

    settings = Settings.from_env()

    async def work(lms: LMS) -> tuple[UserRecord, bool]:
        await upgrade(lms)
        async with write(lms, Viewer(user=None)) as tx:
            row = (
                (await tx.db.execute(select(*USER_COLUMNS).where(m.User.email == email)))
                .mappings()
                .one_or_none()
            )
            if row is None:
                user = await insert_user(
                    tx, name=name or email.split("@")[0], email=email, is_admin=True
                )
                created = True
            else:
                changes: dict[str, object] = {"is_admin": True, "active": True}
                if name is not None:
                    changes["name"] = " ".join(name.split())
                    if not changes["name"]:
                        raise CommandFailed("A user needs a name.")
                await tx.db.execute(update(m.User).where(m.User.id == row["id"]).values(**changes))
                user = UserRecord.from_row({**row, **changes})
                created = False
            await record_audit(
                tx, "admin_granted", [(user.id, None, {"via": "cli", "created": created})]
            )
        return user, created

    user, created = _with_lms(settings, work)
    verb = "Created administrator" if created else "Made administrator (active)"
    print(f"{verb}: {user.name} <{user.email}> (user {user.id}).")
    return 0


def _token(args: argparse.Namespace) -> int:
    email = _email(args.email)
    from lms_graph.auth import issue_token
    from lms_graph.services.users import user_by_email
    from lms_graph.settings import Settings

    settings = Settings.from_env()
    user = _with_lms(settings, lambda lms: user_by_email(lms, email))
    if user is None:
        raise CommandFailed(f"No user has the email {email}.")
    if not user.active:
        raise CommandFailed(f"The user {email} is deactivated: no token is issued for them.")
    print(issue_token(settings, user.id, args.ttl))
    return 0


def _mail_retry(args: argparse.Namespace) -> int:
    from lms_graph.settings import Settings

    settings = Settings.from_env()

    async def work(lms: LMS) -> int:
        # The plugin is reached through the plugin manager, never imported by name.
        plugin = lms.pm.get_plugin("email")
        if plugin is None:
            raise CommandFailed("The email plugin is not loaded (see LMS_PLUGINS).", 2)
        count: int = await plugin.requeue_failed(lms)
        return count

    count = _with_lms(settings, work)
    print(f"Queued {count} failed e-mail{'' if count == 1 else 's'} again.")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from lms_graph.schema import build_schema
    from lms_graph.settings import Settings

    # The SDL needs no signing key: do not generate and store one just to print it.
    environ = dict(os.environ)
    if not environ.get("LMS_SECRET_KEY"):
        environ["LMS_SECRET_KEY"] = "unused-for-printing-the-schema"
    settings = Settings.from_env(environ)

    async def sdl(lms: LMS) -> str:
        return str(build_schema(lms))

    print(_with_lms(settings, sdl).strip())
    return 0
