"""Group commit on a worker's writes: concurrent writes to one collection share one command.

Against the MongoDB stand-in of the module's own, through PyMongo's async client with a command
listener of the test's; each test has a database of its own. A write that arrives alone goes at
once, writes that arrive together go in one bulk write, increments of one document are summed,
a write the store refuses fails alone, and a store that cannot be reached fails each caller.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo import AsyncMongoClient, InsertOne, UpdateOne, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from app.store._grouped import GroupedWrites
from standins.topology import Topology

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    topology = Topology()
    try:
        topology.start_mongo()
        yield topology
    finally:
        topology.stop()


@dataclass
class Commands(monitoring.CommandListener):
    """The write commands sent, by name."""

    sent: Counter[str] = field(default_factory=Counter)
    inserting: asyncio.Event = field(default_factory=asyncio.Event)  # an insert was sent

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("insert", "update"):
            self.sent[event.command_name] += 1
        if event.command_name == "insert":
            self.inserting.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Grouped:
    collection: AsyncCollection[Doc]
    writes: GroupedWrites
    commands: Commands


async def _grouped(uri: str, **client: Any) -> tuple[AsyncMongoClient[Doc], Grouped]:
    commands = Commands()
    mongo: AsyncMongoClient[Doc] = AsyncMongoClient(uri, event_listeners=[commands], **client)
    collection = mongo[f"grouped_{uuid.uuid4().hex[:8]}"]["things"]
    return mongo, Grouped(collection, GroupedWrites(collection), commands)


@pytest.fixture
async def grouped(topology: Topology) -> AsyncIterator[Grouped]:
    mongo, grouped = await _grouped(topology.env["MONGO_URI"])
    try:
        yield grouped
    finally:
        await mongo.close()


async def test_a_write_alone_is_sent_at_once_in_its_own_command(grouped: Grouped) -> None:
    await grouped.writes.write(InsertOne({"_id": "a", "n": 1}))

    assert await grouped.collection.find_one({"_id": "a"}) == {"_id": "a", "n": 1}
    assert grouped.commands.sent == Counter(insert=1)


async def test_concurrent_writes_share_commands_and_every_one_is_stored(grouped: Grouped) -> None:
    await grouped.collection.insert_many([{"_id": n, "n": 0} for n in range(100)])
    grouped.commands.sent.clear()

    await asyncio.gather(
        *(grouped.writes.write(UpdateOne({"_id": n}, {"$set": {"n": n}})) for n in range(100)),
        *(grouped.writes.write(InsertOne({"_id": f"new{n}"})) for n in range(50)),
    )

    docs = await grouped.collection.find({"_id": {"$lt": 100}}).to_list()
    assert sorted(doc["n"] for doc in docs) == list(range(100))
    assert await grouped.collection.count_documents({"_id": {"$regex": "^new"}}) == 50
    # The first write goes alone; everything that arrived while it was in flight goes next.
    assert grouped.commands.sent["update"] <= 2
    assert grouped.commands.sent["insert"] <= 2


async def test_increments_of_one_document_are_summed_into_one_update(grouped: Grouped) -> None:
    await asyncio.gather(
        *(grouped.writes.increment("day", {"done": 1, "seconds": 0.5}) for _ in range(40)),
        *(grouped.writes.increment("other", {"done": 2}) for _ in range(10)),
    )

    assert await grouped.collection.find_one({"_id": "day"}) == {
        "_id": "day",
        "done": 40,
        "seconds": 20.0,
    }
    assert await grouped.collection.find_one({"_id": "other"}) == {"_id": "other", "done": 20}
    # One upsert per document and batch: the first alone, then at most one for each document.
    assert grouped.commands.sent["update"] <= 3


async def test_a_write_the_store_refuses_fails_alone(grouped: Grouped) -> None:
    await grouped.collection.insert_one({"_id": "taken"})

    outcomes = await asyncio.gather(
        grouped.writes.write(InsertOne({"_id": "first"})),
        *(grouped.writes.write(InsertOne({"_id": f"ok{n}"})) for n in range(5)),
        grouped.writes.write(InsertOne({"_id": "taken"})),
        grouped.writes.write(UpdateOne({"_id": "taken"}, {"$set": {"seen": True}})),
        return_exceptions=True,
    )

    assert isinstance(outcomes[6], DuplicateKeyError)
    assert [outcome for n, outcome in enumerate(outcomes) if n != 6] == [None] * 7
    assert await grouped.collection.count_documents({}) == 7
    assert await grouped.collection.find_one({"_id": "taken"}) == {"_id": "taken", "seen": True}


async def test_an_unreachable_store_fails_every_waiting_write() -> None:
    unreachable = "mongodb://127.0.0.1:9/?directConnection=true"  # discard port
    mongo, grouped = await _grouped(unreachable, serverSelectionTimeoutMS=300, timeoutMS=500)
    try:
        outcomes = await asyncio.gather(
            *(grouped.writes.write(InsertOne({"_id": n})) for n in range(5)),
            grouped.writes.increment("day", {"done": 1}),
            return_exceptions=True,
        )
    finally:
        await mongo.close()

    assert all(isinstance(outcome, PyMongoError) for outcome in outcomes), outcomes
    # Each caller raises an exception of its own (a traceback, LangGraph's notes), all caused
    # by the one the batch raised.
    assert len({id(outcome) for outcome in outcomes}) == len(outcomes)
    assert len({id(outcome.__cause__) for outcome in outcomes}) == 1


async def test_a_caller_cancelled_before_its_batch_goes_takes_its_write_back(
    topology: Topology, grouped: Grouped
) -> None:
    mongo = next(p for p in topology.processes if p.name == "mongo")
    await grouped.collection.find_one({})  # connected: a write is sent, then waits for answer
    os.kill(mongo.pid, signal.SIGSTOP)  # the first write stays in flight
    try:
        in_flight = asyncio.create_task(grouped.writes.write(InsertOne({"_id": "sent"})))
        await asyncio.wait_for(grouped.commands.inserting.wait(), timeout=10)
        queued = asyncio.create_task(grouped.writes.write(InsertOne({"_id": "taken back"})))
        await asyncio.sleep(0)  # it is queued behind the batch in flight
        queued.cancel()
    finally:
        os.kill(mongo.pid, signal.SIGCONT)
    await in_flight
    with pytest.raises(asyncio.CancelledError):
        await queued
    await grouped.writes.write(InsertOne({"_id": "after"}))

    assert [doc["_id"] for doc in await grouped.collection.find().to_list()] == ["sent", "after"]
