// Which Python files a bundle's start-up reads: the stdlib modules the runtime imports to
// become ready, plus what importing each of the profile's packages pulls in.
// Input (stdin, JSON): {indexURL, wheels: [absolute paths of .whl files], imports: [module],
//                      stdlibPrefix: where the stdlib zip is mounted, e.g. "/lib/python314.zip/"}
// Output (last stdout line, JSON):
//   {ok, error, stdlib: [paths inside the stdlib zip], site: [paths inside site-packages]}
// Run in a process of its own: the measuring must not import anything itself (it reads
// sys.modules and each module's spec only). Frozen and built-in modules are never listed.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const SNAPSHOT = `
import sys
def _where(module):
    origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
    for marker, kind in ((${JSON.stringify(spec.stdlibPrefix)}, "stdlib"), ("/site-packages/", "site")):
        if marker in origin and origin.endswith(".py"):
            return kind + ":" + origin.split(marker, 1)[1]
    return None
"\\n".join(filter(None, (_where(m) for m in list(sys.modules.values()) if m is not None)))
`;
try {
  const { loadPyodide } = await import(pathToFileURL(path.join(spec.indexURL, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL: spec.indexURL + path.sep,
                                      stdout: () => {}, stderr: () => {} });
  const seen = new Set(pyodide.runPython(SNAPSHOT).split("\n"));
  if (spec.wheels.length) {
    await pyodide.loadPackage(spec.wheels, { messageCallback: () => {}, errorCallback: () => {} });
  }
  for (const mod of spec.imports) {
    // an import that fails here (an optional dependency) only means fewer modules measured
    try { pyodide.runPython(`import ${mod}`); } catch { /* measured what loaded */ }
  }
  for (const entry of pyodide.runPython(SNAPSHOT).split("\n")) seen.add(entry);
  const pick = (kind) => [...seen].filter((e) => e.startsWith(kind + ":"))
    .map((e) => e.slice(kind.length + 1)).sort();
  console.log(JSON.stringify({ ok: true, error: null, stdlib: pick("stdlib"), site: pick("site") }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err.message || err).trim() }));
}
process.exit(0);
