// Headless-Chromium check of a Pyodide bundle (pyodist).
//
// usage: echo '{"bundleURL":"http://127.0.0.1:8000/","packages":null,"worker":true,"screenshot":null}' \
//          | node browser_check.mjs
//
// stdin JSON:
//   bundleURL   (required) URL of the bundle folder, served over http by some server
//   packages    list of lock keys to load, or null = every package in the lock
//   worker      bool: also load Pyodide in a dedicated module Web Worker and read a
//               Blob/File mounted with WORKERFS
//   screenshot  path of a PNG to write, or null
//   optional: lockFileURL (default bundleURL + "pyodide-lock.json"),
//             timeout (seconds for the whole check, default 180),
//             chromium (executable, default /usr/bin/chromium, or $PYODIST_CHROMIUM),
//             snapshot (start from the bundle's snapshot.bin), snapshotLoad ("promise":
//             hand the loader the snapshot as a plain promise, fetched at the default
//             priority, for comparison),
//             link ({mbps, rtt_ms}: emulate a network link of that bandwidth and latency),
//             code (Python source run after the imports; what it prints is `code_output`,
//             an exception it raises makes the check fail)
//
// stdout: ONE JSON line {ok, ready_seconds, load_errors, imports, workerfs,
//   external_requests, console_errors, seconds, ...extra diagnostic fields: stages (seconds
//   of each start-up stage), resources (each fetch until Python was ready), ...}.
// Exit status 0 whenever a verdict was produced (ok may be false); 2 when Chromium
// cannot be started (or the input is unusable), still printing one JSON line.
//
// The test page and the worker script are NOT files on the server: they are
// virtual URLs on the bundle's own origin (bundleURL + "__pyodist_test__.html" and
// "__pyodist_worker__.mjs") answered by Playwright request routing, so the page is
// same-origin with the bundle and the server needs nothing special.
// Every request whose origin is not the bundle's origin is aborted and recorded
// (external_requests), which makes the check fail; Chromium is additionally started
// with a host-resolver rule that maps every other host to NOTFOUND.

import { createRequire } from 'node:module';
import path from 'node:path';
import { launchChromium, watchPage, describeFailure } from './chromium.mjs';

// playwright-core is an npm dependency of the project, not of this file's folder (it ships
// inside the Python package): resolve it from PYODIST_NODE_ROOT (a folder whose
// node_modules has it), else from the working directory.
const nodeRoot = process.env.PYODIST_NODE_ROOT || process.cwd();
const { chromium } = createRequire(path.resolve(nodeRoot, 'package.json'))('playwright-core');
import { readFileSync } from 'node:fs';

const T_START = Date.now();
const PAGE_NAME = '__pyodist_test__.html';
const WORKER_NAME = '__pyodist_worker__.mjs';
// The page says it is done on its console: waiting for that costs the page nothing, where
// polling window.__pyodist would compile Playwright's injected script (330 KB) and run it
// every 100 ms on the main thread while the runtime starts, in the time being measured.
const DONE_TOKEN = '__pyodist_check_done__';
const WORKERFS_TEXT = 'hello from WORKERFS \u2713 pyodist\n';

function emit(obj, code) {
  obj.seconds = +((Date.now() - T_START) / 1000).toFixed(3);
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exitCode = code;
}

function failResult(error) {
  return {
    ok: false, error, ready_seconds: null, load_errors: [], imports: {},
    workerfs: null, external_requests: [], console_errors: [],
  };
}

// ---------------------------------------------------------------- page sources
const WORKER_SRC = String.raw`
// dedicated module worker: load Pyodide, mount a Blob + a File with WORKERFS, read them
self.onmessage = async (ev) => {
  const { indexURL, lockFileURL, text } = ev.data;
  const out = { ok: false, content: null, error: null, file_content: null,
                read_only: null, ready_seconds: null, stage: 'import' };
  try {
    const t0 = performance.now();
    const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
    out.stage = 'loadPyodide';
    const py = await loadPyodide({ indexURL, lockFileURL });
    out.ready_seconds = +((performance.now() - t0) / 1000).toFixed(3);
    out.stage = 'mount';
    const blob = new Blob([text], { type: 'text/plain' });
    const file = new File([text.toUpperCase()], 'file.txt', { type: 'text/plain' });
    py.FS.mkdirTree('/mnt');
    py.FS.mount(py.FS.filesystems.WORKERFS,
                { blobs: [{ name: 'data.txt', data: blob }], files: [file] }, '/mnt');
    out.stage = 'python-read';
    const r = py.runPython(String.raw` + '`' + String.raw`
import json, os
with open('/mnt/data.txt', encoding='utf-8') as f:
    content = f.read()
with open('/mnt/file.txt', encoding='utf-8') as f:
    file_content = f.read()
try:
    with open('/mnt/data.txt', 'w') as f:
        f.write('x')
    read_only = False
except OSError:
    read_only = True
json.dumps({'content': content, 'file_content': file_content,
            'read_only': read_only, 'listing': sorted(os.listdir('/mnt'))})
` + '`' + String.raw`);
    Object.assign(out, JSON.parse(r));
    out.ok = out.content === text;
    if (!out.ok) out.error = 'content mismatch';
    out.stage = 'done';
  } catch (e) {
    out.error = String((e && e.message) || e);
  }
  self.postMessage(out);
};
`;

function pageHTML(cfg) {
  const cfgJSON = JSON.stringify(cfg).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>pyodist browser check</title>
<link rel="icon" href="data:,">
<style>body{font:14px monospace;margin:1em} .ok{color:#070} .bad{color:#b00}</style>
</head><body>
<h3>pyodist browser check</h3><pre id="out">running…</pre>
<script type="application/json" id="cfg">${cfgJSON}</script>
<script type="module">
const cfg = JSON.parse(document.getElementById('cfg').textContent);
const S = window.__pyodist = { stage: 'start', done: false, result: null };
const lastLine = (e) => {
  // last "SomeError: ..." line of a Python traceback, else the last non-empty line
  const s = String((e && e.message) || e).trim().split('\\n').map((x) => x.trim()).filter(Boolean);
  const exc = s.filter((x) => /^[A-Za-z_][\\w.]*(Error|Exception|Exit|Interrupt)\\b/.test(x));
  return exc.length ? exc[exc.length - 1] : (s.length ? s[s.length - 1] : String(e));
};
const R = { ready_seconds: null, stages: {}, resources: [], packages_seconds: null, imports_seconds: null, load_errors: [], load_messages: [],
            packages_requested: null, packages_loaded: [], imports: {}, workerfs: null, code_output: null,
            pyodide_version: null, python_version: null, error: null };
try {
  const t0 = performance.now();
  const mark = (name, since) => { R.stages[name] = +((performance.now() - since) / 1000).toFixed(3); };
  S.stage = 'import pyodide.mjs';
  const plain = cfg.snapshotLoad === 'promise';
  // snapshot.json (the snapshot's size, which only the overlapping way needs) is fetched
  // while the loader is imported
  const info = cfg.snapshot && !plain ? fetch(cfg.indexURL + 'snapshot.json').then((r) => {
    if (!r.ok) throw new Error('snapshot.json: HTTP ' + r.status);
    return r.json();
  }) : null;
  const { loadPyodide } = await import(cfg.indexURL + 'pyodide.mjs');
  mark('import pyodide.mjs', t0);
  let snapshot = {};
  let start = null;
  if (cfg.snapshot) {
    const ts = performance.now();
    // at low priority, so the runtime's own files come first (the plain way: the default)
    const bytes = fetch(cfg.indexURL + 'snapshot.bin', plain ? {} : { priority: 'low' }).then((r) => {
      if (!r.ok) throw new Error('snapshot.bin: HTTP ' + r.status);
      return r.arrayBuffer();
    }).then((b) => { mark('fetch snapshot.bin', ts); return new Uint8Array(b); });
    if (plain) {
      // the plain way (bench/bundle.py's comparison row): the loader awaits the promise
      // before it compiles the runtime
      snapshot = { _loadSnapshot: bytes };
    } else {
      // the way "Using a bundle" shows: the loader gets a buffer of the snapshot's size at
      // once and compiles the runtime while the snapshot arrives; the module factory it is
      // given resolves when both are done, before the loader restores the snapshot
      const size = (await info)['snapshot.bin'].size;
      const buffer = new Uint8Array(size);
      const filled = bytes.then((b) => {
        if (b.length !== size) throw new Error('snapshot.bin: ' + b.length + ' bytes, snapshot.json says ' + size);
        buffer.set(b);
      });
      const asm = import(cfg.indexURL + 'pyodide.asm.mjs');
      // the bundle's own loader: compiled packages in the snapshot are instantiated again
      const { snapshotStart } = await import(cfg.indexURL + 'pyodist-snapshot.mjs');
      start = await snapshotStart({
        info: await info, bytes: buffer, bytesReady: filled,
        readFile: (name) => fetch(cfg.indexURL + name).then((r) => {
          if (!r.ok) throw new Error(name + ': HTTP ' + r.status);
          return r.arrayBuffer();
        }).then((b) => new Uint8Array(b)),
        createModule: async (settings) => {
          const mod = await (await asm).default(settings);
          mark('runtime and snapshot ready', ts);
          return mod;
        },
      });
      mark('snapshotStart', ts);
      snapshot = start.options;
    }
  }
  S.stage = 'loadPyodide';
  const tl = performance.now();
  const py = await loadPyodide({ indexURL: cfg.indexURL, lockFileURL: cfg.lockFileURL, ...snapshot });
  if (start) await start.finish(py);
  mark('loadPyodide', tl);
  R.ready_seconds = +((performance.now() - t0) / 1000).toFixed(3);
  // where start-up went: each fetch until Python was ready (seconds from navigation)
  R.resources = performance.getEntriesByType('resource').map((e) => ({
    name: e.name.split('/').pop(), start: +(e.startTime / 1000).toFixed(3),
    seconds: +(e.duration / 1000).toFixed(3), transfer_bytes: e.transferSize,
    body_bytes: e.decodedBodySize }));
  R.pyodide_version = py.version;
  R.python_version = py.runPython('import sys; sys.version.split()[0]');
  window.pyodide = py;

  S.stage = 'loadPackage';
  const lockPkgs = (py.lockfile && py.lockfile.packages) || {};
  const names = cfg.packages === null ? Object.keys(lockPkgs) : cfg.packages;
  R.packages_requested = names;
  const t1 = performance.now();
  if (names.length) {
    try {
      await py.loadPackage(names, {
        errorCallback: (m) => R.load_errors.push(String(m)),
        messageCallback: (m) => R.load_messages.push(String(m)),
      });
    } catch (e) {
      R.load_errors.push('loadPackage threw: ' + lastLine(e));
    }
  }
  R.packages_seconds = +((performance.now() - t1) / 1000).toFixed(3);
  // Pyodide reports one failure as several errorCallback lines
  // ("The following error occurred while loading X:", "<reason>"): join them
  const grouped = [];
  for (const m of R.load_errors) {
    if (grouped.length && /:$/.test(grouped[grouped.length - 1])) grouped[grouped.length - 1] += ' ' + m;
    else grouped.push(m);
  }
  R.load_errors = grouped;
  for (const n of names) {
    const key = String(n).toLowerCase().replace(/[-_.]+/g, '-');
    const entry = lockPkgs[n] || lockPkgs[key];
    const pname = entry ? entry.name : n;
    if (!entry) R.load_errors.push('package "' + n + '" is not in the lock file');
    else if (py.loadedPackages[pname] === undefined) {
      // loadPackage reports failures via errorCallback and does not throw; make sure
      // a silent failure is still a failure
      if (!R.load_errors.some((m) => m.includes(pname)))
        R.load_errors.push('package "' + pname + '" was not loaded (no error reported)');
    } else R.packages_loaded.push(pname);
  }

  S.stage = 'imports';
  const t2 = performance.now();
  for (const n of names) {
    const entry = lockPkgs[n] || lockPkgs[String(n).toLowerCase().replace(/[-_.]+/g, '-')];
    for (const mod of (entry && entry.imports) || []) {
      try { py.pyimport(mod); R.imports[mod] = { ok: true, error: null, package: entry.name }; }
      catch (e) { R.imports[mod] = { ok: false, error: lastLine(e), package: entry.name }; }
    }
  }
  R.imports_seconds = +((performance.now() - t2) / 1000).toFixed(3);

  if (cfg.code !== null) {
    S.stage = 'code';
    const printed = [];
    py.setStdout({ batched: (line) => printed.push(line) });
    try { py.runPython(cfg.code); } catch (e) { R.error = 'at code: ' + lastLine(e); }
    py.setStdout();
    R.code_output = printed.join('\\n');
  }

  if (cfg.worker) {
    S.stage = 'worker';
    R.workerfs = await new Promise((resolve) => {
      let w;
      try { w = new Worker(cfg.indexURL + '${WORKER_NAME}', { type: 'module' }); }
      catch (e) { resolve({ ok: false, content: null, error: 'new Worker: ' + lastLine(e) }); return; }
      w.onmessage = (ev) => { resolve(ev.data); w.terminate(); };
      w.onerror = (ev) => { resolve({ ok: false, content: null,
        error: 'worker error: ' + (ev.message || 'script failed to load') }); w.terminate(); };
      w.postMessage({ indexURL: cfg.indexURL, lockFileURL: cfg.lockFileURL, text: cfg.workerfsText });
    });
  }
  S.stage = 'done';
} catch (e) {
  R.error = 'at ' + S.stage + ': ' + lastLine(e);
}
const out = document.getElementById('out');
const good = !R.error && !R.load_errors.length && Object.values(R.imports).every((x) => x.ok)
             && (!R.workerfs || R.workerfs.ok);
out.className = good ? 'ok' : 'bad';
out.textContent = (good ? 'OK' : 'FAILED') + '\\n' + JSON.stringify(R, null, 2);
S.result = R;
S.done = true;
console.info('${DONE_TOKEN}');
</script></body></html>`;
}

// ---------------------------------------------------------------------- main
async function main() {
  let input;
  try {
    input = JSON.parse(readFileSync(0, 'utf8'));
    if (!input || typeof input.bundleURL !== 'string') throw new Error('bundleURL missing');
  } catch (e) {
    emit(failResult('bad input: ' + e.message), 2);
    return;
  }
  let indexURL = new URL(input.bundleURL).href;
  if (!indexURL.endsWith('/')) indexURL += '/';
  const origin = new URL(indexURL).origin;
  const cfg = {
    indexURL,
    lockFileURL: input.lockFileURL ? new URL(input.lockFileURL, indexURL).href : indexURL + 'pyodide-lock.json',
    packages: Array.isArray(input.packages) ? input.packages : null,
    worker: !!input.worker,
    workerfsText: WORKERFS_TEXT,
    snapshot: !!input.snapshot,  // start from the bundle's snapshot.bin (stock loader option)
    snapshotLoad: input.snapshotLoad === 'promise' ? 'promise' : 'overlap',
    code: typeof input.code === 'string' ? input.code : null,
  };
  const timeoutMs = (Number(input.timeout) || 180) * 1000;
  const executablePath = input.chromium || process.env.PYODIST_CHROMIUM || '/usr/bin/chromium';
  const host = new URL(indexURL).hostname;

  let browser;
  try {
    // defence in depth: nothing but the bundle host resolves
    browser = await launchChromium(chromium, executablePath,
      [`--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`]);
  } catch (e) {
    emit(failResult('cannot start Chromium (' + executablePath + '): ' + String(e.message).split('\n')[0]), 2);
    return;
  }

  const external = [];
  const consoleErrors = [];
  const failedRequests = [];
  const httpErrors = [];
  const encodings = {};
  const seenExternal = new Set();
  const noteExternal = (url, how) => {
    if (!/^https?:|^wss?:/.test(url)) return; // data:, blob: are local
    let o; try { o = new URL(url).origin; } catch { o = null; }
    if (o === origin) return;
    const k = url;
    if (!seenExternal.has(k)) { seenExternal.add(k); external.push(url); }
  };

  const result = failResult(null);
  let watched = null;
  result.browser_version = browser.version();
  try {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      let u; try { u = new URL(url); } catch { u = null; }
      if (!u || u.origin !== origin) { noteExternal(url, 'route'); return route.abort('blockedbyclient'); }
      if (u.pathname === new URL(indexURL).pathname + PAGE_NAME)
        return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: pageHTML(cfg) });
      if (u.pathname === new URL(indexURL).pathname + WORKER_NAME)
        return route.fulfill({ status: 200, contentType: 'text/javascript', body: WORKER_SRC });
      return route.continue();
    });
    const allRequests = [];
    context.on('request', (r) => {
      noteExternal(r.url(), 'request');
      if (input.debug) allRequests.push((r.frame ? '' : '') + r.resourceType() + ' ' + r.url());
    });
    result._all = allRequests;
    context.on('requestfailed', (r) => failedRequests.push({ url: r.url(), error: r.failure()?.errorText }));
    context.on('response', async (resp) => {
      if (resp.status() >= 400) httpErrors.push({ url: resp.url(), status: resp.status() });
      try {
        const h = await resp.allHeaders();
        const name = new URL(resp.url()).pathname.split('/').pop();
        if (name && !name.startsWith('__pyodist')) encodings[name] = {
          status: resp.status(), type: h['content-type'] || null, encoding: h['content-encoding'] || null };
      } catch { /* ignore */ }
    });
    const page = await context.newPage();
    if (input.link) {
      // Chromium's own network emulation: a link of this bandwidth and round-trip time for
      // every request of the page (bench/bundle.py's rows over a slower network than loopback)
      const cdp = await context.newCDPSession(page);
      const bytesPerSecond = Number(input.link.mbps) * 1e6 / 8;
      await cdp.send('Network.emulateNetworkConditions', { offline: false,
        latency: Number(input.link.rtt_ms) || 0, downloadThroughput: bytesPerSecond,
        uploadThroughput: bytesPerSecond });
    }
    watched = watchPage(page);
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
    // page 'console' also carries the dedicated worker's console messages (playwright-core
    // 1.65 + Chromium 156); a worker.on('console') listener would only duplicate them

    // listening before navigating: a page that fails at once is done before goto returns
    const done = page.waitForEvent('console', { predicate: (m) => m.text() === DONE_TOKEN,
                                                timeout: timeoutMs }).then(() => true, () => false);
    await page.goto(indexURL + PAGE_NAME, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
    const timedOut = !(await done) && !watched.crashed;
    const state = await page.evaluate(() => window.__pyodist || null).catch(() => null);
    const r = (state && state.result) || {};
    Object.assign(result, {
      ready_seconds: r.ready_seconds ?? null,
      packages_seconds: r.packages_seconds ?? null,
      imports_seconds: r.imports_seconds ?? null,
      stages: r.stages || {},
      resources: r.resources || [],
      load_errors: r.load_errors || [],
      load_messages: r.load_messages || [],
      packages_requested: r.packages_requested ?? null,
      packages_loaded: r.packages_loaded || [],
      imports: r.imports || {},
      code_output: r.code_output ?? null,
      workerfs: cfg.worker ? (r.workerfs || { ok: false, content: null, error: 'worker did not report' }) : null,
      pyodide_version: r.pyodide_version ?? null,
      python_version: r.python_version ?? null,
      error: watched.crashed ? describeFailure(`the page crashed at stage "${state ? state.stage : '?'}"`, watched)
        : timedOut ? `timeout after ${timeoutMs / 1000}s at stage "${state ? state.stage : '?'}"`
        : (r.error || null),
    });
    if (input.screenshot) {
      try { await page.screenshot({ path: input.screenshot, fullPage: true }); result.screenshot = input.screenshot; }
      catch (e) { result.screenshot_error = String(e.message).split('\n')[0]; }
    }
    await context.close();
  } catch (e) {
    result.error = result.error || ('harness: ' + describeFailure(e, watched));
  } finally {
    await browser.close().catch(() => {});
  }
  result.external_requests = external;
  result.console_errors = consoleErrors;
  result.failed_requests = failedRequests;
  result.http_errors = httpErrors;
  // known silent failure modes -> human hints
  const hints = [];
  const typeOf = (n) => ((encodings[n] && encodings[n].type) || '').split(';')[0].trim();
  if (encodings['pyodide.asm.wasm'] && typeOf('pyodide.asm.wasm') !== 'application/wasm')
    hints.push(`pyodide.asm.wasm served as "${typeOf('pyodide.asm.wasm')}", not application/wasm: loadPyodide hangs`);
  for (const n of Object.keys(encodings))
    if (/\.m?js$/.test(n) && !/javascript/.test(typeOf(n)))
      hints.push(`${n} served as "${typeOf(n)}", not text/javascript: module scripts are refused`);
  for (const h of httpErrors) hints.push(`HTTP ${h.status} for ${h.url}`);
  result.hints = hints;
  result.integrity_errors = consoleErrors.filter((m) => /integrity/i.test(m));
  result.responses = encodings;
  if (input.debug) result.all_requests = result._all;
  delete result._all;
  result.ok = !result.error && result.ready_seconds !== null && result.load_errors.length === 0
    && Object.values(result.imports).every((x) => x.ok)
    && (result.workerfs === null || result.workerfs.ok === true)
    && external.length === 0 && consoleErrors.length === 0 && httpErrors.length === 0;
  // keep the required keys first for readability
  const ordered = {};
  for (const k of ['ok', 'ready_seconds', 'load_errors', 'imports', 'workerfs', 'external_requests', 'console_errors'])
    ordered[k] = result[k];
  emit(Object.assign(ordered, result), 0);
}

main().catch((e) => { emit(failResult('harness crashed: ' + (e && e.stack || e)), 2); });
