// The real JavaScript socket.io-client (from the npm registry, through package-lock.json) against
// the real server: connect, record every event until enough readings came over the last of the
// transports asked for (after an upgrade, over the websocket), print them as one JSON line.
// usage: [PI_DASHBOARD_TOKEN=...] node live_client.mjs URL TRANSPORTS READINGS [SENSOR] [LIMIT_S]
//   TRANSPORTS: websocket | polling | polling,websocket; SENSOR: count only its readings.
// Waits for that condition, never for a time: past LIMIT_S (default 30) it exits 3 with what it
// has, and the test fails saying so.
import { io } from "socket.io-client";

const [url, transports = "websocket", wanted = "1", sensor = "", limit = "30"] =
  process.argv.slice(2);
const last = transports.split(",").at(-1);
const events = [];
let counted = 0;

function finish(code) {
  const name = socket.io.engine?.transport?.name ?? null; // after an upgrade: "websocket"
  socket.disconnect();
  // exit once the pipe took it all: exit() right after write() cuts a long line at 64 KiB
  process.stdout.write(JSON.stringify({ transport: name, events }) + "\n", () => process.exit(code));
}

const token = process.env.PI_DASHBOARD_TOKEN; // [server.auth] on: an API token
const socket = io(url, {
  transports: transports.split(","),
  reconnection: false,
  timeout: 5000,
  ...(token ? { auth: { token } } : {}),
});
socket.on("snapshot", (data) => events.push(["snapshot", data]));
socket.on("reading", (data) => {
  events.push(["reading", data]);
  if (socket.io.engine?.transport?.name === last && (!sensor || data.sensor === sensor)) {
    counted += 1;
    if (counted === Number(wanted)) finish(0);
  }
});
socket.on("connect_error", (err) => {
  console.error(`connect_error: ${err.message}`);
  process.exit(2);
});
setTimeout(() => {
  console.error(`only ${counted} of ${wanted} readings over ${last} in ${limit} s`);
  finish(3);
}, Number(limit) * 1000);
