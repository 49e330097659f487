// Drive the `pyodist serve` console page in headless Chromium: run a snippet, screenshot.
// Input (stdin, JSON): {url, code, screenshot, chromium}; code null: the page runs the
// script it was served with (pyodist serve --run), nothing is typed
// Output (last stdout line, JSON): {ok, output, status, images, error}
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { launchChromium, watchPage, describeFailure } from "./chromium.mjs";

const spec = JSON.parse(readFileSync(0, "utf8"));
const nodeRoot = process.env.PYODIST_NODE_ROOT || process.cwd();
const { chromium } = createRequire(path.resolve(nodeRoot, "package.json"))("playwright-core");
const browser = await launchChromium(chromium, spec.chromium);
let result;
let watched = null;
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  watched = watchPage(page);
  await page.goto(spec.url);
  await page.waitForFunction(() => window.pyodistReady === true, null, { timeout: 120000 });
  if (spec.code !== null) {
    await page.fill("#code", spec.code);
    await page.evaluate(() => window.pyodistRun());
  }
  await page.waitForFunction(() => (window.pyodistDone || 0) >= 1, null, { timeout: 300000 });
  // the figures are data: URLs; wait until they are decoded before the screenshot
  await page.evaluate(() => Promise.all([...document.images].map((i) => i.decode())));
  await page.screenshot({ path: spec.screenshot, fullPage: true });
  result = { ok: true, output: await page.textContent("#out"),
             status: await page.textContent("#status"),
             images: await page.evaluate(() => document.querySelectorAll("#images img").length),
             error: null };
} catch (err) {
  result = { ok: false, output: null, status: null, error: describeFailure(err, watched) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
