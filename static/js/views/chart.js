// @ts-check
/**
 * The chart dialog: a channel's history from /api/history, drawn by uPlot (its own chunk, loaded
 * on first open so the page stays light). Ranges 1 h to 1 y or custom; drag (or pinch) to zoom,
 * double-click to go back; the min/max band of downsampled buckets; gaps drawn as gaps; the
 * thresholds shaded; live points appended while the range ends now; the same kind of channel in
 * the same room overlaid on demand; the range as CSV. Each fetch asks for about one point per
 * pixel of the plot. Escape (the dialog's own cancel) closes it and gives focus back.
 */

import * as store from "../store.js";
import { formatClock, formatNumber, formatValue, formatWithUnit } from "../format.js";

/** @typedef {import("../store.js").Channel} Channel */
/** @typedef {import("../store.js").Sensor} Sensor */
/**
 * @typedef {object} HistoryJson  /api/history's answer (docs/protocol.md)
 * @property {number} from
 * @property {number} to
 * @property {number} step
 * @property {number[]} t
 * @property {(number | null)[]} min
 * @property {(number | null)[]} mean
 * @property {(number | null)[]} max
 */
/** @typedef {{sensor: string, channel: string, label: string}} Line */
/**
 * @typedef {object} Shown  the chart on screen
 * @property {string} sensor
 * @property {string} channel
 * @property {HTMLElement | null} opener  gets focus back on close
 * @property {number} span  seconds back from now, or 0 for a fixed (custom or zoomed) range
 * @property {number} from
 * @property {number} to
 * @property {number} preset  the span double-click returns to
 * @property {boolean} overlay
 * @property {Line[]} lines  [0] is the channel itself
 * @property {any} plot  the uPlot instance
 * @property {(number | null | undefined)[][]} data  x, mean, min, max, then one mean per overlay
 * @property {number} step  of the main answer: the CSV asks for the same rows
 * @property {number} start  the main answer's `from`
 * @property {number} seq  the newest fetch; older answers are dropped
 */

const RANGES = /** @type {[string, number][]} */ ([
  ["1 h", 3600],
  ["24 h", 86400],
  ["7 d", 7 * 86400],
  ["30 d", 30 * 86400],
  ["1 y", 365 * 86400],
]);
const DEFAULT_SPAN = 86400;
const HEIGHT_PX = 280;
const PALETTE = ["#7c3aed", "#0891b2", "#16a34a", "#db2777", "#ca8a04"];

/** Relative to the page, as live.js does, so a reverse proxy's sub-path keeps working. */
const base = new URL(".", location.href);

/** @type {Record<string, HTMLElement> & {dialog: HTMLDialogElement, overlay: HTMLInputElement, csv: HTMLAnchorElement, from: HTMLInputElement, to: HTMLInputElement} | null} */
let refs = null;
/** @type {Shown | null} */
let shown = null;
/** @typedef {typeof import("../../vendor/uPlot.iife.min.js")} UPlot  (its .d.ts, copied beside it) */
/** @type {Promise<UPlot> | null} */
let uPlotModule = null;
/** @type {ResizeObserver | null} */
let resizer = null;
/** Two fingers are on the plot: the x scale follows them until they lift. */
let pinching = false;

/** uPlot's own minified build, fetched on the first open (the page itself stays light). */
function loadUPlot() {
  uPlotModule ??= new Promise((resolve, reject) => {
    const g = /** @type {any} */ (globalThis);
    const script = document.createElement("script");
    script.src = new URL("vendor/uPlot.iife.min.js", assetBase()).href;
    script.onload = () => resolve(/** @type {UPlot} */ (g.uPlot));
    script.onerror = () => {
      uPlotModule = null;
      reject(new Error("the chart library did not load"));
    };
    document.head.append(script);
  });
  return uPlotModule;
}

/** Where this release's static files are (index.html's `assets` meta, rewritten by the server). */
function assetBase() {
  const meta = document.querySelector('meta[name="assets"]');
  return new URL(meta?.getAttribute("content") ?? "static/", location.href);
}

/** @param {Document} doc */
export function mount(doc) {
  /** @param {string} sel */
  const q = (sel) => {
    const e = doc.querySelector(sel);
    if (!(e instanceof HTMLElement)) throw new Error(`index.html lacks ${sel}`);
    return e;
  };
  const dialog = /** @type {HTMLDialogElement} */ (q("#chart"));
  refs = {
    dialog,
    title: q("#chart-title"),
    sub: q("#chart-sub"),
    ranges: q("#chart .chart-ranges"),
    custom: q("#chart .chart-custom"),
    from: /** @type {HTMLInputElement} */ (q("#chart-from")),
    to: /** @type {HTMLInputElement} */ (q("#chart-to")),
    readout: q("#chart .chart-readout"),
    plot: q("#chart .chart-plot"),
    status: q("#chart .chart-status"),
    overlayBox: q("#chart .chart-overlay"),
    overlay: /** @type {HTMLInputElement} */ (q("#chart-overlay")),
    overlayText: q("#chart-overlay-text"),
    csv: /** @type {HTMLAnchorElement} */ (q("#chart .chart-csv")),
  };
  for (const [label, span] of RANGES) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.span = String(span);
    refs.ranges.append(b);
  }
  const custom = document.createElement("button");
  custom.type = "button";
  custom.textContent = "Custom";
  custom.dataset.span = "custom";
  refs.ranges.append(custom);
  refs.ranges.addEventListener("click", (e) => {
    const b = e.target instanceof Element ? e.target.closest("button") : null;
    if (!b || !shown || !refs) return;
    if (b.dataset.span === "custom") {
      refs.custom.hidden = !refs.custom.hidden;
      if (!refs.custom.hidden) {
        refs.from.value = localInput(shown.from);
        refs.to.value = localInput(shown.to);
        refs.from.focus();
      }
      return;
    }
    refs.custom.hidden = true;
    setSpan(Number(b.dataset.span));
  });
  refs.custom.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!shown || !refs) return;
    const from = Date.parse(refs.from.value) / 1000;
    const to = Date.parse(refs.to.value) / 1000;
    if (!(from < to)) {
      say("Pick a start before the end.");
      return;
    }
    setRange(from, to);
  });
  refs.overlay.addEventListener("change", () => {
    if (!shown || !refs) return;
    shown.overlay = refs.overlay.checked;
    shown.lines = lines(shown.sensor, shown.channel, shown.overlay);
    load();
  });
  q("#chart .chart-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", cleanup);
  // a tap on the backdrop (outside the panel) closes it too
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) dialog.close();
  });
  resizer = new ResizeObserver(() => {
    if (shown?.plot && refs) shown.plot.setSize(size());
  });
  resizer.observe(refs.plot);
}

/**
 * Open the chart of one channel.
 * @param {string} sensor @param {string} channel @param {HTMLElement | null} [opener]
 */
export function open(sensor, channel, opener = null) {
  if (!refs) return;
  const s = store.getSensor(sensor);
  const ch = s?.channels.get(channel);
  if (!s || !ch) return;
  cleanup();
  const t = store.now();
  shown = {
    sensor, channel, opener, span: DEFAULT_SPAN, from: t - DEFAULT_SPAN, to: t, preset: DEFAULT_SPAN,
    overlay: false, lines: lines(sensor, channel, false), plot: null, data: [], step: 0, start: 0, seq: 0,
  };  // prettier-ignore
  refs.title.textContent = ch.meta.name;
  const place = store.placeOf(s);
  refs.sub.textContent = [s.name, place].filter(Boolean).join(" · ");
  const others = lines(sensor, channel, true).length - 1;
  refs.overlayBox.hidden = others === 0;
  refs.overlay.checked = false;
  refs.overlayText.textContent = `Compare with ${others} other ${others === 1 ? "channel" : "channels"} ${place ? `in ${place}` : "like it"}`;
  refs.custom.hidden = true;
  refs.readout.textContent = "";
  if (!refs.dialog.open) refs.dialog.showModal();
  markRange();
  load();
}

export function close() {
  refs?.dialog.close();
}

function cleanup() {
  if (!shown) return;
  shown.plot?.destroy();
  const opener = shown.opener;
  shown = null;
  if (refs) refs.plot.replaceChildren();
  if (opener?.isConnected) opener.focus();
}

/** Channels drawn: this one, and with `overlay` every one like it (same kind and unit) in its room. @param {string} sensor @param {string} channel @param {boolean} overlay @returns {Line[]} */
function lines(sensor, channel, overlay) {
  const s = store.getSensor(sensor);
  const ch = s?.channels.get(channel);
  if (!s || !ch) return [];
  const out = [{ sensor, channel, label: ch.meta.name }];
  if (!overlay) return out;
  for (const o of store.allSensors()) {
    if (o.room !== s.room || o.node !== s.node) continue;
    for (const c of o.channels.values()) {
      if (o.id === sensor && c.meta.id === channel) continue;
      if (c.meta.kind === ch.meta.kind && c.meta.unit === ch.meta.unit && store.hasHistory(c)) {
        out.push({ sensor: o.id, channel: c.meta.id, label: `${o.name}: ${c.meta.name}` });
      }
    }
  }
  return out;
}

/** @param {number} span */
function setSpan(span) {
  if (!shown) return;
  const t = store.now();
  Object.assign(shown, { span, preset: span, from: t - span, to: t });
  markRange();
  load();
}

/** A fixed range (custom, or zoomed in). @param {number} from @param {number} to */
function setRange(from, to) {
  if (!shown) return;
  Object.assign(shown, { span: 0, from, to });
  markRange();
  load();
}

function markRange() {
  if (!refs || !shown) return;
  for (const b of refs.ranges.querySelectorAll("button")) {
    const on = b.dataset.span === String(shown.span) || (b.dataset.span === "custom" && shown.span === 0);
    b.setAttribute("aria-pressed", String(on));
  }
}

/** @param {string} text */
function say(text) {
  if (refs) refs.status.textContent = text;
}

function size() {
  const w = refs ? refs.plot.clientWidth : 300;
  return { width: Math.max(w, 200), height: Math.min(HEIGHT_PX, Math.max(180, innerHeight - 260)) };
}

/** Fetch every line over the range (one point per pixel), then draw. */
async function load() {
  if (!shown || !refs) return;
  const me = shown;
  const seq = (me.seq += 1);
  const points = Math.max(50, Math.round(size().width));
  if (!me.span) {
    // a fixed range keeps its ends
  } else {
    const t = store.now();
    me.from = t - me.span;
    me.to = t;
  }
  say("Loading…");
  refs.plot.dataset.state = "loading";
  /** @type {HistoryJson[]} */
  let answers;
  try {
    const [, ...got] = await Promise.all([
      loadUPlot(),
      ...me.lines.map((l) => fetchHistory(l, me.from, me.to, points)),
    ]);
    answers = /** @type {HistoryJson[]} */ (got);
  } catch (err) {
    if (shown === me && me.seq === seq) {
      say(`No history: ${err instanceof Error ? err.message : err}`);
      refs.plot.dataset.state = "error";
    }
    return;
  }
  if (shown !== me || me.seq !== seq) return; // closed, or another range was picked meanwhile
  const uPlot = await loadUPlot();
  const main = answers[0];
  me.step = main.step;
  me.start = main.from; // rounded down to the tier's buckets: the CSV's rows start there too
  const tables = answers.map((a, i) => (i === 0 ? [a.t, a.mean, a.min, a.max] : [a.t, a.mean]));
  // uPlot's typings want typed arrays where plain ones (with nulls: gaps) work as well
  me.data = tables.length === 1 ? tables[0] : /** @type {any} */ (uPlot.join(/** @type {any} */ (tables)));
  draw(uPlot);
  const n = main.t.length;
  say(n ? "" : "No history in this range yet.");
  refs.plot.dataset.state = "ready";
  refs.plot.dataset.points = String(n);
  refs.plot.dataset.from = String(me.from);
  refs.plot.dataset.to = String(me.to);
  refs.plot.dataset.step = String(me.step);
  refs.plot.dataset.gaps = String(main.mean.filter((v) => v === null).length);
  csvLink();
  readout(null);
}

/** @param {Line} l @param {number} from @param {number} to @param {number} points @returns {Promise<HistoryJson>} */
async function fetchHistory(l, from, to, points) {
  const q = new URLSearchParams({
    ...where([l.sensor]), channel: l.channel, from: from.toFixed(3), to: to.toFixed(3), points: String(points),
  });  // prettier-ignore
  const resp = await fetch(new URL(`api/history?${q}`, base), { cache: "no-store" });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || `HTTP ${resp.status}`);
  return body;
}

/**
 * History's names for the page's sensors (all of one node: an overlay stays within it): their own
 * ids, and `node` for another node's.
 * @param {string[]} keys @returns {Record<string, string>}
 */
function where(keys) {
  const list = keys.map((k) => store.getSensor(k)).filter((s) => s !== undefined);
  const sensor = [...new Set(list.map((s) => s.sensor))].join(",");
  const node = list[0]?.node ?? "";
  return node ? { sensor, node } : { sensor };
}

/** The range as CSV, the same rows as the chart (its buckets, or every sample). */
function csvLink() {
  if (!shown || !refs) return;
  const q = new URLSearchParams({
    ...where(shown.lines.map((l) => l.sensor)),
    channel: [...new Set(shown.lines.map((l) => l.channel))].join(","),
    from: String(shown.start),
    to: String(Number(refs.plot.dataset.to)),
    step: String(shown.step),
  });
  refs.csv.href = new URL(`api/history.csv?${q}`, base).href;
}

/** Colours from CSS custom properties (registered as colours, so light/dark are resolved). */
function colours() {
  const cs = getComputedStyle(/** @type {HTMLElement} */ (refs?.plot));
  /** @param {string} name @param {string} dflt */
  const get = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
  return {
    line: get("--spark", "#2563eb"),
    band: get("--spark-fill", "rgba(37,99,235,.18)"),
    muted: get("--muted", "#666"),
    grid: get("--border", "#ddd"),
    warn: get("--warn-line", "#d97706"),
    alarm: get("--err", "#b91c1c"),
  };
}

/** @param {any} uPlot */
function draw(uPlot) {
  if (!shown || !refs) return;
  const me = shown;
  const s = store.getSensor(me.sensor);
  const ch = s?.channels.get(me.channel);
  if (!ch) return;
  refs.plot.dataset.kind = ch.meta.kind;
  const c = colours();
  const font = "12px system-ui, sans-serif";
  const axis = { stroke: c.muted, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1, size: 4 }, font };
  const unit = formatValue(ch.meta, 0).unit;
  const digits = Math.max(0, ch.meta.precision);
  const yAxis = {
    ...axis,
    label: unit || undefined,
    labelSize: unit ? 16 : 0,
    labelFont: font,
    values: (/** @type {any} */ _u, /** @type {number[]} */ ticks) =>
      ticks.map((x) => (ch.meta.unit === "B" ? formatWithUnit(ch.meta, x) : formatNumber(x, tickDigits(ticks, digits)))),
    size: axisSize,
  };
  const xAxis = { ...axis, space: 90, size: 30, values: timeTicks };
  /** @type {any[]} */
  const series = [
    {},
    { label: ch.meta.name, stroke: c.line, width: 2, points: { size: 5, fill: c.line } },
    { label: "min", stroke: "transparent", points: { show: false } },
    { label: "max", stroke: "transparent", points: { show: false } },
  ];
  me.lines.slice(1).forEach((l, i) => {
    series.push({ label: l.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { size: 4 } });
  });
  const limits = ch.limits;
  const opts = {
    ...size(),
    legend: { show: me.lines.length > 1, live: false },
    padding: [12, 28, 0, 4],
    cursor: { points: { size: 8, fill: c.line }, drag: { x: true, y: false, setScale: false } },
    // the whole range asked for, even where there is no data yet: an hour of data in a 24 h
    // range is a sliver at the right, not a stretched trend
    scales: {
      x: {
        time: true,
        range: (/** @type {any} */ _u, /** @type {number} */ min, /** @type {number} */ max) =>
          pinching ? [min, max] : [me.from, me.to],
      },
    },
    axes: [xAxis, yAxis],
    series,
    bands: [{ series: [3, 2], fill: c.band }],
    hooks: {
      setCursor: [(/** @type {any} */ u) => readout(u.cursor.idx ?? null)],
      setSelect: [
        (/** @type {any} */ u) => {
          if (u.select.width < 8) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          setRange(from, to);
        },
      ],
      drawClear: [(/** @type {any} */ u) => limits && shade(u, limits, c)],
    },
  };
  me.plot?.destroy();
  refs.plot.replaceChildren();
  me.plot = new uPlot(opts, me.data, refs.plot);
  const over = me.plot.over;
  over.addEventListener("dblclick", () => setSpan(me.preset));
  pinch(over, me);
}

/** Fewer decimals on the axis when the ticks are far apart. @param {number[]} ticks @param {number} digits */
function tickDigits(ticks, digits) {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  return Math.min(digits, Math.max(0, -Math.floor(Math.log10(step))));
}

/** The y axis as wide as its longest label, so 1015.7 hPa is never cut to "015.7". */
function axisSize(/** @type {any} */ u, /** @type {string[] | null} */ values, /** @type {number} */ i, /** @type {number} */ cycle) {
  const axis = u.axes[i];
  if (cycle > 1) return axis._size;
  let w = axis.ticks.size + axis.gap + 8;
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest) {
    u.ctx.font = axis.font[0];
    w += u.ctx.measureText(longest).width / (globalThis.devicePixelRatio || 1);
  }
  if (refs) {
    // what the axis shows (it is drawn on the canvas): for tests and curious people
    refs.plot.dataset.yLabels = (values ?? []).join("|");
    refs.plot.dataset.yUnit = axis.label ?? "";
    refs.plot.dataset.yWidth = String(Math.ceil(w));
  }
  return Math.ceil(w);
}

/** Time labels that fit the span: 14:05, Tue 14:00, 12 Nov, Nov 2026. */
function timeTicks(/** @type {any} */ u, /** @type {number[]} */ ticks) {
  const span = u.scales.x.max - u.scales.x.min;
  /** @type {Intl.DateTimeFormatOptions} */
  const fmt =
    span <= 600 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
    : span <= 2 * 86400 ? { hour: "2-digit", minute: "2-digit" }
    : span <= 10 * 86400 ? { weekday: "short", hour: "2-digit" }
    : span <= 400 * 86400 ? { month: "short", day: "numeric" }
    : { month: "short", year: "numeric" };  // prettier-ignore
  const f = new Intl.DateTimeFormat(undefined, fmt);
  return ticks.map((x) => f.format(new Date(x * 1000)));
}

/** Thresholds as shaded bands beyond them and dashed lines at them. @param {any} u @param {import("../store.js").Limits} limits @param {ReturnType<typeof colours>} c */
function shade(u, limits, c) {
  const { ctx, bbox } = u;
  const y = (/** @type {number} */ v) => u.valToPos(v, "y", true);
  const top = bbox.top;
  const bottom = bbox.top + bbox.height;
  /** @type {[number | undefined, string, boolean][]} */
  const parts = [
    [limits.warn_above, c.warn, true],
    [limits.alarm_above, c.alarm, true],
    [limits.warn_below, c.warn, false],
    [limits.alarm_below, c.alarm, false],
  ];
  ctx.save();
  for (const [v, colour, above] of parts) {
    if (v === undefined) continue;
    const py = Math.min(Math.max(y(v), top), bottom);
    ctx.globalAlpha = 0.08;
    ctx.fillStyle = colour;
    if (above) ctx.fillRect(bbox.left, top, bbox.width, py - top);
    else ctx.fillRect(bbox.left, py, bbox.width, bottom - py);
    if (py > top && py < bottom) {
      ctx.globalAlpha = 0.7;
      ctx.strokeStyle = colour;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = globalThis.devicePixelRatio || 1;
      ctx.beginPath();
      ctx.moveTo(bbox.left, py);
      ctx.lineTo(bbox.left + bbox.width, py);
      ctx.stroke();
    }
  }
  ctx.restore();
}

/** Two fingers spread or pinch the time axis; lifting them fetches that range. @param {HTMLElement} over @param {Shown} me */
function pinch(over, me) {
  /** @type {{d: number, mid: number, min: number, max: number} | null} */
  let start = null;
  const dist = (/** @type {TouchList} */ t) => Math.abs(t[0].clientX - t[1].clientX);
  over.addEventListener("touchstart", (e) => {
    if (e.touches.length !== 2 || !me.plot) return;
    const rect = over.getBoundingClientRect();
    const mid = (e.touches[0].clientX + e.touches[1].clientX) / 2 - rect.left;
    pinching = true;
    start = { d: Math.max(dist(e.touches), 10), mid: me.plot.posToVal(mid, "x"), min: me.plot.scales.x.min, max: me.plot.scales.x.max };
  }, { passive: true });  // prettier-ignore
  over.addEventListener("touchmove", (e) => {
    if (!start || e.touches.length !== 2) return;
    e.preventDefault();
    const k = start.d / Math.max(dist(e.touches), 10);
    me.plot.setScale("x", { min: start.mid - (start.mid - start.min) * k, max: start.mid + (start.max - start.mid) * k });
  }, { passive: false });  // prettier-ignore
  over.addEventListener("touchend", () => {
    if (!start || !me.plot) return;
    start = null;
    pinching = false;
    setRange(me.plot.scales.x.min, me.plot.scales.x.max);
  });
}

/** The value under the cursor, or the range's min, mean and max. @param {number | null} idx */
function readout(idx) {
  if (!shown || !refs) return;
  const ch = store.getSensor(shown.sensor)?.channels.get(shown.channel);
  const [t, mean, lo, hi] = shown.data;
  if (!ch || !t) return;
  const fmt = (/** @type {number} */ v) => formatWithUnit(ch.meta, v);
  let text = "";
  const v = idx === null ? null : mean[idx];
  if (idx !== null && typeof v === "number") {
    const band = typeof lo[idx] === "number" && lo[idx] !== hi[idx] ? ` (${fmt(/** @type {number} */ (lo[idx]))} to ${fmt(/** @type {number} */ (hi[idx]))})` : "";
    text = `${fmt(v)}${band} at ${formatClock(t[idx] ?? 0, store.now())}`;
  } else {
    const vals = /** @type {number[]} */ (mean.filter((x) => typeof x === "number"));
    const mins = /** @type {number[]} */ (lo.filter((x) => typeof x === "number"));
    const maxs = /** @type {number[]} */ (hi.filter((x) => typeof x === "number"));
    if (vals.length) {
      const avg = vals.reduce((a, b) => a + b, 0) / vals.length;
      text = `min ${fmt(Math.min(...mins))} · mean ${fmt(avg)} · max ${fmt(Math.max(...maxs))}`;
    }
  }
  if (refs.readout.textContent !== text) refs.readout.textContent = text;
}

/** Store subscriber: live points while the range ends now; a fresh fetch after a reconnect. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (!shown?.plot) return;
  if (change.header && store.getInfo().connection === "live" && shown.plot && refs?.plot.dataset.offline === "true") {
    refs.plot.dataset.offline = "false";
    load(); // fill (or show) what was missed while offline
    return;
  }
  if (change.header && store.getInfo().connection !== "live" && refs) refs.plot.dataset.offline = "true";
  if (!change.values || !shown.span || !change.sensor) return;
  const i = shown.lines.findIndex((l) => l.sensor === change.sensor);
  if (i < 0) return;
  append(change.sensor);
}

/** @param {string} sensor */
function append(sensor) {
  if (!shown) return;
  const s = store.getSensor(sensor);
  if (!s) return;
  const row = shown.data.map(() => /** @type {number | null | undefined} */ (undefined));
  let any = false;
  shown.lines.forEach((l, i) => {
    if (l.sensor !== sensor) return;
    const ch = s.channels.get(l.channel);
    if (!ch || typeof ch.value !== "number" || ch.ts === null) return;
    row[0] = ch.ts;
    const col = i === 0 ? 1 : 3 + i;
    row[col] = ch.value;
    if (i === 0) row[2] = row[3] = ch.value;
    any = true;
  });
  const xs = shown.data[0];
  if (!any || !xs || (xs.length && /** @type {number} */ (row[0]) <= /** @type {number} */ (xs[xs.length - 1]))) return;
  shown.data.forEach((col, j) => col.push(row[j]));
  shown.to = /** @type {number} */ (row[0]);
  shown.plot.setData(shown.data);
  readout(null);
}

/** A datetime-local input's value for an epoch time, in local time. @param {number} epoch */
function localInput(epoch) {
  const d = new Date(epoch * 1000);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
