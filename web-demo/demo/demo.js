// The demo page: every pasted line is scored by the Sentimap core (the wasm-bindgen browser
// package in ../pkg, built by scripts/build-wasm). Post text only ever reaches the page through
// textContent / text nodes, never as HTML.
import init, { score, normalize } from '../pkg/sentimap_core_js.js';

const EXAMPLES = [
  'Merry Christmas everyone!!! 🎄😀',
  'not good at all, worst service ever 😡',
  'The food was good, however the service sucked',
  'I LOVE this sooo much ❤️',
  'meh',
  '{"id_str":"1","text":"Snow in London &amp; it is lovely :)","created_at":"Wed Dec 25 10:00:00 +0000 2024","lang":"en","coordinates":{"type":"Point","coordinates":[-0.1276,51.5072]}}',
  '{"data":{"id":"2","text":"Joyeux Noël à tous ! 😀","created_at":"2024-12-25T08:00:00.000Z","lang":"fr"}}',
  '{"did":"did:plc:abc","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"so sad today 😢 #blue","createdAt":"2024-12-25T07:00:00Z","langs":["en"]}}}',
].join('\n');

const $ = (sel) => document.querySelector(sel);
const input = $('#posts');
const list = $('#results');
const status = $('#status');
const template = $('#result-template');

/** Scores one line: plain text with `score`, a raw post (starting with `{`) with `normalize`. */
function analyse(line, lineNo) {
  try {
    if (line.trimStart().startsWith('{')) {
      const doc = normalize(line);
      return { lineNo, text: doc.text, sentiment: doc.sentiment, meta: `${doc.source} post ${doc.id}` };
    }
    return { lineNo, text: line, sentiment: score(line), meta: 'plain text' };
  } catch (e) {
    // A SentimapError carries kind, field and reason; anything else is shown as it is.
    const why = e && e.kind ? `${e.kind}${e.field ? ` (${e.field})` : ''}: ${e.reason}` : String(e);
    return { lineNo, text: line, error: why };
  }
}

/** Appends `text` to `parent` with each evidence token highlighted, in text order. */
function highlighted(parent, text, evidence) {
  let at = 0;
  for (const ev of evidence) {
    const found = text.indexOf(ev.token, at);
    if (found < 0) continue; // e.g. a word from a split hashtag: listed below instead
    parent.append(document.createTextNode(text.slice(at, found)));
    const mark = document.createElement('mark');
    mark.className = ev.valence >= 0 ? 'pos' : 'neg';
    mark.textContent = ev.token;
    const val = document.createElement('span');
    val.className = 'valence';
    val.textContent = ` ${ev.valence > 0 ? '+' : ''}${ev.valence}`;
    mark.append(val);
    parent.append(mark);
    at = found + ev.token.length;
  }
  parent.append(document.createTextNode(text.slice(at)));
}

function render(results) {
  const counts = { positive: 0, neutral: 0, negative: 0, error: 0 };
  const items = results.map((r) => {
    const li = template.content.firstElementChild.cloneNode(true);
    const label = r.error ? 'error' : r.sentiment.label;
    counts[label]++;
    li.dataset.label = label;
    li.dataset.line = String(r.lineNo);
    li.querySelector('.label').textContent = r.error ? 'unusable' : label;
    li.querySelector('.meta').textContent = `line ${r.lineNo} · ${r.meta ?? 'not scored'}`;
    const text = li.querySelector('.text');
    const evidence = li.querySelector('.evidence');
    if (r.error) {
      text.textContent = r.text;
      evidence.textContent = r.error;
      li.setAttribute('aria-label', `Line ${r.lineNo}: unusable. ${r.error}`);
    } else {
      const s = r.sentiment;
      li.querySelector('.compound').textContent = `compound ${s.compound}`;
      li.querySelector('.compound').dataset.compound = String(s.compound);
      highlighted(text, r.text, s.evidence);
      evidence.textContent = s.evidence.length
        ? `Decided by: ${s.evidence.map((e) => `${e.token} (${e.valence > 0 ? '+' : ''}${e.valence})`).join(', ')}` +
          (s.lexicon_applied ? '' : ' · lexicon not applied (not English)')
        : 'Nothing in this post carries sentiment.';
      li.setAttribute('aria-label', `Line ${r.lineNo}: ${label}, compound ${s.compound}.`);
    }
    return li;
  });
  list.replaceChildren(...items);
  for (const [k, n] of Object.entries(counts)) document.querySelector(`[data-count="${k}"]`).textContent = String(n);
  status.textContent = `${results.length} post${results.length === 1 ? '' : 's'} scored.`;
}

function update() {
  const results = [];
  input.value.split(/\r?\n/).forEach((line, i) => {
    if (line.trim()) results.push(analyse(line, i + 1));
  });
  render(results);
}

let pending = 0;
function schedule() {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(update);
}

await init({ module_or_path: new URL('../pkg/sentimap_core_js_bg.wasm', import.meta.url) });
input.addEventListener('input', schedule);
$('#examples').addEventListener('click', () => { input.value = EXAMPLES; update(); input.focus(); });
$('#clear').addEventListener('click', () => { input.value = ''; update(); input.focus(); });
update();
status.textContent = 'Ready: paste posts above.';
document.body.dataset.ready = 'true';
