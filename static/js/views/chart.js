// @ts-check
/**
 * A detail chart under a channel, opened by tapping its row: uPlot (vendored, loaded on first use
 * so the page itself stays light) over the same in-memory history as the sparkline, with time
 * and value axes, min/max, and a readout that follows the cursor or finger.
 */

import * as store from "../store.js";
import { formatValue } from "../format.js";

/** @typedef {import("../store.js").Channel} Channel */
/**
 * @typedef {object} Open
 * @property {string} sensor
 * @property {string} channel
 * @property {HTMLElement} row
 * @property {HTMLElement} box
 * @property {HTMLElement} readout
 * @property {HTMLElement} plotEl
 * @property {any} plot  the uPlot instance (typed loosely: the vendored build ships no .d.ts)
 * @property {ResizeObserver} resize
 * @property {number | null} cursor  data index under the cursor, or null
 */

const HEIGHT_PX = 140;
/** @type {Open | null} */
let open = null;
/** @type {Promise<any> | null} */
let uPlotModule = null;

function loadUPlot() {
  uPlotModule ??= import("../../vendor/uPlot.esm.js").then((m) => m.default);
  return uPlotModule;
}

/** Whether the row's chart is open. @param {HTMLElement} row */
export function isOpen(row) {
  return open?.row === row;
}

/** Open the chart under `row`, or close it if it is open; one chart at a time. @param {HTMLElement} row @param {string} sensor @param {string} channel */
export async function toggle(row, sensor, channel) {
  const wasOpen = isOpen(row);
  close();
  if (wasOpen) return;
  const box = document.createElement("div");
  box.className = "ch-chart";
  const readout = document.createElement("div");
  readout.className = "ch-chart-readout";
  const plotEl = document.createElement("div");
  plotEl.className = "ch-chart-plot";
  box.append(readout, plotEl);
  row.append(box);
  row.setAttribute("aria-expanded", "true");
  const resize = new ResizeObserver(() => {
    if (open?.box === box && open.plot) open.plot.setSize(size(plotEl));
  });
  /** @type {Open} */
  const o = { sensor, channel, row, box, readout, plotEl, plot: null, resize, cursor: null };
  open = o;
  const uPlot = await loadUPlot();
  if (open !== o) return; // closed while loading
  const ch = store.getSensor(sensor)?.channels.get(channel);
  if (!ch) return close();
  o.plot = new uPlot(options(o, ch), data(ch), plotEl);
  resize.observe(plotEl);
  refresh(sensor);
}

export function close() {
  if (!open) return;
  open.resize.disconnect();
  open.plot?.destroy();
  open.box.remove();
  open.row.setAttribute("aria-expanded", "false");
  open = null;
}

/** New values arrived for `sensor`: redraw its open chart, if any. @param {string} sensor */
export function refresh(sensor) {
  if (!open || open.sensor !== sensor || !open.plot) return;
  const ch = store.getSensor(sensor)?.channels.get(open.channel);
  if (!ch) return close();
  open.plot.setData(data(ch));
  showReadout(open, ch);
}

/** The colour scheme changed: rebuild with the new colours. */
export function restyle() {
  if (!open) return;
  const { row, sensor, channel } = open;
  close();
  toggle(row, sensor, channel);
}

/** @param {HTMLElement} el */
function size(el) {
  return { width: Math.max(el.clientWidth, 100), height: HEIGHT_PX };
}

/** @param {Channel} ch */
function data(ch) {
  return [ch.history.t.slice(), ch.history.v.slice()];
}

/** @param {Open} o @param {Channel} ch */
function showReadout(o, ch) {
  const { t, v } = ch.history;
  if (v.length === 0) {
    o.readout.textContent = "No history yet";
    return;
  }
  const fmt = (/** @type {number} */ x) => {
    const s = formatValue(ch.meta, x);
    return s.unit ? `${s.text} ${s.unit}` : s.text;
  };
  if (o.cursor !== null && o.cursor < v.length) {
    const when = new Date(t[o.cursor] * 1000).toLocaleTimeString();
    o.readout.textContent = `${fmt(v[o.cursor])} at ${when}`;
    return;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const since = new Date(t[0] * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  o.readout.textContent = `min ${fmt(lo)} · max ${fmt(hi)} · since ${since}`;
}

/** @param {Open} o @param {Channel} ch */
function options(o, ch) {
  const cs = getComputedStyle(o.row);
  const line = cs.getPropertyValue("--spark").trim() || "#2563eb";
  const fill = cs.getPropertyValue("--spark-fill").trim() || "transparent";
  const muted = cs.getPropertyValue("--muted").trim() || "#666";
  const grid = cs.getPropertyValue("--border").trim() || "#ddd";
  const axis = {
    stroke: muted,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1, size: 4 },
    font: "11px system-ui, sans-serif",
  };
  /** @type {Record<string, any>} */
  const yAxis = { ...axis, size: ch.meta.kind === "data_size" ? 64 : 40 };
  if (ch.meta.kind === "data_size") {
    // bytes only make sense scaled; other ticks keep uPlot's own short numbers (the readout has units)
    yAxis.values = (/** @type {any} */ _u, /** @type {number[]} */ ticks) =>
      ticks.map((x) => {
        const shown = formatValue(ch.meta, x);
        return `${shown.text} ${shown.unit}`;
      });
  }
  const hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const hms = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const xAxis = {
    ...axis,
    space: 70,
    size: 26,
    values: (/** @type {any} */ u, /** @type {number[]} */ ticks) => {
      const span = u.scales.x.max - u.scales.x.min;
      const f = span < 600 ? hms : hm;
      return ticks.map((x) => f.format(new Date(x * 1000)));
    },
  };
  return {
    ...size(o.plotEl),
    legend: { show: false },
    padding: [8, 12, 0, 0],
    cursor: { points: { size: 7, fill: line }, drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [xAxis, yAxis],
    series: [
      {},
      {
        stroke: line,
        width: 1.5,
        points: { show: false },
        fill: (/** @type {any} */ u) => {
          const g = u.ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height);
          g.addColorStop(0, fill);
          g.addColorStop(1, "rgba(0,0,0,0)");
          return g;
        },
      },
    ],
    hooks: {
      setCursor: [
        (/** @type {any} */ u) => {
          o.cursor = u.cursor.idx ?? null;
          showReadout(o, ch);
        },
      ],
    },
  };
}
