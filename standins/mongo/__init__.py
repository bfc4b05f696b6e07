"""A MongoDB stand-in that speaks the real wire protocol, with in-memory documents and indexes.

PyMongo's `MongoClient` and `AsyncMongoClient` connect to it with a plain
`mongodb://127.0.0.1:PORT` URI and see a standalone MongoDB 7.0 (wire version 21), so several
processes can share one store. It understands OP_MSG (with document sequences), the legacy
OP_QUERY handshake answered by OP_REPLY, and no compression. Commands run one at a time and to
completion on a single event loop, so each is atomic: a findAndModify or an update filtered on a
status field is a real compare-and-set.

Like the real server it answers from indexes: `_id` and every index createIndexes declares are
sorted structures that writes keep current (`storage`, `indexes`, `planner`), unique indexes
are checked by lookup, and only filters no index serves scan the collection; `$collStats` with
`queryExecStats` counts those scans per collection. The query language itself (matching,
update operators, projection, pipeline stages) is mongomock's, applied document by document.

mockupdb was considered and set aside: it is a thread-per-connection scripting tool for testing
drivers, and this needs a fast asyncio server that keeps cursors between requests.

Limits: no authentication, TLS, transactions, change streams, collations or explain; collection
options (capped, validators) are ignored; arrayFilters, `$out`, `$merge` and `$natural: -1` are
refused. TTL indexes (`expireAfterSeconds`) remove expired documents when their collection is
next used, rather than from a background monitor every 60 s as MongoDB does.
"""

from standins.mongo.server import MongoStandIn, serve

__all__ = ["MongoStandIn", "serve"]
