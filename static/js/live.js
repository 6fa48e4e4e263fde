// @ts-check
/**
 * The network side: the values the page was served with, then the Socket.IO feed (`snapshot` on
 * every connect, then `reading`s and `alive`s) and the server's /api/health. socket.io-client
 * reconnects by itself; we only mirror its state. Other nodes' sensors come in the same events
 * (`node` says when a node comes, goes online or offline).
 */

import { io } from "../vendor/socket.io.esm.min.js";
import * as store from "./store.js";

/** Relative to the page, so the dashboard also works behind a reverse proxy under a sub-path. */
const base = new URL(".", location.href);

/** The snapshot the server put in the page: values on screen before any socket connects. */
export function boot() {
  const el = document.getElementById("snapshot");
  if (!el?.textContent) return;
  try {
    store.applySnapshot(JSON.parse(el.textContent));
  } catch {
    // a page without one (opened from a file, say) just waits for the socket
  }
}

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
  socket.on("alive", store.applyAlive);
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
