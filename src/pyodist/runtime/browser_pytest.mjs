// Run pytest in headless Chromium on a Pyodide runtime (pyodist test-wheel --browser).
//
// usage: echo CONFIG | node browser_pytest.mjs
//   CONFIG {runtime: folder of the Pyodide core (or a bundle), wheels: [wheel paths],
//           files: [[path relative to root, host path]], root: the guest folder they go to
//           (pytest runs there), args: [pytest arguments], junit: guest path of the JUnit
//           file or null,
//           chromium: executable, timeout: seconds}
// stdout: ONE JSON line {ok, code, output, junit, error}
//
// No server: the page, the runtime and the wheels are answered from disk by Playwright's
// request routing on a made-up origin, and every other request is aborted. The tests are
// written into the page's in-memory file system before pytest starts.

import { createRequire } from "node:module";
import path from "node:path";
import { readFileSync, existsSync } from "node:fs";
import { launchChromium, watchPage, describeFailure } from "./chromium.mjs";

const nodeRoot = process.env.PYODIST_NODE_ROOT || process.cwd();
const { chromium } = createRequire(path.resolve(nodeRoot, "package.json"))("playwright-core");

const ORIGIN = "http://pyodist-test.localhost";
const DONE = "__pyodist_pytest_done__";
const TYPES = { ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".zip": "application/zip", ".whl": "application/zip",
  ".html": "text/html; charset=utf-8" };

const emit = (result, code) => {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = code;
};

const PAGE = String.raw`<!doctype html><meta charset="utf-8"><title>pyodist pytest</title>
<script type="module">
const cfg = await (await fetch("/__config__.json")).json();
const result = { code: null, output: "", junit: null, error: null };
try {
  const { loadPyodide } = await import("/runtime/pyodide.mjs");
  const py = await loadPyodide({ indexURL: "/runtime/", lockFileURL: "/runtime/pyodide-lock.json" });
  const text = new TextDecoder();
  const write = (buf) => { result.output += text.decode(buf, { stream: true }); return buf.length; };
  py.setStdout({ write });
  py.setStderr({ write });
  const errors = [];
  for (const wheel of cfg.wheels) {
    await py.loadPackage("/wheels/" + wheel, { messageCallback: () => {},
                                              errorCallback: (m) => errors.push(m) });
  }
  if (errors.length) throw new Error(errors.join("\n"));
  for (const [rel, b64] of cfg.files) {
    const target = cfg.root + "/" + rel;
    py.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    py.FS.writeFile(target, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }
  py.globals.set("_pyodist_args", py.toPy(cfg.args));
  py.FS.mkdirTree(cfg.root);
  py.FS.chdir(cfg.root);
  result.code = py.runPython("import pytest\nint(pytest.main(list(_pyodist_args)))");
  if (cfg.junit) {
    try { result.junit = py.FS.readFile(cfg.junit, { encoding: "utf8" }); } catch { }
  }
} catch (e) {
  result.error = String(e && e.stack || e).slice(0, 4000);
}
window.__pyodist_result = result;
console.log("${DONE}");
</script>`;

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const cfg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const wheels = new Map(cfg.wheels.map((w) => [path.basename(w), w]));
  const files = cfg.files.map(([rel, host]) => [rel, readFileSync(host).toString("base64")]);
  const pageConfig = JSON.stringify({ wheels: [...wheels.keys()], files, args: cfg.args,
                                      root: cfg.root, junit: cfg.junit });
  const browser = await launchChromium(chromium, cfg.chromium);
  let state = null;
  try {
    const context = await browser.newContext();
    await context.route("**/*", async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== ORIGIN) return route.abort("blockedbyclient");
      const name = decodeURIComponent(url.pathname);
      if (name === "/" || name === "/index.html") {
        return route.fulfill({ status: 200, contentType: TYPES[".html"], body: PAGE });
      }
      if (name === "/__config__.json") {
        return route.fulfill({ status: 200, contentType: TYPES[".json"], body: pageConfig });
      }
      let file = null;
      if (name.startsWith("/runtime/")) {
        const rel = name.slice("/runtime/".length);
        if (!rel.includes("/") && rel !== ".." ) file = path.join(cfg.runtime, rel);
      } else if (name.startsWith("/wheels/")) {
        file = wheels.get(name.slice("/wheels/".length)) || null;
      }
      if (!file || !existsSync(file)) return route.fulfill({ status: 404, body: "not found" });
      return route.fulfill({ status: 200, body: readFileSync(file),
                             contentType: TYPES[path.extname(file)] || "application/octet-stream" });
    });
    const page = await context.newPage();
    state = watchPage(page);
    const done = page.waitForEvent("console", { predicate: (m) => m.text() === DONE,
                                                timeout: (cfg.timeout || 600) * 1000 });
    await page.goto(ORIGIN + "/index.html", { waitUntil: "domcontentloaded" });
    await done;
    const result = await page.evaluate(() => window.__pyodist_result);
    emit({ ok: result.error === null && result.code === 0, ...result }, 0);
  } catch (e) {
    emit({ ok: false, code: null, output: "", junit: null, error: describeFailure(e, state) }, 0);
  } finally {
    await browser.close();
  }
}

main().catch((e) => emit({ ok: false, code: null, output: "", junit: null,
                            error: String(e && e.message || e) }, 2));
