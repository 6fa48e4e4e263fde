// @ts-check
/** The login page: posts the password as JSON (docs/security.md), then opens the dashboard. */

/** @param {string} id */
function get(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`login.html lacks #${id}`);
  return e;
}

const form = /** @type {HTMLFormElement} */ (get("login"));
const input = /** @type {HTMLInputElement} */ (get("password"));
const button = /** @type {HTMLButtonElement} */ (get("submit"));
const error = get("login-error");

/** The dashboard's own title ([server] title), as its page shows it. */
fetch("auth/session", { cache: "no-store" })
  .then((resp) => resp.json())
  .then((info) => {
    if (!info.title) return;
    get("title").textContent = info.title;
    document.title = `Log in · ${info.title}`;
  })
  .catch(() => {});

/** @param {string} text */
function show(text) {
  error.textContent = text;
  error.hidden = !text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!input.value) return show("Enter the password.");
  button.disabled = true;
  show("");
  try {
    const resp = await fetch("auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ password: input.value }),
      credentials: "same-origin",
    });
    if (resp.ok) {
      location.replace("./");
      return;
    }
    const body = await resp.json().catch(() => ({}));
    show(body.error ? `${body.error[0].toUpperCase()}${body.error.slice(1)}.` : `Error ${resp.status}.`);
    input.select();
  } catch {
    show("The dashboard does not answer. Check the connection and try again.");
  } finally {
    button.disabled = false;
  }
});
