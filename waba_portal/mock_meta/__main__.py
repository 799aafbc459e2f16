"""``python -m waba_portal.mock_meta`` — run the mock Meta server.

Prints ``mock-meta listening on http://HOST:PORT`` (flushed) once the socket is bound.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from .config import Config
from .server import MockMetaServer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m waba_portal.mock_meta",
        description="Stateful mock of Meta's WhatsApp Graph API",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--app-id", default="100000000000001")
    p.add_argument("--app-secret", default="mock-app-secret")
    p.add_argument("--app-name", default="WABA Portal")
    p.add_argument("--verify-token", default="mock-verify-token")
    p.add_argument("--webhook-url", default=None, help="the app's webhook callback URL")
    p.add_argument(
        "--review-delay",
        type=float,
        default=2.0,
        help="seconds before a template (and display name) is reviewed",
    )
    p.add_argument("--throughput", type=int, default=80, help="messages/s per number")
    p.add_argument(
        "--status-delays",
        default=None,
        help='JSON, e.g. {"sent":0.5,"delivered":1,"read":2} (null skips)',
    )
    p.add_argument("--webhook-max-attempts", type=int, default=5)
    p.add_argument(
        "--webhook-backoff",
        type=float,
        default=1.0,
        help="first retry delay in seconds (doubles each attempt)",
    )
    p.add_argument(
        "--webhook-mode", default="normal", choices=["normal", "duplicate", "reorder", "batch"]
    )
    p.add_argument("--oauth-code-ttl", type=float, default=300.0)
    p.add_argument(
        "--no-require-subscription",
        action="store_true",
        help="deliver WABA webhooks even when the app is not subscribed",
    )
    p.add_argument("--config", default=None, help="JSON object of extra config values")
    p.add_argument(
        "--seed-demo",
        action="store_true",
        help="seed a demo business / WABA / number / templates and print the ids",
    )
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    config = Config(
        app_id=args.app_id,
        app_secret=args.app_secret,
        app_name=args.app_name,
        verify_token=args.verify_token,
        webhook_url=args.webhook_url,
        review_delay=args.review_delay,
        name_review_delay=args.review_delay,
        throughput=args.throughput,
        webhook_max_attempts=args.webhook_max_attempts,
        webhook_backoff=args.webhook_backoff,
        webhook_mode=args.webhook_mode,
        oauth_code_ttl=args.oauth_code_ttl,
        require_subscription=not args.no_require_subscription,
    )
    extra: dict[str, Any] = {}
    if args.status_delays:
        extra["status_delays"] = json.loads(args.status_delays)
    if args.config:
        extra.update(json.loads(args.config))
    if extra:
        config.update(extra)
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    server = MockMetaServer(config_from_args(args), host=args.host, port=args.port)
    # Reset must restore what the command line asked for.
    server.app.state._initial_config.__dict__.update(
        __import__("copy").deepcopy(server.config).__dict__
    )
    print(f"mock-meta listening on {server.base_url}", flush=True)
    if args.seed_demo:
        seeded = server.app.state.seed({})
        print("mock-meta demo seed " + json.dumps(seeded), flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.shutdown()
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
