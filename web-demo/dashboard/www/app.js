// Sentimap dashboard: a web-mercator world map drawn on a canvas from bundled Natural Earth shapes,
// posts as points (or geotile cells when zoomed out), and panels fed by the JSON API.
// Post text is only ever set with textContent: it is data, never markup.
import { geoMercator, geoPath, feature, mesh } from "./vendor/geo.js";

const COLORS = { positive: "#0072b2", neutral: "#8c8c8c", negative: "#d55e00" };
const LABELS = ["positive", "neutral", "negative"];
const TILE = 256;
const MAX_ZOOM = 18;
const REFRESH_MS = 3000;
const FETCH_DEBOUNCE_MS = 120;
const MAX_LAT = 85.0511287798;
// `?max_points=N` on the page URL lowers the points/cells switch (to see cells on a small data set).
const MAX_POINTS = new URLSearchParams(location.search).get("max_points");

const $ = (id) => document.getElementById(id);
const canvas = $("map");
const ctx = canvas.getContext("2d");
const tooltip = $("tooltip");
const statusEl = $("map-status");
const form = $("filters");

const view = { zoom: 1, cx: 0.5, cy: 0.5, minZoom: 1 };
let land = null;
let borders = null;
/** Land and borders as Path2D in a LAND_WORLD-pixel world, projected once. */
let landPaths = null;
/** World size (px) the shapes are projected at; drawing scales them. */
const LAND_WORLD = 4096;
/** Points per drawing run (see draw). */
const POINT_RUN = 512;
const drawTimes = (window.sentimapDrawMs = []);
let geo = { mode: "points", points: [], cells: [], total: 0 };
let screenItems = [];
let geoAbort = null;
let panelsAbort = null;
let geoTimer = 0;
let lastPostsKey = "";

// ---- projection ---------------------------------------------------------------------------------

function worldSize() {
  return TILE * 2 ** view.zoom;
}
function toUnit(lat, lon) {
  const l = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const s = Math.sin((l * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}
function fromUnit(x, y) {
  const lon = x * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
  return [lat, lon];
}
function toScreen(lat, lon) {
  const [x, y] = toUnit(lat, lon);
  const w = worldSize();
  return [(x - view.cx) * w + canvas.clientWidth / 2, (y - view.cy) * w + canvas.clientHeight / 2];
}
function screenToUnit(px, py) {
  const w = worldSize();
  return [view.cx + (px - canvas.clientWidth / 2) / w, view.cy + (py - canvas.clientHeight / 2) / w];
}
function clampView() {
  view.zoom = Math.max(view.minZoom, Math.min(MAX_ZOOM, view.zoom));
  const w = worldSize();
  const hx = canvas.clientWidth / 2 / w;
  const hy = canvas.clientHeight / 2 / w;
  view.cx = hx >= 0.5 ? 0.5 : Math.max(hx, Math.min(1 - hx, view.cx));
  view.cy = hy >= 0.5 ? 0.5 : Math.max(hy, Math.min(1 - hy, view.cy));
}
function bbox() {
  const [x0, y0] = screenToUnit(0, 0);
  const [x1, y1] = screenToUnit(canvas.clientWidth, canvas.clientHeight);
  const clampU = (v) => Math.max(0, Math.min(1, v));
  const [north, west] = fromUnit(clampU(x0), clampU(y0));
  const [south, east] = fromUnit(clampU(x1), clampU(y1));
  const r = (v) => Math.round(v * 1e5) / 1e5;
  const lat = (v) => (Math.abs(v) >= MAX_LAT - 1e-6 ? Math.sign(v) * 90 : r(v));
  return [r(west), lat(south), r(east), lat(north)];
}

// ---- drawing ------------------------------------------------------------------------------------

function resize() {
  const dpr = window.devicePixelRatio || 1;
  const { clientWidth: w, clientHeight: h } = canvas;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  view.minZoom = Math.log2(Math.max(w, h) / TILE);
  clampView();
}

function mixColor(compound) {
  // Diverging vermillion - grey - blue, on the same palette as the points.
  const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const [a, b] = compound >= 0 ? [hex(COLORS.neutral), hex(COLORS.positive)] : [hex(COLORS.neutral), hex(COLORS.negative)];
  const t = Math.min(1, Math.abs(compound) * 2);
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function draw() {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#dfe9f3";
  ctx.fillRect(0, 0, w, h);
  const W = worldSize();
  if (landPaths) {
    // The shapes are projected once (landPaths); each frame only sets a transform.
    const k = W / LAND_WORLD;
    ctx.save();
    ctx.translate(w / 2 - view.cx * W, h / 2 - view.cy * W);
    ctx.scale(k, k);
    ctx.fillStyle = "#f4f1ea";
    ctx.fill(landPaths.land);
    ctx.strokeStyle = "#c3bcae";
    ctx.lineWidth = 0.6 / k;
    ctx.stroke(landPaths.borders);
    ctx.restore();
  }
  screenItems = [];
  if (geo.mode === "points") {
    // Points in the API's (id) order, drawn in runs of POINT_RUN: one path per colour per run, so
    // no label is drawn over all the others and a frame needs few fill calls. Off-screen points
    // are skipped; projected coordinates are computed once per answer.
    const r = geo.points.length > 2000 ? 2.5 : 4;
    const ox = w / 2 - view.cx * W;
    const oy = h / 2 - view.cy * W;
    ctx.lineWidth = 0.75;
    ctx.strokeStyle = "#ffffff";
    const runs = { positive: new Path2D(), neutral: new Path2D(), negative: new Path2D() };
    let inRun = 0;
    const flush = () => {
      for (const l of LABELS) {
        ctx.fillStyle = COLORS[l];
        ctx.fill(runs[l]);
        ctx.stroke(runs[l]);
        runs[l] = new Path2D();
      }
      inRun = 0;
    };
    for (const p of geo.points) {
      if (p.ux === undefined) [p.ux, p.uy] = toUnit(p.lat, p.lon);
      const x = p.ux * W + ox;
      const y = p.uy * W + oy;
      if (x < -r || y < -r || x > w + r || y > h + r) continue;
      const path = runs[p.label];
      path.moveTo(x + r, y);
      path.arc(x, y, r, 0, 2 * Math.PI);
      screenItems.push({ x, y, r: r + 3, item: p });
      if (++inRun === POINT_RUN) flush();
    }
    if (inRun) flush();
  } else {
    const max = Math.max(1, ...geo.cells.map((c) => c.count));
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = "600 11px system-ui, sans-serif";
    for (const c of geo.cells) {
      const [x, y] = toScreen(c.lat, c.lon);
      const r = 4 + 18 * Math.sqrt(c.count / max);
      if (x < -r || y < -r || x > w + r || y > h + r) continue;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.globalAlpha = 0.85;
      ctx.fillStyle = mixColor(c.compound_mean);
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
      if (r >= 11) {
        ctx.fillStyle = "#ffffff";
        ctx.fillText(String(c.count), x, y);
      }
      screenItems.push({ x, y, r, item: c });
    }
  }
  const shown = screenItems.length;
  canvas.dataset.mode = geo.mode;
  canvas.dataset.total = String(geo.total);
  canvas.dataset.points = geo.mode === "points" ? String(shown) : "0";
  canvas.dataset.cells = geo.mode === "cells" ? String(shown) : "0";
  statusEl.textContent =
    geo.mode === "points"
      ? `${geo.total.toLocaleString("en-US")} posts in view`
      : `${geo.total.toLocaleString("en-US")} posts in view, in ${geo.cells.length.toLocaleString("en-US")} cells (zoom in for points)`;
}

let drawQueued = false;
function redraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    const t0 = performance.now();
    draw();
    // Draw times (ms) of recent frames, read by scripts/bench-dashboard's browser benchmark.
    drawTimes.push(performance.now() - t0);
    if (drawTimes.length > 1000) drawTimes.splice(0, drawTimes.length - 1000);
  });
}

// ---- API ----------------------------------------------------------------------------------------

function filterParams() {
  const p = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) p.set("q", q);
  const labels = [...form.querySelectorAll('input[name="label"]:checked')].map((i) => i.value);
  if (labels.length === 0) p.set("label", "none");
  else if (labels.length < LABELS.length) p.set("label", labels.join(","));
  const range = $("range").value;
  if (range === "custom") {
    const from = $("from").value;
    const to = $("to").value;
    if (from) p.set("from", String(new Date(from).getTime()));
    if (to) p.set("to", String(new Date(to).getTime()));
  } else if (range !== "all") {
    p.set("from", String(Date.now() - Number(range)));
  }
  return p;
}

async function getJson(path, params, signal) {
  const res = await fetch(`${path}?${params}`, { signal, headers: { accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
  return body;
}

function noLabels(p) {
  return p.get("label") === "none";
}

async function loadGeo() {
  geoAbort?.abort();
  geoAbort = new AbortController();
  const p = filterParams();
  if (noLabels(p)) {
    geo = { mode: "points", points: [], cells: [], total: 0 };
    redraw();
    return;
  }
  p.set("bbox", bbox().join(","));
  p.set("zoom", String(Math.max(0, Math.floor(view.zoom))));
  if (MAX_POINTS && /^\d+$/.test(MAX_POINTS)) p.set("max_points", MAX_POINTS);
  try {
    geo = await getJson("/api/geo", p, geoAbort.signal);
    canvas.dataset.query = p.toString();
    document.body.dataset.geoLoaded = "1";
    redraw();
  } catch (e) {
    if (e.name !== "AbortError") statusEl.textContent = `Map: ${e.message}`;
  }
}

function scheduleGeo() {
  clearTimeout(geoTimer);
  geoTimer = setTimeout(loadGeo, FETCH_DEBOUNCE_MS);
}

function setCount(id, n) {
  const el = $(id);
  el.textContent = n.toLocaleString("en-US");
  el.dataset.value = String(n);
}

function renderSummary(s) {
  setCount("count-total", s.total);
  for (const l of LABELS) setCount(`count-${l}`, s.labels[l]);
  $("extent").textContent = s.total
    ? `${s.first_at.replace("T", " ").slice(0, 19)} – ${s.last_at.replace("T", " ").slice(0, 19)} UTC · mean score ${s.compound_mean}`
    : "No posts match.";
  const tags = $("tags");
  tags.replaceChildren(
    ...s.top_hashtags.map((t) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `#${t.tag}`;
      b.title = `Search for ${t.tag}`;
      b.addEventListener("click", () => {
        $("q").value = t.tag;
        refreshAll();
      });
      const n = document.createElement("span");
      n.className = "muted";
      n.textContent = ` ${t.count.toLocaleString("en-US")}`;
      li.append(b, n);
      return li;
    }),
  );
}

function renderTimeline(t) {
  const c = $("timeline");
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth;
  const h = c.clientHeight;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  $("interval").textContent = t.buckets.length ? `(per ${t.interval})` : "";
  c.dataset.buckets = String(t.buckets.length);
  if (!t.buckets.length) return;
  const bw = w / t.buckets.length;
  t.buckets.forEach((b, i) => {
    let y = h;
    if (b.total === 0) {
      g.fillStyle = "#eef0f3";
      g.fillRect(i * bw, 0, Math.max(1, bw - 0.5), h);
      return;
    }
    for (const l of ["positive", "neutral", "negative"]) {
      const bh = (b.labels[l] / b.total) * h;
      g.fillStyle = COLORS[l];
      g.fillRect(i * bw, y - bh, Math.max(1, bw - 0.5), bh);
      y -= bh;
    }
  });
  const first = t.buckets[0].start.replace("T", " ").slice(0, 16);
  const last = t.buckets[t.buckets.length - 1].start.replace("T", " ").slice(0, 16);
  c.setAttribute("aria-label", `Share of positive, neutral and negative posts per ${t.interval}, ${first} to ${last} UTC`);
}

function renderPosts(p) {
  const key = `${p.total}|${p.posts.map((x) => x.id).join(",")}`;
  if (key === lastPostsKey) return;
  lastPostsKey = key;
  const list = $("posts");
  list.dataset.total = String(p.total);
  list.replaceChildren(
    ...p.posts.map((post) => {
      const li = document.createElement("li");
      li.className = post.label;
      li.dataset.id = post.id;
      const meta = document.createElement("div");
      meta.className = "meta";
      const who = post.author ? `@${post.author}` : post.author_name || "";
      const where = post.place || (post.lat != null ? `${post.lat.toFixed(2)}, ${post.lon.toFixed(2)}` : "");
      meta.textContent = [post.created_at.replace("T", " ").slice(0, 19), who, where, `${post.label} ${post.compound.toFixed(2)}`]
        .filter(Boolean)
        .join(" · ");
      const text = document.createElement("p");
      text.className = "text";
      text.textContent = post.text;
      li.append(meta, text);
      return li;
    }),
  );
  if (!p.posts.length) {
    const li = document.createElement("li");
    li.textContent = "No posts match.";
    list.append(li);
  }
}

async function loadPanels() {
  panelsAbort?.abort();
  panelsAbort = new AbortController();
  const p = filterParams();
  if (noLabels(p)) {
    renderSummary({ total: 0, labels: { positive: 0, neutral: 0, negative: 0 }, top_hashtags: [] });
    renderTimeline({ buckets: [], interval: "" });
    renderPosts({ total: 0, posts: [] });
    return;
  }
  const signal = panelsAbort.signal;
  try {
    const [s, t, posts] = await Promise.all([
      getJson("/api/summary", p, signal),
      getJson("/api/timeline", p, signal),
      getJson("/api/posts", new URLSearchParams([...p, ["limit", "50"]]), signal),
    ]);
    renderSummary(s);
    renderTimeline(t);
    renderPosts(posts);
    document.body.dataset.panelsLoaded = "1";
  } catch (e) {
    if (e.name !== "AbortError") $("extent").textContent = `Error: ${e.message}`;
  }
}

function refreshAll() {
  loadPanels();
  loadGeo();
}

// ---- interaction --------------------------------------------------------------------------------

function zoomAt(px, py, dz) {
  const [ux, uy] = screenToUnit(px, py);
  view.zoom = Math.max(view.minZoom, Math.min(MAX_ZOOM, view.zoom + dz));
  const w = worldSize();
  view.cx = ux - (px - canvas.clientWidth / 2) / w;
  view.cy = uy - (py - canvas.clientHeight / 2) / w;
  clampView();
  redraw();
  scheduleGeo();
}

function pan(dx, dy) {
  const w = worldSize();
  view.cx -= dx / w;
  view.cy -= dy / w;
  clampView();
  redraw();
  scheduleGeo();
}

function resetView() {
  view.zoom = view.minZoom;
  view.cx = 0.5;
  view.cy = 0.5;
  clampView();
  redraw();
  scheduleGeo();
}

let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  drag = { x: e.clientX, y: e.clientY };
  canvas.setPointerCapture(e.pointerId);
  canvas.classList.add("dragging");
});
canvas.addEventListener("pointermove", (e) => {
  if (drag) {
    pan(e.clientX - drag.x, e.clientY - drag.y);
    drag = { x: e.clientX, y: e.clientY };
    tooltip.hidden = true;
    return;
  }
  showTooltip(e.offsetX, e.offsetY);
});
canvas.addEventListener("pointerup", () => {
  drag = null;
  canvas.classList.remove("dragging");
});
canvas.addEventListener("pointerleave", () => {
  tooltip.hidden = true;
});
canvas.addEventListener(
  "wheel",
  (e) => {
    e.preventDefault();
    zoomAt(e.offsetX, e.offsetY, e.deltaY < 0 ? 0.5 : -0.5);
  },
  { passive: false },
);
canvas.addEventListener("dblclick", (e) => zoomAt(e.offsetX, e.offsetY, 1));
canvas.addEventListener("keydown", (e) => {
  const step = 80;
  const actions = {
    ArrowLeft: () => pan(step, 0),
    ArrowRight: () => pan(-step, 0),
    ArrowUp: () => pan(0, step),
    ArrowDown: () => pan(0, -step),
    "+": () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1),
    "=": () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1),
    "-": () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, -1),
    0: resetView,
  };
  const act = actions[e.key];
  if (act) {
    e.preventDefault();
    act();
  }
});
$("zoom-in").addEventListener("click", () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1));
$("zoom-out").addEventListener("click", () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, -1));
$("zoom-reset").addEventListener("click", resetView);

function showTooltip(x, y) {
  let best = null;
  let bestD = Infinity;
  for (const s of screenItems) {
    const d = Math.hypot(s.x - x, s.y - y);
    if (d <= s.r && d < bestD) {
      best = s;
      bestD = d;
    }
  }
  if (!best) {
    tooltip.hidden = true;
    return;
  }
  const it = best.item;
  tooltip.textContent =
    "key" in it
      ? `${it.count} posts · positive ${it.labels.positive}, neutral ${it.labels.neutral}, negative ${it.labels.negative} · mean ${it.compound_mean}`
      : `${it.label} (${it.compound.toFixed(2)}) · ${it.id}`;
  tooltip.style.left = `${Math.min(x + 12, canvas.clientWidth - 200)}px`;
  tooltip.style.top = `${y + 12}px`;
  tooltip.hidden = false;
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  refreshAll();
});
form.addEventListener("change", (e) => {
  if (e.target.id === "range") {
    for (const el of form.querySelectorAll(".custom")) el.hidden = e.target.value !== "custom";
  }
  if (e.target.id !== "live") refreshAll();
});
let searchTimer = 0;
$("q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(refreshAll, 300);
});
form.addEventListener("reset", () => {
  setTimeout(() => {
    for (const el of form.querySelectorAll(".custom")) el.hidden = true;
    refreshAll();
  });
});

setInterval(() => {
  if ($("live").checked && !document.hidden && !drag) refreshAll();
}, REFRESH_MS);

new ResizeObserver(() => {
  resize();
  redraw();
  scheduleGeo();
}).observe(canvas);

async function loadWorld() {
  const topo = await (await fetch("vendor/countries-110m.json")).json();
  land = feature(topo, topo.objects.land);
  borders = mesh(topo, topo.objects.countries, (a, b) => a !== b);
  const path = geoPath(
    geoMercator()
      .scale(LAND_WORLD / (2 * Math.PI))
      .translate([LAND_WORLD / 2, LAND_WORLD / 2]),
  );
  landPaths = { land: new Path2D(path(land)), borders: new Path2D(path(borders)) };
  redraw();
}

resize();
resetView();
loadWorld();
refreshAll();
