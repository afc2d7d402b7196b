//! The dashboard's HTTP server: a read-only JSON API over a [`Store`] plus the static page, embedded
//! at build time so the binary needs no network and no files next to it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use include_dir::{include_dir, Dir};
use sentimap_store::{GeoQuery, PostsQuery, RawParams, Store, SummaryQuery, TimelineQuery};
use serde::Serialize;
use tokio::net::TcpListener;

/// The page, its script, styles and the bundled world map.
static WWW: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../web-demo/dashboard/www");

/// No script, style, font or image from anywhere but this server; no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The router: `/api/*` and the embedded files. Only GET (and HEAD) routes exist.
pub(crate) fn router<S: Store>(store: Arc<S>) -> Router {
    Router::new()
        .route("/api/summary", get(summary::<S>))
        .route("/api/geo", get(geo::<S>))
        .route("/api/timeline", get(timeline::<S>))
        .route("/api/posts", get(posts::<S>))
        .route(
            "/api/health",
            get(|| async { Json(serde_json::json!({ "ok": true })) }),
        )
        .fallback(get(asset))
        .with_state(store)
}

/// Binds `addr` (127.0.0.1 by default) and serves until `shutdown` resolves.
pub(crate) async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Serves the router on a bound listener until `shutdown` resolves.
pub(crate) async fn serve<S: Store>(
    listener: TcpListener,
    store: Arc<S>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the dashboard")
}

#[derive(Serialize)]
struct ApiError {
    error: &'static str,
    message: String,
}

fn error_response(status: StatusCode, kind: &'static str, message: String) -> Response {
    (
        status,
        Json(ApiError {
            error: kind,
            message,
        }),
    )
        .into_response()
}

fn answer<T: Serialize>(r: Result<T, sentimap_store::Error>) -> Response {
    match r {
        Ok(v) => {
            let mut resp = Json(v).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) if e.is_client_error() => {
            error_response(StatusCode::BAD_REQUEST, e.kind(), e.to_string())
        }
        Err(e) => {
            tracing::warn!(kind = e.kind(), error = %e, "Store query failed.");
            error_response(StatusCode::BAD_GATEWAY, e.kind(), e.to_string())
        }
    }
}

/// A request that could not be parsed or validated.
struct BadRequest {
    kind: &'static str,
    message: String,
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error_response(StatusCode::BAD_REQUEST, self.kind, self.message)
    }
}

fn parse<Q>(
    q: Result<Query<RawParams>, QueryRejection>,
    validate: fn(&RawParams) -> Result<Q, sentimap_store::Error>,
) -> Result<Q, BadRequest> {
    let Query(p) = q.map_err(|e| BadRequest {
        kind: "invalid",
        message: e.body_text(),
    })?;
    validate(&p).map_err(|e| BadRequest {
        kind: e.kind(),
        message: e.to_string(),
    })
}

async fn summary<S: Store>(
    State(s): State<Arc<S>>,
    q: Result<Query<RawParams>, QueryRejection>,
) -> Response {
    match parse(q, SummaryQuery::parse) {
        Ok(q) => answer(s.summary(q).await),
        Err(e) => e.into_response(),
    }
}

async fn geo<S: Store>(
    State(s): State<Arc<S>>,
    q: Result<Query<RawParams>, QueryRejection>,
) -> Response {
    match parse(q, GeoQuery::parse) {
        Ok(q) => answer(s.geo(q).await),
        Err(e) => e.into_response(),
    }
}

async fn timeline<S: Store>(
    State(s): State<Arc<S>>,
    q: Result<Query<RawParams>, QueryRejection>,
) -> Response {
    match parse(q, TimelineQuery::parse) {
        Ok(q) => answer(s.timeline(q).await),
        Err(e) => e.into_response(),
    }
}

async fn posts<S: Store>(
    State(s): State<Arc<S>>,
    q: Result<Query<RawParams>, QueryRejection>,
) -> Response {
    match parse(q, PostsQuery::parse) {
        Ok(q) => answer(s.posts(q).await),
        Err(e) => e.into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(file) = WWW.get_file(path) else {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such file: /{path}"),
        );
    };
    let mut resp = file.contents().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
