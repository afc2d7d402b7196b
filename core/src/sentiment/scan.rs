//! Splits a text into the tokens the scorer weighs: words (with their lexicon entries), ASCII
//! emoticons and emoji sequences. URLs, @mentions and the `RT` marker are dropped; hashtags are
//! split into words at case and digit changes. No allocation beyond the caller's token vector.

use super::lexicon::{self, Entry, MAX_KEY};

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Emoticon,
    Emoji,
}

/// One token: a span of the scored text plus what the tables say about it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub start: u32,
    pub end: u32,
    pub kind: Kind,
    /// The lexicon entry of a word or emoticon.
    pub entry: Option<&'static Entry>,
    /// Valence from the tables (emoji included), before any rule.
    pub base: f64,
    /// The entry's class bits (0 when none).
    pub flags: u8,
    /// The entry's identity for the rules (`lexicon::ID_*`, 0 when none).
    pub id: u8,
    /// Clause number: negation and boosters do not cross clause punctuation.
    pub clause: u32,
    /// A word in capitals (`GREAT`).
    pub caps: bool,
    /// A word found only after shortening a run of repeated letters (`goooood`).
    pub elongated: bool,
    /// A word that ends in `n't` without being listed.
    pub nt: bool,
    /// A word in title case (`Good`): in a run mid-sentence, likely part of a name.
    pub title: bool,
    /// The first word of its sentence.
    pub sentence_start: bool,
    /// In a sentence that ends with `?`.
    pub question: bool,
    /// Part of a hashtag.
    pub hashtag: bool,
    /// A lone word in quotes (`a 'genius'`): scare quotes, the writer keeps a distance.
    pub quoted: bool,
    /// In a sentence written in headline case.
    pub headline: bool,
}

/// Counts gathered while scanning.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Marks {
    pub exclamations: u32,
    pub questions: u32,
    /// Some word is in capitals, and some is not: capitals then stand out as emphasis.
    pub any_caps: bool,
    pub any_plain: bool,
}

/// A sentence is in headline case when it has this many words and at least 70% start upper case.
const HEADLINE_MIN_WORDS: u32 = 4;

/// Scans `text`, appending tokens to `out`.
pub(crate) fn scan(text: &str, out: &mut Vec<Tok>) -> Marks {
    let mut s = Scanner {
        text,
        out,
        clause: 0,
        marks: Marks::default(),
        sentence_from: 0,
        sentence_words: (0, 0),
        new_sentence: true,
    };
    s.run();
    s.close_sentence();
    s.marks
}

struct Scanner<'a, 'v> {
    text: &'a str,
    out: &'v mut Vec<Tok>,
    clause: u32,
    marks: Marks,
    /// Index in `out` of the current sentence's first token.
    sentence_from: usize,
    /// Words and title-case words of the current sentence (hashtags left out).
    sentence_words: (u32, u32),
    new_sentence: bool,
}

impl Scanner<'_, '_> {
    fn run(&mut self) {
        let b = self.text.as_bytes();
        // Spans are u32; a longer text is scored on its first 4 GiB (cut at a char boundary).
        let mut len = b.len().min(u32::MAX as usize);
        while !self.text.is_char_boundary(len) {
            len -= 1;
        }
        let mut i = 0;
        while i < len {
            let c = b[i];
            if c < 0x80 {
                if CLASS[usize::from(c)] & WS != 0 {
                    i += 1;
                    continue;
                }
            } else {
                let (ch, w) = char_at(self.text, i);
                if ch.is_whitespace() {
                    i += w;
                    continue;
                }
            }
            let start = i;
            let mut ascii = true;
            while i < len {
                i = skip_plain8(b, i, len);
                if i >= len {
                    break;
                }
                let c = b[i];
                if c < 0x80 {
                    if CLASS[usize::from(c)] & WS != 0 {
                        break;
                    }
                    i += 1;
                } else {
                    let (ch, w) = char_at(self.text, i);
                    if ch.is_whitespace() {
                        break;
                    }
                    ascii = false;
                    i += w;
                }
            }
            if ascii {
                self.plain(start, i);
            } else {
                self.raw(start, i);
            }
        }
    }

    /// A whitespace-delimited chunk with non-ASCII: cut out emoji, then handle the plain pieces.
    fn raw(&mut self, start: usize, end: usize) {
        let mut piece = start;
        let mut i = start;
        while i < end {
            let (c, w) = char_at(self.text, i);
            if is_emoji_start(c) {
                if piece < i {
                    self.plain(piece, i);
                }
                i = self.emoji(i, end);
                piece = i;
            } else {
                i += w;
            }
        }
        if piece < end {
            self.plain(piece, end);
        }
    }

    /// A chunk without emoji: URL, mention, RT, emoticon, or words.
    #[inline(always)]
    fn plain(&mut self, start: usize, end: usize) {
        let b = &self.text.as_bytes()[start..end];
        match b[0] {
            b'h' | b'H' if starts_with_ci(b, b"http://") || starts_with_ci(b, b"https://") => {
                return
            }
            b'w' | b'W' if starts_with_ci(b, b"www.") => return,
            b'@' if b.len() > 1 => return,
            0xEF if b.len() > 3 && b.starts_with("＠".as_bytes()) => return,
            b'R' | b'r' if b == b"RT" || b == b"rt" => return,
            _ => {}
        }
        if b.len() >= 2 {
            // The whole chunk an emoticon? (`:-)`, `</3`, `XD`)
            if let Some(e) = emoticon(b) {
                self.push_sign(start, end, Kind::Emoticon, Some(e), e.valence);
                return;
            }
            // An emoticon glued to the end of a word (`today:(`, `love<3`).
            for k in [4usize, 3, 2] {
                if b.len() > k && matches!(b[b.len() - k], b':' | b';' | b'=' | b'<') {
                    if let Some(e) = emoticon(&b[b.len() - k..]) {
                        self.words(start, end - k);
                        self.push_sign(end - k, end, Kind::Emoticon, Some(e), e.valence);
                        return;
                    }
                }
            }
        }
        self.words(start, end);
    }

    /// Words of a plain chunk, split at punctuation; clause punctuation closes the clause, `.`,
    /// `!`, `?` the sentence. Counts `!` and `?`.
    #[inline(always)]
    fn words(&mut self, start: usize, end: usize) {
        let b = self.text.as_bytes();
        let hashtag = b[start] == b'#';
        let mut i = start;
        while i < end {
            let c = b[i];
            if c < 0x80 {
                let cl = CLASS[usize::from(c)];
                if cl & ALNUM != 0 {
                    i = self.word(i, end, hashtag);
                    continue;
                }
                if cl & CLAUSE != 0 {
                    self.clause += 1;
                }
                if cl & SENTENCE != 0 {
                    match c {
                        b'!' => self.marks.exclamations += 1,
                        b'?' => self.marks.questions += 1,
                        _ => {}
                    }
                    self.end_sentence(c == b'?');
                }
                i += 1;
            } else {
                let (ch, w) = char_at(self.text, i);
                if is_word_char(ch) {
                    i = self.word(i, end, hashtag);
                    continue;
                }
                if is_clause_mark(ch) {
                    self.clause += 1;
                }
                if ch == '…' {
                    self.end_sentence(false);
                }
                i += w;
            }
        }
    }

    fn end_sentence(&mut self, question: bool) {
        if question {
            for t in &mut self.out[self.sentence_from..] {
                t.question = true;
            }
        }
        self.close_sentence();
        self.new_sentence = true;
    }

    /// Marks a sentence in headline case (`Chris Jericho Talks Ryback Winning the Title`) and
    /// starts counting the next one.
    fn close_sentence(&mut self) {
        let (words, titles) = self.sentence_words;
        if words >= HEADLINE_MIN_WORDS && titles * 10 >= words * 7 {
            for t in &mut self.out[self.sentence_from..] {
                t.headline = true;
            }
        }
        self.sentence_words = (0, 0);
        self.sentence_from = self.out.len();
    }

    /// Reads the word starting at `start` (a word character) in one pass, folding its key as it
    /// goes, looks it up and pushes it; returns where it ends. In a hashtag, a word also ends
    /// where case or digits change (`MerryChristmas2024`: `Merry`, `Christmas`, `2024`).
    #[inline(always)]
    fn word(&mut self, start: usize, end: usize, hashtag: bool) -> usize {
        let b = &self.text.as_bytes()[..end];
        let mut key = [0u8; MAX_KEY];
        let mut n = 0usize;
        let mut fits = true;
        // Class bits seen: all of them, and those after the first character (`rest` masks the
        // first one out without a branch).
        let (mut seen, mut seen_rest, mut rest, mut other_script) = (0u8, 0u8, 0u8, false);
        let mut j = start;
        while j < b.len() {
            let c = b[j];
            if j > start && c.is_ascii_lowercase() && (!hashtag || b[j - 1].is_ascii_alphabetic()) {
                // The common case, a run of lower-case letters after a first character: no
                // break (in a hashtag, not after a letter), no class to look up, the key byte as
                // written.
                while let Some(&c) = b.get(j).filter(|c| c.is_ascii_lowercase()) {
                    if n < MAX_KEY {
                        key[n] = c;
                        n += 1;
                    } else {
                        fits = false;
                    }
                    j += 1;
                }
                seen |= ALNUM | LOWER;
                seen_rest |= ALNUM | LOWER;
                continue;
            }
            if c < 0x80 {
                let cl = CLASS[usize::from(c & 0x7F)];
                if cl & ALNUM == 0 {
                    if !(cl & JOIN != 0
                        && j > start
                        && j + 1 < end
                        && starts_word(self.text, j + 1))
                    {
                        break;
                    }
                } else if hashtag && j > start && camel_break(b, j, end) {
                    break;
                }
                seen |= cl;
                seen_rest |= cl & rest;
                rest = 0xFF;
                if n < MAX_KEY {
                    key[n] = LOWERED[usize::from(c & 0x7F)];
                    n += 1;
                } else {
                    fits = false;
                }
                j += 1;
                continue;
            }
            rest = 0xFF;
            let (ch, w) = char_at(self.text, j);
            let apostrophe =
                matches!(ch, '’' | '‘') && j + w < end && starts_word(self.text, j + w);
            if !apostrophe && !is_word_char(ch) {
                break;
            }
            // Letters of other scripts: a word with them is never in capitals.
            other_script |= !apostrophe;
            let out: &[u8] = if apostrophe { b"'" } else { &b[j..j + w] };
            if n + out.len() <= MAX_KEY {
                for &x in out {
                    key[n] = x;
                    n += 1;
                }
            } else {
                fits = false;
            }
            j += w;
        }
        let lower = seen & LOWER != 0 || other_script;
        // Two letters at least: `I` and `A` are no emphasis.
        let letters2 = (!lower || b[start].is_ascii_uppercase())
            && key[..n]
                .iter()
                .filter(|c| c.is_ascii_alphabetic())
                .nth(1)
                .is_some();
        let caps = letters2 && !lower;
        let title = letters2 && b[start].is_ascii_uppercase() && seen_rest & UPPER == 0;
        let sentence_start = std::mem::replace(&mut self.new_sentence, false);
        let mut elongated = false;
        let mut entry = None;
        if fits {
            entry = lexicon::word_padded(&key, n);
            let key = &key[..n];
            if entry.is_none() {
                (entry, elongated) = fallback(key);
            }
        }
        let nt = entry.is_none() && fits && ends_with(&key[..n], b"n't");
        let is_quote = |c: Option<&u8>| matches!(c, Some(b'"' | b'\''));
        let quoted =
            start > 0 && is_quote(b.get(start - 1)) && is_quote(self.text.as_bytes().get(j));
        self.out.push(Tok {
            start: start as u32,
            end: j as u32,
            kind: Kind::Word,
            entry,
            base: entry.map_or(0.0, |e| e.valence),
            flags: entry.map_or(0, |e| e.flags),
            id: entry.map_or(0, |e| e.id),
            clause: self.clause,
            caps,
            elongated,
            nt,
            title,
            sentence_start,
            question: false,
            hashtag,
            quoted,
            headline: false,
        });
        self.marks.any_caps |= caps;
        self.marks.any_plain |= !caps;
        if !hashtag {
            self.sentence_words.0 += 1;
            self.sentence_words.1 += u32::from(title);
        }
        j
    }

    /// An emoji sequence from `start`: base, modifiers, variation selectors, ZWJ-joined parts,
    /// keycaps, tags, or a flag's pair of regional indicators. Returns where it ends.
    fn emoji(&mut self, start: usize, end: usize) -> usize {
        let (first, w) = char_at(self.text, start);
        let mut i = start + w;
        if is_regional(first) {
            if i < end && is_regional(char_at(self.text, i).0) {
                i += char_at(self.text, i).1;
            }
        } else {
            while i < end {
                let (c, w) = char_at(self.text, i);
                if is_emoji_modifier(c) {
                    i += w;
                } else if c == '\u{200D}'
                    && i + w < end
                    && is_emoji_start(char_at(self.text, i + w).0)
                {
                    i += w + char_at(self.text, i + w).1;
                } else {
                    break;
                }
            }
        }
        let base = emoji_valence(&self.text[start..i]);
        self.push_sign(start, i, Kind::Emoji, None, base);
        i
    }

    fn push_sign(
        &mut self,
        start: usize,
        end: usize,
        kind: Kind,
        entry: Option<&'static Entry>,
        base: f64,
    ) {
        self.out.push(Tok {
            start: start as u32,
            end: end as u32,
            kind,
            entry,
            base,
            flags: entry.map_or(0, |e| e.flags),
            id: 0,
            clause: self.clause,
            caps: false,
            elongated: false,
            nt: false,
            title: false,
            sentence_start: false,
            question: false,
            hashtag: false,
            quoted: false,
            headline: false,
        });
        // A sign closes the clause before it, like punctuation.
        self.clause += 1;
    }
}

/// Skips from `i` over printable ASCII (`!`..`~`) eight bytes at a time; returns the first byte
/// that may end a chunk (space, control or non-ASCII) or the last window's start. The bytes after
/// it are left to the byte loop, so this only ever skips bytes that loop would skip too.
#[inline]
fn skip_plain8(b: &[u8], mut i: usize, len: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= len {
        let Some(w) = b.get(i..i + 8) else { break };
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // Bytes below 0x21 (exact for the lowest one; a borrow only marks bytes above it), and
        // bytes with the high bit set.
        let special = (w.wrapping_sub(ONES * 0x21) & !w & HIGH) | (w & HIGH);
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Byte classes for the ASCII fast path.
const WS: u8 = 1;
const ALNUM: u8 = 2;
const UPPER: u8 = 4;
const LOWER: u8 = 8;
const CLAUSE: u8 = 16;
const SENTENCE: u8 = 32;
const JOIN: u8 = 64;

static CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => WS,
            b'A'..=b'Z' => ALNUM | UPPER,
            b'a'..=b'z' => ALNUM | LOWER,
            b'0'..=b'9' => ALNUM,
            b'.' | b'!' | b'?' => CLAUSE | SENTENCE,
            b',' | b';' | b':' | b'(' | b')' | b'"' => CLAUSE,
            b'\'' | b'-' => JOIN,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// ASCII lower case, indexable by byte.
static LOWERED: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = (c as u8).to_ascii_lowercase();
        c += 1;
    }
    t
};

/// Whether a hashtag word breaks before byte `j`: lower to upper, the last capital of a run
/// before lower case (`XMASParty`), or a change between letters and digits.
fn camel_break(b: &[u8], j: usize, end: usize) -> bool {
    let (p, c) = (b[j - 1], b[j]);
    if !p.is_ascii_alphanumeric() {
        return false;
    }
    let next_lower = j + 1 < end && b[j + 1].is_ascii_lowercase();
    (p.is_ascii_lowercase() && c.is_ascii_uppercase())
        || (p.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower)
        || (p.is_ascii_digit() != c.is_ascii_digit())
}

/// Look-ups for a word not in the lexicon as written: stretched (`goooood`, then marked
/// elongated), possessive (`god's`), comparative or superlative (`coolest`). Kept out of line:
/// most words take none of these paths.
#[inline(never)]
fn fallback(key: &[u8]) -> (Option<&'static Entry>, bool) {
    if has_run3(key) {
        // Runs of 3+ letters shortened to 2, then to 1.
        for keep in [2usize, 1] {
            let mut short = [0u8; MAX_KEY];
            let m = squeeze(key, keep, &mut short);
            if let Some(e) = lexicon::word(&short[..m]) {
                return (Some(e), true);
            }
        }
    }
    let n = key.len();
    if n > 4 {
        let e = if ends_with(key, b"'s") {
            lexicon::word(&key[..n - 2])
        } else {
            lemma(key)
        };
        return (e, false);
    }
    (None, false)
}

/// Whether some byte occurs three times in a row (`sooo`).
#[inline]
fn has_run3(key: &[u8]) -> bool {
    let mut k = 2;
    while k < key.len() {
        if key[k] == key[k - 1] && key[k] == key[k - 2] {
            return true;
        }
        k += 1;
    }
    false
}

/// `a.ends_with(b)` for short suffixes, without a call to `memcmp`.
#[inline]
fn ends_with(a: &[u8], b: &[u8]) -> bool {
    a.len() >= b.len() && a.iter().rev().zip(b.iter().rev()).all(|(x, y)| x == y)
}

/// Whether a word character starts at byte `i`.
fn starts_word(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        Some(&c) if c < 0x80 => CLASS[usize::from(c)] & ALNUM != 0,
        Some(_) => is_word_char(char_at(text, i).0),
        None => false,
    }
}

/// The char at byte `i` (a char boundary) and its width; a replacement char past the end.
#[inline]
fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes();
    match b.get(i) {
        Some(&c) if c < 0x80 => (c as char, 1),
        Some(_) => text
            .get(i..)
            .and_then(|s| s.chars().next())
            .map_or(('\u{FFFD}', 1), |c| (c, c.len_utf8())),
        None => ('\u{FFFD}', 1),
    }
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// An emoticon entry for a whole chunk, matched case-insensitively.
fn emoticon(b: &[u8]) -> Option<&'static Entry> {
    if b.len() < 2 || b.len() > 8 || !lexicon::may_start_emoticon(b[0], b[1]) || !b.is_ascii() {
        return None;
    }
    let mut key = [0u8; 8];
    for (k, c) in key.iter_mut().zip(b) {
        *k = c.to_ascii_lowercase();
    }
    lexicon::word(&key[..b.len()]).filter(|e| e.has(lexicon::EMOTICON))
}

/// The entry of the base of a comparative or superlative the lexicon lacks (`coolest`, `funnier`).
/// Only rated, non-function entries count, and `like` never (`likely` is not `like`).
fn lemma(key: &[u8]) -> Option<&'static Entry> {
    // (suffix, replacement), by the suffix's last letter: only those can match.
    let rules: &[(&[u8], &[u8])] = match key.last() {
        Some(b't') => &[(b"iest", b"y"), (b"est", b""), (b"est", b"e")],
        Some(b'r') => &[(b"ier", b"y")],
        Some(b'y') => &[(b"ily", b"y")],
        Some(b'd') => &[(b"ied", b"y")],
        Some(b's') => &[(b"ies", b"y")],
        _ => return None,
    };
    for &(suffix, repl) in rules {
        if key.len() < suffix.len() + 3 || !ends_with(key, suffix) {
            continue;
        }
        let stem = &key[..key.len() - suffix.len()];
        let mut buf = [0u8; MAX_KEY];
        let mut candidates = [0usize; 2];
        buf[..stem.len()].copy_from_slice(stem);
        buf[stem.len()..stem.len() + repl.len()].copy_from_slice(repl);
        candidates[0] = stem.len() + repl.len();
        // `hottest`, `stopping`: undouble the last consonant.
        let l = stem.len();
        candidates[1] = if repl.is_empty()
            && l >= 4
            && stem[l - 1] == stem[l - 2]
            && !b"aeiouls".contains(&stem[l - 1])
        {
            l - 1
        } else {
            0
        };
        for &m in candidates.iter().filter(|&&m| m >= 3) {
            let found = lexicon::word(&buf[..m]).filter(|e| {
                e.has(lexicon::RATED)
                    && e.valence != 0.0
                    && e.flags & (lexicon::EMOTICON | lexicon::BOOST | lexicon::NEG) == 0
                    && e.key != "like"
            });
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

/// Copies `key` with every run of 3+ equal letters cut to `keep`; returns the new length.
fn squeeze(key: &[u8], keep: usize, out: &mut [u8; MAX_KEY]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < key.len() {
        let c = key[i];
        let mut run = 1;
        while i + run < key.len() && key[i + run] == c {
            run += 1;
        }
        let take = if run >= 3 && c.is_ascii_alphabetic() {
            keep
        } else {
            run
        };
        for _ in 0..take {
            out[n] = c;
            n += 1;
        }
        i += run;
    }
    n
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
}

fn is_clause_mark(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '…' | '—' | '–' | '“' | '”'
    )
}

/// Characters that start an emoji: the pictographic blocks, plus regional indicators.
pub(crate) fn is_emoji_start(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x2300..=0x23FF
        | 0x2B00..=0x2BFF
        | 0x2190..=0x21FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299)
        && !is_emoji_modifier(c)
}

fn is_regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Variation selectors, skin tones, the keycap mark and tag characters.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F)
}

/// The valence of an emoji sequence: the whole sequence (without selectors and skin tones) if
/// listed, else the mean of its rated ZWJ parts, else 0.
fn emoji_valence(seq: &str) -> f64 {
    let mut key = [0u8; MAX_KEY];
    let mut n = 0;
    let mut fits = true;
    for c in seq.chars().filter(|&c| !is_emoji_modifier(c)) {
        let w = c.len_utf8();
        if n + w > MAX_KEY {
            fits = false;
            break;
        }
        c.encode_utf8(&mut key[n..n + w]);
        n += w;
    }
    if fits {
        if let Some(v) = lexicon::emoji(&key[..n]) {
            return v;
        }
    }
    let (mut sum, mut rated) = (0.0, 0u32);
    for part in seq.split('\u{200D}') {
        let mut key = [0u8; MAX_KEY];
        let mut n = 0;
        for c in part.chars().filter(|&c| !is_emoji_modifier(c)) {
            let w = c.len_utf8();
            if n + w > MAX_KEY {
                n = 0;
                break;
            }
            c.encode_utf8(&mut key[n..n + w]);
            n += w;
        }
        if let Some(v) = lexicon::emoji(&key[..n]).filter(|v| *v != 0.0) {
            sum += v;
            rated += 1;
        }
    }
    if rated == 0 {
        0.0
    } else {
        sum / f64::from(rated)
    }
}
