// @ts-check
/**
 * The Pi's own health card, folded: one line (CPU temperature, load, memory, disk, throttling)
 * that turns red when any throttling flag is set, and expands to every channel on a tap. Left
 * open, its 25 rows would dwarf every other card.
 */

import { formatNumber, formatValue } from "../format.js";

/** @typedef {import("../store.js").Sensor} Sensor */
/** @typedef {{button: HTMLButtonElement, line: HTMLElement, throttle: HTMLElement, list: HTMLElement}} Summary */

/** Channel id -> its label in the summary line. */
const PARTS = /** @type {[string, string][]} */ ([
  ["cpu_temperature", "CPU"],
  ["load_1m", "load"],
  ["memory_used", "mem"],
  ["disk_used", "disk"],
]);

let ids = 0;

/** @param {Sensor} s @param {HTMLElement} list  the card's full channel list, folded away @returns {Summary} */
export function build(s, list) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "health-summary";
  const line = document.createElement("span");
  line.className = "health-line";
  const throttle = document.createElement("span");
  throttle.className = "health-throttle";
  button.append(line, throttle);
  list.id ||= `health-${s.id}-${(ids += 1)}`;
  list.hidden = true;
  button.setAttribute("aria-controls", list.id);
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => {
    list.hidden = !list.hidden;
    button.setAttribute("aria-expanded", String(!list.hidden));
  });
  return { button, line, throttle, list };
}

/** The throttling flags that are set, by name ("Under-voltage"). @param {Sensor} s */
export function throttled(s) {
  return [...s.channels.values()]
    .filter((c) => c.meta.binary && c.meta.kind === "problem" && c.value === true)
    .map((c) => c.meta.name);
}

/** @param {Sensor} s */
export function summaryText(s) {
  const parts = [];
  for (const [id, label] of PARTS) {
    const ch = s.channels.get(id);
    if (!ch || typeof ch.value !== "number") continue;
    const shown = formatValue(ch.meta, ch.value);
    const text = ch.meta.unit === "%" ? `${formatNumber(ch.value, 0)} %` : `${shown.text}${shown.unit ? ` ${shown.unit}` : ""}`;
    parts.push(`${label} ${text}`);
  }
  return parts.join(" · ");
}

/** @param {Summary} sum @param {Sensor} s */
export function update(sum, s) {
  const line = summaryText(s) || "No reading yet";
  if (sum.line.textContent !== line) sum.line.textContent = line;
  const flags = [...s.channels.values()].some((c) => c.meta.kind === "problem" && c.meta.binary);
  const bad = throttled(s);
  const text = !flags ? "" : bad.length ? `throttled: ${bad.join(", ").toLowerCase()}` : "not throttled";
  if (sum.throttle.textContent !== text) sum.throttle.textContent = text;
  sum.button.dataset.bad = String(bad.length > 0);
}
