// Building the page from data: text goes in as text, never as markup. The one place that turns
// text into markup is markdown(), which sanitises what marked produces.
import DOMPurify from "../vendor/purify.es.js";
import hljs from "../vendor/highlight.min.js";
import { Marked } from "../vendor/marked.esm.js";

export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) {
      // Handlers are functions; a string here would be inline script (the CSP refuses it anyway).
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const SAFE_URL = /^https?:\/\//i;

// A link only to http(s) urls; anything else (javascript:, data:) is shown as text.
export function link(href, text) {
  return SAFE_URL.test(href ?? "") ? h("a", { href, rel: "noopener noreferrer", target: "_blank" }, text ?? href) : h("span", {}, text ?? href);
}

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    if (!SAFE_URL.test(node.getAttribute("href") ?? "")) node.removeAttribute("href");
    node.setAttribute("rel", "noopener noreferrer");
    node.setAttribute("target", "_blank");
  }
});

// Raw HTML inside the Markdown is shown as text, not parsed.
const marked = new Marked({ async: false, renderer: { html: ({ text }) => escapeHtml(text) } });

// Model output as Markdown: links only to http(s), code highlighted, the rest sanitised.
export function markdown(text) {
  const html = marked.parse(text ?? "");
  const box = h("div", { class: "markdown" });
  box.innerHTML = DOMPurify.sanitize(html, { FORBID_TAGS: ["style", "img", "form", "input"], FORBID_ATTR: ["style"] });
  for (const block of box.querySelectorAll("pre code")) hljs.highlightElement(block);
  return box;
}

function escapeHtml(raw) {
  const span = document.createElement("span");
  span.textContent = raw;
  return span.innerHTML;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function seconds(from, to) {
  if (!from || !to) return "—";
  return `${((new Date(to) - new Date(from)) / 1000).toFixed(2)} s`;
}

// A value as indented JSON, as text.
export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

export function usd(value) {
  return `$${Number(value ?? 0).toFixed(4)}`;
}

export function failure(error) {
  return h("p", { class: "error", role: "alert" }, error?.message ?? String(error));
}
