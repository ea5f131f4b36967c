// Import an Apple Health export: upload export.zip or export.xml (POST
// /api/v1/imports/apple-health, raw body), follow its progress (GET /api/v1/imports/{id}),
// then show the report: devices with their priorities, and per type the deduplicated total
// beside the naive sum of every sample.

import { api, sleep } from "./api.js";
import { clearError, formatNumber, formatTime, h, showError, table, typeName } from "./dom.js";

const POLL_MS = 1000;
let generation = 0;
let wired = false;

export async function showImports(section) {
  const form = section.querySelector("#import-form");
  if (!wired) {
    wired = true;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      upload(section, form);
    });
  }
  clearError(section);
  await listImports(section);
}

function contentTypeOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".zip")) return "application/zip";
  if (name.endsWith(".xml")) return "application/xml";
  return null;
}

async function upload(section, form) {
  const file = form.file.files[0];
  clearError(section);
  if (!file) return;
  const contentType = contentTypeOf(file);
  if (!contentType) {
    showError(section, new Error("Choose the export.zip or export.xml of an Apple Health export."));
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  const current = section.querySelector("#import-current");
  current.replaceChildren(h("p", { role: "status" }, `Uploading ${file.name}…`));
  try {
    const started = await api("POST", "/api/v1/imports/apple-health", { upload: file, contentType });
    await follow(section, started.id);
  } catch (error) {
    current.replaceChildren();
    showError(section, error);
  } finally {
    button.disabled = false;
  }
}

/** Polls one import until it is no longer running, showing its progress, then its report. */
async function follow(section, id) {
  const mine = ++generation;
  const current = section.querySelector("#import-current");
  for (;;) {
    const job = await api("GET", `/api/v1/imports/${id}`);
    if (mine !== generation) return;
    current.replaceChildren(render(job));
    if (job.status !== "running") break;
    await sleep(POLL_MS);
  }
  await listImports(section);
}

async function listImports(section) {
  const list = section.querySelector("#import-list");
  let jobs;
  try {
    jobs = await api("GET", "/api/v1/imports");
  } catch (error) {
    list.replaceChildren();
    showError(section, error);
    return;
  }
  if (jobs.length === 0) {
    list.replaceChildren(h("p", {}, "No imports yet."));
    return;
  }
  const rows = jobs.map((job) =>
    h(
      "tr",
      { dataset: { importId: job.id, status: job.status } },
      h("td", {}, formatTime(job.created_at)),
      h("td", {}, h("span", { class: `badge ${job.status}` }, job.status)),
      h("td", { class: "num" }, formatNumber(job.report?.imported ?? job.progress?.records)),
      h("td", {}, formatTime(job.finished_at)),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            class: "small",
            onclick: () => {
              clearError(section);
              if (job.status === "running") follow(section, job.id).catch((error) => showError(section, error));
              else showJob(section, job);
            },
          },
          job.status === "running" ? "Follow" : "Report",
        ),
      ),
    ),
  );
  list.replaceChildren(table(null, ["Started", "Status", "Records", "Finished", ""], rows, { class: "imports" }));
}

function showJob(section, job) {
  generation += 1;
  section.querySelector("#import-current").replaceChildren(render(job));
}

function render(job) {
  const box = h("section", { class: "panel import", dataset: { importId: job.id, status: job.status } });
  box.append(h("h3", {}, `Import of ${formatTime(job.created_at)}: ${job.status}`));
  const { bytes_read: read, bytes_total: total, records } = job.progress ?? {};
  if (job.status === "running") {
    const bar = h("progress", { max: total ?? undefined, value: total ? read : undefined, "aria-label": "Import progress" });
    const done = total ? `${Math.floor((100 * read) / total)}\u00a0%` : `${formatNumber(read)} bytes`;
    box.append(h("p", {}, bar, " ", `${done} read, ${formatNumber(records)} records so far`));
  }
  if (job.status === "failed") {
    box.append(h("p", { class: "error", role: "alert" }, job.error ?? "The import failed."));
  }
  if (job.report) box.append(...report(job.report));
  return box;
}

function counts(caption, map, what) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return null;
  return table(caption, [what, "Count"], entries.map(([k, n]) => [k, formatNumber(n)]));
}

function report(r) {
  return [
    h(
      "p",
      { class: "import-summary", dataset: { records: r.records, imported: r.imported, duplicates: r.duplicates } },
      `${formatNumber(r.records)} records read: ${formatNumber(r.imported)} imported, `,
      `${formatNumber(r.duplicates)} duplicates.`,
    ),
    table(
      "Devices",
      ["Device", "Kind", "Priority", "Samples", ""],
      (r.devices ?? []).map((d) => [d.name, d.device_type, String(d.priority), formatNumber(d.samples), d.created ? "new" : "known"]),
    ),
    table(
      "Per type: what counts after deduplication, beside every sample added up",
      ["Type", "Unit", "Samples", "Deduplicated total", "Naive sum"],
      (r.types ?? []).map((t) =>
        h(
          "tr",
          { dataset: { type: t.type, samples: t.samples, deduplicated: t.deduplicated_total ?? "", naive: t.naive_sum ?? "" } },
          [typeName(t.type), t.unit, formatNumber(t.samples), formatNumber(t.deduplicated_total), formatNumber(t.naive_sum)].map(
            (cell) => h("td", {}, cell),
          ),
        ),
      ),
      { class: "import-types" },
    ),
    counts("Rejected", r.rejected, "Reason"),
    counts("Apple Health types not mapped", r.unmapped_types, "Type"),
    counts("Not imported", r.not_imported, "What"),
  ].filter(Boolean);
}
