// Make a bundle's memory snapshot: boot its runtime, unpack the wheels listed, import the
// modules listed, and save the memory with Pyodide's own (private) snapshot API.
// Input (stdin, JSON): {bundle: folder, wheels: [file names in it], imports: [modules],
//                       out: path of snapshot.bin, epoch: seconds}
// Output (last stdout line, JSON): {ok, error, bytes, dynlibs}
//
// dynlibs: what restoring needs beyond the memory when compiled packages were imported (see
// pyodist-snapshot.mjs, which uses it): every side module loaded, in load order, with its
// memory and table bases and sizes; the global offset table; the table slots the dynamic
// linker filled outside the modules' own segments, by origin; the loader's handles and
// free slots; and a checksum of the whole table.
//
// The same bundle gives the same bytes: while the snapshot is made, the clock stands at
// `epoch` (file times in memory, import caches), every random source is a fixed sequence
// (the C library's and mimalloc's generators are seeded from it), str hashing uses seed 0
// (PYTHONHASHSEED) and Python's `random` is seeded with 0. A runtime restored from it gets
// fresh randomness from the OS for os.urandom/secrets; `random` must be reseeded after the
// restore (pyodist's loaders do: `import random; random.seed()`).
import { readFileSync, writeFileSync, writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
// the checksum the loader proves the restored table with
import { tableChecksum } from "./pyodist-snapshot.mjs";

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

// every side-module instantiation, with the bases the dynamic linker gave it: the imports
// of a side module are an `env` proxy answering __memory_base/__table_base, and GOT tables
const captured = [];
const note = (module, imports, instance) => {
  if (imports?.env && typeof imports.env.__memory_base === "number" && "GOT.mem" in imports) {
    captured.push({ module, instance, memoryBase: imports.env.__memory_base,
                    tableBase: imports.env.__table_base });
  }
};
const RealInstance = WebAssembly.Instance;
const realInstantiate = WebAssembly.instantiate;
WebAssembly.Instance = new Proxy(RealInstance, {
  construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget);
    note(args[0], args[1], instance);
    return instance;
  },
});
WebAssembly.instantiate = async function (source, imports) {
  const made = await realInstantiate.call(WebAssembly, source, imports);
  if (made instanceof RealInstance) note(source, imports, made);
  else note(made.module, imports, made.instance);
  return made;
};

function dynlibRecord(M, site, bootTableLength) {
  const { LDSO, wasmTable: table } = M;
  const mainExports = LDSO.loadedLibsByName.__main__.exports;
  const libs = [];
  for (const [name, dso] of Object.entries(LDSO.loadedLibsByName)) {
    if (name === "__main__") continue;
    if (dso.exports === "loading") throw new Error(`${name} was still loading`);
    const probe = Object.keys(dso.exports).find((k) => typeof dso.exports[k] === "function");
    const cap = captured.find((c) => c.instance.exports[probe] === dso.exports[probe]);
    if (!cap) throw new Error(`${name}: its instantiation was not seen`);
    const meta = M.getDylinkMetadata(cap.module);
    if (meta.neededDynlibs.length) {
      throw new Error(`${name} needs other shared libraries (${meta.neededDynlibs.join(", ")}), ` +
                      "which a snapshot cannot restore yet");
    }
    if ("__start_em_asm" in dso.exports || Object.keys(dso.exports).some((k) => k.startsWith("__em_js__"))) {
      throw new Error(`${name} has EM_ASM/EM_JS code, which a snapshot cannot restore yet`);
    }
    if (!name.startsWith(site + "/")) throw new Error(`${name} is not a package's (not under ${site})`);
    libs.push({ path: name, member: name.slice(site.length + 1), order: captured.indexOf(cap),
                memory_base: cap.memoryBase, memory_size: meta.memorySize,
                table_base: cap.tableBase, table_size: meta.tableSize, global: dso.global,
                refcount: dso.refcount === Infinity ? null : dso.refcount });
  }
  libs.sort((a, b) => a.order - b.order);
  for (const lib of libs) delete lib.order;
  const inSegment = (i) => libs.some((l) => i >= l.table_base && i < l.table_base + l.table_size);
  const slots = new Map();
  const describe = (fn, origin) => {
    const i = M.getFunctionAddress(fn);
    if (i >= bootTableLength && !inSegment(i) && !slots.has(i)) slots.set(i, origin);
  };
  libs.forEach((lib, index) => {
    const own = LDSO.loadedLibsByName[lib.path].exports;
    for (const k of Object.keys(own).sort()) if (typeof own[k] === "function") describe(own[k], { lib: index, name: k });
  });
  for (const k of Object.keys(mainExports).sort()) {
    const fn = mainExports[k];
    if (typeof fn === "function") describe(fn, { main: k, sig: fn.sig ?? null });
  }
  for (const [i, origin] of slots) {
    if (origin.main === undefined && table.get(i) !== LDSO.loadedLibsByName[libs[origin.lib].path].exports[origin.name]) {
      throw new Error(`table slot ${i} does not hold ${origin.name}`);
    }
  }
  const unknown = [];
  for (let i = bootTableLength; i < table.length; i++) {
    if (table.get(i) !== null && !inSegment(i) && !slots.has(i)) unknown.push(i);
  }
  if (unknown.length) {
    throw new Error(`${unknown.length} function table slot(s) of unknown origin (a ctypes ` +
                    "callback or a JavaScript function kept alive by a module), which a " +
                    "snapshot cannot restore");
  }
  const got = {};
  for (const k of Object.keys(M.GOT).sort()) got[k] = M.GOT[k].value;
  return { boot_table_length: bootTableLength, table_length: table.length,
           table_checksum: tableChecksum(table), libs,
           slots: [...slots].sort((a, b) => a[0] - b[0]),
           handles: Object.entries(LDSO.loadedLibsByHandle).filter(([h]) => h !== "0")
             .map(([h, dso]) => [Number(h), dso.name]),
           free_table_indexes: [...M.freeTableIndexes], got };
}

let result;
try {
  const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({
    indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
    _makeSnapshot: true, env: { PYTHONHASHSEED: "0" }, stdout: () => {}, stderr: () => {},
  });
  const bootTableLength = pyodide._module.wasmTable.length;
  const site = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')").replace(/^\/+/, "/");
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
  const dynlibs = dynlibRecord(pyodide._module, site, bootTableLength);
  const snapshot = pyodide.makeMemorySnapshot();
  writeFileSync(spec.out, snapshot);
  result = { ok: true, error: null, bytes: snapshot.length, site,
             dynlibs: dynlibs.libs.length ? dynlibs : null };
} catch (err) {
  result = { ok: false, error: String(err.message || err).trim().split("\n").slice(-6).join("\n") };
}
// written synchronously: a record of some 100 kB would be cut by process.exit on a pipe
writeSync(1, JSON.stringify(result) + "\n");
process.exit(0);
