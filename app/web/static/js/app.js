// The dashboard's shell: sign-in with an API key, the navigation, one page at a time.
import { api, ApiError, session } from "./api.js";
import { failure, replace } from "./dom.js";
import * as approvals from "./approvals.js";
import * as overview from "./overview.js";
import * as conversation from "./session.js";
import * as task from "./task.js";
import * as tasks from "./tasks.js";
import * as workers from "./workers.js";

const PAGES = { overview, tasks, task, session: conversation, approvals, workers };
const $ = (id) => document.getElementById(id);
let leave = () => {};
let me = null;
let shown = 0; // which navigation is current

// #/page, #/tasks/{id}, and a query after "?" (#/tasks?session_id=s) for the page's filters.
function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return "";
  }
}

function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name = "overview", ...rest] = path.split("/");
  const params = new URLSearchParams(search);
  if (name === "tasks" && rest.length) return { page: "task", arg: decoded(rest.join("/")), params };
  if (name === "sessions" && rest.length) return { page: "session", arg: decoded(rest.join("/")), params };
  return { page: name in PAGES ? name : "overview", arg: null, params };
}

async function show() {
  leave();
  leave = () => {};
  const navigation = ++shown;
  const page = $("page");
  if (!session.key) return signIn();
  if (!me) {
    try {
      me = await api("/v1/me");
      if (navigation !== shown) return; // a later navigation goes on from here
    } catch (error) {
      if (navigation !== shown) return;
      if (error instanceof ApiError && error.status === 401) {
        session.clear();
        return signIn(error.message);
      }
      return replace(page, failure(error));
    }
  }
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("whoami").textContent = `${me.key_id} (${me.role})`;
  for (const item of document.querySelectorAll("[data-admin]")) item.hidden = !me.admin;
  const { page: name, arg, params } = route();
  for (const item of document.querySelectorAll("#nav a")) {
    item.classList.toggle("active", item.dataset.page === (["task", "session"].includes(name) ? "tasks" : name));
  }
  // Each navigation renders into a box of its own: a page still loading when the next one is
  // shown writes into its detached box, not over the new page.
  const box = document.createElement("div");
  replace(page, box);
  if (name === "approvals" && !me.admin) {
    return replace(box, failure({ message: "Approvals are for admin keys." }));
  }
  try {
    const cleanup = (await PAGES[name].render(box, { me, arg, params })) ?? (() => {});
    // Left while it was loading: its timers and streams stop now, not with the tab.
    if (navigation === shown) leave = cleanup;
    else cleanup();
  } catch (error) {
    replace(box, failure(error));
  }
}

function signIn(message = "") {
  shown++; // a page still loading is not installed once signed out
  me = null;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  replace($("page"));
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
}

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  session.save(new FormData(event.target).get("key").trim());
  event.target.reset();
  show();
});

$("sign-out").addEventListener("click", () => {
  session.clear();
  leave();
  leave = () => {};
  signIn();
});

window.addEventListener("hashchange", show);
show();
