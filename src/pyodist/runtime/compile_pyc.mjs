// Compile Python sources inside zip archives to .pyc with the runtime's own CPython.
// Input (stdin, JSON): {indexURL, root: host folder mounted with NODEFS, jobs: [{src, dest,
//   mode: "py"|"pyc"|"both", layout: "zip"|"site", drop: [module patterns], prefix,
//   strip_docstrings: bool, hot: [member paths] | null, source_form: "py"|"min"}],
//   debug_ranges: bool}
//   mode "startup-pyc": .pyc for the members listed in hot, source for the others;
//   source_form "min": source without docstrings and comments, re-printed by ast.unparse with
//   1-space indents (kept only when it parses back to the same tree, else the original).
//   a drop pattern is a dotted module name, with fnmatch wildcards ("encodings.cp*"); a
//   package pattern drops everything under it; "!name" keeps what a pattern would drop
//   paths in jobs are relative to root; "zip" puts mod.pyc beside mod.py (zipimport),
//   "site" puts __pycache__/mod.cpython-XY.pyc when sources are kept.
// Output (last stdout line, JSON): {ok, error, jobs: [{dest, compiled, dropped}], seconds}
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const spec = JSON.parse(readFileSync(0, "utf8"));
const started = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(spec.indexURL, "pyodide.mjs")).href);
// Without debug ranges the compiler leaves out column tables: smaller .pyc, and tracebacks
// keep their line numbers but lose the ^^^ markers.
const env = spec.debug_ranges === false ? { PYTHONNODEBUGRANGES: "1" } : {};
const pyodide = await loadPyodide({ indexURL: spec.indexURL + path.sep, env,
                                    stdout: () => {}, stderr: () => {} });
pyodide.FS.mkdirTree("/work");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: spec.root }, "/work");
pyodide.globals.set("jobs_json", JSON.stringify(spec.jobs));
let result;
try {
  result = pyodide.runPython(`
import ast, fnmatch, importlib.util, json, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

TAG = sys.implementation.cache_tag
STAMP = (1980, 1, 1, 0, 0, 0)

class _NoDocstrings(ast.NodeTransformer):
    def _strip(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.copy_location(ast.Pass(), body[0])]
        return node
    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _strip

def pyc(source, filename, strip):
    tree = ast.parse(source, filename)
    if strip:
        tree = _NoDocstrings().visit(tree)
    code = compile(tree, filename, "exec", dont_inherit=True)
    return _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)

def minified(source, filename):
    tree = _NoDocstrings().visit(ast.parse(source, filename))
    reference = ast.dump(tree)
    best = source
    text = ast.unparse(tree)
    for candidate in (text, "\\n".join(_one_space(line) for line in text.split("\\n"))):
        try:
            if ast.dump(ast.parse(candidate)) != reference:
                break
        except SyntaxError:
            break
        best = (candidate + "\\n").encode()
    return best

def _one_space(line):
    # ast.unparse indents by 4; a continuation line inside a string literal is not an
    # indent, which the round-trip check above catches
    n = len(line) - len(line.lstrip(" "))
    return " " * (n // 4) + line[n:] if n % 4 == 0 else line

def dropped_by(member, patterns):
    path = member.rsplit(".", 1)[0] if member.endswith((".py", ".pyc")) else member
    parts = path.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    keep = [pat[1:] for pat in patterns if pat.startswith("!")]
    if any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in keep):
        return False
    return any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in patterns
               if not pat.startswith("!"))

def run(job):
    hot = set(job.get("hot") or ())
    drop = list(job["drop"])
    compiled = dropped = 0
    entries = {}
    with zipfile.ZipFile("/work/" + job["src"]) as src:
        for info in src.infolist():
            name = info.filename
            if info.is_dir():
                continue
            top = name.split("/", 1)[0]
            if drop and dropped_by(name, drop):
                dropped += 1
                continue
            data = src.read(info)
            in_meta = top.endswith((".dist-info", ".data"))
            if not name.endswith(".py") or in_meta:
                entries[name] = data
                continue
            cold = job["mode"] == "startup-pyc" and name not in hot
            if job["mode"] == "py" or cold:
                entries[name] = minified(data, job["prefix"] + name) \
                    if job.get("source_form") == "min" else data
                continue
            code = pyc(data, job["prefix"] + name, job.get("strip_docstrings", False))
            compiled += 1
            if job["mode"] in ("pyc", "startup-pyc"):
                entries[name[:-3] + ".pyc"] = code
            else:
                entries[name] = data
                if job["layout"] == "zip":
                    entries[name[:-3] + ".pyc"] = code
                else:
                    folder, _, base = name.rpartition("/")
                    cached = (folder + "/" if folder else "") + "__pycache__/" + base[:-3] + "." + TAG + ".pyc"
                    entries[cached] = code
    with zipfile.ZipFile("/work/" + job["dest"], "w", zipfile.ZIP_DEFLATED) as out:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, STAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, entries[name], compresslevel=9)
    return {"dest": job["dest"], "compiled": compiled, "dropped": dropped}

json.dumps([run(j) for j in json.loads(jobs_json)])
`);
  console.log(JSON.stringify({ ok: true, error: null, jobs: JSON.parse(result),
                               seconds: (performance.now() - started) / 1000 }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err.message || err).trim(), jobs: [],
                               seconds: (performance.now() - started) / 1000 }));
}
process.exit(0);
