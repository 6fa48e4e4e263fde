// @ts-check
/** The page header: title from /api/health, the live/offline badge, and a one-line summary. */

import * as store from "../store.js";
import { formatAge, formatBytes } from "../format.js";

/** @type {{title: HTMLElement, conn: HTMLElement, connText: HTMLElement, summary: HTMLElement, foot: HTMLElement, banner: HTMLElement} | null} */
let refs = null;
let frame = 0;

const CONNECTION_TEXT = { connecting: "connecting", live: "live", offline: "offline" };

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
  };
}

/** Store subscriber. @param {import("../store.js").Change} change */
export function invalidate(change) {
  if (!change.header) return;
  if (!frame) frame = requestAnimationFrame(render);
}

/** Redraw the "offline for 2 min" text while offline. */
export function tick() {
  if (store.getInfo().connection !== "live") invalidate({ header: true });
}

function render() {
  frame = 0;
  if (!refs) return;
  const info = store.getInfo();
  const title = info.title || "pi-dashboard";
  if (refs.title.textContent !== title) refs.title.textContent = title;
  if (document.title !== title) document.title = title;

  refs.conn.dataset.state = info.connection;
  let text = CONNECTION_TEXT[info.connection];
  refs.connText.textContent = text;
  if (info.connection === "offline" && info.connectionSince !== null) {
    text = `offline since ${formatAge(store.now() - info.connectionSince)}, reconnecting`;
  }
  refs.conn.title = text;
  refs.conn.setAttribute("aria-label", `Connection: ${text}`);

  const sensors = store.allSensors();
  const failing = sensors.filter((s) => s.status === "error").length;
  const waiting = sensors.filter((s) => s.status === "pending").length;
  const parts = [`${sensors.length} sensor${sensors.length === 1 ? "" : "s"}`];
  if (failing) parts.push(`${failing} failing`);
  if (waiting) parts.push(`${waiting} waiting`);
  const alerts = info.alerts?.active ?? 0;
  if (alerts) parts.push(`${alerts} alert${alerts === 1 ? "" : "s"}`);
  refs.summary.dataset.alerts = info.alerts?.alarm ? "alarm" : alerts ? "warn" : "none";
  refs.summary.textContent = info.snapshotReceived ? parts.join(" · ") : "";
  refs.summary.dataset.failing = String(failing > 0);

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
  refs.foot.textContent = foot.join(" · ");

  if (info.protocolMismatch !== null) {
    refs.banner.hidden = false;
    refs.banner.textContent = `The server speaks protocol ${info.protocolMismatch}, this page ${store.PROTOCOL}: reload the page.`;
  } else {
    refs.banner.hidden = true;
  }
}
