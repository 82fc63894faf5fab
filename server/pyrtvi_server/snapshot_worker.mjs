// Making a Pyodide memory snapshot with our modules imported, in two places:
// - at setup, in node (tools/boot_snapshot.mjs imports the functions below): the shipped snapshot;
// - in the visitor's browser, as a module Worker that our interpreter module starts once the page
//   is idle after a plain first visit (the local snapshot): every file it needs is in the HTTP
//   cache already, so it costs CPU on another thread and no download; the snapshot goes to
//   Cache Storage, and the next visit boots from it (see interpreter.mjs).

/** Python that imports `modules` (skipping, and reporting, those that fail) and `stdlib`. */
const IMPORT_SCRIPT = `
import importlib, json, sys
imported, skipped = [], {}
sys.path.insert(0, "/home/pyodide")
for name in json.load(open("/tmp/modules.json")):
    try:
        importlib.import_module(name)
        imported.append(name)
    except BaseException as error:
        skipped[name] = f"{type(error).__name__}: {error}"
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]
sys.path.remove("/home/pyodide")
for name in json.load(open("/tmp/stdlib_imports.json")):  # what PyScript's own start imports
    importlib.import_module(name)
# Stdlib files already imported: the shipped snapshot's stdlib zip does not need to carry them.
archive = next(p for p in sys.path if p.endswith(".zip")) + "/"
loaded = sorted(
    f.removeprefix(archive)
    for f in {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    if isinstance(f, str) and f.startswith(archive)
)
# The path finders' caches (importlib.invalidate_caches() would also import importlib.metadata,
# which the page does not need, into the snapshot).
for finder in list(sys.path_importer_cache.values()):
    if hasattr(finder, "invalidate_caches"):
        finder.invalidate_caches()
# Every module of our packages now in memory (what the listed ones import too).
ours = {name.partition(".")[0] for name in imported}
in_memory = sorted(m for m in sys.modules if m.partition(".")[0] in ours)
result = json.dumps(
    {"imported": imported, "skipped": skipped, "stdlib_loaded": loaded, "in_memory": in_memory}
)
# The page mounts its zip at the same path: no directory of this one may stay cached.
import gc, zipimport
zipimport._zip_directory_cache.clear()
# What the imports left in caches is memory the snapshot would carry: compiled patterns,
# typing's generic aliases, source lines, the type attribute cache.
import linecache, re, typing
re.purge()
linecache.clearcache()
for clear in getattr(typing, "_cleanups", ()):
    clear()
sys._clear_internal_caches() if hasattr(sys, "_clear_internal_caches") else sys._clear_type_cache()
del imported, skipped, archive, loaded, ours, in_memory
gc.collect()
if zipimport._zip_directory_cache:
    raise RuntimeError(f"zip directories still cached: {list(zipimport._zip_directory_cache)}")
result
`;

/**
 * Imports our modules (their files already under /home/pyodide) and the stdlib modules PyScript's
 * start imports, in a Pyodide started with `_makeSnapshot`. The page's modules may keep
 * references to browser globals (`document = js.document`): Pyodide records such a reference by
 * its path from globalThis and resolves it again in the page, so an empty `document` stands in
 * here; a module that *uses* the DOM at import time fails and is left out (the page imports it).
 */
export function importForSnapshot(py, modules, stdlibImports) {
  globalThis.document ??= {};
  py.FS.writeFile("/tmp/modules.json", JSON.stringify(modules));
  py.FS.writeFile("/tmp/stdlib_imports.json", JSON.stringify(stdlibImports));
  return JSON.parse(py.runPython(IMPORT_SCRIPT));
}

/** Zeroes every free malloc chunk (freed memory keeps old bytes, which compress badly). */
export function zeroFreeMemory(module) {
  // Allocate all free memory without growing the heap, zero it, free it again.
  module._malloc_set_footprint_limit(module._malloc_footprint());
  const blocks = [];
  let zeroed = 0;
  for (let size = 1 << 24; size >= 8; size >>= 1) {
    for (let block = module._malloc(size); block; block = module._malloc(size)) {
      const usable = module._malloc_usable_size(block);
      module.HEAPU8.fill(0, block, block + usable);
      zeroed += usable;
      blocks.push(block);
    }
  }
  for (const block of blocks) module._free(block);
  module._malloc_set_footprint_limit(0xffffffff); // no limit again
  return zeroed;
}

/**
 * The pack: "PYRS", u32 format 1, u32 unpacked length, u32 run count, then per run of non-zero
 * data (gaps of fewer than 256 zero bytes stay inside a run) u32 offset and u32 length, then the
 * runs' bytes in order. Little-endian. Unpacked by interpreter.mjs into a zeroed buffer.
 */
export function pack(snapshot, gap = 256) {
  const runs = [];
  let start = -1;
  let zeros = 0;
  for (let i = 0; i < snapshot.length; i++) {
    if (snapshot[i] !== 0) {
      if (start < 0) start = i;
      zeros = 0;
    } else if (start >= 0 && ++zeros === gap) {
      runs.push([start, i + 1 - gap - start]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, snapshot.length - zeros - start]);
  const table = 16 + 8 * runs.length;
  const out = new Uint8Array(table + runs.reduce((sum, [, length]) => sum + length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x53525950, true); // "PYRS"
  view.setUint32(4, 1, true);
  view.setUint32(8, snapshot.length, true);
  view.setUint32(12, runs.length, true);
  let at = table;
  runs.forEach(([offset, length], i) => {
    view.setUint32(16 + 8 * i, offset, true);
    view.setUint32(20 + 8 * i, length, true);
    out.set(snapshot.subarray(offset, offset + length), at);
    at += length;
  });
  return out;
}

/**
 * The local snapshot (in a Worker). `job`: `index` (Pyodide's URL), `stdlib` (the zip the page
 * booted with), `packages` (our zips' bytes), `modules`, `stdlibImports`, and where it goes:
 * Cache Storage `cache`, entry `url`. Entries of that cache outside `build` (the URL of this
 * build's directory: they are older builds') are deleted.
 */
async function makeLocalSnapshot(job) {
  const started = performance.now();
  const { loadPyodide } = await import(job.index + "pyodide.mjs");
  const py = await loadPyodide({ indexURL: job.index, stdLibURL: job.stdlib, _makeSnapshot: true });
  for (const zip of job.packages) py.unpackArchive(zip, "zip", { extractDir: "/home/pyodide" });
  const result = importForSnapshot(py, job.modules, job.stdlibImports);
  zeroFreeMemory(py._module);
  const snapshot = py.makeMemorySnapshot();
  const packed = pack(snapshot);
  const complete = Object.keys(result.skipped).length === 0;
  const cache = await caches.open(job.cache);
  const headers = {
    "content-type": "application/octet-stream",
    "x-pyrtvi-snapshot-size": String(snapshot.length),
    // Every module of our packages is in it: their files are only for tracebacks.
    "x-pyrtvi-complete": complete ? "1" : "0",
  };
  await cache.put(job.url, new Response(packed, { headers }));
  for (const request of await cache.keys()) {
    if (!request.url.startsWith(job.build)) await cache.delete(request);
  }
  return {
    ms: Math.round(performance.now() - started),
    bytes: packed.length,
    size: snapshot.length,
    imported: result.imported.length,
    skipped: result.skipped,
  };
}

if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope) {
  globalThis.onmessage = async ({ data }) => {
    try {
      globalThis.postMessage({ ok: true, ...(await makeLocalSnapshot(data)) });
    } catch (error) {
      globalThis.postMessage({ ok: false, error: String(error?.message ?? error).slice(-2000) });
    }
  };
}
