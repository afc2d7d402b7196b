// The demo page in headless Chromium: paste posts, check the labels shown equal the native CLI's
// (`sentimap score --text` for plain lines, `sentimap normalize` for raw posts), check an XSS
// payload stays inert text, and save a screenshot to target/wasm/demo.png.
// Run: node --test web-demo/demo/test/   (after scripts/build-wasm and cargo build -p sentimap)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve, launch, root } from '../../../tests/runners/browser/serve.mjs';

const bin = process.env.SENTIMAP_BIN ?? path.join(root, 'target/debug/sentimap');

const plain = [
  'Merry Christmas everyone!!! 🎄😀',
  'not good at all, worst service ever 😡',
  'The food was good, however the service sucked',
  'I LOVE this sooo much ❤️',
  'meh',
  'שלום :(',
  '我很高兴 👍🏽',
  '<img src=x onerror="window.__xss=1">great',
  '<script>window.__xss=2</script> awful',
];
const raw = [
  '{"id_str":"1","text":"Snow in London &amp; it is lovely :)","created_at":"Wed Dec 25 10:00:00 +0000 2024","lang":"en"}',
  '{"data":{"id":"2","text":"Joyeux Noël à tous ! 😀","created_at":"2024-12-25T08:00:00.000Z","lang":"fr"}}',
  '{"did":"did:plc:abc","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"so sad today 😢","createdAt":"2024-12-25T07:00:00Z","langs":["en"]}}}',
  '{"id_str":"3","text":"<img src=x onerror=\\"window.__xss=3\\"> &lt;script&gt;window.__xss=4&lt;/script&gt; bad","created_at":"Wed Dec 25 10:00:00 +0000 2024"}',
];
const broken = '{"data":{"text":"no id"}}';

function cli(args, input) {
  assert.ok(existsSync(bin), `${bin} is missing: cargo build -p sentimap`);
  return execFileSync(bin, args, { input, encoding: 'utf8' })
    .trim().split('\n').map((l) => JSON.parse(l));
}

test('demo labels equal the native CLI, XSS stays inert, screenshot saved', async () => {
  const textScores = cli(['score', '--text'], plain.join('\n') + '\n');
  const docs = cli(['normalize'], raw.join('\n') + '\n');
  const want = [...textScores.map((s) => [s.label, s.compound]), ...docs.map((d) => [d.sentiment.label, d.sentiment.compound]), ['error', null]];

  const server = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
    await page.goto(`${server.url}/web-demo/demo/index.html`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });

    // Paste, as a user would: focus the box and insert the text in one paste-like input event.
    await page.focus('#posts');
    await page.keyboard.insertText([...plain, ...raw, broken].join('\n'));
    const n = plain.length + raw.length + 1;
    await page.waitForFunction((k) => document.querySelectorAll('#results > li').length === k, n);

    const got = await page.$$eval('#results > li', (lis) => lis.map((li) => [
      li.dataset.label,
      li.querySelector('.compound').dataset.compound === undefined ? null : Number(li.querySelector('.compound').dataset.compound),
    ]));
    assert.deepEqual(got, want);

    // Counts per label.
    const counts = await page.$$eval('[data-count]', (dds) => Object.fromEntries(dds.map((d) => [d.dataset.count, Number(d.textContent)])));
    const expected = { positive: 0, neutral: 0, negative: 0, error: 0 };
    for (const [label] of want) expected[label]++;
    assert.deepEqual(counts, expected);

    // XSS: nothing ran, no element was created from post text, and the payload shows as text.
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('#results img, #results script', (els) => els.length), 0);
    const texts = await page.$$eval('#results .text', (ps) => ps.map((p) => p.textContent));
    assert.ok(texts.some((t) => t.includes('<img src=x onerror="window.__xss=1">')), 'the payload is shown literally');
    assert.ok(texts.some((t) => t.includes('<script>window.__xss=4</script>')), 'decoded entities stay text');

    // Keyboard: Tab from the text box reaches the buttons; results are focusable and labelled.
    await page.focus('#posts');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'examples');
    const labelled = await page.$$eval('#results > li', (lis) => lis.every((li) => li.tabIndex === 0 && li.getAttribute('aria-label')));
    assert.ok(labelled);
    assert.equal(await page.$eval('#summary', (el) => el.getAttribute('aria-live')), 'polite');
    assert.equal(await page.$eval('label[for="posts"]', (el) => el.textContent.length > 0), true);

    assert.deepEqual(errors, []);
    mkdirSync(path.join(root, 'target/wasm'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'target/wasm/demo.png'), fullPage: true });
  } finally {
    await browser.close();
    await server.close();
  }
});
