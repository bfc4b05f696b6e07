"""What a worker process opens once, on its event loop: the store, the LLM client, the agents and
the compiled graph, Redis, the dispatcher, and the background jobs (indexes, the reconciler)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from app.agents.base import Agent, AgentDeps
from app.agents.peer import build_peer_graph
from app.agents.peer_state import PeerGraph
from app.agents.registry import AGENTS, AgentRegistry
from app.agents.tools.web_search import TavilySearch
from app.config import Settings
from app.dispatch.background import GRACE_SECONDS, BackgroundJobs, bounded, index_creation
from app.dispatch.celery_config import build_celery
from app.dispatch.enqueue import Dispatcher
from app.dispatch.reconciler import Reconciler
from app.dispatch.redis_clients import open_broker, open_redis
from app.llm import LLMClient
from app.store import Store, open_store
from app.tasks import TaskLifecycle


@dataclass
class WorkerDeps:
    """Everything one worker process needs, opened once on its event loop."""

    settings: Settings
    store: Store
    lifecycle: TaskLifecycle
    registry: AgentRegistry
    llm: LLMClient
    graph: PeerGraph
    dispatcher: Dispatcher
    redis: Redis
    worker_id: str
    background: BackgroundJobs = field(default_factory=BackgroundJobs)
    in_flight: set[str] = field(default_factory=set)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        worker_id: str,
        agents: Sequence[Callable[[AgentDeps], Agent]] = AGENTS,
    ) -> WorkerDeps:
        """Open the store and build the agents (from `agents`) and the compiled graph."""
        store = open_store(settings)
        llm = LLMClient(settings.llm)
        llm.warm_up()
        agent_deps = AgentDeps(settings=settings, llm=llm, search=TavilySearch(settings.search))
        registry = AgentRegistry.build(agent_deps, agents)
        graph = build_peer_graph(registry.names, checkpointer=store.graph_state)
        redis = open_redis(settings)
        dispatcher = Dispatcher(
            build_celery(settings), settings.worker.queue, open_broker(settings, redis)
        )
        reconciler = Reconciler(settings, store, dispatcher, redis, owner=worker_id)
        lifecycle = TaskLifecycle.of(store)
        deps = cls(settings, store, lifecycle, registry, llm, graph, dispatcher, redis, worker_id)
        # Start even if MongoDB is not up yet; claims fail (and are retried) until it is.
        deps.background.start("indexes", index_creation(store))
        deps.background.start("reconciler", reconciler.run_forever)
        return deps

    async def close(self) -> None:
        # The jobs end before the clients they use are closed.
        await self.background.stop()
        await self.redis.aclose()
        await self.llm.aclose()
        await bounded(self.store.close(), GRACE_SECONDS, "store.close")
        await self.background.drain()
