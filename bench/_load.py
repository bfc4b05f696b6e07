"""The benchmarks' HTTP load: POST JSON bodies over N keep-alive connections.

As a program, bench/accept.py's load generator when wrk is absent: keeps --connections
requests in flight (one per connection) for --warmup seconds unmeasured, then for --seconds,
and prints one JSON line: requests sent, how many were answered with --expect, and the measured
seconds. As a module, `post_all` sends a burst of bodies (bench/inflight.py, bench/overhead.py).
It speaks HTTP/1.1 over asyncio streams itself: httpx.AsyncClient spends 3-8 ms of CPU per
request at 32-64 connections, so on this machine it saturates a core near 250 requests/s, and
in a burst it takes the CPU the service under test needs (2 s of it for 256 submits).

    python bench/_load.py URL --body '{"task": "..."}' [--header K:V] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection; its status and body."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def post_all(
    url: str, bodies: list[bytes], headers: dict[str, str], connections: int = 64
) -> list[tuple[int, bytes]]:
    """POST every body to `url`, `connections` at a time; (status, body) of each, in order."""
    parts = urlsplit(url)
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(bodies)
    queue = list(enumerate(bodies))
    queue.reverse()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while queue:
                n, body = queue.pop()
                answers[n] = await _exchange(reader, writer, request_bytes(url, body, headers))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(connections, len(bodies)))))
    return answers


def request_bytes(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The whole POST request, built once and sent as is on every connection."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _connection(url: str, request: bytes, until: float, expect: int) -> tuple[int, int]:
    """Send requests one after another on one connection; return (sent, answered with expect)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    sent = ok = 0
    try:
        while time.monotonic() < until:
            status, _ = await _exchange(reader, writer, request)
            sent += 1
            ok += status == expect
    finally:
        writer.close()
    return sent, ok


async def load(url: str, request: bytes, args: argparse.Namespace) -> dict[str, float]:
    """Warm up, then measure; return the counts and the measured duration."""
    until = time.monotonic() + args.warmup
    connections = range(args.connections)
    await asyncio.gather(*(_connection(url, request, until, args.expect) for _ in connections))
    started = time.monotonic()
    until = started + args.seconds
    counts = await asyncio.gather(
        *(_connection(url, request, until, args.expect) for _ in connections)
    )
    return {
        "sent": sum(sent for sent, _ in counts),
        "ok": sum(ok for _, ok in counts),
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--body", required=True)
    parser.add_argument("--header", action="append", default=[], help="Name:value")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--expect", type=int, default=202)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    request = request_bytes(args.url, args.body.encode(), headers)
    print(json.dumps(asyncio.run(load(args.url, request, args))))


if __name__ == "__main__":
    main()
