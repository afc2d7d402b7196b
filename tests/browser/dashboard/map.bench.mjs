// Map drawing benchmark (figures, not a test): a real `sentimap demo --source none` indexes
// BENCH_MAP_POINTS seeded located posts (10,000 by default), headless chromium opens the dashboard
// with `?max_points=` so every post is a point on screen, then pans and zooms with the mouse.
// Prints frame times (requestAnimationFrame intervals: p50 / p95 ms, fps) and the map's draw time
// per frame (p50 / p95 / max ms, measured by the page around its draw()).
//
//   node map.bench.mjs          (scripts/bench-dashboard runs it; SENTIMAP_BIN overrides the binary)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { posts, deliver } from "./fixture.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const bin = process.env.SENTIMAP_BIN || join(root, "target", "debug", "sentimap");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const N = Number(process.env.BENCH_MAP_POINTS || 10_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(bin)) throw new Error(`${bin} missing: build it with \`cargo build -p sentimap\``);

async function until(what, fn, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))];
};

const dataDir = mkdtempSync(join(tmpdir(), "sentimap-mapbench-"));
deliver(join(dataDir, "firehose"), posts({ seed: 11, count: N }), { perObject: 1000 });
const demo = spawn(bin, ["demo", "--source", "none", "--data-dir", dataDir, "--port", "0", "--poll-ms", "200"], {
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, RUST_LOG: "warn" },
});
let out = "";
demo.stdout.on("data", (d) => (out += d));
demo.stderr.on("data", () => {});
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const base = await until("the dashboard URL", () => out.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0]);
  await until(`${N} posts indexed`, async () => (await (await fetch(`${base}api/summary`)).json()).total === N);
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  await page.goto(`${base}?max_points=${N}`);
  await page.waitForSelector("body[data-geo-loaded]");
  const shown = await until("points drawn", async () => Number(await page.getAttribute("#map", "data-points")) || 0);
  const box = await page.locator("#map").boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  // Frame intervals from requestAnimationFrame while the mouse pans and zooms.
  await page.evaluate(() => {
    window.benchFrames = [];
    if (window.sentimapDrawMs) window.sentimapDrawMs.length = 0;
    let last = performance.now();
    const tick = (t) => {
      window.benchFrames.push(t - last);
      last = t;
      if (!window.benchStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  for (let round = 0; round < 3; round++) {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 40; i++) await page.mouse.move(cx + i * 6, cy + Math.sin(i / 6) * 40);
    await page.mouse.up();
    for (let i = 0; i < 3; i++) {
      await page.mouse.wheel(0, -120);
      await sleep(60);
    }
    for (let i = 0; i < 3; i++) {
      await page.mouse.wheel(0, 120);
      await sleep(60);
    }
  }
  await sleep(300);
  const { frames, draws } = await page.evaluate(() => {
    window.benchStop = true;
    return { frames: window.benchFrames.slice(1), draws: [...(window.sentimapDrawMs || [])] };
  });
  const p50 = pct(frames, 0.5);
  const p95 = pct(frames, 0.95);
  const lines = [
    `map: ${shown} points on screen at start (${N} posts), viewport 1400x850, headless chromium (--disable-gpu)`,
    `frames while panning/zooming: ${frames.length}, frame interval p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, ` +
      `fps (median) ${(1000 / p50).toFixed(0)}, fps (mean) ${((1000 * frames.length) / frames.reduce((a, b) => a + b, 0)).toFixed(0)}`,
    draws.length
      ? `draw() per frame: ${draws.length} draws, p50 ${pct(draws, 0.5).toFixed(1)} ms, p95 ${pct(draws, 0.95).toFixed(1)} ms, max ${Math.max(...draws).toFixed(1)} ms`
      : "draw() per frame: not reported by this page (window.sentimapDrawMs missing)",
  ];
  process.stdout.write(lines.join("\n") + "\n");
} finally {
  await browser.close();
  demo.kill("SIGINT");
  await new Promise((r) => demo.on("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
}
