// Small helpers to build the page from data: elements are made with textContent only, so
// nothing the API answers is ever parsed as HTML.

/**
 * `h("button", {class: "x", dataset: {id}, onclick: f, "aria-label": "..."}, "text", child)`.
 * Attributes that are null, undefined or false are left out; `true` sets an empty one.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") {
      for (const [key, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) element.dataset[key] = String(v);
      }
    } else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** A table with a caption, column headers and rows of cells (a row may be a ready <tr>). */
export function table(caption, columns, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      rows.map((row) => (row instanceof Node ? row : h("tr", {}, row.map((cell) => h("td", {}, cell))))),
    ),
  );
}

/** Shows `error` (an ApiError or any Error) in the `.error` element of `scope`. */
export function showError(scope, error) {
  const target = scope.querySelector(".error");
  const text = typeof error?.describe === "function" ? error.describe() : String(error?.message ?? error);
  target.textContent = text;
  target.hidden = false;
}

/** Hides the `.error` element of `scope`. */
export function clearError(scope) {
  const target = scope.querySelector(".error");
  target.textContent = "";
  target.hidden = true;
}

/** Sets a status line and its `data-state` (for styles and for tests). */
export function setStatus(element, state, text) {
  element.dataset.state = state;
  element.textContent = text;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** A value for reading (the exact one stays in a `data-value` attribute). */
export function formatNumber(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

/** The signed-in user's time zone: buckets are their local days, and times are shown in it. */
let zone = undefined;

export function setTimeZone(timezone) {
  zone = timezone;
}

/** A time of the API (RFC 3339) for reading, in the user's zone and the browser's locale. */
export function formatTime(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { timeZone: zone, dateStyle: "medium", timeStyle: "short" });
}

const partsFormat = new Map();

/** The wall-clock parts of `ms` (epoch milliseconds) in the user's zone. */
function zonedParts(ms) {
  const key = zone ?? "";
  if (!partsFormat.has(key)) {
    partsFormat.set(
      key,
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      }),
    );
  }
  const parts = Object.fromEntries(partsFormat.get(key).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return parts;
}

/** `YYYY-MM-DD` and `HH:MM` of a time in the user's zone. */
export function zonedDateTime(value) {
  const p = zonedParts(typeof value === "number" ? value : Date.parse(value));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

/** Epoch milliseconds of local midnight starting `date` (YYYY-MM-DD) in the user's zone. */
export function zonedMidnight(date) {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const offset = (ms) => {
    const p = zonedParts(ms);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
  };
  const guess = wall - offset(wall);
  return wall - offset(guess);
}

/** A sample type's name for reading: `HEART_RATE` → `Heart rate`. */
export function typeName(type) {
  const words = type.toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
