// @ts-check
/**
 * The page's only state: every sensor's latest values, status and a short in-memory history per
 * numeric channel, plus the connection state. Views subscribe and re-render what changed.
 *
 * Times are server epoch seconds; `now()` maps the browser clock onto the server's (a Pi without
 * an RTC or NTP can be far off), so ages and staleness never depend on the phone's clock.
 */

/** @typedef {"ok" | "error" | "pending"} Status */
/** @typedef {number | boolean} Value */
/**
 * @typedef {object} ChannelJson  one channel as `snapshot` and /api/sensors send it
 * @property {string} id
 * @property {string} name
 * @property {string | null} unit
 * @property {string} kind  Home Assistant device class, "none" for a plain number
 * @property {string | null} state_class
 * @property {number} precision
 * @property {boolean} binary
 * @property {Value | null} value
 * @property {number | null} ts
 * @property {Status} status
 */
/**
 * @typedef {object} SensorJson
 * @property {string} id
 * @property {string} [node]  "" (or absent) for the daemon's own sensors, else another node's id
 * @property {string} type
 * @property {string} name
 * @property {number} interval
 * @property {Status} status
 * @property {number | null} ts
 * @property {string} [error]
 * @property {ChannelJson[]} channels
 */
/** @typedef {{t0: number, t: number[], v: (number | null)[]}} Recent  points at t0 + t[i] */
/**
 * @typedef {object} NodeJson  another daemon whose sensors this one shows (docs/protocol.md)
 * @property {string} id
 * @property {string} name
 * @property {boolean} online
 * @property {number | null} since  when `online` last changed (server epoch s)
 * @property {string | null} url
 */
/**
 * @typedef {object} Snapshot
 * @property {number} protocol
 * @property {number} server_time
 * @property {SensorJson[]} sensors
 * @property {NodeJson[]} [nodes]
 * @property {Record<string, Record<string, Recent>>} [recent]  per sensor and channel, from history
 */
/**
 * @typedef {object} ReadingJson  one change: only the channels whose value changed
 * @property {string} sensor
 * @property {string} [node]
 * @property {number} ts
 * @property {Record<string, Value>} values
 * @property {Status} status
 * @property {string} [error]
 */
/** @typedef {Omit<ChannelJson, "value" | "ts" | "status">} ChannelMeta */
/** @typedef {{t: number[], v: number[]}} History */
/**
 * @typedef {object} Channel
 * @property {ChannelMeta} meta
 * @property {Value | null} value
 * @property {number | null} ts  when the value last changed
 * @property {History} history
 */
/**
 * @typedef {object} Sensor
 * @property {string} id  the page's key: the sensor's id, or `node/id` for another node's
 * @property {string} sensor  the sensor's own id
 * @property {string} node  "" for the daemon's own
 * @property {string} type
 * @property {string} name
 * @property {number} interval  seconds between reads
 * @property {Status} status
 * @property {string | null} error
 * @property {number | null} ts  last successful read
 * @property {number} checked  when the server last told us `ts` (snapshot or /api/sensors)
 * @property {Map<string, Channel>} channels
 */
/** @typedef {"connecting" | "live" | "offline"} Connection */
/**
 * @typedef {object} HistoryInfo  what history costs, as /api/health reports it
 * @property {number} db_bytes
 * @property {number | null} written_today_bytes
 * @property {number} unflushed_s  what a power cut would lose now
 */
/**
 * @typedef {object} Change  what a subscriber should redraw
 * @property {string} [sensor]  this sensor's values or status
 * @property {boolean} [layout]  sensors were added, removed or reordered
 * @property {boolean} [header]  connection, title or server info
 */

export const PROTOCOL = 2;
/** Points kept per channel: enough for a sparkline, small enough for a phone. */
export const HISTORY_POINTS = 300;
/** A value is stale after this many intervals without a reading (never sooner than STALE_MIN_S). */
export const STALE_INTERVALS = 3;
export const STALE_MIN_S = 3;

/** @type {Map<string, Sensor>} */
const sensors = new Map();
/** @type {Map<string, NodeJson>} other nodes, by id */
const nodes = new Map();

/** The page's key of a sensor: ids never hold "/", so other nodes' never collide with ours. @param {string | undefined} node @param {string} id */
export function keyOf(node, id) {
  return node ? `${node}/${id}` : id;
}

/** @returns {NodeJson[]} other nodes whose sensors the daemon shows */
export function allNodes() {
  return [...nodes.values()];
}

/** @param {string} id */
export function getNode(id) {
  return nodes.get(id);
}

/** A node came or went (`node` event). @param {NodeJson} n */
export function applyNode(n) {
  nodes.set(n.id, n);
  notify({ layout: true });
}
/** @type {Set<(change: Change) => void>} */
const listeners = new Set();
const info = {
  /** @type {Connection} */ connection: "connecting",
  /** @type {number | null} */ connectionSince: null,
  title: "",
  version: "",
  mock: false,
  /** @type {number | null} server protocol, when it is not ours */ protocolMismatch: null,
  snapshotReceived: false,
  /** @type {HistoryInfo | null} from /api/health; null when the daemon keeps no history */
  history: null,
  /** @type {{active: number, warn: number, alarm: number} | null} alerts firing now (/api/health) */
  alerts: null,
};
/** server clock minus browser clock, seconds */
let clockOffset = 0;

/** @param {(change: Change) => void} fn @returns {() => void} */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** @param {Change} change */
function notify(change) {
  for (const fn of listeners) fn(change);
}

/** Current time on the server's clock (epoch seconds). */
export function now() {
  return Date.now() / 1000 + clockOffset;
}

/** @returns {Sensor[]} in configuration order */
export function allSensors() {
  return [...sensors.values()];
}

/** @param {string} id */
export function getSensor(id) {
  return sensors.get(id);
}

export function getInfo() {
  return /** @type {Readonly<typeof info>} */ (info);
}

/**
 * Seconds since the sensor was last read successfully, or null if it never was.
 * @param {Sensor} s @param {number} [t]
 */
export function age(s, t = now()) {
  return s.ts === null ? null : Math.max(0, t - s.ts);
}

/** @param {Sensor} s */
function staleAfter(s) {
  return Math.max(STALE_INTERVALS * s.interval, STALE_MIN_S);
}

/** No reading for STALE_INTERVALS intervals: stale, or just quiet (inside its deadbands). @param {Sensor} s @param {number} t */
function quiet(s, t) {
  const a = age(s, t);
  return s.status === "ok" && a !== null && a > staleAfter(s);
}

/**
 * An ok sensor whose last read is older than STALE_INTERVALS intervals. A sensor whose values stay
 * inside their deadbands sends no readings, so a quiet sensor only counts as stale once the server
 * confirmed it has no newer read (see `needsCheck`), or when we cannot ask it (offline).
 * @param {Sensor} s @param {number} [t]
 */
export function isStale(s, t = now()) {
  if (!quiet(s, t)) return false;
  return info.connection !== "live" || s.checked >= /** @type {number} */ (s.ts) + staleAfter(s);
}

/** Some quiet sensor's last read time should be confirmed with /api/sensors. */
export function needsCheck(t = now()) {
  if (info.connection !== "live") return false;
  for (const s of sensors.values()) {
    if (quiet(s, t) && s.checked < /** @type {number} */ (s.ts) + staleAfter(s)) return true;
  }
  return false;
}

/**
 * The server's view of each sensor's last successful read, as of `checkedAt`.
 * @param {SensorJson[]} list  from /api/sensors @param {number} checkedAt  server time of the request
 */
export function applyChecked(list, checkedAt) {
  for (const sj of list) {
    const s = sensors.get(keyOf(sj.node, sj.id));
    if (!s) continue;
    if (sj.ts !== null && (s.ts === null || sj.ts > s.ts)) s.ts = sj.ts;
    s.checked = Math.max(s.checked, checkedAt);
    notify({ sensor: s.id });
  }
}

/** @param {Channel} ch */
export function hasHistory(ch) {
  const m = ch.meta;
  return !m.binary && m.state_class === "measurement" && m.kind !== "duration";
}

/** @param {Channel} ch @param {number | null} ts @param {Value | null} value */
function record(ch, ts, value) {
  if (ts === null || typeof value !== "number" || !Number.isFinite(value) || !hasHistory(ch)) return;
  const h = ch.history;
  const last = h.t.length - 1;
  if (last >= 0 && ts <= h.t[last]) {
    if (ts === h.t[last]) h.v[last] = value;
    return; // already have it (a snapshot after a reconnect repeats the latest point)
  }
  h.t.push(ts);
  h.v.push(value);
  if (h.t.length > HISTORY_POINTS) {
    h.t.splice(0, h.t.length - HISTORY_POINTS);
    h.v.splice(0, h.v.length - HISTORY_POINTS);
  }
}

/**
 * The daemon's recent history of a channel (a reloaded page, a second phone) joined with what
 * this page already has: its points first, ours after them.
 * @param {Channel} ch @param {Recent} recent
 */
function seed(ch, recent) {
  /** @type {History} */
  const h = { t: [], v: [] };
  for (let i = 0; i < recent.t.length; i++) {
    const v = recent.v[i];
    if (typeof v === "number") {
      h.t.push(recent.t0 + recent.t[i]);
      h.v.push(v);
    }
  }
  const last = h.t.length ? h.t[h.t.length - 1] : -Infinity;
  const own = ch.history;
  for (let i = 0; i < own.t.length; i++) {
    if (own.t[i] > last) {
      h.t.push(own.t[i]);
      h.v.push(own.v[i]);
    }
  }
  const extra = h.t.length - HISTORY_POINTS;
  if (extra > 0) {
    h.t.splice(0, extra);
    h.v.splice(0, extra);
  }
  ch.history = h;
}

/**
 * Replace the sensor list with the server's (on every (re)connect); keep the history of channels
 * that are still there, so a reconnect does not blank the sparklines.
 * @param {Snapshot} snap
 */
export function applySnapshot(snap) {
  if (snap.protocol !== PROTOCOL) info.protocolMismatch = snap.protocol;
  if (typeof snap.server_time === "number") clockOffset = snap.server_time - Date.now() / 1000;
  const old = new Map(sensors);
  sensors.clear();
  nodes.clear();
  for (const n of snap.nodes ?? []) nodes.set(n.id, n);
  for (const sj of snap.sensors) {
    const key = keyOf(sj.node, sj.id);
    const prev = old.get(key);
    /** @type {Sensor} */
    const s = {
      id: key,
      sensor: sj.id,
      node: sj.node ?? "",
      type: sj.type,
      name: sj.name,
      interval: sj.interval,
      status: sj.status,
      error: sj.error ?? null,
      ts: sj.ts,
      checked: snap.server_time ?? now(),
      channels: new Map(),
    };
    for (const cj of sj.channels) {
      const { value, ts, status: _status, ...meta } = cj;
      const kept = prev?.channels.get(cj.id);
      /** @type {Channel} */
      const ch = { meta, value, ts, history: kept ? kept.history : { t: [], v: [] } };
      const recent = snap.recent?.[key]?.[cj.id];
      if (recent && hasHistory(ch)) seed(ch, recent);
      record(ch, ts, value);
      s.channels.set(cj.id, ch);
    }
    sensors.set(s.id, s);
  }
  info.snapshotReceived = true;
  notify({ layout: true, header: true });
}

/** Merge one `reading` (only changed channels) into its sensor. @param {ReadingJson} r */
export function applyReading(r) {
  const s = sensors.get(keyOf(r.node, r.sensor));
  if (!s) return; // before the snapshot, or a sensor this page does not know: the next snapshot has it
  const statusChanged = s.status !== r.status;
  if (r.status === "error") {
    s.status = "error";
    s.error = r.error ?? "unknown error";
  } else {
    s.status = r.status;
    s.error = null;
    if (r.status === "ok") s.ts = Math.max(s.ts ?? 0, r.ts);
    for (const [cid, value] of Object.entries(r.values)) {
      const ch = s.channels.get(cid);
      if (!ch) continue;
      ch.value = value;
      ch.ts = r.ts;
      record(ch, r.ts, value);
    }
  }
  notify({ sensor: s.id });
  if (statusChanged) notify({ header: true });
}

/** @param {Connection} state */
export function setConnection(state) {
  if (info.connection === state) return;
  info.connection = state;
  info.connectionSince = now();
  notify({ header: true });
}

/** @param {{title?: string, version?: string, mock?: boolean, history?: HistoryInfo | null, alerts?: {active: number, warn: number, alarm: number} | null}} health  from /api/health */
export function setServerInfo(health) {
  info.title = health.title ?? info.title;
  info.version = health.version ?? info.version;
  info.mock = Boolean(health.mock);
  info.history = health.history ?? null;
  info.alerts = health.alerts ?? null;
  notify({ header: true });
}
