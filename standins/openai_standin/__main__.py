"""Run the OpenAI stand-in: python -m standins.openai_standin --port N [--latency-ms 0]."""

from __future__ import annotations

import argparse
import os

from standins._serve import serve_http
from standins.openai_standin.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m standins.openai_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=int(os.environ.get("OPENAI_STANDIN_LATENCY_MS", "0")),
        help="hold every answer this long (default: $OPENAI_STANDIN_LATENCY_MS or 0)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_STANDIN_API_KEY") or None,
        help="accept only this bearer key (default: any non-empty key)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve_http(
        create_app(args.latency_ms, api_key=args.api_key),
        args.host,
        args.port,
        "openai stand-in listening on {url}/v1 (offline, deterministic answers)",
        args.log_level,
    )


if __name__ == "__main__":
    main()
