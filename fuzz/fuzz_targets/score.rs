//! Any text, any language tag: scoring never panics and stays in range.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (lang, text) = match data.split_first() {
        Some((b, rest)) if b % 3 == 0 => (Some("en"), rest),
        Some((b, rest)) if b % 3 == 1 => (Some("ja"), rest),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    let text = String::from_utf8_lossy(text);
    let s = sentimap_core::score(&text, lang);
    assert!(s.compound.is_finite() && (-1.0..=1.0).contains(&s.compound));
    for share in [s.positive, s.neutral, s.negative] {
        assert!(share.is_finite() && (0.0..=1.0).contains(&share));
    }
});
