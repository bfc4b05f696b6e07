"""Run the Tavily stand-in: python -m app.embedded.tavily_standin --port N."""

from __future__ import annotations

import argparse
import os
import socket

import uvicorn

from app.embedded.tavily_standin.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m app.embedded.tavily_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("TAVILY_STANDIN_API_KEY") or None,
        help="accept only this key (default: any non-empty key)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    # Bind before announcing so the printed URL already accepts connections.
    sock = socket.create_server((args.host, args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(api_key=args.api_key), log_level=args.log_level, access_log=False
    )
    url = f"http://{args.host}:{port}"
    print(f"tavily stand-in listening on {url} (offline, deterministic results)", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
