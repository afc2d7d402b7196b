//! The index document and the OpenSearch/Elasticsearch index template: defined once, here.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::sentiment::{CompatLabel, Evidence, Label, Method, Sentiment};
use crate::{Author, Post, Precision, Source};

/// Bumped whenever the document shape or the template changes.
pub const DOC_SCHEMA_VERSION: u32 = 1;

/// A `geo_point` in object form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// The location fields of the index document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocLocation {
    /// The point, where the post has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
    /// How the point was obtained.
    pub precision: Precision,
    /// Tagged place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_name: Option<String>,
    /// Tagged place country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// The sentiment fields of the index document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocSentiment {
    /// positive | neutral | negative.
    pub label: Label,
    /// In [-1, 1].
    pub compound: f64,
    /// Positive share.
    pub positive: f64,
    /// Neutral share.
    pub neutral: f64,
    /// Negative share.
    pub negative: f64,
    /// What decided.
    pub method: Method,
    /// Whether the lexicon was applied.
    pub lexicon_applied: bool,
    /// The original system's four labels (Positive, Negative, Neutral, Confused).
    pub compat: CompatLabel,
    /// The tokens and emoji that decided (stored, not indexed).
    pub evidence: Vec<Evidence>,
    /// Every emoji and emoticon found, in text order.
    pub emoji: Vec<String>,
}

impl From<Sentiment> for DocSentiment {
    fn from(s: Sentiment) -> Self {
        DocSentiment {
            label: s.label,
            compound: s.compound,
            positive: s.positive,
            neutral: s.neutral,
            negative: s.negative,
            method: s.method,
            lexicon_applied: s.lexicon_applied,
            compat: s.compat,
            evidence: s.evidence,
            emoji: s.emoji,
        }
    }
}

/// One document as indexed: the post plus its sentiment. Its `_id` is [`IndexDoc::id`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDoc {
    /// The post id (also the document `_id`, so re-deliveries overwrite instead of duplicating).
    pub id: String,
    /// Source format.
    pub source: Source,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Post text, entities decoded.
    pub text: String,
    /// Language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Author.
    pub author: Author,
    /// Hashtags as written (without `#`).
    pub hashtags: Vec<String>,
    /// Hashtags lower-cased, for aggregations that should not split `#Xmas` and `#xmas`.
    pub hashtags_folded: Vec<String>,
    /// Mentions.
    pub mentions: Vec<String>,
    /// URLs.
    pub urls: Vec<String>,
    /// Location.
    pub location: DocLocation,
    /// Retweeted post id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweet_of: Option<String>,
    /// Quoted post id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_of: Option<String>,
    /// Matched stream rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matching_rules: Vec<String>,
    /// Sentiment.
    pub sentiment: DocSentiment,
    /// [`DOC_SCHEMA_VERSION`] of the code that wrote the document.
    pub schema_version: u32,
}

impl IndexDoc {
    /// Builds the document for a post and its score.
    pub fn new(post: Post, sentiment: Sentiment) -> Self {
        let point = post
            .location
            .point()
            .map(|(lat, lon)| GeoPoint { lat, lon });
        let hashtags_folded = post.hashtags.iter().map(|h| h.to_lowercase()).collect();
        IndexDoc {
            id: post.id,
            source: post.source,
            created_at: post.created_at,
            text: post.text,
            lang: post.lang,
            author: post.author,
            hashtags: post.hashtags,
            hashtags_folded,
            mentions: post.mentions,
            urls: post.urls,
            location: DocLocation {
                point,
                precision: post.location.precision,
                place_name: post.location.place_name,
                country_code: post.location.country_code,
            },
            retweet_of: post.retweet_of,
            quote_of: post.quote_of,
            matching_rules: post.matching_rules,
            sentiment: sentiment.into(),
            schema_version: DOC_SCHEMA_VERSION,
        }
    }

    /// Scores the post with the core's engine and builds its document.
    pub fn score(post: Post) -> Self {
        let sentiment = crate::score(&post.text, post.lang.as_deref());
        IndexDoc::new(post, sentiment)
    }
}

/// The composable index template (`PUT _index_template/<name>`) for indices matching `pattern`,
/// accepted by Elasticsearch 7.8+/8 and OpenSearch 1/2. `dynamic: false` keeps unknown fields
/// in `_source` without mapping them.
pub fn index_template(pattern: &str) -> Value {
    let keyword = json!({ "type": "keyword", "ignore_above": 256 });
    json!({
        "index_patterns": [pattern],
        "priority": 100,
        "_meta": { "sentimap_schema_version": DOC_SCHEMA_VERSION },
        "template": {
            "settings": {
                "number_of_shards": 1,
                "refresh_interval": "5s"
            },
            "mappings": {
                "dynamic": false,
                "properties": {
                    "id": keyword,
                    "source": keyword,
                    "created_at": { "type": "date", "format": "strict_date_optional_time||epoch_millis" },
                    "text": { "type": "text" },
                    "lang": keyword,
                    "author": { "properties": {
                        "id": keyword,
                        "name": { "type": "text", "fields": { "raw": keyword } },
                        "handle": keyword,
                        "stated_location": { "type": "text" }
                    }},
                    "hashtags": keyword,
                    "hashtags_folded": keyword,
                    "mentions": keyword,
                    "urls": { "type": "keyword", "ignore_above": 2048 },
                    "location": { "properties": {
                        "point": { "type": "geo_point" },
                        "precision": keyword,
                        "place_name": keyword,
                        "country_code": keyword
                    }},
                    "retweet_of": keyword,
                    "quote_of": keyword,
                    "matching_rules": keyword,
                    "sentiment": { "properties": {
                        "label": keyword,
                        "compound": { "type": "float" },
                        "positive": { "type": "float" },
                        "neutral": { "type": "float" },
                        "negative": { "type": "float" },
                        "method": keyword,
                        "lexicon_applied": { "type": "boolean" },
                        "compat": keyword,
                        "evidence": { "type": "object", "enabled": false },
                        "emoji": keyword
                    }},
                    "schema_version": { "type": "integer" }
                }
            }
        }
    })
}
