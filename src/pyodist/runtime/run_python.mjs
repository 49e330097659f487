// Load wheels into a Pyodide runtime under Node, then run a Python snippet.
// Input (stdin, JSON): {indexURL, wheels: [absolute paths, dependencies first], code}
// The snippet's last expression should be a JSON string; it is returned as `result`.
// Output (last stdout line, JSON): {ok, result, error, load_errors, stdout, seconds}
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const started = performance.now();
const out = [];
const { loadPyodide } = await import(pathToFileURL(path.join(spec.indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: spec.indexURL + path.sep, stdout: (l) => out.push(l), stderr: (l) => out.push(l),
});
const loadErrors = [];
for (const wheel of spec.wheels) {
  await pyodide.loadPackage(wheel, {
    messageCallback: () => {},
    errorCallback: (msg) => loadErrors.push(`${path.basename(wheel)}: ${msg}`),
  });
}
let result = null;
let error = null;
if (loadErrors.length === 0) {
  try {
    const value = pyodide.runPython(spec.code);
    result = value === undefined ? null : JSON.parse(String(value));
  } catch (err) {
    error = String(err.message || err).trim();
  }
}
console.log(JSON.stringify({
  ok: loadErrors.length === 0 && error === null, result, error, load_errors: loadErrors,
  stdout: out.join("\n"), seconds: (performance.now() - started) / 1000,
}));
process.exit(0);
