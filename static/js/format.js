// @ts-check
/**
 * Values arrive in base units (°C, %, hPa, B, s); this turns them into what a person reads:
 * the channel's precision and unit, binary states as words, bytes as MB/GB, durations as "3 d 4 h".
 * Pure functions, no DOM: the browser tests call them directly.
 */

/** @typedef {import("./store.js").ChannelMeta} ChannelMeta */
/** @typedef {{text: string, unit: string}} Shown */

export const PLACEHOLDER = "—";

/** @type {Map<number, Intl.NumberFormat>} */
const formats = new Map();

/** Locale-aware, fixed decimals; thousands separators only from 10 000 up ("1013.2 hPa"). */
function numberFormat(/** @type {number} */ digits) {
  let f = formats.get(digits);
  if (!f) {
    const grouping = /** @type {any} */ ("min2"); // ES2023 value; older lib typings say boolean
    f = new Intl.NumberFormat(undefined, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
      useGrouping: grouping,
    });
    formats.set(digits, f);
  }
  return f;
}

/** @param {number} v @param {number} digits */
export function formatNumber(v, digits) {
  const d = Math.min(Math.max(Math.trunc(digits) || 0, 0), 6);
  const text = numberFormat(d).format(v);
  // -0.00 after rounding reads as a sign error: show it as 0.00
  return /^-0([.,]0*)?$/.test(text) ? text.slice(1) : text;
}

/** [true, false] words per Home Assistant binary device class. */
const BINARY_WORDS = /** @type {Record<string, [string, string]>} */ ({
  motion: ["Motion", "Clear"],
  occupancy: ["Detected", "Clear"],
  presence: ["Home", "Away"],
  door: ["Open", "Closed"],
  garage_door: ["Open", "Closed"],
  opening: ["Open", "Closed"],
  window: ["Open", "Closed"],
  problem: ["Problem", "OK"],
  safety: ["Unsafe", "Safe"],
  tamper: ["Tampered", "OK"],
  power_binary: ["On", "Off"],
  power: ["On", "Off"],
  plug: ["Plugged in", "Unplugged"],
  running: ["Running", "Stopped"],
  moisture: ["Wet", "Dry"],
  smoke: ["Smoke", "Clear"],
  gas: ["Gas", "Clear"],
  vibration: ["Vibration", "Still"],
  sound: ["Sound", "Quiet"],
  light: ["Light", "Dark"],
  lock: ["Unlocked", "Locked"],
  battery: ["Low", "Normal"],
  connectivity: ["Connected", "Disconnected"],
  heat: ["Hot", "Normal"],
  cold: ["Cold", "Normal"],
});

/** @param {ChannelMeta} meta @returns {[string, string]} */
export function binaryWords(meta) {
  const words = BINARY_WORDS[meta.kind];
  if (words) return words;
  return /button|press/i.test(`${meta.id} ${meta.name}`) ? ["Pressed", "Released"] : ["On", "Off"];
}

const BYTE_FACTORS = /** @type {Record<string, number>} */ ({
  B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3,
});
const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal units, three significant digits: 276 MB, 84.9 GB, 1.25 TB. @param {number} bytes */
export function formatBytes(bytes) {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < BYTE_UNITS.length - 1) {
    v /= 1000;
    i += 1;
  }
  const a = Math.abs(v);
  const digits = i === 0 ? 0 : a < 9.995 ? 2 : a < 99.95 ? 1 : 0;
  return { text: formatNumber(v, digits), unit: BYTE_UNITS[i] };
}

const SECONDS = /** @type {Record<string, number>} */ ({ ms: 1e-3, s: 1, min: 60, h: 3600, d: 86400 });

/** The two largest parts: "42 s", "12 min 5 s", "4 h 12 min", "3 d 4 h". @param {number} seconds */
export function formatDuration(seconds, digits = 0) {
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  if (s < 60) return `${sign}${formatNumber(s, s < 10 ? digits : 0)} s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${sign}${d} d ${h} h`;
  if (h > 0) return `${sign}${h} h ${m} min`;
  return `${sign}${m} min ${sec} s`;
}

/**
 * A channel value for display; `unit` is shown apart from the number (smaller, muted).
 * @param {ChannelMeta} meta @param {import("./store.js").Value | null | undefined} value
 * @returns {Shown}
 */
export function formatValue(meta, value) {
  if (value === null || value === undefined) return { text: PLACEHOLDER, unit: "" };
  if (meta.binary || typeof value === "boolean") {
    const [on, off] = binaryWords(meta);
    return { text: value ? on : off, unit: "" };
  }
  if (!Number.isFinite(value)) return { text: PLACEHOLDER, unit: "" };
  const unit = meta.unit ?? "";
  if (unit in BYTE_FACTORS && (meta.kind === "data_size" || unit === "B")) {
    return formatBytes(value * BYTE_FACTORS[unit]);
  }
  if (meta.kind === "duration" && unit in SECONDS) {
    return { text: formatDuration(value * SECONDS[unit], meta.precision), unit: "" };
  }
  return { text: formatNumber(value, meta.precision), unit };
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". @param {number} seconds */
export function formatAge(seconds) {
  if (!Number.isFinite(seconds) || seconds < 2) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}
