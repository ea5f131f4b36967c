// The user's shares with clinicians, and each one's access log.

import { api } from "./api.js";
import { clearError, formatTime, h, setStatus, showError, table, typeName } from "./dom.js";

export async function showShares(section) {
  const list = section.querySelector("#share-list");
  const log = section.querySelector("#access-log");
  const status = section.querySelector("#shares-status");
  clearError(section);
  log.replaceChildren();
  setStatus(status, "loading", "Loading…");
  let shares;
  try {
    shares = await api("GET", "/api/v1/shares");
  } catch (error) {
    showError(section, error);
    setStatus(status, "error", "");
    return;
  }
  const rows = shares.map((share) =>
    h(
      "tr",
      { dataset: { shareId: share.id, state: share.state } },
      h("th", { scope: "row" }, share.label || "(no label)"),
      h("td", {}, share.recipient_email),
      h("td", {}, share.data_types.map(typeName).join(", ")),
      h("td", {}, `${share.date_start} – ${share.date_end}`),
      h("td", {}, h("span", { class: `badge ${share.state}` }, share.state)),
      h("td", {}, formatTime(share.expires_at)),
      h("td", {}, formatTime(share.last_access_at)),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            class: "small",
            "aria-label": `Access log of ${share.label || share.recipient_email}`,
            onclick: () => showLog(section, share),
          },
          "Access log",
        ),
      ),
    ),
  );
  list.replaceChildren(
    table(
      "Your shares",
      ["Label", "Clinician", "Types", "Days", "State", "Expires", "Last read", ""],
      rows,
      { class: "shares" },
    ),
  );
  setStatus(status, "idle", shares.length === 0 ? "You have not shared anything." : `${shares.length} share${shares.length === 1 ? "" : "s"}.`);
}

async function showLog(section, share) {
  const log = section.querySelector("#access-log");
  clearError(section);
  log.dataset.state = "loading";
  let records;
  try {
    records = await api("GET", `/api/v1/shares/${share.id}/access-log`);
  } catch (error) {
    log.dataset.state = "error";
    showError(section, error);
    return;
  }
  const rows = records.map((r) =>
    h(
      "tr",
      { dataset: { outcome: r.outcome, action: r.action } },
      h("td", {}, formatTime(r.at)),
      h("td", {}, r.action),
      h("td", {}, h("span", { class: `badge ${r.outcome}` }, r.outcome)),
      h("td", {}, r.reason ?? ""),
      h("td", {}, r.data_types.map(typeName).join(", ")),
      h("td", {}, r.range_start ? `${r.range_start} – ${r.range_end ?? ""}` : ""),
      h("td", {}, r.recipient ?? r.client ?? ""),
    ),
  );
  log.replaceChildren(
    h("h3", { tabindex: "-1" }, `Access log: ${share.label || share.recipient_email}`),
    records.length === 0
      ? h("p", {}, "No one has read this share yet.")
      : table(null, ["When", "What", "Outcome", "Why", "Types", "Days", "Who / from"], rows, { class: "access" }),
  );
  log.dataset.shareId = share.id;
  log.dataset.state = "shown";
  log.querySelector("h3").focus();
}
