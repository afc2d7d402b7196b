// Browser runner: headless Chromium (Debian's, driven by playwright-core) runs the vectors through
// the browser package and the plain module. Run: node tests/runners/browser/vectors.mjs
import { serve, launch } from './serve.mjs';

const server = await serve();
const browser = await launch();
let code = 1;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${server.url}/tests/runners/browser/index.html`);
  await page.waitForFunction(() => window.vectorResult !== undefined, null, { timeout: 300_000 });
  const r = await page.evaluate(() => window.vectorResult);
  if (r.error) {
    console.error(r.error);
  } else {
    const failures = [...r.bindgen, ...r.bindgenText.map((f) => `(processText) ${f}`), ...r.typed, ...r.plain,
      ...r.buffered.map((f) => `(module buffers) ${f}`), ...r.bufferedText.map((f) => `(module buffers, text) ${f}`)];
    failures.slice(0, 50).forEach((f) => console.error(f));
    const version = browser.version();
    console.log(`chromium ${version}: ${r.count - r.bindgen.length}/${r.count} via wasm-bindgen, ` +
      `${r.count - r.plain.length}/${r.count} via the plain module, ` +
      `${r.count - r.buffered.length}/${r.count} via its buffers, ${r.count - r.bufferedText.length}/${r.count} as text, ` +
      `${r.count - r.bindgenText.length}/${r.count} via processText, ${r.typedChecked - r.typed.length}/${r.typedChecked} typed`);
    code = failures.length === 0 && r.count >= 500 && r.typedChecked >= 400 ? 0 : 1;
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(code);
