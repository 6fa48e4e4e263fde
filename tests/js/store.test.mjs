// node --test: static/js/store.js, the page's only state (no DOM, no framework). The store is
// one module instance for the whole file: each test uses its own sensor ids.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as store from "../../static/js/store.js";

const T = 1_800_000_000;
const channel = (id, extra = {}) => ({
  id, name: id, unit: "°C", kind: "temperature", state_class: "measurement", precision: 1,
  binary: false, value: 20, ts: T, status: "ok", ...extra,
});
const sensor = (id, room, extra = {}) => ({
  id, type: "demo", name: id, room, interval: 1, status: "ok", ts: T, channels: [channel("t")], ...extra,
});
function snapshot(sensors, extra = {}) {
  return { protocol: store.PROTOCOL, server_time: T, sensors, ...extra };
}

test("rooms in config order, sensors without one last", () => {
  store.applySnapshot(snapshot([sensor("a", null), sensor("b", "Cellar"), sensor("c", "Attic"), sensor("d", "Cellar")]));
  assert.deepEqual(store.rooms().map((g) => [g.room, g.sensors.map((s) => s.id)]),
    [["Cellar", ["b", "d"]], ["Attic", ["c"]], [null, ["a"]]]);
});

test("other nodes' sensors: a section per node after ours, keyed node/id, named by the node", () => {
  const garage = { id: "garage", name: "Garage", online: true, since: T, url: null };
  const empty = { id: "shed", name: "Shed", online: false, since: null, url: null };
  store.applySnapshot(snapshot(
    [sensor("a", "Cellar"), sensor("a", null, { node: "garage" }), sensor("b", null)],
    { nodes: [garage, empty], recent: { "garage/a": { t: { t0: T - 10, t: [0, 5], v: [19, 20] } } } },
  ));
  assert.deepEqual(store.rooms().map((g) => [g.node, g.room, g.sensors.map((s) => s.id)]),
    [["", "Cellar", ["a"]], ["", null, ["b"]], ["garage", null, ["garage/a"]], ["shed", null, []]]);
  const theirs = store.getSensor("garage/a");
  assert.equal(theirs.sensor, "a");
  assert.equal(store.placeOf(theirs), "Garage");
  assert.equal(store.placeOf(store.getSensor("a")), "Cellar");
  assert.deepEqual(theirs.channels.get("t").history.v.slice(0, 2), [19, 20], "recent keyed node/id");
  store.applyReading({ sensor: "a", node: "garage", ts: T + 1, values: { t: 30 }, status: "ok" });
  assert.equal(theirs.channels.get("t").value, 30);
  assert.equal(store.getSensor("a").channels.get("t").value, 20, "ours is another sensor");
  store.applyAlive({ server_time: T + 9, ts: { "garage/a": T + 9 } });
  assert.equal(theirs.ts, T + 9);
  store.applyNode({ ...garage, online: false, since: T + 9 });
  assert.equal(store.getNode("garage").online, false);
});

test("a reading merges values and the server's level; alive moves the last read", () => {
  const seen = [];
  const off = store.subscribe((c) => seen.push(c));
  store.applySnapshot(snapshot([sensor("a", null, { channels: [channel("t", { level: "ok", limits: { warn_above: 25 } })] })]));
  store.setConnection("live");
  store.applyReading({ sensor: "a", ts: T + 5, values: { t: 26 }, status: "ok", levels: { t: "warn_above" } });
  const s = store.getSensor("a");
  const ch = s.channels.get("t");
  assert.equal(ch.value, 26);
  assert.equal(ch.level, "warn_above", "the level is the server's, never re-derived");
  assert.deepEqual(ch.limits, { warn_above: 25 });
  assert.equal(store.countOutOfRange(T + 5), 1);
  assert.ok(seen.some((c) => c.sensor === "a" && c.values));
  store.applyAlive({ server_time: T + 9, ts: { a: T + 9, nobody: T + 9 } });
  assert.equal(s.ts, T + 9);
  store.applyAlive({ server_time: T + 9, ts: { a: T + 7 } });
  assert.equal(s.ts, T + 9, "an older read never moves it back");
  off();
});

test("stale after three intervals without a read, whatever the values did", () => {
  store.applySnapshot(snapshot([sensor("a", null, { interval: 2 })]));
  store.setConnection("live");
  const s = store.getSensor("a");
  assert.equal(store.isStale(s, T + 5.9), false);
  assert.equal(store.isStale(s, T + 6.1), true);
  store.applyAlive({ server_time: T + 6, ts: { a: T + 6 } });
  assert.equal(store.isStale(s, T + 6.1), false, "alive says a quiet sensor was read");
  assert.equal(store.isGreyed(s, T + 6.1), false);
  store.setConnection("offline");
  assert.equal(store.isGreyed(s, T + 6.1), true, "offline greys every value at once");
  store.setConnection("live");
  store.applyReading({ sensor: "a", ts: T + 7, values: {}, status: "error", error: "NACK" });
  assert.equal(store.isGreyed(s, T + 7), true);
  assert.equal(s.error, "NACK");
});

test("the snapshot's hour seeds the sparkline, gaps kept, and a reconnect keeps it", () => {
  const recent = { seeded: { t: { t0: T - 3000, t: [0, 60, 120, 180], v: [20, 21, null, 22] } } };
  store.applySnapshot(snapshot([sensor("seeded", null, { channels: [channel("t", { value: 22, ts: T - 2820 })] })], { recent }));
  const h = store.getSensor("seeded").channels.get("t").history;
  assert.deepEqual(h.v, [20, 21, null, 22]);
  store.applyReading({ sensor: "seeded", ts: T, values: { t: 23 }, status: "ok" });
  store.applySnapshot(snapshot([sensor("seeded", null, { channels: [channel("t", { value: 23, ts: T })] })]));
  assert.deepEqual(store.getSensor("seeded").channels.get("t").history.v, [20, 21, null, 22, 23]);
});

test("points are thinned to about SPARK_POINTS an hour, the newest always last", () => {
  const h = { t: [], v: [] };
  for (let i = 0; i <= 7200; i += 1) store.addPoint(h, T + i, i);
  assert.ok(h.t.length <= store.SPARK_POINTS + 2, `${h.t.length} points`);
  assert.equal(h.t[h.t.length - 1], T + 7200);
  assert.ok(h.t[0] >= T + 7200 - store.SPARK_WINDOW_S - 60, "only the last hour");
  store.addPoint(h, T + 7201, null);
  store.addPoint(h, T + 7202, null);
  assert.equal(h.v.filter((v) => v === null).length, 1, "one gap marker");
});

test("a protocol the page does not speak is noticed", () => {
  store.applySnapshot({ ...snapshot([]), protocol: 99 });
  assert.equal(store.getInfo().protocolMismatch, 99);
  store.applySnapshot(snapshot([]));
  assert.equal(store.getInfo().protocolMismatch, null);
});
