// @ts-check
/**
 * Wiring only. A reading travels live.js (socket.on("reading")) -> store.js (applyReading merges it
 * and notifies) -> views/layout.js (marks the card dirty; one requestAnimationFrame writes it).
 */

import * as store from "./store.js";
import { guard, mountLogout } from "./auth.js";
import { boot, connect, refreshHealth } from "./live.js";
import * as layout from "./views/layout.js";
import * as chart from "./views/chart.js";
import * as faults from "./views/faults.js";
import * as header from "./views/header.js";

const grid = document.getElementById("rooms");
if (!grid) throw new Error("index.html lacks #rooms");

header.mount(document);
layout.mount(grid, { openChart: chart.open });
chart.mount(document);
faults.mount(document);
for (const view of [layout, header, chart, faults]) store.subscribe(view.invalidate);
boot(); // the values the page was served with...
layout.flush(); // ...in the DOM before the first paint
guard(connect()); // a socket refused for want of a login goes to the login page
mountLogout(document.querySelector(".top-tools"));

// the footer's history figures (size, writes today, unsaved seconds) change on their own
setInterval(refreshHealth, 5000);
// ages and staleness move on their own; sparklines redraw only when their window moved a pixel
setInterval(() => {
  layout.tick();
  header.tick();
}, 1000);
