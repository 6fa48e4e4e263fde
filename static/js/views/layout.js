// @ts-check
/**
 * The cards, grouped by room: one collapsible section per room, in config order, sensors without
 * a room last; then one section per other node (`[mqtt] follow`), headed by its name and whether
 * it is online. The page is one CSS grid (as many columns as fit at 300 px); a room takes as many
 * of its columns as it has cards (a subgrid), so small rooms sit side by side. Reading and
 * keyboard order follow the config. Store changes only mark cards dirty; the DOM is written once
 * per animation frame, and only where the text changed.
 */

import * as store from "../store.js";
import * as card from "./card.js";
import { formatSpan } from "../format.js";

/** @typedef {import("./card.js").Card} Card */
/** @typedef {{el: HTMLElement, grid: HTMLElement, toggle: HTMLButtonElement, count: HTMLElement, name: HTMLElement, state: HTMLElement | null, since: HTMLElement | null}} Section */
/** @typedef {{openChart: (sensor: string, channel: string, opener: HTMLElement) => void}} Options */

const COLLAPSED_KEY = "pi-dashboard.collapsed";

/** @type {HTMLElement | null} */
let root = null;
/** @type {Options | null} */
let options = null;
/** @type {Map<string, Card>} */
const cards = new Map();
/** @type {Map<string, Section>} sectionKey() -> its section */
const sections = new Map();
/** @type {Set<string>} */
const dirty = new Set();
let layoutDirty = false;
let frame = 0;

/** @param {HTMLElement} el @param {Options} opts */
export function mount(el, opts) {
  root = el;
  options = opts;
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", restyle);
  // a tap on the row's button or its sparkline opens the chart; focus returns to the button
  el.addEventListener("click", (e) => {
    const row = e.target instanceof Element ? e.target.closest(".ch[data-spark]") : null;
    const button = row?.querySelector(".ch-open");
    const c = row?.closest("[data-sensor]");
    if (button instanceof HTMLElement && row instanceof HTMLElement && c instanceof HTMLElement) {
      options?.openChart(c.dataset.sensor ?? "", row.dataset.channel ?? "", button);
    }
  });
}

/** The theme changed: sparklines take their colours again. */
export function restyle() {
  card.restyle();
  for (const [id, c] of cards) {
    card.touchSparks(c);
    dirty.add(id);
  }
  schedule();
}

/** Store subscriber: remember what changed, draw it on the next frame. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (change.layout) layoutDirty = true;
  else if (change.sensor) {
    dirty.add(change.sensor);
    const c = cards.get(change.sensor);
    if (c && change.values) card.touchSparks(c);
  } else return;
  schedule();
}

/** Once a second: ages and staleness move by themselves; a sparkline only once its hour moved a pixel. */
export function tick() {
  for (const id of cards.keys()) dirty.add(id); // age texts: written only where they changed
  schedule();
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

/** Write what is pending now, not at the next frame: the values the page was served with go
 *  into the DOM before its first paint. */
export function flush() {
  if (frame) cancelAnimationFrame(frame);
  render();
}

function render() {
  frame = 0;
  if (!root) return;
  const t = store.now();
  if (layoutDirty) {
    layoutDirty = false;
    reconcile(root);
    for (const id of cards.keys()) dirty.add(id);
  }
  /** @type {[import("./card.js").Card, import("../store.js").Sensor][]} */
  const done = [];
  for (const id of dirty) {
    const s = store.getSensor(id);
    const c = cards.get(id);
    if (s && c) {
      card.update(c, s, t, store.placeOf(s));
      done.push([c, s]);
    }
  }
  dirty.clear();
  renderNodes(t);
  // then the sparklines: sizes read once, for every card, before anything is drawn
  card.measureSparks(done.map(([c]) => c));
  for (const [c, s] of done) card.drawSparks(c, s, t);
}

/** @returns {Set<string>} */
function collapsedRooms() {
  try {
    return new Set(JSON.parse(localStorage.getItem(COLLAPSED_KEY) ?? "[]"));
  } catch {
    return new Set();
  }
}

/** @param {string} room @param {boolean} collapsed */
function remember(room, collapsed) {
  const set = collapsedRooms();
  if (collapsed) set.add(room);
  else set.delete(room);
  try {
    localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...set]));
  } catch {
    // private mode: it lasts until the reload
  }
}

/** A room's name, or `node/` for another node's section (node ids never hold "/"). @param {string} node @param {string | null} room */
function sectionKey(node, room) {
  return node ? `${node}/` : (room ?? "");
}

/** Each other node's section says whether it is online, and since when. @param {number} t */
function renderNodes(t) {
  for (const sec of sections.values()) {
    const id = sec.el.dataset.node;
    if (!id || !sec.state || !sec.since) continue;
    const n = store.getNode(id);
    const online = n?.online ?? false;
    card.setText(sec.name, n?.name || id);
    card.setData(sec.el, "online", String(online));
    card.setText(sec.state, online ? "online" : "offline");
    card.setText(sec.since, n?.since ? `for ${formatSpan(Math.max(0, t - n.since))}` : "");
    sec.toggle.title = n?.url ?? "";
  }
}

/** @param {string} key @param {string} node @param {string} title @param {boolean} collapsed @returns {Section} */
function buildSection(key, node, title, collapsed) {
  const el = card.el("section", "room");
  el.dataset.room = key;
  el.dataset.node = node;
  const head = card.el("h2", "room-head");
  const toggle = card.el("button", "room-toggle");
  toggle.type = "button";
  const gridId = `room-${sections.size + 1}`;
  toggle.setAttribute("aria-controls", gridId);
  const count = card.el("span", "room-count");
  const name = card.el("span", "room-name", title);
  toggle.append(name, count);
  /** @type {HTMLElement | null} */
  let state = null;
  /** @type {HTMLElement | null} */
  let since = null;
  if (node) {
    state = card.el("span", "room-state");
    since = card.el("span", "room-since");
    toggle.append(state, since);
  }
  head.append(toggle);
  const grid = card.el("div", "grid");
  grid.id = gridId;
  el.append(head, grid);
  const set = (/** @type {boolean} */ shut) => {
    grid.hidden = shut;
    toggle.setAttribute("aria-expanded", String(!shut));
    el.dataset.collapsed = String(shut);
  };
  set(collapsed);
  toggle.addEventListener("click", () => {
    set(!grid.hidden);
    remember(key, grid.hidden);
  });
  return { el, grid, toggle, count, name, state, since };
}

/** Make the page hold exactly the store's sensors, by room, in order, reusing cards that stayed. @param {HTMLElement} root */
function reconcile(root) {
  for (const e of root.querySelectorAll(".placeholder")) e.remove();
  const groups = store.rooms();
  const keep = new Set(store.allSensors().map((s) => s.id));
  for (const [id, c] of cards) {
    if (!keep.has(id)) {
      card.dispose(c);
      cards.delete(id);
    }
  }
  const collapsed = collapsedRooms();
  const flat = groups.length === 1 && groups[0].room === null && !groups[0].node; // no rooms: no headings
  root.dataset.flat = String(flat);
  const wanted = new Set(groups.map((g) => sectionKey(g.node, g.room)));
  for (const [key, sec] of sections) {
    if (!wanted.has(key)) {
      sec.el.remove();
      sections.delete(key);
    }
  }
  // beside other nodes' sections, ours without a room are named after this dashboard
  const others = groups.some((g) => g.node) ? document.title || "This dashboard" : "Other sensors";
  let before = /** @type {Element | null} */ (root.firstElementChild);
  for (const g of groups) {
    const key = sectionKey(g.node, g.room);
    let sec = sections.get(key);
    const title = g.node ? (store.getNode(g.node)?.name || g.node) : (g.room ?? others);
    if (!sec) {
      sec = buildSection(key, g.node, title, collapsed.has(key));
      sections.set(key, sec);
    }
    if (!g.node) card.setText(sec.name, title);
    if (sec.el !== before) root.insertBefore(sec.el, before);
    before = sec.el.nextElementSibling;
    card.setText(sec.count, `${g.sensors.length}`);
    card.setData(sec.el, "count", String(Math.min(g.sensors.length, 4)));
    sec.count.setAttribute("aria-label", `${g.sensors.length} sensor${g.sensors.length === 1 ? "" : "s"}`);
    let at = /** @type {Element | null} */ (sec.grid.firstElementChild);
    for (const s of g.sensors) {
      let c = cards.get(s.id);
      if (c && c.signature !== card.signature(s)) {
        card.dispose(c);
        c = undefined;
      }
      if (!c) {
        c = card.build(s, () => {
          dirty.add(s.id);
          schedule();
        });
        cards.set(s.id, c);
      }
      if (c.el !== at) sec.grid.insertBefore(c.el, at);
      at = c.el.nextElementSibling;
    }
  }
  root.dataset.empty = String(cards.size === 0);
  root.setAttribute("aria-busy", "false");
}
