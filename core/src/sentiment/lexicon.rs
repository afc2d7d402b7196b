//! Look-ups in the tables `build.rs` generates from `core/data/`: perfect hashes, so a look-up is
//! one hash, one displacement read and one key comparison, with nothing built at run time.

use std::hint::select_unpredictable;

use super::phash;

/// Negator (`not`, `never`, `isn't`, ...).
pub(crate) const NEG: u8 = 1;
/// Intensifier or dampener; see [`Entry::boost`].
pub(crate) const BOOST: u8 = 2;
/// Contrast (`but`, `however`): what follows weighs more.
pub(crate) const CONTRAST: u8 = 4;
/// Concession (`although`): the clause it opens weighs less.
pub(crate) const CONCEDE: u8 = 8;
/// A sign emoticon (`:-)`, `</3`).
pub(crate) const EMOTICON: u8 = 16;
/// First word of at least one idiom in [`idioms`].
pub(crate) const IDIOM_START: u8 = 32;
/// Has a rated valence (possibly a rated 0).
pub(crate) const RATED: u8 = 64;
/// A word after which `like` is the verb (`I like`, `would like`).
pub(crate) const VERB_CUE: u8 = 128;

/// Ids of the words the rules test by identity (mirrors `SPECIAL` in `build.rs`).
pub(crate) const ID_KIND: u8 = 1;
pub(crate) const ID_SORT: u8 = 2;
pub(crate) const ID_OF: u8 = 3;
pub(crate) const ID_NO: u8 = 4;
pub(crate) const ID_LIKE: u8 = 5;
pub(crate) const ID_WELL: u8 = 6;
pub(crate) const ID_NEVER: u8 = 7;
pub(crate) const ID_SO: u8 = 8;
pub(crate) const ID_THIS: u8 = 9;
pub(crate) const ID_DOUBT: u8 = 10;
pub(crate) const ID_LEAST: u8 = 11;
pub(crate) const ID_AT: u8 = 12;
pub(crate) const ID_AS: u8 = 13;

/// One word of the lexicon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    /// Lower-case key.
    pub key: &'static str,
    /// The key's first eight bytes, little-endian, zero-padded.
    pub tag: u64,
    /// Valence on [-4, 4] (0 for function words).
    pub valence: f64,
    /// For [`BOOST`] words: what they add to the magnitude of the word they modify.
    pub boost: f64,
    /// Class bits.
    pub flags: u8,
    /// Identity for the rules (`ID_*`), 0 for most words.
    pub id: u8,
    /// The range of [`idioms`] starting with this word: (first, count).
    pub idioms: (u16, u16),
    /// The rules weigh the word: it has a valence or starts an idiom (set by `build.rs`, so
    /// that the scanner tests one byte per word).
    pub weigh: bool,
}

/// How the idioms starting with `e`'s word go on: [`idiom_next_bit`] of each one's second word's
/// first byte, and [`IDIOM_ONE_WORD`] if one is the word alone (for a word starting none, bits
/// that mean nothing: ask only about an [`IDIOM_START`] word). Kept beside the idioms, not in
/// [`Entry`]: the word table's size is most of the WebAssembly module's.
#[inline]
pub(crate) fn idiom_next(e: &Entry) -> u32 {
    IDIOM_NEXT
        .get(usize::from(e.idioms.0))
        .copied()
        .unwrap_or(0)
}

/// [`idiom_next`] bit of a one-word idiom.
pub(crate) const IDIOM_ONE_WORD: u32 = 1 << 31;

/// [`idiom_next`] bit of a second word starting with byte `c` (as written: case and
/// non-letters are folded here): `a` to `z` one bit each, anything else bit 26.
#[inline]
pub(crate) fn idiom_next_bit(c: u8) -> u32 {
    1 << IDIOM_NEXT_SHIFT[usize::from(c)]
}

/// The bit number of [`idiom_next_bit`] for every byte, looked up: a load and a shift where
/// folding and testing the byte took half a dozen instructions (asked about two words a post).
static IDIOM_NEXT_SHIFT: [u8; 256] = {
    let mut t = [26u8; 256];
    let mut c = 0;
    while c < 256 {
        let l = (c as u8).to_ascii_lowercase();
        if l.is_ascii_lowercase() {
            t[c] = l - b'a';
        }
        c += 1;
    }
    t
};

impl Entry {
    const EMPTY: Entry = Entry {
        key: "",
        tag: 0,
        valence: 0.0,
        boost: 0.0,
        flags: 0,
        id: 0,
        idioms: (0, 0),
        weigh: false,
    };

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The entry of no word (valence 0, no class bits): read instead of branching on `None`.
pub(crate) static NO_ENTRY: Entry = Entry::EMPTY;

include!(concat!(env!("OUT_DIR"), "/sentiment_tables.rs"));

/// Longest key worth looking up; longer tokens are not in the tables.
pub(crate) const MAX_KEY: usize = 32;

/// The entry of a lower-case word.
#[inline]
pub(crate) fn word(key: &[u8]) -> Option<&'static Entry> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let h = phash::hash(key, WORD_SEED);
    let bit = phash::filter_bit(h);
    if WORD_FILTER[bit / 64] & (1 << (bit % 64)) == 0 {
        return None;
    }
    let d = WORD_DISP[phash::bucket(h, WORD_DISP.len())];
    let e = &WORDS[phash::slot(h, d, WORDS.len())];
    let k = e.key.as_bytes();
    let same = k.len() == key.len() && e.tag == tag(key) && (k.len() <= 8 || k[8..] == key[8..]);
    same.then_some(e)
}

/// [`word`] for a key held zero-padded in a buffer (the scanner's form): no copying, no tail.
#[inline(always)]
pub(crate) fn word_padded(buf: &[u8; MAX_KEY], len: usize) -> Option<&'static Entry> {
    if len == 0 || len > MAX_KEY {
        return None;
    }
    let h = phash::hash_padded(buf, len, WORD_SEED);
    let bit = phash::filter_bit(h);
    if WORD_FILTER[bit / 64] & (1 << (bit % 64)) == 0 {
        return None;
    }
    let d = WORD_DISP[phash::bucket(h, WORD_DISP.len())];
    let e = &WORDS[phash::slot(h, d, WORDS.len())];
    let first = u64::from_le_bytes(*buf.first_chunk::<8>().unwrap_or(&[0; 8]));
    let k = e.key.as_bytes();
    let same = k.len() == len && e.tag == first && (len <= 8 || k[8..] == buf[8..len]);
    same.then_some(e)
}

/// [`word`] for a key of 1 to 8 bytes held in a `u64`, little-endian, zero-padded. Without a
/// branch on whether the word is listed (about half the words are, in no order a predictor
/// learns): the filter picks the probed entry or [`NO_ENTRY`], which no key matches, so an
/// unlisted word reads that one hot entry rather than a random line of the table.
#[inline(always)]
pub(crate) fn word_short(key: u64, len: usize) -> Option<&'static Entry> {
    let h = phash::hash_short(key, WORD_SEED);
    let bit = phash::filter_bit(h);
    let hit = WORD_FILTER[bit / 64] & (1 << (bit % 64)) != 0;
    let d = WORD_DISP[phash::bucket(h, WORD_DISP.len())];
    let e = select_unpredictable(hit, &WORDS[phash::slot(h, d, WORDS.len())], &NO_ENTRY);
    select_unpredictable((e.tag == key) & (e.key.len() == len), Some(e), None)
}

/// [`word`] for a key of 8 to 16 bytes held in two `u64`s, little-endian, zero-padded.
#[inline(always)]
pub(crate) fn word_two(lo: u64, hi: u64, len: usize) -> Option<&'static Entry> {
    let h = if len <= 8 {
        phash::hash_short(lo, WORD_SEED)
    } else {
        phash::hash_two(lo, hi, WORD_SEED)
    };
    let bit = phash::filter_bit(h);
    if WORD_FILTER[bit / 64] & (1 << (bit % 64)) == 0 {
        return None;
    }
    let d = WORD_DISP[phash::bucket(h, WORD_DISP.len())];
    let e = &WORDS[phash::slot(h, d, WORDS.len())];
    let k = e.key.as_bytes();
    // The entry's bytes 8.. as a `u64`: the top `len - 8` of its last eight.
    let tail = match k.last_chunk::<8>() {
        Some(last) if len > 8 => u64::from_le_bytes(*last) >> (8 * (16 - len.min(16))),
        _ => 0,
    };
    (e.tag == lo && k.len() == len && tail == hi).then_some(e)
}

/// The valence of an emoji written without variation selectors or skin-tone modifiers.
#[inline]
pub(crate) fn emoji(key: &[u8]) -> Option<f64> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let h = phash::hash(key, EMOJI_SEED);
    let d = EMOJI_DISP[phash::bucket(h, EMOJI_DISP.len())];
    let (k, v) = EMOJI[phash::slot(h, d, EMOJI.len())];
    (k.as_bytes() == key).then_some(v)
}

/// The first eight bytes of a key, little-endian, zero-padded.
#[inline]
fn tag(b: &[u8]) -> u64 {
    let mut t = [0u8; 8];
    let n = b.len().min(8);
    t[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(t)
}

/// The idioms starting with `e`'s word, longest first, as `(words, valence)`.
pub(crate) fn idioms(e: &Entry) -> &'static [(&'static [&'static str], f64)] {
    let (from, n) = (usize::from(e.idioms.0), usize::from(e.idioms.1));
    IDIOMS.get(from..from + n).unwrap_or_default()
}

/// Whether some emoticon starts with bytes `a`, `b` (either case).
#[inline]
pub(crate) const fn may_start_emoticon(a: u8, b: u8) -> bool {
    let i = (a as usize) << 8 | b as usize;
    EMOTICON_PAIRS[i / 64] & (1 << (i % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weigh_is_valence_or_idiom_start() {
        for e in WORDS.iter().chain([&NO_ENTRY]) {
            assert_eq!(e.weigh, e.valence != 0.0 || e.has(IDIOM_START), "{}", e.key);
        }
    }

    #[test]
    fn every_key_is_found() {
        for e in WORDS.iter().filter(|e| !e.key.is_empty()) {
            assert_eq!(word(e.key.as_bytes()), Some(e), "{}", e.key);
        }
        for (k, v) in EMOJI.iter().filter(|(k, _)| !k.is_empty()) {
            assert_eq!(emoji(k.as_bytes()), Some(*v), "{k}");
        }
    }

    #[test]
    fn padded_lookup_agrees() {
        for e in WORDS
            .iter()
            .filter(|e| !e.key.is_empty() && e.key.len() <= MAX_KEY)
        {
            let mut buf = [0u8; MAX_KEY];
            buf[..e.key.len()].copy_from_slice(e.key.as_bytes());
            assert_eq!(word_padded(&buf, e.key.len()), Some(e), "{}", e.key);
        }
        let mut buf = [0u8; MAX_KEY];
        buf[..4].copy_from_slice(b"qzxv");
        assert_eq!(word_padded(&buf, 4), None);
        assert_eq!(word_short(u64::from_le_bytes(*b"qzxv\0\0\0\0"), 4), None);
        for e in WORDS.iter().filter(|e| (9..=16).contains(&e.key.len())) {
            let hi = tag(&e.key.as_bytes()[8..]);
            assert_eq!(word_two(e.tag, hi, e.key.len()), Some(e), "{}", e.key);
            assert_ne!(word_two(e.tag, hi ^ 1, e.key.len()), Some(e), "{}", e.key);
        }
        for e in WORDS.iter().filter(|e| (1..=8).contains(&e.key.len())) {
            assert_eq!(word_short(e.tag, e.key.len()), Some(e), "{}", e.key);
            assert_eq!(word_two(e.tag, 0, e.key.len()), Some(e), "{}", e.key);
            // The same bytes with another length are another key.
            if e.key.len() < 8 {
                assert_ne!(word_short(e.tag, e.key.len() + 1), Some(e), "{}", e.key);
            }
        }
    }

    #[test]
    fn padded_hash_agrees() {
        for len in 0..=MAX_KEY {
            let mut buf = [0u8; MAX_KEY];
            for (i, b) in buf.iter_mut().take(len).enumerate() {
                *b = b'a' + (i * 7 % 26) as u8;
            }
            assert_eq!(
                phash::hash_padded(&buf, len, WORD_SEED),
                phash::hash(&buf[..len], WORD_SEED),
                "{len}"
            );
        }
    }

    #[test]
    fn idiom_next_covers_every_idiom() {
        for e in WORDS.iter().filter(|e| e.has(IDIOM_START)) {
            assert!(!idioms(e).is_empty(), "{}", e.key);
            for (words, _) in idioms(e) {
                let bit = match words.get(1) {
                    None => IDIOM_ONE_WORD,
                    Some(w) => idiom_next_bit(w.as_bytes()[0]),
                };
                assert!(idiom_next(e) & bit != 0, "{words:?}");
            }
        }
        assert_eq!(idiom_next_bit(b'A'), idiom_next_bit(b'a'));
        assert_eq!(idiom_next_bit(0xE2), idiom_next_bit(b'\''));
    }

    #[test]
    fn alphanumeric_emoticons_are_short() {
        // The scanner takes a piece of one word of three or more letters and digits as words
        // without asking whether it is an emoticon: none may be.
        for e in WORDS.iter().filter(|e| e.has(EMOTICON)) {
            let alnum = e.key.bytes().all(|c| c.is_ascii_alphanumeric());
            assert!(!alnum || e.key.len() <= 2, "{}", e.key);
        }
    }

    #[test]
    fn classes() {
        assert!(word(b"not").is_some_and(|e| e.has(NEG)));
        assert!(word(b"very").is_some_and(|e| e.has(BOOST) && e.boost > 0.0));
        assert!(word(b"but").is_some_and(|e| e.has(CONTRAST)));
        assert!(word(b":)").is_some_and(|e| e.has(EMOTICON) && e.valence > 0.0));
        assert!(word(b"good").is_some_and(|e| e.valence > 0.0 && !e.has(EMOTICON)));
        assert_eq!(word(b"zzzqqq"), None);
        assert_eq!(word(b""), None);
    }
}
