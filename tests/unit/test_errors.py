"""One error vocabulary: every recorded error carries a TaskErrorCode, a crash the same one."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigurationError
from app.domain.errors import (
    AgentError,
    AppError,
    OrchestratorError,
    TaskErrorCode,
    error_record,
)
from app.domain.models import ToolExecution
from app.observability.run_context import RunContext, bind_run, tool_call


class Sink:
    def __init__(self) -> None:
        self.executions: list[ToolExecution] = []

    def finished(self, execution: ToolExecution) -> None:
        self.executions.append(execution)

    async def flush(self) -> None:
        return None


def test_an_agent_error_keeps_its_code_and_anything_else_is_an_internal_error() -> None:
    typed = error_record(AgentError(TaskErrorCode.SEARCH_NO_RESULTS, "no results"))
    assert (typed.type, typed.message) == ("SEARCH_NO_RESULTS", "no results")
    crash = error_record(KeyError("citations"))
    assert (crash.type, crash.message) == ("INTERNAL_ERROR", "KeyError: 'citations'")
    assert error_record(RuntimeError()).message == "RuntimeError"


def test_the_service_errors_share_one_root() -> None:
    for error in (
        AppError("refused"),
        AgentError(TaskErrorCode.TIMEOUT, "late"),
        ConfigurationError("configuration error: PORT: bad"),
    ):
        assert isinstance(error, OrchestratorError)
        assert error.code.isupper()
        assert error.message == str(error)
    assert ConfigurationError("x").code == "CONFIGURATION_ERROR"


async def test_a_crash_inside_a_tool_call_is_recorded_with_the_runs_code() -> None:
    sink = Sink()
    run = RunContext(task_id="t", run_id="r", attempt=1, agent_name="ContentAgent", sink=sink)
    with bind_run(run), pytest.raises(KeyError):
        async with tool_call("web_search", {"query": "tides"}):
            raise KeyError("results")
    [execution] = sink.executions
    assert execution.error is not None
    assert (execution.error.type, execution.error.message) == (
        "INTERNAL_ERROR",
        "KeyError: 'results'",
    )
    assert execution.error == error_record(KeyError("results"))


def test_the_readme_lists_every_task_error_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert [code.value for code in TaskErrorCode if f"`{code.value}`" not in readme] == []
