//! A programmable, fault-injecting HTTP reverse proxy for tests.
//!
//! The real services of the test bed never fail on their own: moto always answers a Firehose
//! `PutRecordBatch` with `FailedPutCount: 0`, and a single OpenSearch node on an idle machine never
//! answers a bulk request with 429. To test retries, partial failures and at-least-once delivery, put
//! a [`Proxy`] between the client and the service and let a hook decide, request by request, what
//! happens:
//!
//! | the hook returns                     | the client gets                                  | upstream sees it |
//! |--------------------------------------|--------------------------------------------------|------------------|
//! | [`Action::Forward`]                  | the upstream's answer                            | yes              |
//! | [`Action::ForwardThen`]              | the upstream's answer, rewritten by a closure    | yes              |
//! | [`Action::ForwardThenClose`]         | a closed connection (the upstream acted!)        | yes              |
//! | [`Action::Respond`]                  | the proxy's own answer (429, 500, 503, ...)      | no               |
//! | [`Action::Close`]                    | a closed connection, no answer                   | no               |
//! | [`Action::Delay`]`(d, then)`         | `then`, `d` later                                | as `then`        |
//!
//! The hook gets the request as `&mut Request` and may change it (method, path, headers, body) before
//! the proxy forwards it: a changed request counts as *modified*. Each request carries a sequence
//! number, so "fail the first three, then recover" needs no state of its own; a hook may also keep
//! state (atomics, a mutex), and [`Proxy::set_hook`] swaps the hook mid-test.
//!
//! Every request is recorded ([`Proxy::log`]) with what the proxy did to it, and [`Proxy::stats`]
//! counts them by kind: tests assert on what was injected, and on what the client sent back after a
//! fault (e.g. that a retry resent only the failed records).
//!
//! ```no_run
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use sentimap_tests::proxy::{Action, Proxy, Reply};
//! use http::StatusCode;
//!
//! # async fn demo() -> std::io::Result<()> {
//! // The first two bulk requests get a 429; everything else goes through to OpenSearch.
//! let bulks = AtomicU32::new(0);
//! let proxy = Proxy::start("http://127.0.0.1:9200", move |req| {
//!     if req.path.starts_with("/_bulk") && bulks.fetch_add(1, Ordering::SeqCst) < 2 {
//!         Action::Respond(Reply::json(StatusCode::TOO_MANY_REQUESTS, &serde_json::json!({"error": "busy"})))
//!     } else {
//!         Action::Forward
//!     }
//! })
//! .await?;
//! let url = proxy.url(); // give this to the client under test instead of the service's URL
//! // ... run the client against `url` ...
//! # let _ = url;
//! assert!(proxy.stats().responded <= 2);
//! # Ok(())
//! # }
//! ```
//!
//! The proxy binds `127.0.0.1:0` (a free port), speaks HTTP/1.1 with keep-alive, buffers bodies whole
//! (test payloads are small), forwards every header except the hop-by-hop ones and `Host` (the
//! upstream gets its own), and answers 502 when the upstream cannot be reached. Dropping the [`Proxy`]
//! stops it and closes its connections.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// One request as the proxy received it; the hook may change it before it is forwarded.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// 0 for the first request this proxy received, then 1, 2, ... (numbered when the whole body
    /// has arrived, before the hook runs).
    pub seq: u64,
    /// The HTTP method.
    pub method: Method,
    /// Path and query, e.g. `/_bulk?refresh=wait_for`.
    pub path: String,
    /// The request headers (hop-by-hop headers included; they are dropped when forwarding).
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Request {
    /// A header's value, when present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The AWS JSON-protocol operation, e.g. `Firehose_20150804.PutRecordBatch` (`X-Amz-Target`).
    pub fn amz_target(&self) -> Option<&str> {
        self.header("x-amz-target")
    }

    /// The body as text, when it is UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The body parsed as one JSON value, when it is one.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replaces the body with `value` serialised as JSON.
    pub fn set_body_json(&mut self, value: &serde_json::Value) {
        self.body = Bytes::from(value.to_string());
    }
}

/// An HTTP answer: the upstream's, or one the proxy makes up.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The headers (`Content-Length` is always recomputed from the body).
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// An answer with `status`, `body` and no headers.
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// An `application/json` answer.
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
        let mut reply = Reply::new(status, value.to_string());
        reply.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        reply
    }

    /// The body parsed as one JSON value, when it is one.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replaces the body with `value` serialised as JSON (keeps the headers).
    pub fn set_body_json(&mut self, value: &serde_json::Value) {
        self.body = Bytes::from(value.to_string());
    }
}

/// Rewrites the upstream's answer before the client gets it.
pub type Transform = Box<dyn FnOnce(Reply) -> Reply + Send>;

/// What the proxy does with one request. See the table in the [module docs](self).
pub enum Action {
    /// Forward the request (as the hook left it) and return the upstream's answer unchanged.
    Forward,
    /// Forward the request, then give the client what the closure makes of the upstream's answer:
    /// e.g. mark records of a Firehose `PutRecordBatch` answer as failed, or items of a bulk answer as 429.
    ForwardThen(Transform),
    /// Forward the request, drop the upstream's answer and close the connection: the service acted,
    /// the client sees a failure (the case that makes at-least-once delivery deliver twice).
    ForwardThenClose,
    /// Answer with this reply; the upstream never sees the request.
    Respond(Reply),
    /// Close the connection without an answer; the upstream never sees the request.
    Close,
    /// Wait, then do the inner action.
    Delay(Duration, Box<Action>),
}

impl Action {
    /// [`Action::ForwardThen`] with a closure.
    pub fn transform(f: impl FnOnce(Reply) -> Reply + Send + 'static) -> Action {
        Action::ForwardThen(Box::new(f))
    }

    /// [`Action::Respond`] with a plain-text body.
    pub fn status(status: StatusCode, body: impl Into<Bytes>) -> Action {
        Action::Respond(Reply::new(status, body))
    }

    /// [`Action::Delay`].
    pub fn delay(by: Duration, then: Action) -> Action {
        Action::Delay(by, Box::new(then))
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Forward => f.write_str("Forward"),
            Action::ForwardThen(_) => f.write_str("ForwardThen(..)"),
            Action::ForwardThenClose => f.write_str("ForwardThenClose"),
            Action::Respond(reply) => f.debug_tuple("Respond").field(&reply.status).finish(),
            Action::Close => f.write_str("Close"),
            Action::Delay(by, then) => f.debug_tuple("Delay").field(by).field(then).finish(),
        }
    }
}

/// What happened to one request, in the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; the client got the upstream's status.
    Forwarded(StatusCode),
    /// Forwarded; the client got a transformed answer with this status.
    Transformed(StatusCode),
    /// Forwarded, then the connection was closed without an answer.
    ForwardedThenClosed,
    /// Answered by the proxy with this status.
    Responded(StatusCode),
    /// Closed without an answer.
    Closed,
    /// The upstream could not be reached: the client got 502.
    UpstreamError,
}

/// One request in the proxy's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The request as forwarded (after the hook's changes) or as received when not forwarded.
    pub request: Request,
    /// Whether the hook changed the request.
    pub modified: bool,
    /// How long the proxy held it back.
    pub delayed: Option<Duration>,
    /// What the client got.
    pub outcome: Outcome,
}

/// Counts of what the proxy did, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received.
    pub received: u64,
    /// Requests sent to the upstream (whatever the client got back).
    pub forwarded: u64,
    /// Requests the hook changed before they were forwarded.
    pub modified: u64,
    /// Upstream answers rewritten by a transform.
    pub transformed: u64,
    /// Requests answered by the proxy itself.
    pub responded: u64,
    /// Requests held back by a delay.
    pub delayed: u64,
    /// Connections closed without an answer (with or without forwarding).
    pub closed: u64,
    /// Requests the upstream could not take (502).
    pub upstream_errors: u64,
    /// Requests with at least one injected fault: anything but an unchanged, undelayed forward.
    pub injected: u64,
}

type Hook = Arc<dyn Fn(&mut Request) -> Action + Send + Sync>;

struct Shared {
    upstream: String,
    client: reqwest::Client,
    hook: RwLock<Hook>,
    log: Mutex<Vec<Record>>,
    next_seq: Mutex<u64>,
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct CloseConnection;

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed by the test proxy")
    }
}

impl std::error::Error for CloseConnection {}

/// A running proxy. Dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:<free port>` in front of `upstream` (`http://host:port`, no path).
    /// Needs a running tokio runtime.
    pub async fn start(
        upstream: &str,
        hook: impl Fn(&mut Request) -> Action + Send + Sync + 'static,
    ) -> std::io::Result<Proxy> {
        let client = reqwest::Client::builder()
            .no_proxy()
            // A redirect is the upstream's answer to pass on, not one to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            hook: RwLock::new(Arc::new(hook)),
            log: Mutex::new(Vec::new()),
            next_seq: Mutex::new(0),
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// Starts a proxy that forwards everything unchanged (set a hook later with [`Proxy::set_hook`]).
    pub async fn passthrough(upstream: &str) -> std::io::Result<Proxy> {
        Proxy::start(upstream, |_| Action::Forward).await
    }

    /// The proxy's base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the hook; requests that arrive from now on use the new one.
    pub fn set_hook(&self, hook: impl Fn(&mut Request) -> Action + Send + Sync + 'static) {
        *self
            .shared
            .hook
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(hook);
    }

    /// Every request handled so far, in order of completion.
    pub fn log(&self) -> Vec<Record> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The counts of what the proxy did so far (requests it has finished with; one still held back
    /// by a delay or waiting for the upstream is not counted yet).
    pub fn stats(&self) -> Stats {
        let log = self
            .shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut stats = Stats::default();
        for record in log.iter() {
            stats.received += 1;
            let mut injected = record.modified;
            if record.modified {
                stats.modified += 1;
            }
            if record.delayed.is_some() {
                stats.delayed += 1;
                injected = true;
            }
            match record.outcome {
                Outcome::Forwarded(_) => stats.forwarded += 1,
                Outcome::Transformed(_) => {
                    stats.forwarded += 1;
                    stats.transformed += 1;
                    injected = true;
                }
                Outcome::ForwardedThenClosed => {
                    stats.forwarded += 1;
                    stats.closed += 1;
                    injected = true;
                }
                Outcome::Responded(_) => {
                    stats.responded += 1;
                    injected = true;
                }
                Outcome::Closed => {
                    stats.closed += 1;
                    injected = true;
                }
                Outcome::UpstreamError => stats.upstream_errors += 1,
            }
            if injected {
                stats.injected += 1;
            }
        }
        stats
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet, which aborts every open connection.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A failed accept (e.g. too many open files) only loses that one connection.
                Err(_) => continue,
            },
            // Reap finished connections so the set does not grow for the proxy's lifetime.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { handle(&shared, req).await }
            });
            // An error here is a closed connection: on purpose (Action::Close) or by the client.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    shared: &Shared,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, CloseConnection> {
    let (parts, body) = req.into_parts();
    // A body the client did not finish sending cannot be forwarded: treat it like a dropped connection.
    let body = body
        .collect()
        .await
        .map_err(|_| CloseConnection)?
        .to_bytes();
    let seq = {
        let mut next = shared
            .next_seq
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let seq = *next;
        *next += 1;
        seq
    };
    let received = Request {
        seq,
        method: parts.method,
        path: parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_string(),
            |pq| pq.as_str().to_string(),
        ),
        headers: parts.headers,
        body,
    };
    let mut request = received.clone();
    let hook = Arc::clone(&shared.hook.read().unwrap_or_else(PoisonError::into_inner));
    let mut action = hook(&mut request);
    let modified = request != received;

    let mut delayed = None;
    while let Action::Delay(by, then) = action {
        tokio::time::sleep(by).await;
        delayed = Some(delayed.unwrap_or_default() + by);
        action = *then;
    }

    let (outcome, reply) = match action {
        Action::Respond(reply) => (Outcome::Responded(reply.status), Some(reply)),
        Action::Close => (Outcome::Closed, None),
        Action::Forward | Action::ForwardThen(_) | Action::ForwardThenClose => {
            match forward(shared, &request).await {
                Err(error) => {
                    let reply = Reply::new(
                        StatusCode::BAD_GATEWAY,
                        format!("test proxy: upstream {} failed: {error}", shared.upstream),
                    );
                    (Outcome::UpstreamError, Some(reply))
                }
                Ok(reply) => match action {
                    Action::ForwardThen(transform) => {
                        let reply = transform(reply);
                        (Outcome::Transformed(reply.status), Some(reply))
                    }
                    Action::ForwardThenClose => (Outcome::ForwardedThenClosed, None),
                    _ => (Outcome::Forwarded(reply.status), Some(reply)),
                },
            }
        }
        // Unreachable: the loop above unwrapped every delay.
        Action::Delay(..) => (Outcome::Closed, None),
    };

    shared
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Record {
            request,
            modified,
            delayed,
            outcome,
        });
    match reply {
        Some(reply) => Ok(into_response(reply)),
        None => Err(CloseConnection),
    }
}

/// Headers that belong to one connection, not to the message (RFC 9110 section 7.6.1), plus the
/// ones the proxy recomputes.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::CONTENT_LENGTH,
        header::HOST,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

async fn forward(shared: &Shared, request: &Request) -> Result<Reply, reqwest::Error> {
    let url = format!("{}{}", shared.upstream, request.path);
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        if !is_hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let response = shared
        .client
        .request(request.method.clone(), url)
        .headers(headers)
        .body(request.body.clone())
        .send()
        .await?;
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !is_hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let body = response.bytes().await?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn into_response(reply: Reply) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    for (name, value) in &reply.headers {
        if !is_hop_by_hop(name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    use serde_json::{json, Value};

    use super::*;

    /// A real HTTP upstream: answers every request with a JSON echo of it, and counts them.
    /// The status comes from the `x-status` request header (default 200).
    struct Echo {
        url: String,
        hits: Arc<AtomicU64>,
        task: JoinHandle<()>,
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn echo() -> Echo {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let counter = Arc::clone(&counter);
                connections.spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let counter = Arc::clone(&counter);
                        async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let status = req
                                .headers()
                                .get("x-status")
                                .and_then(|v| v.to_str().ok()?.parse().ok())
                                .unwrap_or(200);
                            let location = req.headers().get("x-location").cloned();
                            let method = req.method().to_string();
                            let path = req.uri().to_string();
                            let host = req
                                .headers()
                                .get("host")
                                .map(|v| v.to_str().unwrap().to_string());
                            let tag = req
                                .headers()
                                .get("x-tag")
                                .map(|v| v.to_str().unwrap().to_string());
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let echo = json!({
                                "method": method,
                                "path": path,
                                "host": host,
                                "tag": tag,
                                "body": String::from_utf8_lossy(&body),
                            });
                            let mut response =
                                hyper::Response::new(Full::new(Bytes::from(echo.to_string())));
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            response.headers_mut().insert(
                                header::CONTENT_TYPE,
                                HeaderValue::from_static("application/json"),
                            );
                            if let Some(location) = location {
                                response.headers_mut().insert(header::LOCATION, location);
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Echo { url, hits, task }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    async fn post(url: &str, path: &str, body: &str) -> reqwest::Result<(StatusCode, Value)> {
        let response = client()
            .post(format!("{url}{path}"))
            .header("x-tag", "t1")
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    #[tokio::test]
    async fn forwards_unchanged_and_records() {
        let upstream = echo().await;
        let proxy = Proxy::passthrough(&upstream.url).await.unwrap();

        let (status, body) = post(&proxy.url(), "/a/b?x=1", "hello").await.unwrap();

        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["method"], "POST");
        assert_eq!(body["path"], "/a/b?x=1");
        assert_eq!(body["body"], "hello");
        assert_eq!(body["tag"], "t1", "end-to-end headers pass through");
        assert_eq!(
            body["host"],
            upstream.url.trim_start_matches("http://"),
            "the upstream gets its own Host"
        );
        assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
        let stats = proxy.stats();
        assert_eq!(
            stats,
            Stats {
                received: 1,
                forwarded: 1,
                ..Stats::default()
            }
        );
        let log = proxy.log();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].request.seq, 0);
        assert_eq!(log[0].request.body_str(), Some("hello"));
        assert_eq!(log[0].outcome, Outcome::Forwarded(StatusCode::OK));
        assert!(!log[0].modified);
    }

    #[tokio::test]
    async fn upstream_errors_pass_through_as_forwarded() {
        let upstream = echo().await;
        let proxy = Proxy::passthrough(&upstream.url).await.unwrap();
        let status = client()
            .get(format!("{}/x", proxy.url()))
            .header("x-status", "503")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            proxy.stats().injected,
            0,
            "the upstream's own 503 is not injected"
        );
        assert_eq!(
            proxy.log()[0].outcome,
            Outcome::Forwarded(StatusCode::SERVICE_UNAVAILABLE)
        );
    }

    #[tokio::test]
    async fn redirects_are_passed_on_not_followed() {
        let upstream = echo().await;
        let proxy = Proxy::passthrough(&upstream.url).await.unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .get(format!("{}/old", proxy.url()))
            .header("x-status", "307")
            .header("x-location", "/new")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(response.headers()["location"], "/new");
        assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn hook_modifies_the_request() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |req| {
            req.body = Bytes::from(req.body_str().unwrap_or_default().to_uppercase());
            req.path = "/rewritten".to_string();
            Action::Forward
        })
        .await
        .unwrap();

        let (status, body) = post(&proxy.url(), "/orig", "hello").await.unwrap();

        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["body"], "HELLO");
        assert_eq!(body["path"], "/rewritten");
        let stats = proxy.stats();
        assert_eq!((stats.modified, stats.forwarded, stats.injected), (1, 1, 1));
        assert_eq!(
            proxy.log()[0].request.body_str(),
            Some("HELLO"),
            "the log keeps what was forwarded"
        );
    }

    #[tokio::test]
    async fn transform_rewrites_the_answer() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |_| {
            Action::transform(|mut reply| {
                let mut body = reply.body_json().unwrap();
                body["injected"] = json!(true);
                reply.set_body_json(&body);
                reply.status = StatusCode::MULTI_STATUS;
                reply
            })
        })
        .await
        .unwrap();

        let (status, body) = post(&proxy.url(), "/t", "x").await.unwrap();

        assert_eq!(status, StatusCode::MULTI_STATUS);
        assert_eq!(body["injected"], true);
        assert_eq!(body["body"], "x", "the upstream's answer is the base");
        assert_eq!(upstream.hits.load(Ordering::SeqCst), 1);
        let stats = proxy.stats();
        assert_eq!(
            (stats.forwarded, stats.transformed, stats.injected),
            (1, 1, 1)
        );
        assert_eq!(
            proxy.log()[0].outcome,
            Outcome::Transformed(StatusCode::MULTI_STATUS)
        );
    }

    #[tokio::test]
    async fn respond_answers_without_the_upstream() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |req| match req.seq {
            0 => Action::Respond(Reply::json(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"error": "slow down"}),
            )),
            1 => Action::status(StatusCode::INTERNAL_SERVER_ERROR, "boom"),
            2 => Action::status(StatusCode::SERVICE_UNAVAILABLE, "later"),
            _ => Action::Forward,
        })
        .await
        .unwrap();

        let (s0, b0) = post(&proxy.url(), "/", "a").await.unwrap();
        let r1 = client().post(proxy.url()).body("b").send().await.unwrap();
        let s1 = r1.status();
        let b1 = r1.text().await.unwrap();
        let (s2, _) = post(&proxy.url(), "/", "c").await.unwrap();
        let (s3, b3) = post(&proxy.url(), "/", "d").await.unwrap();

        assert_eq!(
            (s0, b0["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("slow down"))
        );
        assert_eq!(
            (s1, b1.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "boom")
        );
        assert_eq!(s2, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!((s3, b3["body"].as_str()), (StatusCode::OK, Some("d")));
        assert_eq!(
            upstream.hits.load(Ordering::SeqCst),
            1,
            "only the 4th request reached the upstream"
        );
        let stats = proxy.stats();
        assert_eq!(
            stats,
            Stats {
                received: 4,
                forwarded: 1,
                responded: 3,
                injected: 3,
                ..Stats::default()
            }
        );
        let outcomes: Vec<Outcome> = proxy.log().iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Responded(StatusCode::TOO_MANY_REQUESTS),
                Outcome::Responded(StatusCode::INTERNAL_SERVER_ERROR),
                Outcome::Responded(StatusCode::SERVICE_UNAVAILABLE),
                Outcome::Forwarded(StatusCode::OK),
            ]
        );
    }

    #[tokio::test]
    async fn close_drops_the_connection_without_forwarding() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |_| Action::Close)
            .await
            .unwrap();

        let error = post(&proxy.url(), "/", "x").await.unwrap_err();

        assert!(
            error.is_request(),
            "the client sees a transport error: {error}"
        );
        assert_eq!(upstream.hits.load(Ordering::SeqCst), 0);
        let stats = proxy.stats();
        assert_eq!((stats.closed, stats.forwarded, stats.injected), (1, 0, 1));
    }

    #[tokio::test]
    async fn forward_then_close_reaches_the_upstream_but_not_the_client() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |_| Action::ForwardThenClose)
            .await
            .unwrap();

        let error = post(&proxy.url(), "/", "x").await.unwrap_err();

        assert!(
            error.is_request(),
            "the client sees a transport error: {error}"
        );
        assert_eq!(
            upstream.hits.load(Ordering::SeqCst),
            1,
            "the upstream acted on it"
        );
        let stats = proxy.stats();
        assert_eq!((stats.forwarded, stats.closed, stats.injected), (1, 1, 1));
        assert_eq!(proxy.log()[0].outcome, Outcome::ForwardedThenClosed);
    }

    #[tokio::test]
    async fn delay_holds_the_request_back() {
        let upstream = echo().await;
        let pause = Duration::from_millis(300);
        let proxy = Proxy::start(&upstream.url, move |_| {
            Action::delay(pause, Action::Forward)
        })
        .await
        .unwrap();

        let started = Instant::now();
        let (status, _) = post(&proxy.url(), "/", "x").await.unwrap();

        assert_eq!(status, StatusCode::OK);
        assert!(
            started.elapsed() >= pause,
            "answered before the delay ran out"
        );
        let stats = proxy.stats();
        assert_eq!((stats.delayed, stats.forwarded, stats.injected), (1, 1, 1));
        assert_eq!(proxy.log()[0].delayed, Some(pause));
    }

    #[tokio::test]
    async fn a_delay_longer_than_the_client_timeout_times_it_out() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |_| {
            Action::delay(Duration::from_secs(2), Action::Forward)
        })
        .await
        .unwrap();

        let error = client()
            .post(proxy.url())
            .timeout(Duration::from_millis(200))
            .send()
            .await
            .unwrap_err();

        assert!(error.is_timeout(), "{error}");
    }

    #[tokio::test]
    async fn set_hook_switches_behaviour_and_seq_counts_on() {
        let upstream = echo().await;
        let proxy = Proxy::start(&upstream.url, |_| {
            Action::status(StatusCode::SERVICE_UNAVAILABLE, "")
        })
        .await
        .unwrap();
        let (first, _) = post(&proxy.url(), "/", "1").await.unwrap();
        proxy.set_hook(|_| Action::Forward);
        let (second, _) = post(&proxy.url(), "/", "2").await.unwrap();

        assert_eq!(
            (first, second),
            (StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK)
        );
        let seqs: Vec<u64> = proxy.log().iter().map(|r| r.request.seq).collect();
        assert_eq!(seqs, [0, 1]);
    }

    #[tokio::test]
    async fn unreachable_upstream_is_a_502() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = {
            let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let proxy = Proxy::passthrough(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap();

        let response = client().get(proxy.url()).send().await.unwrap();

        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(proxy.stats().upstream_errors, 1);
        assert_eq!(proxy.log()[0].outcome, Outcome::UpstreamError);
    }

    #[tokio::test]
    async fn keep_alive_connections_carry_many_requests() {
        let upstream = echo().await;
        let proxy = Proxy::passthrough(&upstream.url).await.unwrap();
        let client = client();
        for i in 0..20 {
            let body = client
                .post(proxy.url())
                .body(i.to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["body"], i.to_string());
        }
        assert_eq!(proxy.stats().forwarded, 20);
    }

    #[tokio::test]
    async fn dropping_the_proxy_stops_it() {
        let upstream = echo().await;
        let proxy = Proxy::passthrough(&upstream.url).await.unwrap();
        let url = proxy.url();
        assert_eq!(post(&url, "/", "x").await.unwrap().0, StatusCode::OK);
        drop(proxy);
        tokio::task::yield_now().await;
        // A new connection finds nobody listening.
        let error = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect() || error.is_request(), "{error}");
    }
}
