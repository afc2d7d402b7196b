// Seeded raw posts (X API v2 filtered-stream messages) written as objects in Firehose's S3 layout
// (`YYYY/MM/DD/HH/<name>`), the way the local sink delivers them. Deterministic for a given seed.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CITIES = [
  ["London", 51.507, -0.128, "GB"], ["Paris", 48.857, 2.352, "FR"], ["New York", 40.713, -74.006, "US"],
  ["Los Angeles", 34.052, -118.244, "US"], ["Tokyo", 35.676, 139.65, "JP"], ["Sydney", -33.869, 151.209, "AU"],
  ["São Paulo", -23.55, -46.633, "BR"], ["Lagos", 6.524, 3.379, "NG"], ["Mumbai", 19.076, 72.878, "IN"],
  ["Berlin", 52.52, 13.405, "DE"], ["Madrid", 40.417, -3.704, "ES"], ["Toronto", 43.653, -79.383, "CA"],
  ["Mexico City", 19.433, -99.133, "MX"], ["Cape Town", -33.925, 18.424, "ZA"], ["Manila", 14.6, 120.984, "PH"],
  ["Moscow", 55.756, 37.617, "RU"], ["Chicago", 41.878, -87.63, "US"], ["Dublin", 53.35, -6.26, "IE"],
];
const POSITIVE = [
  "Merry #Christmas everyone, love this time of year! 🎄",
  "Best #Christmas morning ever, so happy with the family :)",
  "Wonderful #xmas dinner, thank you all ❤️",
  "Feeling blessed and grateful this #Christmas #joy",
];
const NEGATIVE = [
  "Worst #Christmas ever, flight cancelled and I am furious :(",
  "So sad and lonely this #xmas 😢",
  "Terrible traffic, hate shopping at #Christmas",
  "Burnt the turkey, awful day #ChristmasFail",
];
const NEUTRAL = [
  "#Christmas market opens at 10 today",
  "Wrapping the last presents before #xmas",
  "Snow forecast for #Christmas eve in the city",
  "Train times for the #holidays are posted",
];

// mulberry32: a small seeded PRNG.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` raw posts, seeded, spread over `hours` from `start` (epoch ms). */
export function posts({ seed = 7, count = 300, start = Date.UTC(2024, 11, 25, 0, 0, 0), hours = 6 } = {}) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const out = [];
  for (let i = 0; i < count; i++) {
    const [name, lat, lon, cc] = pick(CITIES);
    const mood = r();
    const text = pick(mood < 0.45 ? POSITIVE : mood < 0.75 ? NEUTRAL : NEGATIVE) + ` from ${name}`;
    const hashtags = [...text.matchAll(/#(\w+)/gu)].map((m) => ({ start: m.index, end: m.index + m[0].length, tag: m[1] }));
    const t = start + Math.floor(r() * hours * 3600_000);
    out.push({
      data: {
        id: String(1_000_000 + seed * 100_000 + i),
        text,
        lang: "en",
        author_id: String(500 + (i % 37)),
        created_at: new Date(t).toISOString(),
        entities: { hashtags },
        geo: { coordinates: { type: "Point", coordinates: [lon + (r() - 0.5) * 0.6, lat + (r() - 0.5) * 0.6] } },
      },
      includes: { users: [{ id: String(500 + (i % 37)), name: `User ${i % 37}`, username: `user${i % 37}` }] },
      _t: t,
      _cc: cc,
    });
  }
  return out;
}

/** Writes posts as objects of `perObject` records under `root`, atomically (temp file + rename). */
export function deliver(root, list, { perObject = 50, stream = "fixture" } = {}) {
  const keys = [];
  for (let i = 0; i < list.length; i += perObject) {
    const chunk = list.slice(i, i + perObject);
    const d = new Date(chunk[0]._t);
    const p2 = (n) => String(n).padStart(2, "0");
    const dir = join(root, String(d.getUTCFullYear()), p2(d.getUTCMonth() + 1), p2(d.getUTCDate()), p2(d.getUTCHours()));
    mkdirSync(dir, { recursive: true });
    const name = `${stream}-1-${d.toISOString().slice(0, 19).replace(/[:T]/g, "-")}-${String(i).padStart(6, "0")}`;
    const body = chunk.map(({ _t, _cc, ...raw }) => JSON.stringify(raw)).join("\n") + "\n";
    writeFileSync(join(dir, `.${name}.tmp`), body);
    renameSync(join(dir, `.${name}.tmp`), join(dir, name));
    keys.push(join(dir, name));
  }
  return keys;
}
