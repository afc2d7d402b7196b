//! Sentiment engine: one golden file per rule family in `tests/golden/score/`, plus the
//! direction each rule must move the score, robustness on odd input, and determinism.

use sentimap_core::sentiment::{score, CompatLabel, EvidenceKind, Label, Method, Scorer};
use sentimap_tests::golden;
use serde_json::json;

/// Scores each `(text, lang)` case and checks the JSONL against `tests/golden/score/<name>.jsonl`.
fn check_family(name: &str, cases: &[(&str, Option<&str>)]) {
    let mut out = String::new();
    for (text, lang) in cases {
        let s = score(text, *lang);
        let line = json!({ "text": text, "lang": lang, "score": s });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    golden::check(&format!("tests/golden/score/{name}.jsonl"), &out);
}

fn compound(text: &str) -> f64 {
    score(text, None).compound
}

#[test]
fn emoticons() {
    let cases = [
        ("Home at last :)", None),
        ("Home at last :-)", None),
        ("Home at last :D", None),
        ("that was close ;)", None),
        ("missed the bus :(", None),
        ("missed the bus :'(", None),
        ("you again :P", None),
        ("my cat <3", None),
        ("we broke up </3", None),
        ("so funny xD", None),
        ("finally ^_^", None),
        ("monday again -_-", None),
        ("exam tomorrow T_T", None),
        ("glued to the word today:(", None),
        ("and again:)", None),
        ("&lt;3 my team", None),
        ("happy :) and sad :(", None),
        ("time: 10:30 at gate 8", None),
    ];
    check_family("emoticons", &cases);
    let s = score("missed the bus :(", None);
    assert_eq!(s.label, Label::Negative);
    assert_eq!(s.method, Method::Emoticon);
    assert_eq!(s.emoji, [":("]);
    assert_eq!(score("my cat <3", None).label, Label::Positive);
    assert_eq!(score("&lt;3 my team", None).emoji, ["<3"]);
    assert_eq!(score("glued to the word today:(", None).emoji, [":("]);
    assert_eq!(
        score("happy :) and sad :(", None).compat,
        CompatLabel::Confused
    );
    assert!(score("time: 10:30 at gate 8", None).emoji.is_empty());
}

#[test]
fn emoji() {
    let cases = [
        ("Best day ever 😍", None),
        ("😂😂😂", None),
        ("🙂", None),
        ("traffic again 😡", None),
        ("thumbs 👍", None),
        ("thumbs with a skin tone 👍🏽", None),
        ("thumbs with another tone 👍🏿", None),
        ("red heart with VS16 ❤️", None),
        ("red heart without VS16 ❤", None),
        ("heart on fire ❤️‍🔥", None),
        ("facepalm with tone and gender 🤦🏻‍♂️", None),
        ("family 👨‍👩‍👧", None),
        ("flag 🇫🇷", None),
        ("keycap 1️⃣", None),
        ("face exhaling 😮‍💨", None),
        ("broken 💔 but hopeful 🙏", None),
        ("love it😍😍", None),
        ("😊 and 😢 together", None),
        ("🎄", None),
    ];
    check_family("emoji", &cases);
    let plain = score("thumbs 👍", None);
    let toned = score("thumbs 👍🏽", None);
    assert_eq!(
        plain.compound, toned.compound,
        "skin tone keeps the valence"
    );
    assert_eq!(toned.emoji, ["👍🏽"], "the sequence is reported whole");
    assert_eq!(
        score("red heart with VS16 ❤️", None).compound,
        score("red heart with VS16 ❤", None).compound
    );
    assert_eq!(
        score("heart on fire ❤️‍🔥", None).emoji.len(),
        1,
        "ZWJ sequence is one emoji"
    );
    assert_eq!(
        score("facepalm with tone and gender 🤦🏻‍♂️", None).label,
        Label::Negative
    );
    assert_eq!(score("😂😂😂", None).method, Method::Emoticon);
    assert_eq!(
        score("😊 and 😢 together", None).compat,
        CompatLabel::Confused
    );
    let e = score("love it😍😍", None);
    assert_eq!(e.emoji.len(), 2);
    assert!(e.evidence.iter().any(|x| x.kind == EvidenceKind::Emoji));
    assert_eq!(score("🎄", None).label, Label::Neutral);
}

#[test]
fn negation() {
    let cases = [
        ("the movie was good", None),
        ("the movie was not good", None),
        ("the movie wasn't good", None),
        ("the movie wasn’t good", None),
        ("the movie was never good", None),
        ("not bad at all", None),
        ("I don't think it's good", None),
        ("without a doubt the best", None),
        ("no doubt the best", None),
        ("no good", None),
        ("No! I wanted that", None),
        ("it's not, good", None),
        ("at least it was good", None),
        ("the least good option", None),
        ("never so happy", None),
    ];
    check_family("negation", &cases);
    assert!(compound("the movie was not good") < 0.0);
    assert!(compound("the movie wasn't good") < 0.0);
    assert!(compound("the movie wasn’t good") < 0.0, "curly apostrophe");
    assert!(compound("not bad at all") > 0.0);
    assert!(
        compound("I don't think it's good") < 0.0,
        "scope reaches three words"
    );
    assert!(compound("no good") < 0.0);
    assert!(
        compound("it's not, good") > 0.0,
        "scope stops at clause punctuation"
    );
    assert!(compound("at least it was good") > 0.0);
    assert!(compound("never so happy") > compound("happy"));
}

#[test]
fn boosters_dampeners() {
    let cases = [
        ("the food is good", None),
        ("the food is very good", None),
        ("the food is extremely good", None),
        ("the food is VERY good", None),
        ("the food is kind of good", None),
        ("the food is slightly good", None),
        ("the food is barely good", None),
        ("the food is very bad", None),
        ("the food is somewhat bad", None),
        ("super", None),
        ("super tasty", None),
    ];
    check_family("boosters", &cases);
    assert!(compound("the food is very good") > compound("the food is good"));
    assert!(compound("the food is VERY good") > compound("the food is very good"));
    assert!(compound("the food is kind of good") < compound("the food is good"));
    assert!(compound("the food is slightly good") < compound("the food is good"));
    assert!(compound("the food is very bad") < compound("the food is bad"));
    assert!(compound("the food is somewhat bad") > compound("the food is bad"));
    assert!(
        compound("super") > 0.0,
        "a booster alone keeps its own valence"
    );
}

#[test]
fn contrast() {
    let cases = [
        ("the food was great but the service was terrible", None),
        ("the service was terrible but the food was great", None),
        (
            "the food was great, however the service was slow and rude",
            None,
        ),
        (
            "although the food was great, the service was terrible",
            None,
        ),
        ("if it is good I will buy it", None),
        ("nice but slow. But the staff were lovely", None),
        (
            "good but bad but good but bad but good but bad but good but bad",
            None,
        ),
        (
            "although cheap, although ugly, although late, it works",
            None,
        ),
    ];
    check_family("contrast", &cases);
    // Contrasts reweigh a word a bounded number of times: a long run of them keeps every figure
    // a number in range (1.5^n once overflowed into NaN, written as `null`).
    for unit in [
        "good but ",
        "although good ",
        "bad but great but ",
        "But fine. ",
    ] {
        let s = score(&unit.repeat(20_000), None);
        for x in [s.compound, s.positive, s.neutral, s.negative] {
            assert!(x.is_finite() && (-1.0..=1.0).contains(&x), "{unit}: {s:?}");
        }
        assert!(s.evidence.iter().all(|e| e.valence.is_finite()), "{unit}");
    }
    assert!(compound("the food was great but the service was terrible") < 0.0);
    assert!(compound("the service was terrible but the food was great") > 0.0);
    assert!(compound("although the food was great, the service was terrible") < 0.0);
    assert!(compound("if it is good I will buy it") < compound("it is good I will buy it"));
}

#[test]
fn caps() {
    let cases = [
        ("this is great", None),
        ("this is GREAT", None),
        ("THIS IS GREAT", None),
        ("I HATE mondays", None),
        ("meeting with the CEO", None),
    ];
    check_family("caps", &cases);
    assert!(compound("this is GREAT") > compound("this is great"));
    assert_eq!(
        compound("THIS IS GREAT"),
        compound("this is great"),
        "all-caps text has no emphasis contrast"
    );
    assert!(compound("I HATE mondays") < compound("I hate mondays"));
}

#[test]
fn punctuation() {
    let cases = [
        ("this is great", None),
        ("this is great!", None),
        ("this is great!!!", None),
        ("this is great!!!!!!!!", None),
        ("this is awful!!!", None),
        ("is this great?", None),
        ("is this great???", None),
        ("great. not. bad.", None),
    ];
    check_family("punctuation", &cases);
    assert!(compound("this is great!") > compound("this is great"));
    assert!(compound("this is great!!!") > compound("this is great!"));
    assert_eq!(
        compound("this is great!!!!!!!!"),
        compound("this is great!!!!"),
        "capped"
    );
    assert!(compound("this is awful!!!") < compound("this is awful"));
    assert!(
        compound("is this great?") < compound("this is great"),
        "a question asserts less"
    );
}

#[test]
fn elongation() {
    let cases = [
        ("so good", None),
        ("sooo goooood", None),
        ("loooove it", None),
        ("ughhhh", None),
        ("nooooo", None),
        ("haaaappy", None),
        ("aaaaaaaaaa", None),
    ];
    check_family("elongation", &cases);
    assert!(compound("sooo goooood") > compound("so good"));
    assert!(compound("loooove it") > compound("love it"));
    assert!(compound("ughhhh") < 0.0);
    assert!(compound("haaaappy") > 0.0);
    assert_eq!(score("aaaaaaaaaa", None).label, Label::Neutral);
}

#[test]
fn hashtags() {
    let cases = [
        ("#MerryChristmas everyone", None),
        ("#happy", None),
        ("#EpicFail again", None),
        ("#NotHappy", None),
        ("#XMASParty2024", None),
        ("#lovemylife", None),
        ("#TBT to last summer", None),
        ("no school today #happy", None),
        ("NOT good #MerryChristmas", None),
        ("not #happy", None),
        ("so #blessed", None),
    ];
    check_family("hashtags", &cases);
    // A hashtag is a unit of its own: modifiers reach it only from right before it.
    assert!(compound("no school today #happy") > 0.0);
    assert!(compound("not at home #MerryChristmas") > 0.0);
    assert!(compound("not #happy") < 0.0);
    assert!(compound("so #blessed") > compound("#blessed"));
    assert_eq!(
        score("#MerryChristmas everyone", None).label,
        Label::Positive
    );
    assert_eq!(score("#happy", None).label, Label::Positive);
    assert!(compound("#EpicFail again") < 0.0);
    assert!(compound("#NotHappy") < 0.0, "negation inside a hashtag");
}

#[test]
fn slang_idioms() {
    let cases = [
        ("luv u", None),
        ("lol that was funny", None),
        ("fml", None),
        ("wtf is this", None),
        ("gr8 news", None),
        ("I can't wait for the weekend", None),
        ("I can’t wait for the weekend", None),
        ("feeling under the weather", None),
        ("this album is the bomb", None),
        ("yeah right", None),
        ("that referee is a joke", None),
        ("I like it", None),
        ("it's like 10pm", None),
        ("Well, see you tomorrow", None),
        ("RT @user: check https://t.co/x good stuff", None),
        ("watching Bad Girls Club tonight", None),
    ];
    check_family("slang_idioms", &cases);
    assert!(compound("luv u") > 0.0);
    assert!(compound("fml") < 0.0);
    assert!(
        compound("I can't wait for the weekend") > 0.0,
        "idiom beats the negator"
    );
    assert!(compound("I can’t wait for the weekend") > 0.0);
    assert!(compound("feeling under the weather") < 0.0);
    assert!(compound("this album is the bomb") > 0.0);
    assert!(compound("that referee is a joke") < 0.0);
    assert!(compound("I like it") > 0.0);
    assert_eq!(compound("it's like 10pm"), 0.0, "like as a filler");
    let rt = score("RT @user: check https://t.co/x good stuff", None);
    assert!(
        rt.evidence.iter().all(|e| e.token == "good"),
        "URL, mention and RT ignored"
    );
    let idiom = score("feeling under the weather", None);
    let last = idiom.evidence.last().expect("evidence");
    assert_eq!(last.kind, EvidenceKind::Idiom);
    assert_eq!(last.token, "under the weather");
}

#[test]
fn language() {
    let cases = [
        ("I love it", Some("en")),
        ("I love it", Some("en-GB")),
        ("I love it", Some("und")),
        ("I love it", None),
        ("c'est super bien", Some("fr")),
        ("c'est nul :(", Some("fr")),
        ("feliz navidad 🎄😍", Some("es")),
        ("ich liebe es", Some("de")),
    ];
    check_family("language", &cases);
    assert!(score("I love it", Some("en")).lexicon_applied);
    assert!(score("I love it", Some("und")).lexicon_applied);
    let fr = score("c'est super bien", Some("fr"));
    assert!(!fr.lexicon_applied);
    assert_eq!(fr.label, Label::Neutral, "no English lexicon on French");
    assert_eq!(fr.method, Method::None);
    let fr = score("c'est nul :(", Some("fr"));
    assert_eq!(fr.label, Label::Negative, "emoticons still count");
    assert_eq!(fr.method, Method::Emoticon);
    assert_eq!(
        score("feliz navidad 🎄😍", Some("es")).label,
        Label::Positive
    );
}

#[test]
fn odd_input_never_panics() {
    let long_word = "a".repeat(1 << 20);
    let long_text = "not very good :( 😍🏽‍🔥 #HashTag &amp; ".repeat(30_000);
    let emoji_run = "👍🏽\u{200D}".repeat(50_000);
    let inputs = [
        "",
        " ",
        "\u{0}",
        "\u{200D}",
        "\u{FE0F}\u{1F3FB}",
        "🏽",
        "#",
        "@",
        "&",
        "&#xFFFFFF;&#0;&#99999999999;",
        "n't",
        "but",
        "not",
        "no",
        ":",
        "'''---",
        "a\u{301}\u{301}\u{301}",
        "ｆｕｌｌｗｉｄｔｈ ＧＲＥＡＴ",
        "مرحبا بالعالم",
        "日本語のテキスト😀",
        "\u{1F1E6}",
        "🇫🇷🇩",
        "\u{E0067}\u{E007F}",
        long_word.as_str(),
        long_text.as_str(),
        emoji_run.as_str(),
    ];
    let mut scorer = Scorer::new();
    for text in inputs {
        for lang in [None, Some("en"), Some("ja"), Some("")] {
            let s = scorer.score(text, lang);
            assert!(
                (-1.0..=1.0).contains(&s.compound),
                "{:?}",
                &text[..text.len().min(40)]
            );
            assert!(s.compound.is_finite() && s.positive.is_finite() && s.neutral.is_finite());
            let sum = s.positive + s.neutral + s.negative;
            assert!((sum - 1.0).abs() < 1e-3, "shares sum to 1, got {sum}");
        }
    }
}

#[test]
fn deterministic_and_reusable() {
    let texts = [
        "I LOVE this sooo much!!! 😍👍🏽 but the ending was not good :(",
        "#MerryChristmas &lt;3",
        "meh",
    ];
    let mut scorer = Scorer::new();
    for t in texts {
        let fresh = score(t, None);
        let reused = scorer.score(t, None);
        assert_eq!(fresh, reused);
        let summary = scorer.summary(t, None);
        assert_eq!(summary.compound.to_bits(), fresh.compound.to_bits());
        assert_eq!(summary.label, fresh.label);
    }
}

#[test]
fn register_and_hedges() {
    let cases = [
        ("the new season of Bad Girls Club starts tonight", None),
        ("Bad news for the club tonight", None),
        ("we met Grimes at the show", None),
        (
            "Chris Jericho Talks Ryback Winning The Title On Sunday",
            None,
        ),
        ("the waiter was so \"helpful\"", None),
        ("the waiter was so helpful", None),
        ("it may be great", None),
        ("it is great", None),
        ("is it great?", None),
        ("no idea what time it starts", None),
        ("no one liked it", None),
        ("please send me the link", None),
    ];
    check_family("register_hedges", &cases);
    assert_eq!(
        compound("the new season of Bad Girls Club starts tonight"),
        0.0,
        "a name"
    );
    assert!(
        compound("Bad news for the club tonight") < 0.0,
        "sentence-initial capital is no name"
    );
    assert!(compound("the waiter was so \"helpful\"") < compound("the waiter was so helpful"));
    assert!(
        compound("it may be great") < compound("it is great"),
        "a hedge asserts less"
    );
    assert!(compound("is it great?") < compound("it is great"));
    assert_eq!(compound("no idea what time it starts"), 0.0);
    assert!(
        compound("no one liked it") < 0.0,
        "determiner no still negates"
    );
    assert_eq!(
        compound("please send me the link"),
        0.0,
        "politeness is no feeling"
    );
    let headline = compound("Chris Jericho Talks Ryback Winning The Title On Sunday");
    assert!(headline < compound("chris jericho talks ryback winning the title on sunday"));
}
