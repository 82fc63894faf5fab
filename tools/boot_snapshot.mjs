// Node half of tools/build_boot.py: trims the stdlib and makes the memory snapshot, in Pyodide.
// Usage: node tools/boot_snapshot.mjs <job.json>; the job names the inputs and the outputs.
//
// 1. A plain Pyodide finds, with modulefinder (static: it sees imports inside functions too),
//    every stdlib module that our packages, PyScript's Python and Pyodide's own packages import,
//    and writes the trimmed stdlib zip (entries stored, not deflated).
// 2. A second Pyodide, started with that trimmed zip and `_makeSnapshot`, imports every module
//    the job lists, one by one (a module that cannot be imported in node, e.g. one that calls the
//    DOM at import time, is left out and reported), then makeMemorySnapshot(). The code objects
//    in memory keep their line numbers, not their column ranges (LINE_NUMBERS_ONLY).
//    The snapshot boot's stdlib zip leaves out the stdlib files the snapshot already imported.
// 3. The snapshot is made smaller on the wire: free heap memory is zeroed first, its static
//    region is stored XORed with the memory the wasm binary's data segments give at instantiation
//    (the page has that memory already; see server/pyrtvi_server/interpreter.mjs), and long runs
//    of zeros are left out (packed: the page decodes a third of the bytes).
// The importing, zeroing and packing are server/pyrtvi_server/snapshot_worker.mjs's, which the
// page also runs as a Worker for its local snapshot.
import fs from "node:fs";
import path from "node:path";

// A failure prints its message only (node would print a line of the minified Pyodide).
process.on("uncaughtException", (error) => {
  console.error("boot_snapshot:", String(error && error.message ? error.message : error).slice(-4000));
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  throw error;
});

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(path.join(job.pyodide_dir, "pyodide.mjs"));
const { importForSnapshot, pack, zeroFreeMemory } = await import(job.snapshot_worker);

function copyTree(py, source, target) {
  py.FS.mkdirTree(target);
  for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
    if (entry.name === "__pycache__") continue;
    const from = path.join(source, entry.name);
    const to = `${target}/${entry.name}`;
    if (entry.isDirectory()) copyTree(py, from, to);
    else if (entry.name.endsWith(".py")) py.FS.writeFile(to, fs.readFileSync(from));
  }
}

function writePackages(py, root) {
  for (const [name, dir] of Object.entries(job.packages)) copyTree(py, dir, `${root}/${name}`);
}

// The shipped snapshot's code objects keep their line numbers and lose their column ranges (as
// with PYTHONNODEBUGRANGES, but for this code only): a traceback through them names the line
// without the carets under the expression. The columns were a tenth of the brotli'd snapshot
// (3.04 -> 2.75 MB); code compiled in the page (its own scripts) keeps them.
// The location table (CPython's Objects/locations.md): entries of a first byte (bit 7 set, a
// 4-bit kind, the length in code units less one), then the kind's varints. Each becomes kind 13
// (line delta only, as a signed varint) or stays kind 15 (no location); the deltas stay exact,
// and runs of one line are joined (up to 8 code units, an entry's most).
const LINE_NUMBERS_ONLY = `
def _line_numbers_only():
    import gc, types, zipimport
    from importlib import _bootstrap_external

    def entries(table):
        at = 0

        def varint():
            nonlocal at
            byte = table[at]
            at += 1
            value, shift = byte & 63, 0
            while byte & 64:
                byte = table[at]
                at += 1
                shift += 6
                value |= (byte & 63) << shift
            return value

        def svarint():
            value = varint()
            return -(value >> 1) if value & 1 else value >> 1

        while at < len(table):
            first = table[at]
            at += 1
            kind, length = (first >> 3) & 15, (first & 7) + 1
            if kind == 15:
                yield None, length
                continue
            if kind == 14:
                delta = svarint()
                varint(), varint(), varint()
            elif kind == 13:
                delta = svarint()
            elif kind >= 10:
                delta, at = kind - 10, at + 2
            else:
                delta, at = 0, at + 1
            yield delta, length

    def lines_only(table):
        joined = []
        for delta, length in entries(table):
            last = joined[-1] if joined else None
            if last and last[1] + length <= 8 and (delta == 0 if last[0] is not None else delta is None):
                last[1] += length
            else:
                joined.append([delta, length])
        out = bytearray()
        for delta, length in joined:
            if delta is None:
                out.append(0x80 | 15 << 3 | length - 1)
                continue
            out.append(0x80 | 13 << 3 | length - 1)
            value = (-delta) << 1 | 1 if delta < 0 else delta << 1
            while value >= 64:
                out.append(64 | value & 63)
                value >>= 6
            out.append(value)
        return bytes(out)

    def lean(code, done):
        # done: the lean copy per id of a code object not yet replaced (alive, so its id
        # is its own); the replaced ones are freed at once, their memory reused by the next
        # copies (holding them all would grow the heap by their size, and scatter the copies).
        if id(code) not in done:
            consts = tuple(lean(c, done) if isinstance(c, types.CodeType) else c for c in code.co_consts)
            done[id(code)] = code.replace(co_linetable=lines_only(code.co_linetable), co_consts=consts)
        return done[id(code)]

    # What is imported from now on is compiled, then made lean before it runs.
    compile_source = zipimport._compile_source
    source_to_code = _bootstrap_external.SourceLoader.source_to_code
    zipimport._compile_source = lambda *args: lean(compile_source(*args), {})
    _bootstrap_external.SourceLoader.source_to_code = lambda *args, **kw: lean(source_to_code(*args, **kw), {})

    def finish():
        """Undoes the hooks; makes lean what was compiled before them (Pyodide's start)."""
        zipimport._compile_source = compile_source
        _bootstrap_external.SourceLoader.source_to_code = source_to_code
        done = {}
        for function in gc.get_objects():
            if isinstance(function, types.FunctionType):
                function.__code__ = lean(function.__code__, done)
        count = len(done)
        done.clear()
        gc.collect()
        return count

    return finish


_line_numbers_only = _line_numbers_only()
`;
const LINE_NUMBERS_FINISH = "_line_numbers_only(); del _line_numbers_only";

// --- 1. the trimmed stdlib ---------------------------------------------------------------
const finder = await loadPyodide({ indexURL: job.pyodide_dir + "/" });
writePackages(finder, "/tmp/entry");
for (const [name, dir] of Object.entries(job.extra_packages)) copyTree(finder, dir, `/tmp/entry/${name}`);
for (const [i, script] of job.scripts.entries()) finder.FS.writeFile(`/tmp/script${i}.py`, fs.readFileSync(script));
job.scripts = job.scripts.map((_, i) => `/tmp/script${i}.py`);
finder.FS.writeFile("/tmp/job.json", JSON.stringify(job));
finder.FS.writeFile("/tmp/full.zip", fs.readFileSync(job.stdlib_full));
finder.FS.writeFile("/tmp/strip_source.py", fs.readFileSync(job.strip_source));
const trimmed = JSON.parse(finder.runPython(`
import json, modulefinder, os, sys, zipfile
job = json.load(open("/tmp/job.json"))
full = zipfile.ZipFile("/tmp/full.zip")


def read(info):
    # Pyodide rewrites _sysconfigdata after zipping, so its CRC does not match: skip the check.
    with full.open(info) as member:
        member._expected_crc = None
        return member.read()


os.makedirs("/tmp/stdlib", exist_ok=True)
for info in full.infolist():
    if not info.is_dir():
        target = os.path.join("/tmp/stdlib", info.filename)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(read(info))
names = list(job["finder_modules"]) + list(job["entry_modules"])
# What is kept by name is followed too (encodings.idna needs stringprep).
kept_by_name = [k.removesuffix("/__init__").replace("/", ".") for k in job["stdlib_keep"]]
names += kept_by_name
for root, _, files in os.walk("/tmp/entry/pyscript"):
    for f in files:
        if f.endswith(".py"):
            rel = os.path.relpath(os.path.join(root, f), "/tmp/entry").removesuffix(".py")
            names.append(rel.replace("/", ".").removesuffix(".__init__"))
mf = modulefinder.ModuleFinder(
    path=["/tmp/stdlib", "/tmp/entry", *[p for p in sys.path if "zip" not in p]],
    excludes=job["stdlib_exclude"],
)
for name in names:
    try:
        mf.import_hook(name)
    except Exception as error:  # a broken optional import must not stop the build
        if name not in kept_by_name:
            print(f"modulefinder: {name}: {error!r}", file=sys.stderr)
for script in job["scripts"]:
    try:
        mf.run_script(script)
    except Exception as error:
        print(f"modulefinder: {script}: {error!r}", file=sys.stderr)
keep = set()
for module in mf.modules.values():
    file = module.__file__ or ""
    if file.startswith("/tmp/stdlib/"):
        keep.add(file.removeprefix("/tmp/stdlib/"))
for prefix in job["stdlib_keep"]:
    keep |= {n for n in full.namelist() if n == prefix + ".py" or n.startswith(prefix + "/")}
# Package __init__ files of everything kept, and non-Python files (data, markers) at the top.
for name in list(keep):
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        init = "/".join(parts[:i]) + "/__init__.py"
        if init in full.namelist():
            keep.add(init)
keep |= {n for n in full.namelist() if "/" not in n and not n.endswith(".py")}
exec(open("/tmp/strip_source.py").read(), strip := {"__name__": "strip_source"})
stripped = {}
with zipfile.ZipFile("/tmp/trimmed.zip", "w", zipfile.ZIP_STORED) as out:
    for info in full.infolist():
        if info.filename in keep and not info.is_dir():
            data = read(info)
            # Pyodide's own packages keep their docstrings (its C code reads some of them).
            if info.filename.endswith(".py") and not info.filename.startswith(tuple(job["strip_skip"])):
                text = data.decode()
                lean = strip["strip_checked"](text)
                stripped[info.filename] = lean is not text
                data = lean.encode()
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
json.dumps({"kept": sorted(keep), "unstripped": sorted(k for k, v in stripped.items() if not v)})
`));
fs.writeFileSync(job.stdlib_out, finder.FS.readFile("/tmp/trimmed.zip"));

// --- 2. the snapshot -----------------------------------------------------------------------
// The memory right after instantiation, before any code ran: the data segments, zeros elsewhere.
let pristine = null;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const result = await instantiate.apply(this, args);
  const memory = result.instance?.exports?.memory;
  if (!pristine && memory) pristine = new Uint8Array(memory.buffer).slice();
  return result;
};
const py = await loadPyodide({
  indexURL: job.pyodide_dir + "/",
  stdLibURL: job.stdlib_out,
  _makeSnapshot: true,
});
writePackages(py, "/home/pyodide");
if (job.line_numbers_only) py.runPython(LINE_NUMBERS_ONLY);
const result = importForSnapshot(py, job.modules, job.stdlib_imports);
WebAssembly.instantiate = instantiate;
if (job.line_numbers_only) py.runPython(LINE_NUMBERS_FINISH);

// The snapshot boot's stdlib: the trimmed one without what the snapshot already imported.
finder.FS.writeFile("/tmp/loaded.json", JSON.stringify(result.stdlib_loaded));
finder.runPython(`
import json, zipfile
loaded = set(json.load(open("/tmp/loaded.json")))
with zipfile.ZipFile("/tmp/trimmed.zip") as trimmed, zipfile.ZipFile("/tmp/rest.zip", "w") as out:
    for info in trimmed.infolist():
        if info.filename not in loaded:
            out.writestr(info, trimmed.read(info))
`);
fs.writeFileSync(job.stdlib_rest_out, finder.FS.readFile("/tmp/rest.zip"));

// PyScript's own Python package, compiled: PyScript writes its sources into the page's working
// directory and imports them at every start. With these "checked-hash" .pyc files beside them,
// Python compares the source's hash and skips compiling; a source that differs is compiled.
const { default: artifact } = await import(job.pyscript_artifact);
finder.FS.mkdirTree("/tmp/pyc/pyscript");
for (const [name, source] of Object.entries(artifact.pyscript)) {
  if (typeof source === "string") finder.FS.writeFile(`/tmp/pyc/pyscript/${name}`, source);
}
finder.runPython(`
import pathlib, py_compile, zipfile
mode = py_compile.PycInvalidationMode.CHECKED_HASH
with zipfile.ZipFile("/tmp/pyscript_pyc.zip", "w") as out:
    for source in sorted(pathlib.Path("/tmp/pyc/pyscript").glob("*.py")):
        dfile = f"/home/pyodide/pyscript/{source.name}"  # where PyScript writes it
        compiled = py_compile.compile(str(source), dfile=dfile, doraise=True, invalidation_mode=mode)
        out.write(compiled, "pyscript/__pycache__/" + pathlib.Path(compiled).name)
`);
fs.writeFileSync(job.pyscript_pyc_out, finder.FS.readFile("/tmp/pyscript_pyc.zip"));

/** XORs the static region (up to the last non-zero byte of `base`) with `base`, in place. */
function xorStatic(snapshot, base) {
  let extent = base.length;
  while (extent > 0 && base[extent - 1] === 0) extent--;
  extent = Math.ceil(extent / 4) * 4;
  const offset = new Uint32Array(snapshot.buffer, snapshot.byteOffset, 4)[1]; // header length
  const memory = new Uint32Array(snapshot.buffer, snapshot.byteOffset + offset, extent / 4);
  const words = new Uint32Array(base.buffer, base.byteOffset, extent / 4);
  for (let i = 0; i < words.length; i++) memory[i] ^= words[i];
  return extent;
}

let snapshotError = null;
const facts = {};
try {
  if (!pristine) throw new Error("the wasm memory was not seen at instantiation");
  facts.zeroed = zeroFreeMemory(py._module);
  const snapshot = py.makeMemorySnapshot();
  facts.snapshot_size = snapshot.length;
  facts.snapshot_delta = xorStatic(snapshot, pristine);
  fs.writeFileSync(job.snapshot_out, pack(snapshot));
} catch (error) {
  snapshotError = String(error && error.message ? error.message : error);
}
fs.writeFileSync(
  job.report_out,
  JSON.stringify({
    ...result,
    ...facts,
    stdlib: trimmed.kept,
    stdlib_unstripped: trimmed.unstripped,
    snapshot_error: snapshotError,
  }),
);
