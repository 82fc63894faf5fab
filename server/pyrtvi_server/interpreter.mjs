// pyrtvi's interpreter module: PyScript's `interpreter` config names it, and PyScript calls its
// loadPyodide() as it would Pyodide's. It adds the fast boot built by tools/build_boot.py:
// a memory snapshot with our modules already imported (`_loadSnapshot`) and the trimmed stdlib.
// Any failure of the snapshot (missing, refused by Pyodide) ends in a plain boot, never a broken
// page. The server fills in the two placeholders (paths are relative to this module's URL).
import { loadPyodide as pyodideLoad, version } from __PYODIDE_MJS__;

export { version };

const BOOT = __BOOT_CONFIG__;
const here = (path) => new URL(path, import.meta.url).href;
const mark = (name) => performance.mark("pyrtvi:" + name);

/** Starts at once (module evaluation), so the download overlaps PyScript's own start. */
function fetchSnapshot() {
  return fetch(here(BOOT.snapshot)).then((response) => {
    if (!response.ok) throw new Error(`snapshot: HTTP ${response.status}`);
    return response.arrayBuffer();
  }).then((buffer) => {
    mark("snapshot");
    return new Uint8Array(buffer);
  });
}

let snapshot = BOOT.snapshot ? fetchSnapshot() : null;
snapshot?.catch(() => {}); // handled in loadPyodide; never an unhandled rejection

function report(mode, reason, modules = []) {
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyrtviBoot = mode;
  globalThis.pyrtviBootInfo = { mode, reason: reason ? String(reason) : null, modules };
  if (reason) console.warn(`pyrtvi: plain boot (${reason})`);
}

export async function loadPyodide(options = {}) {
  mark("interpreter-start");
  const base = { ...options, indexURL: here(BOOT.index) };
  const plain = { ...base };
  if (BOOT.stdlib) base.stdLibURL = here(BOOT.stdlib);
  let pyodide = null;
  let reason = null;
  if (snapshot) {
    try {
      pyodide = await pyodideLoad({ ...base, _loadSnapshot: snapshot });
      // One random state baked into every visitor's snapshot: reseed from the OS.
      const modules = pyodide.runPython(
        "import sys, json\nif 'random' in sys.modules: sys.modules['random'].seed()\n" +
          "json.dumps(sorted(m for m in sys.modules if m.partition('.')[0] in ('rtvi', 'pyrtvi_page')))",
      );
      report("snapshot", null, JSON.parse(modules));
    } catch (error) {
      reason = error && error.message ? error.message : error;
      pyodide = null;
    }
    snapshot = null;
  }
  if (!pyodide) {
    // Without the snapshot, the trimmed stdlib only if the build made one (it matches the
    // sources); a refused snapshot falls back to the full stdlib, the safest plain boot.
    pyodide = await pyodideLoad(reason ? plain : base);
    report("plain", reason);
  }
  mark("interpreter-ready");
  return pyodide;
}
