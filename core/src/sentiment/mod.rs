//! Sentiment scoring: emoticons and emoji first, then a valence lexicon with rules.
//!
//! The engine follows the design of VADER (Hutto & Gilbert 2014) and uses its MIT-licensed
//! lexicon as data (see `core/data/`), with Sentimap's own emoji ratings, slang, idioms, clause
//! scoping of negation and boosters, and tokenisation for tweets (URLs, @mentions and `RT` dropped,
//! HTML entities decoded, hashtags split into words, emoticons glued to words found).
//!
//! ```
//! use sentimap_core::sentiment::{score, Label, Method};
//!
//! let s = score("The food was not bad at all, but the service was SO rude :(", None);
//! assert_eq!(s.label, Label::Negative);
//! assert_eq!(s.method, Method::Lexicon);
//! assert!(s.evidence.iter().any(|e| e.token == "bad" && e.valence > 0.0)); // "not bad"
//! assert!(s.evidence.iter().any(|e| e.token == ":("));
//! ```
//!
//! For many texts, keep a [`Scorer`]: it reuses its buffers, so scoring allocates nothing once
//! warm ([`Scorer::summary`]) or only the output ([`Scorer::score`]).

mod lexicon;
mod phash;
mod rules;
mod scan;

use std::hint::select_unpredictable;

use serde::{Deserialize, Serialize};

use rules::{Rated, Totals};
use scan::{Kind, Tok};

/// Compound at or above this is positive.
pub const POSITIVE_THRESHOLD: f64 = 0.3;
/// Compound at or below this is negative.
pub const NEGATIVE_THRESHOLD: f64 = -0.05;

/// The three-way label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Compound above the positive threshold.
    Positive,
    /// Between the thresholds.
    Neutral,
    /// Compound below the negative threshold.
    Negative,
}

/// The four labels of the original system, kept for its map colours and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompatLabel {
    /// Positive.
    Positive,
    /// Negative.
    Negative,
    /// Neutral.
    Neutral,
    /// Happy and sad emoji or emoticons in the same post.
    Confused,
}

/// What decided the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Emoticons or emoji decided.
    Emoticon,
    /// The lexicon and its rules decided.
    Lexicon,
    /// Nothing carried sentiment.
    None,
}

/// What kind of token a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A word of the lexicon (possibly from a hashtag).
    Word,
    /// An idiom, rated as a whole.
    Idiom,
    /// An ASCII emoticon.
    Emoticon,
    /// An emoji sequence.
    Emoji,
}

/// One token or emoji that moved the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The token as written (or the emoji / emoticon).
    pub token: String,
    /// Its valence after the rules, on the lexicon's scale.
    pub valence: f64,
    /// What kind of token it is.
    pub kind: EvidenceKind,
}

/// The score of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// positive | neutral | negative.
    pub label: Label,
    /// Normalised score in [-1, 1].
    pub compound: f64,
    /// Share of positive valence, in [0, 1].
    pub positive: f64,
    /// Share of neutral tokens, in [0, 1].
    pub neutral: f64,
    /// Share of negative valence, in [0, 1].
    pub negative: f64,
    /// What decided.
    pub method: Method,
    /// Whether the lexicon was applied (false for posts known not to be English).
    pub lexicon_applied: bool,
    /// The original system's four labels.
    pub compat: CompatLabel,
    /// The tokens and emoji that decided, in text order.
    pub evidence: Vec<Evidence>,
    /// Every emoji and emoticon found, rated or not, in text order.
    pub emoji: Vec<String>,
}

impl Sentiment {
    /// A neutral score with no evidence: what [`Scorer::score_into`] refills.
    fn empty() -> Self {
        Sentiment {
            label: Label::Neutral,
            compound: 0.0,
            positive: 0.0,
            neutral: 0.0,
            negative: 0.0,
            method: Method::None,
            lexicon_applied: false,
            compat: CompatLabel::Neutral,
            evidence: Vec::new(),
            emoji: Vec::new(),
        }
    }
}

/// `text` in one of the `spare` strings (its buffer reused), or in a new one.
fn from_spare(spare: &mut Vec<String>, text: &str) -> String {
    let mut s = spare.pop().unwrap_or_default();
    refill(&mut s, text);
    s
}

/// Replaces `s`'s text with `with`, in `s`'s buffer.
fn refill(s: &mut String, with: &str) {
    s.clear();
    s.push_str(with);
}

/// The score of one text without its evidence: what [`Scorer::summary`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// positive | neutral | negative.
    pub label: Label,
    /// Normalised score in [-1, 1].
    pub compound: f64,
    /// Share of positive valence.
    pub positive: f64,
    /// Share of neutral tokens.
    pub neutral: f64,
    /// Share of negative valence.
    pub negative: f64,
    /// What decided.
    pub method: Method,
    /// Whether the lexicon was applied.
    pub lexicon_applied: bool,
    /// The original system's four labels.
    pub compat: CompatLabel,
}

/// Whether the lexicon (English) applies to a post in language `lang`: unknown, undetermined
/// (`und`) and English tags do; any other language does not.
#[inline]
pub fn lexicon_applies(lang: Option<&str>) -> bool {
    match lang.map(str::trim) {
        None | Some("") => true,
        Some(l) => {
            let primary = l.split(['-', '_']).next().unwrap_or(l);
            primary.eq_ignore_ascii_case("en")
                || primary.eq_ignore_ascii_case("und")
                || primary.eq_ignore_ascii_case("zxx")
                || primary.eq_ignore_ascii_case("qme")
                || primary.eq_ignore_ascii_case("qht")
        }
    }
}

/// Scores `text`; `lang` is the post's language tag where known.
///
/// Each thread keeps one [`Scorer`] for this function, so its token buffers are reused from call
/// to call instead of being allocated and grown for every text (buffers that a very long text
/// grew are released afterwards). The result never depends on that reuse.
pub fn score(text: &str, lang: Option<&str>) -> Sentiment {
    THREAD_SCORER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut kept) => {
            let s = kept.0.score(text, lang);
            kept.0.release_large();
            s
        }
        // Only reachable if scoring re-entered this function, which it does not.
        Err(_) => Scorer::new().score(text, lang),
    })
}

/// [`score`] for a caller that only reads the result (to write it out): `f` gets the score of
/// `text` in the thread's own [`Sentiment`], refilled by [`Scorer::score_into`], so nothing is
/// allocated once it has held a text's worth of evidence.
pub(crate) fn score_with<R>(text: &str, lang: Option<&str>, f: impl FnOnce(&Sentiment) -> R) -> R {
    /// Evidence items or emoji a kept `Sentiment` may hold on to between texts.
    const KEEP_ITEMS: usize = 256;
    THREAD_SCORER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut kept) => {
            let (scorer, s) = &mut *kept;
            scorer.score_into(text, lang, s);
            scorer.release_large();
            let r = f(s);
            if s.evidence.capacity() > KEEP_ITEMS || s.emoji.capacity() > KEEP_ITEMS {
                *s = Sentiment::empty();
            }
            r
        }
        // Only reachable if `f` scored a text itself.
        Err(_) => f(&Scorer::new().score(text, lang)),
    })
}

thread_local! {
    /// The scorer of [`score`] and [`score_with`], and the latter's result.
    static THREAD_SCORER: std::cell::RefCell<(Scorer, Sentiment)> =
        std::cell::RefCell::new((Scorer::new(), Sentiment::empty()));
}

/// A reusable scorer: holds the token buffers between texts, so the hot path allocates nothing.
#[derive(Debug, Default)]
pub struct Scorer {
    toks: Vec<Tok>,
    weigh: Vec<u32>,
    rated: Vec<Rated>,
    decoded: String,
    /// Strings of evidence and emoji that [`Scorer::score_into`] took off a result with fewer
    /// items than before, kept for the next result with more.
    spare: Vec<String>,
    /// Emoticons and emoji in the last text scored.
    signs: u32,
}

impl Scorer {
    /// An empty scorer; the lexicon is static, so this costs nothing.
    pub fn new() -> Self {
        Scorer::default()
    }

    /// Frees the buffers a long text grew past what a post needs, so that a scorer kept between
    /// texts does not hold on to megabytes after one large input.
    fn release_large(&mut self) {
        const KEEP_TOKENS: usize = 4096;
        if self.toks.capacity() > KEEP_TOKENS || self.spare.len() > KEEP_TOKENS {
            *self = Scorer::default();
        } else if self.decoded.capacity() > KEEP_TOKENS * 8 {
            self.decoded = String::new();
        }
    }

    /// Scores `text` without building the evidence (no allocation once the buffers are warm).
    pub fn summary(&mut self, text: &str, lang: Option<&str>) -> Summary {
        let applied = lexicon_applies(lang);
        let mut buf = std::mem::take(&mut self.decoded);
        let totals = self.run(decoded(text, &mut buf), applied);
        self.decoded = buf;
        summarize(&totals, applied)
    }

    /// Scores `text` with its evidence.
    pub fn score(&mut self, text: &str, lang: Option<&str>) -> Sentiment {
        let mut s = Sentiment::empty();
        self.score_into(text, lang, &mut s);
        s
    }

    /// Scores `text` with its evidence into `out`, whatever `out` held: its vectors and strings
    /// are reused, so a `Sentiment` kept between texts is refilled without allocating once it
    /// has held as many items as the text needs.
    pub fn score_into(&mut self, text: &str, lang: Option<&str>, out: &mut Sentiment) {
        let applied = lexicon_applies(lang);
        let mut buf = std::mem::take(&mut self.decoded);
        let text = decoded(text, &mut buf);
        let totals = self.run(text, applied);
        let s = summarize(&totals, applied);
        let mut emoji = 0;
        // Most texts have no sign: their tokens are not walked.
        if self.signs > 0 {
            for t in self.toks.iter().filter(|t| t.kind != Kind::Word) {
                let span = text.get(t.start as usize..t.end as usize);
                match out.emoji.get_mut(emoji) {
                    Some(old) => refill(old, span.unwrap_or_default()),
                    None => out
                        .emoji
                        .push(from_spare(&mut self.spare, span.unwrap_or_default())),
                }
                emoji += 1;
            }
        }
        // Strings left over from a longer text go to the spares. Most texts leave none: a drain
        // of nothing still costs its set-up and drop (the two guards save about 40 instructions
        // a text).
        if out.emoji.len() > emoji {
            self.spare.extend(out.emoji.drain(emoji..));
        }
        // The tokens left with a valence, in text order (a valence can still underflow to 0
        // under many contrasts: those are no evidence).
        let mut evidence = 0;
        for w in &self.rated {
            let Some(t) = self.toks.get(w.tok as usize) else {
                continue;
            };
            if w.valence != 0.0 {
                let span = text
                    .get(t.start as usize..w.end.max(t.end) as usize)
                    .unwrap_or_default();
                let kind = match t.kind {
                    Kind::Emoji => EvidenceKind::Emoji,
                    Kind::Emoticon => EvidenceKind::Emoticon,
                    Kind::Word if w.end != 0 => EvidenceKind::Idiom,
                    Kind::Word => EvidenceKind::Word,
                };
                let valence = round(w.valence, 1e3);
                match out.evidence.get_mut(evidence) {
                    Some(old) => {
                        refill(&mut old.token, span);
                        old.valence = valence;
                        old.kind = kind;
                    }
                    None => out.evidence.push(Evidence {
                        token: from_spare(&mut self.spare, span),
                        valence,
                        kind,
                    }),
                }
                evidence += 1;
            }
        }
        if out.evidence.len() > evidence {
            self.spare
                .extend(out.evidence.drain(evidence..).map(|e| e.token));
        }
        self.decoded = buf;
        out.label = s.label;
        out.compound = s.compound;
        out.positive = s.positive;
        out.neutral = s.neutral;
        out.negative = s.negative;
        out.method = s.method;
        out.lexicon_applied = s.lexicon_applied;
        out.compat = s.compat;
    }

    fn run(&mut self, text: &str, applied: bool) -> Totals {
        self.toks.clear();
        let marks = scan::scan(text, &mut self.toks, &mut self.weigh);
        self.signs = marks.signs;
        rules::apply(
            text,
            &self.toks,
            marks,
            applied,
            self.weigh.get(..marks.weighed).unwrap_or_default(),
            &mut self.rated,
        )
    }
}

/// The text to scan: `text` itself, or its HTML-entity-decoded copy in `buf` (`&lt;3` is `<3`).
fn decoded<'t>(text: &'t str, buf: &'t mut String) -> &'t str {
    if has_ampersand(text.as_bytes()) {
        buf.clear();
        html_escape::decode_html_entities_to_string(text, buf);
        buf.as_str()
    } else {
        text
    }
}

/// Whether `b` holds a `&`: 32 bytes at a time (tweets are short, and a general `memchr` spends
/// much of its work on alignment). The bytes after the last whole 32 are read as the text's last
/// 32, overlapping the chunk before (only whether a `&` is there matters): no tail loop, whose
/// exit, at 0 to 7 bytes left, was a branch mispredicted about once a text.
#[inline]
fn has_ampersand(b: &[u8]) -> bool {
    any_ampersand(b, ampersands32).unwrap_or_else(|| has_ampersand_short(b))
}

/// [`has_ampersand`] for fewer than 32 bytes: eight at a time, the last eight overlapping. Out of
/// line: most posts are longer.
#[inline(never)]
fn has_ampersand_short(b: &[u8]) -> bool {
    any_ampersand(b, ampersands).unwrap_or_else(|| b.contains(&b'&'))
}

/// Whether `b` holds a `&`, read `N` bytes at a time by `found` (nonzero where there is one), the
/// last `N` overlapping the chunk before; `None` when `b` is shorter than `N`.
#[inline(always)]
fn any_ampersand<const N: usize>(b: &[u8], found: impl Fn(&[u8; N]) -> u64) -> Option<bool> {
    let last = b.last_chunk::<N>()?;
    let (chunks, _) = b.as_chunks::<N>();
    Some(chunks.iter().fold(found(last), |any, c| any | found(c)) != 0)
}

/// The high bit of the bytes of `c` that are `&` (and maybe of bytes above one: only whether any
/// is set matters; without a `&` no borrow crosses a byte, so none is set).
#[inline(always)]
fn ampersands(c: &[u8; 8]) -> u64 {
    use crate::bytes::{below, ONES};
    below(u64::from_le_bytes(*c) ^ (ONES * u64::from(b'&')), 1)
}

/// [`ampersands`] of 32 bytes, or-ed (four independent words: vector code where there is some).
#[inline(always)]
fn ampersands32(c: &[u8; 32]) -> u64 {
    let (words, _) = c.as_chunks::<8>();
    words.iter().fold(0, |found, w| found | ampersands(w))
}

/// Without branches: a text's label and method are not predictable from the text before (the
/// choices are selected, each one a few instructions).
fn summarize(t: &Totals, applied: bool) -> Summary {
    let compound = round(t.compound, 1e4);
    let label = select_unpredictable(
        compound >= POSITIVE_THRESHOLD,
        Label::Positive,
        select_unpredictable(
            compound <= NEGATIVE_THRESHOLD,
            Label::Negative,
            Label::Neutral,
        ),
    );
    let method = select_unpredictable(
        t.sign_weight > 0.0 && t.sign_weight >= t.word_weight,
        Method::Emoticon,
        select_unpredictable(
            t.word_weight > 0.0,
            Method::Lexicon,
            select_unpredictable(t.sign_weight > 0.0, Method::Emoticon, Method::None),
        ),
    );
    let compat = select_unpredictable(
        t.sign_positive && t.sign_negative,
        CompatLabel::Confused,
        match label {
            Label::Positive => CompatLabel::Positive,
            Label::Negative => CompatLabel::Negative,
            Label::Neutral => CompatLabel::Neutral,
        },
    );
    Summary {
        label,
        compound,
        positive: round(t.positive, 1e4),
        neutral: round(t.neutral, 1e4),
        negative: round(t.negative, 1e4),
        method,
        lexicon_applied: applied,
        compat,
    }
}

/// Rounds to `1/scale` (4 decimals for scores): stable, readable output; `libm` keeps it
/// bit-identical on every target.
fn round(x: f64, scale: f64) -> f64 {
    // No branch on whether a share is 0, 1 or neither (not predictable from text to text): those
    // round as they are through the general case. A -0.0 comes out as 0.0.
    let r = round_half_away(x * scale) / scale;
    select_unpredictable(r == 0.0, 0.0, r)
}

/// `libm::round` (half-way cases away from zero), exactly, in a few instructions instead of the
/// bit manipulation of a general `round` (every score rounds four shares): below 2^51, adding and
/// subtracting 2^52 rounds the magnitude to the nearest integer (ties to even, exactly, the sum's
/// unit being 1), a tie left below is raised (`a - r` is exact), and the sign put back. Larger
/// magnitudes (already integers), infinities and NaN go to `libm`.
#[inline]
fn round_half_away(y: f64) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let a = y.abs();
    if a < TWO52 / 2.0 {
        let r = (a + TWO52) - TWO52;
        (r + f64::from(u8::from(a - r == 0.5))).copysign(y)
    } else {
        libm::round(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_scorer_gives_what_a_fresh_one_gives() {
        let long = "so good :) but not bad at all #MerryChristmas ".repeat(2000);
        let texts = [
            "I love it",
            long.as_str(),
            "",
            "NOT good!!",
            "😡😡 awful",
            "I love it",
        ];
        let mut kept = Sentiment::empty();
        let mut scorer = Scorer::new();
        for t in texts {
            let fresh = Scorer::new().score(t, None);
            assert_eq!(score(t, None), fresh, "{t:.40}");
            assert_eq!(score_with(t, None, Sentiment::clone), fresh, "{t:.40}");
            // A kept result refilled by text after text: more items than before, then fewer.
            scorer.score_into(t, None, &mut kept);
            assert_eq!(kept, fresh, "{t:.40}");
        }
    }

    #[test]
    fn round_half_away_agrees_with_libm() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4503599627370495.5,
            -4503599627370495.5,
            4503599627370496.0,
            9007199254740993.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            1e-300,
        ];
        // Near every half and integer over a range, and a spread of magnitudes.
        for k in -2000..2000 {
            let h = f64::from(k) / 2.0;
            xs.extend([h, h.next_up(), h.next_down(), h * 1e4 + 0.5, h * 1e4 - 0.5]);
        }
        let mut x = 1e-5f64;
        while x < 1e20 {
            xs.extend([x, -x, x + 0.5, -x - 0.5, x.next_up(), (x + 0.5).next_down()]);
            x *= 1.37;
        }
        for x in xs {
            let (a, b) = (round_half_away(x), libm::round(x));
            assert_eq!(a.to_bits() & !(1 << 63), b.to_bits() & !(1 << 63), "{x:e}");
            assert!(a == b, "{x:e}");
        }
        assert!(round_half_away(f64::NAN).is_nan());
    }

    #[test]
    fn has_ampersand_agrees() {
        // A `&` (or a byte next to it in value) at every position of texts up to 80 bytes.
        for len in 0..80 {
            for at in 0..len {
                for x in [b'&', b'%', b'\'', 0xA6, 0x26 ^ 0x80] {
                    let mut b = vec![b'a'; len];
                    b[at] = x;
                    assert_eq!(has_ampersand(&b), b.contains(&b'&'), "{len} {at} {x}");
                }
            }
        }
    }
}
