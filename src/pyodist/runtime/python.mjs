// `pyodist python`: a python executable backed by a bundle under Node.
// usage: node python.mjs CONFIG_JSON
//   CONFIG_JSON: {bundle, args: [python arguments], cwd, mounts: [[host, guest]], env: {},
//                 wheels: [extra wheel paths], preload: bool, timing: bool,
//                 sites: [guest folders added as site directories (a venv's site-packages)]}
// stdin/stdout/stderr are the process's own (streamed); the exit code is Python's.
import { createHash } from "node:crypto";
import { readFileSync, readSync, writeSync, existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const config = JSON.parse(process.argv[2]);
const started = performance.now();
const dir = path.resolve(config.bundle);
const fail = (msg) => { writeSync(2, `pyodist python: ${msg}\n`); process.exit(1); };
const lock = JSON.parse(readFileSync(path.join(dir, "pyodide-lock.json"), "utf8"));
const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: dir + path.sep, lockFileURL: path.join(dir, "pyodide-lock.json"),
  env: config.env, args: [],
});
pyodide.setStdout({ write: (buf) => writeSync(1, buf) });
pyodide.setStderr({ write: (buf) => writeSync(2, buf) });
pyodide.setStdin({ read: (buf) => { try { return readSync(0, buf); } catch (e) {
  if (e.code === "EAGAIN") return 0; if (e.code === "EOF") return 0; throw e; } } });

for (const [host, guest] of config.mounts) {
  pyodide.FS.mkdirTree(guest);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: host }, guest);
}

// Pyodide does not check wheel hashes in Node: check them before anything is loaded.
const toLoad = [];
if (config.preload) {
  for (const [key, pkg] of Object.entries(lock.packages)) {
    if (key.endsWith("-tests") && !config.tests) continue;
    const file = path.join(dir, pkg.file_name);
    if (!existsSync(file)) fail(`${pkg.file_name} is missing from the bundle`);
    if (createHash("sha256").update(readFileSync(file)).digest("hex") !== pkg.sha256)
      fail(`${pkg.file_name}: sha256 does not match pyodide-lock.json`);
    toLoad.push(key);
  }
}
const errors = [];
const onError = (m) => errors.push(m);
if (toLoad.length) await pyodide.loadPackage(toLoad, { messageCallback: () => {}, errorCallback: onError });
for (const wheel of config.wheels) {
  await pyodide.loadPackage(pathToFileURL(path.resolve(wheel)).href, { messageCallback: () => {}, errorCallback: onError });
}
if (errors.length) fail(errors.join("\n"));
if (config.timing) writeSync(2, `pyodist python: ready in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);

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
