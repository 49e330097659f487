"""The recipe model: every key parses, every rule fires, messages are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.errors import RecipeError
from pyodist.recipe import canonical_name, load_recipe, load_recipe_dirs, parse_recipe
from tests.conftest import SHA, WriteRecipe, simple_recipe

FULL = f"""
package:
  name: fullpkg
  version: 1.10
  tag: [core, min-scipy-stack]
  top-level: [fullpkg, _fullpkg]
  _disabled: false
  pinned: true
source:
  url: https://example.invalid/fullpkg-1.10.tar.gz
  sha256: {SHA}
  extract_dir: fullpkg-src
  patches:
    - patches/0001-fix.patch
  extras:
    - [extras/site.cfg, site.cfg]
build:
  type: package
  script: export FOO=1
  post: rm -rf $PKGDIR/tests
  cross-script: echo cross
  cflags: -O3 -DX=1
  cxxflags: -std=c++17
  ldflags: -lm
  backend-flags: setup-args=-Dfoo=bar
  exports: requested
  unvendor-tests: false
  _retain-test-patterns: ["*_helper.py"]
  vendor-sharedlib: false
  cross-build-env: true
  cross-build-files: [fullpkg/include/x.h]
requirements:
  run: [dep-a]
  host: [dep-b]
  executable: [rustc]
  constraint: ["setuptools<80"]
  build-extras: [speedups]
test:
  imports: [fullpkg, fullpkg.sub]
about:
  home: https://example.invalid
  PyPI: https://example.invalid/project/fullpkg
  summary: A recipe using every key
  license: MIT
extra:
  recipe-maintainers: [alice]
  anything: goes
"""


def _full(write_recipe: WriteRecipe) -> Path:
    meta = write_recipe("fullpkg", FULL)
    (meta.parent / "patches").mkdir()
    (meta.parent / "patches" / "0001-fix.patch").write_text("")
    (meta.parent / "extras").mkdir()
    (meta.parent / "extras" / "site.cfg").write_text("")
    return meta


def test_every_key_parses(write_recipe: WriteRecipe) -> None:
    r = load_recipe(_full(write_recipe))
    assert (r.name, r.version) == ("fullpkg", "1.10")  # raw text: not the float 1.1
    assert r.package.tag == ("core", "min-scipy-stack")
    assert r.package.top_level == ("fullpkg", "_fullpkg")
    assert r.package.pinned and not r.package.disabled
    s = r.source
    assert (s.kind, s.filename, s.extract_dir) == ("url", "fullpkg-1.10.tar.gz", "fullpkg-src")
    assert s.patches == ("patches/0001-fix.patch",)
    assert s.extras == (("extras/site.cfg", "site.cfg"),)
    b = r.build
    assert (b.type, b.script, b.post, b.cross_script) == (
        "package", "export FOO=1", "rm -rf $PKGDIR/tests", "echo cross")
    assert (b.cflags, b.cxxflags, b.ldflags) == ("-O3 -DX=1", "-std=c++17", "-lm")
    assert b.backend_flags == "setup-args=-Dfoo=bar"
    assert b.exports == "requested"
    assert not b.unvendor_tests and not b.vendor_sharedlib and b.cross_build_env
    assert b.retain_test_patterns == ("*_helper.py",)
    assert b.cross_build_files == ("fullpkg/include/x.h",)
    q = r.requirements
    assert (q.run, q.host, q.executable, q.constraint, q.build_extras) == (
        ("dep-a",), ("dep-b",), ("rustc",), ("setuptools<80",), ("speedups",))
    assert r.dependencies == ("dep-b", "dep-a")
    assert r.test.imports == ("fullpkg", "fullpkg.sub")
    assert r.about.license == "MIT" and r.about.PyPI is not None
    assert r.extra == {"recipe-maintainers": ["alice"], "anything": "goes"}


def test_defaults_match_pyodide(write_recipe: WriteRecipe) -> None:
    r = load_recipe(write_recipe("mini", simple_recipe("mini")))
    assert r.build.type == "package" and r.build.exports == "pyinit"
    assert r.build.unvendor_tests and r.build.vendor_sharedlib
    assert r.source.kind == "pypi" and r.source.pypi_project == "mini"
    assert r.test.imports == () and r.extra == {}


def test_exports_list_and_empty_sections(write_recipe: WriteRecipe) -> None:
    text = simple_recipe("ex") + "build:\n  exports: [PyInit_a, foo]\ntest:\nabout:\n"
    r = load_recipe(write_recipe("ex", text))
    assert r.build.exports == ("PyInit_a", "foo")


def test_path_source_is_resolved_and_digest_ignores_location(
    write_recipe: WriteRecipe, tmp_path: Path,
) -> None:
    text = "package: {name: loc, version: '2.0'}\nsource: {path: src}\n"
    a = load_recipe(write_recipe("loc", text))
    b = load_recipe(write_recipe("loc", text, base=tmp_path / "other"))
    assert a.source.path == (a.folder / "src").resolve()
    assert a.source.kind == "path"
    assert a.digest() == b.digest()


def test_digest_ignores_layout_but_not_meaning(write_recipe: WriteRecipe, tmp_path: Path) -> None:
    a = load_recipe(write_recipe("d", simple_recipe("d")))
    reordered = "# comment\nsource:\n  sha256: " + SHA + "\n  url: pypi:d/d-1.0.tar.gz\n" \
        "package: {version: '1.0', name: d}\n"
    b = load_recipe(write_recipe("d", reordered, base=tmp_path / "x"))
    c = load_recipe(write_recipe("d", simple_recipe("d", "1.1"), base=tmp_path / "y"))
    assert a.digest() == b.digest() != c.digest()


def test_build_digest_leaves_out_what_the_build_does_not_read(
    write_recipe: WriteRecipe, tmp_path: Path,
) -> None:
    a = load_recipe(write_recipe("d", simple_recipe("d")))
    described = simple_recipe("d", tags=["science"]) + "about: {summary: Data}\n" \
        "extra: {recipe-maintainers: [someone]}\n"
    b = load_recipe(write_recipe("d", described, base=tmp_path / "x"))
    c = load_recipe(write_recipe("d", simple_recipe("d") + "build: {cflags: -O3}\n",
                                 base=tmp_path / "y"))
    assert a.digest() != b.digest()  # the recipe's meaning, as the manifest records it
    assert a.build_digest() == b.build_digest() != c.build_digest()


def test_library_versions_need_not_be_pep440(write_recipe: WriteRecipe) -> None:
    text = f"""
    package: {{name: libssl, version: 1.1.1w}}
    source: {{url: "https://example.invalid/o.tar.gz", sha256: {SHA}}}
    build:
      type: static_library
      script: make
    """
    assert load_recipe(write_recipe("libssl", text)).version == "1.1.1w"


def test_cpython_module_needs_no_source(write_recipe: WriteRecipe) -> None:
    text = "package: {name: ssl, version: 1.0.0}\nbuild: {type: cpython_module}\n"
    assert load_recipe(write_recipe("ssl", text)).build.type == "cpython_module"


# -- exact messages for the main errors -------------------------------------------------------

def _error(write_recipe: WriteRecipe, name: str, text: str) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(name, text))
    return str(info.value)


def test_unknown_key_message(write_recipe: WriteRecipe) -> None:
    text = simple_recipe("uk") + "build:\n  cflgs: -O2\n"
    msg = _error(write_recipe, "uk", text)
    path = write_recipe("uk", text)
    assert msg == (
        f"{path}:8:3: build/cflgs: unknown key\n"
        "  fix: did you mean 'cflags'? (allowed: _cross-build-env-skip-install, "
        "_retain-test-patterns, backend-flags, cflags, "
        "cross-build-env, cross-build-files, cross-script, cxxflags, exports, ldflags, post, "
        "script, type, unvendor-tests, vendor-sharedlib)"
    )


def test_unknown_section_message(write_recipe: WriteRecipe) -> None:
    msg = _error(write_recipe, "us", simple_recipe("us") + "requirement:\n  run: [x]\n")
    assert msg.endswith(
        ":7:1: requirement: unknown section\n"
        "  fix: did you mean 'requirements'? (allowed: about, build, extra, package, "
        "requirements, source, test)"
    )


def test_missing_sha256_message(write_recipe: WriteRecipe) -> None:
    text = ("package:\n  name: nosha\n  version: '1.0'\n"
            "source:\n  url: pypi:nosha/nosha-1.0.tar.gz\n")
    path = write_recipe("nosha", text)
    assert _error(write_recipe, "nosha", text) == (
        f"{path}:5:3: source/url: a downloaded source needs 'source/sha256'\n"
        "  fix: add 'sha256: <64 hex digits>' under 'source' (sha256sum prints it for a file)"
    )


def test_bad_yaml_message(write_recipe: WriteRecipe) -> None:
    text = "package:\n  name: bad\n   version: 1.0\n"
    path = write_recipe("bad", text)
    assert _error(write_recipe, "bad", text) == (
        f"{path}:3:11: invalid YAML: mapping values are not allowed in this context\n"
        "  fix: fix the YAML syntax at this position (check indentation and quoting)"
    )


def test_all_problems_in_a_file_are_reported_together(write_recipe: WriteRecipe) -> None:
    text = """
    package:
      name: many
      version: not a version
      colour: red
    source:
      url: pypi:many/many-1.0.tar.gz
      sha256: XYZ
    test:
      imports: ["not-a-module"]
    """
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe("many", text))
    keys = [(p.key, p.line) for p in info.value.problems]
    assert keys == [
        ("package/colour", 4), ("source/sha256", 7), ("test/imports", 9), ("package/version", 3),
    ]


@pytest.mark.parametrize(("text", "key", "message"), [
    ("package: {name: other, version: '1'}\nsource: {path: .}\n",
     "package/name", "name 'other' does not match the recipe folder 'rule'"),
    (f"package: {{name: rule, version: '1'}}\nsource: {{url: pypi:a/a.tar.gz, sha256: {SHA}, "
     "path: .}\n", "source", "has both 'url' and 'path'"),
    ("package: {name: rule, version: '1'}\n", "source",
     "no source: a recipe needs 'source/url' (with 'sha256') or 'source/path'"),
    ("package: {name: rule, version: '1'}\nsource: {path: ., patches: [meta.yaml]}\n",
     "source/patches",
     "patches and extras apply only to a downloaded source archive (this source is not "
     "downloaded)"),
    (f"package: {{name: rule, version: '1'}}\nsource: {{url: pypi:a/a-1-py3-none-any.whl, "
     f"sha256: {SHA}, extras: [[meta.yaml, x]]}}\n", "source/extras",
     "patches and extras apply only to a downloaded source archive (this source is a wheel)"),
    (f"package: {{name: rule, version: '1'}}\nsource: {{url: pypi:a/a-1-py3-none-any.whl, "
     f"sha256: {SHA}}}\nbuild: {{cflags: -O2}}\n", "build/cflags",
     "not allowed for a prebuilt wheel source"),
    (f"package: {{name: rule, version: '1'}}\nsource: {{url: pypi:a/a-1-py3-none-any.whl, "
     f"sha256: {SHA}}}\nrequirements: {{host: [x]}}\n", "requirements/host",
     "a prebuilt wheel source cannot have host requirements"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\n"
     "build: {type: static_library, backend-flags: x}\n",
     "build/backend-flags", "not allowed when building a static_library"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\nrequirements: {run: [Rule]}\n",
     "requirements/run", "'rule' depends on itself"),
    ("package: {name: rule, version: '1.0.0.0.x'}\nsource: {path: .}\n",
     "package/version", "'1.0.0.0.x' is not a valid PEP 440 version"),
    ("package: {name: rule}\nsource: {path: .}\n", "package/version", "missing required key"),
    ("package: {name: rule, version: '1', tag: core}\nsource: {path: .}\n", "package/tag",
     "expected a list of strings, got a string ('core')"),
    ("package: {name: rule, version: '1', _disabled: 'no'}\nsource: {path: .}\n",
     "package/_disabled", "expected true or false, got a string ('no')"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\nbuild: {type: wheel}\n",
     "build/type", "unknown build type 'wheel'"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\nbuild: {exports: all}\n",
     "build/exports", "unknown exports kind 'all'"),
    ("package: {name: rule, version: '1'}\nsource: {url: 'ftp://x/y.tgz', sha256: " + SHA + "}\n",
     "source/url", "unsupported URL 'ftp://x/y.tgz'"),
    ("package: {name: rule, version: '1'}\nsource: {url: 'pypi:six', sha256: " + SHA + "}\n",
     "source/url", "malformed index source 'pypi:six'"),
    ("package: {name: rule, version: '1'}\nsource: {url: 'debian:Zlib/z.tgz', sha256: " + SHA +
     "}\n", "source/url", "malformed Debian source 'debian:Zlib/z.tgz'"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", extra-archives: [{url: 'pypi:b/b.tgz', sha256: " + SHA + "}]}\n",
     "source/extra-archives", "an extra archive lacks dest"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", extra-archives: [{url: 'pypi:b/b.tgz', sha256: " + SHA + ", dest: ../up}]}\n",
     "source/extra-archives", "dest '../up' must be a relative folder that stays inside"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", extra-archives: [{url: 'pypi:b/b.tgz', sha256: abc, dest: x}]}\n",
     "source/extra-archives", "not a sha256 digest: 'abc'"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", extra-archives: [{url: 'pypi:b/b.tgz', sha256: " + SHA + ", dest: x, folder: y}]}\n",
     "source/extra-archives", "unknown key 'folder' in an extra archive"),
    ("package: {name: rule, version: '1'}\nsource: {path: ., extra-archives: [{url: 'pypi:b/b.tgz',"
     " sha256: " + SHA + ", dest: x}]}\n",
     "source/extra-archives", "patches and extras apply only to a downloaded source archive"),
    ("package: {name: rule, version: '1', variant-of: rule}\nsource: {path: .}\n",
     "package/variant-of", "'rule' cannot be a variant of itself"),
    ("package: {name: rule, version: '1', variant-of: 'a b'}\nsource: {path: .}\n",
     "package/variant-of", "'a b' is not a recipe name"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", patches: [nope.patch]}\n", "source/patches", "patch file 'nope.patch' not found in"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\nrequirements: {run: ['x>=1']}\n",
     "requirements/run", "'x>=1' is not a recipe name"),
    ("package: {name: rule, version: '1'}\nsource: {path: .}\nbuild: {extras: 1}\n",
     "build/extras", "unknown key"),
    ("package: {name: rule, version: '1'}\nsource: {url: pypi:a/a.tgz, sha256: " + SHA +
     ", extras: [[a]]}\n", "source/extras", "expected a pair [from, to], got a list"),
    ("package: {name: rule, version: '1', name: again}\nsource: {path: .}\n",
     "package/name", "duplicate key"),
    ("- a list\n", None, "expected the file to be a mapping, got a list"),
    ("package: [a]\n", "package", "expected 'package' to be a mapping, got a list"),
])
def test_validation_rules(write_recipe: WriteRecipe, text: str, key: str | None,
                          message: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe("rule", text))
    problems = info.value.problems
    assert any(p.key == key and p.message.startswith(message) for p in problems), problems
    assert all(p.hint for p in problems)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="the file is empty"):
        parse_recipe(tmp_path / "x" / "meta.yaml", "")
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "nothing")


def test_layered_directories_override(tmp_path: Path, write_recipe: WriteRecipe) -> None:
    base, local = tmp_path / "base", tmp_path / "local"
    write_recipe("six", simple_recipe("six", "1.0"), base=base)
    write_recipe("attrs", simple_recipe("attrs", "2.0"), base=base)
    write_recipe("six", simple_recipe("six", "1.1"), base=local)
    result = load_recipe_dirs([base, local])
    assert not result.errors
    assert {n: r.version for n, r in result.recipes.items()} == {"attrs": "2.0", "six": "1.1"}
    assert result.overridden == {"six": (base / "six" / "meta.yaml",)}


def test_load_dirs_collects_errors_and_duplicates(tmp_path: Path,
                                                  write_recipe: WriteRecipe) -> None:
    d = tmp_path / "r"
    write_recipe("good", simple_recipe("good"), base=d)
    write_recipe("broken", "package: [\n", base=d)
    write_recipe("Dup.Name", simple_recipe("Dup.Name"), base=d)
    write_recipe("dup_name", simple_recipe("dup_name"), base=d)
    result = load_recipe_dirs([d, tmp_path / "missing"])
    assert set(result.recipes) == {"good", "Dup.Name"}
    assert {p.parent.name if p.name == "meta.yaml" else p.name for p in result.errors} == {
        "broken", "dup_name", "missing"}
    with pytest.raises(RecipeError):
        result.raise_errors()


def test_canonical_name() -> None:
    assert canonical_name("Zope.Interface") == canonical_name("zope_interface") == "zope-interface"


@pytest.mark.parametrize("name", ["/etc/passwd", "../../../etc/passwd", "../other/x.patch"])
def test_patches_and_extras_stay_in_the_recipe_folder(write_recipe: WriteRecipe,
                                                      recipe_dir: Path, name: str) -> None:
    (recipe_dir / "other").mkdir()
    (recipe_dir / "other" / "x.patch").write_text("")
    meta = write_recipe("demo", f"""\
        package: {{name: demo, version: "1.0"}}
        source:
          url: pypi:demo/demo-1.0.tar.gz
          sha256: {"a" * 64}
          patches: [{name}]
          extras: [[{name}, x]]
        """)
    with pytest.raises(RecipeError) as err:
        load_recipe(meta)
    text = str(err.value)
    assert f"source/patches: {name!r} points outside the recipe folder" in text
    assert f"source/extras: {name!r} points outside the recipe folder" in text
    assert "keep patches and extra files in the recipe folder" in text


def test_empty_values_pyodide_build_accepts_are_accepted(write_recipe: WriteRecipe,
                                                         tmp_path: Path) -> None:
    """What pyodide-build reads as "not given" (home:, home: null, script: ~) loads without a
    word; an empty value with a non-empty default loads as that default, with a warning that
    names the key; neither makes the folder fail."""
    write_recipe("quiet", simple_recipe("quiet") + "build:\n  script:\n  post: ~\n"
                 "about:\n  home:\n  PyPI: null\n  summary:\n  license:\n")
    write_recipe("noisy", simple_recipe("noisy") + "build:\n  cflags:\n  unvendor-tests:\n"
                 "requirements:\n  run:\n")
    write_recipe("good", simple_recipe("good"))
    result = load_recipe_dirs([tmp_path / "recipes"])
    assert not result.errors and sorted(result.recipes) == ["good", "noisy", "quiet"]
    quiet = result.recipes["quiet"]
    assert quiet.about.home is None and quiet.build.script is None
    noisy = result.recipes["noisy"]
    assert noisy.build.cflags == "" and noisy.build.unvendor_tests is True
    assert noisy.requirements.run == ()
    warned = {(p.file.parent.name if p.file else None, p.key): p.message
              for p in result.warnings}
    assert warned == {
        ("noisy", "build/cflags"): "is empty; read as the default (an empty string)",
        ("noisy", "build/unvendor-tests"): "is empty; read as the default (true)",
        ("noisy", "requirements/run"): "is empty; read as the default (an empty list)",
    }
    # the name and version are required: empty is still an error
    with pytest.raises(RecipeError, match="package/version"):
        parse_recipe(tmp_path / "x" / "meta.yaml", "package:\n  name: x\n  version:\n")


def test_pyodide_build_only_keys_load(write_recipe: WriteRecipe) -> None:
    recipe = load_recipe(write_recipe("whl", """\
        package: {name: whl, version: "1.0"}
        source: {url: "pypi:whl/whl-1.0-py3-none-any.whl", sha256: %s}
        build:
          cross-build-env: true
          _cross-build-env-skip-install: true
        """ % ("0" * 64)))
    assert recipe.build.cross_build_env_skip_install is True


def test_folders_that_are_not_read_are_reported(tmp_path: Path,
                                                write_recipe: WriteRecipe) -> None:
    write_recipe("good", simple_recipe("good"))
    root = tmp_path / "recipes"
    (root / "yml").mkdir()
    (root / "yml" / "meta.yml").write_text(simple_recipe("yml"))
    (root / "loop").mkdir()
    (root / "loop" / "meta.yaml").symlink_to("meta.yaml")
    result = load_recipe_dirs([root])
    assert list(result.recipes) == ["good"] and not result.errors
    assert sorted((p.file.parent.name if p.file else "", p.message.split(":")[0])
                  for p in result.warnings) == [
        ("loop", "is a link that leads nowhere (or loops); the folder is skipped"),
        ("yml", "is not read")]


def test_an_oversized_recipe_is_refused_before_it_is_parsed(write_recipe: WriteRecipe) -> None:
    path = write_recipe("big", simple_recipe("big"))
    path.write_text(simple_recipe("big") + "extra:\n  notes: '" + "x" * (1024 * 1024) + "'\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert "a recipe may have at most 1,048,576" in str(err.value)


@pytest.mark.parametrize(("extra", "key", "message"), [
    ("build:\n  cross-build-env: true\n  cross-build-files: [../../etc/x.h]\n",
     "build/cross-build-files", "is not a path inside the wheel"),
    ("build:\n  cross-build-files: [/abs/x.h]\n", "build/cross-build-files",
     "is not a path inside the wheel"),
])
def test_path_like_build_values_are_refused_by_the_loader(write_recipe: WriteRecipe, extra: str,
                                                          key: str, message: str) -> None:
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe("pl", simple_recipe("pl") + extra))
    assert [(p.key, message in p.message) for p in err.value.problems] == [(key, True)]


@pytest.mark.parametrize(("source", "key", "message"), [
    ("extract_dir: ../up", "source/extract_dir", "is not a folder inside the archive"),
    ("extras: [[meta.yaml, ../../outside.cfg]]", "source/extras", "leaves the source tree"),
])
def test_path_like_source_values_are_refused_by_the_loader(write_recipe: WriteRecipe,
                                                           source: str, key: str,
                                                           message: str) -> None:
    text = simple_recipe("ps").replace("source:\n", f"source:\n  {source}\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe("ps", text))
    assert [(p.key, message in p.message) for p in err.value.problems] == [(key, True)]


def test_a_source_path_outside_the_recipes_folder_is_refused(write_recipe: WriteRecipe) -> None:
    for path in ("../..", "../../elsewhere", "..", "/etc"):
        with pytest.raises(RecipeError, match="leads outside the recipes folder"):
            load_recipe(write_recipe("out", f"package: {{name: out, version: '1'}}\n"
                                            f"source: {{path: '{path}'}}\n"))


def test_a_source_path_in_a_sibling_recipe_is_allowed(write_recipe: WriteRecipe,
                                                      recipe_dir: Path) -> None:
    """As Pyodide's numpy-tests reads ../numpy/build/numpy-2.4.6 (built first)."""
    recipe = load_recipe(write_recipe("numpy-tests", "package: {name: numpy-tests, version: '1'}\n"
                                      "source: {path: ../numpy/build/numpy-1}\n"))
    assert recipe.source.path == (recipe_dir / "numpy" / "build" / "numpy-1").resolve()


def test_a_sha256_or_name_with_a_trailing_newline_is_refused(write_recipe: WriteRecipe) -> None:
    """Python's '$' matches before a final newline; the loader's patterns end at the end."""
    text = simple_recipe("nl").replace(f"sha256: {SHA}", f'sha256: "{SHA}\\n"')
    with pytest.raises(RecipeError, match="sha256"):
        load_recipe(write_recipe("nl", text))
    with pytest.raises(RecipeError, match="package/name"):
        load_recipe(write_recipe("nl2", simple_recipe("nl2").replace("name: nl2",
                                                                      'name: "nl2\\n"')))


def test_a_version_of_thousands_of_digits_is_a_recipe_error(write_recipe: WriteRecipe) -> None:
    text = simple_recipe("huge").replace('version: "1.0"', "version: " + "9" * 5000)
    with pytest.raises(RecipeError, match="5000 characters long"):
        load_recipe(write_recipe("huge", text))
