// Devices in priority order (highest first: where samples overlap, the higher device's
// count). Moving one up or down PATCHes the priorities that must change for the new order to
// hold, then waits for the charts to be recomputed.

import { api } from "./api.js";
import { clearError, h, setStatus, showError, typeName } from "./dom.js";

const $ = (selector) => document.querySelector(selector);

/** Highest priority first; equal ones by name, then id, so the order is stable. */
function byPriority(a, b) {
  return b.priority - a.priority || a.device_name.localeCompare(b.device_name) || a.id.localeCompare(b.id);
}

/**
 * Priorities that put `order` (devices, highest first) in that order, strictly decreasing.
 * When the current priorities are all different, they are reused (a move swaps two of
 * them); otherwise each device gets one more than the next one below it, at least its own.
 */
export function prioritiesFor(order) {
  const current = order.map((d) => d.priority).sort((a, b) => b - a);
  if (new Set(current).size === current.length) return current;
  const result = new Array(order.length);
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const below = i === order.length - 1 ? -Infinity : result[i + 1];
    result[i] = Math.max(order[i].priority, below + 1);
  }
  return result;
}

export class Devices {
  constructor(context, charts) {
    this.context = context;
    this.charts = charts;
    this.panel = $("#devices");
    this.list = $("#device-list");
    this.status = $("#devices-status");
    this.devices = [];
    this.busy = false;
    this.moves = 0;
  }

  async show() {
    clearError(this.panel);
    try {
      this.devices = (await api("GET", "/api/v1/devices")).sort(byPriority);
    } catch (error) {
      showError(this.panel, error);
      return;
    }
    this.render();
  }

  render() {
    const count = this.devices.length;
    this.list.replaceChildren(
      ...this.devices.map((device, i) => {
        const overrides = Object.entries(device.type_priorities ?? {});
        return h(
          "li",
          { dataset: { deviceId: device.id, priority: device.priority } },
          h(
            "div",
            { class: "device" },
            h("strong", { class: "device-name" }, device.device_name),
            h("span", { class: "device-meta" }, `${device.device_type.replaceAll("_", " ")} · priority ${device.priority}`),
            overrides.length
              ? h("span", { class: "device-meta" }, `for ${overrides.map(([t, p]) => `${typeName(t)}: ${p}`).join(", ")}`)
              : null,
          ),
          h(
            "div",
            { class: "move" },
            h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": `Move ${device.device_name} up`,
                disabled: this.busy || i === 0,
                onclick: () => this.move(i, -1),
              },
              "↑",
            ),
            h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": `Move ${device.device_name} down`,
                disabled: this.busy || i === count - 1,
                onclick: () => this.move(i, 1),
              },
              "↓",
            ),
          ),
        );
      }),
    );
    if (count === 0) this.list.append(h("li", {}, "No devices yet."));
  }

  /** Moves the device at `index` one place up (-1) or down (+1). */
  async move(index, direction) {
    const target = index + direction;
    if (this.busy || target < 0 || target >= this.devices.length) return;
    const movedName = this.devices[index].device_name;
    const order = [...this.devices];
    [order[index], order[target]] = [order[target], order[index]];
    const priorities = prioritiesFor(order);
    this.busy = true;
    this.moves += 1;
    this.status.dataset.moves = String(this.moves);
    clearError(this.panel);
    setStatus(this.status, "saving", "Saving the new order…");
    this.render();
    const changed = new Map();
    try {
      for (const [i, device] of order.entries()) {
        if (device.priority === priorities[i]) continue;
        const saved = await api("PATCH", `/api/v1/devices/${device.id}`, { body: { priority: priorities[i] } });
        changed.set(saved.id, saved);
      }
      this.devices = (await api("GET", "/api/v1/devices")).sort(byPriority);
    } catch (error) {
      showError(this.panel, error);
      setStatus(this.status, "error", "The new order was not saved completely.");
      this.busy = false;
      await this.show();
      return;
    }
    this.render();
    setStatus(this.status, "recomputing", "Recomputing…");
    await this.charts.waitForRecompute(changed);
    this.busy = false;
    this.render();
    setStatus(this.status, "done", `Moved ${movedName} ${direction < 0 ? "up" : "down"}.`);
    // Keep the keyboard where it was: on the moved device's button.
    const label = `Move ${movedName} ${direction < 0 ? "up" : "down"}`;
    const again = [...this.list.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === label);
    (again && !again.disabled ? again : this.list.querySelector("button:not([disabled])"))?.focus();
  }
}
