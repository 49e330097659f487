"""``pyodist toolchain build | save | info | files | shell``."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from pyodist.cli.progress import print_line
from pyodist.cli.render import emit_json, table
from pyodist.errors import ToolchainError, UsageError
from pyodist.fsutil import output_folder
from pyodist.options import Options
from pyodist.store.oci import connect
from pyodist.toolchain import docker_client
from pyodist.toolchain.image import inspect_image
from pyodist.toolchain.shipping import copy_definition, ensure_image, save_image

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tc = sub.add_parser("toolchain", help="build, inspect or enter the toolchain image",
                        description="The pinned Emscripten + pyodide-build Docker image.")
    tsub = tc.add_subparsers(dest="toolchain_command", required=True, metavar="COMMAND")
    build = tsub.add_parser(
        "build", help="get the image: from here, the artifact store, a file, or bootstrapped",
        description="Make the toolchain image present, by the first way that works: an "
                    "image here with the same input hash (of the image folder's script and "
                    "locks); the artifact store's copy (--artifact-store); a 'docker save' "
                    "file (--load); the bootstrap from Debian packages pinned by "
                    "packages.lock (needs root); when pinned versions have left the "
                    "mirror, a copy another runner re-resolved, else a bootstrap that "
                    "re-resolves (a loud warning: the image id and every artifact key change, "
                    "and the new lock is written to the project's docker/packages.lock, or "
                    "to the cache's toolchain/ folder). A bootstrapped image is pushed to "
                    "a writable store. The image folder is the project's own docker/ (one "
                    "with a bootstrap.sh), else the one inside pyodist ('toolchain files' "
                    "copies it out to change it).",
    )
    build.add_argument("--force", action="store_true",
                       help="bootstrap again even if an image with the input hash exists")
    build.add_argument("--load", type=Path, metavar="FILE",
                       help="a file 'pyodist toolchain save' wrote, tried before bootstrapping")
    build.add_argument("--json", action="store_true", help="print the image's labels as JSON")
    build.set_defaults(handler=_build)
    save = tsub.add_parser("save", help="write the image to a file for 'build --load'",
                           description="docker save of the toolchain image, gzipped, written "
                                       "atomically: carry it to a machine that cannot "
                                       "bootstrap.")
    save.add_argument("file", type=Path, metavar="FILE")
    save.set_defaults(handler=_save)
    files = tsub.add_parser(
        "files", help="copy the image's definition (bootstrap, locks) into a folder",
        description="Copy the files the toolchain image is bootstrapped from (bootstrap.sh, "
                    "packages.lock, wheelhouse and xbuildenv locks, Dockerfile) into DIR, "
                    "for a project that pins or changes its own image: a docker/ folder "
                    "beside pyodist.toml is used instead of pyodist's own.")
    files.add_argument("dir", type=Path, metavar="DIR", help="a new or empty folder")
    files.set_defaults(handler=_files)
    info = tsub.add_parser("info", help="show the versions recorded in the image")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_info)
    shell = tsub.add_parser("shell", help="open a shell in a fresh toolchain container",
                            description="Run bash in a throw-away container of the image, "
                                        "with no network and the current folder at /src.")
    shell.set_defaults(handler=_shell)


def _show(options: Options, as_json: bool) -> int:
    found = inspect_image(docker_client(), options.image)
    if found is None:
        raise ToolchainError(f"toolchain image {options.image!r} is not present",
                             hint="build it with 'pyodist toolchain build'")
    data = found.summary()
    if as_json:
        emit_json(data)
    else:
        print(table(("KEY", "VALUE"), sorted(data.items())))
    return 0


def _build(args: argparse.Namespace, options: Options) -> int:
    client = docker_client()  # fail early and clearly when no engine answers
    work = options.toolchain_work_dir
    store = connect(options.artifact_store, warn=lambda text: print_line(f"warning: {text}"))
    start = time.monotonic()
    got = ensure_image(
        client, image=options.image, docker_dir=options.docker_dir, workdir=work,
        pyodide_version=options.pyodide_version, store=store, load=args.load,
        force=args.force, log=work / "bootstrap.log",
        lock_out=None if options.own_docker_dir else work / "packages.lock",
        on_line=None if args.json else print_line,
        warn=lambda text: print_line(f"warning: {text}"))
    if not args.json:
        how = {"local": "already here", "store": "pulled from the artifact store",
               "file": f"loaded from {args.load}", "bootstrap": "bootstrapped",
               "re-resolved": "re-resolved"}[got.source]
        pushed = ", pushed to the artifact store" if got.pushed else ""
        print(f"toolchain image {options.image} ({got.image_id[:19]}) {how}{pushed} in "
              f"{time.monotonic() - start:.1f} s")
    return _show(options, args.json)


def _save(args: argparse.Namespace, options: Options) -> int:
    out = save_image(docker_client(), options.image, args.file)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB); load it with 'pyodist toolchain "
          f"build --load {out}'")
    return 0


def _files(args: argparse.Namespace, options: Options) -> int:
    out = output_folder(options.project_root / args.dir, "DIR")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder",
                             hint="name a new folder (the project's docker/ is read when it "
                                  "has a bootstrap.sh)")
    source = options.docker_dir
    copy_definition(source, out)
    print(f"copied the toolchain image's files from {source} to {out}")
    return 0


def _info(args: argparse.Namespace, options: Options) -> int:
    return _show(options, args.json)


def _shell(_args: argparse.Namespace, options: Options) -> int:
    docker = shutil.which("docker")
    if docker is None:
        raise ToolchainError("the docker command is not installed",
                             hint="apt-get install docker.io")
    argv = [docker, "run", "--rm", "-it", "--network", "none",
            "-v", f"{options.project_root}:/src:ro", "-w", "/src", options.image, "bash"]
    os.execv(docker, argv)  # noqa: S606 - replaces pyodist with the interactive shell
    return 0
