// @ts-check
/**
 * The page header and footer: title, live/offline badge, a one-line summary (sensors, failing,
 * stale, out of range, alerts firing), the offline banner (at once, with the time it began), the theme toggle kept in
 * localStorage, and what history costs.
 */

import * as store from "../store.js";
import { formatBytes, formatClock, formatSpan } from "../format.js";

/**
 * @typedef {object} Refs
 * @property {HTMLElement} title
 * @property {HTMLElement} conn
 * @property {HTMLElement} connText
 * @property {HTMLElement} summary
 * @property {HTMLElement} foot
 * @property {HTMLElement} banner
 * @property {HTMLButtonElement} theme
 */

/** @type {Refs | null} */
let refs = null;
let frame = 0;

const CONNECTION_TEXT = { connecting: "connecting", live: "live", offline: "offline" };
const THEME_KEY = "pi-dashboard.theme";
const THEMES = /** @type {const} */ (["auto", "light", "dark"]);
const THEME_TEXT = { auto: "Theme: automatic", light: "Theme: light", dark: "Theme: dark" };

/** @param {Document} doc */
export function mount(doc) {
  /** @param {string} id */
  const get = (id) => {
    const e = doc.getElementById(id);
    if (!e) throw new Error(`index.html lacks #${id}`);
    return e;
  };
  refs = {
    title: get("title"),
    conn: get("conn"),
    connText: get("conn-text"),
    summary: get("summary"),
    foot: get("foot"),
    banner: get("banner"),
    theme: /** @type {HTMLButtonElement} */ (get("theme")),
  };
  applyTheme(savedTheme());
  refs.theme.addEventListener("click", () => {
    const next = THEMES[(THEMES.indexOf(savedTheme()) + 1) % THEMES.length];
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // private mode: it lasts until the reload
    }
    applyTheme(next);
  });
}

/** @returns {typeof THEMES[number]} */
function savedTheme() {
  let v = null;
  try {
    v = localStorage.getItem(THEME_KEY);
  } catch {
    // no storage: follow the system
  }
  return v === "light" || v === "dark" ? v : "auto";
}

/** @param {typeof THEMES[number]} theme */
function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === "auto") delete root.dataset.theme;
  else root.dataset.theme = theme;
  if (refs) {
    refs.theme.dataset.theme = theme;
    refs.theme.setAttribute("aria-label", `${THEME_TEXT[theme]} (change)`);
    refs.theme.title = THEME_TEXT[theme];
  }
  document.dispatchEvent(new Event("themechange"));
}

/** Store subscriber. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (!change.header) return;
  if (!frame) frame = requestAnimationFrame(render);
}

/** Once a second: the banner's "offline for" and the summary's stale count move by themselves. */
export function tick() {
  invalidate({ header: true });
}

function render() {
  frame = 0;
  if (!refs) return;
  const info = store.getInfo();
  const t = store.now();
  // the server wrote the config's title into the page; /api/health only confirms it later
  const title = info.title || refs.title.textContent || "pi-dashboard";
  if (refs.title.textContent !== title) refs.title.textContent = title;
  if (document.title !== title) document.title = title;

  refs.conn.dataset.state = info.connection;
  refs.connText.textContent = CONNECTION_TEXT[info.connection];
  refs.conn.setAttribute("aria-label", `Connection: ${CONNECTION_TEXT[info.connection]}`);
  document.documentElement.dataset.connection = info.connection;

  const sensors = store.allSensors();
  const failing = sensors.filter((s) => s.status === "error").length;
  const stale = sensors.filter((s) => store.isStale(s, t)).length;
  const out = store.countOutOfRange(t);
  const parts = [`${sensors.length} sensor${sensors.length === 1 ? "" : "s"}`];
  if (failing) parts.push(`${failing} failing`);
  if (stale) parts.push(`${stale} stale`);
  if (out) parts.push(`${out} out of range`);
  const alerts = info.alerts?.active ?? 0;
  if (alerts) parts.push(`${alerts} alert${alerts === 1 ? "" : "s"}`);
  refs.summary.dataset.alerts = info.alerts?.alarm ? "alarm" : alerts ? "warn" : "none";
  const summary = info.snapshotReceived ? parts.join(" · ") : "";
  if (refs.summary.textContent !== summary) refs.summary.textContent = summary;
  refs.summary.dataset.failing = String(failing > 0);
  refs.summary.dataset.alarm = String(out > 0);

  const foot = ["pi-dashboard"];
  if (info.version) foot[0] += ` ${info.version}`;
  if (info.mock) foot.push("simulated hardware");
  const h = info.history;
  if (h) {
    // what history costs the SD card, and what a power cut would lose right now
    const bytes = (/** @type {number} */ n) => Object.values(formatBytes(n)).join(" ");
    const today = h.written_today_bytes === null ? "" : `, ${bytes(h.written_today_bytes)} written today`;
    foot.push(`history ${bytes(h.db_bytes)}${today}, ${Math.round(h.unflushed_s)} s unsaved`);
  }
  const footText = foot.join(" · ");
  if (refs.foot.textContent !== footText) refs.foot.textContent = footText;

  let banner = "";
  if (info.protocolMismatch !== null) {
    banner = `The server speaks protocol ${info.protocolMismatch}, this page ${store.PROTOCOL}: reload the page.`;
  } else if (info.connection === "offline" && info.connectionSince !== null) {
    const since = info.connectionSince;
    banner = `Offline since ${formatClock(since, t)} (${formatSpan(t - since)}) — reconnecting. Values shown are the last received.`;
  }
  refs.banner.hidden = !banner;
  if (refs.banner.textContent !== banner) refs.banner.textContent = banner;
  refs.banner.dataset.kind = info.protocolMismatch !== null ? "protocol" : "offline";
}
