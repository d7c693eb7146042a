"""The ``oneplan`` command: run, load, authenticate and operate OnePlan services.

    oneplan dev [--database-url URL] [--nats-url URL | --reuse-nats]
    oneplan demo [--base-url-template TEMPLATE]
    oneplan token --agency AGENCY --role ROLE [--role ROLE] [--child ID] [--sub SUB] [--ttl HOURS]
    oneplan migrate [SERVICE ...]
    oneplan republish SERVICE [--after-position TX:POSITION] [--nats-url URL]
    oneplan rebuild SERVICE [READ_MODEL] [--nats-url URL]
    oneplan deadletters list SERVICE [--consumer NAME] [--all]
    oneplan deadletters replay SERVICE ID
    oneplan generate
    oneplan check-generated
    oneplan new-service NAME [--port N] [--title TEXT]

Exit codes: 0 success, 1 the work failed (a service died, a step failed), 2 bad usage or a
missing prerequisite (the message says what to do).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from oneplan_events.store import Position
from oneplan_kit.config import DevelopmentKeyOutsideDevelopment, ServiceSettings
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.demo import DEFAULT_BASE_URL_TEMPLATE, DemoError, run_demo
from oneplan_kit.dev import DevError, DevOptions, discover_services, find_root, run_dev
from oneplan_kit.service import ServiceDefinition, installed_services
from oneplan_kit.service import load_service as installed_service

if TYPE_CHECKING:
    from oneplan_events.deadletters import DeadLetter

__all__ = ["build_parser", "main", "mint_dev_token"]

USAGE_ERROR = 2
FAILURE = 1


class CommandError(RuntimeError):
    """A command cannot run as asked; the message says why and what to do."""


def mint_dev_token(
    agency: str,
    roles: Sequence[str],
    children: Sequence[str] = (),
    *,
    sub: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A development token signed with the key the dev services use (``./var``)."""
    try:
        settings = ServiceSettings()
    except ValidationError as error:
        reasons = "; ".join(str(detail["msg"]) for detail in error.errors())
        raise CommandError(f"no development token: {reasons}") from error
    return issue_token(settings, agency, roles, children, sub=sub, ttl=ttl)


def issue_token(
    settings: ServiceSettings,
    agency: str,
    roles: Sequence[str],
    children: Sequence[str],
    *,
    sub: str | None,
    ttl: timedelta,
) -> str:
    from oneplan_kit.auth import issue_dev_token

    try:
        return issue_dev_token(settings, agency, roles, children, sub=sub, ttl=ttl)
    except DevelopmentKeyOutsideDevelopment as error:
        raise CommandError(f"{error} (this shell has ONEPLAN_ENV={settings.env!r})") from error
    except ValueError as error:
        raise CommandError(str(error)) from error


def load_service(
    name: str, nats_url: str | None = None
) -> tuple[ServiceDefinition, ServiceSettings]:
    """The definition and settings of an installed service.

    ``nats_url`` overrides the settings' NATS (e.g. the one `oneplan dev` started).
    """
    try:
        definition = installed_service(name)
    except LookupError as error:
        raise CommandError(str(error)) from error
    settings = definition.settings_cls()
    if nats_url is not None:
        settings = settings.model_copy(update={"nats_url": nats_url})
    return definition, settings


def _dev(args: argparse.Namespace, out: TextIO) -> int:
    # The services run in development; so does the token the runner prints for them.
    os.environ["ONEPLAN_ENV"] = "development"
    options = DevOptions(
        root=find_root(),
        database_url=args.database_url,
        nats_url=args.nats_url,
        reuse_nats=args.reuse_nats,
        ready_timeout=args.ready_timeout,
        port_offset=args.port_offset,
    )
    return asyncio.run(run_dev(options, _minter(), out))


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    asyncio.run(
        run_demo(
            find_root(),
            _minter(),
            out,
            template=args.base_url_template,
            port_offset=args.port_offset,
        )
    )
    return 0


def _minter() -> Callable[[str, Sequence[str], Sequence[str]], str]:
    return lambda agency, roles, children: mint_dev_token(agency, roles, children)


def _token(args: argparse.Namespace, out: TextIO) -> int:
    token = mint_dev_token(
        args.agency,
        args.role,
        args.child,
        sub=args.sub,
        ttl=timedelta(hours=args.ttl),
    )
    out.write(token + "\n")
    return 0


def _migrate(args: argparse.Namespace, out: TextIO) -> int:
    names = args.services or [s.name for s in discover_services()]
    if not names:
        raise CommandError("no services to migrate: none found under services/")
    asyncio.run(_migrate_all(names, out))
    return 0


async def _migrate_all(names: Sequence[str], out: TextIO) -> None:
    from oneplan_kit.migrations import ensure_database, upgrade

    for name in names:
        definition, settings = load_service(name)
        url = settings.resolved_database_url
        await ensure_database(url)
        await upgrade(definition.migrations_location, url)
        out.write(f"{name}: migrated to head ({_safe_url(url)})\n")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def parse_position(text: str) -> Position:
    """``TX:POSITION`` as ``republish`` prints it (SQLite's transaction ids are 0: ``0:N``)."""
    tx_id, sep, position = text.partition(":")
    if not sep or not tx_id.isdigit() or not position.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected TX:POSITION (two whole numbers, as republish prints), not {text!r}"
        )
    return Position(int(tx_id), int(position))


def _republish(args: argparse.Namespace, out: TextIO) -> int:
    count = asyncio.run(_republish_service(args.service, args.after_position, args.nats_url, out))
    out.write(f"{args.service}: republished {count} events\n")
    return 0


async def _republish_service(
    service: str, after: Position, nats_url: str | None, out: TextIO
) -> int:
    from oneplan_events.replay import republish
    from oneplan_events.streams import ensure_stream
    from oneplan_kit.nats import connect_nats

    definition, settings = load_service(service, nats_url)
    if not definition.publishes:
        raise CommandError(f"{service} publishes no events: there is nothing to republish")
    spec = dataclasses.replace(
        definition.stream,
        replicas=settings.stream_replicas,
        duplicate_window=settings.duplicate_window,
    )

    def progress(done: int, last: Position) -> None:
        out.write(f"{service}: {done} events republished, up to {last.tx_id}:{last.position}\n")
        out.flush()

    engine = create_engine(settings.resolved_database_url)
    nc = await connect_nats(settings, service)
    try:
        js = nc.jetstream()
        # The stream may be what was lost: recreate it before refilling it.
        await ensure_stream(js, spec)
        return await republish(engine, js, after, progress)
    finally:
        await nc.drain()
        await engine.dispose()


def _rebuild(args: argparse.Namespace, out: TextIO) -> int:
    asyncio.run(_rebuild_service(args.service, args.read_model, args.nats_url, out))
    return 0


async def _rebuild_service(
    service: str, only: str | None, nats_url: str | None, out: TextIO
) -> None:
    from oneplan_kit.app import tool_runtime
    from oneplan_kit.rebuild import rebuild_read_model

    definition, settings = load_service(service, nats_url)
    models = [m for m in definition.read_models if only in (None, m.name)]
    if not models:
        known = ", ".join(m.name for m in definition.read_models) or "none"
        raise CommandError(f"{service} has no read model {only!r} to rebuild (it has: {known})")
    bar = _ProgressBar(out)
    async with tool_runtime(definition, settings) as runtime:
        for model in models:
            report = await rebuild_read_model(
                model,
                service=service,
                nc=runtime.nc,
                sessionmaker=runtime.sessionmaker,
                catalogue=definition.catalogue,
                work_factory=runtime.reaction_work,
                progress=bar.for_label(f"{service} {model.name}"),
            )
            bar.done()
            out.write(
                f"{service}: {model.name} rebuilt from {sum(report.streams.values())} messages "
                f"of {len(report.streams)} streams in {report.seconds:.1f} s: {report.applied} "
                f"applied, {report.passed} passed over, {report.skipped} unapplicable "
                "(parked by the live consumer)\n"
            )
            if report.missing:
                out.write(
                    f"{service}: not created yet, so nothing read: {', '.join(report.missing)}\n"
                )


class _ProgressBar:
    """``label [#####.....] done/total`` on one line, redrawn in place on a terminal."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out, self.width, self._last = out, width, ""

    def for_label(self, prefix: str) -> Callable[[str, int, int], None]:
        """The progress callback of one read model: ``prefix STREAM [###...] done/total``."""
        return lambda stream, done, total: self.show(f"{prefix} {stream}", done, total)

    def show(self, label: str, done: int, total: int) -> None:
        filled = self.width * min(done, total) // max(total, 1)
        line = f"{label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if label != self._last.split(" [")[0] and self._last:
            self.out.write("\n")
        self.out.write(f"\r{line}")
        self.out.flush()
        self._last = line

    def done(self) -> None:
        if self._last:
            self.out.write("\n")
        self._last = ""


def _deadletters(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "list":
        asyncio.run(_list_dead_letters(args.service, args.consumer, args.all, out))
    else:
        asyncio.run(_request_replay(args.service, args.id, out))
    return 0


async def _list_dead_letters(service: str, consumer: str | None, every: bool, out: TextIO) -> None:
    from oneplan_events.deadletters import list_dead_letters

    _, settings = load_service(service)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            letters = await list_dead_letters(session, consumer, include_replayed=every)
    finally:
        await engine.dispose()
    if not letters:
        out.write(f"{service}: no dead letters\n")
    for letter in letters:
        out.write(
            f"{letter.id}\t{letter.parked_at:%Y-%m-%d %H:%M:%S}\t{letter.consumer}\t"
            f"{letter.subject}\tevent {letter.event_id or '-'}\t"
            f"{letter.deliveries} deliveries{_replay_state(letter)}\n\t{letter.error}\n"
        )


def _replay_state(letter: DeadLetter) -> str:
    if letter.replayed_at is not None:
        return f" replayed {letter.replayed_at:%Y-%m-%d %H:%M:%S}"
    if letter.replay_requested_at is not None:
        return f" replay requested {letter.replay_requested_at:%Y-%m-%d %H:%M:%S}"
    return ""


async def _request_replay(service: str, letter_id: int, out: TextIO) -> None:
    """Mark the letter in the service's database; its running consumer applies it."""
    from oneplan_events.deadletters import (
        DeadLetterAlreadyReplayed,
        DeadLetterNotFound,
        request_replay,
    )

    _, settings = load_service(service)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            letter = await request_replay(session, letter_id)
    except DeadLetterNotFound as error:
        raise CommandError(f"{service} has no dead letter {letter_id}") from error
    except DeadLetterAlreadyReplayed as error:
        raise CommandError(str(error)) from error
    finally:
        await engine.dispose()
    out.write(
        f"dead letter {letter.id} ({letter.subject}): replay requested for consumer "
        f"{letter.consumer}; the running {service} service applies it within a few seconds "
        f"(`oneplan deadletters list {service} --all` shows the outcome)\n"
    )


def _installed() -> list[ServiceDefinition]:
    services = list(installed_services().values())
    if not services:
        raise CommandError(
            "no services are installed (a service is a package under services/ with an "
            "`oneplan.services` entry point; run `uv sync --all-packages`)"
        )
    return services


def _generate(args: argparse.Namespace, out: TextIO) -> int:
    from oneplan_kit.deployment import generated_files, write_files

    services = _installed()
    changed = write_files(find_root(), services)
    for generated in generated_files(services):
        state = "written" if generated.path in changed else "up to date"
        out.write(f"{generated.path}: {state}\n")
    return 0


_DIFF_LINES = 30


def _check_generated(args: argparse.Namespace, out: TextIO) -> int:
    from oneplan_kit.deployment import stale_files

    services = _installed()
    stale = stale_files(find_root(), services)
    names = ", ".join(s.name for s in services)
    if not stale:
        out.write(f"every generated file matches the installed services ({names})\n")
        return 0
    for path, diff in stale.items():
        out.write(f"{path} differs from what the installed services ({names}) generate:\n")
        shown = diff[:_DIFF_LINES]
        out.write("".join(f"    {line}\n" for line in shown))
        if len(diff) > len(shown):
            out.write(f"    ... ({len(diff) - len(shown)} more diff lines)\n")
    out.write(
        f"{len(stale)} generated file(s) out of date: run `./oneplan generate` (after "
        "`uv sync --all-packages` when a service was added) and commit the result\n"
    )
    return FAILURE


def _new_service(args: argparse.Namespace, out: TextIO) -> int:
    from oneplan_kit.scaffold import ScaffoldError, new_service

    try:
        new_service(
            find_root(), args.name, installed_services(), out, port=args.port, title=args.title
        )
    except ScaffoldError as error:
        raise CommandError(str(error)) from error
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``oneplan`` command."""
    parser = argparse.ArgumentParser(
        prog="oneplan", description="Run and operate OnePlan (see README.md)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run every service under services/ with its own NATS")
    dev.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL server (postgresql://user@host:5432/postgres): each service gets "
        "its own database oneplan_<name> there, created if missing (default: SQLite in ./var)",
    )
    nats_choice = dev.add_mutually_exclusive_group()
    nats_choice.add_argument(
        "--nats-url", metavar="URL", help="use this NATS (with JetStream) instead of starting one"
    )
    nats_choice.add_argument(
        "--reuse-nats",
        action="store_true",
        help="use the NATS already running at nats://127.0.0.1:4222 instead of starting one",
    )
    dev.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="how long to wait for every /readyz (default 90)",
    )
    _add_port_offset(dev)
    dev.set_defaults(handler=_dev)

    demo = commands.add_parser("demo", help="load a synthetic scenario into running services")
    demo.add_argument(
        "--base-url-template",
        default=DEFAULT_BASE_URL_TEMPLATE,
        metavar="TEMPLATE",
        help="each service's URL, from {name} and {port} (default %(default)s)",
    )
    _add_port_offset(demo)
    demo.set_defaults(handler=_demo)

    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--agency", required=True, help="send, school, health, social_care, ...")
    token.add_argument("--role", action="append", required=True, help="a role (repeat for several)")
    token.add_argument(
        "--child", action="append", default=[], metavar="ID", help="a child id (family users)"
    )
    token.add_argument("--sub", help="the subject (default: a generated user id)")
    token.add_argument("--ttl", type=float, default=8.0, metavar="HOURS", help="default 8")
    token.set_defaults(handler=_token)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help="default: every service")
    migrate.set_defaults(handler=_migrate)

    again = commands.add_parser(
        "republish", help="publish a service's stored events to JetStream again"
    )
    again.add_argument("service", metavar="SERVICE")
    again.add_argument(
        "--after-position",
        type=parse_position,
        default=Position.START,
        metavar="TX:POSITION",
        help="only events after this store position, as printed by an earlier run (default: all)",
    )
    _add_nats_url(again)
    again.set_defaults(handler=_republish)

    rebuild = commands.add_parser(
        "rebuild", help="empty a service's read model and refill it from the streams"
    )
    rebuild.add_argument("service", metavar="SERVICE")
    rebuild.add_argument(
        "read_model", nargs="?", metavar="READ_MODEL", help="default: each of the service's"
    )
    _add_nats_url(rebuild)
    rebuild.set_defaults(handler=_rebuild)

    dead = commands.add_parser("deadletters", help="list or replay parked messages")
    dead_actions = dead.add_subparsers(dest="action", required=True, metavar="ACTION")
    dead_list = dead_actions.add_parser("list", help="a service's dead letters, oldest first")
    dead_list.add_argument("service", metavar="SERVICE")
    dead_list.add_argument("--consumer", help="only this consumer's")
    dead_list.add_argument("--all", action="store_true", help="include replayed ones")
    dead_replay = dead_actions.add_parser(
        "replay",
        help="ask the running service's consumer to apply a dead letter again",
    )
    dead_replay.add_argument("service", metavar="SERVICE")
    dead_replay.add_argument("id", type=int, metavar="ID")
    dead.set_defaults(handler=_deadletters)

    generate = commands.add_parser(
        "generate",
        help="write the deployment files and docs/asyncapi.yaml from the installed services",
    )
    generate.set_defaults(handler=_generate)
    check = commands.add_parser(
        "check-generated",
        help="exit 1 when a generated file differs from what the installed services generate",
    )
    check.set_defaults(handler=_check_generated)

    scaffold = commands.add_parser(
        "new-service", help="scaffold services/NAME in the house shape, lock, sync, generate"
    )
    scaffold.add_argument("name", metavar="NAME", help="a lower-case identifier, e.g. housing")
    scaffold.add_argument(
        "--port", type=int, metavar="N", help="its HTTP port (default: the next free from 8008)"
    )
    scaffold.add_argument("--title", metavar="TEXT", help='default "OnePlan NAME"')
    scaffold.set_defaults(handler=_new_service)

    return parser


def _add_nats_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nats-url",
        metavar="URL",
        help="the NATS to publish to (default: ONEPLAN_NATS_URL, else nats://127.0.0.1:4222); "
        "`oneplan dev` prints the one it started",
    )


def _add_port_offset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        metavar="N",
        help="add N to every service port, to run a second copy beside the first (default 0)",
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one ``oneplan`` command; returns the process exit code."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    _work_from_checkout()
    handler: Callable[[argparse.Namespace, TextIO], int] = args.handler
    try:
        return handler(args, out)
    except (CommandError, DevError, DemoError) as error:
        sys.stderr.write(f"oneplan {args.command}: {error}\n")
        return USAGE_ERROR if isinstance(error, CommandError) else FAILURE
    except KeyboardInterrupt:
        return FAILURE


def _work_from_checkout() -> None:
    """Run from the repository root, so ``./var`` means the same to every command."""
    try:
        root = find_root()
    except DevError:
        return  # an installed image: no checkout, the settings say where data lives
    os.chdir(root)
    os.environ.setdefault("ONEPLAN_ROOT", str(root))


if __name__ == "__main__":
    raise SystemExit(main())
