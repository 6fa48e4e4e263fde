// @ts-check
/**
 * The page's only state: every sensor's latest values, status, threshold level and the last hour
 * of each numeric channel, plus the connection. Views subscribe and re-render what changed.
 *
 * Times are server epoch seconds; `now()` maps the browser clock onto the server's (a Pi without
 * an RTC or NTP can be far off), so ages and staleness never depend on the phone's clock.
 * Nothing here touches the DOM: node's test runner imports it as it is (tests/js/).
 */

/** @typedef {"ok" | "error" | "pending"} Status */
/** @typedef {number | boolean} Value */
/** @typedef {"ok" | "warn_above" | "warn_below" | "alarm_above" | "alarm_below"} Level */
/**
 * @typedef {object} Limits  a channel's thresholds, in its unit (the config's keys)
 * @property {number} [warn_above]
 * @property {number} [warn_below]
 * @property {number} [alarm_above]
 * @property {number} [alarm_below]
 * @property {number} [hysteresis]
 */
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
 * @property {Limits} [limits]
 * @property {Level} [level]
 */
/**
 * @typedef {object} SensorJson
 * @property {string} id
 * @property {string} [node]  "" (or absent) for the daemon's own sensors, else another node's id
 * @property {string} type
 * @property {string} name
 * @property {string | null} [room]
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
 * @property {Record<string, Level>} [levels]
 */
/** @typedef {{server_time: number, ts: Record<string, number>}} AliveJson */
/** @typedef {Omit<ChannelJson, "value" | "ts" | "status" | "level" | "limits">} ChannelMeta */
/** @typedef {{t: number[], v: (number | null)[]}} History  null: a gap */
/**
 * @typedef {object} Channel
 * @property {ChannelMeta} meta
 * @property {Value | null} value
 * @property {number | null} ts  when the value last changed
 * @property {Level | null} level  null: no thresholds
 * @property {Limits | null} limits
 * @property {History} history  the last SPARK_WINDOW_S, thinned
 */
/**
 * @typedef {object} Sensor
 * @property {string} id  the page's key: the sensor's id, or `node/id` for another node's
 * @property {string} sensor  the sensor's own id
 * @property {string} node  "" for the daemon's own
 * @property {string} type
 * @property {string} name
 * @property {string | null} room
 * @property {number} interval  seconds between reads
 * @property {Status} status
 * @property {string | null} error
 * @property {number | null} ts  last successful read (readings and `alive` say so)
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
 * @property {boolean} [values]  with `sensor`: new values, or new colours (sparklines redraw)
 * @property {boolean} [layout]  sensors were added, removed or reordered
 * @property {boolean} [header]  connection, title or server info
 */

export const PROTOCOL = 3;
/** Sparklines show the last hour, as the snapshot's `recent` window does. */
export const SPARK_WINDOW_S = 3600;
/** Points kept per channel over that hour: about one per pixel of a sparkline. */
export const SPARK_POINTS = 120;
/** A value is stale after this many intervals without a read (never sooner than STALE_MIN_S:
 *  the server says a quiet sensor was read once a second, with `alive`). */
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
  /** @type {number | null} server time the connection last changed */ connectionSince: null,
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
 * The page's sections: this daemon's sensors by room, rooms in the order they first appear in
 * the config, sensors without one last (room null); then each other node's sensors under that
 * node, in the order the daemon lists them (a node whose sensors are not known yet is empty).
 * @returns {{room: string | null, node: string, sensors: Sensor[]}[]}
 */
export function rooms() {
  /** @type {Map<string | null, Sensor[]>} */
  const own = new Map();
  /** @type {Map<string, Sensor[]>} */
  const others = new Map([...nodes.keys()].map((n) => [n, []]));
  for (const s of sensors.values()) {
    if (s.node) others.set(s.node, [...(others.get(s.node) ?? []), s]);
    else own.set(s.room, [...(own.get(s.room) ?? []), s]);
  }
  const out = [...own].filter(([room]) => room !== null).map(([room, list]) => ({ room, node: "", sensors: list }));
  const rest = own.get(null);
  if (rest) out.push({ room: null, node: "", sensors: rest });
  for (const [node, list] of others) out.push({ room: null, node, sensors: list });
  return out;
}

/** Where a sensor is, as the page names it: its room, or the name of the node it belongs to. @param {Sensor} s */
export function placeOf(s) {
  return s.node ? nodes.get(s.node)?.name || s.node : s.room;
}

/**
 * Seconds since the sensor was last read successfully, or null if it never was.
 * @param {Sensor} s @param {number} [t]
 */
export function age(s, t = now()) {
  return s.ts === null ? null : Math.max(0, t - s.ts);
}

/** @param {Sensor} s */
export function staleAfter(s) {
  return Math.max(STALE_INTERVALS * s.interval, STALE_MIN_S);
}

/**
 * An ok sensor that has not been read for STALE_INTERVALS intervals. Its readings and the
 * server's `alive` both say when it was read, so a quiet sensor (inside its deadbands) is not
 * stale; a sensor the server stopped reading is.
 * @param {Sensor} s @param {number} [t]
 */
export function isStale(s, t = now()) {
  const a = age(s, t);
  return s.status === "ok" && a !== null && a > staleAfter(s);
}

/** Values that cannot be trusted as current: offline, failing or stale. (While the socket first
 *  connects, the values the page was served with are current.) @param {Sensor} s @param {number} [t] */
export function isGreyed(s, t = now()) {
  return info.connection === "offline" || s.status !== "ok" || isStale(s, t);
}

/** @param {Channel} ch */
export function hasHistory(ch) {
  const m = ch.meta;
  return !m.binary && m.state_class === "measurement" && m.kind !== "duration";
}

/** @param {Level | null | undefined} level */
export function outOfRange(level) {
  return level !== null && level !== undefined && level !== "ok";
}

/** Channels past a threshold, on sensors whose values are current. */
export function countOutOfRange(t = now()) {
  let n = 0;
  for (const s of sensors.values()) {
    if (s.status !== "ok" || isStale(s, t)) continue;
    for (const ch of s.channels.values()) if (outOfRange(ch.level)) n += 1;
  }
  return n;
}

/**
 * Append a point, keeping about SPARK_POINTS over the window: a point closer than
 * window/SPARK_POINTS to the one before replaces it (the newest value is always last).
 * @param {History} h @param {number} ts @param {number | null} value
 */
export function addPoint(h, ts, value) {
  const n = h.t.length;
  if (n && ts <= h.t[n - 1]) {
    if (ts === h.t[n - 1]) h.v[n - 1] = value;
    return; // already have it (a snapshot after a reconnect repeats the latest point)
  }
  if (value === null && n && h.v[n - 1] === null) return; // one gap marker is enough
  const due = n < 2 || h.t[n - 1] - h.t[n - 2] >= SPARK_WINDOW_S / SPARK_POINTS;
  if (!due && value !== null && h.v[n - 1] !== null && h.v[n - 2] !== null) {
    h.t[n - 1] = ts;
    h.v[n - 1] = value;
  } else {
    h.t.push(ts);
    h.v.push(value);
  }
  let drop = 0;
  while (drop < h.t.length - 1 && h.t[drop + 1] <= ts - SPARK_WINDOW_S) drop += 1;
  if (drop) {
    h.t.splice(0, drop);
    h.v.splice(0, drop);
  }
}

/** @param {Channel} ch @param {number | null} ts @param {Value | null} value */
function record(ch, ts, value) {
  if (ts === null || typeof value !== "number" || !Number.isFinite(value) || !hasHistory(ch)) return;
  addPoint(ch.history, ts, value);
}

/**
 * The daemon's last hour of a channel (a reloaded page, a second phone, a reconnect after the
 * daemon restarted: its gaps come as nulls) followed by what this page has that is newer.
 * @param {Channel} ch @param {Recent} recent
 */
function seed(ch, recent) {
  /** @type {History} */
  const h = { t: [], v: [] };
  for (let i = 0; i < recent.t.length; i++) {
    const v = recent.v[i];
    h.t.push(recent.t0 + recent.t[i]);
    h.v.push(typeof v === "number" ? v : null);
  }
  const last = h.t.length ? h.t[h.t.length - 1] : -Infinity;
  const own = ch.history;
  for (let i = 0; i < own.t.length; i++) if (own.t[i] > last) addPoint(h, own.t[i], own.v[i]);
  ch.history = h;
}

/**
 * Replace the sensor list with the server's: from the page itself (the values it was served
 * with), then on every (re)connect. Channels that stay keep their history.
 * @param {Snapshot} snap
 */
export function applySnapshot(snap) {
  info.protocolMismatch = snap.protocol !== PROTOCOL ? snap.protocol : null;
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
      room: sj.room ?? null,
      interval: sj.interval,
      status: sj.status,
      error: sj.error ?? null,
      ts: sj.ts,
      channels: new Map(),
    };
    for (const cj of sj.channels) {
      const { value, ts, status: _status, level, limits, ...meta } = cj;
      const kept = prev?.channels.get(cj.id);
      /** @type {Channel} */
      const ch = {
        meta,
        value,
        ts,
        level: level ?? null,
        limits: limits ?? null,
        history: kept ? kept.history : { t: [], v: [] },
      };
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
      if (r.levels && cid in r.levels) ch.level = r.levels[cid];
      record(ch, r.ts, value);
    }
  }
  notify({ sensor: s.id, values: true });
  if (statusChanged || r.levels) notify({ header: true });
}

/** The server read these sensors (nothing changed): their values are current. @param {AliveJson} a */
export function applyAlive(a) {
  for (const [id, ts] of Object.entries(a.ts)) {
    const s = sensors.get(id);
    if (!s || (s.ts !== null && s.ts >= ts)) continue;
    s.ts = ts;
    notify({ sensor: id });
  }
}

/** @param {Connection} state */
export function setConnection(state) {
  if (info.connection === state) return;
  info.connection = state;
  info.connectionSince = now();
  notify({ header: true });
  // every value and sparkline greys (or not) at once
  for (const id of sensors.keys()) notify({ sensor: id, values: true });
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
