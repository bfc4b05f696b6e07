"""Serve an HTTP stand-in with uvicorn on a socket bound before its ready line is printed."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI


def serve_http(app: FastAPI, host: str, port: int, banner: str, log_level: str) -> None:
    """Bind host:port (0 picks a free port), print banner with {url} filled, serve until signal."""
    # Bind before announcing so the printed URL already accepts connections. The backlog is
    # uvicorn's own default: Python's (128) drops connections when hundreds arrive at once.
    sock = socket.create_server((host, port), backlog=2048)
    url = f"http://{host}:{sock.getsockname()[1]}"
    # Keep idle connections as long as clients do (OpenAI's SDK pools them): uvicorn's 5 s
    # default closes them under clients that are about to reuse them.
    config = uvicorn.Config(app, log_level=log_level, access_log=False, timeout_keep_alive=75)
    print(banner.format(url=url), flush=True)
    uvicorn.Server(config).run(sockets=[sock])
