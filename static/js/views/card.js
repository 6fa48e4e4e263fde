// @ts-check
/**
 * One card per sensor: its name, a badge when it is not simply ok, each channel as a row, and how
 * long ago it was read. A numeric row is a button that opens its chart: value, unit and the last
 * hour's sparkline labelled with its min and max; an on/off row reads as people say it ("Door:
 * closed · 3 min ago"). The Pi's own health card shows a one-line summary (views/health.js).
 * `update` writes only what changed; layout.js calls it once per animation frame at most.
 */

import * as store from "../store.js";
import { binaryWords, formatAge, formatNumber, formatSpan, formatValue, formatWithUnit } from "../format.js";
import * as health from "./health.js";
import { drawSpark, extent, measure, needsDraw, observe, touch, unobserve } from "./spark.js";

/** @typedef {import("../store.js").Sensor} Sensor */
/** @typedef {import("../store.js").Channel} Channel */
/**
 * @typedef {object} Row
 * @property {HTMLElement} row
 * @property {HTMLElement} value
 * @property {HTMLElement} unit
 * @property {HTMLElement} age
 * @property {HTMLButtonElement | null} button  numeric rows with history open a chart
 * @property {HTMLElement | null} where  for screen readers: room, sensor, level ("…, Garden, Greenhouse")
 * @property {HTMLCanvasElement | null} spark
 * @property {HTMLElement | null} strip  labelled with the hour's max and min (data-max, data-min)
 */
/**
 * @typedef {object} Card
 * @property {HTMLElement} el
 * @property {HTMLElement} badge
 * @property {HTMLElement} error
 * @property {HTMLElement} age
 * @property {Map<string, Row>} rows
 * @property {health.Summary | null} summary
 * @property {string} signature  name, room, type and channels: a change rebuilds the card
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} cls @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {HTMLElement} e @param {string} text */
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

/** @param {HTMLElement} e @param {string} key @param {string} value */
export function setData(e, key, value) {
  if (e.dataset[key] !== value) e.dataset[key] = value;
}

/** @param {Sensor} s */
export function signature(s) {
  const channels = [...s.channels.values()].map((c) => `${c.meta.id}:${c.meta.name}:${c.meta.unit}`);
  return [s.name, s.room, s.type, ...channels].join("|");
}

/** @param {Sensor} s @param {() => void} redraw  a sparkline was resized @returns {Card} */
export function build(s, redraw) {
  const card = el("article", "card");
  card.dataset.sensor = s.id;
  if (s.node) card.dataset.node = s.node;
  card.dataset.type = s.type;
  const titleId = `card-${s.id}`;
  card.setAttribute("aria-labelledby", titleId);
  const head = el("header", "card-head");
  const name = el("h3", "card-name", s.name);
  name.id = titleId;
  const badge = el("span", "badge");
  head.append(name, badge);
  const error = el("p", "card-error");
  error.setAttribute("role", "alert");
  error.hidden = true;

  const list = el("ul", "channels");
  /** @type {Map<string, Row>} */
  const rows = new Map();
  for (const ch of s.channels.values()) {
    const row = buildRow(s, ch, redraw);
    list.append(row.row);
    rows.set(ch.meta.id, row);
  }
  if (s.channels.size === 0) list.append(el("li", "ch-empty", "No channels"));
  const summary = s.type === "pi_health" ? health.build(s, list) : null;

  const foot = el("footer", "card-foot");
  const age = el("span", "card-age");
  foot.append(age, el("span", "card-type", s.type));
  card.append(head, error, ...(summary ? [summary.button] : []), list, foot);
  return { el: card, badge, error, age, rows, summary, signature: signature(s) };
}

/** @param {Sensor} s @param {Channel} ch @param {() => void} redraw @returns {Row} */
function buildRow(s, ch, redraw) {
  const m = ch.meta;
  const row = el("li", "ch");
  row.dataset.channel = m.id;
  row.dataset.kind = m.kind;
  row.dataset.binary = String(m.binary);
  const value = el("span", "ch-value");
  const unit = el("span", "ch-unit");
  const age = el("span", "ch-age");
  if (m.binary) {
    row.append(el("span", "ch-name", binaryWords(m)[0]), value, age);
    return { row, value, unit, age, button: null, where: null, spark: null, strip: null };
  }
  const name = el("span", "ch-name", m.name);
  const reading = el("span", "ch-reading");
  reading.append(value, unit, age);
  if (!store.hasHistory(ch)) {
    row.append(name, reading);
    return { row, value, unit, age, button: null, where: null, spark: null, strip: null };
  }
  const button = el("button", "ch-open");
  button.type = "button";
  button.setAttribute("aria-haspopup", "dialog");
  // min and max are drawn by CSS from data attributes: decoration, not text a reader says
  const strip = el("span", "ch-spark");
  strip.setAttribute("aria-hidden", "true");
  const spark = el("canvas", "ch-canvas");
  strip.append(spark);
  const where = el("span", "sr");
  button.append(name, reading, where);
  row.append(button, strip); // the strip outside the button: a button's name is its own text
  row.dataset.spark = "true";
  observe(spark, redraw);
  return { row, value, unit, age, button, where, spark, strip };
}

/** @param {Card} card */
export function dispose(card) {
  for (const r of card.rows.values()) if (r.spark) unobserve(r.spark);
  card.el.remove();
}

/** New values for this card's sparklines: they redraw on the next frame. @param {Card} card */
export function touchSparks(card) {
  for (const r of card.rows.values()) if (r.spark) touch(r.spark);
}

/** Whether some sparkline's window moved by a pixel since it was drawn. @param {Card} card @param {number} t */
export function sparksDue(card, t) {
  for (const r of card.rows.values()) if (r.spark && needsDraw(r.spark, t)) return true;
  return false;
}

const BADGE = { ok: "", error: "error", pending: "waiting" };

/** @type {Intl.DateTimeFormat | null} */
let stamp = null;

/** The exact time of a read, for the age's tooltip: one formatter for the page (making one, as
 *  toLocaleString() does each call, cost more than the rest of a card's update). @param {number} ts */
function exactly(ts) {
  stamp ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return stamp.format(ts * 1000);
}

/** @param {Card} card @param {Sensor} s @param {number} t @param {string | null} room */
export function update(card, s, t, room) {
  const stale = store.isStale(s, t);
  const greyed = store.isGreyed(s, t);
  const age = store.age(s, t);
  setData(card.el, "status", s.status);
  setData(card.el, "stale", String(stale));
  setData(card.el, "greyed", String(greyed));
  // never read at all: the footer says so; a column of dashes would only push other cards down
  setData(card.el, "empty", String([...s.channels.values()].every((c) => c.value === null)));
  setText(card.badge, stale ? `stale · ${formatSpan(age ?? 0)}` : BADGE[s.status]);
  card.error.hidden = s.status !== "error";
  setText(card.error, s.status === "error" ? (s.error ?? "") : "");

  if (s.status === "pending") setText(card.age, "Waiting for the first reading");
  else if (age === null) setText(card.age, "No reading yet");
  else if (stale) setText(card.age, `No reading for ${formatSpan(age)}`);
  else if (greyed) setText(card.age, `Last reading ${formatAge(age)}`);
  else setText(card.age, `Updated ${formatAge(age)}`);
  const when = s.ts === null ? "" : String(s.ts);
  if (card.age.dataset.ts !== when) {
    card.age.dataset.ts = when;
    card.age.title = s.ts === null ? "" : exactly(s.ts);
  }

  const where = room ? `${room}, ${s.name}` : s.name;
  for (const [cid, r] of card.rows) {
    const ch = s.channels.get(cid);
    if (ch) updateRow(r, ch, { t, greyed, age, where });
  }
  if (card.summary) health.update(card.summary, s);
}

/**
 * @param {Row} r @param {Channel} ch
 * @param {{t: number, greyed: boolean, age: number | null, where: string}} ctx
 */
function updateRow(r, ch, { t, greyed, age, where }) {
  const shown = formatValue(ch.meta, ch.value);
  setText(r.value, shown.text);
  setText(r.unit, shown.unit);
  setData(r.row, "active", String(ch.value === true));
  setData(r.row, "empty", String(ch.value === null));
  setData(r.row, "level", ch.level ?? "none");
  if (ch.meta.binary) {
    // how long the state has held: its value's time is when it last changed
    setText(r.age, ch.ts === null || ch.value === null ? "" : formatAge(t - ch.ts));
  } else {
    setText(r.age, greyed && ch.value !== null && age !== null ? formatAge(age) : "");
  }
  if (r.where) {
    // a screen reader says the button's text: the visible name and value, then this
    const level = ch.level && ch.level !== "ok" ? `, ${ch.level.replace("_", " ")}` : "";
    setText(r.where, `${level}, ${where}. Show chart`);
  }
}

/**
 * Redraw the card's sparklines that need it (new data, or their hour moved a pixel). Called for
 * every dirty card after all text was written, so sizes are read from one layout (`measure`).
 * @param {Card} card @param {Sensor} s @param {number} t
 */
export function drawSparks(card, s, t) {
  const greyed = store.isGreyed(s, t);
  for (const [cid, r] of card.rows) {
    const ch = s.channels.get(cid);
    if (!ch || !r.spark || !r.strip || !needsDraw(r.spark, t)) continue;
    const ext = extent(ch.history, t - store.SPARK_WINDOW_S, ch.meta.kind, ch.meta.precision);
    const label = (/** @type {number} */ v) =>
      ch.meta.unit === "B" ? formatWithUnit(ch.meta, v) : formatNumber(v, Math.max(0, ch.meta.precision));
    setData(r.strip, "max", ext ? label(ext.max) : "");
    setData(r.strip, "min", ext && ext.max !== ext.min ? label(ext.min) : "");
    setData(r.spark, "points", String(ch.history.v.filter((v) => v !== null).length));
    setData(r.spark, "gaps", String(ch.history.v.filter((v) => v === null).length));
    setData(r.spark, "first", String(Math.floor(ch.history.t[0] ?? 0)));
    const style = sparkStyle(r.row, greyed);
    if (ext) drawSpark(r.spark, ch.history, { now: t, lo: ext.lo, hi: ext.hi, style });
    else drawSpark(r.spark, { t: [], v: [] }, { now: t, lo: 0, hi: 1, style });
  }
}

/** The canvases of `cards` not measured yet, measured in one layout. @param {Iterable<Card>} cards */
export function measureSparks(cards) {
  const canvases = [];
  for (const c of cards) for (const r of c.rows.values()) if (r.spark) canvases.push(r.spark);
  measure(canvases);
}

/** @type {Map<string, import("./spark.js").SparkStyle>} */
const styles = new Map();

/** The colour scheme changed: read the colours again. */
export function restyle() {
  styles.clear();
}

/** Colours come from CSS (--spark per kind, muted when greyed); cached per kind. @param {HTMLElement} row @param {boolean} greyed */
function sparkStyle(row, greyed) {
  const key = `${row.dataset.kind}:${row.dataset.level}:${greyed}`;
  let st = styles.get(key);
  if (!st) {
    const cs = getComputedStyle(row);
    const line = cs.getPropertyValue(greyed ? "--muted" : "--spark").trim();
    const fill = cs.getPropertyValue(greyed ? "--muted-fill" : "--spark-fill").trim();
    if (!line) return { line: "#888", fill: "rgba(136,136,136,.15)" };
    st = { line, fill: fill || "rgba(0,0,0,0)" };
    styles.set(key, st);
  }
  return st;
}
