// A session's conversation: its tasks and their answers, oldest first.
import { api } from "./api.js";
import { h, markdown, replace, when } from "./dom.js";

export async function render(page, { me, arg: sessionId, params }) {
  const owner = me.admin ? params.get("owner") : null;
  const found = await api(`/v1/sessions/${encodeURIComponent(sessionId)}/messages`, { query: { limit: 200, owner } });
  replace(
    page,
    h("p", {}, h("a", { href: `#/tasks?session_id=${encodeURIComponent(sessionId)}` }, "← The session's tasks")),
    h("h1", {}, "Session ", h("code", {}, sessionId)),
    h(
      "ol",
      { class: "conversation", id: "conversation" },
      found.messages.map((m) =>
        h(
          "li",
          { class: `card turn ${m.role}`, dataset: { role: m.role, taskId: m.task_id } },
          h("p", { class: "muted" }, `${m.role} · ${when(m.created_at)} · `, h("a", { href: `#/tasks/${m.task_id}` }, "task")),
          m.role === "user" ? h("p", { class: "task-text" }, m.content) : markdown(m.content),
        ),
      ),
    ),
  );
}
