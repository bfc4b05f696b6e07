"""The MongoDB stand-in, driven by PyMongo (sync and async) against a real subprocess."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import struct
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient, MongoClient, ReturnDocument, WriteConcern
from pymongo.errors import BulkWriteError, CursorNotFound, DuplicateKeyError, OperationFailure

from standins.processes import LOCALHOST, free_port, spawn_module

Doc = dict[str, Any]
_HEADER = struct.Struct("<iiii")


@pytest.fixture(scope="module")
def standin_port() -> Iterator[int]:
    port = free_port()
    process = spawn_module("mongo-standin", "standins.mongo", ["--port", str(port)], port=port)
    try:
        yield port
    finally:
        process.stop()


@pytest.fixture(scope="module")
def mongo_uri(standin_port: int) -> str:
    return f"mongodb://{LOCALHOST}:{standin_port}"


@pytest.fixture(scope="module")
def client(mongo_uri: str) -> Iterator[MongoClient[Doc]]:
    sync_client: MongoClient[Doc] = MongoClient(
        mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    with sync_client:
        yield sync_client


@pytest.fixture
async def aclient(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    async_client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    yield async_client
    await async_client.close()


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A collection name of this test's own, so tests sharing the server do not collide."""
    return re.sub(r"\W", "_", request.node.name)


# -- handshake -----------------------------------------------------------------------------


def test_sync_client_handshakes_pings_and_reads_server_info(client: MongoClient[Doc]) -> None:
    assert client.admin.command("ping")["ok"] == 1.0
    assert client.server_info()["version"] == "7.0.0"
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["maxWireVersion"] == 21
    assert "topologyVersion" not in hello
    assert "compression" not in hello


async def test_async_client_handshakes_and_pings(aclient: AsyncMongoClient[Doc]) -> None:
    assert (await aclient.admin.command("ping"))["ok"] == 1.0
    assert (await aclient.server_info())["versionArray"][:2] == [7, 0]


def _send(sock: socket.socket, op_code: int, payload: bytes, request_id: int) -> None:
    sock.sendall(_HEADER.pack(_HEADER.size + len(payload), request_id, 0, op_code) + payload)


def _receive(sock: socket.socket) -> tuple[int, int, bytes]:
    stream = sock.makefile("rb")
    length, _request_id, response_to, op_code = _HEADER.unpack(stream.read(_HEADER.size))
    return op_code, response_to, stream.read(length - _HEADER.size)


def test_legacy_op_query_handshake_and_compressed_message_get_answers(standin_port: int) -> None:
    with socket.create_connection((LOCALHOST, standin_port), timeout=5) as sock:
        query = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1)
        _send(sock, 2004, query + bson.encode({"isMaster": 1}), request_id=7)
        op_code, response_to, payload = _receive(sock)
        assert (op_code, response_to) == (1, 7)
        flags, _cursor_id, _start, returned = struct.unpack_from("<iqii", payload)
        hello = bson.decode(payload[20:])
        assert (flags, returned, hello["ismaster"], hello["ok"]) == (0, 1, True, 1.0)

        ping = struct.pack("<I", 0) + b"\x00" + bson.encode({"ping": 1, "$db": "admin"})
        _send(sock, 2012, struct.pack("<iiB", 2013, len(ping), 0) + ping, request_id=8)
        op_code, response_to, payload = _receive(sock)
        refused = bson.decode(payload[5:])
        assert (op_code, response_to, refused["ok"], refused["code"]) == (2013, 8, 0.0, 17)

        _send(sock, 2013, ping, request_id=9)
        op_code, response_to, payload = _receive(sock)
        assert (op_code, response_to, bson.decode(payload[5:])["ok"]) == (2013, 9, 1.0)


# -- reads ---------------------------------------------------------------------------------


async def test_insert_and_find_with_filter_sort_skip_limit_projection(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.insert_one({"_id": "first", "n": -1, "kind": "other"})
    result = await coll.insert_many(
        [{"n": n, "kind": "even" if n % 2 == 0 else "odd"} for n in range(10)]
    )
    assert len(result.inserted_ids) == 10

    cursor = coll.find({"kind": "even"}, {"_id": 0, "n": 1}).sort("n", -1).skip(1).limit(3)
    assert await cursor.to_list() == [{"n": 6}, {"n": 4}, {"n": 2}]
    assert await coll.find_one({"_id": "first"}) == {"_id": "first", "n": -1, "kind": "other"}
    assert await coll.find_one({"kind": "missing"}) is None


def test_find_pages_through_get_more_and_closed_cursor_is_killed(
    client: MongoClient[Doc], name: str
) -> None:
    coll = client.standin[name]
    coll.insert_many([{"_id": n} for n in range(250)])
    assert [doc["_id"] for doc in coll.find().sort("_id", 1).batch_size(50)] == list(range(250))

    cursor = coll.find().batch_size(50)
    assert next(cursor)["_id"] == 0
    cursor_id = cursor.cursor_id
    assert cursor_id
    cursor.close()
    with pytest.raises(CursorNotFound):
        client.standin.command("getMore", cursor_id, collection=name)


# -- writes --------------------------------------------------------------------------------


async def test_update_one_and_many_with_operators_and_upsert(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.insert_many([{"_id": n, "group": n % 2, "hits": 0, "tags": []} for n in range(6)])

    one = await coll.update_one({"_id": 1}, {"$inc": {"hits": 5}, "$push": {"tags": "seen"}})
    assert (one.matched_count, one.modified_count) == (1, 1)
    many = await coll.update_many({"group": 0}, {"$set": {"flag": True}})
    assert (many.matched_count, many.modified_count) == (3, 3)
    upsert = await coll.update_one({"_id": "new"}, {"$set": {"hits": 1}}, upsert=True)
    assert upsert.upserted_id == "new"
    none = await coll.update_one({"_id": "absent"}, {"$set": {"hits": 1}})
    assert (none.matched_count, none.upserted_id) == (0, None)

    assert await coll.find_one({"_id": 1}) == {"_id": 1, "group": 1, "hits": 5, "tags": ["seen"]}
    assert await coll.count_documents({"flag": True}) == 3
    assert await coll.find_one({"_id": "new"}) == {"_id": "new", "hits": 1}


async def test_replace_one_and_deletes(aclient: AsyncMongoClient[Doc], name: str) -> None:
    coll = aclient.standin[name]
    await coll.insert_many([{"_id": n, "old": True} for n in range(5)])

    replaced = await coll.replace_one({"_id": 0}, {"fresh": 1})
    assert replaced.modified_count == 1
    assert await coll.find_one({"_id": 0}) == {"_id": 0, "fresh": 1}
    assert (await coll.delete_one({"old": True})).deleted_count == 1
    assert (await coll.delete_many({"old": True})).deleted_count == 3
    assert await coll.find().to_list() == [{"_id": 0, "fresh": 1}]


async def test_find_one_and_update_sorts_returns_after_and_upserts(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.insert_many([{"_id": n, "priority": n, "status": "queued"} for n in range(3)])

    claimed = await coll.find_one_and_update(
        {"status": "queued"},
        {"$set": {"status": "processing"}},
        sort=[("priority", -1)],
        return_document=ReturnDocument.AFTER,
    )
    assert claimed == {"_id": 2, "priority": 2, "status": "processing"}
    before = await coll.find_one_and_update({"_id": 0}, {"$inc": {"priority": 10}})
    assert before == {"_id": 0, "priority": 0, "status": "queued"}
    upserted = await coll.find_one_and_update(
        {"_id": "up"},
        {"$set": {"status": "queued"}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert upserted == {"_id": "up", "status": "queued"}
    assert await coll.find_one_and_update({"_id": "gone"}, {"$set": {"x": 1}}) is None


async def test_find_one_and_delete_removes_the_first_in_sort_order(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.insert_many([{"_id": n, "at": 10 - n} for n in range(3)])

    removed = await coll.find_one_and_delete({}, sort=[("at", 1)], projection={"_id": 1})
    assert removed == {"_id": 2}
    assert await coll.count_documents({}) == 2
    assert await coll.find_one_and_delete({"_id": 2}) is None


async def test_conditional_claim_has_exactly_one_winner(
    mongo_uri: str, aclient: AsyncMongoClient[Doc], name: str
) -> None:
    rival: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        await aclient.standin[name].insert_many([{"_id": n, "status": "queued"} for n in range(20)])
        for task_id in range(20):
            results = await asyncio.gather(
                *(
                    client.standin[name].find_one_and_update(
                        {"_id": task_id, "status": "queued"},
                        {"$set": {"status": "processing"}},
                    )
                    for client in (aclient, rival, aclient, rival)
                )
            )
            assert sum(result is not None for result in results) == 1
        assert await aclient.standin[name].count_documents({"status": "processing"}) == 20
    finally:
        await rival.close()


async def test_unacknowledged_write_gets_no_reply_and_still_lands(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    fire_and_forget = aclient.standin.get_collection(name, write_concern=WriteConcern(w=0))
    await fire_and_forget.insert_one({"_id": "w0"})
    assert await aclient.standin[name].find_one({"_id": "w0"}) == {"_id": "w0"}


# -- aggregation and counting --------------------------------------------------------------


async def test_aggregate_pipeline_stages(aclient: AsyncMongoClient[Doc], name: str) -> None:
    coll = aclient.standin[name]
    await coll.insert_many(
        [
            {"agent": agent, "tokens": tokens, "tags": ["a", "b"]}
            for agent, tokens in [
                ("search", 10),
                ("search", 30),
                ("code", 5),
                ("code", 7),
                ("chat", 1),
            ]
        ]
    )

    totals = await (
        await coll.aggregate(
            [
                {"$match": {"tokens": {"$gte": 5}}},
                {"$group": {"_id": "$agent", "total": {"$sum": "$tokens"}}},
                {"$sort": {"total": -1}},
                {"$project": {"_id": 0, "agent": "$_id", "total": 1}},
                {"$limit": 2},
            ]
        )
    ).to_list()
    assert totals == [{"total": 40, "agent": "search"}, {"total": 12, "agent": "code"}]
    counted = await (await coll.aggregate([{"$skip": 1}, {"$count": "rest"}])).to_list()
    assert counted == [{"rest": 4}]
    unwound = await (await coll.aggregate([{"$unwind": "$tags"}, {"$count": "n"}])).to_list()
    assert unwound == [{"n": 10}]


def test_count_documents_estimated_count_and_distinct(client: MongoClient[Doc], name: str) -> None:
    coll = client.standin[name]
    coll.insert_many([{"status": status} for status in ["queued", "done", "done", "failed"]])

    assert coll.count_documents({"status": "done"}) == 2
    assert coll.count_documents({}, skip=1, limit=2) == 2
    assert coll.estimated_document_count() == 4
    assert sorted(coll.distinct("status")) == ["done", "failed", "queued"]
    assert sorted(coll.distinct("status", {"status": {"$ne": "done"}})) == ["failed", "queued"]


# -- indexes and collections ---------------------------------------------------------------


def test_unique_index_rejects_duplicates(client: MongoClient[Doc], name: str) -> None:
    coll = client.standin[name]
    assert coll.create_index("key", unique=True) == "key_1"
    coll.insert_one({"key": "a"})

    with pytest.raises(DuplicateKeyError) as single:
        coll.insert_one({"key": "a"})
    assert single.value.code == 11000
    with pytest.raises(BulkWriteError) as ordered:
        coll.insert_many([{"key": "b"}, {"key": "a"}, {"key": "c"}])
    assert ordered.value.details["nInserted"] == 1
    assert [error["code"] for error in ordered.value.details["writeErrors"]] == [11000]
    with pytest.raises(BulkWriteError) as unordered:
        coll.insert_many([{"key": "a"}, {"key": "d"}], ordered=False)
    assert unordered.value.details["nInserted"] == 1
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"key": "d"}, {"$set": {"key": "a"}})
    assert sorted(coll.distinct("key")) == ["a", "b", "d"]


async def test_list_indexes_and_index_information(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    assert await coll.index_information() == {}
    await coll.create_index([("status", 1), ("created_at", -1)], name="status_created")
    await coll.create_index("lease_expires_at", sparse=True)

    indexes = await (await coll.list_indexes()).to_list()
    assert [index["name"] for index in indexes] == ["_id_", "status_created", "lease_expires_at_1"]
    assert indexes[1]["key"] == {"status": 1, "created_at": -1}
    info = await coll.index_information()
    assert info["status_created"]["key"] == [("status", 1), ("created_at", -1)]
    assert info["lease_expires_at_1"]["sparse"] is True


def test_ttl_index_is_accepted_and_expires_lazily(client: MongoClient[Doc], name: str) -> None:
    coll = client.standin[name]
    coll.create_index("seen_at", expireAfterSeconds=60)
    now = dt.datetime.now(dt.UTC)
    coll.insert_many(
        [{"_id": "stale", "seen_at": now - dt.timedelta(hours=1)}, {"_id": "fresh", "seen_at": now}]
    )

    assert coll.index_information()["seen_at_1"]["expireAfterSeconds"] == 60
    assert [doc["_id"] for doc in coll.find()] == ["fresh"]


async def test_list_collection_names_and_drop_collection(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    db = aclient[f"db_{name}"]
    await db.first.insert_one({})
    await db.second.insert_one({})

    assert sorted(await db.list_collection_names()) == ["first", "second"]
    assert await db.list_collection_names(filter={"name": "second"}) == ["second"]
    assert f"db_{name}" in await aclient.list_database_names()
    await db.drop_collection("first")
    await db.drop_collection("never_existed")
    assert await db.list_collection_names() == ["second"]
    await aclient.drop_database(db)
    assert f"db_{name}" not in await aclient.list_database_names()


def test_unknown_command_fails_and_the_connection_stays_usable(client: MongoClient[Doc]) -> None:
    with pytest.raises(OperationFailure) as failure:
        client.standin.command("nosuchcmd")
    assert failure.value.code == 59
    assert "no such command: 'nosuchcmd'" in str(failure.value)
    assert client.standin.command("ping")["ok"] == 1.0


async def test_unknown_command_from_async_client(aclient: AsyncMongoClient[Doc]) -> None:
    with pytest.raises(OperationFailure) as failure:
        await aclient.standin.command({"nosuchcmd": 1})
    assert failure.value.details is not None
    assert failure.value.details["codeName"] == "CommandNotFound"
    assert (await aclient.admin.command("ping"))["ok"] == 1.0


# -- sharing and types ---------------------------------------------------------------------


def test_another_process_sees_the_same_data(
    client: MongoClient[Doc], mongo_uri: str, name: str
) -> None:
    client.standin[name].insert_one({"_id": "from-test"})
    script = (
        "import sys\n"
        "from pymongo import MongoClient\n"
        "coll = MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000).standin[sys.argv[2]]\n"
        "assert coll.find_one({'_id': 'from-test'}) is not None\n"
        "coll.insert_one({'_id': 'from-child'})\n"
    )
    subprocess.run([sys.executable, "-c", script, mongo_uri, name], check=True, timeout=30)
    assert sorted(doc["_id"] for doc in client.standin[name].find()) == ["from-child", "from-test"]


async def test_datetimes_and_uuids_round_trip(
    mongo_uri: str, aclient: AsyncMongoClient[Doc], name: str
) -> None:
    created_at = dt.datetime(2026, 3, 1, 12, 30, 45, 123000, tzinfo=dt.UTC)
    task_id = str(uuid.uuid4())
    await aclient.standin[name].insert_one({"_id": task_id, "created_at": created_at})

    found = await aclient.standin[name].find_one({"created_at": {"$gte": created_at}})
    assert found == {"_id": task_id, "created_at": created_at}
    assert found["created_at"].tzinfo is not None

    native = uuid.uuid4()
    standard: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_uri, uuidRepresentation="standard", serverSelectionTimeoutMS=5000
    )
    try:
        await standard.standin[name].insert_one({"_id": native, "payload": native})
        assert await standard.standin[name].find_one({"_id": native}) == {
            "_id": native,
            "payload": native,
        }
    finally:
        await standard.close()


# -- indexes -------------------------------------------------------------------------------


async def _scans(coll: Any) -> int:
    """Collection scans so far, as MongoDB's $collStats reports them."""
    [stats] = await (await coll.aggregate([{"$collStats": {"queryExecStats": {}}}])).to_list()
    return int(stats["queryExecStats"]["collectionScans"]["total"])


def _tasks(n: int) -> list[Doc]:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return [
        {
            "_id": f"t{i:04d}",
            "owner": f"o{i % 3}",
            "status": ["queued", "processing", "completed"][i % 3 if i % 7 else 2],
            # Ties on created_at, so the _id tie-break matters.
            "created_at": start + dt.timedelta(seconds=i // 4),
            "n": i,
        }
        for i in range(n)
    ]


async def test_indexed_queries_read_no_collection_and_unindexed_ones_are_counted(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.create_index([("owner", 1), ("status", 1), ("created_at", -1)], name="osc")
    await coll.create_index([("owner", 1), ("created_at", -1), ("_id", -1)], name="oc")
    docs = _tasks(600)
    await coll.insert_many(docs)
    before = await _scans(coll)

    assert (await coll.find_one({"_id": "t0042"}))["n"] == 42
    newest = (
        await coll.find({"owner": "o1"}).sort([("created_at", -1), ("_id", -1)]).limit(5).to_list()
    )
    expected = sorted(
        (d for d in docs if d["owner"] == "o1"),
        key=lambda d: (d["created_at"], d["_id"]),
        reverse=True,
    )
    assert [d["_id"] for d in newest] == [d["_id"] for d in expected[:5]]
    done = await coll.find({"owner": "o2", "status": "completed"}).sort("created_at", -1).to_list()
    wanted = [d for d in docs if d["owner"] == "o2" and d["status"] == "completed"]
    # MongoDB leaves the order of ties unspecified: compare the sort values and the set.
    assert [d["created_at"] for d in done] == sorted(
        (d["created_at"] for d in wanted), reverse=True
    )
    assert {d["_id"] for d in done} == {d["_id"] for d in wanted}
    await coll.update_one(
        {"_id": "t0001", "status": "processing"}, {"$set": {"status": "completed"}}
    )
    assert await coll.count_documents(
        {"owner": "o0", "status": {"$in": ["queued", "processing"]}}
    ) == sum(1 for d in docs if d["owner"] == "o0" and d["status"] in ("queued", "processing"))
    assert await _scans(coll) == before

    assert (await coll.find_one({"n": 7}))["_id"] == "t0007"  # no index on n
    assert await _scans(coll) == before + 1


async def test_index_entries_follow_updates_deletes_and_upserts(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.create_index([("status", 1), ("n", 1)], name="status_n")
    await coll.insert_many([{"_id": i, "status": "queued", "n": i} for i in range(10)])

    await coll.update_one({"_id": 3}, {"$set": {"status": "done"}})
    await coll.update_many({"n": {"$gte": 8}, "status": "queued"}, {"$set": {"status": "done"}})
    await coll.delete_one({"status": "queued", "n": 0})
    await coll.update_one({"status": "done", "n": 42}, {"$set": {"extra": True}}, upsert=True)
    await coll.find_one_and_update(
        {"status": "queued"}, {"$set": {"status": "done"}}, sort=[("n", -1)]
    )

    done = await coll.find({"status": "done"}, {"_id": 0, "n": 1}).sort("n", 1).to_list()
    assert [d["n"] for d in done] == [3, 7, 8, 9, 42]
    queued = await coll.find({"status": "queued", "n": {"$lt": 5}}).sort("n", -1).to_list()
    assert [d["_id"] for d in queued] == [4, 2, 1]
    assert await _scans(coll) == 0


def test_unique_index_violations_are_11000_and_change_nothing(
    client: MongoClient[Doc], name: str
) -> None:
    coll = client.standin[name]
    coll.create_index([("task_id", 1), ("seq", 1)], unique=True, name="task_seq")
    coll.insert_many([{"_id": n, "task_id": "a", "seq": n} for n in range(3)])

    with pytest.raises(DuplicateKeyError) as inserted:
        coll.insert_one({"task_id": "a", "seq": 1})
    assert inserted.value.details is not None
    assert inserted.value.details["keyPattern"] == {"task_id": 1, "seq": 1}
    assert inserted.value.details["keyValue"] == {"task_id": "a", "seq": 1}
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"_id": 2}, {"$set": {"seq": 0}, "$inc": {"tries": 1}})
    assert coll.find_one({"_id": 2}) == {"_id": 2, "task_id": "a", "seq": 2}
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"_id": 9}, {"$set": {"task_id": "a", "seq": 0}}, upsert=True)
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 0, "task_id": "b", "seq": 0})
    assert coll.count_documents({}) == 3
    # The unique key moved with the update: its old value is free again.
    coll.update_one({"_id": 2}, {"$set": {"seq": 20}})
    coll.insert_one({"_id": 3, "task_id": "a", "seq": 2})
    with pytest.raises(DuplicateKeyError):
        coll.create_index("task_id", unique=True)


async def test_index_order_serves_sorts_both_ways_and_mixed_sorts_finish_in_memory(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.create_index([("owner", 1), ("created_at", -1)], name="owner_created")
    docs = _tasks(300)
    await coll.insert_many(docs)
    mine = [d for d in docs if d["owner"] == "o0"]

    for way in (1, -1):
        page = (
            await coll.find({"owner": "o0"})
            .sort([("created_at", way), ("_id", way)])
            .skip(3)
            .limit(7)
            .to_list()
        )
        ordered = sorted(mine, key=lambda d: (d["created_at"], d["_id"]), reverse=way < 0)
        assert [d["_id"] for d in page] == [d["_id"] for d in ordered[3:10]]
    mixed = await coll.find({"owner": "o0"}).sort([("created_at", -1), ("n", 1)]).limit(9).to_list()
    ordered = sorted(
        sorted(mine, key=lambda d: d["n"]), key=lambda d: d["created_at"], reverse=True
    )
    assert [d["_id"] for d in mixed] == [d["_id"] for d in ordered[:9]]
    assert await _scans(coll) == 0


async def test_array_values_and_type_brackets_through_an_index(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.create_index("tag")
    await coll.insert_many(
        [
            {"_id": 1, "tag": "a"},
            {"_id": 2, "tag": ["a", "b"]},
            {"_id": 3, "tag": "b"},
            {"_id": 4, "tag": 5},
            {"_id": 5, "tag": 5.0},
            {"_id": 6},
            {"_id": 7, "tag": None},
            {"_id": 8, "tag": True},
        ]
    )

    assert sorted(d["_id"] for d in await coll.find({"tag": "a"}).to_list()) == [1, 2]
    assert sorted(d["_id"] for d in await coll.find({"tag": {"$in": ["b", 5]}}).to_list()) == [
        2,
        3,
        4,
        5,
    ]
    assert sorted(d["_id"] for d in await coll.find({"tag": {"$gt": 1}}).to_list()) == [4, 5]
    assert sorted(d["_id"] for d in await coll.find({"tag": {"$gte": "a"}}).to_list()) == [1, 2, 3]
    assert sorted(d["_id"] for d in await coll.find({"tag": 1}).to_list()) == []
    assert sorted(d["_id"] for d in await coll.find({"tag": None}).to_list()) == [6, 7]
    by_tag = await coll.find({}, {"_id": 1}).sort([("tag", 1), ("_id", 1)]).to_list()
    # null and missing, numbers, strings (the array by its least element), booleans.
    assert [d["_id"] for d in by_tag] == [6, 7, 4, 5, 1, 2, 3, 8]


async def test_update_operators_and_equality_semantics(
    aclient: AsyncMongoClient[Doc], name: str
) -> None:
    coll = aclient.standin[name]
    await coll.insert_one({"_id": 1, "stats": {"done": 1}, "events": ["a"], "n": 1, "flag": True})

    await coll.update_one(
        {"_id": 1},
        {
            "$inc": {"stats.done": 2, "stats.buckets.3": 1, "n": 0.5},
            "$push": {"events": {"$each": ["b", "c"]}, "fresh.list": "x"},
            "$set": {"deep.new.field": [1, 2]},
            "$unset": {"missing.path": "", "flag": ""},
            "$setOnInsert": {"never": True},
        },
    )
    assert await coll.find_one({"_id": 1}, {"_id": 0}) == {
        "stats": {"done": 3, "buckets": {"3": 1}},
        "events": ["a", "b", "c"],
        "n": 1.5,
        "fresh": {"list": ["x"]},
        "deep": {"new": {"field": [1, 2]}},
    }
    await coll.update_one({"_id": 1}, {"$push": {"events": {"$each": ["z"], "$slice": -2}}})
    assert (await coll.find_one({"_id": 1}))["events"] == ["c", "z"]
    with pytest.raises(OperationFailure):
        await coll.update_one({"_id": 1}, {"$inc": {"events": 1}})
    with pytest.raises(OperationFailure):
        await coll.update_one({"_id": 1}, {"$push": {"stats": 1}})
    await coll.update_one({"_id": 2}, {"$setOnInsert": {"made": 1}, "$set": {"n": 2}}, upsert=True)
    assert await coll.find_one({"_id": 2}) == {"_id": 2, "made": 1, "n": 2}

    await coll.insert_many([{"_id": 3, "v": True}, {"_id": 4, "v": 1}, {"_id": 5, "v": [1, 7]}])
    assert sorted(d["_id"] for d in await coll.find({"v": 1}).to_list()) == [4, 5]
    assert sorted(d["_id"] for d in await coll.find({"v": True}).to_list()) == [3]
    assert sorted(d["_id"] for d in await coll.find({"n": {"$in": [2.0, 9]}}).to_list()) == [2]

    # $max and $min in BSON order: null sorts before every value, an absent field is set.
    when = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    await coll.insert_one({"_id": 6, "seen": None, "low": 5, "name": "m"})
    await coll.update_one(
        {"_id": 6},
        {"$max": {"seen": when, "fresh": 1, "name": "a"}, "$min": {"low": None}},
    )
    assert await coll.find_one({"_id": 6}, {"_id": 0}) == {
        "seen": when,
        "low": None,
        "name": "m",
        "fresh": 1,
    }
    await coll.update_one({"_id": 6}, {"$max": {"seen": when - dt.timedelta(days=1)}})
    await coll.update_one({"_id": 6}, {"$min": {"fresh": 0}, "$max": {"low": 3}})
    assert await coll.find_one({"_id": 6}, {"_id": 0, "seen": 1, "fresh": 1, "low": 1}) == {
        "seen": when,
        "fresh": 0,
        "low": 3,
    }


def test_server_answers_for_edge_cases_a_driver_meets(client: MongoClient[Doc], name: str) -> None:
    coll = client.standin[name]
    coll.insert_many([{"_id": n, "a": n % 2, "at": {"when": []}} for n in range(5)])

    assert [d["_id"] for d in coll.find().sort("_id", -1).limit(2)] == [4, 3]
    assert [d["_id"] for d in coll.find({"a": 1}).sort("_id", -1).limit(1)] == [3]
    changed = coll.update_one({"_id": 1}, {"$set": {"a": True}})
    assert changed.modified_count == 1, "1 -> true is a change"
    assert coll.find_one({"_id": 1})["a"] is True
    assert coll.update_one({"_id": 0}, {"$set": {"a": 0}}).modified_count == 0
    with pytest.raises(OperationFailure) as conflict:
        coll.update_one({"_id": 2}, {"$set": {"x": 1}, "$inc": {"x.y": 1}})
    assert conflict.value.code == 40
    coll.create_index("a", name="by_a")
    with pytest.raises(OperationFailure) as renamed:
        coll.create_index("a", name="also_by_a")
    assert renamed.value.code == 85
    coll.create_index("at.when", expireAfterSeconds=60)  # arrays on the TTL path: a multikey TTL
    assert coll.count_documents({}) == 5
