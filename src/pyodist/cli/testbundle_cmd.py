"""``pyodist test`` and ``pyodist serve``."""

from __future__ import annotations

import argparse
import errno
import socket
from pathlib import Path

from pyodist.bundle.serve import BundleServer
from pyodist.bundle.testing import (
    EnvironmentReport,
    browser_setup,
    check_in_browser,
    check_in_node,
    junit_xml,
)
from pyodist.bundle.verify import bundle_folder
from pyodist.cli.render import emit_json, table
from pyodist.errors import RuntimeCheckError, UsageError
from pyodist.fsutil import write_atomic
from pyodist.options import Options

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = sub.add_parser(
        "test", help="load and import every package of a bundle in Node and Chromium",
        description="Check a bundle (folder or .tar.gz) where it will run. In Node: verify "
                    "every file's sha256 against pyodide-lock.json (Pyodide does not), load "
                    "each package with the stock loader, import what the lock says it "
                    "provides, and read/write a host folder mounted with NODEFS. In headless "
                    "Chromium (Debian's, driven by playwright-core): serve the bundle locally, "
                    "load and import every package (the browser checks each sha256 itself), "
                    "block any request that leaves the bundle, and read a Blob mounted with "
                    "WORKERFS in a Web Worker. Both by default. Exit 11 when anything fails.",
    )
    test.add_argument("bundle", type=Path, metavar="BUNDLE")
    test.add_argument("--node", action="store_true", help="test in Node only")
    test.add_argument("--browser", action="store_true", help="test in headless Chromium only")
    test.add_argument("--screenshot", type=Path, metavar="PNG",
                      help="save the Chromium test page as an image")
    test.add_argument("--package", action="append", default=[], metavar="NAME",
                      help="only these lock entries (repeatable)")
    test.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML")
    test.add_argument("--json", action="store_true", help="print a JSON report")
    test.set_defaults(handler=_test, project_use="none")

    serve = sub.add_parser(
        "serve", help="serve a bundle on localhost with the right MIME types",
        description="Serve BUNDLE over HTTP (application/wasm, text/javascript for .mjs, "
                    ".br/.gz siblings when the browser accepts them) with a Python console "
                    "page at / to try the distribution. Ctrl-C stops it.",
    )
    serve.add_argument("bundle", type=Path, metavar="BUNDLE")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--workdir", type=Path, metavar="DIR",
                       help="copy DIR's files into the console's working folder (data for a "
                            "script; hidden files and links are left out)")
    serve.add_argument("--run", type=Path, metavar="FILE",
                       help="start the console page with FILE's code and run it")
    serve.add_argument("--isolation", action="store_true",
                       help="send COOP/COEP headers (for SharedArrayBuffer)")
    serve.set_defaults(handler=_serve, project_use="none")


def _test(args: argparse.Namespace, options: Options) -> int:
    both = not args.node and not args.browser
    reports: list[EnvironmentReport] = []
    with bundle_folder(args.bundle.resolve()) as folder:
        if not (folder / "pyodide-lock.json").is_file():
            raise UsageError(f"{args.bundle} is not a bundle: it has no pyodide-lock.json",
                             hint="pass a folder or .tar.gz written by 'pyodist bundle'")
        if args.node or both:
            reports.append(check_in_node(folder, args.package or None))
        if args.browser or both:
            setup = browser_setup(options.project_root, options.chromium)
            reports.append(check_in_browser(folder, setup, args.package or None,
                                            screenshot=args.screenshot))
    if args.junit is not None:
        write_atomic(args.junit, junit_xml(str(args.bundle), reports))
    if args.json:
        emit_json({"bundle": str(args.bundle), "ok": all(r.ok for r in reports),
                   "environments": {r.environment: r.to_json() for r in reports}})
    else:
        for report in reports:
            print(f"{report.environment}: Python ready in {report.ready_seconds:.2f} s")
            print(table(("CHECK", "RESULT", "SECONDS"),
                        [(c.name, "ok" if c.ok else "FAILED", f"{c.seconds:.2f}")
                         for c in report.checks]))
            if report.error:
                print(f"\n✗ {report.environment}: {report.error}")
            for check in report.checks:
                if not check.ok:
                    print(f"\n✗ {report.environment} {check.name}:\n  {check.error}")
    failed = [f"{r.environment}:{c.name}" for r in reports for c in r.checks if not c.ok]
    failed += [f"{r.environment}" for r in reports if r.error]
    if failed:
        raise RuntimeCheckError(f"{len(failed)} check(s) failed: {', '.join(failed)}",
                                hint="see the errors above; 'pyodist verify' checks the files")
    return 0


def _serve(args: argparse.Namespace, options: Options) -> int:
    folder = args.bundle.resolve()
    if not folder.is_dir():
        raise UsageError(f"{args.bundle} is not a folder",
                         hint="serve an unpacked bundle folder (dist/<name>-<version>-<profile>)")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a TCP port",
                         hint="pick one from 1024 to 65535, or 0 for any free port")
    if args.workdir is not None and not args.workdir.is_dir():
        raise UsageError(f"--workdir {args.workdir}: not a folder",
                         hint="give the folder whose files the script reads")
    if args.run is not None and not args.run.is_file():
        raise UsageError(f"--run {args.run}: not a file", hint="give a Python script")
    try:
        server = BundleServer(folder, host=args.host, port=args.port, isolation=args.isolation,
                              workdir=args.workdir, script=args.run)
    except socket.gaierror:
        raise UsageError(f"--host {args.host!r}: no such host name or address",
                         hint="use an address of this machine, e.g. 127.0.0.1") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} on {args.host} is already in use (another "
                             "server, or an earlier 'pyodist serve' still running)",
                             hint=f"pick another with --port (e.g. --port {args.port + 1}), "
                                  "or --port 0 for any free port") from None
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                         hint="use an address of this machine and a port you may open, "
                              "e.g. --host 127.0.0.1 --port 8000") from None
    print(f"serving {folder} at {server.url} (console page at /); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
