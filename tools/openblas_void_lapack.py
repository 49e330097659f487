#!/usr/bin/env python3
"""Rewrite an OpenBLAS tree (with lapack-netlib) so that every LAPACK subroutine is
defined and declared `void` (Fortran semantics), xerbla_ keeps `int (char*, int*, len)`.

Writes recipes/openblas/patches/0002-wasm-void-lapack-subroutines.patch: unpack the
openblas recipe's sources (Debian's orig tarball, cmeel's lapack-netlib as lapack-netlib/)
into a/ and b/, run this on b/, then `diff -ru a b`.

usage: python3 tools/openblas_void_lapack.py TREE   (edits TREE in place)
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
SRC = root / "lapack-netlib" / "SRC"
changed: dict[str, int] = {}


def note(path: Path, n: int) -> None:
    if n:
        changed[str(path.relative_to(root))] = changed.get(str(path.relative_to(root)), 0) + n


def split_decl(text: str, start: int) -> int:
    """Index just past the ';' ending the declaration that starts at `start`."""
    depth = 0
    i = start
    while True:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ";" and depth == 0:
            return i + 1
        i += 1


def names_of(decl: str) -> list[str]:
    out: list[str] = []
    depth = 0
    for m in re.finditer(r"[()]|\b([a-z0-9_]+)\s*\(", decl):
        if m.group(0) == "(":
            depth += 1
        elif m.group(0) == ")":
            depth -= 1
        else:
            if depth == 0:
                out.append(m.group(1))
            depth += 1
    return out


DECL = re.compile(r"extern (/\* Subroutine \*/ )?int (?=[a-z0-9_]+_\s*\()")

# INSTALL/ilaver.c is built into the library too (SRC/Makefile's ALLAUX)
for path in sorted([*SRC.glob("*.c"), *SRC.glob("DEPRECATED/*.c"),
                    root / "lapack-netlib" / "INSTALL" / "ilaver.c"]):
    text = path.read_text(encoding="latin-1")
    orig = text
    n = 0
    # 1. extern declarations of subroutines: int -> void (xerbla_ stays int)
    pos = 0
    out = []
    for m in DECL.finditer(text):
        end = split_decl(text, m.start())
        decl = text[m.start():end]
        names = names_of(decl[m.end() - m.start():])
        if names == ["xerbla_"]:
            continue
        out.append(text[pos:m.start()])
        if "xerbla_" in names:
            # split `extern int a_(...), xerbla_(...), b_(...);` into a void and an int one
            head = decl[:m.end() - m.start()]
            parts, depth, last = [], 0, len(head)
            for i in range(len(head), len(decl) - 1):
                c = decl[i]
                depth += c == "("
                depth -= c == ")"
                if c == "," and depth == 0:
                    parts.append(decl[last:i])
                    last = i + 1
            parts.append(decl[last:len(decl) - 1])
            xer = [q for q in parts if q.strip().startswith("xerbla_")]
            rest = [q for q in parts if not q.strip().startswith("xerbla_")]
            out.append(head.replace(" int ", " void ", 1) + ",".join(rest).lstrip() + ";")
            out.append("\n    extern int " + xer[0].strip() + ";")
        else:
            out.append(decl.replace(" int ", " void ", 1))
        pos = end
        n += 1
    out.append(text[pos:])
    text = "".join(out)
    # 2. a definition `/* Subroutine */ int name_(` -> void, `return 0;` -> `return;` in it
    d = re.search(r"^/\* Subroutine \*/ int ([a-z0-9_]+_)\(", text, re.M)
    if d:
        name = d.group(1)
        close = text.index(f"}} /* {name} */", d.start())
        body = text[d.start():close]
        body = body.replace("/* Subroutine */ int ", "/* Subroutine */ void ", 1)
        body, k = re.subn(r"\breturn 0;", "return;", body)
        text = text[:d.start()] + body + text[close:]
        n += 1 + k
    # 3. two-argument xerbla_ (LAPACK 3.12's newer routines): give it the hidden length
    if re.search(r"int xerbla_\(\s*char\s*\*,\s*integer\s*\*\s*\);", text):
        text = re.sub(r"int xerbla_\(\s*char\s*\*,\s*integer\s*\*\s*\);",
                      "int xerbla_(char *, integer *, ftnlen);", text)
        text, k = re.subn(r'xerbla_\("([A-Z0-9_]+)", ([^;]*?)\);',
                          lambda m: f'xerbla_("{m.group(1)}", {m.group(2)}, '
                                    f'(ftnlen){len(m.group(1))});', text)
        n += 1 + k
    if text != orig:
        path.write_text(text, encoding="latin-1")
        note(path, n)

# 4. OpenBLAS's own LAPACK (interface/lapack/*.c): int NAME( -> void NAME(
for path in sorted((root / "interface" / "lapack").glob("*.c")):
    text = path.read_text()
    new, k = re.subn(r"^int NAME\(", "void NAME(", text, flags=re.M)
    if k:
        new, r = re.subn(r"\breturn 0;", "return;", new)
        path.write_text(new)
        note(path, k + r)

# 5. their prototypes in common_interface.h
hdr = root / "common_interface.h"
text = hdr.read_text()
names = ["getf2", "getrf", "getrs", "gesv", "laswp", "lauu2", "lauum", "potf2", "potrf",
         "potri", "trti2", "trtri", "trtrs", "laed3"]
pat = re.compile(r"^int\s+(BLASFUNC\((?:[sdczqxe])(?:" + "|".join(names) + r")\))", re.M)
new, k = pat.subn(r"void \1", text)
if k:
    hdr.write_text(new)
    note(hdr, k)

for f, k in sorted(changed.items()):
    print(f"{k:5d} {f}")
print(len(changed), "files")
