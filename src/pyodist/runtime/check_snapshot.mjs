// `pyodist test`: start a bundle from its memory snapshot in Node and use it.
// Input (stdin, JSON): {bundle}
// Output (last stdout line, JSON): {ok, error, ready_seconds}
// The snapshot is checked against the files it was made from first (snapshot.json), as
// `pyodist python` does; then the runtime restored from it must have the snapshot's modules
// imported, import one more from the standard library, and give fresh random numbers.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { snapshotStart } from "./pyodist-snapshot.mjs";

const spec = JSON.parse(readFileSync(0, "utf8"));
const dir = path.resolve(spec.bundle);
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
let result;
try {
  const started = performance.now();
  const info = JSON.parse(readFileSync(path.join(dir, "snapshot.json"), "utf8"));
  const bytes = readFileSync(path.join(dir, "snapshot.bin"));
  if (sha256(bytes) !== info["snapshot.bin"].sha256) throw new Error("snapshot.bin does not match snapshot.json");
  for (const [name, digest] of Object.entries(info.made_for)) {
    const file = path.join(dir, name);
    if (!existsSync(file) || sha256(readFileSync(file)) !== digest)
      throw new Error(`snapshot.bin was made for another ${name} than this bundle's`);
  }
  const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
  // compiled packages in it are instantiated again by the bundle's loader
  const start = await snapshotStart({
    info, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    readFile: async (name) => new Uint8Array(readFileSync(path.join(dir, name))),
    inflate: inflateRawSync,
    createModule: (await import(pathToFileURL(path.join(dir, "pyodide.asm.mjs")).href)).default,
  });
  const pyodide = await loadPyodide({
    indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
    ...start.options, stdout: () => {}, stderr: () => {},
  });
  await start.finish(pyodide);
  const ready = (performance.now() - started) / 1000;
  const answer = JSON.parse(pyodide.runPython(`
import json, random, sys
random.seed()
missing = [m for m in ${JSON.stringify(info.imports)} if m not in sys.modules]
import colorsys
json.dumps({"missing": missing, "random": random.random()})`));
  if (answer.missing.length) throw new Error(`not imported after the restore: ${answer.missing.join(", ")}`);
  result = { ok: true, error: null, ready_seconds: ready };
} catch (err) {
  result = { ok: false, error: String(err.message || err).trim().split("\n").slice(-4).join("\n") };
}
console.log(JSON.stringify(result));
process.exit(0);
