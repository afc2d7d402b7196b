//! Look-ups in the tables `build.rs` generates from `core/data/`: perfect hashes, so a look-up is
//! one hash, one displacement read and one key comparison, with nothing built at run time.

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

/// One word of the lexicon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    /// Lower-case key.
    pub key: &'static str,
    /// Valence on [-4, 4] (0 for function words).
    pub valence: f64,
    /// For [`BOOST`] words: what they add to the magnitude of the word they modify.
    pub boost: f64,
    /// Class bits.
    pub flags: u8,
}

impl Entry {
    const EMPTY: Entry = Entry {
        key: "",
        valence: 0.0,
        boost: 0.0,
        flags: 0,
    };

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

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
    let d = WORD_DISP[phash::bucket(h, WORD_DISP.len())];
    let e = &WORDS[phash::slot(h, d, WORDS.len())];
    (e.key.as_bytes() == key).then_some(e)
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

/// The idioms, as `(phrase, valence)`, phrases lower case with single spaces.
pub(crate) fn idioms() -> &'static [(&'static str, f64)] {
    &IDIOMS
}

#[cfg(test)]
mod tests {
    use super::*;

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
