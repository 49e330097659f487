// Start Debian's Chromium through playwright-core for the browser harnesses, one way for all.
// The browser process's own output is kept (its last lines), so a renderer that crashes
// ("Target crashed") says why instead of leaving only playwright's one-line message.

// --disable-dev-shm-usage: a container's /dev/shm is often 64 MB, and a renderer holding a
// Pyodide heap with pandas and matplotlib in it outgrows that; /tmp has no such cap.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
  '--no-first-run'];

const KEEP = 40;

export async function launchChromium(chromium, executablePath, extraArgs = [], timeout = 60000) {
  const log = [];
  const logger = {
    isEnabled: (name) => name === 'browser',
    log: (name, severity, message) => {
      log.push(String(message));
      if (log.length > KEEP) log.shift();
    },
  };
  const browser = await chromium.launch({
    executablePath, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout, logger,
  });
  return { browser, log };
}

// The error text of a failed page run: playwright's message, and for a crash the browser's
// last lines (that is where Chromium says what killed the renderer).
export function describeFailure(err, log, crashed) {
  const message = String((err && err.message) || err).split('\n')[0];
  if (!crashed) return message;
  const tail = log.filter((l) => l.trim()).slice(-12).join('\n');
  return message + ' (the renderer process crashed' + (tail ? '; Chromium printed:\n' + tail : '') + ')';
}
