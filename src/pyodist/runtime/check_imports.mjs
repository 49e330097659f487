// Load wheels into a Pyodide runtime under Node and import modules from them.
// Input (stdin, JSON): {indexURL, wheels: [absolute paths, dependencies first], imports: [...]}
// Output (last stdout line, JSON): {ok, version, load_errors, imports: {mod: {ok, error}}, seconds}
// loadPackage never throws on a failed load, so errors are collected from its callback.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const started = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(spec.indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: spec.indexURL + path.sep, stdout: () => {}, stderr: () => {} });
const loadErrors = [];
for (const wheel of spec.wheels) {
  await pyodide.loadPackage(wheel, {
    messageCallback: () => {},
    errorCallback: (msg) => loadErrors.push(`${path.basename(wheel)}: ${msg}`),
  });
}
const imports = {};
for (const mod of spec.imports) {
  try {
    pyodide.runPython(`import importlib; importlib.import_module(${JSON.stringify(mod)})`);
    imports[mod] = { ok: true, error: null };
  } catch (err) {
    imports[mod] = { ok: false, error: String(err.message || err).trim().split("\n").slice(-6).join("\n") };
  }
}
const ok = loadErrors.length === 0 && Object.values(imports).every((r) => r.ok);
console.log(JSON.stringify({
  ok, version: pyodide.version, load_errors: loadErrors, imports,
  seconds: (performance.now() - started) / 1000,
}));
process.exit(0);
