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

// #/page, #/tasks/{id}, and a query after "?" (#/tasks?session_id=s) for the page's filters.
function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name = "overview", ...rest] = path.split("/");
  const params = new URLSearchParams(search);
  if (name === "tasks" && rest.length) return { page: "task", arg: decodeURIComponent(rest.join("/")), params };
  if (name === "sessions" && rest.length) return { page: "session", arg: decodeURIComponent(rest.join("/")), params };
  return { page: name in PAGES ? name : "overview", arg: null, params };
}

async function show() {
  leave();
  leave = () => {};
  const page = $("page");
  if (!session.key) return signIn();
  if (!me) {
    try {
      me = await api("/v1/me");
    } catch (error) {
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
  replace(page);
  if (name === "approvals" && !me.admin) {
    return replace(page, failure({ message: "Approvals are for admin keys." }));
  }
  try {
    leave = (await PAGES[name].render(page, { me, arg, params })) ?? (() => {});
  } catch (error) {
    replace(page, failure(error));
  }
}

function signIn(message = "") {
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
