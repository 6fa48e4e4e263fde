// @ts-check
/**
 * Wiring only. A reading travels live.js (socket.on("reading")) -> store.js (applyReading merges it
 * and notifies) -> views/cards.js (invalidate, then one requestAnimationFrame writes the DOM).
 */

import * as store from "./store.js";
import { guard, mountLogout } from "./auth.js";
import { checkQuiet, connect, refreshHealth } from "./live.js";
import * as cards from "./views/cards.js";
import * as faults from "./views/faults.js";
import * as header from "./views/header.js";

const grid = document.getElementById("cards");
if (!grid) throw new Error("index.html lacks #cards");

cards.mount(grid);
header.mount(document);
store.subscribe(cards.invalidate);
store.subscribe(header.invalidate);
faults.mount(document);
store.subscribe(faults.invalidate); // the fault panel, in mock mode only
guard(connect());
mountLogout(document.querySelector(".top-inner"));

// the footer's history figures (size, writes today, unsaved seconds) change on their own
setInterval(refreshHealth, 5000);
// ages, staleness and the sparklines' time axis move on their own
setInterval(() => {
  checkQuiet();
  cards.redrawAll();
  header.tick();
}, 1000);
