// Charts: one per sample type with data in the range, of the deduplicated bucket values of
// GET /api/v1/aggregates, each with a table of exactly the plotted numbers; a bucket's
// explanation (GET /api/v1/aggregates/explain) on a click; and, after a device moved, a
// wait until the processor has recomputed with the new order.

import { api, sleep } from "./api.js";
import {
  clearError,
  formatNumber,
  h,
  setStatus,
  showError,
  table,
  typeName,
  zonedDateTime,
  zonedMidnight,
} from "./dom.js";

const PERIODS = ["hour", "day", "week", "month"];
/** A bucket's width in seconds, to pad the time axis by half a bucket each side. */
const STEP = { hour: 3600, day: 86400, week: 7 * 86400, month: 30.44 * 86400 };
/** How long to wait for the processor after a device moved, when a probed bucket shows it. */
const RECOMPUTE_TIMEOUT_MS = 30000;
/** When no probed bucket holds a moved device's samples: how long to look for a change. */
const CHANGE_TIMEOUT_MS = 10000;

const $ = (selector) => document.querySelector(selector);

/** "2026-05-04" plus `days`. */
function addDays(date, days) {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86400000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Today's date in `timezone`. */
function today(timezone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

/** A bucket's name, from its start in the user's zone. */
function bucketLabel(period, start) {
  const { date, time } = zonedDateTime(start);
  switch (period) {
    case "hour":
      return `${date} ${time}`;
    case "week":
      return `Week of ${date}`;
    case "month":
      return date.slice(0, 7);
    default:
      return date;
  }
}

/** A sample's time in the user's zone: `2026-05-06 10:00–11:00`, or one time for a reading. */
function timeSpan(start, end) {
  const a = zonedDateTime(start);
  const b = zonedDateTime(end);
  if (start === end) return `${a.date} ${a.time}`;
  return a.date === b.date ? `${a.date} ${a.time}–${b.time}` : `${a.date} ${a.time} – ${b.date} ${b.time}`;
}

function coverageText(coverage) {
  const devices = `${coverage.devices} device${coverage.devices === 1 ? "" : "s"}`;
  if (coverage.time_fraction === null || coverage.time_fraction === undefined) return devices;
  return `${devices}, ${Math.round(coverage.time_fraction * 100)}\u00a0% of the time`;
}

export class Charts {
  constructor(context) {
    this.context = context;
    this.section = $("#charts");
    this.status = $("#charts-status");
    this.form = $("#range-form");
    this.range = null;
    this.series = new Map();
    this.plots = [];
    this.selected = null;
    this.generation = 0;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams({
        period: this.form.period.value,
        from: this.form.from.value,
        to: this.form.to.value,
      });
      const hash = `#charts?${query}`;
      if (window.location.hash === hash) this.load();
      else window.location.hash = hash;
    });
    this.resize = new ResizeObserver(() => this.fit());
  }

  /** Shows the charts of the range in `params` (default: the last 30 days). */
  show(params) {
    const timezone = this.context.me.timezone;
    if (![...params.keys()].length && this.range) {
      // Back from another view: the range shown last.
      this.load();
      return;
    }
    const period = PERIODS.includes(params.get("period")) ? params.get("period") : "day";
    const to = params.get("to") || addDays(today(timezone), 1);
    const from = params.get("from") || addDays(to, -30);
    this.range = { period, from, to };
    this.form.period.value = period;
    this.form.from.value = from;
    this.form.to.value = to;
    this.load();
  }

  /** Forgets everything shown (on sign-out). */
  reset() {
    this.generation += 1;
    this.destroyPlots();
    this.series = new Map();
    this.selected = null;
    this.range = null;
    $("#chart-list").replaceChildren();
    $("#explain-body").replaceChildren();
    delete $("#explain").dataset.periodStart;
  }

  /** The aggregates of every type in the range: a map of type → rows, types without rows left out. */
  async fetchSeries() {
    const { period, from, to } = this.range;
    const answers = await Promise.allSettled(
      this.context.types.map((spec) =>
        api("GET", "/api/v1/aggregates", { query: { type: spec.type, period, from, to } }),
      ),
    );
    const failed = answers.find((a) => a.status === "rejected");
    const series = new Map();
    answers.forEach((answer, i) => {
      if (answer.status === "fulfilled" && answer.value.length > 0) {
        series.set(this.context.types[i].type, answer.value);
      }
    });
    return { series, error: failed?.reason ?? null };
  }

  /** Loads and draws the range. */
  async load() {
    const generation = ++this.generation;
    clearError(this.section.querySelector(".charts-main"));
    setStatus(this.status, "loading", "Loading…");
    const { series, error } = await this.fetchSeries();
    if (generation !== this.generation) return;
    if (error) showError(this.section.querySelector(".charts-main"), error);
    this.series = series;
    this.render();
    const count = series.size;
    setStatus(
      this.status,
      error ? "error" : "idle",
      count === 0 ? "No data in this range." : `${count} type${count === 1 ? "" : "s"} with data.`,
    );
    const row = this.selected && series.get(this.selected.type)?.find((r) => r.period_start === this.selected.periodStart);
    if (row) {
      this.explain(this.selected.type, row);
    } else {
      this.selected = null;
      $("#explain-body").replaceChildren();
      delete $("#explain").dataset.periodStart;
      delete $("#explain").dataset.state;
    }
  }

  destroyPlots() {
    this.resize.disconnect();
    for (const plot of this.plots) plot.destroy();
    this.plots = [];
  }

  render() {
    this.destroyPlots();
    const list = $("#chart-list");
    list.replaceChildren();
    for (const spec of this.context.types) {
      const rows = this.series.get(spec.type);
      if (rows) list.append(this.chart(spec, rows));
    }
    for (const plot of this.plots) this.resize.observe(plot.root.parentElement);
  }

  /** One type's chart and its table. */
  chart(spec, rows) {
    const { period } = this.range;
    const name = typeName(spec.type);
    const titleId = `chart-${spec.type}`;
    const what = spec.kind === "cumulative" ? "total" : spec.kind === "latest" ? "latest" : "mean";
    const plotBox = h("div", {
      class: "plot",
      role: "img",
      "aria-label": `${name}, ${what} per ${period}: ${rows.length} buckets, listed in the table beside it`,
    });
    const tableRows = rows.map((row) =>
      h(
        "tr",
        { dataset: { periodStart: row.period_start, value: row.value } },
        h("th", { scope: "row" }, bucketLabel(period, row.period_start)),
        h("td", { class: "num" }, formatNumber(row.value)),
        h("td", {}, coverageText(row.coverage)),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "small",
              "aria-label": `Explain ${name} of ${bucketLabel(period, row.period_start)}`,
              onclick: () => this.explain(spec.type, row),
            },
            "Explain",
          ),
        ),
      ),
    );
    const values = table(
      `${name} per ${period} (${spec.unit})`,
      ["Bucket", "Value", "Coverage", ""],
      tableRows,
      { dataset: { type: spec.type, period }, class: "values" },
    );
    const figure = h(
      "section",
      { class: "chart", dataset: { type: spec.type }, "aria-labelledby": titleId },
      h("h3", { id: titleId }, name, " ", h("span", { class: "unit" }, `${what}, ${spec.unit}`)),
      h("div", { class: "chart-body" }, plotBox, h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": `${name} values` }, values)),
    );
    this.plots.push(this.plot(spec, rows, plotBox));
    return figure;
  }

  plot(spec, rows, box) {
    const { period } = this.range;
    const timezone = this.context.me.timezone;
    const xs = rows.map((r) => Date.parse(r.period_start) / 1000);
    const ys = rows.map((r) => r.value);
    const half = STEP[period] / 2;
    // The range asked for, the same for every chart: local midnights in the user's zone.
    const start = zonedMidnight(this.range.from) / 1000;
    const end = zonedMidnight(this.range.to) / 1000;
    const bars = spec.kind === "cumulative";
    const options = {
      width: 600,
      height: 220,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), timezone),
      legend: { show: false },
      scales: {
        x: { time: true, range: () => [start - half, end - half] },
        y: { range: (_u, min, max) => [bars ? 0 : Math.min(min, max) * 0.9, Math.max(max * 1.1, 1)] },
      },
      axes: [{ stroke: "#444" }, { stroke: "#444", size: 60, values: (_u, ticks) => ticks.map(formatNumber) }],
      series: [
        {},
        {
          label: typeName(spec.type),
          stroke: "#1f6f8b",
          fill: bars ? "rgba(31, 111, 139, 0.35)" : undefined,
          width: 2,
          paths: bars ? window.uPlot.paths.bars({ size: [0.7, 80] }) : undefined,
          points: { show: !bars, size: 7 },
        },
      ],
      hooks: {
        ready: [
          (u) =>
            u.over.addEventListener("click", () => {
              const i = u.cursor.idx;
              if (i !== null && i !== undefined) this.explain(spec.type, rows[i]);
            }),
        ],
      },
    };
    const plot = new window.uPlot(options, [xs, ys], box);
    return plot;
  }

  /** Resizes the charts to their boxes. */
  fit() {
    for (const plot of this.plots) {
      const width = plot.root.parentElement.clientWidth;
      if (width > 0 && Math.abs(width - plot.width) > 1) plot.setSize({ width, height: 220 });
    }
  }

  /** Shows why one bucket has its value. */
  async explain(type, row) {
    const panel = $("#explain");
    const body = $("#explain-body");
    const { period } = this.range;
    this.selected = { type, periodStart: row.period_start };
    for (const tr of document.querySelectorAll("table.values tr.selected")) tr.classList.remove("selected");
    const selectedRow = document.querySelector(
      `table.values[data-type="${type}"] tr[data-period-start="${CSS.escape(row.period_start)}"]`,
    );
    selectedRow?.classList.add("selected");
    panel.dataset.state = "loading";
    clearError(this.section.querySelector(".charts-main"));
    let answer;
    try {
      answer = await api("GET", "/api/v1/aggregates/explain", {
        query: { type, period, period_start: row.period_start },
      });
    } catch (error) {
      panel.dataset.state = "error";
      showError(this.section.querySelector(".charts-main"), error);
      return;
    }
    if (this.selected?.type !== type || this.selected?.periodStart !== row.period_start) return;
    const unit = this.context.types.find((t) => t.type === type)?.unit ?? "";
    const byStatus = (status) => [...new Set(answer.samples.filter((s) => s.status === status).map((s) => s.device_name))];
    const list = (status, label) => {
      const names = byStatus(status);
      return [
        h("dt", {}, label),
        h("dd", { dataset: { status } }, names.length ? names.join(", ") : "none"),
      ];
    };
    const samples = answer.samples.map((s) =>
      h(
        "tr",
        { dataset: { deviceId: s.device_id, deviceName: s.device_name, status: s.status, countedValue: s.counted_value } },
        h("th", { scope: "row" }, s.device_name),
        h("td", {}, s.device_type),
        h("td", { class: "num" }, s.priority === null ? "–" : String(s.priority)),
        h("td", { class: "num" }, formatNumber(s.value)),
        h("td", {}, timeSpan(s.start_date, s.end_date)),
        h("td", { class: "num" }, formatNumber(s.counted_value)),
        h("td", {}, h("span", { class: `badge ${s.status}` }, s.status)),
        h("td", {}, s.reason),
      ),
    );
    body.replaceChildren(
      h("h4", {}, `${typeName(type)}, ${bucketLabel(period, row.period_start)} (${period})`),
      h(
        "p",
        {},
        "Value ",
        h("strong", { dataset: { value: answer.value } }, `${formatNumber(answer.value)} ${unit}`),
        ` from ${answer.sample_count} sample${answer.sample_count === 1 ? "" : "s"}; ${coverageText(answer.coverage)}.`,
      ),
      h("dl", { class: "outcome" }, list("kept", "Counted"), list("trimmed", "Trimmed"), list("dropped", "Dropped")),
      table(
        "Samples considered",
        ["Device", "Kind", "Priority", "Value", "Time", "Counted", "Status", "Why"],
        samples,
        { class: "samples" },
      ),
    );
    panel.dataset.type = type;
    panel.dataset.periodStart = row.period_start;
    panel.dataset.state = "shown";
  }

  /** The values shown, to tell when they changed. */
  snapshot(series = this.series) {
    return JSON.stringify([...series].map(([type, rows]) => [type, rows.map((r) => [r.period_start, r.value])]));
  }

  /**
   * After devices' priorities changed (`changed`: device id → the device as the registry has
   * it now): waits until the processor has applied the change, then redraws. The explain
   * endpoint ranks samples by the processor's projection, so a probed bucket holding a
   * moved device's samples shows the new priorities exactly when the recomputed aggregates
   * are there. Without such a bucket, the values are polled until they change.
   */
  async waitForRecompute(changed) {
    if (!this.range || !this.context.types) return;
    const section = this.section.querySelector(".charts-main");
    setStatus(this.status, "recomputing", "Recomputing…");
    const before = this.snapshot();
    const probes = [];
    if (this.selected) probes.push({ type: this.selected.type, periodStart: this.selected.periodStart });
    for (const [type, rows] of this.series) {
      if (!probes.some((p) => p.type === type)) probes.push({ type, periodStart: rows[0].period_start });
    }
    const started = Date.now();
    let outcome = "timeout";
    try {
      for (;;) {
        let involved = false;
        let applied = true;
        for (const probe of probes) {
          const answer = await api("GET", "/api/v1/aggregates/explain", {
            query: { type: probe.type, period: this.range.period, period_start: probe.periodStart },
          });
          for (const sample of answer.samples) {
            const device = changed.get(sample.device_id);
            if (!device) continue;
            involved = true;
            const expected = device.type_priorities?.[probe.type] ?? device.priority;
            if (sample.priority !== expected) applied = false;
          }
        }
        if (involved && applied) {
          outcome = "applied";
          break;
        }
        if (!involved) {
          const { series } = await this.fetchSeries();
          if (this.snapshot(series) !== before) {
            outcome = "applied";
            break;
          }
        }
        if (Date.now() - started > (involved ? RECOMPUTE_TIMEOUT_MS : CHANGE_TIMEOUT_MS)) {
          outcome = involved ? "timeout" : "unchanged";
          break;
        }
        await sleep(400);
      }
    } catch (error) {
      showError(section, error);
      setStatus(this.status, "error", "Could not follow the recomputation.");
      return;
    }
    await this.load();
    const text = {
      applied: "Updated with the new device order.",
      unchanged: "The new device order changes none of the values shown.",
      timeout: "The processor has not applied the new order yet: the values shown may still change.",
    }[outcome];
    setStatus(this.status, outcome === "applied" ? "updated" : outcome, text);
  }
}
