// @ts-check
/**
 * Mock mode's fault panel: per simulated sensor, buttons that unplug its chip, hang its reads,
 * corrupt its replies and so on, through /api/mock/faults (docs/protocol.md). It appears only when
 * /api/health says the hardware is simulated; the cards then show how the daemon copes.
 */

import * as store from "../store.js";

/**
 * @typedef {object} FaultEntry  one sensor as /api/mock/faults describes it
 * @property {string} id
 * @property {string} type
 * @property {string[]} supported
 * @property {Record<string, number | boolean>} faults
 * @property {boolean} unplugged_now
 */
/**
 * @typedef {object} Action  a toggle button: sets `fault` to `on`, or back to its "off" value
 * @property {string} fault
 * @property {number | boolean} on
 * @property {string} label
 * @property {string} [active]  label while the fault is on
 * @property {string} title
 */

/** @type {Action[]} */
const ACTIONS = [
  { fault: "unplugged", on: true, label: "Unplug", active: "Replug", title: "pull the cable: every transaction goes unanswered" },
  { fault: "hang", on: true, label: "Hang a read", active: "Release", title: "the next read never returns until released" },
  { fault: "nack_storm", on: true, label: "NACK storm", active: "End storm", title: "every device on this sensor's bus stops answering" },
  { fault: "crc_errors", on: 0.5, label: "CRC errors", title: "half the replies arrive with one bit flipped" },
  { fault: "garbage", on: 0.3, label: "Garbage", title: "a third of the replies are random bytes" },
  { fault: "dropout", on: 0.3, label: "Dropouts", title: "a third of the replies never come" },
  { fault: "power_on", on: 0.3, label: "85 °C resets", title: "a third of the reads answer the power-on value, as after a brownout" },
  { fault: "stuck", on: true, label: "Stuck value", title: "the sensor keeps repeating its last measurement" },
  { fault: "noise", on: 0.5, label: "Noise", title: "random noise on every measured quantity" },
  { fault: "drift_per_minute", on: 1, label: "Drift", title: "the reading creeps up by 1 unit per minute" },
];

/** Relative to the page, as live.js does, so a reverse proxy's sub-path keeps working. */
const base = new URL(".", location.href);

/** @type {HTMLElement | null} */
let root = null;
/** @type {HTMLElement | null} */
let list = null;
/** @type {HTMLElement | null} */
let message = null;
let loaded = false;
let frame = 0;
/** @type {FaultEntry[]} */
let entries = [];

/** @param {Document} doc */
export function mount(doc) {
  root = doc.getElementById("faults");
  if (!root) throw new Error("index.html lacks #faults");
  list = root.querySelector(".faults-list");
  message = root.querySelector(".faults-message");
  root.addEventListener("click", (e) => {
    const button = /** @type {HTMLElement} */ (e.target).closest("button[data-fault]");
    if (button instanceof HTMLButtonElement) toggle(button);
  });
}

/** Store subscriber: load once the server says it simulates its hardware; names follow the cards. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (change.header && store.getInfo().mock && !loaded) {
    loaded = true;
    load();
  }
  if (change.layout && entries.length && !frame) frame = requestAnimationFrame(render);
}

async function load() {
  try {
    const resp = await fetch(new URL("api/mock/faults", base), { cache: "no-store" });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    entries = (await resp.json()).sensors;
  } catch {
    loaded = false; // try again on the next reconnect
    return;
  }
  if (root) root.hidden = entries.length === 0;
  render();
}

/** @param {HTMLButtonElement} button */
async function toggle(button) {
  const row = button.closest("[data-faults]");
  const entry = entries.find((e) => e.id === row?.getAttribute("data-faults"));
  const action = ACTIONS.find((a) => a.fault === button.dataset.fault);
  if (!entry || !action) return;
  const off = typeof action.on === "boolean" ? false : 0;
  const value = isOn(entry, action) ? off : action.on;
  button.disabled = true;
  try {
    const resp = await fetch(new URL(`api/mock/faults/${encodeURIComponent(entry.id)}`, base), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ [action.fault]: value }),
    });
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || `HTTP ${resp.status}`);
    entries = entries.map((e) => (e.id === body.id ? body : e));
    say("");
  } catch (err) {
    say(`${entry.id}: ${err instanceof Error ? err.message : err}`);
  }
  render();
}

/** @param {string} text */
function say(text) {
  if (!message) return;
  message.textContent = text;
  message.hidden = !text;
}

/** @param {FaultEntry} entry @param {Action} action */
function isOn(entry, action) {
  const v = entry.faults[action.fault];
  return typeof v === "boolean" ? v : v !== 0;
}

function render() {
  frame = 0;
  if (!list) return;
  const rows = entries.map((entry) => {
    const row = document.createElement("li");
    row.className = "faults-row";
    row.dataset.faults = entry.id;
    const name = document.createElement("span");
    name.className = "faults-name";
    name.textContent = store.getSensor(entry.id)?.name ?? entry.id;
    const type = document.createElement("span");
    type.className = "card-type";
    type.textContent = entry.type;
    name.append(type);
    const buttons = document.createElement("div");
    buttons.className = "faults-buttons";
    for (const action of ACTIONS) {
      if (!entry.supported.includes(action.fault)) continue;
      const on = isOn(entry, action);
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.fault = action.fault;
      b.setAttribute("aria-pressed", String(on));
      b.textContent = on && action.active ? action.active : action.label;
      b.title = action.title;
      buttons.append(b);
    }
    row.append(name, buttons);
    return row;
  });
  list.replaceChildren(...rows);
}
