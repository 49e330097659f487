// Make a bundle's memory snapshot: boot its runtime, unpack the wheels listed, import the
// modules listed, and save the memory with Pyodide's own (private) snapshot API.
// Input (stdin, JSON): {bundle: folder, wheels: [file names in it], imports: [modules],
//                       out: path of snapshot.bin, epoch: seconds}
// Output (last stdout line, JSON): {ok, error, bytes}
//
// The same bundle gives the same bytes: while the snapshot is made, the clock stands at
// `epoch` (file times in memory, import caches), every random source is a fixed sequence
// (the C library's and mimalloc's generators are seeded from it), str hashing uses seed 0
// (PYTHONHASHSEED) and Python's `random` is seeded with 0. A runtime restored from it gets
// fresh randomness from the OS for os.urandom/secrets; `random` must be reseeded after the
// restore (pyodist's loaders do: `import random; random.seed()`).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
// Emscripten takes the program's name from argv[1] (this file's path) into the C runtime's
// memory (argv[0], the environment's `_`): a fixed name keeps where pyodist is installed out
// of the snapshot's bytes
process.argv.splice(0, process.argv.length, "node", "/pyodist/make_snapshot.mjs");
const dir = path.resolve(spec.bundle);

let state = 0x9e3779b9;
const fill = (view) => {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;  // a fixed sequence, not secret
    bytes[i] = state >>> 24;
  }
  return view;
};
const nodeCrypto = (await import("node:crypto")).default;
Object.defineProperty(globalThis.crypto, "getRandomValues", { value: fill, configurable: true });
nodeCrypto.randomFillSync = fill;
nodeCrypto.randomBytes = (n) => fill(Buffer.alloc(n));
let tick = 0;
Date.now = () => spec.epoch * 1000 + (tick++);
let clock = 0;
performance.now = () => (clock += 0.001);
process.hrtime = Object.assign(() => [0, 0], { bigint: () => 0n });

let result;
try {
  const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({
    indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
    _makeSnapshot: true, env: { PYTHONHASHSEED: "0" }, stdout: () => {}, stderr: () => {},
  });
  const site = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
  for (const wheel of spec.wheels) {
    pyodide.unpackArchive(new Uint8Array(readFileSync(path.join(dir, wheel))), "wheel",
                          { extractDir: site });
  }
  // no JS object may stay referenced from Python (the snapshot cannot hold one): the list
  // of modules goes in as Python source (a JSON array of strings is a Python list)
  pyodide.runPython(
    "import importlib, random\n" +
    `for _m in ${JSON.stringify(spec.imports)}: importlib.import_module(_m)\n` +
    "random.seed(0)\n");
  const snapshot = pyodide.makeMemorySnapshot();
  writeFileSync(spec.out, snapshot);
  result = { ok: true, error: null, bytes: snapshot.length };
} catch (err) {
  result = { ok: false, error: String(err.message || err).trim().split("\n").slice(-6).join("\n") };
}
console.log(JSON.stringify(result));
process.exit(0);
