// pyrtvi's interpreter module: PyScript's `interpreter` config names it, and PyScript calls its
// loadPyodide() as it would Pyodide's. It adds the fast boot built by tools/build_boot.py: the
// trimmed stdlib, and a memory snapshot with our modules already imported (`_loadSnapshot`).
// The snapshot comes from one of two places (the server's boot mode decides, see boot.py):
// - local: made in this browser. The first visit boots plain (the smallest download);
//   once the page is idle a Worker (snapshot_worker.mjs) makes the snapshot from the files in the
//   HTTP cache and puts it in Cache Storage; every later visit boots from it;
// - shipped (default): made at setup and downloaded with the page (the fastest first visit on
//   links of 9 Mbit/s and more, 3 MB more than a plain one). Once the first visit is idle, it
//   keeps decoded copies of the snapshot and the wasm in Cache Storage for the later visits
//   (see "The kept copies" below).
// Any failure of the snapshot (missing, refused by Pyodide) ends in a plain boot, never a broken
// page; a stored snapshot that failed is marked so and not made again for this build.
// The server fills in the two placeholders (paths are relative to this module's URL).
//
// It also brings our packages (`BOOT.packages`: rtvi's zip, and the console's): unpacked into the
// working directory (on sys.path) before loadPyodide() returns. When the snapshot has already
// imported every module of them, their files only serve tracebacks and linecache: they are then
// unpacked when the page is idle, off PyScript's critical path.
//
// Python starts when this module is evaluated (the console's HTML runs it as soon as it is in),
// not when PyScript calls loadPyodide(): the wasm compiles and the snapshot is unpacked as they
// arrive, and Python is restored while PyScript still starts; PyScript's call gets that Python.
//
// Two things make the shipped snapshot boot faster than handing Pyodide a downloaded snapshot:
// - Pyodide only needs the snapshot's length to create the memory and instantiate the wasm, so it
//   gets an empty buffer of the announced length at once and compiles, instantiates and
//   initialises the runtime while the snapshot still downloads; Python is restored once it is in.
// - The snapshot arrives packed (long runs of zeros left out: a third of the bytes to decode),
//   and its static region XORed with the memory the wasm's data segments give at instantiation
//   (the build did the same in node): XORing again with that memory restores it, so the static
//   data crosses the network once, in the wasm, instead of twice.
import { loadPyodide as pyodideLoad, version } from __PYODIDE_MJS__;

export { version };

const BOOT = __BOOT_CONFIG__;
const here = (path) => new URL(path, import.meta.url).href;
const mark = (name) => performance.mark("pyrtvi:" + name);

const fail = (why) => {
  throw new Error(`snapshot: ${why}`);
};

/**
 * The layout of the build's pack (see tools/boot_snapshot.mjs: runs of non-zero bytes) from its
 * first bytes `head`, or null until they hold its header and run table: `{ runs, data, end }`,
 * each run `[offset, length, at]` (where it goes in the snapshot of `size` bytes, and where its
 * bytes are in the pack), `data` where the first run's bytes are, `end` the pack's length.
 */
function packLayout(head, size) {
  if (head.length < 16) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0, true) !== 0x53525950) fail("not a pyrtvi snapshot pack");
  if (view.getUint32(4, true) !== 1) fail(`pack format ${view.getUint32(4, true)}`);
  const announced = view.getUint32(8, true);
  if (announced !== size) fail(`${announced} bytes, the build made ${size}`);
  const data = 16 + 8 * view.getUint32(12, true);
  if (head.length < data) return null;
  const runs = [];
  let at = data;
  for (let entry = 16; entry < data; entry += 8) {
    const offset = view.getUint32(entry, true);
    const length = view.getUint32(entry + 4, true);
    if (offset + length > size) fail("truncated");
    runs.push([offset, length, at]);
    at += length;
  }
  return { runs, data, end: at };
}

/** Writes `chunk`, the pack's bytes from its position `at`, where `layout`'s runs say. */
function place(layout, buffer, at, chunk) {
  const { runs } = layout;
  if (at < layout.data) {
    chunk = chunk.subarray(Math.min(chunk.length, layout.data - at)); // the header and table
    at = layout.data;
  }
  if (!chunk.length) return;
  if (at + chunk.length > layout.end) fail("trailing bytes");
  let run = 0; // the last run whose bytes start at or before `at`
  for (let high = runs.length - 1; run < high; ) {
    const middle = (run + high + 1) >> 1;
    if (runs[middle][2] <= at) run = middle;
    else high = middle - 1;
  }
  while (chunk.length) {
    const [offset, length, start] = runs[run++];
    const take = Math.min(length - (at - start), chunk.length);
    buffer.set(chunk.subarray(0, take), offset + at - start);
    chunk = chunk.subarray(take);
    at += take;
  }
}

/**
 * Unpacks the pack's bytes from position `from` to `to` (Infinity: its end), read from `body`
 * (a ReadableStream) as they arrive, into `buffer`: no copy of the whole pack is made. The part
 * that starts the pack (`from` 0) parses its layout and hands it to `found`; another part
 * waits for it (`layout`, a Promise) before it reads.
 */
async function unpackRange(body, buffer, from, to, layout = null, found = () => {}) {
  const reader = body.getReader();
  let known = from === 0 ? null : await layout;
  let head = new Uint8Array(0); // the header and the run table, until they are complete
  let at = from;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let chunk = value;
    if (!known) {
      const joined = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      head = joined;
      known = packLayout(head, buffer.length);
      if (!known) continue;
      found(known);
      chunk = head;
      at = 0;
    }
    if (at + chunk.length > to) fail("trailing bytes");
    place(known, buffer, at, chunk);
    at += chunk.length;
  }
  if (!known || at !== Math.min(to, known.end)) fail("truncated");
  return known;
}

/** Unpacks a whole pack (`body`, a ReadableStream of its bytes) into `buffer`. */
async function unpack(body, buffer) {
  await unpackRange(body, buffer, 0, Infinity);
}

/**
 * A snapshot of `size` bytes (unpacked) on its way: `buffer` at once, for Pyodide to size the
 * memory with; `arrived` once `fill(buffer)` has unpacked the pack's bytes into it.
 */
function incoming(size, fill) {
  const buffer = new Uint8Array(size);
  const arrived = fill(buffer).then(() => mark("snapshot"));
  arrived.catch(() => {}); // handled in loadPyodide; never an unhandled rejection
  return { buffer, arrived };
}

/** `fetch(url)`, an HTTP error thrown (`what` names the file in its message). */
function fetchOK(url, what, init) {
  return fetch(url, init).then((response) => {
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
    return response;
  });
}

/** The responses to the parts of `name` (`BOOT.parts[name]`, boot.PARTS), all requested now. */
function fetchParts(name) {
  return BOOT.parts[name].map((part) => fetchOK(here(part.url), name));
}

/**
 * A file the build cut in parts (`BOOT.parts[name]`, boot.PARTS) as one Response: every part is
 * requested at once (the console's HTML preloads them), and their bodies are read in order into
 * one stream (the wasm's streaming compile needs its bytes in order; see unpackShipped for the
 * snapshot's). A part that fails fails the stream (the caller's fallback then runs).
 */
function joinedParts(name, type) {
  const parts = fetchParts(name);
  for (const part of parts) part.catch(() => {}); // reported through the stream
  let next = 0;
  let reader = null;
  const body = new ReadableStream({
    async pull(controller) {
      for (;;) {
        if (!reader) {
          if (next === parts.length) return controller.close();
          reader = (await parts[next++]).body.getReader();
        }
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        reader = null;
      }
    },
    async cancel(reason) {
      reader?.cancel(reason).catch(() => {});
      for (const part of parts.slice(next)) part.then((r) => r.body.cancel(reason), () => {});
    },
  });
  return new Response(body, { headers: { "content-type": type } });
}

/** The shipped snapshot's bytes from the network (or the HTTP cache): whole or in parts. */
function snapshotResponse() {
  if (BOOT.parts) return Promise.resolve(joinedParts("snapshot.bin", "application/octet-stream"));
  return fetchOK(here(BOOT.snapshot), "snapshot");
}

/**
 * The shipped snapshot from the network (or the HTTP cache) unpacked into `buffer`; in parts,
 * each part as it arrives (the parts download at once, and the first one's run table says
 * where any byte of the pack goes): once the last byte is in, only its chunk is left to copy.
 */
async function unpackShipped(buffer) {
  if (!BOOT.parts) return unpack((await snapshotResponse()).body, buffer);
  const parts = BOOT.parts["snapshot.bin"];
  const responses = fetchParts("snapshot.bin");
  let found, lost;
  const layout = new Promise((resolve, reject) => ((found = resolve), (lost = reject)));
  layout.catch(() => {}); // the first part reports it
  const unpacked = parts.map(async ({ start, end }, index) => {
    const { body } = await responses[index];
    return unpackRange(body, buffer, start, end, layout, found);
  });
  unpacked[0].catch(lost); // the other parts wait for its layout
  const [known] = await Promise.all(unpacked);
  if (parts.at(-1).end !== known.end) fail("truncated");
}

/** The shipped snapshot, fetched at once (module evaluation). */
function fetchSnapshot() {
  const complete = BOOT.packagesInSnapshot;
  const snapshot = incoming(BOOT.snapshotSize, unpackShipped);
  return { source: "shipped", ...snapshot, delta: BOOT.snapshotDelta, complete };
}

const LOCAL = BOOT.local;
const localURL = LOCAL ? here(LOCAL.snapshot) : null;

/**
 * The local snapshot from Cache Storage: null when there is none (or no Cache Storage: it needs
 * a secure context), `{ refused }` when one failed to load before, else like fetchSnapshot's.
 */
async function storedSnapshot() {
  if (!globalThis.caches) return null;
  const response = await (await caches.open(LOCAL.cache)).match(localURL);
  if (!response) return null;
  const refused = response.headers.get("x-pyrtvi-refused");
  if (refused !== null) return { refused };
  const size = Number(response.headers.get("x-pyrtvi-snapshot-size")) || 0;
  const complete = response.headers.get("x-pyrtvi-complete") === "1";
  const snapshot = incoming(size, (buffer) => unpack(response.body, buffer));
  return { source: "local", ...snapshot, delta: 0, complete };
}

/** Marks the stored snapshot as refused: plain boots until the build changes (a new URL). */
async function refuseStored(reason) {
  const cache = await caches.open(LOCAL.cache);
  const why = String(reason).slice(0, 200).replace(/[^\x20-\x7e]/g, "?"); // a header value
  const headers = { "x-pyrtvi-refused": why };
  await cache.put(localURL, new Response("", { headers }));
}

// --- The kept copies (shipped mode): later visits read the snapshot and the wasm decoded ---
// The HTTP cache keeps the shipped snapshot and the wasm as they crossed the network (brotli)
// and decodes them again at every read. Once a first visit is idle, it stores both, decoded, in
// Cache Storage (`BOOT.kept`, entries under the build's URL: a new build never reads them); a
// later visit reads them from there, each checked against the length and SHA-256 the server
// gave for the build's file, and reads the file as a first visit does (from the HTTP cache)
// whenever a copy is missing, wrong or unreadable: never a broken page. A wrong copy is deleted
// and stored again once the page is idle. Where the console's HTML started their reads, the
// snapshot's copy is written straight into the wasm memory (keptIntoMemory).

const KEPT = BOOT.kept;
/** What became of the kept copies: `data-pyrtvi-kept` and `pyrtviBootInfo.kept`. */
let keptInfo = null;

function keptState(state, facts = {}) {
  keptInfo = { ...keptInfo, state, ...facts };
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyrtviKept = state;
  if (globalThis.pyrtviBootInfo) globalThis.pyrtviBootInfo.kept = keptInfo;
}

/** The kept copies' cache, opened when one is stored or deleted (a read needs no open). */
let keptCacheOpened = null;
function keptCache() {
  keptCacheOpened ??= caches.open(KEPT.cache);
  return keptCacheOpened;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * SHA-256 in a small Worker, so that a later visit's checks of its kept copies do not take the
 * main thread, which the boot needs meanwhile (reading, compiling, instantiating; 10-17 ms per
 * copy there on this machine). It is used once it has answered (`alive`); until then, or
 * where no Worker can be made (a page's CSP), the checks run on the main thread.
 */
const HASHER_SOURCE = `onmessage = async ({ data }) => {
  if (!data.bytes) return postMessage({ id: data.id });
  try {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data.bytes));
    const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
    if (data.back) postMessage({ id: data.id, hex, bytes: data.bytes }, [data.bytes]);
    else postMessage({ id: data.id, hex });
  } catch (error) {
    postMessage({ id: data.id, error: String(error?.message ?? error) });
  }
};`;

function startHasher() {
  const hasher = { worker: null, alive: false, next: 1, waiting: new Map() };
  try {
    const url = URL.createObjectURL(new Blob([HASHER_SOURCE], { type: "text/javascript" }));
    hasher.worker = new Worker(url, { name: "pyrtvi-hash" });
    URL.revokeObjectURL(url);
  } catch {
    return hasher;
  }
  const settleAll = (error) => {
    hasher.alive = false;
    for (const [, { reject }] of hasher.waiting) reject(error);
    hasher.waiting.clear();
  };
  hasher.worker.onmessage = ({ data }) => {
    if (data.id === 0) return void (hasher.alive = true);
    const waiting = hasher.waiting.get(data.id);
    hasher.waiting.delete(data.id);
    if (!waiting) return;
    if (data.error) waiting.reject(new Error(data.error));
    else waiting.resolve(data);
  };
  hasher.worker.onerror = (event) => {
    event.preventDefault(); // not the page's error: the checks fall back to the main thread
    settleAll(new Error(event.message || "the hash worker failed"));
  };
  hasher.worker.postMessage({ id: 0 }); // answered once it runs
  return hasher;
}

// Only where the HTML started the reads of the kept copies (the browser has them): a first visit
// and an embedding page make no Worker for this.
const hasher = KEPT && globalThis.pyrtviKeptReads && globalThis.Worker ? startHasher() : null;

/**
 * SHA-256 of `bytes` (an ArrayBuffer) in the hash worker when it is up (`bytes` is then
 * transferred: the caller no longer has them, unless `back`: the worker transfers them back),
 * else on this thread: `{ hex, bytes }` (the bytes the caller has afterwards).
 */
async function sha256Transferred(bytes, back = false) {
  if (!hasher?.alive) return { hex: await sha256(bytes), bytes };
  const id = hasher.next++;
  return new Promise((resolve, reject) => {
    hasher.waiting.set(id, { resolve, reject });
    hasher.worker.postMessage({ id, bytes, back }, [bytes]);
  });
}

/**
 * Throws unless `bytes` are the file `item` names (its length and SHA-256). `transfer`: the
 * hash may be computed in the hash worker, which takes the bytes (see sha256Transferred);
 * `"back"`: and gives them back. Returns the bytes the caller has afterwards.
 */
async function checkKept(item, bytes, transfer = false) {
  if (bytes.byteLength !== item.bytes) {
    throw new Error(`${item.entry}: ${bytes.byteLength} bytes, not ${item.bytes}`);
  }
  const hashed = transfer
    ? await sha256Transferred(bytes, transfer === "back")
    : { hex: await sha256(bytes), bytes };
  if (hashed.hex !== item.sha256) throw new Error(`${item.entry}: not the build's`);
  return hashed.bytes;
}

/**
 * The kept copy of `item` (a Response from Cache Storage), or null. One `caches.match` with
 * the cache's name: an `open` then a `match` are two round trips to the browser's storage
 * (~45 ms for the open alone on a later visit here).
 */
async function keptResponse(item) {
  if (!globalThis.caches) return null;
  return (await caches.match(here(item.entry), { cacheName: KEPT.cache })) || null;
}

/**
 * The reads of the kept copies that the console's HTML started (pages.py: KEPT_READS) while
 * this module was still on its way: `{ snapshot, wasm }` (Promises of the snapshot's bytes and
 * of the wasm's `{ module, bytes }`, null without an entry), or null (then they start here).
 */
const keptEarly = Promise.resolve(KEPT ? globalThis.pyrtviKeptReads : null).catch(() => null);

/** The kept wasm, compiled and read (its hash to check): `{ module, bytes }`, or null. */
async function readKeptWasm() {
  const early = await keptEarly;
  if (early) return early.wasm;
  const response = await keptResponse(KEPT.wasm);
  if (!response) return null;
  const module = WebAssembly.compileStreaming(response.clone());
  return { module, bytes: response.arrayBuffer() };
}

/** The kept snapshot's bytes (its hash to check), or null. */
async function readKeptSnapshot() {
  const early = await keptEarly;
  if (early) return early.snapshot;
  const response = await keptResponse(KEPT.snapshot);
  return response && response.arrayBuffer();
}

/** A kept copy that could not be used: deleted (stored again when the page is idle). */
function dropKept(item, error) {
  const message = String(error?.message ?? error);
  keptState("dropped", { error: message });
  console.warn(`pyrtvi: kept copy not used (${message})`);
  if (globalThis.caches) {
    keptCache()
      .then((cache) => cache.delete(here(item.entry)))
      .catch(() => {});
  }
}

/**
 * Tells the server (KEPT_COOKIE, boot.py) whether this browser has the kept copies: the
 * console's HTML then leaves out their preloads. Only on the server's own origin.
 */
function keptCookie(present) {
  const root = new URL(here("../../../"));
  if (!globalThis.document || root.origin !== globalThis.location?.origin) return;
  const value = present ? `${KEPT.key}; max-age=31536000` : "; max-age=0";
  document.cookie = `${KEPT.cookie}=${value}; path=${root.pathname}; SameSite=Lax`;
}

/** Which kept copies this visit used (keepLater stores the others). */
const keptUsed = { snapshot: false, wasm: false };

/** One chunk as a stream (what unpack reads). */
function oneChunk(bytes) {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(bytes));
      controller.close();
    },
  });
}

/**
 * The shipped snapshot (like fetchSnapshot's): from the kept copy when it is right, else from
 * the network. The copy is unpacked while its hash is computed; a wrong one is undone (zeroed)
 * before the network's pack is unpacked instead.
 */
function shippedSnapshot() {
  if (!KEPT) return fetchSnapshot();
  if (globalThis.pyrtviKeptReads && HEADER >= 48 && HEADER % 16 === 0) return keptIntoMemory();
  const buffer = new Uint8Array(BOOT.snapshotSize);
  const fromKept = async () => {
    const bytes = await readKeptSnapshot();
    if (!bytes) return false;
    mark("kept-read");
    // (No hash worker here: it is made only where the HTML started the reads, keptIntoMemory.)
    const results = await Promise.allSettled([
      checkKept(KEPT.snapshot, bytes),
      unpack(oneChunk(bytes), buffer),
    ]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return true;
  };
  const arrived = fromKept()
    .catch((error) => {
      dropKept(KEPT.snapshot, error);
      buffer.fill(0);
      return false;
    })
    .then(async (kept) => {
      keptUsed.snapshot = kept;
      if (!kept) await unpackShipped(buffer);
      mark("snapshot");
    });
  arrived.catch(() => {}); // handled in loadPyodide; never an unhandled rejection
  const complete = BOOT.packagesInSnapshot;
  return { source: "shipped", buffer, arrived, delta: BOOT.snapshotDelta, complete };
}

/**
 * The snapshot's header length: its image is the wasm memory, whole 64 KiB pages, so what the
 * snapshot has beyond them is Pyodide's header (magic, lengths, build id, its JSON).
 */
const HEADER = BOOT.snapshot ? BOOT.snapshotSize % 65536 : 0;

/**
 * The shipped snapshot where the console's HTML started the reads of the kept copies (a later
 * visit): Pyodide gets only the header (`buffer`), and `into(heap, base)` writes the image
 * straight into the wasm memory once it exists (see unpackInto), from the kept copy once its
 * hash has passed, else from the network: no 31 MB buffer for Pyodide to copy again.
 */
function keptIntoMemory() {
  const header = new Uint8Array(HEADER);
  const checked = (async () => {
    const bytes = await readKeptSnapshot();
    if (!bytes) return null;
    mark("kept-read");
    // Hashed in the hash worker while this thread creates the module; it gives the bytes back.
    return new Uint8Array(await checkKept(KEPT.snapshot, bytes, "back"));
  })().catch((error) => {
    dropKept(KEPT.snapshot, error);
    return null;
  });
  const pack = checked.then(async (kept) => {
    keptUsed.snapshot = kept !== null;
    return kept ?? new Uint8Array(await (await snapshotResponse()).arrayBuffer());
  });
  pack.catch(() => {}); // handled in loadPyodide; never an unhandled rejection
  const into = async (heap, base) => {
    const bytes = await pack;
    unpackInto(bytes, header, heap, base);
    mark("snapshot");
    if (globalThis.pyrtviRestoreCheck === true) await checkRestore(bytes, header, heap, base);
  };
  const complete = BOOT.packagesInSnapshot;
  return { source: "shipped", buffer: header, into, delta: BOOT.snapshotDelta, complete };
}

/**
 * Writes the snapshot that `pack` holds (see unpack) into `header` (its first bytes) and the
 * wasm memory `heap` (the rest, its image, from address 0), every byte as Pyodide's copy of the
 * unpacked snapshot would leave it: what the pack left out is zeroed (the runtime's start wrote
 * there), the static region XORed with `base` (see restoreStatic).
 */
function unpackInto(pack, header, heap, base) {
  const layout = packLayout(pack, BOOT.snapshotSize);
  if (!layout || layout.end > pack.length) fail("truncated");
  if (layout.end < pack.length) fail("trailing bytes");
  const start = header.length;
  const size = BOOT.snapshotSize;
  if (size - start > heap.length) fail(`${size - start} bytes, the memory has ${heap.length}`);
  const image = new Uint8Array(heap.buffer, heap.byteOffset, size - start);
  const zero = (from, to) => {
    if (to > start) image.fill(0, Math.max(from, start) - start, to - start);
  };
  const put = (bytes, offset) => {
    const split = Math.max(0, Math.min(bytes.length, start - offset));
    if (split) header.set(bytes.subarray(0, split), offset);
    if (split < bytes.length) image.set(bytes.subarray(split), offset + split - start);
  };
  header.fill(0);
  let end = 0; // the snapshot's bytes before it are written
  for (const [offset, length, at] of layout.runs) {
    if (offset < end) fail("runs out of order");
    zero(end, offset);
    put(pack.subarray(at, at + length), offset);
    end = offset + length;
  }
  zero(end, size);
  const target = new Uint32Array(heap.buffer, heap.byteOffset, base ? base.length : 0);
  for (let i = 0; i < target.length; i++) target[i] ^= base[i];
}

/**
 * `pyrtviRestoreCheck = true` before this module runs (a test's): after unpackInto, the memory
 * and the header are compared with what the full copy leaves (unpacked into a buffer, its static
 * region undone, copied into the memory as Pyodide's restoreSnapshot does): the result replaces
 * the flag (`{ same, bytes }`).
 */
async function checkRestore(pack, header, heap, base) {
  const written = heap.slice();
  const full = new Uint8Array(BOOT.snapshotSize);
  await unpack(oneChunk(pack), full);
  if (base) restoreStatic(full, base);
  heap.set(full.subarray(header.length));
  const words = (bytes) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  const a = words(heap);
  const b = words(written);
  let same = heap.length === written.length && heap.length % 4 === 0;
  for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
  for (let i = 0; same && i < header.length; i++) same = header[i] === full[i];
  globalThis.pyrtviRestoreCheck = { same, bytes: heap.length };
}

/**
 * The wasm compiled from the kept copy (streaming from Cache Storage: Chromium's code cache
 * serves such a response too), its hash checked alongside; null when there is none or it is
 * wrong.
 */
async function compileKeptWasm() {
  try {
    const read = await readKeptWasm();
    if (!read) return null;
    const checked = read.bytes.then((bytes) => checkKept(KEPT.wasm, bytes, true));
    const [module] = await Promise.all([read.module, checked]);
    keptUsed.wasm = true;
    return module;
  } catch (error) {
    dropKept(KEPT.wasm, error);
    return null;
  }
}

// The kept copies wait a few seconds, and for no call to be on: reading 6 MB back from the HTTP
// cache, decoding, hashing and writing 21 MB took the CPU from a connect made right after the
// boot (bench.direct: the bot's answer to the offer 80 ms instead of 30 on two cores) and, during
// a call, from its audio. They are for the next visit.
const KEEP_AFTER_MS = 4000;

/**
 * After a shipped boot: the copies this visit did not read, stored once the page has been up
 * KEEP_AFTER_MS and is idle, each step between calls (`pyrtvi.betweenCalls`).
 */
function keepLater() {
  if (!KEPT) return;
  // A page that is never visited again (a test harness: a fresh context each run) opts out.
  if (globalThis.document?.documentElement.dataset.pyrtviKeep === "off") return keptState("off");
  if (!globalThis.caches) return keptState("unavailable", { error: "no Cache Storage here" });
  const missing = Object.keys(keptUsed).filter((name) => !keptUsed[name]);
  if (!missing.length) return keptState("used");
  keptCookie(false); // until they are stored again: the HTML preloads them meanwhile
  keptState("waiting");
  const gate = globalThis.pyrtvi;
  const quiet = async () => {
    if (!gate?.inCall?.()) return;
    keptState("waiting", { call: true });
    await gate.betweenCalls();
    keptState("storing", { call: false });
  };
  /** The file's bytes (from the HTTP cache), read again from the start if a call begins. */
  const read = async (item) => {
    for (;;) {
      await quiet();
      const abort = new AbortController();
      const stop = gate?.onCall?.(() => abort.abort());
      try {
        const init = { signal: abort.signal };
        const read = (url) => fetchOK(here(url), url, init).then((r) => r.arrayBuffer());
        if (!item.parts) return await read(item.source);
        // The parts this visit fetched (the whole file was never requested): joined.
        const parts = (await Promise.all(item.parts.map(read))).map((b) => new Uint8Array(b));
        const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
        parts.reduce((at, part) => (joined.set(part, at), at + part.length), 0);
        return joined.buffer;
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        stop?.();
      }
    }
  };
  afterStart(KEEP_AFTER_MS)
    .then(async () => {
      keptState("storing");
      const cache = await keptCache();
      for (const name of missing) {
        const item = KEPT[name];
        const bytes = await read(item);
        await quiet();
        await checkKept(item, bytes);
        await quiet();
        const headers = { "content-type": item.type };
        await cache.put(here(item.entry), new Response(bytes, { headers }));
      }
      const build = here("./");
      for (const request of await cache.keys()) {
        if (!request.url.startsWith(build)) await cache.delete(request); // older builds'
      }
      keptCookie(true);
      keptState("stored", { stored: missing });
    })
    .catch((error) => {
      const message = String(error?.message ?? error);
      keptState("failed", { error: message });
      console.warn(`pyrtvi: no kept copy for the next visit (${message})`);
    });
}

/**
 * The page's `<kind>Active(id, on)` (the ids that are on), `<any>()`, `<none>()` (a Promise
 * resolved when none is) and `<onStart>(listener)` (called as one begins; returns its undo).
 */
function activity(kind, any, none, onStart) {
  const ids = new Set();
  const waiting = [];
  const starting = new Set();
  return {
    [`${kind}Active`](id, active) {
      if (active && !ids.has(id)) starting.forEach((listener) => listener());
      if (active) ids.add(id);
      else ids.delete(id);
      if (!ids.size) waiting.splice(0).forEach((resolve) => resolve());
    },
    [any]: () => ids.size > 0,
    [none]: () => (ids.size ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve()),
    [onStart](listener) {
      starting.add(listener);
      return () => starting.delete(listener);
    },
  };
}

/**
 * "Client ready" for the page (docs/embedding.md): `pyrtvi.ready`, a Promise of the client, and
 * the `pyrtvi:ready` event on document, once the page's Python calls
 * `rtvi.embedding.client_ready(client)`; `pyrtvi.call(method, ...args)` made before that waits
 * for it (in call order) and returns a Promise of the method's result.
 */
function readyGate() {
  let resolve = null;
  const ready = new Promise((settle) => (resolve = settle));
  const gate = {
    ready,
    client: null,
    clientReady(client) {
      if (gate.client) return;
      gate.client = client;
      resolve(client);
      const event = new CustomEvent("pyrtvi:ready", { detail: { client } });
      globalThis.document?.dispatchEvent(event);
    },
    call: (method, ...args) => ready.then((client) => client[method](...args)),
    // Calls on (rtvi.embedding.call_active, connect() to disconnected): the kept copies, work
    // for later visits, wait for none to be (keepLater).
    ...activity("call", "inCall", "betweenCalls", "onCall"),
    // Connects in flight (rtvi.embedding.connect_active, to bot-ready or failure): the files
    // the boot fetches once idle (restLater, unpackLater) wait for none, not to take the CPU
    // from one made right after the boot (bench.direct).
    ...activity("connect", "connecting", "noConnect", "onConnect"),
  };
  return gate;
}
globalThis.pyrtvi ??= readyGate();

mark("interpreter-module");
const pending = BOOT.snapshot
  ? Promise.resolve(shippedSnapshot())
  : LOCAL
    ? storedSnapshot().catch(() => null)
    : Promise.resolve(null);
// Pyodide would import its 1 MB Emscripten module only once loadPyodide() runs: start now.
const factory = import(here(BOOT.index + "pyodide.asm.mjs")).then((module) => module.default);
factory.catch(() => {}); // loadPyodide() reports it

/**
 * The runtime's wasm, compiled from this module's evaluation on (streaming: from the preload, or
 * from the HTTP and code caches on a later visit), not only once PyScript has called
 * loadPyodide() and Pyodide asked for it; null when it cannot be (Pyodide then fetches it).
 */
const wasmURL = here(BOOT.index + "pyodide.asm.wasm");
const compiledWasm = !WebAssembly.compileStreaming
  ? Promise.resolve(null)
  : (KEPT ? compileKeptWasm() : Promise.resolve(null)).then(
      (module) => module ?? WebAssembly.compileStreaming(wasmResponse()).catch(() => null),
    );

/** The wasm from the network (or the HTTP cache): whole, or joined from its parts. */
function wasmResponse() {
  return BOOT.parts ? joinedParts("pyodide.asm.wasm", "application/wasm") : fetch(wasmURL);
}

/**
 * Runs `load()` (a loadPyodide) on the wasm compiled above: Pyodide's own request for the
 * binary gets a placeholder (the preload's bytes went to the compile; a second request could
 * download them again), and its instantiateStreaming of that placeholder instantiates the
 * compiled module instead.
 */
async function withCompiledWasm(load) {
  const module = await compiledWasm;
  if (!module) return load();
  const fetchOriginal = globalThis.fetch;
  const streamingOriginal = WebAssembly.instantiateStreaming;
  const placeholder = Promise.resolve(new Response(new Uint8Array(0)));
  function fetchWasm(input, init) {
    const url = typeof input === "string" || input instanceof URL ? String(input) : input?.url;
    if (url === wasmURL) return placeholder;
    return fetchOriginal.call(globalThis, input, init);
  }
  function instantiateStreaming(source, imports) {
    if (source !== placeholder) return streamingOriginal.call(WebAssembly, source, imports);
    return WebAssembly.instantiate(module, imports).then((instance) => ({ instance, module }));
  }
  globalThis.fetch = fetchWasm;
  WebAssembly.instantiateStreaming = instantiateStreaming;
  try {
    return await load();
  } finally {
    if (globalThis.fetch === fetchWasm) globalThis.fetch = fetchOriginal;
    if (WebAssembly.instantiateStreaming === instantiateStreaming) {
      WebAssembly.instantiateStreaming = streamingOriginal;
    }
  }
}

/** Undoes the build's XOR of the static region with `base` (the wasm's memory at instantiation). */
function restoreStatic(buffer, base) {
  const header = new Uint32Array(buffer.buffer, buffer.byteOffset, 4)[1];
  const target = new Uint32Array(buffer.buffer, buffer.byteOffset + header, base.length);
  for (let i = 0; i < base.length; i++) target[i] ^= base[i];
}

/**
 * Runs `load(createPyodideModule)` so that the wasm is compiled, instantiated and initialised
 * (Emscripten's linking, the constructors) while the snapshot still downloads: WebAssembly's
 * instantiate functions are wrapped to keep a copy of the static region as the data segments
 * leave it, and the Emscripten module factory hands the module to Pyodide, whose next step is
 * to restore the snapshot, only once the snapshot has arrived and its static region is undone.
 */
async function withSnapshotInstantiation(current, createModule, load) {
  const originals = {
    instantiate: WebAssembly.instantiate,
    instantiateStreaming: WebAssembly.instantiateStreaming,
  };
  let base = null;
  const wrap = (original) =>
    async function (...args) {
      const result = await original.apply(this, args);
      const memory = result?.instance?.exports?.memory;
      if (!base && memory instanceof WebAssembly.Memory) {
        base = new Uint32Array(memory.buffer.slice(0, current.delta));
      }
      return result;
    };
  const factory = async (settings) => {
    const module = await createModule(settings);
    // PyScript's .pyc while the snapshot downloads (a file system is all that needs, not
    // Python); where it is written from the kept copy (`into`), nothing is waited for here: boot()
    // writes them after the page's early start.
    const written = current.into ? null : writeBytecode(module.FS);
    if (current.delta && !base) {
      throw new Error("snapshot: the wasm memory was not seen at instantiation");
    }
    if (current.into) {
      await current.into(module.HEAP8, current.delta ? base : null);
    } else {
      await current.arrived;
      if (current.delta) restoreStatic(current.buffer, base);
    }
    await written;
    return module;
  };
  for (const [name, original] of Object.entries(originals)) {
    if (original) WebAssembly[name] = wrap(original);
  }
  const moduleOriginal = WebAssembly.Module;
  const modules = compileOnce(moduleOriginal);
  WebAssembly.Module = modules;
  try {
    return await load(factory);
  } finally {
    for (const [name, original] of Object.entries(originals)) {
      if (original) WebAssembly[name] = original;
    }
    if (WebAssembly.Module === modules) WebAssembly.Module = moduleOriginal;
  }
}

/**
 * `WebAssembly.Module` that compiles the same small bytes once: Emscripten's dynamic linking
 * wraps each JS function it puts in the table in a tiny module of its own
 * (convertJsFunctionToWasm: ~260 of them, whose bytes depend on the signature only, ~30
 * distinct), and a module can be instantiated any number of times. Larger bytes, and anything
 * else, go to `original` as given.
 */
function compileOnce(original) {
  const compiled = new Map();
  const proxy = new Proxy(original, {
    construct(target, args, newTarget) {
      const [bytes] = args;
      if (newTarget !== proxy || !(bytes instanceof Uint8Array) || bytes.length > 256) {
        return Reflect.construct(target, args, newTarget);
      }
      const key = String.fromCharCode(...bytes);
      let module = compiled.get(key);
      if (!module) compiled.set(key, (module = Reflect.construct(target, args)));
      return module;
    },
  });
  return proxy;
}

/** Our packages' zips, fetched in parallel. */
function fetchPackages() {
  const zips = Promise.all(
    BOOT.packages.map(async (path) => {
      const response = await fetch(here(path));
      if (!response.ok) {
        throw new Error(`${new URL(here(path)).pathname}: HTTP ${response.status}`);
      }
      return response.arrayBuffer();
    }),
  );
  zips.catch(() => {}); // awaited (plain boot) or reported (snapshot boot)
  return zips;
}

/**
 * Writes the files of a zip whose entries are all stored (not deflated: how the build and the
 * server make ours) into the working directory with Emscripten's FS, in JS; false (nothing
 * written) when it is not such a zip. Pyodide's unpackArchive runs Python's zipfile instead:
 * slower, and only once Python is up.
 */
function writeStoredZip(FS, zip) {
  const bytes = new Uint8Array(zip);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 22; // the end record, when the zip has no comment
  if (end < 0 || view.getUint32(end, true) !== 0x06054b50) return false;
  const count = view.getUint16(end + 10, true);
  const files = [];
  let at = view.getUint32(end + 16, true);
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || view.getUint32(at, true) !== 0x02014b50) return false;
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + skip;
    if (local + 30 > end || view.getUint32(local, true) !== 0x04034b50) return false;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (method !== 0 || start + size > end || name.startsWith("/") || name.includes(".."))
      return false;
    files.push([name, bytes.subarray(start, start + size)]);
  }
  const root = FS.cwd();
  for (const [name, data] of files) {
    const path = `${root}/${name}`;
    if (name.endsWith("/")) {
      FS.mkdirTree(path);
      continue;
    }
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, data);
  }
  return true;
}

function unpackPackages(pyodide, zips) {
  for (const zip of zips) {
    if (!writeStoredZip(pyodide.FS, zip)) pyodide.unpackArchive(zip, "zip", { extractDir: "." });
  }
}

/** PyScript's own package compiled (see tools/boot_snapshot.mjs); null when it cannot come. */
const bytecode = BOOT.pyscriptBytecode
  ? fetch(here(BOOT.pyscriptBytecode))
      .then((response) => (response.ok ? response.arrayBuffer() : null))
      .catch(() => null)
  : null;

/** The file systems that have PyScript's .pyc already (see writeBytecode). */
const bytecodeIn = new WeakSet();

/** PyScript's .pyc into `FS` as soon as Pyodide's module exists (before Python is restored). */
async function writeBytecode(FS) {
  const zip = await bytecode;
  if (zip && writeStoredZip(FS, zip)) bytecodeIn.add(FS);
}

// A shipped snapshot with every module in it: the zips wait for the idle page, download too.
// Otherwise they are fetched at once: a plain boot needs them, and after a local snapshot boot
// they are a revalidation of what the HTTP cache holds (and the Worker's input).
const packages = BOOT.snapshot && BOOT.packagesInSnapshot ? null : fetchPackages();

/**
 * Once PyScript has run the page's scripts (`py:all-done`, or 3 s), `waitMs` more, and the page
 * is idle.
 */
function afterStart(waitMs = 0) {
  const idle = globalThis.requestIdleCallback ?? ((callback) => setTimeout(callback, 50));
  return new Promise((resolve) => {
    globalThis.addEventListener?.("py:all-done", resolve, { once: true });
    setTimeout(resolve, 3000);
  })
    .then(() => new Promise((resolve) => setTimeout(resolve, waitMs)))
    .then(() => new Promise((resolve) => idle(resolve, { timeout: 2000 })));
}

/**
 * Files a shipped snapshot boot does without until the page is idle (and no connect is in
 * flight, `noConnect`): the rest of the stdlib (the
 * trimmed stdlib less what the snapshot imported: `BOOT.stdlibRest`, its modules; Pyodide mounts
 * an empty zip in its place) and our package zips (`BOOT.packagesLater`: the modules of ours that
 * are not in the snapshot). An import of one of their modules before they came puts them in place
 * at once and waits for them (a synchronous request: an import cannot await), so that it never
 * fails for want of a file (FILES_LATER, a finder at the end of sys.meta_path).
 */
const EMPTY_ZIP = "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";
const FILES_LATER = `
def files_later(names, put_now):
    import sys
    from _frozen_importlib_external import PathFinder  # (importlib.machinery is in the rest)

    names = frozenset(names.to_py())

    class FilesLater:
        """The last meta path finder until some files are in place: a module of theirs
        imported before puts them in place now (put_now) and is found again."""

        archive = next(p for p in sys.path if p.endswith(".zip"))
        pending = True

        def arrived(self):
            self.pending = False
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            for key, finder in list(sys.path_importer_cache.items()):
                if finder is None:  # a directory that was not there yet
                    del sys.path_importer_cache[key]
                elif hasattr(finder, "invalidate_caches"):
                    finder.invalidate_caches()

        def find_spec(self, name, path=None, target=None):
            if name not in names or self not in sys.meta_path:
                return None
            try:
                put_now()
            except Exception as error:
                raise ImportError(f"{name}: its file did not come ({error})", name=name) from error
            self.arrived()
            return PathFinder.find_spec(name, path, target)

    finder = FilesLater()
    sys.meta_path.append(finder)
    return finder
`;

/**
 * Runs the Python `source` in a namespace of its own (`exec`) and returns its `name` (a str as
 * a string, a function as a PyProxy). Not runPython, whose own parse and rewrite of the code
 * (for its last expression's value) cost ~2 ms more per call on a later visit's critical path.
 */
function execPython(pyodide, source, name) {
  const builtins = pyodide.pyimport("builtins");
  const namespace = builtins.dict();
  try {
    builtins.exec(source, namespace);
    return namespace.get(name);
  } finally {
    namespace.destroy();
    builtins.destroy();
  }
}

/** The bytes at `url`, synchronously (for an import, which cannot await a download). */
function fetchNow(url) {
  mark("fetch-now");
  const request = new XMLHttpRequest();
  request.open("GET", url, false);
  request.overrideMimeType("text/plain; charset=x-user-defined");
  request.send();
  if (request.status !== 200) throw new Error(`${url}: HTTP ${request.status}`);
  const text = request.responseText;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** FILES_LATER's function, compiled once per interpreter. */
const filesLaterMade = new WeakMap();

/** A FILES_LATER finder for `names`, whose files `put(bytes...)` puts in place from `urls`. */
function filesLater(pyodide, names, urls, put) {
  if (!filesLaterMade.has(pyodide)) {
    filesLaterMade.set(pyodide, execPython(pyodide, FILES_LATER, "files_later"));
  }
  return filesLaterMade.get(pyodide)(names, () => put(...urls.map(fetchNow)));
}

/** No connect in flight (`pyrtvi.noConnect`): a step of the files that come later may run. */
const noConnect = () => globalThis.pyrtvi?.noConnect?.() ?? Promise.resolve();

/** After a shipped snapshot boot on the empty zip: the rest of the stdlib, see EMPTY_ZIP. */
function restLater(pyodide) {
  const url = here(BOOT.stdlibSnapshot);
  const put = (zip) => pyodide.FS.writeFile(finder.archive, zip);
  const finder = filesLater(pyodide, BOOT.stdlibRest, [url], put);
  afterStart()
    .then(noConnect)
    .then(() => fetch(url))
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.arrayBuffer();
    })
    .then(async (zip) => {
      await noConnect();
      if (finder.pending) {
        put(new Uint8Array(zip));
        finder.arrived();
      }
      mark("stdlib-rest");
    })
    .catch((error) => console.warn(`pyrtvi: the rest of the stdlib waits (${error.message})`));
}

/** After a snapshot boot: the package files, for tracebacks, off the boot's critical path. */
function unpackLater(pyodide) {
  // Modules of ours not in the snapshot (see FILES_LATER): imported before, they bring the zips.
  const put = (...zips) => unpackPackages(pyodide, zips);
  const later = BOOT.packagesLater ?? [];
  const urls = BOOT.packages.map(here);
  const finder = later.length ? filesLater(pyodide, later, urls, put) : null;
  return afterStart()
    .then(noConnect)
    .then(() => packages ?? fetchPackages())
    .then(async (zips) => {
      await noConnect();
      if (finder && !finder.pending) return true;
      put(...zips);
      finder?.arrived();
      return true;
    })
    .catch((error) => {
      console.warn(`pyrtvi: package sources not unpacked (${error.message})`);
      return false;
    });
}

/** What became of the local snapshot: `data-pyrtvi-snapshot` and `pyrtviBootInfo.local`. */
function localState(state, facts = {}) {
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyrtviSnapshot = state;
  globalThis.pyrtviBootInfo = { ...globalThis.pyrtviBootInfo, local: { state, ...facts } };
}

const WORKER_TIMEOUT_MS = 120000;

/** Runs snapshot_worker.mjs on `job`; a worker on another origin starts from a blob. */
function runWorker(job) {
  const url = here(LOCAL.worker);
  const sameOrigin = new URL(url).origin === globalThis.location?.origin;
  const source = sameOrigin
    ? url
    : URL.createObjectURL(new Blob([`import ${JSON.stringify(url)};`], { type: "text/javascript" }));
  const worker = new Worker(source, { type: "module", name: "pyrtvi-snapshot" });
  let timer = null;
  return new Promise((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no snapshot within ${WORKER_TIMEOUT_MS / 1000} s`)),
      WORKER_TIMEOUT_MS,
    );
    worker.onmessage = ({ data }) => (data.ok ? resolve(data) : reject(new Error(data.error)));
    worker.onerror = (event) => {
      event.preventDefault(); // not the page's error: boot.js would show it
      reject(new Error(event.message || "the snapshot worker did not start"));
    };
    worker.postMessage(job);
  }).finally(() => {
    clearTimeout(timer);
    worker.terminate();
    if (!sameOrigin) URL.revokeObjectURL(source);
  });
}

/** After a plain visit: the local snapshot for the next ones, made by one tab at a time. */
function makeLocalLater(zips) {
  localState("waiting");
  const make = async () => {
    localState("making");
    const job = {
      index: here(BOOT.index),
      stdlib: here(BOOT.stdlib),
      packages: zips,
      modules: LOCAL.modules,
      stdlibImports: LOCAL.stdlibImports,
      cache: LOCAL.cache,
      url: localURL,
      build: here("./"),
    };
    localState("stored", await runWorker(job));
  };
  const locks = globalThis.navigator?.locks;
  afterStart()
    .then(() =>
      locks
        ? locks.request(`pyrtvi-snapshot ${localURL}`, { ifAvailable: true }, (lock) =>
            lock ? make() : localState("elsewhere"),
          )
        : make(),
    )
    .catch((error) => {
      const message = String(error?.message ?? error);
      localState("failed", { error: message });
      console.warn(`pyrtvi: no local snapshot for the next visit (${message})`);
    });
}

function report(mode, reason, modules = [], source = null) {
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyrtviBoot = mode;
  globalThis.pyrtviBootInfo = { mode, source, reason: reason ? String(reason) : null, modules };
  if (keptInfo) globalThis.pyrtviBootInfo.kept = keptInfo;
  if (reason) console.warn(`pyrtvi: plain boot (${reason})`);
}

/**
 * A second interpreter on the page (a PyScript `env` of its own): plain, with PyScript's options
 * as they come, and our packages, as every interpreter of this module had before Python was
 * started at evaluation.
 */
async function another(options) {
  const settings = { ...options, indexURL: here(BOOT.index), createPyodideModule: await factory };
  if (BOOT.stdlib) settings.stdLibURL = here(BOOT.stdlib);
  if (BOOT.lockFile && !settings.lockFileURL && !settings.lockFileContents) {
    settings.lockFileContents = BOOT.lockFile;
    settings.packageBaseUrl ??= settings.indexURL;
  }
  const pyodide = await withCompiledWasm(() => pyodideLoad(settings));
  unpackPackages(pyodide, await fetchPackages());
  const compiled = await bytecode;
  if (compiled) unpackPackages(pyodide, [compiled]);
  return pyodide;
}

/** Starts Python: from the snapshot when there is one, else plain (see the module's doc). */
async function boot() {
  const base = { indexURL: here(BOOT.index), createPyodideModule: await factory };
  if (BOOT.lockFile) {
    // The package index (without packages: the runtime served has none of their wheels) comes
    // with this module: no request of its own.
    base.lockFileContents = BOOT.lockFile;
    base.packageBaseUrl = base.indexURL;
  }
  const plain = { ...base };
  if (BOOT.stdlib) base.stdLibURL = here(BOOT.stdlib);
  let pyodide = null;
  let reason = null;
  const current = await pending;
  if (current && !current.refused) {
    try {
      // The shipped snapshot's stdlib zip leaves out what it imported; a local one was made
      // with the trimmed zip that the first visit downloaded.
      const rest = current.source === "shipped" && BOOT.stdlibSnapshot;
      const stdLibURL = rest ? (BOOT.stdlibRest.length ? EMPTY_ZIP : here(rest)) : base.stdLibURL;
      const options = { ...base, stdLibURL, _loadSnapshot: current.buffer };
      // The early wasm's wrappers first: the snapshot's see its instantiation (in them).
      pyodide = await withCompiledWasm(() =>
        withSnapshotInstantiation(current, base.createPyodideModule, (factory) =>
          pyodideLoad({ ...options, createPyodideModule: factory }),
        ),
      );
      mark("restored");
      if (stdLibURL === EMPTY_ZIP) restLater(pyodide);
      // One random state baked into every visitor's snapshot: reseed from the OS.
      const modules = execPython(
        pyodide,
        "import sys, json\nif 'random' in sys.modules: sys.modules['random'].seed()\n" +
          "modules = json.dumps(sorted(m for m in sys.modules" +
          " if m.partition('.')[0] in ('rtvi', 'pyrtvi_page')))",
        "modules",
      );
      report("snapshot", null, JSON.parse(modules), current.source);
    } catch (error) {
      reason = error && error.message ? error.message : error;
      pyodide = null;
      if (current.source === "local") refuseStored(reason).catch(() => {});
    }
  }
  if (pyodide && current.source === "shipped") keepLater();
  let zips = null;
  // Whether our packages' files are in place (true at once unless they come later): main.py
  // builds the panels that need modules of ours not in the snapshot once they are.
  let sources = Promise.resolve(true);
  if (pyodide && current.complete) {
    sources = unpackLater(pyodide);
  } else {
    if (!pyodide) {
      // Without the snapshot, the trimmed stdlib only if the build made one (it matches the
      // sources); a refused snapshot falls back to the full stdlib, the safest plain boot.
      pyodide = await withCompiledWasm(() => pyodideLoad(reason ? plain : base));
      report("plain", reason);
    }
    zips = await (packages ?? fetchPackages());
    unpackPackages(pyodide, zips);
  }
  if (LOCAL) {
    if (current?.source === "local" && !reason) localState("used");
    else if (current?.refused) localState("refused", { error: current.refused });
    else if (reason) localState("refused", { error: String(reason) });
    else if (!globalThis.caches) localState("unavailable", { error: "no Cache Storage here" });
    else makeLocalLater(zips);
  }
  globalThis.pyrtviBootSources = sources;
  mark("interpreter-ready");
  await startEarly(pyodide);
  // PyScript's .pyc, unless written while the snapshot downloaded: for PyScript's start, which
  // comes after the page's (its package is not importable before).
  const compiled = bytecodeIn.has(pyodide.FS) ? null : await bytecode;
  if (compiled) unpackPackages(pyodide, [compiled]);
  return pyodide;
}

/** `module:function`, each a dotted Python name (`data-pyrtvi-start`). */
const START_NAME = /^([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*):([A-Za-z_][\w]*)$/;
/** Whether the page's start ran here (loadPyodide then lets the page paint first). */
let startedEarly = false;

/**
 * The page's own start, as soon as Python is up: `<html data-pyrtvi-start="module:function">`
 * (docs/embedding.md; the console's `pyrtvi_page.start:start`) is called here, once the HTML
 * is parsed, instead of waiting for PyScript's start (writing and importing its `pyscript`
 * package) and its run of the page's script, which calls the same function again (it must
 * do nothing the second time). A failure is left to that script: it calls the function again
 * and PyScript shows the error as for any page script.
 */
async function startEarly(pyodide) {
  const root = globalThis.document?.documentElement;
  const wanted = root?.dataset.pyrtviStart;
  if (!wanted) return;
  const name = START_NAME.exec(wanted.trim());
  if (!name) {
    console.warn(`pyrtvi: data-pyrtvi-start=${JSON.stringify(wanted)} is not module:function`);
    return;
  }
  if (document.readyState === "loading") {
    await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve));
  }
  const proxies = [];
  const tracked = (proxy) => (proxies.push(proxy), proxy);
  try {
    const start = tracked(tracked(pyodide.pyimport(name[1]))[name[2]]);
    tracked(start());
    startedEarly = true;
    root.dataset.pyrtviStarted = "early";
  } catch (error) {
    console.warn(`pyrtvi: ${wanted} not started early (${String(error?.message ?? error)})`);
  } finally {
    for (const proxy of proxies) proxy?.destroy?.();
  }
}

/** Resolved once a frame after the early start has painted (afterPaint). */
let painted = null;

/**
 * A frame for the page to paint what its early start drew, before PyScript's own start takes
 * the main thread (bounded: a hidden tab has no frames). The same frame for every caller.
 */
function afterPaint() {
  painted ??= new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(timer);
        resolve();
      }, 0),
    );
  });
  return painted;
}

// Python starts when this module is evaluated, not when PyScript calls loadPyodide(): the
// console's HTML runs this module as soon as it is in, so that Python is restored while
// PyScript starts (its plugins, its package storage) instead of after.
const booting = boot();
booting.catch(() => {}); // reported by loadPyodide(), to PyScript
booting.finally(() => hasher?.worker?.terminate()).catch(() => {}); // its checks are done
pyscriptAfterStart();

/**
 * PyScript's core where the page left it for after its start (`<link rel="modulepreload"
 * data-pyrtvi-pyscript>`: the console on a later visit, pages.py): imported once Python is up
 * (or failed: PyScript then reports it as it would) and the start has painted. It then runs the
 * page's `<script type="py">` as ever, calling our loadPyodide().
 */
function pyscriptAfterStart() {
  const link = globalThis.document?.querySelector("link[data-pyrtvi-pyscript]");
  if (!link) return;
  booting
    .catch(() => {})
    .then(() => (startedEarly ? afterPaint() : null))
    .then(() => import(link.href))
    .catch((error) => {
      const message = `PyScript did not load: ${String(error?.message ?? error)}`;
      console.warn(`pyrtvi: ${message}`);
      globalThis.pyrtviBoot?.fail?.(message); // (nothing once the page is ready)
    });
}

/**
 * PyScript's call: the Python started above, with PyScript's options applied to it (its output
 * streams; `packages`, which the runtime served here does not carry, are asked of Pyodide as
 * they would be by its loadPyodide). `indexURL` and the lock file are this module's.
 */
let handedOut = false;

export async function loadPyodide(options = {}) {
  mark("interpreter-start");
  if (handedOut) return another(options);
  handedOut = true;
  const pyodide = await booting;
  if (startedEarly) await afterPaint();
  if (options.stdin) pyodide.setStdin({ stdin: options.stdin });
  if (options.stdout) pyodide.setStdout({ batched: options.stdout });
  if (options.stderr) pyodide.setStderr({ batched: options.stderr });
  if (options.packages?.length) await pyodide.loadPackage(options.packages);
  return pyodide;
}
