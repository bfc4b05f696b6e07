"""Run the MongoDB stand-in: `python -m standins.mongo --host 127.0.0.1 --port 27017`."""

from __future__ import annotations

import argparse
import logging

import uvloop

from standins.mongo.server import serve


def _announce(host: str, port: int) -> None:
    print(
        f"mongo stand-in listening on {host}:{port} (in-memory; data is lost when it stops)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m standins.mongo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # uvloop (uvicorn's loop, already a dependency) halves the per-message cost of asyncio's.
    uvloop.run(serve(args.host, args.port, on_listening=_announce))


if __name__ == "__main__":
    main()
