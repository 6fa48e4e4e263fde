// @ts-check
/**
 * Login on the page's side (docs/security.md): a socket refused for want of a login goes to the
 * login page, and a browser logged in with a password gets a "Log out" button in the header.
 */

const base = new URL(".", location.href);
const REFUSED = new Set(["login required", "invalid or revoked token"]);

/** The login page, back here once logged in. */
function toLogin() {
  location.replace(new URL("login", base));
}

/**
 * Send the page to the login page when the server refuses the socket for want of a login.
 * @param {{on: (event: string, fn: (err: Error) => void) => unknown}} socket
 */
export function guard(socket) {
  socket.on("connect_error", (err) => {
    if (REFUSED.has(err.message)) toLogin();
  });
}

/** A door with an arrow leaving it, drawn like the header's other icons (stroke: currentColor). */
const ICON = ["M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3", "M10 17l-5-5 5-5", "M5 12h11"];

/** The icon, in the SVG namespace of the header's own logo; null if the page has none. */
function icon() {
  const ns = document.querySelector("header svg")?.namespaceURI;
  if (!ns) return null;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICON) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/**
 * A "Log out" button at the end of `slot`, only when this browser is logged in with a session
 * (not when login is off, nor on a trusted network's kiosk). Logging out ends the session on the
 * server, which closes this page's socket.
 * @param {Element | null} slot
 */
export async function mountLogout(slot) {
  if (!slot) return;
  let info;
  try {
    const resp = await fetch(new URL("auth/session", base), { cache: "no-store" });
    info = await resp.json();
  } catch {
    return;
  }
  if (!info.auth || info.via !== "session") return;
  const button = document.createElement("button");
  button.type = "button";
  button.id = "logout";
  button.className = "logout";
  button.title = "Log out";
  button.setAttribute("aria-label", "Log out");
  const drawn = icon();
  if (drawn) button.append(drawn);
  else button.textContent = "Log out";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await fetch(new URL("auth/logout", base), { method: "POST", cache: "no-store" });
    } finally {
      toLogin();
    }
  });
  slot.append(button);
}
