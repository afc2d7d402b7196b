//! Which posts to keep: keywords, location, languages and bounding boxes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::{fold, is_unspaced_script, Words};
use crate::{Error, Post};

/// The most keywords a filter takes (X's filtered stream allows 1,000 rules per app).
pub const MAX_KEYWORDS: usize = 1_000;
/// The most bounding boxes a filter takes (X v1.1's `locations` allowed 25).
pub const MAX_BBOXES: usize = 25;

/// A box `west, south, east, north` in degrees. `west > east` crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    /// Western longitude.
    pub west: f64,
    /// Southern latitude.
    pub south: f64,
    /// Eastern longitude.
    pub east: f64,
    /// Northern latitude.
    pub north: f64,
}

impl BBox {
    /// Checks the corners are on Earth and south is not north of north.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<Self, Error> {
        let bad = |reason: String| Error::Config {
            field: "bbox".into(),
            reason,
        };
        for (name, v, lim) in [
            ("west", west, 180.0),
            ("east", east, 180.0),
            ("south", south, 90.0),
            ("north", north, 90.0),
        ] {
            if !v.is_finite() || v.abs() > lim {
                return Err(bad(format!("{name} {v} is outside -{lim}..={lim}")));
            }
        }
        if south > north {
            return Err(bad(format!("south {south} is greater than north {north}")));
        }
        Ok(BBox {
            west,
            south,
            east,
            north,
        })
    }

    /// Whether the point is inside the box (edges included).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let in_lat = (self.south..=self.north).contains(&lat);
        let in_lon = if self.west <= self.east {
            (self.west..=self.east).contains(&lon)
        } else {
            lon >= self.west || lon <= self.east
        };
        in_lat && in_lon
    }
}

impl FromStr for BBox {
    type Err = Error;

    /// Parses `west,south,east,north`, e.g. the original system's US box `-127.33,23.34,-55.52,49.56`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [w, so, e, n] = parts.as_slice() else {
            return Err(Error::Config {
                field: "bbox".into(),
                reason: format!("{s:?} is not four numbers west,south,east,north"),
            });
        };
        let num = |p: &str| {
            p.parse::<f64>().map_err(|_| Error::Config {
                field: "bbox".into(),
                reason: format!("{p:?} in {s:?} is not a number"),
            })
        };
        BBox::new(num(w)?, num(so)?, num(e)?, num(n)?)
    }
}

impl fmt::Display for BBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.west, self.south, self.east, self.north
        )
    }
}

/// What to keep. The default keeps every post that has a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Keep posts matching any of these: a word, or a phrase in double quotes. Empty keeps all.
    pub keywords: Vec<String>,
    /// Keep only posts with a point or place (the original system's behaviour).
    pub require_location: bool,
    /// Keep only posts in these languages (primary subtags such as `en`). Empty keeps all.
    pub languages: Vec<String>,
    /// Keep only posts located inside one of these boxes. Empty keeps all.
    pub bboxes: Vec<BBox>,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            keywords: Vec::new(),
            require_location: true,
            languages: Vec::new(),
            bboxes: Vec::new(),
        }
    }
}

/// Why a post was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reject {
    /// No keyword matched.
    NoKeyword,
    /// The post has no location and one is required.
    NoLocation,
    /// The post's language is not on the allow-list (or unknown).
    Language,
    /// The post's location is outside every box.
    OutsideBoxes,
}

impl Reject {
    /// A short stable name, for counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::NoKeyword => "no_keyword",
            Reject::NoLocation => "no_location",
            Reject::Language => "language",
            Reject::OutsideBoxes => "outside_boxes",
        }
    }
}

#[derive(Debug, Clone)]
enum Term {
    /// One folded word: matches a word, a hashtag, or a word inside a camel-case hashtag.
    Word(String),
    /// Folded words in order; also matches a hashtag that is the words run together.
    Phrase(Vec<String>),
    /// For scripts written without spaces: a folded substring.
    Substring(String),
}

/// A compiled [`FilterConfig`].
#[derive(Debug, Clone)]
pub struct Filter {
    terms: Vec<Term>,
    require_location: bool,
    languages: Vec<String>,
    bboxes: Vec<BBox>,
}

impl Filter {
    /// Validates and compiles a config.
    pub fn new(config: &FilterConfig) -> Result<Self, Error> {
        if config.keywords.len() > MAX_KEYWORDS {
            return Err(Error::Config {
                field: "keywords".into(),
                reason: format!(
                    "{} keywords exceed the limit of {MAX_KEYWORDS}",
                    config.keywords.len()
                ),
            });
        }
        if config.bboxes.len() > MAX_BBOXES {
            return Err(Error::Config {
                field: "bboxes".into(),
                reason: format!(
                    "{} boxes exceed the limit of {MAX_BBOXES}",
                    config.bboxes.len()
                ),
            });
        }
        let mut terms = Vec::with_capacity(config.keywords.len());
        for k in &config.keywords {
            terms.push(compile_term(k)?);
        }
        let mut languages = Vec::with_capacity(config.languages.len());
        for l in &config.languages {
            let primary = primary_subtag(l);
            if primary.is_empty() || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(Error::Config {
                    field: "languages".into(),
                    reason: format!("{l:?} is not a language tag"),
                });
            }
            languages.push(primary);
        }
        for b in &config.bboxes {
            BBox::new(b.west, b.south, b.east, b.north)?;
        }
        Ok(Filter {
            terms,
            require_location: config.require_location,
            languages,
            bboxes: config.bboxes.clone(),
        })
    }

    /// Keeps the post (`Ok`) or says why not. Checks run cheapest first.
    pub fn check(&self, post: &Post) -> Result<(), Reject> {
        let point = post.location.point();
        if self.require_location && point.is_none() {
            return Err(Reject::NoLocation);
        }
        if !self.languages.is_empty() {
            let lang = post.lang.as_deref().map(primary_subtag);
            if !lang.is_some_and(|l| self.languages.contains(&l)) {
                return Err(Reject::Language);
            }
        }
        if !self.bboxes.is_empty() {
            let inside =
                point.is_some_and(|(lat, lon)| self.bboxes.iter().any(|b| b.contains(lat, lon)));
            if !inside {
                return Err(Reject::OutsideBoxes);
            }
        }
        if !self.terms.is_empty() && !self.matches_keywords(post) {
            return Err(Reject::NoKeyword);
        }
        Ok(())
    }

    /// Whether any keyword matches the post's text or hashtags.
    pub fn matches_keywords(&self, post: &Post) -> bool {
        let mut words = Words::of(&post.text);
        words.tags.extend(post.hashtags.iter().map(|h| fold(h)));
        let folded_text = self
            .terms
            .iter()
            .any(|t| matches!(t, Term::Substring(_)))
            .then(|| fold(&post.text));
        self.terms.iter().any(|term| match term {
            Term::Word(w) => words.words.contains(w) || words.tags.contains(w),
            Term::Phrase(p) => {
                words.words.windows(p.len()).any(|win| win == p.as_slice())
                    || words.tags.iter().any(|t| *t == p.concat())
            }
            Term::Substring(s) => folded_text
                .as_deref()
                .is_some_and(|t| t.contains(s.as_str())),
        })
    }
}

fn compile_term(keyword: &str) -> Result<Term, Error> {
    let trimmed = keyword.trim();
    let unquoted = trimmed
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(trimmed)
        .trim_start_matches(['#', '＃']);
    if unquoted.chars().any(is_unspaced_script) {
        return Ok(Term::Substring(fold(unquoted)));
    }
    let words = Words::of(unquoted).words;
    match words.len() {
        0 => Err(Error::Config {
            field: "keywords".into(),
            reason: format!("{keyword:?} has no letters or digits"),
        }),
        1 => Ok(Term::Word(words.into_iter().next().unwrap_or_default())),
        _ => Ok(Term::Phrase(words)),
    }
}

fn primary_subtag(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Author, Location, Precision, Source};

    fn post(text: &str, lang: Option<&str>, point: Option<(f64, f64)>) -> Post {
        Post {
            id: "x:1".into(),
            source: Source::XV2,
            created_at: "2024-12-25T00:00:00.000Z".into(),
            text: text.into(),
            lang: lang.map(Into::into),
            author: Author::default(),
            hashtags: vec![],
            mentions: vec![],
            urls: vec![],
            location: Location {
                lat: point.map(|p| p.0),
                lon: point.map(|p| p.1),
                precision: if point.is_some() {
                    Precision::Point
                } else {
                    Precision::None
                },
                ..Location::default()
            },
            retweet_of: None,
            quote_of: None,
            matching_rules: vec![],
        }
    }

    fn filter(keywords: &[&str]) -> Filter {
        Filter::new(&FilterConfig {
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            require_location: false,
            ..FilterConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn keyword_forms() {
        let f = filter(&["Christmas"]);
        for yes in [
            "christmas!",
            "CHRISTMAS",
            "#Christmas",
            "#MerryChristmas",
            "Christmas's tree",
            "Christmas’ eve",
            "#XMASChristmas2024",
        ] {
            assert!(f.matches_keywords(&post(yes, None, None)), "{yes}");
        }
        for no in ["christmassy", "#merrychristmas", "antichristmas", "xmas"] {
            assert!(!f.matches_keywords(&post(no, None, None)), "{no}");
        }
    }

    #[test]
    fn accents_and_phrases() {
        assert!(filter(&["noel"]).matches_keywords(&post("Joyeux Noël", None, None)));
        let f = filter(&["\"merry christmas\""]);
        assert!(f.matches_keywords(&post("a MERRY christmas to all", None, None)));
        assert!(f.matches_keywords(&post("#merrychristmas", None, None)));
        assert!(!f.matches_keywords(&post("merry and christmas", None, None)));
        assert!(filter(&["クリスマス"]).matches_keywords(&post("メリークリスマス！", None, None)));
    }

    #[test]
    fn location_language_and_boxes() {
        let us: BBox = "-127.33,23.34,-55.52,49.56".parse().unwrap();
        let f = Filter::new(&FilterConfig {
            languages: vec!["en".into()],
            bboxes: vec![us],
            ..FilterConfig::default()
        })
        .unwrap();
        assert_eq!(
            f.check(&post("hi", Some("en"), None)),
            Err(Reject::NoLocation)
        );
        assert_eq!(
            f.check(&post("hi", Some("fr"), Some((40.7, -74.0)))),
            Err(Reject::Language)
        );
        assert_eq!(
            f.check(&post("hi", Some("en"), Some((51.5, -0.1)))),
            Err(Reject::OutsideBoxes)
        );
        assert_eq!(
            f.check(&post("hi", Some("en-US"), Some((40.7, -74.0)))),
            Ok(())
        );
    }

    #[test]
    fn antimeridian_box() {
        let fiji = BBox::new(177.0, -21.0, -178.0, -12.0).unwrap();
        assert!(fiji.contains(-17.7, 178.4));
        assert!(fiji.contains(-17.7, -179.0));
        assert!(!fiji.contains(-17.7, 0.0));
    }

    #[test]
    fn bad_config_is_an_error() {
        assert!("1,2,3".parse::<BBox>().is_err());
        assert!("-200,0,0,10".parse::<BBox>().is_err());
        assert!(Filter::new(&FilterConfig {
            keywords: vec!["!!".into()],
            ..FilterConfig::default()
        })
        .is_err());
    }
}
