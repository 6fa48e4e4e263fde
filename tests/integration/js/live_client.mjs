// The real JavaScript socket.io-client (from the npm registry, through package-lock.json) against
// the real server: connect, record every event for a while, print them as one JSON line.
// usage: node live_client.mjs URL SECONDS [websocket|polling|polling,websocket]
import { io } from "socket.io-client";

const [url, seconds = "1", transport = "websocket"] = process.argv.slice(2);
const events = [];
const socket = io(url, { transports: transport.split(","), reconnection: false, timeout: 5000 });
socket.on("snapshot", (data) => events.push(["snapshot", data]));
socket.on("reading", (data) => events.push(["reading", data]));
socket.on("connect_error", (err) => {
  console.error(`connect_error: ${err.message}`);
  process.exit(2);
});
socket.on("connect", () => {
  setTimeout(() => {
    const name = socket.io.engine?.transport?.name ?? null; // after an upgrade: "websocket"
    socket.disconnect();
    // exit once the pipe took it all: exit() right after write() cuts a long line at 64 KiB
    process.stdout.write(JSON.stringify({ transport: name, events }) + "\n", () => process.exit(0));
  }, Number(seconds) * 1000);
});
