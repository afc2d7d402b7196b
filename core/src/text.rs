//! Text folding and word splitting shared by the filters.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower-cases and strips accents: `Noël` and `NOEL` both fold to `noel`.
pub(crate) fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `c` belongs to a script written without spaces between words.
pub(crate) fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FA1F) // CJK extensions B and later
}

/// The words of a text, folded, for keyword matching.
///
/// Hashtags add their whole folded tag to `tags` and, split at camel-case and letter/digit
/// boundaries, their parts to `words` (`#MerryChristmas` gives `merry`, `christmas`). Apostrophes
/// split words, so a possessive (`Christmas's`) yields the bare word.
#[derive(Debug, Default)]
pub(crate) struct Words {
    pub words: Vec<String>,
    pub tags: Vec<String>,
}

impl Words {
    pub fn of(text: &str) -> Self {
        let mut out = Words::default();
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if !c.is_alphanumeric() {
                continue;
            }
            let mut end = start + c.len_utf8();
            while let Some(&(i, n)) = chars.peek() {
                if !(n.is_alphanumeric() || is_joiner(n)) {
                    break;
                }
                end = i + n.len_utf8();
                chars.next();
            }
            let word = &text[start..end];
            let is_tag = text[..start].ends_with(['#', '＃']);
            if is_tag {
                out.tags.push(fold(word));
                out.words.extend(camel_parts(word).map(fold));
            } else {
                out.words.push(fold(word));
            }
        }
        out
    }
}

/// Marks that join letters of one word in some scripts but never start one.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}') || is_combining_mark(c)
}

/// Splits `MerryChristmas2024` into `Merry`, `Christmas`, `2024`; `NYC` stays whole.
fn camel_parts(tag: &str) -> impl Iterator<Item = &str> {
    let mut bounds = vec![0];
    let chars: Vec<(usize, char)> = tag.char_indices().collect();
    for w in 1..chars.len() {
        let (i, c) = chars[w];
        let prev = chars[w - 1].1;
        let next = chars.get(w + 1).map(|&(_, n)| n);
        let lower_to_upper = prev.is_lowercase() && c.is_uppercase();
        // "XMASParty": the last capital of a run starts the next word.
        let acronym_end =
            prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
        let digit_edge = prev.is_numeric() != c.is_numeric();
        if lower_to_upper || acronym_end || digit_edge {
            bounds.push(i);
        }
    }
    bounds.push(tag.len());
    (0..bounds.len() - 1).map(move |k| &tag[bounds[k]..bounds[k + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Noël ÉTÉ"), "noel ete");
    }

    #[test]
    fn splits_camel_case_tags() {
        let parts: Vec<_> = camel_parts("MerryXMASParty2024").collect();
        assert_eq!(parts, ["Merry", "XMAS", "Party", "2024"]);
    }

    #[test]
    fn words_and_tags() {
        let w = Words::of("It's #MerryChristmas at Santa's!");
        assert_eq!(
            w.words,
            ["it", "s", "merry", "christmas", "at", "santa", "s"]
        );
        assert_eq!(w.tags, ["merrychristmas"]);
    }
}
