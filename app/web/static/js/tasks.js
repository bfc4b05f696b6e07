// Tasks: submit, filter, page, cancel and retry (one or a selection), live without a reload.
import { api } from "./api.js";
import { badge, failure, h, replace, seconds, when } from "./dom.js";

const REFRESH_MS = 1500;
const STATUSES = ["queued", "processing", "awaiting_approval", "completed", "failed", "cancelled"];
const OPEN = new Set(["queued", "processing", "awaiting_approval"]);
const ENDED = new Set(["failed", "cancelled"]);

let agentNames = null;

async function agents() {
  // The agents the list can filter by, as the API documents them.
  if (agentNames === null) {
    const schema = await api("/openapi.json");
    const parameters = schema.paths["/v1/tasks"].get.parameters;
    const agent = parameters.find((p) => p.name === "agent_type");
    agentNames = agent?.schema?.anyOf?.find((s) => s.enum)?.enum ?? agent?.schema?.enum ?? [];
  }
  return agentNames;
}

function isoOf(local) {
  return local ? new Date(local).toISOString() : undefined;
}

export async function render(page, { me, params }) {
  // An admin lists every tenant's tasks, with a tenant column and filter.
  const listing = me.admin ? "/v1/admin/tasks" : "/v1/tasks";
  const state = { cursors: [null], selected: new Set(), rows: new Map(), applied: {}, sequence: 0 };
  const pageSize = Math.min(Math.max(Number.parseInt(params.get("limit") ?? "", 10) || 25, 1), 100);
  let shown = 0; // the page on screen
  let wanted = 0; // the page last asked for: what the timer refreshes
  let loading = false;
  const message = h("p", { class: "notice", role: "status" });
  const submit = h(
    "form",
    { class: "card submit", id: "submit-form" },
    h("h2", {}, "New task"),
    h("label", {}, "Task", h("textarea", { name: "task", rows: 3, required: true, maxlength: 8000 })),
    h(
      "div",
      { class: "row" },
      h("label", {}, "Session (optional)", h("input", { name: "session_id" })),
      h("label", { class: "check" }, h("input", { name: "require_approval", type: "checkbox" }), "Require approval"),
      h("button", { type: "submit" }, "Submit"),
    ),
  );
  const filters = h(
    "form",
    { class: "filters", id: "filters" },
    h("label", {}, "Status", h("select", { name: "status" }, h("option", { value: "" }, "any"), STATUSES.map((s) => h("option", { value: s }, s)))),
    h("label", {}, "Agent", h("select", { name: "agent_type" }, h("option", { value: "" }, "any"), (await agents()).map((a) => h("option", { value: a }, a)))),
    h("label", {}, "Session", h("input", { name: "session_id" })),
    h("label", {}, "Text", h("input", { name: "text", type: "search", maxlength: 200 })),
    me.admin ? h("label", {}, "Tenant", h("input", { name: "owner", placeholder: "every tenant" })) : null,
    h("label", {}, "From", h("input", { name: "created_from", type: "datetime-local" })),
    h("label", {}, "To", h("input", { name: "created_to", type: "datetime-local" })),
    h("button", { type: "submit" }, "Apply"),
  );
  const body = h("tbody");
  const all = h("input", { type: "checkbox", title: "Select the page", "aria-label": "Select the page" });
  const table = h(
    "table",
    { class: "tasks", id: "tasks-table" },
    h("thead", {}, h("tr", {}, h("th", {}, all), ["Created", me.admin ? "Tenant" : null, "Task", "Agent", "Status", "Took", "Error", ""].filter((t) => t !== null).map((t) => h("th", {}, t)))),
    body,
  );
  const bulk = h(
    "div",
    { class: "bulk" },
    h("button", { type: "button", id: "bulk-cancel", onclick: () => onBulk("cancel") }, "Cancel selected"),
    h("button", { type: "button", id: "bulk-retry", onclick: () => onBulk("retry") }, "Retry selected"),
    h("span", { class: "muted", id: "selected-count" }),
  );
  const pager = h(
    "div",
    { class: "pager" },
    h("button", { type: "button", id: "first-page", onclick: () => go(0) }, "First page"),
    h("button", { type: "button", id: "next-page", onclick: () => go(shown + 1) }, "Next page"),
  );
  replace(page, h("h1", {}, "Tasks"), submit, message, h("div", { class: "card" }, filters, bulk, table, pager));
  for (const [name, value] of params) {
    const field = filters.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value;
  }
  applyFilters();

  // The filters as last applied (the form may hold unapplied edits while the list refreshes).
  function applyFilters() {
    const form = new FormData(filters);
    state.applied = {
      status: form.get("status"),
      agent_type: form.get("agent_type"),
      session_id: form.get("session_id").trim(),
      text: form.get("text").trim(),
      owner: me.admin ? form.get("owner").trim() : undefined,
      created_from: isoOf(form.get("created_from")),
      created_to: isoOf(form.get("created_to")),
    };
    state.cursors = [null];
    state.selected.clear();
    shown = wanted = 0;
  }

  function query(cursor) {
    return { limit: pageSize, cursor, ...state.applied };
  }

  function counted() {
    page.querySelector("#selected-count").textContent = state.selected.size ? `${state.selected.size} selected` : "";
  }

  function row(task) {
    const box = h("input", { type: "checkbox", "aria-label": `Select ${task.task_id}`, checked: state.selected.has(task.task_id) });
    box.addEventListener("change", () => {
      if (box.checked) state.selected.add(task.task_id);
      else state.selected.delete(task.task_id);
      counted();
    });
    const actions = h("td", { class: "actions" });
    if (OPEN.has(task.status)) actions.append(h("button", { type: "button", class: "cancel", onclick: () => act("cancel", [task.task_id]) }, "Cancel"));
    if (ENDED.has(task.status)) actions.append(h("button", { type: "button", class: "retry", onclick: () => act("retry", [task.task_id]) }, "Retry"));
    return h(
      "tr",
      { dataset: { taskId: task.task_id, status: task.status } },
      h("td", {}, box),
      h("td", {}, when(task.created_at)),
      me.admin ? h("td", { class: "owner" }, task.owner) : null,
      h("td", { class: "text" }, h("a", { href: `#/tasks/${task.task_id}` }, task.task)),
      h("td", {}, task.selected_agent ?? "—"),
      h("td", {}, badge(task.status)),
      h("td", {}, seconds(task.created_at, task.completed_at)),
      h("td", {}, task.error_type ?? ""),
      actions,
    );
  }

  async function load(index) {
    // A page exists once the one before it gave its cursor; an answer that comes back after a
    // later request's is dropped.
    if (index >= state.cursors.length) return;
    wanted = index;
    const asked = ++state.sequence;
    loading = true;
    let found;
    try {
      found = await api(listing, { query: query(state.cursors[index]) });
    } finally {
      if (asked === state.sequence) loading = false;
    }
    if (asked !== state.sequence) return;
    shown = index;
    state.cursors.length = index + 1;
    if (found.next_cursor) state.cursors.push(found.next_cursor);
    replace(body, found.items.length ? found.items.map(row) : h("tr", {}, h("td", { colspan: me.admin ? 9 : 8 }, "No tasks match.")));
    pager.querySelector("#next-page").disabled = !found.next_cursor;
    all.checked = found.items.length > 0 && found.items.every((t) => state.selected.has(t.task_id));
    state.rows = new Map(found.items.map((t) => [t.task_id, t]));
    counted();
  }

  async function go(index) {
    try {
      await load(index);
    } catch (error) {
      replace(message, failure(error));
    }
  }

  async function act(action, ids) {
    const outcomes = await Promise.allSettled(ids.map((id) => api(`/v1/tasks/${id}/${action}`, { method: "POST" })));
    const failed = outcomes.filter((o) => o.status === "rejected");
    const verb = action === "cancel" ? "Cancelled" : "Retried";
    replace(message, `${verb} ${ids.length - failed.length} of ${ids.length}.`, failed.map((o) => ` ${o.reason.message}`));
    for (const id of ids) state.selected.delete(id);
    await go(wanted);
  }

  function onBulk(action) {
    if (state.selected.size === 0) return replace(message, "Select tasks first.");
    return act(action, [...state.selected]);
  }

  all.addEventListener("change", () => {
    for (const id of state.rows.keys()) {
      if (all.checked) state.selected.add(id);
      else state.selected.delete(id);
    }
    for (const box of body.querySelectorAll("input[type=checkbox]")) box.checked = all.checked;
    counted();
  });

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters();
    go(0);
  });

  submit.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(submit);
    const request = { task: form.get("task") };
    if (form.get("session_id").trim()) request.session_id = form.get("session_id").trim();
    if (form.get("require_approval")) request.require_approval = true;
    try {
      const accepted = await api("/v1/agent/execute", { method: "POST", body: request });
      replace(message, "Accepted ", h("a", { href: `#/tasks/${accepted.task_id}` }, accepted.task_id), ".");
      submit.reset();
      await go(0);
    } catch (error) {
      replace(message, failure(error));
    }
  });

  await load(0);
  // A refresh never overtakes a page the user asked for: it waits for it, then refreshes it.
  const timer = setInterval(() => loading || go(wanted), REFRESH_MS);
  return () => clearInterval(timer);
}
