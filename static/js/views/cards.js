// @ts-check
/**
 * One card per sensor: name, status badge, each channel's value and unit with a sparkline, and the
 * age of the last reading. Store changes only mark cards dirty; the DOM is written once per
 * animation frame, and only where the text actually changed.
 */

import * as store from "../store.js";
import { formatAge, formatValue } from "../format.js";
import { drawSpark, observe, unobserve } from "./spark.js";
import * as chart from "./chart.js";

/** @typedef {import("../store.js").Sensor} Sensor */
/** @typedef {import("../store.js").Channel} Channel */
/**
 * @typedef {object} ChannelView
 * @property {HTMLElement} row
 * @property {HTMLElement} value
 * @property {HTMLElement} unit
 * @property {HTMLElement} age
 * @property {HTMLCanvasElement | null} spark
 */
/**
 * @typedef {object} CardView
 * @property {HTMLElement} el
 * @property {HTMLElement} badge
 * @property {HTMLElement} error
 * @property {HTMLElement} age
 * @property {Map<string, ChannelView>} channels
 * @property {string} signature  name, type and channels: a change (config edit + restart) rebuilds the card
 */

/** Sparkline time window: this many intervals, within [MIN, MAX] seconds. */
const SPARK_INTERVALS = 150;
const SPARK_MIN_S = 60;
const SPARK_MAX_S = 3600;

/** Cards are at least this wide; the grid has as many columns as fit. */
const MIN_CARD_PX = 320;
/** A card goes to the leftmost column within this many px of the shortest, keeping reading order. */
const COLUMN_SLACK_PX = 40;

/** @type {HTMLElement | null} */
let root = null;
/**
 * @typedef {object} Group  one node's cards: a heading (other nodes only) and masonry columns
 * @property {HTMLElement} el
 * @property {HTMLElement | null} head
 * @property {HTMLElement} cols
 * @property {HTMLElement[]} columns
 */
/** @type {Map<string, Group>} node id ("" for the daemon's own) -> its group */
const groups = new Map();
let gridWidth = 0;
let placeDirty = false;
/** @type {ResizeObserver | null} */
let cardObserver = null;
/** @type {Map<string, CardView>} */
const views = new Map();
/** @type {Set<string>} */
const dirty = new Set();
let layoutDirty = false;
let frame = 0;

/** @param {HTMLElement} el */
export function mount(el) {
  root = el;
  // masonry: re-place cards when the grid's width or a card's height changes
  new ResizeObserver((entries) => {
    const w = entries[entries.length - 1].contentRect.width;
    if (w !== gridWidth) {
      gridWidth = w;
      placeDirty = true;
      schedule();
    }
  }).observe(el);
  cardObserver = new ResizeObserver(() => {
    placeDirty = true;
    schedule();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    styles.clear();
    chart.restyle();
    redrawAll();
  });
  // a tap (or Enter/Space) on a row with a sparkline opens its detail chart
  el.addEventListener("click", (e) => openChart(e.target));
  el.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target instanceof HTMLElement && e.target.matches(".ch")) {
      e.preventDefault();
      openChart(e.target);
    }
  });
}

/** @param {EventTarget | null} target */
function openChart(target) {
  if (!(target instanceof Element) || target.closest(".ch-chart")) return;
  const row = target.closest(".ch[data-spark='true']");
  const card = row?.closest("[data-sensor]");
  if (!(row instanceof HTMLElement) || !(card instanceof HTMLElement)) return;
  chart.toggle(row, card.dataset.sensor ?? "", row.dataset.channel ?? "");
}

/** Store subscriber: remember what changed, draw it on the next frame. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (change.layout) layoutDirty = true;
  else if (change.sensor) dirty.add(change.sensor);
  else return;
  schedule();
}

/** Ages, staleness and the sparklines' time axis move even without readings. */
export function redrawAll() {
  for (const id of views.keys()) dirty.add(id);
  schedule();
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  if (!root) return;
  const t = store.now();
  if (layoutDirty) {
    layoutDirty = false;
    reconcile(root);
    for (const id of views.keys()) dirty.add(id);
  }
  for (const id of dirty) {
    const s = store.getSensor(id);
    const view = views.get(id);
    if (s && view) update(view, s, t);
  }
  dirty.clear();
  if (placeDirty) {
    placeDirty = false;
    place(root);
  }
  renderHeads(t);
}

/**
 * Cards grouped by node: the daemon's own first, then each other node's under its heading (only
 * when the daemon shows other nodes' sensors), each group laid out as a masonry.
 * @param {HTMLElement} root
 */
function place(root) {
  /** @type {Map<string, CardView[]>} */
  const byNode = new Map([["", []]]);
  for (const s of store.allSensors()) {
    const v = views.get(s.id);
    if (!v) continue;
    const list = byNode.get(s.node) ?? [];
    list.push(v);
    byNode.set(s.node, list);
  }
  for (const n of store.allNodes()) if (!byNode.has(n.id)) byNode.set(n.id, []);
  const grouped = byNode.size > 1;
  root.dataset.grouped = String(grouped);
  const gap = Number.parseFloat(getComputedStyle(root).columnGap) || 0;
  let i = 0;
  for (const [node, cards] of byNode) {
    const g = group(node);
    if (root.children[i] !== g.el) root.insertBefore(g.el, root.children[i] ?? null);
    i++;
    g.el.hidden = node === "" && grouped && cards.length === 0;
    masonry(g, cards, gap);
  }
  for (const [node, g] of groups) {
    if (!byNode.has(node)) {
      g.el.remove();
      groups.delete(node);
    }
  }
}

/** @param {string} node @returns {Group} */
function group(node) {
  let g = groups.get(node);
  if (!g) {
    const section = el("section", "node-group");
    section.dataset.node = node;
    const cols = el("div", "node-cols");
    /** @type {HTMLElement | null} */
    let head = null;
    if (node) {
      head = el("header", "node-head");
      head.append(el("h2", "node-name", node), el("span", "badge node-badge"), el("span", "node-age"));
      section.setAttribute("aria-label", `Node ${node}`);
    }
    section.append(...(head ? [head] : []), cols);
    g = { el: section, head, cols, columns: [] };
    groups.set(node, g);
  }
  return g;
}

/** Each other node's name, availability and how long it has been so. @param {number} t */
function renderHeads(t) {
  for (const [id, g] of groups) {
    if (!g.head) continue;
    const n = store.getNode(id);
    const online = n?.online ?? false;
    const [name, badge, age] = /** @type {HTMLElement[]} */ ([...g.head.children]);
    setText(name, n?.name || id);
    setData(g.el, "online", String(online));
    setText(badge, online ? "online" : "offline");
    const since = n?.since;
    setText(age, since ? `since ${formatAge(Math.max(0, t - since))}` : "");
    g.head.title = n?.url ?? "";
  }
}

/**
 * Masonry without a library: each card, in order, goes to the shortest column (leftmost within
 * COLUMN_SLACK_PX), so one tall card does not leave a hole beside it. One layout read per pass.
 * @param {Group} g @param {CardView[]} cards @param {number} gap
 */
function masonry(g, cards, gap) {
  const { cols, columns } = g;
  const n = Math.max(1, Math.min(cards.length, Math.floor((gridWidth + gap) / (MIN_CARD_PX + gap))));
  const heights = n > 1 ? cards.map((v) => v.el.offsetHeight) : [];
  /** @type {HTMLElement[][]} */
  const plan = Array.from({ length: n }, () => []);
  const filled = new Array(n).fill(0);
  cards.forEach((v, i) => {
    let col = 0;
    if (n > 1) {
      const low = Math.min(...filled);
      col = filled.findIndex((h) => h <= low + COLUMN_SLACK_PX);
      filled[col] += heights[i] + gap;
    }
    plan[col].push(v.el);
  });
  while (columns.length < n) {
    const c = el("div", "col");
    cols.append(c);
    columns.push(c);
  }
  plan.forEach((els, i) => {
    const col = columns[i];
    els.forEach((card, j) => {
      if (col.children[j] !== card) col.insertBefore(card, col.children[j] ?? null);
    });
  });
  for (const extra of columns.splice(n)) extra.remove();
  cols.dataset.columns = String(n);
}

/** Make the grid hold exactly the store's sensors, in order, reusing cards that stayed. @param {HTMLElement} root */
function reconcile(root) {
  for (const e of root.querySelectorAll(".placeholder")) e.remove();
  const sensors = store.allSensors();
  const keep = new Set(sensors.map((s) => s.id));
  for (const [id, view] of views) {
    if (!keep.has(id)) {
      dispose(view);
      views.delete(id);
    }
  }
  for (const s of sensors) {
    const view = views.get(s.id);
    if (view && view.signature === signature(s)) continue;
    if (view) dispose(view);
    const fresh = build(s);
    views.set(s.id, fresh);
    root.append(fresh.el); // place() puts it where it belongs, this same frame
    cardObserver?.observe(fresh.el);
  }
  placeDirty = true;
  root.dataset.empty = String(sensors.length === 0);
  root.setAttribute("aria-busy", "false");
}

/** @param {Sensor} s */
function signature(s) {
  const channels = [...s.channels.values()].map((c) => `${c.meta.id}:${c.meta.name}:${c.meta.unit}`);
  return [s.name, s.type, ...channels].join("|");
}

/** @param {CardView} view */
function dispose(view) {
  for (const ch of view.channels.values()) {
    if (ch.spark) unobserve(ch.spark);
    if (chart.isOpen(ch.row)) chart.close();
  }
  cardObserver?.unobserve(view.el);
  view.el.remove();
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} cls @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {Sensor} s @returns {CardView} */
function build(s) {
  const card = el("article", "card");
  card.dataset.sensor = s.id;
  if (s.node) card.dataset.node = s.node;
  const titleId = `card-${s.id}`;
  card.setAttribute("aria-labelledby", titleId);

  const head = el("header", "card-head");
  const titles = el("div", "card-titles");
  const name = el("h2", "card-name", s.name);
  name.id = titleId;
  titles.append(name, el("span", "card-type", s.type));
  const badge = el("span", "badge");
  head.append(titles, badge);

  const error = el("p", "card-error");
  error.setAttribute("role", "alert");
  error.hidden = true;

  const list = el("ul", "channels");
  /** @type {Map<string, ChannelView>} */
  const channels = new Map();
  for (const ch of s.channels.values()) {
    const row = el("li", "ch");
    row.dataset.channel = ch.meta.id;
    row.dataset.kind = ch.meta.kind;
    row.dataset.binary = String(ch.meta.binary);
    const label = el("span", "ch-name", ch.meta.name);
    label.title = ch.meta.name; // the full name when a narrow column cuts it short
    const reading = el("span", "ch-reading");
    const value = el("span", "ch-value");
    const unit = el("span", "ch-unit");
    const age = el("span", "ch-age");
    reading.append(value, unit, age);
    row.append(label, reading);
    /** @type {HTMLCanvasElement | null} */
    let spark = null;
    if (store.hasHistory(ch)) {
      spark = el("canvas", "ch-spark");
      spark.setAttribute("aria-hidden", "true");
      row.append(spark);
      row.dataset.spark = "true";
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      row.setAttribute("aria-expanded", "false");
      row.title = "Show chart";
      observe(spark, () => {
        dirty.add(s.id);
        schedule();
      });
    }
    list.append(row);
    channels.set(ch.meta.id, { row, value, unit, age, spark });
  }
  if (s.channels.size === 0) list.append(el("li", "ch-empty", "No channels"));

  const foot = el("footer", "card-foot");
  const age = el("span", "card-age");
  foot.append(age);
  card.append(head, error, list, foot);
  return { el: card, badge, error, age, channels, signature: signature(s) };
}

/** @param {HTMLElement} e @param {string} text */
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

/** @param {HTMLElement} e @param {string} key @param {string} value */
function setData(e, key, value) {
  if (e.dataset[key] !== value) e.dataset[key] = value;
}

const BADGE = { ok: "ok", error: "error", pending: "waiting", stale: "stale" };

/** @param {CardView} view @param {Sensor} s @param {number} t */
function update(view, s, t) {
  const stale = store.isStale(s, t);
  const age = store.age(s, t);
  const greyed = s.status !== "ok" || stale;
  setData(view.el, "status", s.status);
  setData(view.el, "stale", String(stale));
  // never read at all: the footer says so; a column of dashes would only push other cards down
  setData(view.el, "empty", String([...s.channels.values()].every((c) => c.value === null)));
  setText(view.badge, stale && s.status === "ok" ? BADGE.stale : BADGE[s.status]);

  view.error.hidden = s.status !== "error";
  setText(view.error, s.status === "error" ? (s.error ?? "") : "");

  const ageText = age === null ? "" : formatAge(age);
  if (s.status === "pending") setText(view.age, "Waiting for the first reading");
  else if (age === null) setText(view.age, "No reading yet");
  else if (greyed) setText(view.age, `Last reading ${ageText}`);
  else setText(view.age, `Updated ${ageText}`);
  view.age.title = s.ts === null ? "" : new Date(s.ts * 1000).toLocaleString();

  const window = Math.min(Math.max(s.interval * SPARK_INTERVALS, SPARK_MIN_S), SPARK_MAX_S);
  for (const [cid, cv] of view.channels) {
    const ch = s.channels.get(cid);
    if (!ch) continue;
    const shown = formatValue(ch.meta, ch.value);
    setText(cv.value, shown.text);
    setText(cv.unit, shown.unit);
    setData(cv.row, "active", String(ch.value === true));
    setData(cv.row, "empty", String(ch.value === null));
    const chAge = ch.value === null ? null : age ?? (ch.ts === null ? null : t - ch.ts);
    setText(cv.age, greyed && chAge !== null ? formatAge(chAge) : "");
    if (cv.spark) {
      drawSpark(cv.spark, ch.history, {
        now: t,
        window,
        minSpan: minSpan(ch),
        style: sparkStyle(cv.row, greyed),
      });
    }
  }
  chart.refresh(s.id);
}

/**
 * Changes below what the card shows should not fill the sparkline's height: four steps of the
 * displayed precision, or for byte counts (shown as MB/GB) half a percent of the value.
 * @param {Channel} ch
 */
function minSpan(ch) {
  const step = 10 ** -Math.max(0, ch.meta.precision);
  if (ch.meta.kind === "data_size" && typeof ch.value === "number") {
    return Math.max(4 * step, Math.abs(ch.value) * 0.005);
  }
  return 4 * step;
}

/** @type {Map<string, import("./spark.js").SparkStyle>} */
const styles = new Map();

/** Colours come from CSS (--spark per kind, greyed when stale); cached per kind. @param {HTMLElement} row @param {boolean} greyed */
function sparkStyle(row, greyed) {
  const key = `${row.dataset.kind}:${greyed}`;
  let st = styles.get(key);
  if (!st) {
    const cs = getComputedStyle(row);
    const line = (greyed ? cs.getPropertyValue("--muted") : cs.getPropertyValue("--spark")).trim();
    const fill = (greyed ? cs.getPropertyValue("--muted-fill") : cs.getPropertyValue("--spark-fill")).trim();
    if (!line) return { line: "#888", fill: "rgba(136,136,136,.15)" };
    st = { line, fill: fill || "rgba(0,0,0,0)" };
    styles.set(key, st);
  }
  return st;
}
