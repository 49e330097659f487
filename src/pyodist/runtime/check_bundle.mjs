// `pyodist test --node`: check and load every package of a bundle in Node.
// Input (stdin, JSON): {bundle, packages: [lock keys] | null, hostDir: folder for the NODEFS test}
// Output (last stdout line, JSON):
//   {ok, ready_seconds, packages: {key: {ok, seconds, error}}, nodefs: {ok, error}, seconds}
// Pyodide does not check wheel hashes in Node, so this harness does, before loading anything;
// a package whose file is missing or whose sha256 differs from the lock fails and is not
// loaded (Node would otherwise fall back to fetching it from the public CDN).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const started = performance.now();
const dir = path.resolve(spec.bundle);
const lock = JSON.parse(readFileSync(path.join(dir, "pyodide-lock.json"), "utf8"));
const names = spec.packages ?? Object.keys(lock.packages).sort();
const results = {};
const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of lock.packages[name]?.depends ?? []) closure(dep, seen);
  return seen;
}

const hashOk = {};
// a file name from the lock names a file of this folder, nothing else (not "../x", not "/x")
const plainName = (name) => typeof name === "string" && name !== "" && name !== "." &&
  name !== ".." && !/[\\/\0]/.test(name);
for (const [key, pkg] of Object.entries(lock.packages)) {
  if (!plainName(pkg.file_name)) {
    hashOk[key] = `file_name ${JSON.stringify(pkg.file_name)} does not name a file inside the bundle`;
    continue;
  }
  const file = path.join(dir, pkg.file_name);
  if (!existsSync(file)) hashOk[key] = `${pkg.file_name} is missing from the bundle`;
  else if (sha256(file) !== pkg.sha256)
    hashOk[key] = `${pkg.file_name}: sha256 does not match pyodide-lock.json (expected ${pkg.sha256})`;
  else hashOk[key] = null;
}

const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
  stdout: () => {}, stderr: () => {},
});
const ready = (performance.now() - started) / 1000;

for (const name of names) {
  const t0 = performance.now();
  const bad = [...closure(name)].map((n) => [n, hashOk[n]]).filter(([, e]) => e !== null);
  if (!(name in lock.packages)) {
    results[name] = { ok: false, seconds: 0, error: `${name} is not in pyodide-lock.json` };
    continue;
  }
  if (bad.length) {
    results[name] = { ok: false, seconds: 0, error: bad.map(([n, e]) => `${n}: ${e}`).join("; ") };
    continue;
  }
  const errors = [];
  await pyodide.loadPackage(name, { messageCallback: () => {}, errorCallback: (m) => errors.push(m) });
  for (const mod of lock.packages[name].imports ?? []) {
    try {
      pyodide.runPython(`import importlib; importlib.import_module(${JSON.stringify(mod)})`);
    } catch (err) {
      const text = String(err.message || err);
      // A module that needs a package the bundle has but this package does not depend on
      // (hypothesis' pytest plugin needs pytest) is an optional extra, not a broken package.
      const missing = /No module named '([\w.]+)'/.exec(text)?.[1]?.split(".")[0];
      const owner = missing && Object.keys(lock.packages).find(
        (k) => (lock.packages[k].imports ?? []).includes(missing));
      if (owner && !closure(name).has(owner)) continue;
      errors.push(`import ${mod}: ` + text.trim().split("\n").slice(-3).join(" | "));
    }
  }
  results[name] = { ok: errors.length === 0, seconds: (performance.now() - t0) / 1000,
                    error: errors.length ? errors.join("\n") : null };
}

let nodefs = null;
if (spec.hostDir) {
  try {
    pyodide.FS.mkdirTree("/host");
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: spec.hostDir }, "/host");
    const text = pyodide.runPython(`
from pathlib import Path
seen = Path("/host/from-node.txt").read_text()
Path("/host/from-python.txt").write_text("written by Python in Pyodide")
seen`);
    const back = readFileSync(path.join(spec.hostDir, "from-python.txt"), "utf8");
    nodefs = { ok: text === "written by Node" && back === "written by Python in Pyodide",
               error: null, read: text, written: back };
  } catch (err) {
    nodefs = { ok: false, error: String(err.message || err).trim() };
  }
}
const ok = Object.values(results).every((r) => r.ok) && (nodefs === null || nodefs.ok);
console.log(JSON.stringify({ ok, ready_seconds: ready, packages: results, nodefs,
                             seconds: (performance.now() - started) / 1000 }));
process.exit(0);
