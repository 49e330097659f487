"""``pyodist toolchain build | info | shell``."""

from __future__ import annotations

import argparse
import os
import shutil

from pyodist.cli.progress import print_line
from pyodist.cli.render import emit_json, table
from pyodist.errors import ToolchainError
from pyodist.options import Options
from pyodist.toolchain import docker_client
from pyodist.toolchain.image import build_image, inspect_image

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tc = sub.add_parser("toolchain", help="build, inspect or enter the toolchain image",
                        description="The pinned Emscripten + pyodide-build Docker image.")
    tsub = tc.add_subparsers(dest="toolchain_command", required=True, metavar="COMMAND")
    build = tsub.add_parser(
        "build", help="build the image without a registry (cached by input hash)",
        description="Bootstrap the toolchain image from Debian packages (docker/bootstrap.sh): "
                    "a no-op when an image with the same input hash exists. Needs root.",
    )
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.add_argument("--json", action="store_true", help="print the image's labels as JSON")
    build.set_defaults(handler=_build)
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
    docker_client()  # fail early and clearly when no engine answers
    work = options.toolchain_work_dir
    seconds = build_image(
        image=options.image, docker_dir=options.docker_dir, workdir=work,
        pyodide_version=options.pyodide_version, force=args.force,
        log=work / "bootstrap.log", on_line=None if args.json else print_line,
    )
    if not args.json:
        print(f"toolchain image {options.image} ready in {seconds:.1f} s")
    return _show(options, args.json)


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
