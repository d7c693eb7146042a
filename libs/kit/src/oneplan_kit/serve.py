"""Run one installed service under uvicorn with the kit's JSON logs from the first line.

::

    python -m oneplan_kit.serve children --port 8001

Why not the ``uvicorn`` command: it logs its first lines (``Started server process``...) in
plain text before the app exists, and every health probe in its access log. Here the kit's
JSON logging is configured before uvicorn starts and uvicorn installs no handlers of its own
(``log_config=None``), so every line a service writes is one JSON object; health probes are
left out of the access log (``oneplan_kit.logging``). ``oneplan dev`` and the container image
both start services this way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from oneplan_kit.app import create_app
from oneplan_kit.logging import configure_logging
from oneplan_kit.service import installed_services, load_service

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m oneplan_kit.serve", description=__doc__)
    parser.add_argument("service", help="an installed service: " + ", ".join(installed_services()))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, help="default: <NAME>_PORT, else the service definition's port"
    )
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-* from the proxy in front (a container behind a load balancer)",
    )
    parser.add_argument("--graceful-shutdown", type=float, default=10.0, metavar="SECONDS")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the named service until SIGTERM or Ctrl-C."""
    args = _parser().parse_args(argv)
    try:
        definition = load_service(args.service)
    except LookupError as error:
        print(f"oneplan serve: {error}", file=sys.stderr)
        return 2
    settings = definition.settings_cls()
    configure_logging(definition.name, settings.log_level)
    uvicorn.run(
        create_app(definition, settings),
        host=args.host,
        port=args.port or settings.port or definition.port,
        log_config=None,
        proxy_headers=args.proxy_headers,
        timeout_graceful_shutdown=int(args.graceful_shutdown),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
