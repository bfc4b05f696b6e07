"""`python -m app.cli keys ...`: manage API keys straight in MongoDB (MONGO_URI), so the first
admin key can be made before any exists.

    python -m app.cli keys create --tenant acme --role user --name ci
    python -m app.cli keys list [--tenant acme]
    python -m app.cli keys revoke KEY_ID
    python -m app.cli keys rotate KEY_ID [--grace-seconds 3600]

Each prints the key as one JSON object; `create` and `rotate` include its secret, shown only
then. Errors print one line and exit with status 1 (2 for configuration).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from app.config import ConfigurationError, get_settings
from app.dispatch.keys import IssuedKey, KeyService
from app.domain.access import Role
from app.domain.errors import AppError
from app.store import open_store
from app.store.api_keys import KeyRecord


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description=__doc__.split("\n")[0])
    areas = parser.add_subparsers(dest="area", required=True)
    keys = areas.add_parser("keys", help="managed API keys").add_subparsers(
        dest="command", required=True
    )
    create = keys.add_parser("create", help="a new key; prints its secret once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    create.add_argument("--name", default="")
    create.add_argument("--expires-in-days", type=float, default=None)
    for limit in ("submits-per-minute", "reads-per-minute"):
        create.add_argument(f"--{limit}", type=int, default=None, help="0: no limit")
    listing = keys.add_parser("list", help="the keys, without secrets")
    listing.add_argument("--tenant", default=None)
    revoke = keys.add_parser("revoke", help="refuse the key from now on")
    revoke.add_argument("key_id")
    rotate = keys.add_parser("rotate", help="a new secret; the old one works for the grace")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace-seconds", type=float, default=3600.0)
    return parser


def _record(record: KeyRecord) -> dict[str, Any]:
    return asdict(record)


def _issued(issued: IssuedKey) -> dict[str, Any]:
    return {**_record(issued.record), "secret": issued.secret}


async def _run(args: argparse.Namespace) -> Any:
    store = open_store(get_settings())
    try:
        await store.api_keys.ensure_indexes()
        keys = KeyService(store.api_keys, {})
        if args.command == "create":
            expires = None
            if args.expires_in_days is not None:
                expires = datetime.now(UTC) + timedelta(days=args.expires_in_days)
            limits = {
                name: value
                for name in ("submits_per_minute", "reads_per_minute")
                if (value := getattr(args, name)) is not None
            }
            issued = await keys.create(args.tenant, Role(args.role), args.name, expires, limits)
            return _issued(issued)
        if args.command == "list":
            return [_record(r) for r in await keys.list(args.tenant)]
        if args.command == "revoke":
            return _record(await keys.revoke(args.key_id))
        return _issued(await keys.rotate(args.key_id, args.grace_seconds))
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = asyncio.run(_run(args))
    except ConfigurationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"{exc.code}: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"MongoDB: {exc}", file=sys.stderr)
        return 1
    except (OverflowError, ValueError) as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
