// Browser test of the dashboard against a real `sentimap demo`: seeded posts are delivered as
// Firehose-layout objects, the demo indexes them into its SQLite store, and headless chromium checks
// that the map shows points, the counts shown equal the API's, filters change what is shown, live
// refresh picks up new objects, post text is rendered as text, and Ctrl-C + rerun keep the data.
//
//   node dashboard.test.mjs            (SENTIMAP_BIN overrides the binary; run from scripts/test.d)

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { posts, deliver } from "./fixture.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const bin = process.env.SENTIMAP_BIN || join(root, "target", "debug", "sentimap");
const artifacts = process.env.ARTIFACTS_DIR || join(root, "target", "artifacts", "dashboard");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const SEED = 7;

mkdirSync(artifacts, { recursive: true });
assert.ok(existsSync(bin), `${bin} missing: build it with \`cargo build -p sentimap\``);
assert.ok(existsSync(chromiumPath), `${chromiumPath} missing: run scripts/install.d/60-dashboard.sh`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

function startDemo(dataDir, extra = []) {
  const child = spawn(bin, ["demo", "--data-dir", dataDir, "--port", "0", "--poll-ms", "200", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  const url = until("the dashboard URL", () => out.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0]);
  return { child, url, exited, output: () => ({ out, err }) };
}

async function api(base, path, params = {}) {
  const res = await fetch(`${base}api/${path}?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
}

const num = async (page, sel) => Number((await page.textContent(sel)).replace(/,/g, ""));

const dataDir = mkdtempSync(join(tmpdir(), "sentimap-dash-"));
const firehose = join(dataDir, "firehose");
// The demo's own seeded generator makes most posts (all at 2024-12-25T00:00Z + 100 ms steps);
// fixture objects add six hours of posts (for the time filter), one with markup (it must show as
// text), and later a batch for the live refresh.
const all = posts({ seed: SEED, count: 300 });
all[5].data.text = `<img src=x onerror="document.body.dataset.pwned=1"> <b>bold</b> #Christmas from London`;
const first = all.slice(0, 240);
const later = all.slice(240);
deliver(firehose, first, { perObject: 40 });

const GENERATED = 400;
let demo = startDemo(dataDir, ["--seed", String(SEED), "--count", String(GENERATED), "--rate", "2000", "--start", "1735084800"]);
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const failures = [];
try {
  const base = await demo.url;
  const delivered = Number(
    (await until("the generator to finish", () => demo.output().out.match(/(\d+) delivered/)?.[1], 60_000)),
  );
  assert.ok(delivered > 0 && delivered <= GENERATED, `generator delivered ${delivered}`);
  const expected = delivered + first.length;
  await until(`${expected} posts indexed`, async () => (await api(base, "summary")).total === expected);

  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && failures.push(`console: ${m.text()}`));
  const external = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) external.push(r.url());
  });
  await page.goto(base);
  await page.waitForSelector("body[data-geo-loaded][data-panels-loaded]");

  // The map shows points, as many as the API returns for the page's own query.
  const query = await page.getAttribute("#map", "data-query");
  const geo = await api(base, "geo", Object.fromEntries(new URLSearchParams(query)));
  assert.equal(geo.mode, "points");
  assert.ok(geo.points.length > 0, "the API returns points");
  await until("points drawn", async () => Number(await page.getAttribute("#map", "data-points")) === geo.points.length);
  const colours = await page.evaluate(() => {
    const c = document.getElementById("map");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const near = (i, [r, g, b]) => Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g) < 8 && Math.abs(d[i + 2] - b) < 8;
    const n = { positive: 0, neutral: 0, negative: 0, land: 0 };
    for (let i = 0; i < d.length; i += 4) {
      if (near(i, [0x00, 0x72, 0xb2])) n.positive++;
      else if (near(i, [0x8c, 0x8c, 0x8c])) n.neutral++;
      else if (near(i, [0xd5, 0x5e, 0x00])) n.negative++;
      else if (near(i, [0xf4, 0xf1, 0xea])) n.land++;
    }
    return n;
  });
  assert.ok(colours.land > 10_000, `land is drawn: ${JSON.stringify(colours)}`);
  // Points at one city overlap at world zoom, so only ask that sentiment colours are on the map.
  assert.ok(colours.positive + colours.neutral + colours.negative > 50, `points are drawn: ${JSON.stringify(colours)}`);
  const summary = await api(base, "summary");

  // The counts shown equal the API's.
  assert.equal(await num(page, "#count-total"), summary.total);
  for (const l of ["positive", "neutral", "negative"]) assert.equal(await num(page, `#count-${l}`), summary.labels[l]);
  const tags = await page.$$eval("#tags button", (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(tags, summary.top_hashtags.map((t) => `#${t.tag}`));
  const latest = await api(base, "posts", { limit: 50 });
  assert.deepEqual(await page.$$eval("#posts li", (ls) => ls.map((l) => l.dataset.id)), latest.posts.map((p) => p.id));

  // Post text is text: the markup shows literally and nothing was injected.
  await page.fill("#q", "bold");
  await until("search applied", async () => (await num(page, "#count-total")) === 1);
  const shown = await page.textContent("#posts li .text");
  assert.ok(shown.includes('<img src=x onerror="document.body.dataset.pwned=1">'), shown);
  assert.equal(await page.$$eval("#posts img, #posts b", (x) => x.length), 0);
  assert.equal(await page.getAttribute("body", "data-pwned"), null);

  // Filters change what is shown, and still match the API.
  await page.fill("#q", "london");
  const london = await api(base, "summary", { q: "london" });
  assert.ok(london.total > 0 && london.total < summary.total);
  await until("keyword filter", async () => (await num(page, "#count-total")) === london.total);
  const texts = await page.$$eval("#posts li .text", (ls) => ls.map((l) => l.textContent));
  assert.ok(texts.length > 0 && texts.every((t) => /london/i.test(t)), "every listed post mentions London");
  await page.fill("#q", "");
  await page.uncheck('input[name="label"][value="neutral"]');
  const noNeutral = await api(base, "summary", { label: "positive,negative" });
  await until("label filter", async () => (await num(page, "#count-total")) === noNeutral.total);
  assert.equal(await num(page, "#count-neutral"), 0);
  await until("map follows the label filter", async () => {
    const q = await page.getAttribute("#map", "data-query");
    if (!q.includes("label=positive%2Cnegative")) return false;
    const g = await api(base, "geo", Object.fromEntries(new URLSearchParams(q)));
    return Number(await page.getAttribute("#map", "data-points")) === g.points.length && g.points.every((p) => p.label !== "neutral");
  });
  await page.check('input[name="label"][value="neutral"]');
  await page.selectOption("#range", "custom");
  await page.fill("#from", "2024-12-25T02:00");
  await page.fill("#to", "2024-12-25T03:00");
  await page.dispatchEvent("#to", "change");
  const hour = await api(base, "summary", {
    from: String(new Date("2024-12-25T02:00").getTime()),
    to: String(new Date("2024-12-25T03:00").getTime()),
  });
  assert.ok(hour.total > 0 && hour.total < summary.total);
  await until("time filter", async () => (await num(page, "#count-total")) === hour.total);
  await page.click('button[type="reset"]');
  await until("filters cleared", async () => (await num(page, "#count-total")) === summary.total);

  // Keyboard: the map takes focus, + zooms in, 0 resets.
  await page.focus("#map");
  const z0 = new URLSearchParams(await page.getAttribute("#map", "data-query")).get("zoom");
  await page.keyboard.press("+");
  await until("zoomed in", async () => new URLSearchParams(await page.getAttribute("#map", "data-query")).get("zoom") !== z0);
  await page.keyboard.press("0");
  await until("reset", async () => new URLSearchParams(await page.getAttribute("#map", "data-query")).get("zoom") === z0);

  // Live refresh: new objects show up without reloading.
  deliver(firehose, later, { perObject: 30, stream: "later" });
  await until(`live refresh to ${expected + later.length}`, async () => (await num(page, "#count-total")) === expected + later.length, 30_000);

  await page.screenshot({ path: join(artifacts, "dashboard.png") });

  // Cells when there are more posts in view than max_points; their counts add up to the total.
  const cellsPage = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  await cellsPage.goto(`${base}?max_points=50`);
  await cellsPage.waitForSelector("body[data-geo-loaded]");
  await until("cells drawn", async () => (await cellsPage.getAttribute("#map", "data-mode")) === "cells");
  const cq = await cellsPage.getAttribute("#map", "data-query");
  const cells = await api(base, "geo", Object.fromEntries(new URLSearchParams(cq)));
  assert.equal(cells.mode, "cells");
  assert.equal(cells.cells.reduce((n, c) => n + c.count, 0), cells.total);
  assert.equal(Number(await cellsPage.getAttribute("#map", "data-cells")), cells.cells.length);
  await cellsPage.screenshot({ path: join(artifacts, "dashboard-cells.png") });

  assert.deepEqual(external, [], "the page loads nothing from outside the server");
  assert.deepEqual(failures, []);

  // Ctrl-C stops cleanly; a rerun continues from the stored data.
  demo.child.kill("SIGINT");
  const { code } = await demo.exited;
  assert.equal(code, 0, `demo exit code: ${JSON.stringify(demo.output())}`);
  assert.match(demo.output().out, /Stopped: /);
  demo = startDemo(dataDir, ["--source", "none"]);
  const base2 = await demo.url;
  const again = await api(base2, "summary");
  assert.equal(again.total, expected + later.length);
  await sleep(600);
  assert.equal((await api(base2, "summary")).total, expected + later.length, "a rerun indexes nothing twice");
  console.log(`dashboard browser test passed; screenshots in ${artifacts}`);
} catch (e) {
  console.error(e);
  console.error(demo.output());
  process.exitCode = 1;
} finally {
  await browser.close();
  demo.child.kill("SIGINT");
  await demo.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
