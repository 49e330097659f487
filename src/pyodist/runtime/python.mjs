// `pyodist python`: a python executable backed by a bundle under Node.
// usage: node python.mjs CONFIG_JSON
//   CONFIG_JSON: {bundle, args: [python arguments], cwd, mounts: [[host, guest]], env: {},
//                 wheels: [extra wheel paths], preload: bool, tests: bool, timing: bool,
//                 snapshot: bool (use the bundle's snapshot.bin when it has one),
//                 sites: [guest folders added as site directories (a venv's site-packages)]}
// stdin/stdout/stderr are the process's own (streamed); the exit code is Python's.
// A bundle package is loaded when it is first imported (an import hook over the lock, every
// file's sha256 checked first: Pyodide does not check them in Node), or all at start with
// preload.
import { createHash } from "node:crypto";
import { readFileSync, readSync, writeSync, existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { snapshotStart } from "./pyodist-snapshot.mjs";

const config = JSON.parse(process.argv[2]);
const started = performance.now();
const dir = path.resolve(config.bundle);
const fail = (msg) => { writeSync(2, `pyodist python: ${msg}\n`); process.exit(1); };
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const lock = JSON.parse(readFileSync(path.join(dir, "pyodide-lock.json"), "utf8"));
const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);

// A snapshot is used only with the files it was made from (it holds the runtime's memory).
let snapshot = null;
const infoPath = path.join(dir, "snapshot.json");
if (config.snapshot && existsSync(infoPath)) {
  const info = JSON.parse(readFileSync(infoPath, "utf8"));
  const bytes = readFileSync(path.join(dir, "snapshot.bin"));
  if (sha256(bytes) !== info["snapshot.bin"].sha256)
    fail("snapshot.bin does not match snapshot.json (changed after the bundle was built); " +
         "rebuild the bundle, or pass --no-snapshot");
  for (const [name, digest] of Object.entries(info.made_for)) {
    const file = path.join(dir, name);
    if (!existsSync(file) || sha256(readFileSync(file)) !== digest)
      fail(`snapshot.bin was made for another ${name} than this bundle's; rebuild the ` +
           "bundle (pyodist bundle), or pass --no-snapshot");
  }
  snapshot = { bytes, info };
}
// compiled packages in the snapshot are instantiated again by pyodist's loader
const start = snapshot ? await snapshotStart({
  info: snapshot.info,
  bytes: new Uint8Array(snapshot.bytes.buffer, snapshot.bytes.byteOffset, snapshot.bytes.byteLength),
  readFile: async (name) => new Uint8Array(readFileSync(path.join(dir, name))),
  inflate: inflateRawSync,
  createModule: (await import(pathToFileURL(path.join(dir, "pyodide.asm.mjs")).href)).default,
}) : null;
const pyodide = await loadPyodide({
  indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
  env: config.env, args: [], ...(start ? start.options : {}),
});
pyodide.setStdout({ write: (buf) => writeSync(1, buf) });
pyodide.setStderr({ write: (buf) => writeSync(2, buf) });
pyodide.setStdin({ read: (buf) => { try { return readSync(0, buf); } catch (e) {
  if (e.code === "EAGAIN") return 0; if (e.code === "EOF") return 0; throw e; } } });

for (const [host, guest] of config.mounts) {
  pyodide.FS.mkdirTree(guest);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: host }, guest);
}

// Bundle packages, installed synchronously (so an import can trigger it): the wheel is read,
// its sha256 checked against the lock, and unpacked where Pyodide's loader would put it
// (always named: unpackArchive's default is the current folder, here the user's, on NODEFS).
const SITE = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
const installed = new Set();
// a stock Pyodide folder (no pyodist manifest) lists every package of its release, most of
// them not there: only the ones present are offered; a bundle missing one is broken
const stock = !existsSync(path.join(dir, "manifest.json"));
const present = (pkg) => existsSync(path.join(dir, pkg.file_name));
// a --with wheel stands in for the lock's package of that name (a stock Pyodide folder lists
// packages whose files it does not hold: pytest, packaging ...)
for (const wheel of config.wheels) {
  installed.add(path.basename(wheel).split("-")[0].toLowerCase().replace(/[_.]+/g, "-"));
}
const install = (key) => {
  const todo = [key];
  while (todo.length) {
    const name = todo.shift();
    const pkg = lock.packages[name];
    if (!pkg || installed.has(name)) continue;
    installed.add(name);
    todo.push(...pkg.depends);
    if (name.endsWith("-tests") && !config.tests) continue;
    if (typeof pkg.file_name !== "string" || !pkg.file_name || /[\\/\0]/.test(pkg.file_name) ||
        pkg.file_name === "." || pkg.file_name === "..") {
      fail(`pyodide-lock.json: ${name}: file_name ${JSON.stringify(pkg.file_name)} does not name ` +
           "a file inside the bundle");
    }
    const file = path.join(dir, pkg.file_name);
    if (!existsSync(file)) {
      if (stock) continue;
      fail(`${pkg.file_name} is missing from the bundle`);
    }
    const bytes = readFileSync(file);
    if (sha256(bytes) !== pkg.sha256) fail(`${pkg.file_name}: sha256 does not match pyodide-lock.json`);
    // a Node Buffer is refused: a plain Uint8Array; wheels and test zips go to site-packages
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (pkg.install_dir === "dynlib") pyodide.unpackArchive(data, "zip", { extractDir: "/usr/lib" });
    else pyodide.unpackArchive(data, pkg.file_name.endsWith(".whl") ? "wheel" : "zip",
                               { extractDir: SITE });
  }
};
if (snapshot) {
  // the snapshot's own packages: their modules are in memory, their files are not (their
  // wheels' sha256 were checked against snapshot.json above)
  await start.finish(pyodide);
  for (const key of snapshot.info.packages) installed.add(key);
  pyodide.runPython("import random\nrandom.seed()");  // the snapshot's seed is fixed
}
const errors = [];
const onError = (m) => errors.push(m);
if (config.preload) {
  const keys = Object.keys(lock.packages).filter((k) => !k.endsWith("-tests") || config.tests);
  for (const key of keys) {  // hashes first, then Pyodide's own loader
    const pkg = lock.packages[key];
    if (typeof pkg.file_name !== "string" || /[\\/\0]/.test(pkg.file_name)) {
      fail(`pyodide-lock.json: ${key}: file_name ${JSON.stringify(pkg.file_name)} does not name ` +
           "a file inside the bundle");
    }
    const file = path.join(dir, pkg.file_name);
    if (!existsSync(file)) fail(`${pkg.file_name} is missing from the bundle`);
    if (sha256(readFileSync(file)) !== pkg.sha256) fail(`${pkg.file_name}: sha256 does not match pyodide-lock.json`);
  }
  if (keys.length) await pyodide.loadPackage(keys, { messageCallback: () => {}, errorCallback: onError });
  for (const key of keys) installed.add(key);
} else {
  if (config.tests) for (const key of Object.keys(lock.packages)) if (key.endsWith("-tests")) install(key);
  const provides = {};
  for (const [key, pkg] of Object.entries(lock.packages)) {
    if (installed.has(key) || (stock && !present(pkg))) continue;
    for (const mod of pkg.imports) provides[mod] ??= key;
  }
  pyodide.registerJsModule("_pyodist_bundle", { install: (key) => install(key) });
  pyodide.runPython(`
import importlib, sys
class _BundleFinder:
    """Installs a bundle package the first time one of its modules is imported."""
    provides = ${JSON.stringify(provides)}
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        key = cls.provides.get(name) if path is None else None
        if key is not None:
            import _pyodist_bundle
            _pyodist_bundle.install(key)
            for mod in [m for m, k in cls.provides.items() if k == key]:
                del cls.provides[mod]
            importlib.invalidate_caches()
        return None
sys.meta_path.insert(0, _BundleFinder)
`);
}
for (const wheel of config.wheels) {
  await pyodide.loadPackage(pathToFileURL(path.resolve(wheel)).href, { messageCallback: () => {}, errorCallback: onError });
}
if (errors.length) fail(errors.join("\n"));
if (config.timing) writeSync(2, `pyodist python: ready in ${((performance.now() - started) / 1000).toFixed(2)} s${snapshot ? " (from snapshot.bin)" : ""}\n`);

if (config.sites?.length) {
  pyodide.globals.set("_pyodist_sites", pyodide.toPy(config.sites));
  pyodide.runPython("import site\nfor _d in _pyodist_sites: site.addsitedir(_d)");
}
pyodide.globals.set("_pyodist_args", pyodide.toPy(config.args));
pyodide.globals.set("_pyodist_cwd", config.cwd);
const code = pyodide.runPython(`
def _pyodist_main(args, cwd):
    import os, runpy, sys, traceback, types
    os.chdir(cwd)
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    try:
        if args and args[0] == "-c":
            if len(args) < 2:
                print("Argument expected for the -c option", file=sys.stderr)
                return 2
            sys.argv = ["-c", *args[2:]]
            sys.path.insert(0, "")
            exec(compile(args[1], "<string>", "exec"), main.__dict__)
        elif args and args[0] == "-m":
            if len(args) < 2:
                print("Argument expected for the -m option", file=sys.stderr)
                return 2
            sys.argv = [args[1], *args[2:]]
            sys.path.insert(0, cwd)
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        elif not args or args[0] == "-":
            sys.argv = ["-", *args[1:]] if args else [""]
            sys.path.insert(0, "")
            exec(compile(sys.stdin.read(), "<stdin>", "exec"), main.__dict__)
        else:
            sys.argv = list(args)
            sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
            runpy.run_path(args[0], run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:
        tb = exc.__traceback__
        # leave out this driver's frame and runpy's, as python itself does
        while tb is not None and (tb.tb_frame.f_code.co_name == "_pyodist_main"
                                  or tb.tb_frame.f_code.co_filename.endswith("runpy.py")):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0

_pyodist_main(list(_pyodist_args), _pyodist_cwd)
`);
process.exit(code);
