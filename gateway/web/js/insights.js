// Insights, newest first, each with an Acknowledge button.

import { api } from "./api.js";
import { clearError, formatTime, h, setStatus, showError } from "./dom.js";

export async function showInsights(section) {
  const list = section.querySelector("#insight-list");
  const status = section.querySelector("#insights-status");
  clearError(section);
  setStatus(status, "loading", "Loading…");
  let insights;
  try {
    ({ insights } = await api("GET", "/api/v1/insights"));
  } catch (error) {
    showError(section, error);
    setStatus(status, "error", "");
    return;
  }
  list.replaceChildren(...insights.map((insight) => card(section, insight)));
  summarise(section);
}

function summarise(section) {
  const status = section.querySelector("#insights-status");
  const all = section.querySelectorAll("#insight-list li").length;
  const unread = section.querySelectorAll("#insight-list li[data-acknowledged=false]").length;
  const text =
    all === 0
      ? "No insights yet."
      : `${all} insight${all === 1 ? "" : "s"}, ${unread} not acknowledged.`;
  setStatus(status, "idle", text);
}

function card(section, insight) {
  const acknowledged = h("p", { class: "acknowledged" });
  const button = h("button", { type: "button" }, "Acknowledge");
  const item = h(
    "li",
    { class: `card ${insight.severity}`, dataset: { insightId: insight.id, acknowledged: insight.acknowledged } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: `badge ${insight.severity}` }, insight.severity),
      " ",
      h("span", {}, `${insight.type.replaceAll("_", " ").toLowerCase()} · ${insight.status}`),
      " · ",
      h("time", { datetime: insight.updated_at }, formatTime(insight.updated_at)),
    ),
    h("p", { class: "message" }, insight.message),
    insight.recommendation ? h("p", { class: "recommendation" }, insight.recommendation) : null,
    acknowledged,
    button,
  );
  const markAcknowledged = (at) => {
    item.dataset.acknowledged = "true";
    acknowledged.textContent = `Acknowledged ${formatTime(at)}`;
    button.remove();
  };
  if (insight.acknowledged) markAcknowledged(insight.acknowledged_at);
  button.setAttribute("aria-label", `Acknowledge: ${insight.message}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    clearError(section);
    try {
      const answer = await api("POST", `/api/v1/insights/${insight.id}/acknowledge`);
      markAcknowledged(answer.acknowledged_at);
      summarise(section);
    } catch (error) {
      showError(section, error);
      button.disabled = false;
    }
  });
  return item;
}
