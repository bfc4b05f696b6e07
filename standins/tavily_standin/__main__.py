"""Run the Tavily stand-in: python -m standins.tavily_standin --port N."""

from __future__ import annotations

import argparse
import os

from standins._serve import serve_http
from standins.tavily_standin.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m standins.tavily_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("TAVILY_STANDIN_API_KEY") or None,
        help="accept only this key (default: any non-empty key)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve_http(
        create_app(api_key=args.api_key),
        args.host,
        args.port,
        "tavily stand-in listening on {url} (offline, deterministic results)",
        args.log_level,
    )


if __name__ == "__main__":
    main()
