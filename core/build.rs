//! Builds the sentiment tables at compile time: the word lexicon (VADER's, Sentimap's additions,
//! emoticons, function words), the emoji lexicon and the idiom list, as static perfect hash
//! tables, so the engine needs no start-up work and no allocation to look a word up.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/sentiment/phash.rs"]
#[allow(dead_code)]
mod phash;

/// Flag bits of a word entry; mirrored by `src/sentiment/lexicon.rs`.
const NEG: u8 = 1;
const BOOST: u8 = 2;
const CONTRAST: u8 = 4;
const CONCEDE: u8 = 8;
const EMOTICON: u8 = 16;
const IDIOM_START: u8 = 32;
const RATED: u8 = 64;
const VERB_CUE: u8 = 128;

/// Size of the word filter in u64s (`2^phash::FILTER_BITS` bits).
const FILTER_WORDS: usize = 1 << (phash::FILTER_BITS - 6);

/// Words the rules test by identity; ids mirrored by `src/sentiment/lexicon.rs` (`ID_*`).
const SPECIAL: &[&str] = &[
    "", "kind", "sort", "of", "no", "like", "well", "never", "so", "this", "doubt", "least", "at",
    "as",
];

/// Words after which `like` is the verb (`I like`, `would like`, `really like`).
const VERB_CUES: &[&str] = &[
    "i",
    "you",
    "we",
    "they",
    "u",
    "ya",
    "ppl",
    "people",
    "who",
    "to",
    "would",
    "i'd",
    "you'd",
    "we'd",
    "they'd",
    "id",
    "do",
    "does",
    "did",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "didn't",
    "didnt",
    "really",
    "just",
    "also",
    "totally",
    "definitely",
    "actually",
    "still",
    "might",
    "will",
    "i'll",
    "we'll",
    "you'll",
    "gonna",
    "should",
    "could",
    "may",
    "def",
    "kinda",
    "genuinely",
    "truly",
    "not",
    "never",
    "always",
    "i'm",
    "u'd",
];

#[derive(Default, Clone)]
struct Word {
    valence: f64,
    boost: f64,
    flags: u8,
    id: u8,
    idiom_start: usize,
    idiom_count: usize,
    idiom_next: u32,
}

fn main() {
    let dir = PathBuf::from(env_or_die("CARGO_MANIFEST_DIR")).join("data");
    let read = |name: &str| {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    println!("cargo:rerun-if-changed=src/sentiment/phash.rs");

    let mut words: BTreeMap<String, Word> = BTreeMap::new();
    for (key, cols) in rows(&read("vader_lexicon.tsv")) {
        let w = words.entry(key.to_ascii_lowercase()).or_default();
        w.valence = number(&key, cols.first());
        w.flags |= RATED;
        if is_emoticon(&key) {
            w.flags |= EMOTICON;
        }
    }
    for (key, cols) in rows(&read("sentimap_lexicon.tsv")) {
        let w = words.entry(key.to_ascii_lowercase()).or_default();
        w.valence = number(&key, cols.first());
        w.flags |= RATED;
    }
    for (key, cols) in rows(&read("emoticons.tsv")) {
        let w = words.entry(key.to_ascii_lowercase()).or_default();
        w.valence = number(&key, cols.first());
        w.flags |= RATED | EMOTICON;
    }
    for (key, cols) in rows(&read("rules.tsv")) {
        let w = words.entry(key.clone()).or_default();
        match cols.first().map(String::as_str) {
            Some("neg") => w.flags |= NEG,
            Some("boost") => {
                w.flags |= BOOST;
                w.boost = number(&key, cols.get(1));
            }
            Some("contrast") => w.flags |= CONTRAST,
            Some("concede") => w.flags |= CONCEDE,
            other => panic!("rules.tsv: {key}: unknown class {other:?}"),
        }
    }
    for (id, w) in SPECIAL.iter().enumerate().skip(1) {
        words.entry(w.to_string()).or_default().id = id as u8;
    }
    for w in VERB_CUES {
        words.entry(w.to_string()).or_default().flags |= VERB_CUE;
    }
    // Idioms sorted by first word, so each first word owns a range; longest first within it.
    let mut idioms: Vec<(Vec<String>, f64)> = rows(&read("idioms.tsv"))
        .into_iter()
        .map(|(phrase, cols)| {
            let v = number(&phrase, cols.first());
            (phrase.split(' ').map(str::to_string).collect(), v)
        })
        .collect();
    idioms.sort_by(|a, b| {
        a.0[0]
            .cmp(&b.0[0])
            .then(b.0.len().cmp(&a.0.len()))
            .then(a.0.cmp(&b.0))
    });
    for (k, (ws, _)) in idioms.iter().enumerate() {
        let w = words.entry(ws[0].clone()).or_default();
        if w.flags & IDIOM_START == 0 {
            w.flags |= IDIOM_START;
            w.idiom_start = k;
        }
        w.idiom_count += 1;
        w.idiom_next |= match ws.get(1) {
            None => IDIOM_ONE_WORD,
            Some(next) => idiom_next_bit(next.as_bytes().first().copied().unwrap_or(0)),
        };
    }
    let mut emoji: BTreeMap<String, f64> = BTreeMap::new();
    for (key, cols) in rows(&read("emoji.tsv")) {
        let stripped: String = key
            .chars()
            .filter(|&c| c != '\u{FE0F}' && !('\u{1F3FB}'..='\u{1F3FF}').contains(&c))
            .collect();
        if emoji.insert(stripped, number(&key, cols.first())).is_some() {
            panic!("emoji.tsv: {key} listed twice");
        }
    }

    let mut out = String::new();
    out.push_str("// Generated by core/build.rs from core/data/*.tsv. Do not edit.\n");
    let keys: Vec<&String> = words.keys().collect();
    let (seed, disp, slots) = perfect_hash(&keys);
    let _ = writeln!(out, "const WORD_SEED: u64 = {seed};");
    let _ = writeln!(out, "static WORD_DISP: [u32; {}] = {disp:?};", disp.len());
    let _ = writeln!(out, "static WORDS: [Entry; {}] = [", slots.len());
    for s in &slots {
        match s {
            Some(i) => {
                let (k, w) = (keys[*i], &words[keys[*i]]);
                let _ = writeln!(
                    out,
                    "    Entry {{ key: {k:?}, tag: {}, valence: {:?}, boost: {:?}, flags: {}, id: {}, idioms: ({}, {}), weigh: {} }},",
                    tag(k.as_bytes()), w.valence, w.boost, w.flags, w.id, w.idiom_start, w.idiom_count,
                    w.valence != 0.0 || w.flags & IDIOM_START != 0
                );
            }
            None => out.push_str("    Entry::EMPTY,\n"),
        }
    }
    out.push_str("];\n");

    // A 2^17-bit filter on the top hash bits: most words of a text are not in the lexicon, and
    // this 16 KiB bitmap (cache resident) turns them away before the table is touched.
    let mut filter = vec![0u64; FILTER_WORDS];
    for k in &keys {
        let bit = phash::filter_bit(phash::hash(k.as_bytes(), seed));
        filter[bit / 64] |= 1 << (bit % 64);
    }
    let _ = writeln!(
        out,
        "static WORD_FILTER: [u64; {FILTER_WORDS}] = {filter:?};"
    );

    let ekeys: Vec<&String> = emoji.keys().collect();
    let (seed, disp, slots) = perfect_hash(&ekeys);
    let _ = writeln!(out, "const EMOJI_SEED: u64 = {seed};");
    let _ = writeln!(out, "static EMOJI_DISP: [u32; {}] = {disp:?};", disp.len());
    let _ = writeln!(out, "static EMOJI: [(&str, f64); {}] = [", slots.len());
    for s in &slots {
        match s {
            Some(i) => {
                let _ = writeln!(out, "    ({:?}, {:?}),", ekeys[*i], emoji[ekeys[*i]]);
            }
            None => out.push_str("    (\"\", 0.0),\n"),
        }
    }
    out.push_str("];\n");

    // Per first word, at its first idiom's index: how its idioms go on (see `lexicon::idiom_next`).
    let mut next = vec![0u32; idioms.len()];
    for w in words.values().filter(|w| w.flags & IDIOM_START != 0) {
        next[w.idiom_start] = w.idiom_next;
    }
    let _ = writeln!(out, "static IDIOM_NEXT: [u32; {}] = {next:?};", next.len());
    let _ = writeln!(out, "static IDIOMS: [(&[&str], f64); {}] = [", idioms.len());
    for (ws, v) in &idioms {
        let _ = writeln!(out, "    (&{ws:?}, {v:?}),");
    }
    out.push_str("];\n");

    // Which (first byte, second byte) pairs start an emoticon: a cheap test before hashing.
    let mut pairs = vec![0u64; 1024];
    for (k, w) in &words {
        if w.flags & EMOTICON != 0 && k.len() >= 2 {
            let b = k.as_bytes();
            for (x, y) in [
                (b[0], b[1]),
                (b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()),
                (b[0].to_ascii_uppercase(), b[1]),
                (b[0], b[1].to_ascii_uppercase()),
            ] {
                let i = usize::from(x) << 8 | usize::from(y);
                pairs[i / 64] |= 1 << (i % 64);
            }
        }
    }
    let _ = writeln!(out, "static EMOTICON_PAIRS: [u64; 1024] = {pairs:?};");

    let dest = Path::new(&env_or_die("OUT_DIR")).join("sentiment_tables.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}

/// Bit of [`Word::idiom_next`] for a one-word idiom; mirrors `lexicon::IDIOM_ONE_WORD`.
const IDIOM_ONE_WORD: u32 = 1 << 31;

/// Bit of [`Word::idiom_next`] for an idiom's second word starting with byte `c` (lower case);
/// mirrors `lexicon::idiom_next_bit`.
fn idiom_next_bit(c: u8) -> u32 {
    if c.is_ascii_lowercase() {
        1 << (c - b'a')
    } else {
        1 << 26
    }
}

/// The first eight bytes of a key, little-endian, zero-padded: a quick reject before comparing.
fn tag(b: &[u8]) -> u64 {
    let mut t = [0u8; 8];
    let n = b.len().min(8);
    t[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(t)
}

// A build script is not the core: it reads cargo's variables and the data files.
#[allow(clippy::disallowed_methods)]
fn env_or_die(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// Data rows: `key<TAB>col...`, skipping blank lines and `#` comments.
fn rows(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with("# ") && l != &"#")
        .map(|l| {
            let mut cols = l.split('\t').map(str::to_string);
            let key = cols.next().unwrap_or_default();
            (key, cols.collect())
        })
        .collect()
}

fn number(key: &str, col: Option<&String>) -> f64 {
    col.and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("{key}: missing or bad number"))
}

/// A lexicon key made of signs rather than a word (`:-)`, `</3`); `1432` or `can't` are words.
fn is_emoticon(key: &str) -> bool {
    key.chars()
        .any(|c| !(c.is_alphanumeric() || c == '\'' || c == '-'))
}

/// Murmur3's 64-bit finaliser: spreads the seed numbers over all bits.
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hash-and-displace (CHD): keys fall into buckets; each bucket, largest first, gets the smallest
/// displacement that sends all its keys to free slots. Returns the seed, the displacements and,
/// per slot, the index of its key.
fn perfect_hash(keys: &[&String]) -> (u64, Vec<u32>, Vec<Option<usize>>) {
    let n = keys.len() + keys.len() / 10 + 1;
    let nb = keys.len().div_ceil(4).max(1);
    'seed: for seed in 0u64..1000 {
        let seed = fmix(seed.wrapping_add(0x5E17_1A9A));
        let hashes: Vec<u64> = keys
            .iter()
            .map(|k| phash::hash(k.as_bytes(), seed))
            .collect();
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); nb];
        for (i, h) in hashes.iter().enumerate() {
            buckets[phash::bucket(*h, nb)].push(i);
        }
        let mut order: Vec<usize> = (0..nb).collect();
        order.sort_by_key(|&b| (std::cmp::Reverse(buckets[b].len()), b));
        let mut slots: Vec<Option<usize>> = vec![None; n];
        let mut disp = vec![0u32; nb];
        for b in order {
            if buckets[b].is_empty() {
                continue;
            }
            let mut found = false;
            'd: for d in 0u32..200_000 {
                let mut taken: Vec<usize> = Vec::with_capacity(buckets[b].len());
                for &k in &buckets[b] {
                    let s = phash::slot(hashes[k], d, n);
                    if slots[s].is_some() || taken.contains(&s) {
                        continue 'd;
                    }
                    taken.push(s);
                }
                for (&k, s) in buckets[b].iter().zip(taken) {
                    slots[s] = Some(k);
                }
                disp[b] = d;
                found = true;
                break;
            }
            if !found {
                continue 'seed;
            }
        }
        return (seed, disp, slots);
    }
    panic!("no perfect hash found");
}
