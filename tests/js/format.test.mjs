// node --test: static/js/format.js as the cards use it (no DOM, no framework).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as f from "../../static/js/format.js";

const meta = (m) => ({ id: "x", name: "X", binary: false, state_class: "measurement", unit: null, kind: "none", precision: 1, ...m });
const shown = (m, v) => f.formatWithUnit(meta(m), v);

test("numbers keep the channel's precision and unit", () => {
  assert.equal(shown({ unit: "°C", kind: "temperature", precision: 2 }, 21.3456), "21.35 °C");
  assert.equal(shown({ unit: "°C", precision: 1 }, -0.04), "0.0 °C", "no -0.0");
  assert.equal(shown({ unit: "%", precision: 0 }, 45.5), "46 %");
  assert.equal(shown({ unit: "hPa", precision: 1 }, 1013.25), "1013.3 hPa", "no separator below 10 000");
  assert.equal(shown({ precision: 2 }, 0.5), "0.50");
  assert.equal(shown({ unit: "°C" }, null), f.PLACEHOLDER);
  assert.equal(shown({ unit: "°C" }, Number.NaN), f.PLACEHOLDER);
});

test("units are never converted: the daemon did that once", () => {
  assert.equal(shown({ unit: "MiB", kind: "data_size", precision: 0 }, 4096), "4096 MiB");
  assert.equal(shown({ unit: "GB", kind: "data_size", precision: 2 }, 3.5), "3.50 GB");
  assert.equal(shown({ unit: "°F", kind: "temperature", precision: 1 }, 70.2), "70.2 °F");
  assert.equal(shown({ unit: "min", kind: "duration", precision: 0 }, 90), "90 min");
});

test("bytes get a size prefix, seconds read as a duration", () => {
  assert.equal(shown({ unit: "B", kind: "data_size", precision: 0 }, 276_276_224), "276 MB");
  assert.equal(shown({ unit: "B", kind: "data_size", precision: 0 }, 84_895_948_800), "84.9 GB");
  assert.equal(shown({ unit: "B", precision: 0 }, 512), "512 B");
  const secs = (v) => shown({ unit: "s", kind: "duration", precision: 0 }, v);
  assert.deepEqual([42, 725, 4 * 3600 + 720, 3 * 86400 + 4 * 3600 + 59].map(secs),
    ["42 s", "12 min 5 s", "4 h 12 min", "3 d 4 h"]);
});

test("on/off channels read as people say them", () => {
  const b = (m, v) => {
    const mm = meta({ binary: true, state_class: null, ...m });
    return `${f.binaryWords(mm)[0]}: ${f.formatValue(mm, v).text}`;
  };
  assert.equal(b({ kind: "door", id: "open", name: "Open" }, false), "Door: closed");
  assert.equal(b({ kind: "door", id: "open", name: "Open" }, true), "Door: open");
  assert.equal(b({ kind: "motion", id: "motion", name: "Motion" }, false), "Motion: clear");
  assert.equal(b({ kind: "none", id: "in_range", name: "In range" }, true), "Echo: in range");
  assert.equal(b({ kind: "none", id: "pressed", name: "Pressed" }, false), "Button: released");
  assert.equal(b({ kind: "problem", id: "undervoltage", name: "Under-voltage" }, false), "Under-voltage: no");
  assert.equal(b({ kind: "vibration", id: "state", name: "State" }, true), "Vibration: detected");
});

test("ages and spans", () => {
  assert.deepEqual([0.4, 12.7, 190, 7300, 200000].map(f.formatAge),
    ["just now", "12 s ago", "3 min ago", "2 h ago", "2 d ago"]);
  assert.equal(f.formatSpan(130), "2 min");
  assert.equal(f.formatSpan(0), "2 s");
});
