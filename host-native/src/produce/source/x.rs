//! X API v2 filtered stream: app-only auth (a bearer token, or consumer key and secret exchanged at
//! `oauth2/token`), rules synced from the config after a dry run, then the stream, reconnecting on
//! X's documented schedule ([`super::reconnect`]). A rules call that meets a 429, a 5xx or a network
//! error is tried again on the same schedule (six attempts in all).

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use sentimap_core::FilterConfig;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::reconnect::{Backoff, Failure};
use super::trim_line;
use crate::produce::config::XConfig;
use crate::produce::filter::Ingest;
use crate::produce::secret::Secret;
use crate::produce::stats::Stats;

/// Tags of the rules this program owns start with this; other rules are left alone.
pub const RULE_TAG: &str = "sentimap";

/// The fields and expansions that carry text, language, coordinates, places and authors.
pub const STREAM_QUERY: &str =
    "tweet.fields=created_at,lang,geo,entities,author_id,referenced_tweets\
&expansions=geo.place_id,author_id,referenced_tweets.id\
&place.fields=full_name,country_code,geo,place_type,name\
&user.fields=username,name,location";

/// Credentials, resolved.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An app-only bearer token.
    Bearer(Secret),
    /// Consumer key and secret, to exchange for a bearer token.
    Consumer {
        /// API key.
        key: Secret,
        /// API secret.
        secret: Secret,
    },
}

/// Builds the rules: keyword groups `(a OR "b c")` packed up to `max_len`, each followed by
/// `has:geo`, `lang:` and `-is:retweet` as configured; then the verbatim extra rules.
pub fn build_rules(filter: &FilterConfig, x: &XConfig) -> anyhow::Result<Vec<String>> {
    let mut suffix = String::new();
    if x.has_geo.unwrap_or(filter.require_location) {
        suffix.push_str(" has:geo");
    }
    match filter.languages.as_slice() {
        [] => {}
        [one] => suffix.push_str(&format!(" lang:{one}")),
        many => {
            let langs: Vec<String> = many.iter().map(|l| format!("lang:{l}")).collect();
            suffix.push_str(&format!(" ({})", langs.join(" OR ")));
        }
    }
    if x.exclude_retweets {
        suffix.push_str(" -is:retweet");
    }
    let mut rules = Vec::new();
    let mut group: Vec<&str> = Vec::new();
    let render = |g: &[&str]| {
        if g.len() == 1 {
            format!("{}{suffix}", g[0])
        } else {
            format!("({}){suffix}", g.join(" OR "))
        }
    };
    for k in &filter.keywords {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        group.push(k);
        if render(&group).len() > x.rule_max_len {
            group.pop();
            if group.is_empty() {
                bail!(
                    "keyword {k:?} with{suffix} is longer than x.rule_max_len {}",
                    x.rule_max_len
                );
            }
            rules.push(render(&group));
            group = vec![k];
            if render(&group).len() > x.rule_max_len {
                bail!(
                    "keyword {k:?} is longer than x.rule_max_len {}",
                    x.rule_max_len
                );
            }
        }
    }
    if !group.is_empty() {
        rules.push(render(&group));
    }
    rules.extend(x.rules.iter().cloned());
    if rules.is_empty() {
        bail!("the x source needs filter.keywords (--keywords) or x.rules (--x-rule): X streams only posts that match a rule");
    }
    Ok(rules)
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    token_type: String,
    access_token: String,
}

/// Exchanges consumer key and secret for an app-only bearer token.
pub async fn bearer_token(
    http: &Client,
    api_base: &str,
    creds: &Credentials,
) -> anyhow::Result<Secret> {
    let (key, secret) = match creds {
        Credentials::Bearer(t) => return Ok(t.clone()),
        Credentials::Consumer { key, secret } => (key, secret),
    };
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        enc(key.expose()),
        enc(secret.expose())
    ));
    let resp = http
        .post(format!("{api_base}/oauth2/token"))
        .header("Authorization", format!("Basic {basic}"))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded;charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .context("requesting a bearer token from oauth2/token")?;
    let status = resp.status();
    let body = resp.bytes().await.context("reading oauth2/token answer")?;
    if !status.is_success() {
        bail!("oauth2/token answered {status}: {}", snippet(&body));
    }
    let answer: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|_| anyhow!("oauth2/token answered an unexpected body"))?;
    if !answer.token_type.eq_ignore_ascii_case("bearer") {
        bail!(
            "oauth2/token returned a {:?} token, not bearer",
            answer.token_type
        );
    }
    Ok(Secret::new(answer.access_token))
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    s.chars().take(500).collect()
}

#[derive(Debug, Deserialize)]
struct RulesAnswer {
    #[serde(default)]
    data: Vec<RuleItem>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RuleItem {
    id: String,
    value: String,
    #[serde(default)]
    tag: Option<String>,
}

/// Attempts at one rules call before the producer gives up: the rules endpoints are rate limited
/// per 15-minute window, and X's schedule for 429 (60 s, doubling) covers such a window in five.
const RULES_ATTEMPTS: u32 = 6;

/// One call to the rules endpoint built by `req`; a 429, a 5xx or a network error is tried again
/// on X's reconnect schedule (scaled by `scale`), any other refusal is final.
async fn rules_call(
    token: &Secret,
    req: impl Fn() -> reqwest::RequestBuilder,
    what: &str,
    scale: f64,
) -> anyhow::Result<RulesAnswer> {
    let mut backoff = Backoff::new(scale);
    let mut attempt = 1;
    loop {
        let (failure, why) = match req().bearer_auth(token.expose()).send().await {
            Err(e) => (Failure::Network, format!("request failed: {e}")),
            Ok(resp) => {
                let status = resp.status();
                let body = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        return Err(anyhow!("{what}: reading answer: {e}"));
                    }
                };
                if status.is_success() {
                    let answer: RulesAnswer = serde_json::from_slice(&body).map_err(|e| {
                        anyhow!("{what}: unexpected answer ({e}): {}", snippet(&body))
                    })?;
                    if !answer.errors.is_empty() {
                        bail!(
                            "{what}: X refused: {}",
                            serde_json::to_string(&answer.errors).unwrap_or_default()
                        );
                    }
                    return Ok(answer);
                }
                let why = format!("X answered {status}: {}", snippet(&body));
                match status.as_u16() {
                    429 => (Failure::RateLimited, why),
                    500..=599 => (Failure::Http, why),
                    _ => bail!("{what}: {why}"),
                }
            }
        };
        if attempt >= RULES_ATTEMPTS {
            bail!("{what}: gave up after {attempt} attempts: {why}");
        }
        let delay = backoff.next(failure);
        warn!(
            attempt,
            kind = ?failure,
            delay_ms = delay.as_millis() as u64,
            error = %why,
            "{what}: retrying."
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Makes this app's `sentimap` rules equal to `wanted`: validates additions with `dry_run`, then
/// deletes stale ones and adds new ones. Rules with other tags are not touched.
pub async fn sync_rules(
    http: &Client,
    api_base: &str,
    token: &Secret,
    wanted: &[String],
    scale: f64,
) -> anyhow::Result<()> {
    let url = format!("{api_base}/2/tweets/search/stream/rules");
    let current = rules_call(token, || http.get(&url), "listing stream rules", scale).await?;
    let ours: Vec<&RuleItem> = current
        .data
        .iter()
        .filter(|r| r.tag.as_deref().is_some_and(|t| t.starts_with(RULE_TAG)))
        .collect();
    let stale: Vec<&str> = ours
        .iter()
        .filter(|r| !wanted.contains(&r.value))
        .map(|r| r.id.as_str())
        .collect();
    let add: Vec<serde_json::Value> = wanted
        .iter()
        .enumerate()
        .filter(|(_, w)| !ours.iter().any(|r| &r.value == *w))
        .map(|(i, w)| json!({"value": w, "tag": format!("{RULE_TAG}:{i}")}))
        .collect();
    if !add.is_empty() {
        let body = json!({ "add": add });
        rules_call(
            token,
            || http.post(format!("{url}?dry_run=true")).json_body(&body),
            "validating stream rules (dry run)",
            scale,
        )
        .await?;
    }
    if !stale.is_empty() {
        let body = json!({"delete": {"ids": stale}});
        rules_call(
            token,
            || http.post(&url).json_body(&body),
            "deleting stale stream rules",
            scale,
        )
        .await?;
    }
    if !add.is_empty() {
        let body = json!({ "add": add });
        rules_call(
            token,
            || http.post(&url).json_body(&body),
            "adding stream rules",
            scale,
        )
        .await?;
    }
    info!(
        added = add.len(),
        deleted = stale.len(),
        kept = ours.len() - stale.len(),
        "Stream rules synced."
    );
    Ok(())
}

trait JsonBody {
    fn json_body(self, v: &serde_json::Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(v.to_string())
    }
}

/// How one connection ended.
enum Ended {
    Stopped,
    Failed(Failure),
    Fatal(anyhow::Error),
}

/// Authenticates, syncs rules, then follows the stream until `stop`.
pub async fn run(
    cfg: &XConfig,
    filter: &FilterConfig,
    creds: Credentials,
    scale: f64,
    ingest: &Ingest,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let http = Client::builder()
        .user_agent(concat!("sentimap/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")?;
    let base = cfg.api_base.trim_end_matches('/');
    if cfg.access_token.is_some() || cfg.access_token_secret.is_some() {
        info!(
            "x.access_token is not needed by the v2 filtered stream (app-only auth); ignoring it."
        );
    }
    let token = bearer_token(&http, base, &creds).await?;
    if cfg.sync_rules {
        let rules = build_rules(filter, cfg)?;
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Ok(()),
            synced = sync_rules(&http, base, &token, &rules, scale) => synced?,
        }
    }
    let url = format!("{base}/2/tweets/search/stream?{STREAM_QUERY}");
    let stall = Duration::from_millis(cfg.stall_timeout_ms).mul_f64(scale);
    let stats = ingest.stats().clone();
    let mut backoff = Backoff::new(scale);
    loop {
        let ended = tokio::select! {
            biased;
            _ = stop.cancelled() => Ended::Stopped,
            e = connect_once(&http, &url, &token, stall, ingest, stop, &mut backoff) => e,
        };
        let failure = match ended {
            Ended::Stopped => return Ok(()),
            Ended::Fatal(e) => return Err(e),
            Ended::Failed(f) => f,
        };
        let delay = backoff.next(failure);
        Stats::inc(match failure {
            Failure::Network => &stats.reconnects_network,
            Failure::Http => &stats.reconnects_http,
            Failure::RateLimited => &stats.reconnects_rate_limited,
        });
        warn!(kind = ?failure, delay_ms = delay.as_millis() as u64, "X stream lost; reconnecting.");
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect_once(
    http: &Client,
    url: &str,
    token: &Secret,
    stall: Duration,
    ingest: &Ingest,
    stop: &CancellationToken,
    backoff: &mut Backoff,
) -> Ended {
    let resp = match tokio::time::timeout(
        stall.max(Duration::from_millis(10)) * 3,
        http.get(url).bearer_auth(token.expose()).send(),
    )
    .await
    {
        Err(_) => {
            warn!("X stream did not answer in time.");
            return Ended::Failed(Failure::Network);
        }
        Ok(Err(e)) => {
            warn!(error = %e, "X stream connection failed.");
            return Ended::Failed(Failure::Network);
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if status != StatusCode::OK {
        let body = resp.bytes().await.unwrap_or_default();
        let text = snippet(&body);
        return match status.as_u16() {
            429 => {
                if text.contains("TooManyConnections") {
                    warn!("X says TooManyConnections: another client holds this app's stream; waiting before retrying.");
                } else {
                    warn!(body = %text, "X stream rate limited.");
                }
                Ended::Failed(Failure::RateLimited)
            }
            400 | 401 | 403 | 404 => Ended::Fatal(anyhow!(
                "X stream answered {status}; check the credentials and access level: {text}"
            )),
            _ => {
                warn!(status = status.as_u16(), body = %text, "X stream HTTP error.");
                Ended::Failed(Failure::Http)
            }
        };
    }
    info!("X stream connected.");
    backoff.reset();
    let stats = ingest.stats();
    let mut body = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => return Ended::Stopped,
            n = tokio::time::timeout(stall, body.next()) => n,
        };
        match next {
            Err(_) => {
                Stats::inc(&stats.stalls);
                warn!(stall_ms = stall.as_millis() as u64, "X stream stalled.");
                return Ended::Failed(Failure::Network);
            }
            Ok(None) => {
                warn!("X stream closed by the server.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Some(Err(e))) => {
                warn!(error = %e, "X stream read failed.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Some(Ok(chunk))) => {
                buf.extend_from_slice(&chunk);
                let mut start = 0;
                while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
                    let line = trim_line(&buf[start..start + pos]);
                    start += pos + 1;
                    // Blank lines are keep-alives.
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if line.starts_with(b"{\"errors\"") {
                        warn!(message = %snippet(line), "X stream sent an error message.");
                    }
                    if ingest.offer(line).await.is_err() {
                        return Ended::Stopped;
                    }
                }
                buf.drain(..start);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_pack_keywords_and_operators() {
        let filter = FilterConfig {
            keywords: vec![
                "christmas".into(),
                "\"happy holidays\"".into(),
                "navidad".into(),
            ],
            languages: vec!["en".into(), "es".into()],
            ..FilterConfig::default()
        };
        let mut x = XConfig::default();
        let rules = build_rules(&filter, &x).expect("rules");
        assert_eq!(
            rules,
            ["(christmas OR \"happy holidays\" OR navidad) has:geo (lang:en OR lang:es) -is:retweet"]
        );
        x.rule_max_len = 80;
        let rules = build_rules(&filter, &x).expect("rules");
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert!(rules.iter().all(|r| r.len() <= 80), "{rules:?}");
        x.rule_max_len = 10;
        assert!(build_rules(&filter, &x).is_err());
        assert!(build_rules(&FilterConfig::default(), &XConfig::default()).is_err());
    }
}
