//! Cross-runtime test vectors: requests for the core's facade ([`sentimap_core::api::process`])
//! and the exact result bytes the native core gives. Every runtime (native, wasmtime, Node,
//! Chromium, Python, Go, Java) must give the same bytes.
//!
//! The file `tests/vectors/vectors.json` is written by `cargo run -p sentimap-tests --bin
//! gen-vectors` (or `BLESS=1 cargo test -p sentimap-tests --test it vectors`); a test fails when it
//! is stale. Its format (version 1), one case per line:
//!
//! ```json
//! {"format":"sentimap-vectors","version":1,"api_version":1,"count":N,"cases":[
//! {"name":"score/emoji/0","req":"{\"v\":1,\"op\":\"score\"}\n😀","want":"{\"label\":..."},
//! ...]}
//! ```
//!
//! A case's request is one of `req` (a UTF-8 string), `req_b64` (base64 bytes, for invalid UTF-8),
//! or `req_recipe` (`{"prefix","repeat","times","suffix"}`: prefix + repeat × times + suffix, for
//! inputs of a megabyte and more). Its expected result is `want` (a string), or `want_sha256` and
//! `want_len` (the SHA-256 hex digest and length of the result bytes) when the result is over
//! [`INLINE_LIMIT`] bytes.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use sentimap_core::api::{self, Header, Op};

/// Where the committed file lives, relative to the repository root.
pub const PATH: &str = "tests/vectors/vectors.json";

/// Results longer than this are stored as a digest.
pub const INLINE_LIMIT: usize = 16 * 1024;

/// How a case's request bytes are given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Bytes before the repeated part.
    pub prefix: String,
    /// The repeated unit.
    pub repeat: String,
    /// How many times.
    pub times: usize,
    /// Bytes after it.
    pub suffix: String,
}

impl Recipe {
    /// The request bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.prefix.len() + self.repeat.len() * self.times + self.suffix.len(),
        );
        out.extend_from_slice(self.prefix.as_bytes());
        for _ in 0..self.times {
            out.extend_from_slice(self.repeat.as_bytes());
        }
        out.extend_from_slice(self.suffix.as_bytes());
        out
    }
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Unique name: `op/group/index`.
    pub name: String,
    /// The request, when it is valid UTF-8 and small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
    /// The request as base64, when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_b64: Option<String>,
    /// The request as a recipe, when it is large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_recipe: Option<Recipe>,
    /// The expected result, when small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want: Option<String>,
    /// SHA-256 (hex) of the expected result, when large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_sha256: Option<String>,
    /// Length of the expected result, when large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_len: Option<usize>,
}

impl Case {
    /// The request bytes, however they are stored.
    pub fn request(&self) -> Vec<u8> {
        if let Some(r) = &self.req {
            return r.as_bytes().to_vec();
        }
        if let Some(b) = &self.req_b64 {
            return base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_else(|e| panic!("case {}: bad base64: {e}", self.name));
        }
        match &self.req_recipe {
            Some(r) => r.build(),
            None => panic!("case {} has no request", self.name),
        }
    }

    /// Checks a runtime's result against the expected one; `Err` describes the mismatch.
    pub fn check(&self, got: &[u8]) -> Result<(), String> {
        if let Some(want) = &self.want {
            if got == want.as_bytes() {
                return Ok(());
            }
            return Err(format!(
                "case {}:\n  want {want}\n  got  {}",
                self.name,
                String::from_utf8_lossy(got)
            ));
        }
        let digest = hex(&Sha256::digest(got));
        if Some(&digest) == self.want_sha256.as_ref() && Some(got.len()) == self.want_len {
            Ok(())
        } else {
            Err(format!(
                "case {}: want {:?} bytes with sha256 {:?}, got {} bytes with sha256 {digest} (starting {})",
                self.name,
                self.want_len,
                self.want_sha256,
                got.len(),
                String::from_utf8_lossy(&got[..got.len().min(200)])
            ))
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vectors {
    /// Always `sentimap-vectors`.
    pub format: String,
    /// The file format version.
    pub version: u32,
    /// [`api::API_VERSION`] of the core that wrote it.
    pub api_version: u32,
    /// Number of cases.
    pub count: usize,
    /// The cases.
    pub cases: Vec<Case>,
}

impl Vectors {
    /// Parses the file.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file's text: one case per line, so a change shows as a readable diff.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{{\"format\":{},\"version\":{},\"api_version\":{},\"count\":{},\"cases\":[\n",
            json!(self.format),
            self.version,
            self.api_version,
            self.count
        );
        for (i, case) in self.cases.iter().enumerate() {
            out.push_str(&serde_json::to_string(case).unwrap_or_default());
            out.push_str(if i + 1 < self.cases.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("]}\n");
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Collects cases, computing each expected result with the native core.
struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    fn push(&mut self, name: String, request: Vec<u8>, recipe: Option<Recipe>) {
        let out = api::process(&request);
        let (req, req_b64) = match (&recipe, String::from_utf8(request)) {
            (Some(_), _) => (None, None),
            (None, Ok(s)) => (Some(s), None),
            (None, Err(e)) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
            ),
        };
        let (want, want_sha256, want_len) = if out.len() > INLINE_LIMIT {
            (None, Some(hex(&Sha256::digest(&out))), Some(out.len()))
        } else {
            // Results are JSON written by serde_json: always UTF-8.
            (Some(String::from_utf8_lossy(&out).into_owned()), None, None)
        };
        self.cases.push(Case {
            name,
            req,
            req_b64,
            req_recipe: recipe,
            want,
            want_sha256,
            want_len,
        });
    }

    fn group(&mut self, group: &str, requests: Vec<Vec<u8>>) {
        for (i, r) in requests.into_iter().enumerate() {
            self.push(format!("{group}/{i}"), r, None);
        }
    }

    fn recipe(&mut self, name: &str, recipe: Recipe) {
        let bytes = recipe.build();
        self.push(name.into(), bytes, Some(recipe));
    }
}

fn header(op: Op) -> Header {
    Header::new(op)
}

fn score_req(text: &[u8], lang: Option<&str>) -> Vec<u8> {
    let mut h = header(Op::Score);
    h.lang = lang.map(str::to_owned);
    h.request(text)
}

fn normalize_req(raw: &[u8], post_only: bool) -> Vec<u8> {
    let mut h = header(Op::Normalize);
    h.post_only = post_only;
    h.request(raw)
}

fn header_line(h: &Header) -> String {
    let mut r = h.request(b"");
    r.pop();
    String::from_utf8_lossy(&r).into_owned()
}

/// Texts to score, by group.
fn texts() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "emoji",
            vec![
                "😀",
                "😂😂😂",
                "😢",
                "😭 worst day",
                "😡😡",
                "❤️",
                "❤",
                "💔",
                "🎄🎅✨",
                "🙏",
                "I love this 😍",
                "great game 👍",
                "great game 👍🏽",
                "great game 👍🏿",
                "👎🏻 nope",
                "👨‍👩‍👧‍👦 family time",
                "🏳️‍🌈 pride",
                "👩🏾‍💻 shipping code",
                "🧑‍🎄 ho ho",
                "☹️",
                "☹",
                "🙂🙃",
                "😀😢",
                "🔥🔥🔥",
                "💩",
                "🥰",
                "😊 but 😞",
                "✌🏼",
                "🤦‍♂️",
                "🫶",
            ],
        ),
        (
            "emoticon",
            vec![
                ":)",
                ":-)",
                ":D",
                ";)",
                ":(",
                ":'(",
                ":P",
                "<3",
                "</3",
                "xD",
                "^_^",
                ":-/",
                ">:(",
                "=)",
                ":-D",
                ":/",
                "8-)",
                ":]",
                "(:",
                "):",
                "XD",
                ":o",
                ":-|",
                "T_T",
                ":* love you",
                "ok :) ok",
                "sad :( sad",
                "happy:)",
                "url http://x.co/:) here",
                "<3<3<3",
            ],
        ),
        (
            "negation",
            vec![
                "not good",
                "not bad",
                "never happy",
                "isn't bad at all",
                "without love",
                "I don't hate it",
                "nothing good happened",
                "not very good",
                "no fun",
                "never ever sad",
                "it's not that I don't like it",
                "hardly great",
                "wasn't terrible",
                "cannot complain",
                "not :)",
                "aint nobody happy",
            ],
        ),
        (
            "caps",
            vec![
                "GREAT",
                "this is AWFUL",
                "I LOVE IT",
                "good",
                "GOOD!!!",
                "good???",
                "Good!",
                "OMG",
                "LOL",
                "WTF",
                "Best. Day. Ever.",
                "NOT GOOD",
                "very VERY happy",
                "SAD",
            ],
        ),
        (
            "rules",
            vec![
                "good but terrible",
                "terrible but good",
                "the food was good, however the service sucked",
                "extremely good",
                "slightly good",
                "sooo goooood",
                "happyyyyy",
                "kind of sad",
                "#MerryChristmas",
                "#NotHappy #blessed",
                "RT @santa: merry christmas",
                "@grinch you are mean",
                "check https://example.com great",
                "smh",
                "lmao",
                "ftw",
                "the bomb",
                "yeah right",
                "no doubt",
                "kiss of death",
                "cut the mustard",
                "I'm so happy!!!!",
                "bad?!",
                "meh",
                "3 days left",
                "",
            ],
        ),
        (
            "scripts",
            vec![
                "أنا سعيد جدا",
                "אני שמח מאוד",
                "مرحبا 😀",
                "שלום :(",
                "我很高兴",
                "今日はとても楽しい",
                "행복해요 ❤️",
                "สุขสันต์วันคริสต์มาส",
                "Привет, всё отлично!",
                "Γεια σου καλή μέρα",
                "नमस्ते, बहुत अच्छा",
                "Noël joyeux",
                "ñandú feliz",
                "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚o̙̔ͮ̇͐̇",
                "mixed English and 中文 good",
                "RTL\u{200f}mark good",
                "e\u{301}te\u{301} great",
                "ﬁne ligature",
                "Ｆｕｌｌｗｉｄｔｈ ｇｏｏｄ",
                "𝓰𝓸𝓸𝓭 fancy",
            ],
        ),
        (
            "entities",
            vec![
                "fish &amp; chips",
                "&lt;3 you",
                "&quot;good&quot;",
                "I &hearts; it",
                "&#128512;",
                "&#x1F622;",
                "&gt;:(",
                "&amp;lt;",
                "&nbsp;nice",
                "&unknown; entity",
            ],
        ),
        (
            "edge",
            vec![
                "",
                " ",
                "\t\n",
                "\u{0}",
                "a\u{0}b good",
                "\u{feff}good",
                "\r\n:)\r\n",
                "😀\u{fe0f}",
                "\u{fe0f}",
                "\u{200d}",
                "🏽",
                "a",
                "!!!!!!!!",
                "????",
                "......",
                "1234567890",
                "\"quoted\" 'single' \\back\\slash",
                "{\"json\":\"inside\"}",
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)> good",
                "\u{7f}\u{1}\u{1f}",
                "\u{10ffff}",
                "\u{e000} private",
            ],
        ),
    ]
}

/// Raw posts: one of each format, with locations, entities and references.
fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "x_v1_point",
            json!({
                "id_str": "1871234567890123456", "id": 1871234567890123456u64,
                "text": "Merry Christmas &amp; happy holidays! 🎄 #MerryChristmas @santa https://t.co/x",
                "created_at": "Wed Dec 25 10:00:00 +0000 2024", "lang": "en",
                "user": {"id_str": "7", "name": "Elf", "screen_name": "elf", "location": "North Pole"},
                "coordinates": {"type": "Point", "coordinates": [-0.1276, 51.5072]},
                "entities": {"hashtags": [{"text": "MerryChristmas"}], "user_mentions": [{"screen_name": "santa"}],
                    "urls": [{"url": "https://t.co/x", "expanded_url": "https://example.com/xmas"}]}
            }),
        ),
        (
            "x_v1_place",
            json!({
                "id_str": "2", "text": "Cold but lovely :)", "created_at": "Tue Dec 24 23:59:59 +0000 2024",
                "user": {"id_str": "8", "screen_name": "rudolph"},
                "place": {"full_name": "Manhattan, NY", "country_code": "US", "bounding_box": {"type": "Polygon",
                    "coordinates": [[[-74.026675, 40.683935], [-74.026675, 40.877483], [-73.910408, 40.877483], [-73.910408, 40.683935]]]}}
            }),
        ),
        (
            "x_v1_extended_retweet",
            json!({
                "id_str": "3", "text": "RT @a: short", "created_at": "Mon Dec 23 08:00:00 +0000 2024", "timestamp_ms": "1734940800000",
                "retweeted_status": {"id_str": "4", "text": "short…", "truncated": true,
                    "extended_tweet": {"full_text": "The whole long text of a great tweet", "entities": {"hashtags": [{"text": "Long"}]}},
                    "user": {"id_str": "9", "screen_name": "a"}},
                "quoted_status_id_str": "5", "user": {"id_str": "10", "screen_name": "b"}
            }),
        ),
        (
            "x_v2_geo",
            json!({
                "data": {"id": "1871234567890123457", "text": "Joyeux Noël à tous ! 😀", "created_at": "2024-12-25T08:00:00.000Z",
                    "lang": "fr", "author_id": "11", "geo": {"place_id": "p1", "coordinates": {"type": "Point", "coordinates": [2.35, 48.86]}},
                    "entities": {"hashtags": [{"tag": "Noël"}], "mentions": [{"username": "pere"}], "urls": [{"url": "https://t.co/y", "expanded_url": "https://example.fr"}]}},
                "includes": {"users": [{"id": "11", "name": "Lutin", "username": "lutin", "location": "Paris"}],
                    "places": [{"id": "p1", "full_name": "Paris, France", "country_code": "FR", "geo": {"bbox": [2.224, 48.815, 2.469, 48.902]}}]},
                "matching_rules": [{"id": "r1", "tag": "christmas"}]
            }),
        ),
        (
            "x_v2_retweet",
            json!({
                "data": {"id": "12", "text": "RT @x: hmm", "created_at": "2024-12-25T09:00:00Z", "author_id": "13",
                    "referenced_tweets": [{"type": "retweeted", "id": "14"}, {"type": "quoted", "id": "15"}],
                    "geo": {"place_id": "p2"}},
                "includes": {"tweets": [{"id": "14", "text": "I hate Mondays :(", "entities": {"hashtags": [{"tag": "Monday"}]}}],
                    "places": [{"id": "p2", "full_name": "Tokyo", "country_code": "JP", "geo": {"bbox": [139.5, 35.5, 139.9, 35.8]}}]},
                "matching_rules": [{"id": "r2"}]
            }),
        ),
        (
            "bluesky",
            json!({
                "did": "did:plc:abc123", "time_us": 1735113600000000i64, "kind": "commit",
                "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kxyz",
                    "record": {"$type": "app.bsky.feed.post", "text": "Happy holidays #bsky @alice.bsky.social https://example.org",
                        "createdAt": "2024-12-25T07:00:00.000Z", "langs": ["en"],
                        "facets": [
                            {"index": {"byteStart": 15, "byteEnd": 20}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "bsky"}]},
                            {"index": {"byteStart": 21, "byteEnd": 39}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}]},
                            {"index": {"byteStart": 40, "byteEnd": 59}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org"}]}]}}
            }),
        ),
        (
            "bluesky_time_us",
            json!({
                "did": "did:plc:def", "time_us": 1735113600123456i64, "kind": "commit",
                "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kabc",
                    "record": {"text": "ugh, so sad 😢"}}
            }),
        ),
    ]
}

/// Raw posts that are not posts, or are broken beyond a single field.
fn odd_raw() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "", " ", "null", "[1,2]", "\"text\"", "42", "true", "{}", "{\"delete\":{\"status\":{\"id\":1}}}",
        "{\"limit\":{\"track\":5}}", "{\"scrub_geo\":{}}", "{\"warning\":{}}",
        "{\"id_str\":", "{\"id_str\":\"1\",}", "{'id':1}", "{\"a\":1}{\"b\":2}", "[", "{\"data\":1}",
        "{\"did\":\"did:plc:x\",\"kind\":\"identity\"}",
        "{\"did\":\"did:plc:x\",\"kind\":\"commit\",\"commit\":{\"operation\":\"delete\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"k\"}}",
        "{\"did\":\"did:plc:x\",\"kind\":\"commit\",\"commit\":{\"operation\":\"create\",\"collection\":\"app.bsky.feed.like\",\"rkey\":\"k\",\"record\":{}}}",
        "{\"did\":\"nope\",\"kind\":\"commit\"}",
        "{\"id_str\":\"1\",\"text\":\"x\",\"created_at\":\"yesterday\"}",
        "{\"id_str\":\"1\",\"text\":\"x\",\"created_at\":\"Wed Dec 25 10:00:00 +0000 2024\",\"coordinates\":{\"type\":\"Point\",\"coordinates\":[200,100]}}",
        "{\"data\":{\"id\":\"1\",\"text\":\"x\",\"created_at\":\"2024-13-45T99:00:00Z\"}}",
        "\u{feff}{\"id_str\":\"1\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(b"{\"id_str\":\"1\",\"text\":\"\xff\"}".to_vec());
    v.push(b"\xef\xbb".to_vec());
    v.push(b"{\"data\":{\"id\":\"1\",\"text\":\"caf\xc3\"}}".to_vec());
    v
}

/// Every leaf and object of a sample, mutated: removed, nulled, or given another type.
fn mutations(value: &Value) -> Vec<Value> {
    fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    prefix.push(PathStep::Key(k.clone()));
                    out.push(prefix.clone());
                    paths(child, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate().take(2) {
                    prefix.push(PathStep::Index(i));
                    out.push(prefix.clone());
                    paths(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    paths(value, &mut Vec::new(), &mut all);
    let mut out = Vec::new();
    for path in all {
        for m in [Mutation::Remove, Mutation::Null, Mutation::Retype] {
            let mut copy = value.clone();
            if apply(&mut copy, &path, m) {
                out.push(copy);
            }
        }
    }
    out
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Clone, Copy)]
enum Mutation {
    Remove,
    Null,
    Retype,
}

fn apply(root: &mut Value, path: &[PathStep], m: Mutation) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for step in parents {
        cur = match (step, cur) {
            (PathStep::Key(k), Value::Object(o)) => match o.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (PathStep::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let retype = |v: &Value| match v {
        Value::String(_) => json!(17),
        Value::Number(_) => json!("17"),
        Value::Bool(_) => json!("yes"),
        Value::Array(_) => json!({"not": "an array"}),
        Value::Object(_) => json!(["not", "an object"]),
        Value::Null => json!(false),
    };
    match (last, cur) {
        (PathStep::Key(k), Value::Object(o)) => match m {
            Mutation::Remove => o.remove(k).is_some(),
            Mutation::Null => o.insert(k.clone(), Value::Null).is_some(),
            Mutation::Retype => match o.get(k).map(retype) {
                Some(new) => o.insert(k.clone(), new).is_some(),
                None => false,
            },
        },
        (PathStep::Index(i), Value::Array(a)) if *i < a.len() => {
            match m {
                Mutation::Remove => {
                    a.remove(*i);
                }
                Mutation::Null => a[*i] = Value::Null,
                Mutation::Retype => a[*i] = retype(&a[*i]),
            }
            true
        }
        _ => false,
    }
}

/// Builds every vector, computing the expected results with the native core.
pub fn generate() -> Vectors {
    let mut b = Builder { cases: Vec::new() };

    // Texts, with no language, English, and a language the lexicon does not cover.
    for (group, list) in texts() {
        for lang in [None, Some("en"), Some("es")] {
            let name = format!("score/{group}/{}", lang.unwrap_or("none"));
            b.group(
                &name,
                list.iter().map(|t| score_req(t.as_bytes(), lang)).collect(),
            );
        }
    }
    b.group(
        "score/lang_tags",
        ["en-GB", "EN", "und", "ja", "ar", "he", "zh-Hant", "", "x"]
            .iter()
            .map(|l| score_req("I love it :) but hate the rain".as_bytes(), Some(l)))
            .collect(),
    );
    b.group(
        "score/invalid_utf8",
        [
            &b"\xff"[..],
            b"good \xc3",
            b"\xed\xa0\x80 surrogate",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"ok :) \x80\x80",
            b"\xfe\xfe\xff\xff",
            b"\xf0\x9f\x98",
            b"valid \xe2\x82 then",
        ]
        .iter()
        .map(|t| score_req(t, Some("en")))
        .collect(),
    );

    // Batches.
    let all_texts: Vec<&str> = texts().into_iter().flat_map(|(_, l)| l).collect();
    b.group(
        "score_batch/basic",
        vec![
            header(Op::ScoreBatch).request(b"[]"),
            header(Op::ScoreBatch).request(br#"["good", "bad", ":)", ""]"#),
            header(Op::ScoreBatch).request(
                br#"[{"text":"I love it","lang":"en"},{"text":"je t'aime <3","lang":"fr"},{"text":"meh","lang":null},{"text":"ok"}]"#,
            ),
            header(Op::ScoreBatch).request(br#"["fine", 3, {"lang":"en"}, null, {"text":"good"}]"#),
            header(Op::ScoreBatch).request(br#"{"text":"not an array"}"#),
            header(Op::ScoreBatch).request(b"[\"unterminated"),
            header(Op::ScoreBatch).request(b"[\"\xff\"]"),
            header(Op::ScoreBatch).request(b""),
            header(Op::ScoreBatch).request(
                serde_json::to_string(&all_texts).unwrap_or_default().as_bytes(),
            ),
        ],
    );

    // Normalisation: each sample as a document and as a bare post, then every mutation.
    for (name, sample) in samples() {
        let raw = serde_json::to_vec(&sample).unwrap_or_default();
        b.group(
            &format!("normalize/{name}"),
            vec![normalize_req(&raw, false), normalize_req(&raw, true)],
        );
        b.group(
            &format!("normalize/{name}/mutated"),
            mutations(&sample)
                .iter()
                .map(|m| normalize_req(&serde_json::to_vec(m).unwrap_or_default(), false))
                .collect(),
        );
    }
    b.group(
        "normalize/odd",
        odd_raw().iter().map(|r| normalize_req(r, false)).collect(),
    );

    // Index templates.
    b.group(
        "index_template",
        ["sentimap-*", "posts", "", "données-*", "a\"b"]
            .iter()
            .map(|p| {
                let mut h = header(Op::IndexTemplate);
                h.pattern = Some((*p).into());
                h.request(b"")
            })
            .collect(),
    );

    // Requests themselves malformed, and the info call.
    b.group(
        "request",
        [
            &b"{\"v\":1,\"op\":\"info\"}"[..],
            b"{\"v\":1,\"op\":\"info\"}\n",
            b"{\"v\":1,\"op\":\"info\"}\nextra",
            b"",
            b"\n",
            b"score\nhello",
            b"{\"op\":\"score\"}\nhello",
            b"{\"v\":2,\"op\":\"score\"}\nhello",
            b"{\"v\":\"1\",\"op\":\"score\"}\nhello",
            b"{\"v\":1}\nhello",
            b"{\"v\":1,\"op\":\"dance\"}\nhello",
            b"{\"v\":1,\"op\":\"score\",\"colour\":\"red\"}\nhello",
            b"{\"v\":1,\"op\":\"score\",\"lang\":5}\nhello",
            b"{\"v\":1,\"op\":\"score\"}",
            b"{\"v\":1,\"op\":\"score\"}\r\nhello\nsecond line",
            b"{\"v\":1,\"op\":\"index_template\"}",
            b"{\"v\":1,\"op\":\"normalize\",\"post_only\":\"yes\"}\n{}",
            b"\xff\xfe\n",
            b"{\"v\":1,\"op\":\"sc\xffore\"}\nhello",
            b"[1]\nhello",
            b"{\"v\":1,\"op\":\"score\"} trailing\nhello",
        ]
        .iter()
        .map(|r| r.to_vec())
        .collect(),
    );

    // Megabyte inputs, as recipes.
    let score_head = format!("{}\n", header_line(&header(Op::Score)));
    let mib = api::MAX_TEXT_BYTES;
    b.recipe(
        "score/big/1mib_text",
        Recipe {
            prefix: score_head.clone(),
            repeat: "good :) ".into(),
            times: mib / 8,
            suffix: String::new(),
        },
    );
    b.recipe(
        "score/big/1mib_emoji",
        Recipe {
            prefix: score_head.clone(),
            repeat: "😀👍🏽".into(),
            times: mib / 12,
            suffix: "!!!!".into(),
        },
    );
    // Long runs of contrasts, concessions and title-case words: once quadratic (tens of seconds) and overflowing
    // into NaN; every runtime must answer quickly, within the CLI's fuel, and in range.
    b.recipe(
        "score/big/contrast_run",
        Recipe {
            prefix: score_head.clone(),
            repeat: "good but ".into(),
            times: mib / 9,
            suffix: String::new(),
        },
    );
    b.recipe(
        "score/big/concession_run",
        Recipe {
            prefix: score_head.clone(),
            repeat: "although fine, although ".into(),
            times: mib / 24,
            suffix: "bad".into(),
        },
    );
    b.recipe(
        "score/big/title_case_run",
        Recipe {
            prefix: score_head.clone(),
            repeat: "Good Bad ".into(),
            times: mib / 9,
            suffix: String::new(),
        },
    );
    b.recipe(
        "score/big/over_limit",
        Recipe {
            prefix: score_head.clone(),
            repeat: "bad ".into(),
            times: mib / 4,
            suffix: "x".into(),
        },
    );
    b.recipe(
        "request/big/over_limit",
        Recipe {
            prefix: score_head,
            repeat: "abcdefgh".into(),
            times: api::MAX_REQUEST_BYTES / 8,
            suffix: String::new(),
        },
    );
    let normalize_head = format!("{}\n", header_line(&header(Op::Normalize)));
    let prefix = format!(
        "{normalize_head}{{\"id_str\":\"99\",\"created_at\":\"Wed Dec 25 10:00:00 +0000 2024\",\"text\":\""
    );
    b.recipe(
        "normalize/big/under_limit",
        Recipe {
            prefix: prefix.clone(),
            repeat: "merry xmas ".into(),
            times: 90_000,
            suffix: "\"}".into(),
        },
    );
    b.recipe(
        "normalize/big/over_limit",
        Recipe {
            prefix,
            repeat: "merry xmas ".into(),
            times: 100_000,
            suffix: "\"}".into(),
        },
    );
    let batch_head = format!("{}\n[", header_line(&header(Op::ScoreBatch)));
    b.recipe(
        "score_batch/big/many",
        Recipe {
            prefix: batch_head,
            repeat: "\"good :)\",".into(),
            times: 9_999,
            suffix: "\"last\"]".into(),
        },
    );

    let count = b.cases.len();
    Vectors {
        format: "sentimap-vectors".into(),
        version: 1,
        api_version: api::API_VERSION,
        count,
        cases: b.cases,
    }
}
