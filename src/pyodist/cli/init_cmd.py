"""``pyodist init DIR``: a new distribution project, its index packages pinned."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyodist.fsutil import output_folder
from pyodist.options import Options, resolve_options
from pyodist.project import load_project
from pyodist.project_init import init_project

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser(
        "init", help="start a new distribution project in a folder",
        description="Write a new distribution project into DIR (made if missing): "
                    "pyodist.toml with a 'slim' profile (the runtime and micropip from the "
                    "index) and a 'fullstack' one (every recipe of recipes/ as well), an "
                    "empty recipes/ folder, a .gitignore and a CI workflow "
                    "(.github/workflows/pyodist.yml); then pin the index packages in "
                    "pyodist.lock (asks the package index; --no-lock skips it, and "
                    "'pyodist lock' does it later). 'pyodist bundle' in DIR then builds "
                    "the slim bundle. Nothing is written over: a file already there is an "
                    "error.",
    )
    init.add_argument("dir", type=Path, metavar="DIR")
    init.add_argument("--name", metavar="NAME",
                      help="the distribution's name (default: the folder's name)")
    init.add_argument("--no-lock", action="store_true",
                      help="do not resolve the index packages now (no network)")
    init.set_defaults(handler=_init, project_use="none")


def _init(args: argparse.Namespace, options: Options) -> int:
    folder = output_folder(options.project_root / args.dir, "DIR")
    result = init_project(folder, name=args.name)
    for path in result.files:
        print(f"wrote {path}")
    if not args.no_lock and not options.offline:
        from pyodist.cli.lock_cmd import lock_project  # noqa: PLC0415 - needs the index

        project = load_project(folder / "pyodist.toml")
        # the options again, now that there is a project file (the cascade's second step)
        options = resolve_options(cwd=folder, environ=options.environ,
                                  cache_dir=str(options.cache_dir),
                                  index_urls=options.index_urls, offline=options.offline,
                                  project=project.values())
        lock, _resolved = lock_project(options, project)
        print(f"wrote {lock.path}")
    else:
        print("the index packages are not pinned yet: run 'pyodist lock' in the folder")
    print(f"\nnext: cd {folder} && pyodist bundle   (builds dist/ from the slim profile)")
    return 0
