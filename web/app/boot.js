// Boot progress for the PyScript page: says what is loading, then ready, or shows the error.
// Python calls window.pyrtviBoot.ready(info) when the app is up; anything that fails before
// that (a missing runtime file, an import error) ends in a visible error, never a blank page.
//
// The console is usable before Python: its panels are plain HTML, drawn at first paint, and
// until Python is up this module holds what the person does with them. A click on Connect or a
// message sent is queued (the transport pill says "starting…", the message shows as pending);
// ready() hands the queue to Python, which carries it out (main.py, Console.carry_out). The
// settings are plain inputs: Python reads them when it connects.
const root = document.documentElement;
const text = () => document.getElementById("boot-text");
const bar = () => document.getElementById("boot-progress");

const stages = [
  [/core\.js$/, "Loading PyScript…"],
  [/pyodide\.mjs$/, "Downloading the Python runtime (Pyodide)…"],
  [/pyodide\.asm\.wasm$/, "Compiling the Python runtime…"],
  // The fast boot restores a memory snapshot; a plain one reads the standard library.
  [/(python_stdlib\.zip|snapshot\.bin)$/, "Loading Python (memory snapshot, standard library)…"],
  [/rtvi\.zip$/, "Loading the rtvi client package…"],
];
let reached = 0;

function setText(message) {
  const el = text();
  if (el) el.textContent = message;
}

/** PyScript has run the page's scripts (main.py): see the `.py-error` observer below. */
let scriptsDone = false;
addEventListener("py:all-done", () => (scriptsDone = true), { once: true });

/** `script`: an error of the page's script, shown even after ready until it has run. */
function fail(message, { script = false } = {}) {
  if (root.dataset.boot === "error") return;
  if (root.dataset.boot === "ready" && !(script && !scriptsDone)) return;
  root.dataset.boot = "error";
  setText("Python failed to load.");
  const box = document.getElementById("boot-error");
  if (box) {
    box.hidden = false;
    box.textContent = String(message);
  }
}

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const url = new URL(entry.name, location.href);
    // A missing snapshot is not fatal: the interpreter module boots plain without it. Nor are
    // our package zips after a snapshot boot: their modules are in memory already.
    const optional =
      /\/snapshot\.bin$/.test(url.pathname) ||
      (root.dataset.pyrtviBoot === "snapshot" && /\/py\/[^/]+\.zip$/.test(url.pathname));
    if (entry.responseStatus >= 400 && !optional && /\/(runtime|py)\//.test(url.pathname)) {
      fail(`${url.pathname} answered HTTP ${entry.responseStatus}`);
    }
    // After an error (or ready), later downloads must not overwrite what the page says.
    if (root.dataset.boot !== "loading") continue;
    stages.forEach(([pattern], index) => {
      if (pattern.test(url.pathname) && index + 1 > reached) {
        reached = index + 1;
        const next = stages[index + 1];
        if (next) setText(next[1]);
        else setText("Starting Python…");
        if (bar()) bar().value = reached;
      }
    });
  }
}).observe({ type: "resource", buffered: true });

window.addEventListener("error", (event) => fail(event.message || event.error));
window.addEventListener("unhandledrejection", (event) =>
  fail(event.reason && event.reason.message ? event.reason.message : event.reason),
);
// PyScript reports interpreter and script failures through its own error element. The console
// is ready before PyScript runs main.py when the interpreter module started it early
// (data-pyrtvi-start): a failure of main.py is still the page's, shown until it has run.
new MutationObserver(() => {
  const pyError = document.querySelector(".py-error");
  if (pyError) fail(pyError.textContent, { script: true });
}).observe(document.documentElement, { childList: true, subtree: true });

/** What the person did before Python was up: `{kind: "connect"}`, `{kind: "text", text, mode}`. */
const queued = [];
const byId = (id) => document.getElementById(id);

function starting() {
  const pill = byId("transport-state");
  if (pill) {
    pill.textContent = "starting…";
    pill.dataset.state = "starting";
  }
}

function pendingTurn(text) {
  const list = byId("transcript");
  if (!list) return;
  const item = document.createElement("li");
  item.className = "turn user pending";
  item.dataset.role = "user";
  item.dataset.pending = "true";
  for (const [name, value] of [["who", "You"], ["text", text], ["spoken", "starting…"]]) {
    const span = document.createElement("span");
    span.className = name;
    span.textContent = value;
    item.append(span);
  }
  list.append(item);
}

// Capture listeners on the document: they see the events before any of Python's (which bind
// to the elements once the console is built), and only while the page is loading.
document.addEventListener(
  "click",
  (event) => {
    if (root.dataset.boot !== "loading" || !event.target.closest?.("#connect")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!queued.some((action) => action.kind === "connect")) queued.push({ kind: "connect" });
    byId("connect").disabled = true;
    starting();
  },
  true,
);
document.addEventListener(
  "submit",
  (event) => {
    if (root.dataset.boot !== "loading" || event.target.id !== "text-form") return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const input = byId("text-input");
    const text = input.value.trim();
    if (!text) return;
    queued.push({ kind: "text", text, mode: byId("text-mode").value });
    input.value = "";
    pendingTurn(text);
    starting();
  },
  true,
);

// The server field, as Python would fill it (its origin and the path the page is mounted at).
const server = byId("base-url");
if (server && !server.value) server.value = location.origin + (root.dataset.pyrtviBase || "");

const WATCHDOG_MS = 120000;
setTimeout(() => fail(`Python did not start within ${WATCHDOG_MS / 1000} s`), WATCHDOG_MS);

window.pyrtviBoot = {
  fail,
  /** Python is up: the page is its from now on; returns what was queued before (and empties it). */
  ready(info) {
    if (root.dataset.boot === "error") return [];
    root.dataset.boot = "ready";
    // performance.now() counts from navigation start.
    const ms = Math.round(performance.now());
    root.dataset.bootMs = String(ms);
    if (bar()) bar().value = bar().max;
    setText(`Python ready in ${(ms / 1000).toFixed(1)} s${info ? " — " + info : ""}`);
    return queued.splice(0);
  },
};
