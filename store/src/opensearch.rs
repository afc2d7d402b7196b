//! The OpenSearch / Elasticsearch backend: the core's index template, bulk upserts by `_id`, and the
//! dashboard's queries as `geotile_grid`, `date_histogram` and `terms` aggregations.

use std::time::Duration;

use base64::Engine as _;
use reqwest::{Client, StatusCode};
use sentimap_core::sentiment::Label;
use sentimap_core::{index_template, IndexDoc};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::geo::{Bbox, Tile};
use crate::query::{
    auto_interval, format_ms, label_name, parse_label, round4, Filters, Geo, GeoQuery, LabelCounts,
    MapPoint, PostItem, Posts, PostsQuery, RawCell, Summary, SummaryQuery, TagCount, Timeline,
    TimelineQuery, MAX_CELLS,
};
use crate::{Error, IndexReport, Rejected, Store};

/// Attempts for bulk items the engine answers 429 or 5xx to.
const BULK_ATTEMPTS: u32 = 5;
/// First retry delay; doubled on each attempt.
const BULK_BACKOFF: Duration = Duration::from_millis(200);
/// Request timeout.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of an error answer kept in the error message.
const ERROR_BODY_CHARS: usize = 500;

/// How the store authenticates to the engine. `Debug` shows no secret.
#[derive(Clone, Default)]
pub enum Auth {
    /// No authentication (a local node, or a domain whose access policy lets this network in).
    #[default]
    None,
    /// HTTP basic auth (fine-grained access control's internal users).
    Basic {
        /// User.
        username: String,
        /// Password.
        password: String,
    },
    /// An API key: `id:key`, or already base64-encoded (sent as `Authorization: ApiKey ...`).
    ApiKey(String),
    /// AWS SigV4 over the exact bytes of each request (an IAM-only Amazon OpenSearch Service domain
    /// or an OpenSearch Serverless collection).
    SigV4(sentimap_sigv4::Signer),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Auth::SigV4(s) => f.debug_tuple("SigV4").field(s).finish(),
        }
    }
}

/// Where and how to reach the engine.
#[derive(Debug, Clone)]
pub struct OpenSearchConfig {
    /// Base URL, e.g. `http://127.0.0.1:9200`.
    pub url: String,
    /// The index written to and queried (an index, alias or pattern such as `sentimap-*`).
    pub index: String,
    /// The name of the index template installed before the first write.
    pub template: String,
    /// How requests authenticate.
    pub auth: Auth,
}

impl OpenSearchConfig {
    /// A config with the default index (`sentimap-posts`) and template names.
    pub fn new(url: impl Into<String>) -> Self {
        OpenSearchConfig {
            url: url.into().trim_end_matches('/').to_string(),
            index: "sentimap-posts".into(),
            template: "sentimap-posts".into(),
            auth: Auth::None,
        }
    }
}

/// The OpenSearch / Elasticsearch store.
#[derive(Debug, Clone)]
pub struct OpenSearchStore {
    cfg: OpenSearchConfig,
    http: Client,
    template: std::sync::Arc<OnceCell<()>>,
}

impl OpenSearchStore {
    /// Builds the client (no request is made yet).
    pub fn new(cfg: OpenSearchConfig) -> Result<Self, Error> {
        let http = Client::builder().timeout(TIMEOUT).build()?;
        Ok(OpenSearchStore {
            cfg,
            http,
            template: std::sync::Arc::new(OnceCell::new()),
        })
    }

    /// The config.
    pub fn config(&self) -> &OpenSearchConfig {
        &self.cfg
    }

    /// Sends one request, authenticated as configured. With SigV4 the signature covers these exact
    /// body bytes, the `host` and the `content-type` (always sent, so it is always signed).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
    ) -> Result<reqwest::Response, Error> {
        let url = reqwest::Url::parse(&format!("{}/{}", self.cfg.url, path))
            .map_err(|e| Error::Shape(format!("engine URL {}: {e}", self.cfg.url)))?;
        let (bytes, content_type) = body.unwrap_or((Vec::new(), "application/json"));
        let mut b = self
            .http
            .request(method.clone(), url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type);
        match &self.cfg.auth {
            Auth::None => {}
            Auth::Basic { username, password } => b = b.basic_auth(username, Some(password)),
            Auth::ApiKey(key) => {
                let encoded = match key.split_once(':') {
                    Some(_) => base64::engine::general_purpose::STANDARD.encode(key),
                    None => key.clone(),
                };
                let mut v = reqwest::header::HeaderValue::from_str(&format!("ApiKey {encoded}"))
                    .map_err(|_| Error::Auth("the API key is not a valid header value".into()))?;
                v.set_sensitive(true);
                b = b.header(reqwest::header::AUTHORIZATION, v);
            }
            Auth::SigV4(signer) => {
                let signed = signer
                    .sign(method.as_str(), &url, content_type, &bytes)
                    .await
                    .map_err(Error::Auth)?;
                for (name, value) in signed {
                    let mut v = reqwest::header::HeaderValue::from_str(&value)
                        .map_err(|_| Error::Auth(format!("signature header {name}")))?;
                    v.set_sensitive(true);
                    b = b.header(name, v);
                }
            }
        }
        if !bytes.is_empty() {
            b = b.body(bytes);
        }
        Ok(b.send().await?)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
    ) -> Result<Value, Error> {
        let resp = self.call(method, path, body).await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(Error::Engine {
                status: status.as_u16(),
                body: text.chars().take(ERROR_BODY_CHARS).collect(),
            });
        }
        serde_json::from_str(&text).map_err(|e| Error::Shape(format!("not JSON: {e}")))
    }

    /// Installs the core's index template unless one of that name exists. Never deletes or
    /// recreates anything.
    pub async fn ensure_template(&self) -> Result<(), Error> {
        self.template
            .get_or_try_init(|| async {
                let path = format!("_index_template/{}", self.cfg.template);
                let resp = self.call(reqwest::Method::GET, &path, None).await?;
                match resp.status() {
                    StatusCode::OK => Ok(()),
                    StatusCode::NOT_FOUND => {
                        let pattern = format!("{}*", self.cfg.index.trim_end_matches('*'));
                        let body = serde_json::to_vec(&index_template(&pattern))
                            .map_err(|e| Error::Shape(e.to_string()))?;
                        self.send(
                            reqwest::Method::PUT,
                            &path,
                            Some((body, "application/json")),
                        )
                        .await
                        .map(|_| ())
                    }
                    s => Err(Error::Engine {
                        status: s.as_u16(),
                        body: resp.text().await.unwrap_or_default(),
                    }),
                }
            })
            .await
            .map(|_| ())
    }

    async fn search(&self, body: Value) -> Result<Value, Error> {
        let body = serde_json::to_vec(&body).map_err(|e| Error::Shape(e.to_string()))?;
        self.send(
            reqwest::Method::POST,
            &format!("{}/_search", self.cfg.index),
            Some((body, "application/json")),
        )
        .await
    }
}

fn filter_clauses(f: &Filters, bbox: Option<&Bbox>) -> Vec<Value> {
    let mut out = Vec::new();
    if !f.words.is_empty() {
        out.push(json!({ "match": { "text": { "query": f.words.join(" "), "operator": "and" } } }));
    }
    if !f.labels.is_empty() {
        let names: Vec<&str> = f.labels.iter().map(|l| label_name(*l)).collect();
        out.push(json!({ "terms": { "sentiment.label": names } }));
    }
    if f.from_ms.is_some() || f.to_ms.is_some() {
        let mut range = serde_json::Map::new();
        if let Some(from) = f.from_ms {
            range.insert("gte".into(), json!(from));
        }
        if let Some(to) = f.to_ms {
            range.insert("lt".into(), json!(to));
        }
        range.insert("format".into(), json!("epoch_millis"));
        out.push(json!({ "range": { "created_at": range } }));
    }
    if let Some(b) = bbox {
        out.push(json!({ "geo_bounding_box": { "location.point": {
            "top_left": { "lat": b.north, "lon": b.west },
            "bottom_right": { "lat": b.south, "lon": b.east }
        }}}));
    }
    out
}

fn query(f: &Filters, bbox: Option<&Bbox>) -> Value {
    json!({ "bool": { "filter": filter_clauses(f, bbox) } })
}

fn total_hits(v: &Value) -> Result<u64, Error> {
    v.pointer("/hits/total/value")
        .or_else(|| v.pointer("/hits/total"))
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Shape("no hits.total".into()))
}

fn buckets<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, Error> {
    v.pointer(path)
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Shape(format!("no {path}")))
}

fn label_counts(agg: &Value) -> Result<LabelCounts, Error> {
    let mut c = LabelCounts::default();
    for b in buckets(agg, "/buckets")? {
        let key = b.get("key").and_then(Value::as_str).unwrap_or_default();
        let label: Label =
            parse_label(key).ok_or_else(|| Error::Shape(format!("label {key:?} in the index")))?;
        c.add(
            label,
            b.get("doc_count").and_then(Value::as_u64).unwrap_or(0),
        );
    }
    Ok(c)
}

fn labels_agg() -> Value {
    json!({ "terms": { "field": "sentiment.label", "size": 3 } })
}

impl Store for OpenSearchStore {
    async fn index(&self, docs: &[IndexDoc]) -> Result<IndexReport, Error> {
        self.ensure_template().await?;
        let mut report = IndexReport::default();
        let mut pending: Vec<&IndexDoc> = docs.iter().collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let mut body = String::new();
            for d in &pending {
                let action = json!({ "index": { "_index": self.cfg.index, "_id": d.id } });
                body.push_str(&action.to_string());
                body.push('\n');
                body.push_str(&serde_json::to_string(d).map_err(|e| Error::Shape(e.to_string()))?);
                body.push('\n');
            }
            let resp = self
                .send(
                    reqwest::Method::POST,
                    "_bulk",
                    Some((body.into_bytes(), "application/x-ndjson")),
                )
                .await?;
            let items = buckets(&resp, "/items")?;
            if items.len() != pending.len() {
                return Err(Error::Shape(format!(
                    "bulk answered {} items for {}",
                    items.len(),
                    pending.len()
                )));
            }
            let mut retry = Vec::new();
            for (doc, item) in pending.iter().zip(items) {
                let status = item
                    .pointer("/index/status")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                match status {
                    200..=299 => report.indexed += 1,
                    429 | 500..=599 if attempt < BULK_ATTEMPTS => retry.push(*doc),
                    _ => report.rejected.push(Rejected {
                        id: doc.id.clone(),
                        reason: format!(
                            "status {status}: {}",
                            item.pointer("/index/error")
                                .map(Value::to_string)
                                .unwrap_or_default()
                        ),
                    }),
                }
            }
            if !retry.is_empty() {
                tokio::time::sleep(BULK_BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            pending = retry;
        }
        Ok(report)
    }

    async fn refresh(&self) -> Result<(), Error> {
        self.send(
            reqwest::Method::POST,
            &format!("{}/_refresh", self.cfg.index),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn summary(&self, q: SummaryQuery) -> Result<Summary, Error> {
        let mut aggs = json!({
            "labels": labels_agg(),
            "mean": { "avg": { "field": "sentiment.compound" } },
            "first": { "min": { "field": "created_at" } },
            "last": { "max": { "field": "created_at" } }
        });
        if q.top > 0 {
            aggs["tags"] = json!({ "terms": { "field": "hashtags_folded", "size": q.top, "shard_size": 1000,
                "order": [{ "_count": "desc" }, { "_key": "asc" }] } });
        }
        let v = self
            .search(json!({ "size": 0, "track_total_hits": true, "query": query(&q.filters, None), "aggs": aggs }))
            .await?;
        let labels = label_counts(v.pointer("/aggregations/labels").unwrap_or(&Value::Null))?;
        let total = labels.total();
        let ms = |p: &str| v.pointer(p).and_then(Value::as_f64).map(|f| f as i64);
        let top_hashtags = if q.top > 0 {
            buckets(&v, "/aggregations/tags/buckets")?
                .iter()
                .map(|b| TagCount {
                    tag: b
                        .get("key")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    count: b.get("doc_count").and_then(Value::as_u64).unwrap_or(0),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Summary {
            total,
            labels,
            compound_mean: if total > 0 {
                v.pointer("/aggregations/mean/value")
                    .and_then(Value::as_f64)
                    .map(round4)
            } else {
                None
            },
            first_at: if total > 0 {
                ms("/aggregations/first/value").map(format_ms)
            } else {
                None
            },
            last_at: if total > 0 {
                ms("/aggregations/last/value").map(format_ms)
            } else {
                None
            },
            top_hashtags,
        })
    }

    async fn geo(&self, q: GeoQuery) -> Result<Geo, Error> {
        let precision = q.precision();
        let filter = query(&q.filters, Some(&q.bbox));
        let count = self
            .search(json!({ "size": 0, "track_total_hits": true, "query": filter }))
            .await?;
        let total = total_hits(&count)?;
        if total <= q.max_points as u64 {
            let v = self
                .search(json!({
                    "size": q.max_points,
                    "query": filter,
                    "sort": [{ "id": "asc" }],
                    "_source": ["id", "location.point", "sentiment.label", "sentiment.compound"]
                }))
                .await?;
            let mut points = Vec::new();
            for h in buckets(&v, "/hits/hits")? {
                let s = h
                    .get("_source")
                    .ok_or_else(|| Error::Shape("hit without _source".into()))?;
                let f = |p: &str| {
                    s.pointer(p)
                        .and_then(Value::as_f64)
                        .ok_or_else(|| Error::Shape(format!("hit without {p}")))
                };
                let label = s
                    .pointer("/sentiment/label")
                    .and_then(Value::as_str)
                    .and_then(parse_label);
                points.push(MapPoint {
                    id: s
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    lat: f("/location/point/lat")?,
                    lon: f("/location/point/lon")?,
                    label: label.ok_or_else(|| Error::Shape("hit without a label".into()))?,
                    compound: f("/sentiment/compound")?,
                });
            }
            return Ok(Geo::from_points(total, precision, points));
        }
        let v = self
            .search(json!({
                "size": 0,
                "query": filter,
                "aggs": { "cells": {
                    "geotile_grid": { "field": "location.point", "precision": precision, "size": MAX_CELLS },
                    "aggs": { "labels": labels_agg(), "mean": { "avg": { "field": "sentiment.compound" } } }
                }}
            }))
            .await?;
        let mut raw = Vec::new();
        for b in buckets(&v, "/aggregations/cells/buckets")? {
            let key = b.get("key").and_then(Value::as_str).unwrap_or_default();
            let tile =
                Tile::parse(key).ok_or_else(|| Error::Shape(format!("geotile key {key:?}")))?;
            raw.push(RawCell {
                tile,
                labels: label_counts(b.get("labels").unwrap_or(&Value::Null))?,
                compound_mean: b
                    .pointer("/mean/value")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            });
        }
        Ok(Geo::from_cells(total, precision, raw))
    }

    async fn timeline(&self, q: TimelineQuery) -> Result<Timeline, Error> {
        let filter = query(&q.filters, None);
        let interval = match q.interval {
            Some(i) => i,
            None => {
                let v = self
                    .search(json!({ "size": 0, "query": filter, "aggs": {
                        "first": { "min": { "field": "created_at" } },
                        "last": { "max": { "field": "created_at" } } } }))
                    .await?;
                let ms = |p: &str| v.pointer(p).and_then(Value::as_f64).map(|f| f as i64);
                auto_interval(
                    q.filters
                        .from_ms
                        .or(ms("/aggregations/first/value"))
                        .unwrap_or(0),
                    q.filters
                        .to_ms
                        .or(ms("/aggregations/last/value"))
                        .unwrap_or(0),
                )
            }
        };
        let v = self
            .search(json!({ "size": 0, "query": filter, "aggs": { "time": {
                "date_histogram": { "field": "created_at", "fixed_interval": interval.0, "min_doc_count": 1 },
                "aggs": { "labels": labels_agg() } } } }))
            .await?;
        let mut counts = Vec::new();
        for b in buckets(&v, "/aggregations/time/buckets")? {
            let start = b
                .get("key")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::Shape("bucket without key".into()))?;
            let c = label_counts(b.get("labels").unwrap_or(&Value::Null))?;
            for l in crate::query::LABELS {
                let n = match l {
                    Label::Positive => c.positive,
                    Label::Neutral => c.neutral,
                    Label::Negative => c.negative,
                };
                if n > 0 {
                    counts.push((start, l, n));
                }
            }
        }
        Ok(Timeline::from_counts(interval, counts))
    }

    async fn posts(&self, q: PostsQuery) -> Result<Posts, Error> {
        let v = self
            .search(json!({
                "size": q.limit,
                "track_total_hits": true,
                "query": query(&q.filters, None),
                "sort": [{ "created_at": "desc" }, { "id": "desc" }]
            }))
            .await?;
        let total = total_hits(&v)?;
        let mut posts = Vec::new();
        for h in buckets(&v, "/hits/hits")? {
            let s = h
                .get("_source")
                .cloned()
                .ok_or_else(|| Error::Shape("hit without _source".into()))?;
            let doc: IndexDoc = serde_json::from_value(s)
                .map_err(|e| Error::Shape(format!("stored document: {e}")))?;
            posts.push(PostItem::from(doc));
        }
        Ok(Posts { total, posts })
    }
}
