"""A MongoDB stand-in that speaks the real wire protocol, backed by an in-memory mongomock store.

PyMongo's `MongoClient` and `AsyncMongoClient` connect to it with a plain
`mongodb://127.0.0.1:PORT` URI and see a standalone MongoDB 7.0 (wire version 21), so several
processes can share one store. It understands OP_MSG (with document sequences), the legacy
OP_QUERY handshake answered by OP_REPLY, and no compression. Commands run on mongomock, one at a
time and to completion on a single event loop, so each is atomic: a findAndModify or an update
filtered on a status field is a real compare-and-set.

mockupdb was considered and set aside: it is a thread-per-connection scripting tool for testing
drivers, and this needs a fast asyncio server that keeps cursors between requests.

Limits: no authentication, TLS, transactions, change streams, collations or explain; collection
options (capped, validators) are ignored; arrayFilters are refused because mongomock lacks them.
TTL indexes (`expireAfterSeconds`) are accepted, and mongomock removes expired documents lazily,
when the collection is next read, rather than from a background monitor as MongoDB does.
"""

from app.embedded.mongo.server import MongoStandIn, serve

__all__ = ["MongoStandIn", "serve"]
