// @ts-check
/**
 * The network side: the Socket.IO feed (`snapshot` on every connect, then `reading`s) and the
 * server's /api/health. socket.io-client reconnects by itself; we only mirror its state.
 */

import { io } from "../vendor/socket.io.esm.min.js";
import * as store from "./store.js";

/** Relative to the page, so the dashboard also works behind a reverse proxy under a sub-path. */
const base = new URL(".", location.href);

export function connect() {
  const socket = io({
    path: new URL("socket.io", base).pathname,
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
  });
  socket.on("connect", () => {
    store.setConnection("live");
    refreshHealth();
  });
  socket.on("disconnect", (/** @type {string} */ reason) => {
    store.setConnection("offline");
    // a server-side disconnect is final for socket.io-client; a restarted daemon should come back
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", () => store.setConnection("offline"));
  socket.on("snapshot", store.applySnapshot);
  socket.on("reading", store.applyReading);
  socket.on("node", store.applyNode);
  return socket;
}

export async function refreshHealth() {
  try {
    const resp = await fetch(new URL("api/health", base), { cache: "no-store" });
    if (resp.ok) store.setServerInfo(await resp.json());
  } catch {
    // offline: the socket's own state already says so
  }
}

let checking = false;
let lastCheck = 0;
const CHECK_EVERY_MS = 2000;

/**
 * A sensor inside its deadbands sends no readings; before greying it as stale, ask the server
 * when it last read it (one small request, only while some sensor has gone quiet).
 */
export async function checkQuiet() {
  if (checking || Date.now() - lastCheck < CHECK_EVERY_MS || !store.needsCheck()) return;
  checking = true;
  lastCheck = Date.now();
  const asked = store.now();
  try {
    const resp = await fetch(new URL("api/sensors", base), { cache: "no-store" });
    if (resp.ok) store.applyChecked(await resp.json(), asked);
  } catch {
    // offline: stale values are shown as stale
  } finally {
    checking = false;
  }
}
