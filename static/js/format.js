// @ts-check
/**
 * Values arrive in the unit the server names (the daemon already applied any `unit` conversion
 * from the config); this turns them into what a person reads: the channel's precision and unit,
 * on/off states as words, a count of bytes with a size prefix, seconds as "3 d 4 h". It never
 * converts between units. Pure functions, no DOM: node's test runner imports it (tests/js/).
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

/** [label, word when true, word when false] per Home Assistant binary device class: what a
 *  person says ("Door: closed", "Motion: clear"). */
const BINARY = /** @type {Record<string, [string, string, string]>} */ ({
  motion: ["Motion", "detected", "clear"],
  occupancy: ["Occupancy", "detected", "clear"],
  presence: ["Presence", "home", "away"],
  door: ["Door", "open", "closed"],
  garage_door: ["Garage door", "open", "closed"],
  opening: ["Opening", "open", "closed"],
  window: ["Window", "open", "closed"],
  safety: ["Safety", "unsafe", "safe"],
  tamper: ["Tamper", "tampered", "ok"],
  power_binary: ["Power", "on", "off"],
  power: ["Power", "on", "off"],
  plug: ["Plug", "plugged in", "unplugged"],
  running: ["Running", "running", "stopped"],
  moisture: ["Moisture", "wet", "dry"],
  smoke: ["Smoke", "detected", "clear"],
  gas: ["Gas", "detected", "clear"],
  vibration: ["Vibration", "detected", "still"],
  sound: ["Sound", "detected", "quiet"],
  light: ["Light", "light", "dark"],
  lock: ["Lock", "unlocked", "locked"],
  battery: ["Battery", "low", "normal"],
  connectivity: ["Connection", "connected", "disconnected"],
  heat: ["Heat", "hot", "normal"],
  cold: ["Cold", "cold", "normal"],
});
/** Channels of no device class named by what they are. */
const BINARY_IDS = /** @type {Record<string, [string, string, string]>} */ ({
  pressed: ["Button", "pressed", "released"],
  in_range: ["Echo", "in range", "out of range"],
});

/**
 * How an on/off channel reads: its label and its two words. A `problem` channel keeps its own
 * name ("Under-voltage: no").
 * @param {ChannelMeta} meta @returns {[string, string, string]}
 */
export function binaryWords(meta) {
  if (meta.kind === "problem") return [meta.name, "yes", "no"];
  const words = BINARY[meta.kind] ?? BINARY_IDS[meta.id];
  if (words) return words;
  return /button|press/i.test(`${meta.id} ${meta.name}`)
    ? [meta.name, "pressed", "released"]
    : [meta.name, "on", "off"];
}

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** A count of bytes with a size prefix, three significant digits: 276 MB, 84.9 GB, 1.25 TB.
 *  @param {number} bytes @returns {Shown} */
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
 * A channel value for display; `unit` is shown apart from the number (smaller, muted). Bytes
 * (unit "B") get a size prefix and seconds read as a duration; every other unit is shown as the
 * server names it, with the channel's precision.
 * @param {ChannelMeta} meta @param {import("./store.js").Value | null | undefined} value
 * @returns {Shown}
 */
export function formatValue(meta, value) {
  if (value === null || value === undefined) return { text: PLACEHOLDER, unit: "" };
  if (meta.binary || typeof value === "boolean") {
    const [, on, off] = binaryWords(meta);
    return { text: value ? on : off, unit: "" };
  }
  if (!Number.isFinite(value)) return { text: PLACEHOLDER, unit: "" };
  if (meta.unit === "B") return formatBytes(value);
  if (meta.kind === "duration" && meta.unit === "s") {
    return { text: formatDuration(value, meta.precision), unit: "" };
  }
  return { text: formatNumber(value, meta.precision), unit: meta.unit ?? "" };
}

/** One string: "21.3 °C", "84.9 GB", "closed". @param {ChannelMeta} meta @param {import("./store.js").Value | null} value */
export function formatWithUnit(meta, value) {
  const s = formatValue(meta, value);
  return s.unit ? `${s.text} ${s.unit}` : s.text;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". @param {number} seconds */
export function formatAge(seconds) {
  if (!Number.isFinite(seconds) || seconds < 2) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** "12 s", "3 min", "2 h", "4 d": how long something has lasted. @param {number} seconds */
export function formatSpan(seconds) {
  return formatAge(Math.max(seconds, 2)).replace(" ago", "");
}

/** A wall-clock time, "12:03", with the date when it is not today. @param {number} epoch @param {number} [today] */
export function formatClock(epoch, today = Date.now() / 1000) {
  const d = new Date(epoch * 1000);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (new Date(today * 1000).toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}
