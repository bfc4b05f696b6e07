"""The dashboard as a person uses it: Debian's Chromium driven by Playwright, on the real topology.

Every page is checked for what it shows against the v1 API, and for what must not happen on it:
no dialog opens, no script error is thrown, nothing is refused by the page's Content-Security-
Policy, no resource fails to load (the console reports each of those as an error).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect, sync_playwright

from tests.support import Service, running_service, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Launch flags that keep a headless Chromium from reaching for the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "build/screenshots"))
POLICY = {
    "APPROVAL_REQUIRED_AGENTS": "CodeAgent",
    # A router decision below this waits for an admin to confirm or change the agent.
    "ROUTER_AUTO_CONFIDENCE": "0.9",
    "CHECKPOINT_TIMEOUT_SECONDS": "300",
    # A running task's worker reads a cancel at its next lease renewal: every second.
    "TASK_LEASE_SECONDS": "3",
}
BLOG = "Write a blog post about renewable energy trends"
CODE = "Write a Python function that reverses a linked list"
WAIT_MS = 30_000
# Longer than the pages' own refresh (5 s at most), so a value the page has yet to poll is met.
REFRESH_WAIT_MS = 12_000


@pytest.fixture(scope="module")
def svc() -> Iterator[Service]:
    with running_service(env=POLICY, workers=1, concurrency=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Dashboard:
    """One browser tab on the dashboard, and what went wrong in it."""

    def __init__(self, page: Page, svc: Service):
        self.page = page
        self.svc = svc
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def sign_in(self, key: str) -> None:
        self.page.goto(f"{self.svc.topology.api_url}/dashboard/")
        self.page.fill("#sign-in input[name=key]", key)
        self.page.click("#sign-in button[type=submit]")
        expect(self.page.locator("#whoami")).not_to_be_empty()

    def open(self, fragment: str) -> None:
        self.page.evaluate("fragment => { location.hash = fragment; }", fragment)

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def api(self, path: str, method: str = "GET") -> dict[str, Any]:
        """A call from the page itself, with the key it signed in with."""
        result: dict[str, Any] = self.page.evaluate(
            """async ([path, method]) => {
                const key = sessionStorage.getItem("orchestrator.apiKey");
                const r = await fetch(path, { method, headers: { "X-API-Key": key } });
                return { status: r.status, body: await r.json() };
            }""",
            [path, method],
        )
        return result


@pytest.fixture
def dash(browser: Browser, svc: Service) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Dashboard(context.new_page(), svc)
    finally:
        context.close()


def _nonce() -> str:
    return uuid.uuid4().hex[:8]


def _task(svc: Service, task_id: str, key: str | None = None) -> dict[str, Any]:
    with svc.client(key) as http:
        body: dict[str, Any] = http.get(f"/v1/tasks/{task_id}").json()
        return body


def test_a_user_submits_from_the_form_and_watches_it_complete_without_a_reload(
    dash: Dashboard, svc: Service
) -> None:
    page = dash.page
    dash.sign_in(svc.api_key)
    dash.open("#/tasks")
    page.evaluate("window.notReloaded = true")
    text = f"{BLOG} {_nonce()}"
    page.fill("#submit-form textarea[name=task]", text)
    page.click("#submit-form button[type=submit]")
    row = page.locator("#tasks-table tbody tr", has_text=text)
    expect(row).to_have_attribute("data-status", "completed", timeout=WAIT_MS)
    dash.shot("tasks")
    task_id = row.get_attribute("data-task-id")
    assert task_id is not None
    row.locator("td.text a").click()

    expect(page.locator("#task-status")).to_have_text("completed", timeout=WAIT_MS)
    expect(page.locator("#timeline li[data-kind=status]").last).to_contain_text("completed")
    expect(page.locator("#agent")).to_have_text("ContentAgent")
    task = _task(svc, task_id)
    expect(page.locator("#confidence")).to_have_text(f"{task['routing']['confidence']:.2f}")
    with svc.client() as http:
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
    [search] = [
        call for run in runs for call in run["tool_executions"] if call["tool"] == "web_search"
    ]
    cited = page.locator("#citations a").evaluate_all("links => links.map(a => a.href)")
    assert cited, "the answer cites its sources"
    assert set(cited) <= set(search["output"]["urls"])
    assert cited == [c["url"] for c in task["result"]["citations"]]
    waterfall = page.locator("#waterfall")
    expect(waterfall.locator(".span.run")).to_have_count(2)
    expect(waterfall.locator('.span.call[data-tool="web_search"]')).to_have_count(1)
    expect(waterfall.locator('.span.call[data-tool="llm"]')).to_have_count(2)
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    dash.shot("task-detail")
    with svc.client() as http:  # the answer's turn is stored just after the final status
        session = f"/v1/sessions/{task['session_id']}/messages"
        wait_until(lambda: len(http.get(session).json()["messages"]) == 2)
    page.click("#session-link")
    turns = page.locator("#conversation li")
    expect(turns).to_have_count(2)
    expect(turns.first).to_have_attribute("data-role", "user")
    expect(turns.first).to_contain_text(text)
    expect(turns.last).to_have_attribute("data-role", "assistant")
    expect(turns.last).to_contain_text(task["result"]["raw_output"].splitlines()[0].lstrip("# "))
    assert dash.problems == []


def test_a_code_task_shows_highlighted_python(dash: Dashboard, svc: Service) -> None:
    text = f"{CODE} {_nonce()}"
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id = svc.submit(http, text)["task_id"]
        checkpoint = svc.pending_checkpoint(task_id)
        admin.post(f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={})
        assert svc.wait_final(http, task_id)["status"] == "completed"
    dash.sign_in(svc.api_key)
    dash.open(f"#/tasks/{task_id}")
    page = dash.page
    expect(page.locator("#code-language")).to_have_text("code_language: python")
    code = page.locator("#raw-output pre code.language-python")
    expect(code).to_have_class(re.compile(r"\bhljs\b"))
    assert code.locator("span.hljs-keyword").count() > 0, "keywords are highlighted"
    expect(code.locator("span.hljs-keyword", has_text="def").first).to_be_visible()
    assert dash.problems == []


def test_an_admin_approves_with_an_edit_and_rejects_with_a_reason(
    dash: Dashboard, svc: Service
) -> None:
    with svc.client() as http:
        edited_id = svc.submit(http, f"{CODE} {_nonce()}")["task_id"]
        rejected_id = svc.submit(http, f"{CODE} {_nonce()}")["task_id"]
    edited_cp = svc.pending_checkpoint(edited_id)
    rejected_cp = svc.pending_checkpoint(rejected_id)
    dash.sign_in(svc.admin_key)
    dash.open("#/approvals")
    page = dash.page
    card = page.locator(f'.checkpoint[data-checkpoint-id="{edited_cp["checkpoint_id"]}"]')
    expect(card).to_be_visible(timeout=WAIT_MS)
    expect(card.locator(".countdown")).to_contain_text("left")
    dash.shot("approvals")
    edited = "Reviewed:\n```python\ndef reverse(head):\n    return head\n```"
    card.locator("textarea[name=raw_output]").fill(edited)
    card.locator("input[name=comment]").fill("shorter")
    card.locator("button.approve").click()
    expect(card).to_have_count(0, timeout=WAIT_MS)

    other = page.locator(f'.checkpoint[data-checkpoint-id="{rejected_cp["checkpoint_id"]}"]')
    other.locator("input[name=reason]").fill("not what we need")
    other.locator("button.reject").click()
    expect(other).to_have_count(0, timeout=WAIT_MS)

    with svc.client() as http:
        done = svc.wait_final(http, edited_id)
        failed = svc.wait_final(http, rejected_id)
    assert (done["status"], done["result"]["raw_output"]) == ("completed", edited)
    assert (failed["status"], failed["error"]["type"]) == ("failed", "CHECKPOINT_REJECTED")
    assert "not what we need" in failed["error"]["message"]
    decided = page.locator("#decided tbody")
    approved_row = decided.locator(f'tr[data-checkpoint-id="{edited_cp["checkpoint_id"]}"]')
    rejected_row = decided.locator(f'tr[data-checkpoint-id="{rejected_cp["checkpoint_id"]}"]')
    expect(approved_row).to_contain_text("approved", timeout=WAIT_MS)
    expect(approved_row).to_contain_text("ops")
    expect(approved_row).to_contain_text("shorter")
    expect(rejected_row).to_contain_text("rejected")
    assert dash.problems == []


def _set_llm_latency(svc: Service, ms: int) -> None:
    svc.openai("/_standin/latency", {"ms": ms})


def test_cancel_a_running_task_retry_a_failed_one_and_cancel_three_queued_at_once(
    dash: Dashboard, svc: Service
) -> None:
    # One worker of two slots and an LLM that takes 15 s a call: two tasks run, the rest wait.
    nonce = _nonce()
    with svc.client() as http:
        svc.openai("/_standin/faults", {"status": 401, "count": 1})
        failed_id = svc.submit(http, f"{BLOG} failing {nonce}")["task_id"]
        assert svc.wait_final(http, failed_id)["status"] == "failed"
        _set_llm_latency(svc, 15_000)
        try:
            running = [svc.submit(http, f"{BLOG} running {n} {nonce}")["task_id"] for n in (1, 2)]
            wait_until(lambda: all(_task(svc, t)["status"] == "processing" for t in running))
            queued = [svc.submit(http, f"{BLOG} queued {n} {nonce}")["task_id"] for n in range(3)]
            dash.sign_in(svc.api_key)
            page = dash.page
            dash.open("#/tasks?status=queued")
            rows = page.locator("#tasks-table tbody tr[data-status=queued]")
            expect(rows).to_have_count(3, timeout=WAIT_MS)
            page.locator("#tasks-table thead input[type=checkbox]").check()
            expect(page.locator("#selected-count")).to_have_text("3 selected")
            page.click("#bulk-cancel")
            expect(page.locator(".notice")).to_contain_text("Cancelled 3 of 3")
            wait_until(lambda: [_task(svc, t)["status"] for t in queued] == ["cancelled"] * 3)

            dash.open(f"#/tasks/{running[0]}")
            expect(page.locator("#task-status")).to_have_text("processing", timeout=WAIT_MS)
            page.click("#cancel")
            # The worker reads the cancel at its next lease renewal, in the middle of the call.
            expect(page.locator("#task-status")).to_have_text("cancelled", timeout=WAIT_MS)
        finally:
            _set_llm_latency(svc, 20)
            http.post(f"/v1/tasks/{running[1]}/cancel")  # its slot back at once
        # Retried from its page, the timeline goes on from the last event it had (Last-Event-ID):
        # the new attempt's events follow, none twice.
        page.click("#retry")
        expect(page.locator("#task-status")).to_have_text("completed", timeout=WAIT_MS)
        last_status = page.locator("#timeline li[data-kind=status]").last
        expect(last_status).to_contain_text("completed (attempt 2)")
        ids = page.locator("#timeline li").evaluate_all("l => l.map(e => Number(e.dataset.id))")
        assert ids == sorted(set(ids)), ids
        # Opened afresh, the retried task's page replays both attempts and ends with the second.
        page.reload()
        expect(last_status).to_contain_text("completed (attempt 2)", timeout=WAIT_MS)
        statuses = page.locator("#timeline li[data-kind=status]").all_inner_texts()
        assert any("cancelled (attempt 1)" in s for s in statuses), statuses
        expect(page.locator("#task-status")).to_have_text("completed")

        dash.open("#/tasks?status=failed")
        row = page.locator(f'#tasks-table tbody tr[data-task-id="{failed_id}"]')
        row.locator("button.retry").click()
        wait_until(lambda: _task(svc, failed_id)["attempt"] == 2)
        retried = svc.wait_final(http, failed_id)
    assert (retried["status"], retried["attempt"]) == ("completed", 2)
    assert (_task(svc, running[0])["status"], _task(svc, running[0])["attempt"]) == ("completed", 2)
    assert dash.problems == []


def test_cursor_pages_go_forward_and_back(dash: Dashboard, svc: Service) -> None:
    nonce = _nonce()
    with svc.client() as http:
        ids = [svc.submit(http, f"{BLOG} page {n} {nonce}")["task_id"] for n in range(3)]
        for task_id in ids:
            svc.wait_final(http, task_id)
    dash.sign_in(svc.api_key)
    dash.open(f"#/tasks?limit=2&text={nonce}")
    page = dash.page
    rows = page.locator("#tasks-table tbody tr[data-task-id]")
    expect(rows).to_have_count(2)
    first = [rows.nth(n).get_attribute("data-task-id") for n in range(2)]
    page.click("#next-page")
    expect(rows).to_have_count(1)
    expect(page.locator("#next-page")).to_be_disabled()
    last = rows.first.get_attribute("data-task-id")
    assert [*first, last] == list(reversed(ids)), "newest first, each task once"
    page.click("#first-page")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-task-id", ids[-1])
    assert dash.problems == []


def test_an_admin_confirms_a_routing_decision_with_another_agent(
    dash: Dashboard, svc: Service
) -> None:
    svc.openai("/_standin/confidence", {"value": 0.7, "count": 1})  # below 0.9: confirm
    with svc.client() as http:
        task_id = svc.submit(http, f"{CODE} {_nonce()}")["task_id"]
        checkpoint = svc.pending_checkpoint(task_id)
    assert checkpoint["stage"] == "routing"
    dash.sign_in(svc.admin_key)
    dash.open("#/approvals")
    card = dash.page.locator(f'.checkpoint[data-checkpoint-id="{checkpoint["checkpoint_id"]}"]')
    expect(card).to_contain_text("Router: CodeAgent at 0.70")
    options = card.locator("select[name=agent_name] option").all_inner_texts()
    assert sorted(options) == ["CodeAgent", "ContentAgent"]
    card.locator("select[name=agent_name]").select_option("ContentAgent")
    card.locator("button.approve").click()
    expect(card).to_have_count(0, timeout=WAIT_MS)
    with svc.client() as http:
        task = svc.wait_final(http, task_id)
    assert (task["status"], task["selected_agent"]) == ("completed", "ContentAgent")
    assert task["routing"]["override"]["agent_name"] == "ContentAgent"
    assert dash.problems == []


def test_a_user_key_gets_no_admin_controls_and_the_api_refuses_them(
    dash: Dashboard, svc: Service
) -> None:
    dash.sign_in(svc.api_key)
    page = dash.page
    expect(page.locator("#nav a[data-page=approvals]")).to_be_hidden()
    expect(page.locator("#whoami")).to_have_text("dev (user)")
    dash.open("#/approvals")
    expect(page.locator("#page .error")).to_have_text("Approvals are for admin keys.")
    dash.open("#/tasks")
    expect(page.locator("#filters")).to_be_visible()
    assert page.locator("#filters [name=owner]").count() == 0, "no tenant filter"
    refused = dash.api("/v1/admin/checkpoints")
    assert refused["status"] == 403
    assert refused["body"]["error"] == "FORBIDDEN"
    # The refused call is the one error the console may show.
    assert [p for p in dash.problems if "status of 403" not in p] == []


def test_an_admin_sees_every_tenant_and_filters_by_tenant_and_text(
    dash: Dashboard, svc: Service
) -> None:
    nonce = _nonce()
    with svc.client() as http, svc.client(svc.other_api_key) as other:
        mine = svc.submit(http, f"{BLOG} mine {nonce}")["task_id"]
        theirs = svc.submit(other, f"{BLOG} theirs {nonce}")["task_id"]
        svc.wait_final(http, mine)
        svc.wait_final(other, theirs)
    dash.sign_in(svc.admin_key)
    dash.open("#/tasks")
    page = dash.page
    page.fill("#filters [name=text]", nonce)
    page.click("#filters button[type=submit]")
    rows = page.locator("#tasks-table tbody tr[data-task-id]")
    expect(rows).to_have_count(2)
    tenants = rows.locator("td.owner").all_inner_texts()
    assert sorted(tenants) == ["dev", "other"]
    agents = page.locator("#filters select[name=agent_type] option").all_inner_texts()
    assert agents == ["any", "ContentAgent", "CodeAgent"]
    page.select_option("#filters select[name=agent_type]", "CodeAgent")
    page.click("#filters button[type=submit]")
    expect(page.locator("#tasks-table tbody")).to_contain_text("No tasks match.")
    page.select_option("#filters select[name=agent_type]", "ContentAgent")
    page.fill("#filters [name=owner]", "other")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-task-id", theirs)
    rows.first.locator("td.text a").click()
    expect(page.locator("#task-status")).to_have_text("completed", timeout=WAIT_MS)
    expect(page.locator(".task-text")).to_have_text(f"{BLOG} theirs {nonce}")
    assert dash.problems == []


PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"


def test_untrusted_text_is_shown_as_text_and_runs_nothing(dash: Dashboard, svc: Service) -> None:
    text = f"Write a blog post about {PAYLOAD}"
    with svc.client() as http:
        task_id = svc.submit(http, text)["task_id"]
        task = svc.wait_final(http, task_id)
    assert task["status"] == "completed"
    assert "<script>alert(1)</script>" in task["result"]["raw_output"], "the answer carries it"
    dash.sign_in(svc.api_key)
    dash.open(f"#/tasks/{task_id}")
    page = dash.page
    expect(page.locator("#task-status")).to_have_text("completed", timeout=WAIT_MS)
    expect(page.locator(".task-text")).to_have_text(text)
    answer = page.locator("#raw-output")
    expect(answer).to_contain_text("<script>alert(1)</script>")
    # (the stand-in writes the topic title-cased in places: <img Src=x Onerror=...>)
    expect(answer).to_contain_text(re.compile(r"<img src=x onerror=alert\(2\)>", re.IGNORECASE))
    expect(answer).to_contain_text("javascript:alert(3)")
    assert answer.locator("script, img, [onerror]").count() == 0
    hrefs = page.locator("#page a").evaluate_all("links => links.map(a => a.href)")
    assert not [h for h in hrefs if h.lower().startswith("javascript:")]
    dash.open("#/tasks")
    expect(page.locator("#tasks-table td.text", has_text=PAYLOAD).first).to_be_visible()
    assert page.locator("#tasks-table script, #tasks-table img").count() == 0
    with svc.client() as http:
        session = f"/v1/sessions/{task['session_id']}/messages"
        wait_until(lambda: len(http.get(session).json()["messages"]) == 2)
    dash.open(f"#/sessions/{task['session_id']}")
    turns = page.locator("#conversation")
    expect(turns).to_contain_text("<script>alert(1)</script>")
    assert turns.locator("script, img, [onerror]").count() == 0
    assert dash.problems == []


def test_the_overview_shows_what_the_api_reports_and_its_charts_survive_a_reload(
    dash: Dashboard, svc: Service
) -> None:
    with svc.client() as http:
        svc.submit(http, f"{BLOG} {_nonce()}")  # at least one completion in the last hour
        # Nothing in flight, so the page and the API read the same numbers.
        wait_until(
            lambda: (
                not [
                    t
                    for status in ("queued", "processing")
                    for t in http.get("/v1/tasks", params={"status": status}).json()["items"]
                ]
            )
        )
    with svc.client(svc.admin_key) as http:
        dash.sign_in(svc.admin_key)
        page = dash.page
        expect(page.locator("#overview .tiles")).to_be_visible()
        metrics = http.get("/v1/system/metrics").json()
        history = http.get("/v1/system/history", params={"minutes": 60}).json()["minutes"]
    today = metrics["today"]
    wait = {"timeout": REFRESH_WAIT_MS}
    tasks_today = str(sum(today["by_status"].values()))
    expect(page.locator("#tasks-today .value")).to_have_text(tasks_today, **wait)
    online = str(metrics["workers"]["online"])
    expect(page.locator("#workers-online .value")).to_have_text(online, **wait)
    expect(page.locator("#queue-length .value")).to_have_text(str(metrics["queue_length"]), **wait)
    usage = today["usage"]
    expect(page.locator("#tokens-today .value")).to_have_text(
        f"{usage['input_tokens']} / {usage['output_tokens']}", **wait
    )
    expect(page.locator("#cost-today .value")).to_have_text(f"${usage['cost_usd']:.4f}", **wait)
    for status, count in today["by_status"].items():
        cell = page.locator(f'#by-status tr[data-name="{status}"] td.number')
        expect(cell).to_have_text(str(count), **wait)
    for agent, count in today["per_agent"].items():
        cell = page.locator(f'#by-agent tr[data-name="{agent}"] td.number')
        expect(cell).to_have_text(str(count), **wait)
    for name in metrics["dependencies"]:
        # (a probe slower than PROBE_SLOW_SECONDS on a busy machine reads "degraded")
        health = page.locator(f'#dependencies tr[data-name="{name}"] .badge')
        expect(health).to_have_text(re.compile(r"^(ok|degraded)$"), **wait)
    completed = sum(minute["completed"] for minute in history)
    assert completed > 0
    throughput = page.locator("#chart-throughput")
    expect(throughput).to_have_attribute("data-sum", str(completed), **wait)
    dash.shot("overview")
    page.reload()
    expect(throughput).to_have_attribute("data-sum", str(completed), **wait)
    expect(throughput).to_have_attribute("data-points", "60")
    for chart in ("throughput", "failures", "queue", "p95"):
        expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
    assert dash.problems == []
    # Every tenant's spending is for admin keys: a user's overview has no such tile.
    dash.page.evaluate("sessionStorage.clear()")
    dash.sign_in(svc.api_key)
    expect(page.locator("#overview .tiles")).to_be_visible()
    assert page.locator("#tokens-today, #cost-today").count() == 0


def test_the_workers_page_lists_each_worker_from_its_heartbeat(
    dash: Dashboard, svc: Service
) -> None:
    with svc.client() as http:
        workers = http.get("/v1/system/metrics").json()["workers"]["workers"]
    assert workers
    dash.sign_in(svc.api_key)
    dash.open("#/workers")
    rows = dash.page.locator("#workers-table tbody tr[data-worker-id]")
    expect(rows).to_have_count(len(workers))
    for worker in workers:
        row = dash.page.locator(f'#workers-table tr[data-worker-id="{worker["worker_id"]}"]')
        host, pid = worker["worker_id"].rsplit(":", 1)
        expect(row.locator("td.host")).to_have_text(host)
        expect(row.locator("td.pid")).to_have_text(pid)
        expect(row).to_contain_text(f"/ {worker['concurrency']}")
        expect(row.locator("meter")).to_have_attribute("max", str(worker["concurrency"]))
    dash.shot("workers")
    assert dash.problems == []


def test_the_dashboard_is_served_with_its_policy_and_nothing_from_outside(svc: Service) -> None:
    with httpx.Client(base_url=svc.topology.api_url) as http:
        page = http.get("/dashboard", follow_redirects=True)
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        fetched = [http.get(f"/dashboard/{asset}") for asset in assets if "data:" not in asset]
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "'unsafe-inline'" not in policy
    assert [url for url in assets if re.match(r"^(https?:)?//", url)] == []
    assert [r.status_code for r in fetched] == [200] * len(fetched)
