//! The indexer's configuration: environment variables `SENTIMAP_*` (the Lambda convention), read once
//! at cold start into [`Config`] and validated there, so a bad setting fails loudly before any event.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Prefix of every environment variable the indexer reads.
pub const ENV_PREFIX: &str = "SENTIMAP_";
/// Default bulk request size: about 5 MiB, the size Elasticsearch and OpenSearch recommend starting at.
pub const DEFAULT_BULK_MAX_BYTES: usize = 5 * 1024 * 1024;
/// Smallest accepted bulk size.
pub const MIN_BULK_MAX_BYTES: usize = 64 * 1024;
/// Largest accepted bulk size: below the 10 MiB HTTP payload limit of the smallest Amazon
/// OpenSearch Service instance types.
pub const MAX_BULK_MAX_BYTES: usize = 10 * 1024 * 1024 - 64 * 1024;
/// Most retry rounds allowed for one bulk request.
pub const MAX_RETRIES_LIMIT: u32 = 30;
/// Longest backoff delay allowed between two retries.
pub const MAX_RETRY_DELAY_LIMIT: Duration = Duration::from_secs(120);

/// How the indexer authenticates to the search engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No authentication (a local node, or a domain in a VPC with an open access policy).
    #[default]
    None,
    /// HTTP basic auth with `SENTIMAP_USERNAME` / `SENTIMAP_PASSWORD` (fine-grained access control).
    Basic,
    /// An Elasticsearch API key in `SENTIMAP_API_KEY` (`id:key`, or already base64-encoded).
    ApiKey,
    /// AWS Signature V4 with the function's own credentials (Amazon OpenSearch Service).
    Sigv4,
}

/// The AWS service name that SigV4 signs for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigV4Service {
    /// Amazon OpenSearch Service managed domains.
    #[default]
    Es,
    /// Amazon OpenSearch Serverless collections.
    Aoss,
}

impl SigV4Service {
    /// The signing name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

/// Everything the indexer can be told. Field `foo_bar` is read from `SENTIMAP_FOO_BAR`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the search engine, e.g. `https://search-x.eu-west-1.es.amazonaws.com`.
    pub index_url: String,
    /// Index (or write alias) documents go to. `{yyyy}`, `{MM}` and `{dd}` are replaced by the
    /// post's UTC creation date, e.g. `sentimap-posts-{yyyy}.{MM}` for monthly indices.
    #[serde(default = "default_index")]
    pub index: String,
    /// Pattern of the index template. Defaults to `index` with every `{..}` part replaced by `*`.
    #[serde(default)]
    pub index_pattern: Option<String>,
    /// Read alias added to every index the template creates (e.g. `sentimap-posts` in front of
    /// monthly indices), so the map queries one name.
    #[serde(default)]
    pub index_alias: Option<String>,
    /// Name of the composable index template.
    #[serde(default = "default_template_name")]
    pub template_name: String,
    /// Install the template at cold start when it is missing or older (never touches indices).
    #[serde(default = "default_true")]
    pub install_template: bool,
    /// Authentication: `none`, `basic`, `api_key` or `sigv4`.
    #[serde(default)]
    pub auth: AuthKind,
    /// User for `basic` auth.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `basic` auth. Never logged.
    #[serde(default)]
    pub password: Option<String>,
    /// API key for `api_key` auth: `id:key` or the base64 form. Never logged.
    #[serde(default)]
    pub api_key: Option<String>,
    /// SigV4 service name: `es` (managed domains) or `aoss` (Serverless).
    #[serde(default)]
    pub sigv4_service: SigV4Service,
    /// SigV4 region; defaults to the function's region (`AWS_REGION`).
    #[serde(default)]
    pub sigv4_region: Option<String>,
    /// Bucket for dead letters; defaults to the bucket of the object being read.
    #[serde(default)]
    pub dead_letter_bucket: Option<String>,
    /// Key prefix for dead letters. Objects under it are never read as input.
    #[serde(default = "default_dead_letter_prefix")]
    pub dead_letter_prefix: String,
    /// Local folder for dead letters instead of S3 (local mode with `--file`).
    #[serde(default)]
    pub dead_letter_dir: Option<PathBuf>,
    /// Target size of one bulk request body, in bytes.
    #[serde(default = "default_bulk_max_bytes")]
    pub bulk_max_bytes: usize,
    /// Retry rounds for a bulk request whose items got 429/5xx or whose request failed.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First backoff delay in milliseconds (doubles each round, with jitter).
    #[serde(default = "default_retry_min_delay_ms")]
    pub retry_min_delay_ms: u64,
    /// Longest backoff delay in milliseconds.
    #[serde(default = "default_retry_max_delay_ms")]
    pub retry_max_delay_ms: u64,
    /// Timeout of one HTTP request to the search engine, in milliseconds.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
}

// Secrets stay out of logs and panics.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("index_url", &self.index_url)
            .field("index", &self.index)
            .field("index_pattern", &self.index_pattern)
            .field("index_alias", &self.index_alias)
            .field("template_name", &self.template_name)
            .field("install_template", &self.install_template)
            .field("auth", &self.auth)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("sigv4_service", &self.sigv4_service)
            .field("sigv4_region", &self.sigv4_region)
            .field("dead_letter_bucket", &self.dead_letter_bucket)
            .field("dead_letter_prefix", &self.dead_letter_prefix)
            .field("dead_letter_dir", &self.dead_letter_dir)
            .field("bulk_max_bytes", &self.bulk_max_bytes)
            .field("max_retries", &self.max_retries)
            .field("retry_min_delay_ms", &self.retry_min_delay_ms)
            .field("retry_max_delay_ms", &self.retry_max_delay_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .finish()
    }
}

fn default_index() -> String {
    "sentimap-posts".into()
}
fn default_template_name() -> String {
    "sentimap-posts".into()
}
fn default_true() -> bool {
    true
}
fn default_dead_letter_prefix() -> String {
    "dead-letter/".into()
}
fn default_bulk_max_bytes() -> usize {
    DEFAULT_BULK_MAX_BYTES
}
fn default_max_retries() -> u32 {
    8
}
fn default_retry_min_delay_ms() -> u64 {
    200
}
fn default_retry_max_delay_ms() -> u64 {
    10_000
}
fn default_request_timeout_ms() -> u64 {
    30_000
}

/// A configuration that can not be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads `SENTIMAP_*` from the process environment and validates it.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars(), &BTreeMap::new())
    }

    /// Reads `SENTIMAP_*` from `vars`, with `overrides` (lower-case field names, as the local
    /// mode's flags give them) taking precedence, then validates.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut merged: BTreeMap<String, String> = vars
            .into_iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(ENV_PREFIX)
                    .map(|rest| (rest.to_ascii_lowercase(), v))
            })
            .collect();
        for (k, v) in overrides {
            merged.insert(k.clone(), v.clone());
        }
        let config: Config = envy::from_iter(merged).map_err(|e| {
            ConfigError(match e {
                envy::Error::MissingValue(field) => {
                    format!("{ENV_PREFIX}{} is required", field.to_ascii_uppercase())
                }
                envy::Error::Custom(msg) => format!("{msg} (variables are {ENV_PREFIX}<FIELD>)"),
            })
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every limit and every combination.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        match url::Url::parse(&self.index_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    return err("SENTIMAP_INDEX_URL must not carry credentials; use SENTIMAP_AUTH=basic with SENTIMAP_USERNAME/SENTIMAP_PASSWORD".into());
                }
            }
            _ => {
                return err(format!(
                    "SENTIMAP_INDEX_URL must be an http(s) URL, got {:?}",
                    self.index_url
                ))
            }
        }
        match IndexTarget::parse(&self.index) {
            Ok(t) => check_index_name("SENTIMAP_INDEX", &t.wildcard().replace('*', "0"))?,
            Err(e) => return err(format!("SENTIMAP_INDEX: {e}")),
        }
        if let Some(alias) = &self.index_alias {
            check_index_name("SENTIMAP_INDEX_ALIAS", alias)?;
            if self.index_target().is_fixed() && alias == &self.index {
                return err("SENTIMAP_INDEX_ALIAS must differ from SENTIMAP_INDEX".into());
            }
        }
        if self.template_name.is_empty() {
            return err("SENTIMAP_TEMPLATE_NAME must not be empty".into());
        }
        match self.auth {
            AuthKind::Basic if self.username.is_none() || self.password.is_none() => {
                return err(
                    "SENTIMAP_AUTH=basic needs SENTIMAP_USERNAME and SENTIMAP_PASSWORD".into(),
                )
            }
            AuthKind::ApiKey if self.api_key.as_deref().unwrap_or("").is_empty() => {
                return err("SENTIMAP_AUTH=api_key needs SENTIMAP_API_KEY".into())
            }
            _ => {}
        }
        if !(MIN_BULK_MAX_BYTES..=MAX_BULK_MAX_BYTES).contains(&self.bulk_max_bytes) {
            return err(format!(
                "SENTIMAP_BULK_MAX_BYTES must be within {MIN_BULK_MAX_BYTES}..={MAX_BULK_MAX_BYTES}, got {}",
                self.bulk_max_bytes
            ));
        }
        if self.max_retries > MAX_RETRIES_LIMIT {
            return err(format!(
                "SENTIMAP_MAX_RETRIES must be at most {MAX_RETRIES_LIMIT}, got {}",
                self.max_retries
            ));
        }
        if self.retry_min_delay_ms == 0 || self.retry_min_delay_ms > self.retry_max_delay_ms {
            return err(
                "SENTIMAP_RETRY_MIN_DELAY_MS must be > 0 and <= SENTIMAP_RETRY_MAX_DELAY_MS".into(),
            );
        }
        if self.retry_max_delay_ms > MAX_RETRY_DELAY_LIMIT.as_millis() as u64 {
            return err(format!(
                "SENTIMAP_RETRY_MAX_DELAY_MS must be at most {}",
                MAX_RETRY_DELAY_LIMIT.as_millis()
            ));
        }
        if self.request_timeout_ms < 100 {
            return err("SENTIMAP_REQUEST_TIMEOUT_MS must be at least 100".into());
        }
        if self.dead_letter_prefix.is_empty() && self.dead_letter_dir.is_none() {
            return err(
                "SENTIMAP_DEAD_LETTER_PREFIX must not be empty (dead letters would mix with input)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Where documents go.
    pub fn index_target(&self) -> IndexTarget {
        IndexTarget::parse(&self.index).unwrap_or_else(|_| IndexTarget::fixed(&self.index))
    }

    /// The index template's pattern.
    pub fn template_pattern(&self) -> String {
        self.index_pattern
            .clone()
            .unwrap_or_else(|| self.index_target().wildcard())
    }

    /// Timeout of one request.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

fn check_index_name(var: &str, name: &str) -> Result<(), ConfigError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.starts_with(['-', '_', '+'])
        || name.chars().any(|c| {
            c.is_ascii_uppercase()
                || matches!(
                    c,
                    ' ' | '"' | '\\' | '/' | '?' | '<' | '>' | '|' | ',' | '#' | ':'
                )
        });
    if bad {
        return Err(ConfigError(format!(
            "{var} is not a valid index name: {name:?} (lower case, no spaces or \\/*?\"<>|,#:, not starting with -_+)"
        )));
    }
    Ok(())
}

/// One piece of an index name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Year,
    Month,
    Day,
}

/// The index a document goes to: a fixed name or a date pattern over the post's creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexTarget {
    parts: Vec<Part>,
}

impl IndexTarget {
    /// A fixed index name.
    pub fn fixed(name: &str) -> Self {
        IndexTarget {
            parts: vec![Part::Lit(name.to_owned())],
        }
    }

    /// Parses `name-{yyyy}.{MM}.{dd}`-style names.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("unclosed `{{` in {s:?}"));
            };
            parts.push(match &rest[open + 1..open + close] {
                "yyyy" => Part::Year,
                "MM" => Part::Month,
                "dd" => Part::Day,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{other}}} (use {{yyyy}}, {{MM}}, {{dd}})"
                    ))
                }
            });
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("stray `}}` in {s:?}"));
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Ok(IndexTarget { parts })
    }

    /// Whether every document goes to the same index.
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The name with every date part replaced by `*`.
    pub fn wildcard(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                _ if out.ends_with('*') => {}
                _ => out.push('*'),
            }
        }
        out
    }

    /// The index for a document created at `created_at` (RFC 3339, as the core writes it).
    pub fn resolve(&self, created_at: &str, out: &mut String) {
        out.clear();
        let date = created_at.as_bytes();
        let field = |from: usize, to: usize| {
            created_at
                .get(from..to)
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        };
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                // The core always writes `YYYY-MM-DDT...`; "0000" marks a date it could not give.
                Part::Year => out.push_str(field(0, 4).unwrap_or("0000")),
                Part::Month if date.len() >= 7 => out.push_str(field(5, 7).unwrap_or("00")),
                Part::Day if date.len() >= 10 => out.push_str(field(8, 10).unwrap_or("00")),
                Part::Month | Part::Day => out.push_str("00"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_required() {
        let c = Config::from_vars(
            vars(&[
                ("SENTIMAP_INDEX_URL", "http://127.0.0.1:9200"),
                ("PATH", "/bin"),
            ]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(c.index, "sentimap-posts");
        assert_eq!(c.bulk_max_bytes, DEFAULT_BULK_MAX_BYTES);
        assert_eq!(c.auth, AuthKind::None);
        assert_eq!(c.template_pattern(), "sentimap-posts");

        let e = Config::from_vars(vars(&[]), &BTreeMap::new()).unwrap_err();
        assert!(
            e.to_string().contains("SENTIMAP_INDEX_URL is required"),
            "{e}"
        );
    }

    #[test]
    fn clear_errors() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("SENTIMAP_INDEX_URL", "localhost:9200")],
                "SENTIMAP_INDEX_URL",
            ),
            (
                &[("SENTIMAP_INDEX_URL", "http://u:p@h")],
                "must not carry credentials",
            ),
            (
                &[("SENTIMAP_INDEX_URL", "http://h"), ("SENTIMAP_INDX", "x")],
                "unknown field `indx`",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_AUTH", "kerberos"),
                ],
                "kerberos",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_AUTH", "basic"),
                ],
                "SENTIMAP_USERNAME",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_BULK_MAX_BYTES", "10"),
                ],
                "SENTIMAP_BULK_MAX_BYTES",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_BULK_MAX_BYTES", "lots"),
                ],
                "lots",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_INDEX", "Posts"),
                ],
                "not a valid index name",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_INDEX", "p-{yy}"),
                ],
                "unknown placeholder",
            ),
            (
                &[
                    ("SENTIMAP_INDEX_URL", "http://h"),
                    ("SENTIMAP_MAX_RETRIES", "99"),
                ],
                "SENTIMAP_MAX_RETRIES",
            ),
        ];
        for (v, want) in cases {
            let e = Config::from_vars(vars(v), &BTreeMap::new())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{v:?}: {e}");
        }
    }

    #[test]
    fn overrides_win_and_secrets_are_redacted() {
        let mut o = BTreeMap::new();
        o.insert("index".to_string(), "other".to_string());
        let c = Config::from_vars(
            vars(&[
                ("SENTIMAP_INDEX_URL", "http://h"),
                ("SENTIMAP_INDEX", "x"),
                ("SENTIMAP_AUTH", "api_key"),
                ("SENTIMAP_API_KEY", "id:verysecret"),
            ]),
            &o,
        )
        .unwrap();
        assert_eq!(c.index, "other");
        assert!(!format!("{c:?}").contains("verysecret"));
    }

    #[test]
    fn monthly_indices() {
        let t = IndexTarget::parse("sentimap-posts-{yyyy}.{MM}").unwrap();
        assert!(!t.is_fixed());
        assert_eq!(t.wildcard(), "sentimap-posts-*.*");
        let mut s = String::new();
        t.resolve("2024-12-25T08:00:00.000Z", &mut s);
        assert_eq!(s, "sentimap-posts-2024.12");
        t.resolve("bad", &mut s);
        assert_eq!(s, "sentimap-posts-0000.00");
        let d = IndexTarget::parse("p-{yyyy}{MM}{dd}").unwrap();
        d.resolve("2024-01-02T00:00:00.000Z", &mut s);
        assert_eq!(s, "p-20240102");
        assert_eq!(d.wildcard(), "p-*");
        assert!(IndexTarget::parse("p-{yyyy").is_err());
    }
}
