#!/usr/bin/env python3
"""Copy /work/main/recipes/*/meta.yaml to OUT/<name>/meta.yaml with the `source:` url+sha256
replaced by `path: <extracted source dir>` so `pyodide build-recipes*` never downloads.
(pyodide-build 0.39.2 fetches source.url with requests.get: neither the `pypi:` scheme nor
file:// work.) usage: make-path-recipes.py OUT SRCROOT  (SRCROOT as seen inside the container)"""
import re, sys, pathlib
out, srcroot = pathlib.Path(sys.argv[1]), sys.argv[2]
for meta in sorted(pathlib.Path("/work/main/recipes").glob("*/meta.yaml")):
    text = meta.read_text()
    m = re.search(r"^\s+url:\s*pypi:[^/]+/(\S+?)\.(tar\.gz|zip)\s*$", text, re.M)
    text = re.sub(r"^(\s+)url:.*\n", lambda mm: f"{mm.group(1)}path: {srcroot}/{m.group(1)}\n", text, flags=re.M)
    text = re.sub(r"^\s+sha256:.*\n", "", text, flags=re.M)
    d = out / meta.parent.name; d.mkdir(parents=True, exist_ok=True)
    (d / "meta.yaml").write_text(text)
    print(d, m.group(1))
