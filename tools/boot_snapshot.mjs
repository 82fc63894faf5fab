// Node half of tools/build_boot.py: trims the stdlib and makes the memory snapshot, in Pyodide.
// Usage: node tools/boot_snapshot.mjs <job.json>; the job names the inputs and the outputs.
//
// 1. A plain Pyodide finds, with modulefinder (static: it sees imports inside functions too),
//    every stdlib module that our packages, PyScript's Python and Pyodide's own packages import,
//    and writes the trimmed stdlib zip (entries stored, not deflated).
// 2. A second Pyodide, started with that trimmed zip and `_makeSnapshot`, imports every module
//    the job lists, one by one (a module that cannot be imported in node, e.g. one that calls the
//    DOM at import time, is left out and reported), then makeMemorySnapshot().
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

// --- 1. the trimmed stdlib ---------------------------------------------------------------
const finder = await loadPyodide({ indexURL: job.pyodide_dir + "/" });
writePackages(finder, "/tmp/entry");
for (const [name, dir] of Object.entries(job.extra_packages)) copyTree(finder, dir, `/tmp/entry/${name}`);
for (const [i, script] of job.scripts.entries()) finder.FS.writeFile(`/tmp/script${i}.py`, fs.readFileSync(script));
job.scripts = job.scripts.map((_, i) => `/tmp/script${i}.py`);
finder.FS.writeFile("/tmp/job.json", JSON.stringify(job));
finder.FS.writeFile("/tmp/full.zip", fs.readFileSync(job.stdlib_full));
const kept = finder.runPython(`
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
names = list(job["modules"]) + list(job["entry_modules"])
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
with zipfile.ZipFile("/tmp/trimmed.zip", "w", zipfile.ZIP_STORED) as out:
    for info in full.infolist():
        if info.filename in keep and not info.is_dir():
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), read(info))
json.dumps(sorted(keep))
`);
fs.writeFileSync(job.stdlib_out, finder.FS.readFile("/tmp/trimmed.zip"));

// --- 2. the snapshot -----------------------------------------------------------------------
// The page's modules may keep references to browser globals (`document = js.document`): with
// _makeSnapshot, Pyodide records such a reference by its path from globalThis and resolves it
// again in the page. Only `document` exists here, and it is empty: a module that *uses* the DOM
// at import time fails here and is left out (it is then imported in the page as usual).
globalThis.document = {};
const py = await loadPyodide({
  indexURL: job.pyodide_dir + "/",
  stdLibURL: job.stdlib_out,
  _makeSnapshot: true,
});
writePackages(py, "/home/pyodide");
py.FS.writeFile("/tmp/modules.json", JSON.stringify(job.modules));
const result = JSON.parse(py.runPython(`
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
importlib.invalidate_caches()
import gc
gc.collect()
json.dumps({"imported": imported, "skipped": skipped})
`));
let snapshotError = null;
try {
  fs.writeFileSync(job.snapshot_out, py.makeMemorySnapshot());
} catch (error) {
  snapshotError = String(error && error.message ? error.message : error);
}
fs.writeFileSync(
  job.report_out,
  JSON.stringify({ ...result, stdlib: JSON.parse(kept), snapshot_error: snapshotError }),
);
