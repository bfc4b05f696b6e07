// Overview: the queue, today's tasks, latency, tokens and cost, dependencies and workers
// (GET /v1/system/metrics), and the last hour per minute (GET /v1/system/history), which the
// API keeps in MongoDB, so the charts are whole again after a reload.
import uPlot from "../vendor/uPlot.esm.js";
import { api } from "./api.js";
import { h, replace, usd, when } from "./dom.js";

const REFRESH_MS = 5000;
const CHARTS = [
  { id: "chart-throughput", title: "Completed per minute", series: (m) => m.completed, color: "#1a7f37" },
  { id: "chart-failures", title: "Failed per minute", series: (m) => m.failed, color: "#cf222e" },
  { id: "chart-queue", title: "Queue length (longest sample)", series: (m) => m.queue_length, color: "#3451b2" },
  { id: "chart-p95", title: "p95 latency (s)", series: (m) => m.p95_seconds, color: "#9a6700" },
];

function tile(label, value, id) {
  return h("div", { class: "tile", id }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

function counts(title, values, id) {
  const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  return h(
    "section",
    { class: "card", id },
    h("h2", {}, title),
    entries.length
      ? h("table", {}, h("tbody", {}, entries.map(([name, count]) => h("tr", { dataset: { name } }, h("td", {}, name), h("td", { class: "number" }, count)))))
      : h("p", { class: "muted" }, "None yet today."),
  );
}

function ms(value) {
  return value === null || value === undefined ? "—" : `${(value * 1000).toFixed(0)} ms`;
}

function chart(spec, holder) {
  return new uPlot(
    {
      width: Math.max(holder.clientWidth - 8, 240),
      height: 160,
      legend: { show: false },
      cursor: { show: true },
      // Points as well as lines: a minute with a value between two without one is still seen.
      series: [{}, { label: spec.title, stroke: spec.color, width: 2, spanGaps: false, points: { show: true, size: 4, fill: spec.color } }],
      axes: [{}, { size: 44 }],
      scales: { y: { range: (u, min, max) => [0, Math.max(max ?? 0, 1)] } },
    },
    [[], []],
    holder,
  );
}

export async function render(page) {
  const numbers = h("div", { id: "overview" });
  const holders = CHARTS.map((spec) => h("div", { class: "chart", id: spec.id }));
  const charts = h(
    "div",
    { class: "charts" },
    CHARTS.map((spec, n) => h("section", { class: "card" }, h("h2", {}, spec.title), holders[n])),
  );
  replace(page, h("h1", {}, "Overview"), numbers, h("h2", {}, "Last hour"), charts);
  const plots = CHARTS.map((spec, n) => chart(spec, holders[n]));

  async function load() {
    const [m, history] = await Promise.all([api("/v1/system/metrics"), api("/v1/system/history", { query: { minutes: 60 } })]);
    const today = m.today;
    const total = Object.values(today.by_status).reduce((a, b) => a + b, 0);
    replace(
      numbers,
      h(
        "div",
        { class: "tiles" },
        tile("queue length", m.queue_length ?? "unknown", "queue-length"),
        tile(`tasks today (${today.date})`, total, "tasks-today"),
        tile("average latency", ms(today.latency.avg_seconds), "latency-avg"),
        tile("p95 latency", ms(today.latency.p95_seconds), "latency-p95"),
        // Spending is every tenant's: the API gives it to admin keys only.
        today.usage ? tile("tokens today (in / out)", `${today.usage.input_tokens} / ${today.usage.output_tokens}`, "tokens-today") : null,
        today.usage ? tile("cost today", usd(today.usage.cost_usd), "cost-today") : null,
        tile("workers online", m.workers.online, "workers-online"),
      ),
      h(
        "div",
        { class: "columns" },
        counts("Today by status", today.by_status, "by-status"),
        counts("Today by agent", today.per_agent, "by-agent"),
        h(
          "section",
          { class: "card", id: "dependencies" },
          h("h2", {}, "Dependencies"),
          h(
            "table",
            {},
            h("tbody", {}, Object.entries(m.dependencies).map(([name, d]) =>
              h("tr", { dataset: { name } }, h("td", {}, name), h("td", {}, h("span", { class: `badge ${d.status}` }, d.status)), h("td", { class: "number" }, `${d.latency_ms.toFixed(1)} ms`), h("td", { class: "muted" }, d.detail)),
            )),
          ),
        ),
      ),
      h("p", { class: "muted" }, `As of ${when(m.generated_at)}.`),
    );
    const xs = history.minutes.map((minute) => new Date(minute.minute).getTime() / 1000);
    CHARTS.forEach((spec, n) => {
      const ys = history.minutes.map(spec.series);
      plots[n].setData([xs, ys]);
      holders[n].dataset.points = String(ys.filter((y) => y !== null).length);
      holders[n].dataset.sum = String(ys.reduce((a, y) => a + (y ?? 0), 0));
    });
  }

  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => {
    clearInterval(timer);
    for (const plot of plots) plot.destroy();
  };
}
