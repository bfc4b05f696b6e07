"""A LangGraph checkpoint saver without the sync API: it would block the event loop on network
round trips, and the project runs graphs with ainvoke/astream only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)


def _async_only(method: str) -> NoReturn:
    raise NotImplementedError(
        f"This checkpoint saver is async-only: call a{method} (run graphs with ainvoke/astream)."
    )


class AsyncOnlySaver(BaseCheckpointSaver[str]):
    """Every sync method refuses, naming its async twin."""

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        _async_only("get_tuple")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        _async_only("list")

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        _async_only("put")

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        _async_only("put_writes")

    def delete_thread(self, thread_id: str) -> None:
        _async_only("delete_thread")
