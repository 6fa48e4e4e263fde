// @ts-check
/**
 * Sparklines hand-drawn on a <canvas>: a few dozen lines of Canvas 2D are lighter than a chart
 * library for a 32 px strip. The x axis is always the last hour, so two points are two dots an
 * hour apart, not a trend; the y axis spans at least a sensible range for what is measured, so a
 * 0.2 °C wobble stays flat; gaps (null) break the line. The card labels the strip with its min
 * and max. A strip is redrawn only when data arrived or its window moved by a pixel.
 */

import { SPARK_WINDOW_S } from "../store.js";

/** @typedef {import("../store.js").History} History */
/**
 * @typedef {object} SparkStyle
 * @property {string} line
 * @property {string} fill  top of the area gradient (fades to transparent)
 */
/** @typedef {{w: number, h: number, drawnAt: number, dirty: boolean}} Strip */

/** The smallest value range drawn full height, per device class (in its usual unit). */
const MIN_SPAN = /** @type {Record<string, number>} */ ({
  temperature: 2,
  humidity: 10,
  moisture: 10,
  atmospheric_pressure: 4,
  pressure: 4,
  illuminance: 50,
  voltage: 0.2,
  distance: 0.05,
});

/** @type {WeakMap<HTMLCanvasElement, Strip>} */
const strips = new WeakMap();
/** @type {WeakMap<HTMLCanvasElement, () => void>} */
const callbacks = new WeakMap();
/** @type {ResizeObserver | null} */
let observer = null;

/**
 * Track a canvas's CSS size without reading layout in the draw loop.
 * @param {HTMLCanvasElement} canvas @param {() => void} onResize
 */
export function observe(canvas, onResize) {
  observer ??= new ResizeObserver((entries) => {
    for (const e of entries) {
      const c = /** @type {HTMLCanvasElement} */ (e.target);
      const { width, height } = e.contentRect;
      strips.set(c, { w: width, h: height, drawnAt: -Infinity, dirty: true });
      callbacks.get(c)?.();
    }
  });
  callbacks.set(canvas, onResize);
  observer.observe(canvas);
}

/** @param {HTMLCanvasElement} canvas */
export function unobserve(canvas) {
  observer?.unobserve(canvas);
  callbacks.delete(canvas);
}

/** New data for this strip: draw it at the next chance. @param {HTMLCanvasElement} canvas */
export function touch(canvas) {
  const s = strips.get(canvas);
  if (s) s.dirty = true;
}

/**
 * First paint: measure new canvases now, all in one layout, rather than wait a frame for the
 * ResizeObserver, so the sparklines appear with the values they belong to.
 * @param {HTMLCanvasElement[]} canvases
 */
export function measure(canvases) {
  const fresh = canvases.filter((c) => !strips.has(c) && c.isConnected);
  const rects = fresh.map((c) => c.getBoundingClientRect()); // reads only: one layout
  fresh.forEach((c, i) => strips.set(c, { w: rects[i].width, h: rects[i].height, drawnAt: -Infinity, dirty: true }));
}

/** Whether drawing now would change a pixel. @param {HTMLCanvasElement} canvas @param {number} now */
export function needsDraw(canvas, now) {
  const s = strips.get(canvas);
  if (!s || s.w < 4) return false;
  return s.dirty || now - s.drawnAt >= SPARK_WINDOW_S / s.w;
}

/**
 * The value range a strip spans: its data's, widened to the kind's minimum around the middle.
 * @param {History} hist @param {number} from @param {string} kind @param {number} precision
 * @returns {{lo: number, hi: number, min: number, max: number} | null}  min/max: of the data
 */
export function extent(hist, from, kind, precision) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < hist.t.length; i++) {
    const v = hist.v[i];
    if (v === null || (hist.t[i] < from && i + 1 < hist.t.length && hist.t[i + 1] < from)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return null;
  const span = Math.max(MIN_SPAN[kind] ?? 0, 10 * 10 ** -Math.max(precision, 0), Math.abs(max) * 0.01);
  let lo = min;
  let hi = max;
  if (hi - lo < span) {
    const mid = (hi + lo) / 2;
    lo = mid - span / 2;
    hi = mid + span / 2;
  }
  return { lo, hi, min, max };
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {History} hist  ascending times (server epoch s) and values (null: a gap)
 * @param {{now: number, lo: number, hi: number, style: SparkStyle}} opts
 */
export function drawSpark(canvas, hist, { now, lo, hi, style }) {
  const strip = strips.get(canvas);
  if (!strip || strip.w < 4 || strip.h < 4) return;
  strip.drawnAt = now;
  strip.dirty = false;
  const dpr = globalThis.devicePixelRatio || 1;
  const W = Math.round(strip.w * dpr);
  const H = Math.round(strip.h * dpr);
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W; // resizing clears the bitmap too
    canvas.height = H;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, W, H);
  const { t, v } = hist;
  const t0 = now - SPARK_WINDOW_S;
  const pad = 3 * dpr;
  const x = (/** @type {number} */ ts) => ((Math.max(ts, t0) - t0) / SPARK_WINDOW_S) * (W - pad) ;
  const y = (/** @type {number} */ val) => H - pad - ((val - lo) / (hi - lo)) * (H - 2 * pad);

  /** @type {[number, number][][]} */
  const runs = [];
  /** @type {[number, number][]} */
  let run = [];
  for (let i = 0; i < t.length; i++) {
    const val = v[i];
    if (val === null) {
      if (run.length) runs.push(run);
      run = [];
      continue;
    }
    if (i + 1 < t.length && t[i + 1] < t0) continue; // wholly before the window
    run.push([x(t[i]), y(val)]);
  }
  if (run.length) {
    // the last value holds until now: readings only carry changes
    run.push([W - pad, run[run.length - 1][1]]);
    runs.push(run);
  }
  const grad = ctx.createLinearGradient(0, 0, 0, H);
  grad.addColorStop(0, style.fill);
  grad.addColorStop(1, "rgba(0,0,0,0)");
  ctx.lineWidth = 1.5 * dpr;
  ctx.lineJoin = "round";
  for (const r of runs) {
    ctx.beginPath();
    r.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
    ctx.strokeStyle = style.line;
    ctx.stroke();
    ctx.lineTo(r[r.length - 1][0], H);
    ctx.lineTo(r[0][0], H);
    ctx.closePath();
    ctx.fillStyle = grad;
    ctx.fill();
  }
  const lastRun = runs[runs.length - 1];
  if (lastRun && v[v.length - 1] !== null) {
    ctx.beginPath();
    ctx.arc(W - pad, lastRun[lastRun.length - 1][1], 2.25 * dpr, 0, Math.PI * 2);
    ctx.fillStyle = style.line;
    ctx.fill();
  }
}
