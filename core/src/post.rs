//! The canonical post: one shape for every source.

use serde::{Deserialize, Serialize};

/// Where a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// An X (Twitter) API v1.1 status object.
    XV1,
    /// An X API v2 filtered-stream message.
    XV2,
    /// A Bluesky Jetstream commit of an `app.bsky.feed.post` record.
    Bluesky,
}

impl Source {
    /// The prefix that makes post ids unique across sources.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Source::XV1 | Source::XV2 => "x",
            Source::Bluesky => "bsky",
        }
    }

    /// The source's name as it appears in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::XV1 => "x_v1",
            Source::XV2 => "x_v2",
            Source::Bluesky => "bluesky",
        }
    }
}

/// How exact a post's location is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// An exact point the client attached to the post.
    Point,
    /// The centroid of a tagged place's bounding box.
    Place,
    /// No location.
    #[default]
    None,
}

/// The author of a post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Author {
    /// The author's id in its source (a DID for Bluesky).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Handle (screen name), without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// The free-text location on the author's profile: what they say, not where they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stated_location: Option<String>,
}

/// Where a post was made, as far as the post says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude in degrees, -90..=90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in degrees, -180..=180.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// How the point was obtained.
    pub precision: Precision,
    /// The tagged place's full name, e.g. `"Manhattan, NY"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_name: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the tagged place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

impl Location {
    /// The point, when the post has one.
    pub fn point(&self) -> Option<(f64, f64)> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            _ => None,
        }
    }
}

/// One post in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Unique across sources: `x:<id>` or `bsky:<did>/<rkey>`.
    pub id: String,
    /// The format the post arrived in.
    pub source: Source,
    /// Creation time, RFC 3339 in UTC with millisecond precision.
    pub created_at: String,
    /// The text to read and score: the full text, the retweeted text for a retweet, HTML entities decoded.
    pub text: String,
    /// BCP 47 language tag as the source gives it (`und` when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Who wrote it.
    pub author: Author,
    /// Hashtags without `#`, in order of appearance.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Mentioned handles without `@` (or DIDs for Bluesky), in order.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Expanded URLs, in order.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Where it was made.
    pub location: Location,
    /// For a retweet or repost: the id of the original post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweet_of: Option<String>,
    /// For a quote: the id of the quoted post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_of: Option<String>,
    /// For an X API v2 message: the tags of the stream rules it matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matching_rules: Vec<String>,
}
