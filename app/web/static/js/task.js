// One task: its live timeline (SSE, resumed with Last-Event-ID), routing, answer, runs, errors.
import { createEventSource } from "../vendor/eventsource-client.esm.js";
import { api, headers, url } from "./api.js";
import { badge, failure, h, json, link, markdown, replace, seconds, usd, when } from "./dom.js";

const FINAL = new Set(["completed", "failed", "cancelled"]);

function describe(kind, data) {
  if (kind === "status") return `${data.status}${data.attempt ? ` (attempt ${data.attempt})` : ""}${data.error?.type ? `: ${data.error.type}` : ""}`;
  const parts = [data.agent_name, data.tool, data.status, data.stage, data.decision].filter(Boolean);
  return parts.join(" · ");
}

function folded(title, value) {
  return value === null || value === undefined ? null : h("details", {}, h("summary", {}, title), json(value));
}

function waterfall(task, runs) {
  const origin = new Date(task.created_at).getTime();
  const spans = runs.flatMap((run) => [
    { label: `${run.agent_name} (attempt ${run.attempt})`, kind: "run", start: run.started_at, ms: run.duration_ms, status: run.status, item: run },
    ...run.tool_executions.map((call) => ({ label: call.tool, kind: "call", start: call.started_at, ms: call.duration_ms, status: call.status, item: call })),
  ]);
  const end = Math.max(
    new Date(task.completed_at ?? task.updated_at).getTime(),
    ...spans.map((s) => new Date(s.start).getTime() + (s.ms ?? 0)),
  );
  const total = Math.max(end - origin, 1);
  return h(
    "div",
    { class: "waterfall", id: "waterfall" },
    spans.map((span) => {
      const left = ((new Date(span.start).getTime() - origin) / total) * 100;
      const width = Math.max(((span.ms ?? 0) / total) * 100, 0.5);
      return h(
        "div",
        { class: `span ${span.kind}`, dataset: { tool: span.kind === "call" ? span.label : "" } },
        h("div", { class: "label" }, span.label, " ", badge(span.status), ` ${span.ms ?? "…"} ms`),
        h("div", { class: "track" }, h("div", { class: `bar ${span.status}`, dataset: { left: left.toFixed(2), width: width.toFixed(2) } })),
        folded("input", span.item.input),
        folded("output", span.item.output),
        span.item.error ? h("p", { class: "error" }, `${span.item.error.type}: ${span.item.error.message}`) : null,
        span.kind === "run" ? h("p", { class: "muted" }, `model ${span.item.model ?? "—"} · ${span.item.usage.input_tokens} in / ${span.item.usage.output_tokens} out tokens · ${usd(span.item.usage.cost_usd)} · ${span.item.llm_retries} LLM retries`) : null,
      );
    }),
  );
}

// Bars are placed by CSS custom properties set from script (the CSP forbids inline styles).
function place(root) {
  for (const bar of root.querySelectorAll(".bar")) {
    bar.style.setProperty("--left", `${bar.dataset.left}%`);
    bar.style.setProperty("--width", `${bar.dataset.width}%`);
  }
}

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function render(page, { arg: taskId }) {
  if (!TASK_ID.test(taskId)) throw new Error(`Not a task id: ${taskId}`);
  const path = encodeURIComponent(taskId);
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const summary = h("section", { class: "card", id: "summary" });
  const answer = h("section", { class: "card", id: "answer" });
  const runsBox = h("section", { class: "card", id: "runs" });
  const message = h("p", { class: "notice", role: "status" });
  replace(
    page,
    h("p", {}, h("a", { href: "#/tasks" }, "← Tasks")),
    h("h1", {}, "Task ", h("code", {}, taskId)),
    message,
    summary,
    h("div", { class: "columns" }, answer, h("section", { class: "card" }, h("h2", {}, "Timeline"), timeline)),
    runsBox,
  );

  let current = null; // the task as last read
  async function refresh() {
    const [task, runs] = await Promise.all([api(`/v1/tasks/${path}`), api(`/v1/tasks/${path}/runs`)]);
    current = task;
    show(task, runs.runs);
    return task;
  }

  // Events in a burst share a refresh; one that arrives during a refresh gets another after it
  // (that refresh may have read the task before the event was written).
  let refreshing = false;
  let again = false;
  async function later() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        await refresh().catch((error) => replace(message, failure(error)));
      } while (again);
    } finally {
      refreshing = false;
    }
  }

  async function act(action) {
    try {
      await api(`/v1/tasks/${path}/${action}`, { method: "POST" });
      replace(message, action === "cancel" ? "Cancel asked." : "Queued again.");
      if (action === "retry") follow(lastEventId);
      later();
    } catch (error) {
      replace(message, failure(error));
    }
  }

  function show(task, runs) {
    const routing = task.routing;
    const routers = runs.filter((r) => r.agent_name === "PeerAgent");
    const router = routers.filter((r) => r.attempt === task.attempt).at(-1) ?? routers.at(-1);
    replace(
      summary,
      h("div", { class: "row" }, h("span", { id: "task-status" }, badge(task.status)), ` attempt ${task.attempt}`,
        !FINAL.has(task.status) ? h("button", { type: "button", id: "cancel", onclick: () => act("cancel") }, "Cancel") : null,
        ["failed", "cancelled"].includes(task.status) ? h("button", { type: "button", id: "retry", onclick: () => act("retry") }, "Retry") : null),
      h("p", { class: "task-text" }, task.task),
      h(
        "dl",
        {},
        h("dt", {}, "Session"), h("dd", {}, h("a", { href: `#/sessions/${encodeURIComponent(task.session_id)}?owner=${encodeURIComponent(task.owner)}`, id: "session-link" }, task.session_id)),
        h("dt", {}, "Agent"), h("dd", { id: "agent" }, task.selected_agent ?? "—"),
        h("dt", {}, "Confidence"), h("dd", { id: "confidence" }, routing ? routing.confidence.toFixed(2) : "—"),
        h("dt", {}, "Reasoning"), h("dd", {}, routing?.reasoning ?? "—"),
        routing?.override ? [h("dt", {}, "Override"), h("dd", {}, `${routing.override.agent_name} by ${routing.override.decided_by} at ${when(routing.override.decided_at)}`)] : null,
        h("dt", {}, "Router model"), h("dd", {}, router?.model ?? "—"),
        h("dt", {}, "Prompt version"), h("dd", {}, router?.input?.prompt_version ?? "—"),
        h("dt", {}, "Usage"), h("dd", { id: "usage" }, `${task.usage.input_tokens} in / ${task.usage.output_tokens} out tokens · ${usd(task.usage.cost_usd)}`),
        h("dt", {}, "Created"), h("dd", {}, when(task.created_at)),
        h("dt", {}, "Took"), h("dd", {}, seconds(task.created_at, task.completed_at)),
      ),
      task.error ? h("p", { class: "error", id: "task-error" }, `${task.error.type}: ${task.error.message}`) : null,
      task.history.length
        ? h("div", {}, h("h3", {}, "Earlier attempts"), h("ul", {}, task.history.map((a) => h("li", {}, `attempt ${a.attempt}: ${a.status}${a.error ? ` (${a.error.type}: ${a.error.message})` : ""}`))))
        : null,
    );
    const result = task.result;
    replace(
      answer,
      h("h2", {}, "Answer"),
      result
        ? [
            result.code_language ? h("p", { class: "muted", id: "code-language" }, `code_language: ${result.code_language}`) : null,
            h("div", { id: "raw-output" }, markdown(result.raw_output)),
            result.citations.length
              ? h("div", {}, h("h3", {}, "Citations"), h("ol", { id: "citations" }, result.citations.map((c) => h("li", {}, link(c.url, c.title), ` (${c.source})`))))
              : null,
          ]
        : h("p", { class: "muted" }, FINAL.has(task.status) ? "No answer." : "Not answered yet."),
    );
    replace(runsBox, h("h2", {}, "Runs and calls"), runs.length ? waterfall(task, runs) : h("p", { class: "muted" }, "No runs yet."));
    place(runsBox);
  }

  let source = null;
  let lastEventId;
  function follow(after) {
    source?.close();
    source = createEventSource({
      url: url(`/v1/tasks/${path}/events`),
      headers: headers(),
      initialLastEventId: after,
      onMessage: ({ event, data, id }) => {
        lastEventId = id;
        const body = JSON.parse(data);
        timeline.append(h("li", { dataset: { kind: event, id } }, h("time", {}, when(body.at)), ` ${event}`, h("span", { class: "muted" }, ` ${describe(event, body)}`)));
        later();
        // The stream replays earlier attempts too: it is over at the end of the task's attempt.
        if (event === "status" && FINAL.has(body.status) && body.attempt >= (current?.attempt ?? 0)) source.close();
      },
    });
  }

  const task = await refresh();
  follow();
  if (FINAL.has(task.status)) replace(message);
  return () => source?.close();
}
