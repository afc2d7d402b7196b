//! Splits a text into the tokens the scorer weighs: words (with their lexicon entries), ASCII
//! emoticons and emoji sequences. URLs, @mentions and the `RT` marker are dropped; hashtags are
//! split into words at case and digit changes. No allocation beyond the caller's token vector.

use super::lexicon::{self, Entry, MAX_KEY};
use crate::bytes::{below, HIGH, ONES};
use crate::room;

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
    /// The lexicon entry of a word or emoticon ([`lexicon::NO_ENTRY`] when none: its class bits
    /// and identity are 0). The rules read class bits and identity through it, so a token push
    /// stores neither.
    pub entry: &'static Entry,
    /// Valence from the tables (emoji included), before any rule.
    pub base: f64,
    /// Clause number: negation and boosters do not cross clause punctuation.
    pub clause: u32,
    pub kind: Kind,
    // The flags below in this order (Rust lays out fields of one alignment as declared): those
    // that the common word push sets to false, then those it computes, so that the constant
    // ones are written together in fewer stores.
    /// A word in capitals (`GREAT`).
    pub caps: bool,
    /// A word that ends in `n't` without being listed.
    pub nt: bool,
    /// Part of a hashtag.
    pub hashtag: bool,
    /// In a sentence that ends with `?`.
    pub question: bool,
    /// In a sentence written in headline case.
    pub headline: bool,
    /// A word found only after shortening a run of repeated letters (`goooood`).
    pub elongated: bool,
    /// A word in title case (`Good`): in a run mid-sentence, likely part of a name.
    pub title: bool,
    /// The first word of its sentence.
    pub sentence_start: bool,
}

/// A word as read: its folded key and the classes of its characters.
struct Read {
    /// Lower-case key, zero-padded.
    key: [u8; MAX_KEY],
    /// Bytes of `key` used.
    n: usize,
    /// The whole word is in `key`.
    fits: bool,
    /// Class bits of every ASCII character, and of those after the first.
    seen: u8,
    seen_rest: u8,
    /// Some letter of another script (never in capitals).
    other_script: bool,
}

/// Counts gathered while scanning.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Marks {
    pub exclamations: u32,
    pub questions: u32,
    /// The class bits of all tokens' entries, or-ed.
    pub flags: u8,
    /// Emoticons and emoji (the tokens that are not words).
    pub signs: u32,
    /// How many tokens the rules must weigh: the first `weighed` entries of `scan`'s `weigh`.
    pub weighed: usize,
}

/// A sentence is in headline case when it has this many words and at least 70% start upper case.
const HEADLINE_MIN_WORDS: u32 = 4;

/// Scans `text`, appending tokens to `out`, and writing to the start of `weigh` the indices of
/// those the rules must weigh: signs with a valence, words with a valence or starting an idiom (the
/// rest keep 0). `weigh` only ever grows: its first [`Marks::weighed`] entries are the list, the
/// rest are left from earlier texts.
pub(crate) fn scan(text: &str, out: &mut Vec<Tok>, weigh: &mut Vec<u32>) -> Marks {
    scan_in_segments(text, out, weigh, SEGMENT)
}

/// [`scan`], reading a text longer than `segment` bytes in segments of at least that many.
fn scan_in_segments(text: &str, out: &mut Vec<Tok>, weigh: &mut Vec<u32>, segment: usize) -> Marks {
    // Spans are u32; a longer text is scored on its first 4 GiB (cut at a char boundary).
    let mut len = text.len().min(u32::MAX as usize);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    let mut s = Scanner {
        text: text.get(..len).unwrap_or_default(),
        out,
        weigh,
        clause: 0,
        marks: Marks::default(),
        sentence_from: 0,
        sentence_words: (0, 0),
        new_sentence: true,
    };
    s.run(segment);
    s.close_sentence();
    s.marks
}

struct Scanner<'a, 'v> {
    text: &'a str,
    out: &'v mut Vec<Tok>,
    weigh: &'v mut Vec<u32>,
    clause: u32,
    marks: Marks,
    /// Index in `out` of the current sentence's first token.
    sentence_from: usize,
    /// Words and title-case words of the current sentence (hashtags left out).
    sentence_words: (u32, u32),
    new_sentence: bool,
}

/// [`Scanner::run`] reads a longer text in segments of at least this many bytes.
const SEGMENT: usize = 4096;

impl Scanner<'_, '_> {
    /// One pass over the text: whitespace, emoji, and the pieces between them (a piece is what
    /// lies between whitespace and emoji), each read once, its end found as it is read.
    ///
    /// No token push grows a vector (pushes go through [`room::push`]): room for a token per
    /// byte of the text (a token takes at least one byte) is made before it is read (1.5% of the
    /// instructions of a tweet in WebAssembly). A text longer than `segment` bytes is read in
    /// segments of at least that many, each ending at ASCII whitespace (or the text's end), so
    /// that no piece crosses from one into the next, room made for each in turn: a long text
    /// holds room for its longest stretch without whitespace, not for all its bytes. A text of
    /// one segment, nearly every post, skips the search for the segment's end; the second call
    /// also keeps [`Scanner::run_to`] out of line, since wasm-opt inlines a function called once
    /// whatever its `#[inline]`.
    fn run(&mut self, segment: usize) {
        let b = self.text.as_bytes();
        let len = b.len();
        if len <= segment {
            self.make_room(len + 1);
            self.run_to(0, len);
            return;
        }
        let mut i = 0;
        while i < len {
            let limit = match b.get(i.saturating_add(segment)..) {
                None => len,
                Some(rest) => rest
                    .iter()
                    .position(|&c| c < 0x80 && CLASS[usize::from(c)] & WS != 0)
                    .map_or(len, |p| i + segment + p),
            };
            self.make_room(limit - i + 1);
            i = self.run_to(i, limit);
        }
    }

    /// Room for `n` more tokens in `out` and in `weigh` (each grows by at most one per token).
    fn make_room(&mut self, n: usize) {
        self.out.reserve(n);
        self.weigh.reserve(n);
    }

    /// The pieces that start before `limit`; returns where the last one ends. Out of line: in
    /// the WebAssembly build, its loop inlined into the scorer came to 71 more instructions per
    /// tweet.
    #[inline(never)]
    fn run_to(&mut self, mut i: usize, limit: usize) -> usize {
        let b = self.text.as_bytes();
        let len = b.len();
        while i < limit {
            let c = b[i];
            if c < 0x80 {
                if CLASS[usize::from(c)] & WS != 0 {
                    i += 1;
                    continue;
                }
                let w = load8(b, i);
                if CLASS[usize::from(c)] & ALNUM != 0 {
                    // Most pieces of all: a letter or digit, up to six lower-case letters, then
                    // whitespace or the text's end. Such a piece is that word unless it is `RT`
                    // or an emoticon, which takes two bytes (`lexicon`'s test
                    // `alphanumeric_emoticons_are_short`).
                    let n = 1 + lower_run(w >> 8);
                    if n < 8 {
                        let end = (w >> (8 * n)) as u8;
                        let ws = CLASS.get(usize::from(end)).is_some_and(|&e| e & WS != 0);
                        if (ws || i + n == len) && (n != 2 || !special_pair(c, (w >> 8) as u8)) {
                            i = self.lower_word(i, w, n, false) + usize::from(ws);
                            continue;
                        }
                    }
                }
                // Most other pieces: a short word starting with a byte nothing else starts, then
                // a space (`words` skips it too) or the text's end.
                if CLASS[usize::from(c)] & ALNUM != 0 && !special_pair(c, (w >> 8) as u8) {
                    if let Some(j) = self.short_word(i, w) {
                        i = match b.get(j) {
                            None => j,
                            Some(&t) if t < 0x80 && CLASS[usize::from(t)] & WS != 0 => j + 1,
                            Some(&t) => match self.lone_mark(j, t) {
                                Some(end) => end,
                                None => self.words_from(i, j),
                            },
                        };
                    } else {
                        i = self.words(i);
                    }
                    continue;
                }
            } else {
                let (ch, w) = char_at(self.text, i);
                if ch.is_whitespace() {
                    i += w;
                    continue;
                }
                if is_emoji_start(ch) {
                    i = self.emoji(i, len);
                    continue;
                }
            }
            i = self.piece(i);
        }
        i
    }

    /// The end of a piece whose first word ends at `j` with one clause or sentence mark `t`,
    /// then whitespace or the text's end (`darkness.`, `day,`, `Why?`): the mark counted as
    /// [`Scanner::words_from`] counts it, without its loop. `None` for any other piece, and for
    /// the marks that may start an emoticon glued to the word.
    #[inline(always)]
    fn lone_mark(&mut self, j: usize, t: u8) -> Option<usize> {
        let b = self.text.as_bytes();
        let cl = CLASS.get(usize::from(t)).copied().unwrap_or(0);
        if cl & (CLAUSE | SENTENCE) == 0 || matches!(t, b':' | b';' | b'=' | b'<') {
            return None;
        }
        let end = match b.get(j + 1) {
            None => j + 1,
            Some(&c) if c < 0x80 && CLASS[usize::from(c)] & WS != 0 => j + 2,
            Some(_) => return None,
        };
        self.count_mark(t, cl);
        Some(end)
    }

    /// Whether byte `i` ends a piece: the text's end, whitespace or an emoji.
    #[inline]
    fn piece_ends_at(&self, i: usize) -> bool {
        match self.text.as_bytes().get(i) {
            None => true,
            Some(&c) if c < 0x80 => CLASS[usize::from(c)] & WS != 0,
            Some(_) => {
                let ch = char_at(self.text, i).0;
                ch.is_whitespace() || is_emoji_start(ch)
            }
        }
    }

    /// The end of the piece from `i` on, looking at most `max` bytes ahead (`None` if longer or if
    /// it holds non-ASCII): for the short pieces an emoticon may be.
    #[inline]
    fn short_ascii_piece(&self, i: usize, max: usize) -> Option<usize> {
        let b = self.text.as_bytes();
        let mut q = i;
        while q < b.len() && q - i <= max && b[q] < 0x80 && CLASS[usize::from(b[q])] & WS == 0 {
            q += 1;
        }
        (q - i <= max && self.piece_ends_at(q)).then_some(q)
    }

    /// The end of the piece from `i` on (for the pieces skipped whole: URLs, mentions).
    fn skip_piece(&self, mut i: usize) -> usize {
        let b = self.text.as_bytes();
        while i < b.len() {
            i = skip_plain8(b, i, b.len());
            if i >= b.len() || self.piece_ends_at(i) {
                break;
            }
            i += if b[i] < 0x80 {
                1
            } else {
                char_at(self.text, i).1
            };
        }
        i
    }

    /// A piece from `start`: a URL, mention or `RT` (dropped), an emoticon, or words, with maybe
    /// an emoticon glued to the end (`today:(`, `love<3`). Returns where it ends.
    #[inline(always)]
    fn piece(&mut self, start: usize) -> usize {
        let b = self.text.as_bytes();
        let len = b.len();
        let at = |p: &[u8]| starts_with_ci(&b[start..], p);
        match b[start] {
            b'h' | b'H' if at(b"http://") || at(b"https://") => return self.skip_piece(start),
            b'w' | b'W' if at(b"www.") => return self.skip_piece(start),
            // A lone `@` is no mention, but as a word it would yield nothing either.
            b'@' => return self.skip_piece(start),
            0xEF if b[start..].starts_with("＠".as_bytes()) => return self.skip_piece(start),
            b'R' | b'r'
                if matches!(b.get(start..start + 2), Some(b"RT" | b"rt"))
                    && self.piece_ends_at(start + 2) =>
            {
                return start + 2
            }
            _ => {}
        }
        // The whole piece an emoticon? (`:-)`, `</3`, `XD`)
        if start + 1 < len && lexicon::may_start_emoticon(b[start], b[start + 1]) {
            if let Some(q) = self.short_ascii_piece(start, 8) {
                if let Some(e) = emoticon(&b[start..q]) {
                    self.push_sign(start, q, Kind::Emoticon, Some(e), e.valence);
                    return q;
                }
            }
        }
        self.words(start)
    }

    /// Words of a piece, split at punctuation, up to the piece's end (returned); clause
    /// punctuation closes the clause, `.`, `!`, `?` the sentence. Counts `!` and `?`. An
    /// emoticon of 2 to 4 bytes ending the piece, after something, is pushed as a sign: met
    /// left to right, the longest such tail comes first.
    #[inline(always)]
    fn words(&mut self, start: usize) -> usize {
        self.words_from(start, start)
    }

    /// [`Scanner::words`] of the piece from `start`, its bytes before `from` already read. Out of
    /// line: `run` reaches it three ways, and three inlined copies (each with the word readers)
    /// would weigh on the WebAssembly module's size budget.
    #[inline(never)]
    fn words_from(&mut self, start: usize, from: usize) -> usize {
        let b = self.text.as_bytes();
        let len = b.len();
        let hashtag = b[start] == b'#';
        let mut i = from;
        while i < len {
            let c = b[i];
            if c < 0x80 {
                let cl = CLASS[usize::from(c)];
                if cl & ALNUM == 0 {
                    if cl & WS != 0 {
                        // The whitespace after the piece is skipped here, as `run` would.
                        return i + 1;
                    }
                    if matches!(c, b':' | b';' | b'=' | b'<') && i > start {
                        if let Some(q) = self.short_ascii_piece(i, 4).filter(|&q| q - i >= 2) {
                            if let Some(e) = emoticon(&b[i..q]) {
                                self.push_sign(i, q, Kind::Emoticon, Some(e), e.valence);
                                return q;
                            }
                        }
                    }
                    self.count_mark(c, cl);
                    i += 1;
                    continue;
                }
            } else {
                let (ch, w) = char_at(self.text, i);
                if ch.is_whitespace() || is_emoji_start(ch) {
                    break;
                }
                if !is_word_char(ch) {
                    if is_clause_mark(ch) {
                        self.clause += 1;
                    }
                    if ch == '…' {
                        self.end_sentence(false);
                    }
                    i += w;
                    continue;
                }
            }
            // Both kinds of word start end here: each call of `word` is an inlined copy of the
            // word readers and the token push (two calls made the module 5 KB larger).
            i = self.word(i, hashtag);
        }
        i
    }

    /// Counts the ASCII mark `c` of class `cl`: a clause mark starts a new clause, a sentence mark
    /// (`!`, `?`, `.`) ends the sentence and `!` and `?` are counted for emphasis.
    #[inline(always)]
    fn count_mark(&mut self, c: u8, cl: u8) {
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
    }

    /// Inlined (about two a post): the token walks, for questions and headlines, are not.
    #[inline(always)]
    fn end_sentence(&mut self, question: bool) {
        if question {
            self.mark_question();
        }
        self.close_sentence();
        self.new_sentence = true;
    }

    /// Marks the current sentence's tokens as in a question.
    #[inline(never)]
    fn mark_question(&mut self) {
        for t in &mut self.out[self.sentence_from..] {
            t.question = true;
        }
    }

    /// Marks a sentence in headline case (`Chris Jericho Talks Ryback Winning the Title`) and
    /// starts counting the next one.
    #[inline(always)]
    fn close_sentence(&mut self) {
        let (words, titles) = self.sentence_words;
        if words >= HEADLINE_MIN_WORDS && titles * 10 >= words * 7 {
            self.mark_headline();
        }
        self.sentence_words = (0, 0);
        self.sentence_from = self.out.len();
    }

    /// Marks the current sentence's tokens as in a headline-case sentence.
    #[inline(never)]
    fn mark_headline(&mut self) {
        for t in &mut self.out[self.sentence_from..] {
            t.headline = true;
        }
    }

    /// Reads the word starting at `start` (a word character) in one pass, folding its key as it
    /// goes, looks it up and pushes it; returns where it ends. In a hashtag, a word also ends
    /// where case or digits change (`MerryChristmas2024`: `Merry`, `Christmas`, `2024`).
    #[inline(always)]
    fn word(&mut self, start: usize, hashtag: bool) -> usize {
        let b = self.text.as_bytes();
        if !hashtag && b[start] < 0x80 {
            if let Some(j) = self.short_word(start, load8(b, start)) {
                return j;
            }
        }
        let mut r = Read {
            key: [0u8; MAX_KEY],
            n: 0,
            fits: true,
            seen: 0,
            seen_rest: 0,
            other_script: false,
        };
        let j = if hashtag || b[start] >= 0x80 {
            self.read_general(start, hashtag, &mut r)
        } else {
            self.read_plain(start, &mut r)
        };
        self.finish(start, j, hashtag, &r)
    }

    /// [`Scanner::word`] for most words: outside a hashtag, up to seven ASCII letters and digits
    /// ending at plain ASCII (not `'` or `-`, which may join words) or at the text's end. Reads
    /// the word as one little-endian `u64` and classifies all its bytes at once; `None` leaves
    /// any other word to the general reading, from `start` again. `w`: the eight bytes from
    /// `start` ([`load8`]).
    #[inline(always)]
    fn short_word(&mut self, start: usize, w: u64) -> Option<usize> {
        // Most words: lower-case letters after the first character, up to a byte that is no
        // letter, digit, `'` or `-` (lower_run counts the leading lower-case bytes).
        let n = 1 + lower_run(w >> 8);
        if n == 8 {
            if let Some(j) = self.lower_long_word(start, w) {
                return Some(j);
            }
        } else {
            let end = (w >> (8 * n)) as u8;
            if end < 0x80 && CLASS[usize::from(end)] & (ALNUM | JOIN) == 0 {
                return Some(self.lower_word(start, w, n, false));
            }
            // `don't`, `I'm`: an apostrophe between lower-case runs joins them.
            if end == b'\'' && n < 6 {
                let after = lower_run(w >> (8 * (n + 1)));
                let n2 = n + 1 + after;
                if after > 0 && n2 < 8 {
                    let end = (w >> (8 * n2)) as u8;
                    if end < 0x80 && CLASS[usize::from(end)] & (ALNUM | JOIN) == 0 {
                        return Some(self.lower_word(start, w, n2, true));
                    }
                }
            }
        }
        let cl = Classes::of(w);
        let alnum = cl.letter | cl.digit;
        // The first byte after the first that is no ASCII letter or digit ends the word.
        let stop = !alnum & HIGH & !0x80;
        if stop == 0 {
            // Eight letters or digits, not all lower case after the first (`McDonalds`,
            // `iPhone11`): rare, left to the general reading.
            return None;
        }
        let n = (stop.trailing_zeros() / 8) as usize;
        let end = (w >> (8 * n)) as u8;
        if end >= 0x80 || CLASS[usize::from(end)] & JOIN != 0 {
            return None;
        }
        let word = key_mask(n);
        let key = (w | (cl.upper >> 2)) & word;
        let c0 = w as u8;
        // A word starting in lower case is neither in capitals nor in title case (most words).
        let (caps, title) = if c0.is_ascii_lowercase() {
            (false, false)
        } else {
            // Class bits as [`Scanner::read_plain`] gathers them: every byte after the first is
            // a letter or a digit.
            let rest = HIGH & word & !0x80;
            let mut seen_rest = if n > 1 { ALNUM } else { 0 };
            if cl.upper & rest != 0 {
                seen_rest |= UPPER;
            }
            if cl.letter & !cl.upper & rest != 0 {
                seen_rest |= LOWER;
            }
            let seen = CLASS[usize::from(c0 & 0x7F)] | seen_rest;
            let lower = seen & LOWER != 0;
            let letters = cl.letter & word;
            // Two letters at least: `I` and `A` are no emphasis.
            let letters2 =
                (!lower || c0.is_ascii_uppercase()) && letters & letters.wrapping_sub(1) != 0;
            let caps = letters2 && !lower;
            let title = letters2 && c0.is_ascii_uppercase() && seen_rest & UPPER == 0;
            (caps, title)
        };
        let mut entry = lexicon::word_short(key, n);
        let mut elongated = false;
        // No `'` in the key (it ends at one).
        // Branches only on the fall-back test, rarely true: whether a word is listed is not
        // predictable, and is asked only past it.
        if may_fall_back_short(key, n, word, false) {
            let bytes = key.to_le_bytes();
            (entry, elongated) = fallback_unlisted(entry, bytes.get(..n).unwrap_or_default());
        }
        // No `'` in the key: never an unlisted `n't`.
        self.push_word(
            start,
            start + n,
            entry,
            caps,
            elongated,
            false,
            title,
            false,
        );
        Some(start + n)
    }

    /// [`Scanner::short_word`] for a word of `n` (1 to 7) bytes, `w` from its start: a letter
    /// or digit, then lower-case letters (with one `'` before some of them if `apostrophe`).
    /// Returns where it ends.
    #[inline(always)]
    fn lower_word(&mut self, start: usize, w: u64, n: usize, apostrophe: bool) -> usize {
        let c0 = w as u8;
        // The low `n` bytes (`n` < 8: no shift by 64).
        let word = (1u64 << (8 * (n & 7))) - 1;
        // The first byte's case bit, looked up (a letter or digit: no branch on which).
        let capital = CAPITAL[usize::from(c0 & 0x7F)];
        let key = (w | u64::from(capital)) & word;
        // As [`Scanner::finish`] classifies: lower-case letters follow, so never in capitals;
        // in title case when a capital and another letter.
        let title = (capital != 0) & (n >= 2);
        let mut entry = lexicon::word_short(key, n);
        let mut elongated = false;
        if may_fall_back_short(key, n, word, apostrophe) {
            let bytes = key.to_le_bytes();
            (entry, elongated) = fallback_unlisted(entry, bytes.get(..n).unwrap_or_default());
        }
        // Only a key with `'` can be an unlisted `n't`.
        let nt = apostrophe && entry.is_none() && n >= 3 && key >> (8 * (n - 3)) == NT_KEY;
        self.push_word(start, start + n, entry, false, elongated, nt, title, false);
        start + n
    }

    /// [`Scanner::short_word`] for 8 to 15 bytes, a letter or digit then lower-case letters
    /// (`w`: the first eight), as two `u64`s; `None` for any other word. Out of line: one word in
    /// ten.
    #[inline(never)]
    fn lower_long_word(&mut self, start: usize, w: u64) -> Option<usize> {
        let w1 = load8(self.text.as_bytes(), start + 8);
        let m = lower_run(w1);
        if m == 8 {
            return None;
        }
        let end = (w1 >> (8 * m)) as u8;
        if end >= 0x80 || CLASS[usize::from(end)] & (ALNUM | JOIN) != 0 {
            return None;
        }
        let n = 8 + m;
        let c0 = w as u8;
        let lo = w | u64::from(c0.is_ascii_uppercase()) << 5;
        let hi = w1 & ((1u64 << (8 * m)) - 1);
        let mut entry = lexicon::word_two(lo, hi, n);
        let mut elongated = false;
        // The eight bytes that end the word, as the key has them (past its first byte, a word
        // read here is lower case as written).
        let tail = load8(self.text.as_bytes(), start + n - 8);
        if entry.is_none() && may_fall_back_long(lo, tail, n) {
            let mut key = [0u8; 16];
            let (words, _) = key.as_chunks_mut::<8>();
            if let [a, b] = words {
                *a = lo.to_le_bytes();
                *b = hi.to_le_bytes();
            }
            (entry, elongated) = fallback(key.get(..n).unwrap_or_default());
        }
        // As [`Scanner::lower_word`]: never in capitals, in title case after a capital.
        let title = c0.is_ascii_uppercase();
        self.push_word(
            start,
            start + n,
            entry,
            false,
            elongated,
            false,
            title,
            false,
        );
        Some(start + n)
    }

    /// [`Scanner::word`]'s reading for the common case, a word outside hashtags starting with
    /// an ASCII character: no case or digit breaks, the first character's class known.
    #[inline(always)]
    fn read_plain(&self, start: usize, r: &mut Read) -> usize {
        let b = self.text.as_bytes();
        let c0 = b[start];
        let mut seen_rest = 0u8;
        r.key[0] = LOWERED[usize::from(c0 & 0x7F)];
        let mut n = 1usize;
        let mut j = start + 1;
        let mut fits = true;
        while let Some(&c) = b.get(j) {
            if c.is_ascii_lowercase() {
                // A run of lower-case letters: the class bits once for the run.
                seen_rest |= ALNUM | LOWER;
                // Eight bytes at a time while the key has room: the run's bytes are copied as
                // they are, the bytes after it masked to the key's zero padding.
                while let (Some(chunk), true) = (b.get(j..j + 8), n + 8 <= MAX_KEY) {
                    let w = u64::from_le_bytes(*chunk.first_chunk::<8>().unwrap_or(&[0; 8]));
                    let k = lower_run(w);
                    let kept = if k == 8 {
                        w
                    } else {
                        w & ((1u64 << (8 * k)) - 1)
                    };
                    if let Some(dst) = r.key.get_mut(n..n + 8) {
                        dst.copy_from_slice(&kept.to_le_bytes());
                    }
                    n += k;
                    j += k;
                    if k < 8 {
                        break;
                    }
                }
                while let Some(&c) = b.get(j).filter(|c| c.is_ascii_lowercase()) {
                    if n < MAX_KEY {
                        r.key[n] = c;
                        n += 1;
                    } else {
                        fits = false;
                    }
                    j += 1;
                }
                continue;
            }
            if c < 0x80 {
                let cl = CLASS[usize::from(c)];
                if cl & ALNUM == 0 && !(cl & JOIN != 0 && starts_word(self.text, j + 1)) {
                    break;
                }
                seen_rest |= cl;
                if n < MAX_KEY {
                    r.key[n] = LOWERED[usize::from(c)];
                    n += 1;
                } else {
                    fits = false;
                }
                j += 1;
                continue;
            }
            match self.read_non_ascii(j, &mut r.key, &mut n, &mut fits, &mut r.other_script) {
                Some(w) => j += w,
                None => break,
            }
        }
        r.n = n;
        r.fits = fits;
        r.seen = CLASS[usize::from(c0 & 0x7F)] | seen_rest;
        r.seen_rest = seen_rest;
        j
    }

    /// [`Scanner::word`]'s reading in general: hashtags (case and digit breaks) and words that
    /// start with a non-ASCII letter.
    fn read_general(&self, start: usize, hashtag: bool, r: &mut Read) -> usize {
        let b = self.text.as_bytes();
        let end = b.len();
        let (key, mut n, mut fits) = (&mut r.key, 0usize, true);
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
                    if !(cl & JOIN != 0 && j > start && starts_word(self.text, j + 1)) {
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
            match self.read_non_ascii(j, key, &mut n, &mut fits, &mut other_script) {
                Some(w) => j += w,
                None => break,
            }
        }
        r.n = n;
        r.fits = fits;
        r.seen = seen;
        r.seen_rest = seen_rest;
        r.other_script = other_script;
        j
    }

    /// Reads the non-ASCII character at `j` of a word into its key (`n` bytes used): a letter
    /// of any script, or `’` / `‘` before a word character as an apostrophe (`'`). Returns its
    /// width, or `None` where the word ends (an emoji, punctuation, a lone quote).
    #[inline]
    fn read_non_ascii(
        &self,
        j: usize,
        key: &mut [u8; MAX_KEY],
        n: &mut usize,
        fits: &mut bool,
        other_script: &mut bool,
    ) -> Option<usize> {
        let (ch, w) = char_at(self.text, j);
        if is_emoji_start(ch) {
            return None;
        }
        let apostrophe = matches!(ch, '’' | '‘') && starts_word(self.text, j + w);
        if !apostrophe && !is_word_char(ch) {
            return None;
        }
        // Letters of other scripts: a word with them is never in capitals.
        *other_script |= !apostrophe;
        let out: &[u8] = if apostrophe {
            b"'"
        } else {
            self.text.as_bytes().get(j..j + w).unwrap_or_default()
        };
        if *n + out.len() <= MAX_KEY {
            for &x in out {
                key[*n] = x;
                *n += 1;
            }
        } else {
            *fits = false;
        }
        Some(w)
    }

    /// Classifies and looks up a word read into `r`, spanning `start..j`, and pushes it.
    #[inline(always)]
    fn finish(&mut self, start: usize, j: usize, hashtag: bool, r: &Read) -> usize {
        let b = self.text.as_bytes();
        let (key, n, fits, seen, seen_rest, other_script) =
            (&r.key, r.n, r.fits, r.seen, r.seen_rest, r.other_script);
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
        let mut elongated = false;
        let mut entry = None;
        if fits {
            entry = lexicon::word_padded(key, n);
            if entry.is_none() && may_fall_back(key, n) {
                (entry, elongated) = fallback(&key[..n]);
            }
        }
        let nt = entry.is_none() && fits && ends_with(&key[..n], b"n't");
        self.push_word(start, j, entry, caps, elongated, nt, title, hashtag);
        j
    }

    /// Pushes a word token spanning `start..end` (and its index to `weigh` if the rules must
    /// weigh it), and counts it for its sentence's headline case.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn push_word(
        &mut self,
        start: usize,
        end: usize,
        entry: Option<&'static Entry>,
        caps: bool,
        elongated: bool,
        nt: bool,
        title: bool,
        hashtag: bool,
    ) {
        let sentence_start = std::mem::replace(&mut self.new_sentence, false);
        // Whether a word is listed is unpredictable: read an empty entry for an unlisted one
        // rather than branch, and list the token to weigh by writing its index always and
        // counting it or not.
        let e = entry.unwrap_or(&lexicon::NO_ENTRY);
        self.list(e.weigh);
        self.marks.flags |= e.flags;
        room::push(
            self.out,
            Tok {
                start: start as u32,
                end: end as u32,
                kind: Kind::Word,
                entry: e,
                base: e.valence,
                clause: self.clause,
                caps,
                elongated,
                nt,
                title,
                sentence_start,
                question: false,
                hashtag,
                headline: false,
            },
        );
        if !hashtag {
            self.sentence_words.0 += 1;
            self.sentence_words.1 += u32::from(title);
        }
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

    /// Lists the next token to weigh when `keep`: its index is written either way and counted
    /// only when kept, so whether a word is listed (unpredictable) decides no branch. In the
    /// WebAssembly build, `push` then `truncate` left a loop of one or two empty turns.
    #[inline(always)]
    fn list(&mut self, keep: bool) {
        let n = self.marks.weighed;
        if n == self.weigh.len() {
            room::push(self.weigh, 0);
        }
        if let Some(slot) = self.weigh.get_mut(n) {
            *slot = self.out.len() as u32;
        }
        self.marks.weighed = n + usize::from(keep);
    }

    fn push_sign(
        &mut self,
        start: usize,
        end: usize,
        kind: Kind,
        entry: Option<&'static Entry>,
        base: f64,
    ) {
        self.list(base != 0.0);
        // Emoticons have an entry (an emoticon's identity is 0), emoji none.
        let entry = entry.unwrap_or(&lexicon::NO_ENTRY);
        self.marks.flags |= entry.flags;
        self.marks.signs += 1;
        room::push(
            self.out,
            Tok {
                start: start as u32,
                end: end as u32,
                kind,
                entry,
                base,
                clause: self.clause,
                caps: false,
                elongated: false,
                nt: false,
                title: false,
                sentence_start: false,
                question: false,
                hashtag: false,
                headline: false,
            },
        );
        // A sign closes the clause before it, like punctuation.
        self.clause += 1;
    }
}

/// Skips from `i` over printable ASCII (`!`..`~`) eight bytes at a time; returns the first byte
/// that may end a chunk (space, control or non-ASCII) or the last window's start. The bytes after
/// it are left to the byte loop, so this only ever skips bytes that loop would skip too.
#[inline]
fn skip_plain8(b: &[u8], mut i: usize, len: usize) -> usize {
    while i + 8 <= len {
        let Some(w) = b.get(i..i + 8) else { break };
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // Bytes below 0x21 (exact for the lowest one; a borrow only marks bytes above it), and
        // bytes with the high bit set.
        let special = below(w, 0x21) | (w & HIGH);
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// How many of the eight bytes of `w` (little-endian), from the first, are ASCII lower-case
/// letters.
#[inline(always)]
fn lower_run(w: u64) -> usize {
    // On the low seven bits no byte carries into the next: the high bit of `a` is `x >= 'a'`, of
    // `z` is `x > 'z'`; bytes of 0x80 and up are no letters.
    let low = w & !HIGH;
    let a = low + ONES * (0x80 - u64::from(b'a'));
    let z = low + ONES * (0x80 - u64::from(b'z') - 1);
    let lower = a & !z & !w & HIGH;
    ((!lower & HIGH).trailing_zeros() / 8) as usize
}

/// The low `n` bytes (1 to 8) of a `u64`.
#[inline(always)]
fn key_mask(n: usize) -> u64 {
    u64::MAX >> (64 - 8 * n)
}

/// `n't` as the last three bytes of a key in a `u64`, little-endian.
const NT_KEY: u64 = u64::from_le_bytes([b'n', b'\'', b't', 0, 0, 0, 0, 0]);

/// Eight bytes of `b` from `i`, little-endian, zero past the end (a zero byte ends a word as the
/// text's end does).
#[inline(always)]
fn load8(b: &[u8], i: usize) -> u64 {
    match b.get(i..i + 8) {
        Some(c) => u64::from_le_bytes(*c.first_chunk::<8>().unwrap_or(&[0; 8])),
        None => load8_tail(b, i),
    }
}

/// [`load8`] within eight bytes of the end: the text's last eight bytes shifted down (no copy
/// loop, which compiles to a `memcpy` call), or byte by byte in a text shorter than that.
#[inline(never)]
fn load8_tail(b: &[u8], i: usize) -> u64 {
    let left = b.len().saturating_sub(i);
    if left == 0 {
        return 0;
    }
    if let Some(last) = b.last_chunk::<8>() {
        // `left` is 1 to 7 here: the bytes from `i` are the top `left` of the last eight.
        return u64::from_le_bytes(*last) >> (8 * (8 - left));
    }
    let mut v = 0u64;
    for (k, &x) in b.get(i..).unwrap_or_default().iter().enumerate() {
        v |= u64::from(x) << (8 * k);
    }
    v
}

/// The ASCII classes of eight bytes, as the high bit of each byte (bytes of 0x80 and up are in
/// none).
struct Classes {
    letter: u64,
    upper: u64,
    digit: u64,
}

impl Classes {
    #[inline(always)]
    fn of(w: u64) -> Classes {
        // High bit of each byte of `x` (seven-bit bytes: no carry between bytes) in `lo..=hi`.
        let within = |x: u64, lo: u8, hi: u8| {
            let ge = x + ONES * u64::from(0x80 - lo);
            let gt = x + ONES * u64::from(0x7F - hi);
            ge & !gt & HIGH
        };
        let low = w & !HIGH;
        let ascii = !w & HIGH;
        // `x | 0x20` folds exactly the letters' capitals onto the lower-case letters.
        let letter = within(low | (ONES * 0x20), b'a', b'z') & ascii;
        // Lower-case letters have bit 5 set; shifted to bit 7 of the same byte.
        let upper = letter & !(w << 2);
        let digit = within(low, b'0', b'9') & ascii;
        Classes {
            letter,
            upper,
            digit,
        }
    }
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

/// Pairs of first bytes (as a bitmap over `first << 8 | second`) after which a piece may be
/// something other than words: an emoticon, a URL (`ht`, `ww`) or `RT`, in any case. A piece
/// starting with a letter or digit and no such pair is words from its first byte
/// ([`Scanner::piece`] finds nothing else there).
static SPECIAL_PAIRS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut i = 0;
    while i < 65536 {
        let (a, b) = ((i >> 8) as u8, i as u8);
        let (la, lb) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        if lexicon::may_start_emoticon(a, b)
            || matches!((la, lb), (b'h', b't') | (b'w', b'w') | (b'r', b't'))
        {
            t[i / 64] |= 1 << (i % 64);
        }
        i += 1;
    }
    t
};

/// Whether a piece starting with bytes `a`, `b` (0 past the text's end) may be more than words.
#[inline(always)]
fn special_pair(a: u8, b: u8) -> bool {
    let i = usize::from(a) << 8 | usize::from(b);
    SPECIAL_PAIRS[i / 64] & (1 << (i % 64)) != 0
}

/// `0x20` for an ASCII capital (the bit that makes it lower case), 0 for any other byte.
static CAPITAL: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        if (c as u8).is_ascii_uppercase() {
            t[c] = 0x20;
        }
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

/// Whether [`fallback`] can find anything for the `n`-byte key in `key` (zero-padded): a run of
/// three equal bytes, or (past four bytes) a possessive or a suffix [`lemma`] strips. Most unknown
/// words have neither, and this answers in a few instructions where `fallback` takes dozens.
#[inline(always)]
fn may_fall_back(key: &[u8; MAX_KEY], n: usize) -> bool {
    if n > 4 {
        let at = |k: usize| u32::from(key.get(n - k).copied().unwrap_or(0));
        if strippable(at(3) | at(2) << 8 | at(1) << 16) {
            return true;
        }
    }
    has_run3_padded(key, n)
}

/// Slot in [`SUFFIXES`] of a key's last three bytes (little-endian): a multiplicative hash that
/// puts the five suffixes of [`lemma`] in distinct slots of eight.
#[inline(always)]
const fn suffix_slot(last3: u32) -> usize {
    (last3.wrapping_mul(5137) >> 29) as usize
}

/// The three-byte suffixes [`lemma`] strips (`iest` ends in `est`), each at its [`suffix_slot`];
/// the empty slots hold a value no three bytes have.
static SUFFIXES: [u32; 8] = {
    let mut t = [u32::MAX; 8];
    let all: [&[u8; 3]; 5] = [b"est", b"ier", b"ily", b"ied", b"ies"];
    let mut k = 0;
    while k < all.len() {
        let s = all[k];
        let x = s[0] as u32 | (s[1] as u32) << 8 | (s[2] as u32) << 16;
        assert!(t[suffix_slot(x)] == u32::MAX, "two suffixes share a slot");
        t[suffix_slot(x)] = x;
        k += 1;
    }
    t
};

/// Whether a key (of more than four bytes) whose last three bytes are `last3` (little-endian) is
/// a possessive (`'s`) or ends in a suffix [`lemma`] strips: one look-up, no chain of compares.
#[inline(always)]
fn strippable(last3: u32) -> bool {
    suffixed(last3) | possessive(last3)
}

/// Whether the last three bytes of a key, `last3` (little-endian), end in a suffix [`lemma`]
/// strips.
#[inline(always)]
fn suffixed(last3: u32) -> bool {
    SUFFIXES[suffix_slot(last3)] == last3
}

/// Whether the last three bytes of a key, `last3` (little-endian), end in `'s`.
#[inline(always)]
fn possessive(last3: u32) -> bool {
    last3 >> 8 == u32::from_le_bytes([b'\'', b's', 0, 0])
}

/// [`may_fall_back`] for a key of `n` bytes (1 to 7) held in a `u64`, zero-padded: the same tests
/// on the word itself, without a buffer. `word`: [`key_mask`] of `n`, which the callers have.
/// `apostrophe`: whether the key may hold a `'` (the callers know: without one, no possessive,
/// and no instructions spent on it).
#[inline(always)]
fn may_fall_back_short(key: u64, n: usize, word: u64, apostrophe: bool) -> bool {
    // The last three bytes at the top, then down (bytes before the key's start are zeros).
    let last3 = ((key << (64 - 8 * n)) >> 40) as u32;
    // Without branches (`|`, `&` on bools): which way a word goes here is unpredictable.
    (n > 4) & (suffixed(last3) | apostrophe & possessive(last3)) | may_run3(key, word)
}

/// [`may_fall_back`] for a key of `n` bytes (8 to 15): `lo` its first eight bytes, `tail` its
/// last eight (little-endian). A run of three starts in the first six bytes of one or the other,
/// except at byte 6 of a fifteen-byte key, which is let through.
#[inline(always)]
fn may_fall_back_long(lo: u64, tail: u64, n: usize) -> bool {
    strippable((tail >> 40) as u32) | may_run3(lo, u64::MAX) | may_run3(tail, u64::MAX) | (n == 15)
}

/// Whether the first `n` (at most 8) bytes of `w` may hold a run of three equal bytes (`word`:
/// [`key_mask`] of `n`, as the callers have it): true for every such run ([`run3_in`] exactly),
/// and rarely otherwise (a borrow out of a zero byte of `d` can mark the byte above it), in fewer
/// instructions.
#[inline(always)]
fn may_run3(w: u64, word: u64) -> bool {
    let d = w ^ (w >> 8);
    // Every zero byte of `d` (equal neighbours) is marked, and maybe some above one.
    let z = below(d, 1);
    // Two marked bytes in a row, starting at bytes 0..n-2.
    z & (z >> 8) & (word >> 16) != 0
}

/// Whether the first `n` (3 to 8) bytes of `w` hold a run of three equal bytes: byte `i` of `d`
/// is zero where bytes `i` and `i + 1` are equal, so byte `i` of `d | d >> 8` is zero where a
/// run of three starts.
#[inline(always)]
fn run3_in(w: u64, n: usize) -> bool {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let d = w ^ (w >> 8);
    let e = d | (d >> 8);
    // High bit of each zero byte of `e`, exactly (no borrow across bytes).
    let zero = !(((e & LOW7) + LOW7) | e | LOW7);
    // Triples starting at bytes 0..n-2, all within the word's first six bytes.
    zero & ((1u64 << (8 * (n - 2))) - 1) != 0
}

/// [`has_run3`] of the first `n` bytes of a zero-padded key: for up to eight bytes, in one word
/// (byte `i` of `d` is zero where bytes `i` and `i + 1` are equal, so byte `i` of `d | d >> 8` is
/// zero where a run of three starts).
#[inline(always)]
fn has_run3_padded(key: &[u8; MAX_KEY], n: usize) -> bool {
    if n < 3 {
        return false;
    }
    if n > 8 {
        return has_run3(key.get(..n).unwrap_or_default());
    }
    run3_in(
        u64::from_le_bytes(*key.first_chunk::<8>().unwrap_or(&[0; 8])),
        n,
    )
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

/// [`fallback`] for a word whose look-up found `entry`, if it found none: out of line, so that
/// the callers branch only on their (rarely true) fall-back test, not on whether the word is
/// listed.
#[inline(never)]
fn fallback_unlisted(entry: Option<&'static Entry>, key: &[u8]) -> (Option<&'static Entry>, bool) {
    match entry {
        Some(_) => (entry, false),
        None => fallback(key),
    }
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

/// Whether a word character starts at byte `i`, in the same piece (an emoji ends a piece, even
/// one that is alphanumeric, like `🄰`).
fn starts_word(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        Some(&c) if c < 0x80 => CLASS[usize::from(c)] & ALNUM != 0,
        Some(_) => {
            let c = char_at(text, i).0;
            is_word_char(c) && !is_emoji_start(c)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(k: &[u8]) -> [u8; MAX_KEY] {
        let mut buf = [0u8; MAX_KEY];
        buf[..k.len()].copy_from_slice(k);
        buf
    }

    #[test]
    fn segments_scan_as_one() {
        // Texts over a segment, cut at whitespace, must give the tokens and marks of one pass.
        let unit = "Good GREAT #aBcD1e2 a.b.c:) love<3 😀😀 n't ";
        let mut texts = vec![
            unit.repeat(120),
            format!("{}{}", "x".repeat(5000), unit.repeat(3)),
        ];
        texts.push(format!("{} {}", "#aB1".repeat(2000), "so good"));
        texts.push(format!("{}\t{}", "y".repeat(SEGMENT), "bad :("));
        let scan_with = |text: &str, segment| {
            let (mut out, mut weigh) = (Vec::new(), Vec::new());
            let marks = scan_in_segments(text, &mut out, &mut weigh, segment);
            let toks: Vec<String> = out.iter().map(|t| format!("{t:?}")).collect();
            (toks, format!("{marks:?}"), weigh[..marks.weighed].to_vec())
        };
        for text in &texts {
            assert!(text.len() > SEGMENT);
            let one = scan_with(text, usize::MAX);
            assert!(!one.0.is_empty());
            for segment in [SEGMENT, 64, 7, 1] {
                assert_eq!(scan_with(text, segment), one, "segment {segment}");
            }
        }
    }

    #[test]
    fn lower_run_counts_leading_lower_case() {
        // Every byte value at every position after a lower-case prefix.
        for prefix in 0..8 {
            for x in 0..=255u8 {
                let mut w = [b'q'; 8];
                w[prefix] = x;
                let want = if x.is_ascii_lowercase() { 8 } else { prefix };
                assert_eq!(lower_run(u64::from_le_bytes(w)), want, "{prefix} {x}");
            }
        }
        assert_eq!(lower_run(u64::from_le_bytes(*b"ab\xC3\xA9cdef")), 2);
        assert_eq!(lower_run(u64::from_le_bytes(*b"\x7Fzzzzzzz")), 0);
    }

    #[test]
    fn classes_agree_with_the_table() {
        // Every byte value at every position, among letters.
        for at in 0..8 {
            for x in 0..=255u8 {
                let mut w = [b'q'; 8];
                w[at] = x;
                let cl = Classes::of(u64::from_le_bytes(w));
                let bit = |m: u64| m >> (8 * at + 7) & 1 == 1;
                assert_eq!(bit(cl.letter), x.is_ascii_alphabetic(), "{at} {x}");
                assert_eq!(bit(cl.upper), x.is_ascii_uppercase(), "{at} {x}");
                assert_eq!(bit(cl.digit), x.is_ascii_digit(), "{at} {x}");
            }
        }
    }

    #[test]
    fn special_pairs_cover_what_piece_looks_for() {
        for (a, b) in [
            (b'h', b't'),
            (b'H', b'T'),
            (b'w', b'w'),
            (b'R', b'T'),
            (b'r', b't'),
        ] {
            assert!(special_pair(a, b), "{}{}", a as char, b as char);
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                if lexicon::may_start_emoticon(a, b) {
                    assert!(special_pair(a, b), "{a} {b}");
                }
            }
        }
        assert!(!special_pair(b'g', b'o'));
        assert!(!special_pair(b't', b'h'));
    }

    #[test]
    fn load8_pads_with_zeros() {
        assert_eq!(load8(b"abc", 1), u64::from_le_bytes(*b"bc\0\0\0\0\0\0"));
        assert_eq!(load8(b"abcdefghij", 1), u64::from_le_bytes(*b"bcdefghi"));
        assert_eq!(load8(b"abc", 3), 0);
        assert_eq!(load8(b"abc", 7), 0);
        // Every start near the end of texts shorter and longer than eight bytes.
        for len in 0..20 {
            let text: Vec<u8> = (1..=len as u8).collect();
            for i in 0..=len + 2 {
                let mut want = [0u8; 8];
                for (d, s) in want.iter_mut().zip(text.iter().skip(i)) {
                    *d = *s;
                }
                assert_eq!(load8(&text, i), u64::from_le_bytes(want), "{len} {i}");
            }
        }
    }

    #[test]
    fn may_run3_covers_run3() {
        // Every key over a small alphabet (with neighbours differing in bit 0) up to 8 bytes.
        let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..8 {
            let next: Vec<Vec<u8>> = keys
                .iter()
                .filter(|k| k.len() < 8)
                .flat_map(|k| {
                    [b'a', b'b', b'c'].into_iter().map(move |c| {
                        let mut k = k.clone();
                        k.push(c);
                        k
                    })
                })
                .collect();
            keys.extend(next);
        }
        let mut extra = 0;
        for k in keys.iter().filter(|k| k.len() >= 3) {
            let mut b = [0u8; 8];
            b[..k.len()].copy_from_slice(k);
            let w = u64::from_le_bytes(b);
            let (exact, may) = (run3_in(w, k.len()), may_run3(w, key_mask(k.len())));
            assert!(may || !exact, "{k:?}");
            extra += usize::from(may && !exact);
        }
        // This alphabet is the worst case (neighbours differing in bit 0 only).
        assert!(extra * 4 < keys.len(), "{extra} of {}", keys.len());
    }

    #[test]
    fn run3_padded_agrees() {
        // Every key over a small alphabet up to 7 bytes, and runs placed at every offset of
        // longer keys.
        let alphabet = [b'a', b'b', 0x80, 0xFF];
        let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..7 {
            let next: Vec<Vec<u8>> = keys
                .iter()
                .filter(|k| k.len() < 7)
                .flat_map(|k| {
                    alphabet.iter().map(move |&c| {
                        let mut k = k.clone();
                        k.push(c);
                        k
                    })
                })
                .collect();
            keys.extend(next);
        }
        for n in 3..=MAX_KEY {
            for at in 0..=n - 3 {
                for run in [2usize, 3] {
                    let mut k: Vec<u8> = (0..n).map(|i| b'a' + (i % 2) as u8).collect();
                    for c in k.iter_mut().skip(at).take(run) {
                        *c = b'z';
                    }
                    keys.push(k);
                }
            }
        }
        for k in keys.iter().filter(|k| k.len() <= MAX_KEY) {
            assert_eq!(has_run3_padded(&padded(k), k.len()), has_run3(k), "{k:?}");
        }
    }

    #[test]
    fn fallback_filter_is_exact() {
        // Whenever `fallback` finds something, `may_fall_back` lets it through.
        for w in [
            "goooood", "sooo", "god's", "coolest", "funnier", "happily", "hottest", "worried",
            "parties", "nicest", "baddd", "cooool", "it's", "x's", "niiice",
        ] {
            let k = w.as_bytes();
            if fallback(k).0.is_some() {
                assert!(may_fall_back(&padded(k), k.len()), "{w}");
            }
        }
        // The `u64` form agrees with the buffer form on short keys.
        for w in [
            "goooood", "sooo", "god's", "coolest", "funnier", "happily", "worried", "parties",
            "baddd", "it's", "x's", "niiice", "table", "days", "aaa", "aab", "abbb", "ab", "a",
            "zzzzzzzz", "abcdefgh", "nicest",
        ] {
            let k = w.as_bytes();
            let mut b = [0u8; 8];
            b[..k.len()].copy_from_slice(k);
            let mask = key_mask(k.len());
            let short =
                may_fall_back_short(u64::from_le_bytes(b), k.len(), mask, k.contains(&b'\''));
            assert_eq!(short, may_fall_back(&padded(k), k.len()), "{w}");
        }
        // The long form lets through all the buffer form does (and on suffixes agrees).
        for w in [
            "goooooood",
            "happiest",
            "possessions",
            "craziest",
            "loveliest",
            "worriedly",
            "happily's",
            "friendlier",
            "abcdefgh",
            "abcdefghijklmno",
            "tomorrow's",
            "bitterest",
            "zzzabcdefgh",
            "abcdefghzzz",
            "abcdefgzzzh",
            "parties",
            "assessment",
            "aaabbbcccddd",
        ] {
            let k = w.as_bytes();
            if !(8..=15).contains(&k.len()) {
                continue;
            }
            let lo = u64::from_le_bytes(k[..8].try_into().unwrap());
            let tail = u64::from_le_bytes(k[k.len() - 8..].try_into().unwrap());
            let two = may_fall_back_long(lo, tail, k.len());
            assert!(two || !may_fall_back(&padded(k), k.len()), "{w}");
            if !has_run3(k) && k.len() < 15 {
                assert_eq!(two, may_fall_back(&padded(k), k.len()), "{w}");
            }
        }
        assert!(!may_fall_back(&padded(b"table"), 5));
        assert!(!may_fall_back(&padded(b"days"), 4));
    }
}
