// pyodist-snapshot.mjs: start Pyodide from a bundle's memory snapshot, compiled packages
// (numpy, pandas ...) included, with the stock pyodide.asm.* of the pinned runtime.
// Shipped in every bundle with a snapshot (listed in its manifest); Node and browsers.
//
//   import { snapshotStart } from "./pyodist-snapshot.mjs";
//   const start = await snapshotStart({ info, bytes, readFile, createModule });
//   const pyodide = await loadPyodide({ indexURL, ...start.options });
//   start.finish(pyodide);
//
// inflate (optional): a faster raw-deflate decoder than the DecompressionStream (in Node:
// zlib's inflateRawSync); info: snapshot.json; bytes: snapshot.bin (a Uint8Array; it may still be filling while the
// runtime compiles, if `bytesReady` is the promise of its being filled); readFile(name): a
// bundle file's bytes (a Promise of a Uint8Array); createModule: the runtime's own module
// factory (`(await import(indexURL + "pyodide.asm.mjs")).default`). snapshotStart returns
// at once; the wheels are read while loadPyodide fetches and compiles the runtime.
//
// What a snapshot of Pyodide 314.0.7 does not hold, and this module puts back: the linear
// memory's size (the runtime defines its memory, so the snapshot's INITIAL_MEMORY is not
// used: it is grown first); and every side module (.so) loaded when the snapshot was made.
// Those are instantiated again, in the same order, at the memory and table bases recorded
// in snapshot.json (`dynlibs`), without their data relocations and constructors (memory
// already holds what they did); the global offset table, the table slots the dynamic
// linker filled and its library registry are set as recorded; the modules' static data,
// which instantiation writes over, is copied back from the snapshot. A checksum of every
// table slot's function then proves the table is the one the snapshot was made with. The
// wheels' files (the file system is not in a snapshot) are written by `finish`.

const FNV_OFFSET = 0x811c9dc5;

/** A 32-bit FNV-1a checksum of the table: every slot's function index, in order. */
export function tableChecksum(table) {
  let hash = FNV_OFFSET;
  for (let i = 0; i < table.length; i++) {
    const name = table.get(i)?.name ?? "-";
    for (let j = 0; j < name.length; j++) {
      hash ^= name.charCodeAt(j);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    hash ^= 0x2c;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The members of a zip file (a wheel): name -> Promise of its bytes (stored or deflated);
 * `inflate` (bytes -> bytes or a Promise of them) defaults to the DecompressionStream. */
export function readZip(buf, inflate = inflateRaw) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = buf.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip file");
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const entries = new Map();
  const text = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new Error("bad zip central directory");
    const method = dv.getUint16(p + 10, true);
    const size = dv.getUint32(p + 20, true);
    const nameLength = dv.getUint16(p + 28, true);
    const extra = dv.getUint16(p + 30, true);
    const comment = dv.getUint16(p + 32, true);
    const offset = dv.getUint32(p + 42, true);
    entries.set(text.decode(buf.subarray(p + 46, p + 46 + nameLength)), { method, size, offset });
    p += 46 + nameLength + extra + comment;
  }
  return {
    names: [...entries.keys()],
    read(name) {
      const e = entries.get(name);
      if (!e) throw new Error(`${name} is not in the wheel`);
      if (e.method !== 0 && e.method !== 8) throw new Error(`${name}: unsupported zip method`);
      const start = e.offset + 30 + dv.getUint16(e.offset + 26, true) + dv.getUint16(e.offset + 28, true);
      const raw = buf.subarray(start, start + e.size);
      return Promise.resolve(e.method === 0 ? new Uint8Array(raw) : inflate(raw));
    },
  };
}

function reinstantiate(M, record, modules, memory) {
  const { LDSO, GOT, wasmTable: table } = M;
  const wasmImports = LDSO.loadedLibsByName.__main__.exports;
  // A browser's boot may add a function or two that Node's does not (Chromium: Python's
  // call trampoline, whose address the restored memory no longer holds, as the snapshot was
  // made in Node): the modules' element segments are written over them, and the checksum
  // below proves the table is the snapshot's.
  const extra = table.length - record.boot_table_length;
  if (extra < 0 || extra > 8) {
    throw new Error(`the runtime's table has ${table.length} slots at start, the snapshot's ` +
                    `${record.boot_table_length}: another runtime`);
  }
  for (const [symbol, value] of Object.entries(record.got)) {
    GOT[symbol] ??= new WebAssembly.Global({ value: "i32", mutable: true }, -1);
    GOT[symbol].value = value;
  }
  if (record.table_length > table.length) table.grow(record.table_length - table.length);
  const exportsOf = [];
  record.libs.forEach((lib, index) => {
    const module = modules[index];
    const local = lib.global ? null : {};
    let own;
    const resolve = (symbol) => M.resolveGlobalSymbol(symbol).sym ?? local?.[symbol] ?? own[symbol];
    // the imports loadWebAssemblyModule gives a side module, at the recorded bases
    const env = new Proxy({}, {
      get(stubs, prop) {
        if (prop === "__memory_base") return lib.memory_base;
        if (prop === "__table_base") return lib.table_base;
        if (prop in wasmImports && !wasmImports[prop].stub) return wasmImports[prop];
        if (!(prop in stubs)) {
          let found;
          stubs[prop] = (...args) => {
            found ||= resolve(prop);
            if (!found) throw new Error(`Dynamic linking error: cannot resolve symbol ${prop}`);
            return found(...args);
          };
        }
        return stubs[prop];
      },
    });
    const got = new Proxy(M.getDylinkMetadata(module).weakImports, M.GOTHandler);
    // writes the element segment at table_base and the data segment at memory_base, and
    // runs the start function (the module's own globals from its bases)
    const instance = new WebAssembly.Instance(module, {
      env, wasi_snapshot_preview1: env, "GOT.mem": got, "GOT.func": got });
    own = M.relocateExports(instance.exports, lib.memory_base);
    M.updateTableMap(lib.table_base, lib.table_size);
    const dso = M.newDSO(lib.path, undefined, own);
    dso.global = lib.global;
    dso.refcount = lib.refcount === null ? Infinity : lib.refcount;
    if (lib.global) M.mergeLibSymbols(own, lib.path);
    else Object.assign(local, own);
    exportsOf.push(own);
  });
  for (const [handle, name] of record.handles) {
    LDSO.loadedLibsByHandle[handle] = LDSO.loadedLibsByName[name];
  }
  for (const [slot, origin] of record.slots) {
    const fn = origin.main !== undefined ? wasmImports[origin.main] : exportsOf[origin.lib][origin.name];
    if (typeof fn !== "function") throw new Error(`table slot ${slot}: ${JSON.stringify(origin)} is gone`);
    try {
      M.setWasmTableEntry(slot, fn);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      M.setWasmTableEntry(slot, M.convertJsFunctionToWasm(fn, origin.sig));
    }
    M.updateTableMap(slot, 1);
  }
  M.freeTableIndexes.push(...record.free_table_indexes);
  // instantiation wrote the modules' initial data over their live state: put it back
  for (const lib of record.libs) {
    M.HEAP8.set(memory.subarray(lib.memory_base, lib.memory_base + lib.memory_size), lib.memory_base);
  }
  const checksum = tableChecksum(table);
  if (checksum !== record.table_checksum) {
    throw new Error("the function table restored differs from the snapshot's");
  }
}

/**
 * What loadPyodide needs to start from the snapshot (`options`), and what to do once it
 * has (`finish`: the wheels' files written to site-packages, loadedPackages filled in).
 */
export async function snapshotStart({ info, bytes, bytesReady, readFile, createModule, inflate }) {
  const record = info.dynlibs ?? null;
  // nothing is awaited here, so that loadPyodide starts fetching the runtime at once
  const wheelsRead = Promise.all((info.wheels ?? []).map(
    async (name) => { const raw = await readFile(name); return [name, raw, readZip(raw, inflate)]; }));
  // With a synchronous inflate (Node's zlib) the wheels' files are unpacked while the
  // runtime boots and `finish` only writes them. Without one (a browser), a
  // DecompressionStream per member costs the page's thread more than the runtime's own
  // zlib does: `finish` has Python unpack each wheel.
  const files = inflate ? wheelsRead.then((wheels) => Promise.all(wheels.flatMap(
    ([, , zip]) => zip.names.filter((member) => !member.endsWith("/"))
      .map(async (member) => [member, await zip.read(member)])))) : null;
  files?.catch(() => {});  // awaited by finish; a failure also fails the module's start
  const finish = async (pyodide) => {
    const site = info.site ?? pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
    if (files) {
      const made = new Set();
      for (const [member, data] of await files) {
        const dest = `${site}/${member}`;
        const folder = dest.slice(0, dest.lastIndexOf("/"));
        if (!made.has(folder)) {
          pyodide.FS.mkdirTree(folder);
          made.add(folder);
        }
        pyodide.FS.writeFile(dest, data, { canOwn: true });
      }
    } else {
      for (const [, raw] of await wheelsRead) pyodide.unpackArchive(raw, "zip", { extractDir: site });
    }
    for (const key of info.packages ?? []) pyodide.loadedPackages[key] ??= "snapshot";
    // every start from one snapshot would otherwise draw the same "random" numbers
    pyodide.runPython("import random, sys\nrandom.seed()\n" +
                      "if 'numpy.random' in sys.modules: sys.modules['numpy.random'].seed()");
  };
  const libs = record?.libs ?? [];
  // the side modules compile while the runtime boots (the restore itself is synchronous)
  const zips = wheelsRead.then((wheels) => new Map(wheels.map(([name, , zip]) => [name, zip])));
  const compiled = Promise.all(libs.map(async (lib) => {
    const zip = (await zips).get(lib.wheel);
    if (!zip) throw new Error(`${lib.wheel} (holding ${lib.member}) is not in snapshot.json's wheels`);
    return WebAssembly.compile(await zip.read(lib.member));
  }));
  const createPyodideModule = async (settings) => {
    const [M, modules] = await Promise.all([createModule(settings), compiled, bytesReady]);
    if (!libs.length) return M;
    const restore = M.API.restoreSnapshot;
    M.API.restoreSnapshot = (snapshot) => {
      const header = new Uint32Array(snapshot.buffer, snapshot.byteOffset, 4);
      const memory = snapshot.subarray(header[1]);
      if (M.HEAP8.length < memory.length) M.growMemory(memory.length);
      const state = restore(snapshot);
      reinstantiate(M, record, modules, memory);
      return state;
    };
    return M;
  };
  return { options: { _loadSnapshot: bytes, createPyodideModule }, finish };
}
