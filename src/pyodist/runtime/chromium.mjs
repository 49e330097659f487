// Start Debian's Chromium through playwright-core for the browser harnesses, one way for all,
// and describe a failed page run so that a renderer crash ("Target crashed") says more than
// playwright's one line: Chromium logs nothing about a renderer that dies (a V8 or wasm
// out-of-memory included, measured), so what the page printed last is the clue kept.

// --disable-dev-shm-usage: a container's /dev/shm is often 64 MB, and a renderer holding a
// Pyodide heap with pandas and matplotlib in it outgrows that; /tmp has no such cap.
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
  "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
  "--no-first-run"];

const KEEP = 8;

export function launchChromium(chromium, executablePath, extraArgs = [], timeout = 60000) {
  return chromium.launch({ executablePath, headless: true, timeout,
    args: [...CHROMIUM_ARGS, ...extraArgs] });
}

// Follow a page: whether its renderer crashed, and its last console lines.
export function watchPage(page) {
  const state = { crashed: false, console: [] };
  page.on("crash", () => { state.crashed = true; });
  page.on("console", (m) => {
    state.console.push(`${m.type()}: ${m.text()}`.slice(0, 300));
    if (state.console.length > KEEP) state.console.shift();
  });
  return state;
}

// The error text of a failed page run: playwright's message and, for a crash, that it was
// one and what the page printed last.
export function describeFailure(err, state) {
  const message = String((err && err.message) || err).split("\n")[0].trim();
  if (!state || !state.crashed) return message;
  const last = state.console.length ? `; the page printed last:\n${state.console.join("\n")}`
    : "; the page printed nothing before it";
  return `${message} (the renderer process crashed${last})`;
}
