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

/**
 * A "Log out" button at the end of `slot`, only when this browser is logged in with a session
 * (not when login is off, nor on a trusted network's kiosk). Logging out ends the session on the
 * server, which closes this page's socket.
 * @param {Element | null} slot
 * @param {string} [className] the header's own button class, so it looks like its neighbours
 */
export async function mountLogout(slot, className = "logout") {
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
  button.className = className;
  button.textContent = "Log out";
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
