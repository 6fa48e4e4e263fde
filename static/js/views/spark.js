// @ts-check
/**
 * Sparklines hand-drawn on a <canvas> from the store's in-memory history: a few dozen lines of
 * Canvas 2D are lighter than a chart library for a 32 px strip. The x axis is time (the last
 * `window` seconds up to now), so a quiet channel draws a flat line rather than a squeezed one.
 */

/** @typedef {import("../store.js").History} History */
/**
 * @typedef {object} SparkStyle
 * @property {string} line
 * @property {string} fill  top of the area gradient (fades to transparent)
 */

/** @type {WeakMap<HTMLCanvasElement, {w: number, h: number}>} */
const sizes = new WeakMap();
/** @type {ResizeObserver | null} */
let observer = null;

/**
 * Track a canvas's CSS size without reading layout in the draw loop.
 * @param {HTMLCanvasElement} canvas @param {() => void} onResize
 */
export function observe(canvas, onResize) {
  if (!observer) {
    observer = new ResizeObserver((entries) => {
      for (const e of entries) {
        const c = /** @type {HTMLCanvasElement} */ (e.target);
        const { width, height } = e.contentRect;
        sizes.set(c, { w: width, h: height });
        callbacks.get(c)?.();
      }
    });
  }
  callbacks.set(canvas, onResize);
  observer.observe(canvas);
}

/** @param {HTMLCanvasElement} canvas */
export function unobserve(canvas) {
  observer?.unobserve(canvas);
  callbacks.delete(canvas);
}

/** @type {WeakMap<HTMLCanvasElement, () => void>} */
const callbacks = new WeakMap();

/**
 * @param {HTMLCanvasElement} canvas
 * @param {History} hist  ascending times (server epoch s) and values
 * @param {{now: number, window: number, minSpan: number, style: SparkStyle}} opts  minSpan: the
 *   smallest value range drawn full height, so noise below the display precision stays flat
 */
export function drawSpark(canvas, hist, { now, window, minSpan, style }) {
  const size = sizes.get(canvas);
  if (!size || size.w < 4 || size.h < 4) return;
  const dpr = globalThis.devicePixelRatio || 1;
  const W = Math.round(size.w * dpr);
  const H = Math.round(size.h * dpr);
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W; // resizing clears the bitmap too
    canvas.height = H;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, W, H);

  const { t, v } = hist;
  if (t.length === 0) return;
  // the last point before the window starts the line at the left edge; while the history is
  // shorter than the window (just after the page loaded) it is stretched to fill the strip
  let first = t.length - 1;
  while (first > 0 && t[first] > now - window) first -= 1;
  const t0 = Math.max(now - window, t[first]);
  const span = Math.max(now - t0, 1e-3);

  let lo = Infinity;
  let hi = -Infinity;
  for (let i = first; i < v.length; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  const pad = 2.5 * dpr;
  const x = (/** @type {number} */ ts) => ((Math.max(ts, t0) - t0) / span) * W;
  const y = (/** @type {number} */ val) => H - pad - ((val - lo) / (hi - lo)) * (H - 2 * pad);

  ctx.beginPath();
  ctx.moveTo(x(t[first]), y(v[first]));
  for (let i = first + 1; i < t.length; i++) ctx.lineTo(x(t[i]), y(v[i]));
  const lastY = y(v[v.length - 1]);
  ctx.lineTo(W, lastY); // the value holds until now: readings only carry changes

  ctx.lineWidth = 1.5 * dpr;
  ctx.lineJoin = "round";
  ctx.strokeStyle = style.line;
  ctx.stroke();

  ctx.lineTo(W, H);
  ctx.lineTo(x(t[first]), H);
  ctx.closePath();
  const grad = ctx.createLinearGradient(0, 0, 0, H);
  grad.addColorStop(0, style.fill);
  grad.addColorStop(1, "rgba(0,0,0,0)");
  ctx.fillStyle = grad;
  ctx.fill();

  ctx.beginPath();
  ctx.arc(W - 2.5 * dpr, lastY, 2.25 * dpr, 0, Math.PI * 2);
  ctx.fillStyle = style.line;
  ctx.fill();
}
