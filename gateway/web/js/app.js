// The page: sign-in, the signed-in user's profile, and hash navigation between the views
// (#charts, #insights, #import, #shares; #charts?period=day&from=…&to=… keeps a range).

import { api, ApiError, session, whenUnauthorized } from "./api.js";
import { clearError, setTimeZone, showError } from "./dom.js";
import { Charts } from "./charts.js";
import { Devices } from "./devices.js";
import { showInsights } from "./insights.js";
import { showImports } from "./imports.js";
import { showShares } from "./shares.js";

const $ = (selector) => document.querySelector(selector);

/** What the views share: the profile and the sample types (with kind and unit). */
const context = { me: null, types: null };

const charts = new Charts(context);
const devices = new Devices(context, charts);

const views = {
  charts: (params) => {
    charts.show(params);
    devices.show();
  },
  insights: () => showInsights($("#insights")),
  import: () => showImports($("#import")),
  shares: () => showShares($("#shares")),
};

function parseHash() {
  const [name, query] = window.location.hash.replace(/^#/, "").split("?");
  return { name: name in views ? name : "charts", params: new URLSearchParams(query ?? "") };
}

function notice(text) {
  const element = $("#notice");
  element.textContent = text ?? "";
  element.hidden = !text;
}

async function route() {
  if (!session.token) {
    showSignIn();
    return;
  }
  try {
    await loadContext();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    notice(error.describe?.() ?? String(error));
    return;
  }
  const { name, params } = parseHash();
  $("#signin").hidden = true;
  $("#nav").hidden = false;
  $("#account").hidden = false;
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  views[name](params);
}

async function loadContext() {
  if (!context.me) {
    context.me = await api("GET", "/api/v1/me");
    setTimeZone(context.me.timezone);
    $("#account-name").textContent = context.me.name || context.me.email;
  }
  if (!context.types) {
    const response = await fetch("/app/types.json");
    if (!response.ok) throw new Error(`the sample types could not be loaded (${response.status})`);
    context.types = await response.json();
  }
}

function showSignIn(message) {
  context.me = null;
  $("#nav").hidden = true;
  $("#account").hidden = true;
  for (const view of document.querySelectorAll(".view")) view.hidden = true;
  const panel = $("#signin");
  panel.hidden = false;
  const form = $("#signin-form");
  if (message) showError(form, new Error(message));
  $("#signin-email").focus();
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  clearError(form);
  notice(null);
  button.disabled = true;
  try {
    const answer = await api("POST", "/api/v1/sessions", {
      body: { email: form.email.value.trim(), password: form.password.value },
    });
    session.token = answer.token;
    form.password.value = "";
    if (!window.location.hash) window.history.replaceState(null, "", "#charts");
    await route();
    $("#main").focus();
  } catch (error) {
    showError(form, error);
  } finally {
    button.disabled = false;
  }
});

$("#sign-out").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/sessions/current");
  } catch (error) {
    // The token is dropped either way; say why the server did not confirm.
    if (!(error instanceof ApiError && error.status === 401)) notice(error.describe?.() ?? String(error));
  }
  session.clear();
  charts.reset();
  showSignIn();
});

whenUnauthorized(() => {
  session.clear();
  charts.reset();
  showSignIn("Your session has ended. Please sign in again.");
});

window.addEventListener("hashchange", route);
route();
