//! The rules that turn token valences into a score: negation and its scope, boosters and
//! dampeners, capitals, elongation, idioms, contrast and concession, `!` and `?` emphasis.
//! Constants marked (VADER) are Hutto & Gilbert's empirically derived values.

use std::hint::select_unpredictable;

use super::lexicon::{
    self, BOOST, CONCEDE, CONTRAST, IDIOM_START, ID_AS, ID_AT, ID_DOUBT, ID_KIND, ID_LEAST,
    ID_LIKE, ID_NEVER, ID_NO, ID_OF, ID_SO, ID_SORT, ID_THIS, ID_WELL, NEG, RATED, VERB_CUE,
};
use super::scan::{Kind, Marks, Tok};

/// Added to a word's magnitude when written in capitals among other words (VADER).
pub(crate) const CAPS_BOOST: f64 = 0.733;
/// Added to a word's magnitude when its letters are stretched (`sooo goood`).
pub(crate) const ELONGATION_BOOST: f64 = 0.293;
/// Multiplier for a negated word: flips it and shrinks it (VADER).
pub(crate) const NEGATION: f64 = -0.74;
/// Decay of a booster's effect with distance: 1, 2 or 3 words before (VADER).
const BOOST_DECAY: [f64; 3] = [1.0, 0.95, 0.9];
/// Weight of the clause before a contrast and after it (VADER).
const BEFORE_CONTRAST: f64 = 0.5;
const AFTER_CONTRAST: f64 = 1.5;
/// Weight of a concessive clause (`although it rained, ...`).
const CONCESSION: f64 = 0.5;
/// The most contrasts (or concessions) that reweigh one word. Each one halves what comes before
/// it and raises what follows by half, so weights would otherwise grow without bound in a long
/// run of `but`s (1.5^n overflows, and the score with it); past a few contrasts a sentence is a
/// list, not an argument, and further ones move nothing.
const MAX_CONTRASTS: u32 = 4;
/// `!` emphasis per mark, at most [`MAX_EXCLAMATIONS`] marks (VADER).
const EXCLAMATION: f64 = 0.292;
const MAX_EXCLAMATIONS: u32 = 4;
/// `?` emphasis per mark from two marks on, capped (VADER).
const QUESTION: f64 = 0.18;
const MAX_QUESTION: f64 = 0.96;
/// Weight of sentiment words in a question: asking is weaker than asserting.
pub(crate) const QUESTION_WEIGHT: f64 = 0.5;
/// Weight of a title-case word inside a run of them mid-sentence (`Bad Girls Club`): a name.
pub(crate) const NAME_WEIGHT: f64 = 0.0;
/// Weight of words in a headline-case sentence: the register of news and titles, which report
/// rather than evaluate.
pub(crate) const HEADLINE_WEIGHT: f64 = 0.5;
/// Weight of a word in scare quotes (`so "helpful"`): the writer does not vouch for it.
pub(crate) const QUOTED_WEIGHT: f64 = 0.5;
/// Weight of a lone title-case word mid-sentence: often a name, sometimes emphasis.
pub(crate) const SINGLE_NAME_WEIGHT: f64 = 0.5;
/// How far back a negator or booster reaches, in words.
const SCOPE: usize = 3;

/// A token the rules left with a valence (in text order): most tokens have none, and neither the
/// totals nor the evidence need those, so nothing is kept per token.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rated {
    /// Its index among the tokens.
    pub tok: u32,
    /// Where the evidence span of an idiom ends (it spans several tokens); 0 for any other
    /// token, whose span is its own.
    pub end: u32,
    /// Final valence (0 only if contrasts or concessions underflowed it).
    pub valence: f64,
}

/// The multi-word idioms met last, as token ranges `from..to` (oldest first; empty ranges where
/// none): the words of an idiom modify nothing else, and a word looks back at most [`SCOPE`]
/// tokens, which at most three idioms (of two words or more) can reach.
#[derive(Default)]
struct Spans {
    recent: [(usize, usize); 3],
}

impl Spans {
    fn push(&mut self, from: usize, to: usize) {
        self.recent = [self.recent[1], self.recent[2], (from, to)];
    }

    /// The end of the last idiom: the tokens before it that it covers are absorbed.
    fn last_end(&self) -> usize {
        self.recent[2].1
    }

    /// Whether token `k` is a word of an idiom (its first word included), for `k` at most
    /// [`SCOPE`] tokens before the last token weighed.
    fn covers(&self, k: usize) -> bool {
        self.recent.iter().any(|&(from, to)| from <= k && k < to)
    }
}

/// The scorer's totals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub compound: f64,
    pub positive: f64,
    pub neutral: f64,
    pub negative: f64,
    /// Sum of |valence| of emoji and emoticons, and of words.
    pub sign_weight: f64,
    pub word_weight: f64,
    pub sign_positive: bool,
    pub sign_negative: bool,
}

fn entry_has(t: &Tok, flag: u8) -> bool {
    t.entry.flags & flag != 0
}

/// Whether `t` is the special word `id` (`lexicon::ID_*`).
fn is_word(t: &Tok, id: u8) -> bool {
    t.entry.id == id && t.kind == Kind::Word
}

fn is_negator(t: &Tok) -> bool {
    t.kind == Kind::Word && (entry_has(t, NEG) || t.nt)
}

fn is_rated_word(t: &Tok) -> bool {
    t.kind == Kind::Word && t.base != 0.0 && entry_has(t, RATED)
}

/// Applies the rules; `rated` gets the tokens left with a valence, in text order.
pub(crate) fn apply(
    text: &str,
    toks: &[Tok],
    marks: Marks,
    use_lexicon: bool,
    weigh: &[u32],
    rated: &mut Vec<Rated>,
) -> Totals {
    let tb = text.as_bytes();
    rated.clear();
    let mut absorbed = 0usize;
    let mut spans = Spans::default();

    // Some word is in capitals and some is not (capitals then stand out as emphasis): looked up
    // only when a weighed word or its booster is in capitals, which is rare.
    let mut mixed: Option<bool> = None;
    let mut mixed_caps = || {
        *mixed.get_or_insert_with(|| {
            let words = || toks.iter().filter(|t| t.kind == Kind::Word);
            words().any(|t| t.caps) && words().any(|t| !t.caps)
        })
    };

    // Only the listed tokens can end with a valence: the others would fall through the first
    // checks below.
    let mut names = NameRun::default();
    for &i in weigh {
        let i = i as usize;
        let Some(t) = toks.get(i) else { continue };
        // Inside an idiom already rated at its first word.
        if i < spans.last_end() {
            continue;
        }
        if t.kind != Kind::Word {
            if t.base != 0.0 {
                rated.push(Rated {
                    tok: i as u32,
                    end: 0,
                    valence: t.base,
                });
            }
            continue;
        }
        // A listed word has a valence or starts an idiom (the scanner lists no other word).
        debug_assert!(t.base != 0.0 || entry_has(t, IDIOM_START));
        if !use_lexicon {
            continue;
        }
        let mut v = t.base;
        let mut idiom = false;
        let mut idiom_end = 0;
        // Idioms replace the valence of their words.
        if entry_has(t, IDIOM_START) {
            match idiom_at(tb, toks, i) {
                Some((len, val, end)) => {
                    v = val;
                    idiom = true;
                    if end != t.end {
                        idiom_end = end;
                    }
                    if len > 1 {
                        spans.push(i, i + len);
                        absorbed += len - 1;
                    }
                }
                // Most idiom starts are function words (`the`, `to`) with no valence and no
                // idiom here: nothing below would change (every path ends at `v == 0.0`).
                None if v == 0.0 => continue,
                None => {}
            }
        }
        // The rules on the word itself are all about a booster or a word with an identity.
        if !idiom && (t.entry.id != 0 || entry_has(t, BOOST)) {
            let next = toks.get(i + 1).filter(|n| n.clause == t.clause);
            // A booster before a rated word modifies it and carries no valence of its own.
            if entry_has(t, BOOST) && next.is_some_and(is_rated_word) {
                continue;
            }
            // `kind of`, `sort of` as dampeners.
            if (is_word(t, ID_KIND) || is_word(t, ID_SORT))
                && next.is_some_and(|n| is_word(n, ID_OF))
            {
                continue;
            }
            // `no` before a rated word is a determiner that negates it (`no good`), not a `No!`.
            // `no` carries its own (negative) valence only as an interjection, where it ends its
            // clause (`No!`, `no, thanks`); as a determiner (`no idea`, `no class`) it only negates
            // what follows.
            if is_word(t, ID_NO) && next.is_some() {
                continue;
            }
            // `like` carries sentiment as a verb (`I like it`), not as a preposition or filler
            // (`like a pro`, `it's like 10pm`).
            if is_word(t, ID_LIKE) && !like_is_verb(toks, i) {
                continue;
            }
            // `well` as a discourse marker (`Well, ...`) or in `as well`.
            if is_word(t, ID_WELL) && (t.sentence_start || i >= 1 && is_word(&toks[i - 1], ID_AS)) {
                continue;
            }
        }
        if v == 0.0 {
            continue;
        }
        let sign = if v > 0.0 { 1.0 } else { -1.0 };
        if t.caps && mixed_caps() {
            v += sign * CAPS_BOOST;
        }
        if t.elongated {
            v += sign * ELONGATION_BOOST;
        }
        // Look back within the clause. A hashtag is a unit of its own: a negator or booster
        // reaches into it only from right before it (`not #happy`), not from further back
        // (`no school today #happy`, `not at home #MerryChristmas`).
        let reach = if t.hashtag {
            let first = (0..=i)
                .rev()
                .find(|&k| tb.get((toks[k].start as usize).wrapping_sub(1)) == Some(&b'#'))
                .unwrap_or(0);
            i - first + 1
        } else {
            SCOPE
        };
        // An idiom ends among the tokens looked back at (rare: most texts have none).
        let near_idiom = spans.last_end() + SCOPE > i;
        // An exclusive range: `RangeInclusive` keeps an exhausted flag the loop tests as well.
        for d in 1..SCOPE.min(reach).min(i) + 1 {
            let p = &toks[i - d];
            if p.clause != t.clause || p.kind != Kind::Word {
                break;
            }
            // Only boosters, negators and words with an identity modify (most words do not).
            if p.entry.id == 0 && p.entry.flags & (BOOST | NEG) == 0 && !p.nt {
                continue;
            }
            // Words of an idiom modify nothing else.
            if near_idiom && spans.covers(i - d) {
                continue;
            }
            if entry_has(p, BOOST) {
                let mut s = p.entry.boost * sign;
                if p.caps && mixed_caps() {
                    s += sign * CAPS_BOOST;
                }
                v += s * BOOST_DECAY[d - 1];
            } else if (is_word(p, ID_KIND) || is_word(p, ID_SORT))
                && d >= 2
                && is_word(&toks[i - d + 1], ID_OF)
            {
                v -= sign * 0.293 * BOOST_DECAY[d - 1];
            }
            if is_negator(p) || is_word(p, ID_NO) {
                // `never so good` intensifies; `no doubt` / `without doubt` do not negate.
                let intensifies = is_word(p, ID_NEVER)
                    && d >= 2
                    && (is_word(&toks[i - d + 1], ID_SO) || is_word(&toks[i - d + 1], ID_THIS));
                let doubt = d >= 2 && is_word(&toks[i - d + 1], ID_DOUBT);
                if intensifies {
                    v *= 1.25;
                } else if !doubt {
                    v *= NEGATION;
                }
            }
        }
        // `least` negates, `at least` does not.
        if i >= 1 && is_word(&toks[i - 1], ID_LEAST) && toks[i - 1].clause == t.clause {
            let at = i >= 2 && is_word(&toks[i - 2], ID_AT);
            if !at {
                v *= NEGATION;
            }
        }
        if t.question {
            v *= QUESTION_WEIGHT;
        }
        v *= names.weight(toks, i);
        if quoted(tb, t) {
            v *= QUOTED_WEIGHT;
        }
        if t.headline {
            v *= HEADLINE_WEIGHT;
        }
        if v != 0.0 {
            rated.push(Rated {
                tok: i as u32,
                end: idiom_end,
                valence: v,
            });
        }
    }

    // Contrast: the part after the last `but` weighs more than the part before. Most texts have
    // neither a contrast nor a concession: the class bits the scanner gathered skip each pass.
    let clause_words = marks.flags & (CONTRAST | CONCEDE);
    if use_lexicon && clause_words & CONTRAST != 0 {
        contrast(toks, rated);
    }
    if use_lexicon && clause_words & CONCEDE != 0 {
        concession(toks, rated);
    }

    totals(toks, rated, toks.len() - absorbed, marks)
}

/// Whether `t` is a contrast word (`but`, `however`, ...).
fn is_contrast(t: &Tok) -> bool {
    t.kind == Kind::Word && entry_has(t, CONTRAST)
}

/// Contrast: `but` weighs the clause before it down and the rest of its sentence up; a sentence
/// that opens with `But` contrasts with the whole sentence before. A word is reweighed once per
/// contrast of its sentence (and once more when the next sentence opens with one), at most
/// [`MAX_CONTRASTS`] times each way. One pass per sentence that holds a rated token: counting,
/// then weighing those.
fn contrast(toks: &[Tok], rated: &mut [Rated]) {
    let mut start = 0;
    let mut r = 0;
    while r < rated.len() {
        // The sentence of the next rated token.
        let first = rated[r].tok as usize;
        while let Some(p) = toks
            .get(start + 1..=first)
            .and_then(|s| s.iter().position(|t| t.sentence_start))
        {
            start += 1 + p;
        }
        let end = toks[start + 1..]
            .iter()
            .position(|t| t.sentence_start)
            .map_or(toks.len(), |p| start + 1 + p);
        let here = rated[r..]
            .iter()
            .take_while(|x| (x.tok as usize) < end)
            .count();
        let contrasts = toks[start..end].iter().filter(|t| is_contrast(t)).count();
        let next_opens = toks.get(end).is_some_and(is_contrast);
        if contrasts > 0 || next_opens {
            let total = u32::try_from(contrasts).unwrap_or(u32::MAX);
            // Contrasts before the token (`seen`), counted up to it.
            let (mut seen, mut at) = (0u32, start);
            for x in &mut rated[r..r + here] {
                let k = x.tok as usize;
                seen += toks[at..k].iter().filter(|t| is_contrast(t)).count() as u32;
                at = k;
                let own = u32::from(is_contrast(&toks[k]));
                // Contrasts after this word, and the next sentence's opening one.
                let later = total - seen - own + u32::from(next_opens);
                for _ in 0..seen.min(MAX_CONTRASTS) {
                    x.valence *= AFTER_CONTRAST;
                }
                for _ in 0..later.min(MAX_CONTRASTS) {
                    x.valence *= BEFORE_CONTRAST;
                }
            }
        }
        r += here;
        start = end;
    }
}

/// Concession: the clause an `although` opens weighs less, halved for each concession word
/// before a word in its clause (at most [`MAX_CONTRASTS`] times).
fn concession(toks: &[Tok], rated: &mut [Rated]) {
    let mut clause = None;
    let mut seen = 0u32;
    let mut rated = rated.iter_mut().peekable();
    for (k, t) in toks.iter().enumerate() {
        let Some(x) = rated.peek_mut() else { break };
        if clause != Some(t.clause) {
            clause = Some(t.clause);
            seen = 0;
        }
        if x.tok as usize == k {
            for _ in 0..seen.min(MAX_CONTRASTS) {
                x.valence *= CONCESSION;
            }
            rated.next();
        }
        if t.kind == Kind::Word && entry_has(t, CONCEDE) {
            seen += 1;
        }
    }
}

/// A lone word in quotes (`a 'genius'`): scare quotes, the writer keeps a distance.
fn quoted(tb: &[u8], t: &Tok) -> bool {
    let is_quote = |c: Option<&u8>| matches!(c, Some(b'"' | b'\''));
    t.start > 0 && is_quote(tb.get(t.start as usize - 1)) && is_quote(tb.get(t.end as usize))
}

/// Whether `like` at `i` is the verb: after a subject pronoun, an auxiliary, `to` or an adverb.
fn like_is_verb(toks: &[Tok], i: usize) -> bool {
    i.checked_sub(1).map(|j| &toks[j]).is_some_and(|p| {
        p.kind == Kind::Word && p.clause == toks[i].clause && entry_has(p, VERB_CUE)
    })
}

/// The run of title-case words last measured, `from..=to`: the words of a run share its weight, so
/// a long run is walked once, not once per word (`Good Bad Good Bad ...` was quadratic).
#[derive(Default)]
struct NameRun {
    from: usize,
    to: usize,
    weight: Option<f64>,
}

impl NameRun {
    /// The weight of word `i` as a possible name: a title-case word that does not start its
    /// sentence is most likely a name (`... from Bad Girls Club`, `... that Grimes slipped`), not
    /// an opinion; certainly so in a run of them, less so alone (`this is Amazing`). Hashtags
    /// excluded. Words are asked about in text order.
    fn weight(&mut self, toks: &[Tok], i: usize) -> f64 {
        let t = &toks[i];
        if !t.title || t.hashtag || t.kind != Kind::Word {
            return 1.0;
        }
        if let Some(w) = self.weight.filter(|_| (self.from..=self.to).contains(&i)) {
            return w;
        }
        // A name may hold acronyms: `Miss USA`, `Bad Girls Club NYC`.
        let title_at = |k: usize| {
            toks.get(k).is_some_and(|u| {
                u.kind == Kind::Word && (u.title || u.caps) && !u.hashtag && u.clause == t.clause
            })
        };
        let mut from = i;
        while from > 0 && title_at(from - 1) {
            from -= 1;
        }
        let mut to = i;
        while title_at(to + 1) {
            to += 1;
        }
        let weight = if toks[from].sentence_start {
            1.0
        } else if to > from {
            NAME_WEIGHT
        } else {
            SINGLE_NAME_WEIGHT
        };
        *self = NameRun {
            from,
            to,
            weight: Some(weight),
        };
        weight
    }
}

/// The idiom starting at token `i`: (token count, valence, end of its span).
fn idiom_at(tb: &[u8], toks: &[Tok], i: usize) -> Option<(usize, f64, u32)> {
    // Asked only about idiom starts, which have an entry (no entry would find an empty list).
    let first = toks.get(i)?.entry;
    // Most idiom starts are common words (`the`, `of`) followed by no idiom's second word.
    let goes_on = lexicon::idiom_next(first);
    if goes_on & lexicon::IDIOM_ONE_WORD == 0 {
        let next = toks.get(i + 1)?;
        let c = tb.get(next.start as usize).copied().unwrap_or(0);
        if goes_on & lexicon::idiom_next_bit(c) == 0 {
            return None;
        }
    }
    let clause = toks[i].clause;
    'idioms: for &(words, val) in lexicon::idioms(first) {
        let Some(span) = toks.get(i..i + words.len()) else {
            continue;
        };
        // The words after the first (sliced: a zipped, skipped iterator is not inlined here).
        let rest = span.get(1..).unwrap_or_default();
        for (t, w) in rest.iter().zip(words.get(1..).unwrap_or_default()) {
            if t.kind != Kind::Word || t.clause != clause {
                continue 'idioms;
            }
            if !eq_word(&tb[t.start as usize..t.end as usize], w.as_bytes()) {
                continue 'idioms;
            }
        }
        // The first word matched by its entry; idioms are listed longest first.
        return Some((words.len(), val, span[span.len() - 1].end));
    }
    None
}

/// Case-insensitive word equality that treats `’` as `'` (`key`: lower case).
fn eq_word(text: &[u8], key: &[u8]) -> bool {
    // A `’` (three bytes) for a `'` only makes the text longer: of the same length, the two are
    // equal byte for byte (up to case) or not at all; shorter, never.
    if text.len() == key.len() {
        return text.eq_ignore_ascii_case(key);
    }
    if text.len() < key.len() {
        return false;
    }
    let mut a = text.iter().copied().peekable();
    let mut b = key.iter().copied();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(0xE2), Some(b'\'')) => {
                // U+2019 is E2 80 99.
                if a.next() != Some(0x80) || a.next() != Some(0x99) {
                    return false;
                }
            }
            (Some(x), Some(y)) if x.to_ascii_lowercase() == y => {}
            _ => return false,
        }
    }
}

/// The totals over the tokens not absorbed by an idiom (`live` of them): those in `rated`, in
/// text order, and the rest, which all have valence 0 (adding 0 changes no sum: they only count
/// as neutral).
fn totals(toks: &[Tok], rated: &[Rated], live: usize, marks: Marks) -> Totals {
    let mut out = Totals::default();
    let (mut sum, mut pos, mut neg) = (0.0f64, 0.0f64, 0.0f64);
    let mut neu = u32::try_from(live.saturating_sub(rated.len())).unwrap_or(u32::MAX);
    for x in rated {
        let Some(t) = toks.get(x.tok as usize) else {
            continue;
        };
        let v = x.valence;
        sum += v;
        // Without branches (the sign of a valence is unpredictable): adding 0 to `pos` (+0 or
        // more) or `neg` (+0 or less) leaves it as it is.
        pos += if v > 0.0 { v + 1.0 } else { 0.0 };
        neg += if v < 0.0 { v - 1.0 } else { 0.0 };
        neu += u32::from(v == 0.0);
        if t.kind == Kind::Word {
            out.word_weight += v.abs();
        } else {
            out.sign_weight += v.abs();
            out.sign_positive |= v > 0.0;
            out.sign_negative |= v < 0.0;
        }
    }
    // Without branches from here: whether a text has sentiment, and of which sign, is not
    // predictable from text to text. The general case is computed always (with no sentiment, a
    // division by 0 when no token counts) and the text without sentiment given its fixed shares.
    let none = pos == 0.0 && neg == 0.0;
    let emphasis = f64::from(marks.exclamations.min(MAX_EXCLAMATIONS)) * EXCLAMATION
        + match marks.questions {
            0 | 1 => 0.0,
            q @ 2..=3 => f64::from(q) * QUESTION,
            _ => MAX_QUESTION,
        };
    let sum = select_unpredictable(
        sum > 0.0,
        sum + emphasis,
        select_unpredictable(sum < 0.0, sum - emphasis, sum),
    );
    // IEEE 754 requires square roots correctly rounded, so `sqrt` gives the same bits on every
    // platform (it is not a transcendental function); std's is one instruction natively and in
    // WebAssembly (`f64.sqrt`), where `libm::sqrt` is a software routine on stable Rust.
    let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
    let (pos, neg) = (
        select_unpredictable(pos > -neg, pos + emphasis, pos),
        select_unpredictable(pos < -neg, neg - emphasis, neg),
    );
    let total = pos - neg + f64::from(neu);
    out.compound = select_unpredictable(none, 0.0, compound);
    out.positive = select_unpredictable(none, 0.0, pos / total);
    out.negative = select_unpredictable(none, 0.0, -neg / total);
    out.neutral = select_unpredictable(none, 1.0, f64::from(neu) / total);
    out
}
