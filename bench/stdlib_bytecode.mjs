// What a plain boot would gain from a stdlib in bytecode, and what it would cost on the wire.
// Run: `node bench/stdlib_bytecode.mjs` after `make setup` (reads build/boot/). In node, with
// the build's trimmed stdlib: loadPyodide() + the client's stdlib imports, from the zip as built
// (sources, compiled at import) and from the same zip compiled to .pyc; then the brotli size of
// the files a boot imports (the manifest's `stdlib_in_snapshot`) as sources and as bytecode.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "build/boot/manifest.json"), "utf8"));
const index = path.join(root, "node_modules/pyodide") + "/";
const source = path.join(root, "build/boot", manifest.key, "python_stdlib.zip");
const { loadPyodide } = await import(index + "pyodide.mjs");

const helper = await loadPyodide({ indexURL: index });
helper.FS.writeFile("/tmp/source.zip", fs.readFileSync(source));
helper.FS.writeFile("/tmp/loaded.json", JSON.stringify(manifest.stdlib_in_snapshot));
helper.runPython(`
import importlib.util, json, marshal, zipfile
loaded = set(json.load(open("/tmp/loaded.json")))
header = importlib.util.MAGIC_NUMBER + bytes(12)  # unchecked: no source to compare with
with zipfile.ZipFile("/tmp/source.zip") as src, zipfile.ZipFile("/tmp/pyc.zip", "w") as pyc, \\
        zipfile.ZipFile("/tmp/boot_src.zip", "w") as boot_src, \\
        zipfile.ZipFile("/tmp/boot_pyc.zip", "w") as boot_pyc:
    for info in src.infolist():
        data = src.read(info)
        if not info.filename.endswith(".py"):
            pyc.writestr(info, data)
            continue
        code = compile(data, "/lib/python314.zip/" + info.filename, "exec", dont_inherit=True)
        compiled = header + marshal.dumps(code)
        pyc.writestr(info.filename + "c", compiled)
        if info.filename in loaded:
            boot_src.writestr(info.filename, data)
            boot_pyc.writestr(info.filename + "c", compiled)
`);
const pycZip = "/tmp/pyrtvi-stdlib-pyc.zip";
fs.writeFileSync(pycZip, helper.FS.readFile("/tmp/pyc.zip"));

const brotli = (bytes) =>
  zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }).length;

const IMPORTS = "import asyncio, json, logging, dataclasses, enum, typing, inspect, re, urllib.parse, secrets";
const times = { sources: [], bytecode: [] };
for (let i = 0; i < 3; i++) {
  for (const [name, zip] of [["sources", source], ["bytecode", pycZip]]) {
    const started = performance.now();
    const py = await loadPyodide({ indexURL: index, stdLibURL: zip });
    py.runPython(IMPORTS);
    times[name].push(performance.now() - started);
  }
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const bootSources = brotli(helper.FS.readFile("/tmp/boot_src.zip"));
const bootBytecode = brotli(helper.FS.readFile("/tmp/boot_pyc.zip"));
console.log(`loadPyodide() + the client's stdlib imports, median of 3 (node):`);
console.log(`  stdlib as sources  ${median(times.sources).toFixed(0)} ms`);
console.log(`  stdlib as bytecode ${median(times.bytecode).toFixed(0)} ms`);
console.log(`the ${manifest.stdlib_in_snapshot.length} stdlib files a boot imports, brotli 11:`);
console.log(`  as sources  ${bootSources.toLocaleString("en")} bytes`);
console.log(`  as bytecode ${bootBytecode.toLocaleString("en")} bytes (+${(bootBytecode - bootSources).toLocaleString("en")})`);
fs.rmSync(pycZip);
