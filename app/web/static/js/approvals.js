// Approvals (admin keys): pending checkpoints oldest first, decided ones with who, when and why.
import { api } from "./api.js";
import { badge, failure, h, json, markdown, replace, when } from "./dom.js";

const REFRESH_MS = 3000;

function countdown(deadline) {
  const left = Math.round((new Date(deadline) - Date.now()) / 1000);
  if (left <= 0) return "deadline passed";
  const m = Math.floor(left / 60);
  return `${m ? `${m} min ` : ""}${left % 60} s left`;
}

function review(checkpoint, decided) {
  const payload = checkpoint.payload;
  const draft = payload.draft;
  const routing = payload.routing;
  const comment = h("input", { name: "comment", placeholder: "Comment (optional)", maxlength: 2000 });
  const edits = {};
  const fields = [];
  if (checkpoint.stage === "routing" && routing) {
    // The agents the router could choose from, as the checkpoint recorded them.
    const agents = payload.agents?.length ? payload.agents : [routing.agent_name];
    const agent = h("select", { name: "agent_name" }, agents.map((a) => h("option", { value: a, selected: a === routing.agent_name }, a)));
    edits.agent_name = () => (agent.value && agent.value !== routing.agent_name ? agent.value : undefined);
    fields.push(h("label", {}, "Agent", agent));
  }
  if (checkpoint.stage === "output" && draft) {
    const text = h("textarea", { name: "raw_output", rows: 10 });
    text.value = draft.raw_output;
    edits.raw_output = () => (text.value.trim() && text.value !== draft.raw_output ? text.value : undefined);
    fields.push(h("label", {}, "Answer (edit to change it)", text));
  }
  const reason = h("input", { name: "reason", placeholder: "Reason to reject", maxlength: 2000 });
  const message = h("p", { class: "notice", role: "status" });

  async function decide(action) {
    const body = action === "approve" ? { comment: comment.value || null } : { reason: reason.value };
    if (action === "approve") {
      const changed = Object.fromEntries(Object.entries(edits).map(([k, read]) => [k, read()]).filter(([, v]) => v !== undefined));
      if (Object.keys(changed).length) body.edits = changed;
    } else if (!reason.value.trim()) {
      return replace(message, "Give a reason to reject.");
    }
    try {
      await api(`/v1/admin/checkpoints/${checkpoint.checkpoint_id}/${action}`, { method: "POST", body });
      await decided();
    } catch (error) {
      replace(message, failure(error));
    }
  }

  return h(
    "article",
    { class: "card checkpoint", dataset: { checkpointId: checkpoint.checkpoint_id, taskId: checkpoint.task_id } },
    h("h3", {}, `${checkpoint.stage} · ${checkpoint.kind} · `, h("a", { href: `#/tasks/${checkpoint.task_id}` }, "task")),
    h("p", { class: "muted" }, `${checkpoint.reason} · created ${when(checkpoint.created_at)} · `, h("span", { class: "countdown", dataset: { deadline: checkpoint.deadline } }, countdown(checkpoint.deadline))),
    routing ? h("p", {}, `Router: ${routing.agent_name} at ${Number(routing.confidence).toFixed(2)} — ${routing.reasoning ?? ""}`) : null,
    draft ? h("details", { open: true }, h("summary", {}, `Draft by ${payload.agent_name ?? "the agent"}`), markdown(draft.raw_output)) : null,
    fields,
    h("div", { class: "row" }, comment, h("button", { type: "button", class: "approve", onclick: () => decide("approve") }, "Approve")),
    h("div", { class: "row" }, reason, h("button", { type: "button", class: "reject danger", onclick: () => decide("reject") }, "Reject")),
    message,
  );
}

function decidedRow(c) {
  return h(
    "tr",
    { dataset: { checkpointId: c.checkpoint_id } },
    h("td", {}, when(c.decided_at)),
    h("td", {}, h("a", { href: `#/tasks/${c.task_id}` }, c.task_id.slice(0, 8))),
    h("td", {}, c.stage),
    h("td", {}, badge(c.status)),
    h("td", {}, c.decided_by ?? "—"),
    h("td", {}, c.comment ?? ""),
    h("td", {}, c.edits ? h("details", {}, h("summary", {}, Object.keys(c.edits).join(", ")), json(c.edits)) : ""),
  );
}

const DECIDED = ["approved", "rejected", "expired", "cancelled"];

export async function render(page) {
  const pending = h("div", { id: "pending" });
  const decided = h("tbody");
  replace(
    page,
    h("h1", {}, "Approvals"),
    h("h2", {}, "Pending, oldest first"),
    pending,
    h("section", { class: "card" }, h("h2", {}, "Decided"),
      h("table", { id: "decided" }, h("thead", {}, h("tr", {}, ["Decided", "Task", "Stage", "Decision", "By", "Comment", "Edits"].map((t) => h("th", {}, t)))), decided)),
  );
  const notice = h("p", { class: "notice", role: "status" });
  pending.before(notice);
  const shown = new Set();
  let sequence = 0;

  async function load() {
    const asked = ++sequence;
    const [open, ...ended] = await Promise.all([
      api("/v1/admin/checkpoints", { query: { status: "pending", order: "oldest", limit: 200 } }),
      ...DECIDED.map((status) => api("/v1/admin/checkpoints", { query: { status, limit: 100 } })),
    ]);
    if (asked !== sequence) return; // a later load (after a decision) has the newer state
    replace(notice);
    const waiting = open.items;
    // A card being filled in stays as it is; new ones are added, decided ones go.
    const ids = new Set(waiting.map((c) => c.checkpoint_id));
    for (const card of pending.querySelectorAll(".checkpoint")) {
      if (!ids.has(card.dataset.checkpointId)) {
        card.remove();
        shown.delete(card.dataset.checkpointId);
      }
    }
    for (const c of waiting) {
      if (!shown.has(c.checkpoint_id)) {
        pending.append(review(c, reload));
        shown.add(c.checkpoint_id);
      }
    }
    if (!waiting.length) replace(pending, h("p", { class: "muted", id: "none-pending" }, "Nothing waits for a decision."));
    else pending.querySelector("#none-pending")?.remove();
    for (const clock of pending.querySelectorAll(".countdown")) clock.textContent = countdown(clock.dataset.deadline);
    const latest = ended.flatMap((found) => found.items).sort((a, b) => (b.decided_at ?? "").localeCompare(a.decided_at ?? ""));
    replace(decided, latest.slice(0, 100).map(decidedRow));
  }

  const reload = () => load().catch((error) => replace(notice, failure(error)));
  await load();
  const timer = setInterval(reload, REFRESH_MS);
  return () => clearInterval(timer);
}
