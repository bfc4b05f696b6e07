"""MongoGraphStateSaver against the MongoDB stand-in process, driven by a real LangGraph graph."""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, TypedDict

import pytest
from bson import Binary
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.types import INTERRUPT, RESUME
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.store.graph_state import STATE_WRITES, STATES, MongoGraphStateSaver
from standins.processes import LOCALHOST, free_port, spawn_module

Doc = dict[str, Any]
QUESTION = {"question": "Publish the report?"}
NODE_RUNS: list[str] = []


class State(TypedDict, total=False):
    counter: int
    calls: Annotated[list[str], operator.add]
    answer: str
    result: str


async def prepare(state: State) -> State:
    NODE_RUNS.append("prepare")
    return {"counter": state.get("counter", 0) + 1, "calls": ["prepare"]}


async def ask(state: State) -> State:
    NODE_RUNS.append("ask")
    answer = interrupt(QUESTION)
    return {"answer": answer, "calls": ["ask"]}


async def finish(state: State) -> State:
    NODE_RUNS.append("finish")
    return {"result": f"published={state['answer']}", "calls": ["finish"]}


def build_graph(saver: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder = StateGraph(State)
    builder.add_node("prepare", prepare)
    builder.add_node("ask", ask)
    builder.add_node("finish", finish)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=saver)


def thread(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: Doc = {"thread_id": thread_id}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def checkpoint_id(item: CheckpointTuple) -> str:
    return str(item.config["configurable"]["checkpoint_id"])


async def finished(saver: MongoGraphStateSaver, thread_id: str) -> CheckpointTuple:
    """The last checkpoint of a thread after the graph ran to its interrupt."""
    config = thread(thread_id)
    await build_graph(saver).ainvoke({"counter": 0, "calls": []}, config)
    latest = await saver.aget_tuple(config)
    assert latest is not None
    return latest


async def listed(saver: Any, config: RunnableConfig | None, **options: Any) -> list[str]:
    return [checkpoint_id(item) async for item in saver.alist(config, **options)]


@pytest.fixture(scope="module")
def mongo_uri() -> Iterator[str]:
    port = free_port()
    process = spawn_module("mongo-standin", "standins.mongo", ["--port", str(port)], port=port)
    try:
        yield f"mongodb://{LOCALHOST}:{port}/?directConnection=true"
    finally:
        process.stop()


def open_client(mongo_uri: str) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)


@pytest.fixture
async def db(mongo_uri: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A fresh database per test, so tests never see each other's threads."""
    client = open_client(mongo_uri)
    yield client[f"graph_{uuid.uuid4().hex[:12]}"]
    await client.close()


@pytest.fixture
async def saver(db: AsyncDatabase[Doc]) -> MongoGraphStateSaver:
    mongo_saver = MongoGraphStateSaver(db)
    await mongo_saver.ensure_indexes()
    return mongo_saver


@pytest.fixture(autouse=True)
def node_runs() -> list[str]:
    NODE_RUNS.clear()
    return NODE_RUNS


async def test_resume_in_another_process_continues_after_the_interrupt(
    mongo_uri: str, db: AsyncDatabase[Doc], saver: MongoGraphStateSaver, node_runs: list[str]
) -> None:
    config = thread("t1")
    paused = await build_graph(saver).ainvoke({"counter": 0, "calls": []}, config)
    assert [item.value for item in paused["__interrupt__"]] == [QUESTION]
    assert paused["counter"] == 1
    assert "result" not in paused

    # As another worker would: its own client, saver and compiled graph; nothing shared in memory.
    other_client = open_client(mongo_uri)
    try:
        other_saver = MongoGraphStateSaver(other_client[db.name])
        done = await build_graph(other_saver).ainvoke(Command(resume="yes"), config)
    finally:
        await other_client.close()

    assert done["answer"] == "yes"
    assert done["result"] == "published=yes"
    assert done["counter"] == 1
    assert done["calls"] == ["prepare", "ask", "finish"]
    # prepare is not replayed; the interrupted node runs again from its top, then gets "yes".
    assert node_runs == ["prepare", "ask", "ask", "finish"]
    latest = await saver.aget_tuple(config)
    assert latest is not None
    assert latest.checkpoint["channel_values"]["result"] == "published=yes"


async def test_a_held_run_stores_only_what_is_kept_and_the_kept_pause_resumes_elsewhere(
    mongo_uri: str, db: AsyncDatabase[Doc], saver: MongoGraphStateSaver, node_runs: list[str]
) -> None:
    config = thread("held")
    graph = build_graph(saver)
    with saver.holding() as held:
        run = asyncio.create_task(
            graph.ainvoke({"counter": 0, "calls": []}, config, durability="exit")
        )
    paused = await run
    assert [item.value for item in paused["__interrupt__"]] == [QUESTION]
    # The run handed over its state when it stopped; nothing is stored until it is kept.
    assert held.checkpoint is not None
    assert await db[STATES].count_documents({}) == 0
    assert await db[STATE_WRITES].count_documents({}) == 0
    await saver.keep(held)
    assert await db[STATES].count_documents({"thread_id": "held"}) == 1

    # Another worker resumes from what was kept; its own run, not held, is stored as it goes.
    other_client = open_client(mongo_uri)
    try:
        other_saver = MongoGraphStateSaver(other_client[db.name])
        done = await build_graph(other_saver).ainvoke(Command(resume="yes"), config)
    finally:
        await other_client.close()
    assert done["result"] == "published=yes"
    assert node_runs == ["prepare", "ask", "ask", "finish"]

    # A held run that is not kept leaves the store as it was.
    stored = await db[STATES].count_documents({})
    with saver.holding():
        await build_graph(saver).ainvoke({"counter": 0, "calls": []}, thread("dropped"))
    assert await db[STATES].count_documents({}) == stored
    assert await saver.aget_tuple(thread("dropped")) is None


async def test_a_resume_named_for_another_interrupt_pauses_again(
    saver: MongoGraphStateSaver, node_runs: list[str]
) -> None:
    config = thread("named")
    graph = build_graph(saver)
    paused = await graph.ainvoke({"counter": 0, "calls": []}, config)
    [pending] = paused["__interrupt__"]
    # A decision made on another interrupt is not taken for this one: the graph asks again.
    other = "0" * 32
    again = await graph.ainvoke(Command(resume={other: "yes"}), config)
    assert [item.id for item in again["__interrupt__"]] == [pending.id]
    assert "finish" not in node_runs
    done = await graph.ainvoke(Command(resume={pending.id: "yes"}), config)
    assert done["result"] == "published=yes"


async def test_reads_return_what_the_graph_stored(
    db: AsyncDatabase[Doc], saver: MongoGraphStateSaver
) -> None:
    config = thread("reads")
    await build_graph(saver).ainvoke({"counter": 5, "calls": []}, config)
    oracle = InMemorySaver()
    await build_graph(oracle).ainvoke({"counter": 5, "calls": []}, config)

    history = [item async for item in saver.alist(config)]
    expected = [item async for item in oracle.alist(config)]
    assert [(item.metadata, item.checkpoint["channel_values"]) for item in history] == [
        (item.metadata, item.checkpoint["channel_values"]) for item in expected
    ]
    ids = [checkpoint_id(item) for item in history]
    assert len(ids) == 3
    assert ids == sorted(ids, reverse=True)

    reader = MongoGraphStateSaver(db)  # a new instance reads only what is stored
    latest = await reader.aget_tuple(config)
    assert latest is not None
    assert checkpoint_id(latest) == ids[0]
    assert latest.metadata["step"] == 1
    assert latest.checkpoint["channel_values"]["counter"] == 6
    assert latest.parent_config == history[1].config
    assert latest.pending_writes is not None
    assert [(channel, [i.value for i in value]) for _, channel, value in latest.pending_writes] == [
        (INTERRUPT, [QUESTION])
    ]

    first = await reader.aget_tuple(thread("reads", ids[-1]))
    assert first is not None
    assert checkpoint_id(first) == ids[-1]
    assert first.metadata["source"] == "input"
    assert first.parent_config is None
    assert first.checkpoint["channel_values"]["__start__"] == {"counter": 5, "calls": []}
    assert await reader.aget_tuple(thread("reads", "no-such-checkpoint")) is None

    assert await listed(reader, config, limit=2) == ids[:2]
    assert await listed(reader, config, before=history[0].config) == ids[1:]
    assert await listed(reader, config, before=history[0].config, limit=1) == [ids[1]]
    assert await listed(reader, thread("reads", ids[1])) == [ids[1]]
    assert await listed(reader, config, filter={"source": "input"}) == [ids[-1]]
    assert await listed(reader, config, filter={"source": "loop", "step": 0}) == [ids[1]]
    assert await listed(reader, config, filter={"source": "update"}) == []
    assert await listed(reader, None, filter={"step": 1}) == [ids[0]]


async def test_threads_are_isolated_and_deleted_one_at_a_time(
    db: AsyncDatabase[Doc], saver: MongoGraphStateSaver
) -> None:
    graph = build_graph(saver)
    await graph.ainvoke({"counter": 10, "calls": []}, thread("alpha"))
    await graph.ainvoke({"counter": 20, "calls": []}, thread("beta"))

    alpha = [item async for item in saver.alist(thread("alpha"))]
    beta = [item async for item in saver.alist(thread("beta"))]
    assert {item.config["configurable"]["thread_id"] for item in alpha} == {"alpha"}
    assert {item.config["configurable"]["thread_id"] for item in beta} == {"beta"}
    assert not {checkpoint_id(item) for item in alpha} & {checkpoint_id(item) for item in beta}
    assert alpha[0].checkpoint["channel_values"]["counter"] == 11
    assert beta[0].checkpoint["channel_values"]["counter"] == 21

    await saver.adelete_thread("alpha")

    assert await saver.aget_tuple(thread("alpha")) is None
    assert await listed(saver, thread("alpha")) == []
    assert await db[STATES].count_documents({"thread_id": "alpha"}) == 0
    assert await db[STATE_WRITES].count_documents({"thread_id": "alpha"}) == 0
    assert await listed(saver, thread("beta")) == [checkpoint_id(item) for item in beta]
    done = await graph.ainvoke(Command(resume="later"), thread("beta"))
    assert done["result"] == "published=later"
    assert done["counter"] == 21


async def test_replayed_puts_do_not_duplicate(
    db: AsyncDatabase[Doc], saver: MongoGraphStateSaver
) -> None:
    config = thread("replay")
    latest = await finished(saver, "replay")
    assert latest.parent_config is not None
    checkpoints = await db[STATES].count_documents({})
    writes = await db[STATE_WRITES].count_documents({})

    stored = await saver.aput(latest.parent_config, latest.checkpoint, latest.metadata, {})
    assert stored == latest.config
    assert await db[STATES].count_documents({}) == checkpoints
    again = await saver.aget_tuple(config)
    assert again is not None
    assert (again.checkpoint, again.metadata, again.parent_config) == (
        latest.checkpoint,
        latest.metadata,
        latest.parent_config,
    )

    # A retried task keeps its first regular writes; special writes take the latest value.
    await saver.aput_writes(latest.config, [("answer", "first"), (RESUME, "no")], "task-r", "~r")
    await saver.aput_writes(latest.config, [("answer", "second"), (RESUME, "yes")], "task-r", "~r")
    assert await db[STATE_WRITES].count_documents({}) == writes + 2
    reread = await saver.aget_tuple(config)
    assert reread is not None
    assert reread.pending_writes is not None
    assert [w for w in reread.pending_writes if w[0] == "task-r"] == [
        ("task-r", RESUME, "yes"),
        ("task-r", "answer", "first"),
    ]

    duplicate = await db[STATES].find_one({"checkpoint_id": latest.checkpoint["id"]})
    assert duplicate is not None
    duplicate.pop("_id")
    with pytest.raises(DuplicateKeyError):
        await db[STATES].insert_one(duplicate)


async def test_a_tasks_writes_are_one_document_and_single_write_documents_still_read(
    db: AsyncDatabase[Doc], saver: MongoGraphStateSaver
) -> None:
    config = thread("grouped")
    latest = await finished(saver, "grouped")
    conf = latest.config["configurable"]
    before = await db[STATE_WRITES].count_documents({})

    await saver.aput_writes(latest.config, [("answer", "a"), ("result", "r")], "task-g", "~g")
    grouped = await db[STATE_WRITES].find({"task_id": "task-g"}).to_list()
    assert len(grouped) == 1
    assert [w["channel"] for w in grouped[0]["writes"]] == ["answer", "result"]
    # A document holding one write at its top level, as this saver stored writes before.
    legacy = {key: conf[key] for key in ("thread_id", "checkpoint_ns", "checkpoint_id")}
    kind, data = saver.serde.dumps_typed("old")
    value = {"type": kind, "data": Binary(data)}
    await db[STATE_WRITES].insert_one(
        {**legacy, "task_id": "task-old", "idx": 0, "task_path": "~a", "channel": "answer"}
        | {"value": value}
    )
    assert await db[STATE_WRITES].count_documents({}) == before + 2

    reread = await saver.aget_tuple(config)
    assert reread is not None
    assert reread.pending_writes is not None
    mine = [w for w in reread.pending_writes if w[0] in ("task-g", "task-old")]
    assert mine == [
        ("task-old", "answer", "old"),
        ("task-g", "answer", "a"),
        ("task-g", "result", "r"),
    ]


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("get_tuple", (thread("sync"),)),
        ("put_writes", (thread("sync", "c"), [], "task")),
        ("delete_thread", ("sync",)),
    ],
)
async def test_sync_api_points_to_the_async_one(
    saver: MongoGraphStateSaver, method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(NotImplementedError, match=f"async-only: call a{method}"):
        getattr(saver, method)(*args)
