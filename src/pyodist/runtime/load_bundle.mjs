// Load a bundle with the stock loader and import what its lock says each package provides.
// Input (stdin, JSON): {bundle: folder, packages: [lock keys] | null (= all),
//                      snapshot: start from the bundle's snapshot.bin (stock loader option)}
// Output (last stdout line, JSON): {ok, version, ready_seconds, load_errors, imports: {mod: {ok, error}}, seconds}
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const started = performance.now();
const dir = path.resolve(spec.bundle);
const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const snapshot = spec.snapshot
  ? { _loadSnapshot: new Uint8Array(readFileSync(path.join(dir, "snapshot.bin"))) } : {};
const pyodide = await loadPyodide({
  indexURL: dir + path.sep,
  lockFileURL: path.join(dir, "pyodide-lock.json"),
  stdout: () => {}, stderr: () => {}, ...snapshot,
});
const ready = (performance.now() - started) / 1000;
const lock = JSON.parse(readFileSync(path.join(dir, "pyodide-lock.json"), "utf8"));
const names = spec.packages ?? Object.keys(lock.packages);
const loadErrors = [];
await pyodide.loadPackage(names, {
  messageCallback: () => {},
  errorCallback: (msg) => loadErrors.push(msg),
});
const imports = {};
for (const name of names) {
  for (const mod of lock.packages[name]?.imports ?? []) {
    try {
      pyodide.runPython(`import importlib; importlib.import_module(${JSON.stringify(mod)})`);
      imports[mod] = { ok: true, error: null };
    } catch (err) {
      imports[mod] = { ok: false, error: String(err.message || err).trim().split("\n").slice(-4).join("\n") };
    }
  }
}
const ok = loadErrors.length === 0 && Object.values(imports).every((r) => r.ok);
console.log(JSON.stringify({
  ok, version: pyodide.version, ready_seconds: ready, load_errors: loadErrors, imports,
  seconds: (performance.now() - started) / 1000,
}));
process.exit(0);
