// Workers: every worker process from its heartbeat (a read of the store, never a broadcast).
import { api } from "./api.js";
import { badge, h, replace, when } from "./dom.js";

const REFRESH_MS = 3000;

export async function render(page) {
  const body = h("tbody");
  replace(
    page,
    h("h1", {}, "Workers"),
    h(
      "section",
      { class: "card" },
      h("table", { id: "workers-table" },
        h("thead", {}, h("tr", {}, ["Host", "PID", "Status", "Slots in use", "Tasks held", "Loop lag", "Store idle", "Started", "Last seen"].map((t) => h("th", {}, t)))),
        body),
    ),
  );

  async function load() {
    const { workers } = await api("/v1/system/metrics");
    replace(
      body,
      workers.workers.length
        ? workers.workers.map((w) =>
            h(
              "tr",
              { dataset: { workerId: w.worker_id } },
              h("td", { class: "host" }, w.worker_id.slice(0, w.worker_id.lastIndexOf(":"))),
              h("td", { class: "pid number" }, w.worker_id.slice(w.worker_id.lastIndexOf(":") + 1)),
              h("td", {}, badge(w.status), w.stalled_reason ? ` ${w.stalled_reason}` : ""),
              h("td", {}, h("meter", { min: 0, max: w.concurrency, value: w.slots_busy }), ` ${w.slots_busy} / ${w.concurrency}`),
              h("td", { class: "number" }, w.in_flight),
              h("td", { class: "number" }, `${w.loop_lag_ms.toFixed(1)} ms`),
              h("td", { class: "number" }, `${w.store_idle_seconds.toFixed(1)} s`),
              h("td", {}, when(w.started_at)),
              h("td", {}, when(w.seen_at)),
            ),
          )
        : h("tr", {}, h("td", { colspan: 9 }, "No worker is online.")),
    );
  }

  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}
