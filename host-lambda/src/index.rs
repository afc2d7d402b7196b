//! The search engine: the `elasticsearch` crate's transport for Elasticsearch 7/8 and OpenSearch 1/2,
//! with none, basic, API key or AWS SigV4 auth, and the index template installed when missing.
//!
//! The crate has no signing hook, so for SigV4 each request is signed over the exact bytes sent
//! (`sentimap-sigv4`, shared with the dashboard's OpenSearch store) and the signature travels in
//! that request's own headers.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use elasticsearch::auth::Credentials as EsCredentials;
use elasticsearch::http::headers::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{Method, Url};
use elasticsearch::Elasticsearch;
use serde_json::Value;

use crate::config::{AuthKind, Config, SigV4Service};
use crate::Error;

pub use sentimap_sigv4::sign_headers;

/// How a request failed to get an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

/// An HTTP answer: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The seam the pipeline sends bulk bodies through (the real client, or a scripted one in tests).
pub trait BulkSender {
    /// Sends one NDJSON bulk body.
    fn send_bulk(
        &self,
        body: &[u8],
    ) -> impl std::future::Future<Output = Result<Answer, TransportError>> + Send;
}

/// SigV4 signing with the function's credentials.
#[derive(Debug, Clone)]
pub struct SigV4 {
    /// Where credentials come from (the SDK's default chain: the Lambda role's env credentials).
    pub credentials: SharedCredentialsProvider,
    /// Signing region.
    pub region: String,
    /// `es` or `aoss`.
    pub service: SigV4Service,
}

/// The client for the configured engine, built once per cold start.
#[derive(Debug, Clone)]
pub struct IndexClient {
    es: Elasticsearch,
    base: Url,
    sigv4: Option<SigV4>,
    timeout: Duration,
}

impl IndexClient {
    /// Builds the client (no request is made).
    pub fn new(config: &Config, sigv4: Option<SigV4>) -> Result<Self, Error> {
        let mut base = Url::parse(&config.index_url)
            .map_err(|e| Error::Config(format!("SENTIMAP_INDEX_URL: {e}")))?;
        // `Url::join` drops the last path segment unless the base ends with `/`.
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(base.clone()))
            .enable_meta_header(false);
        match config.auth {
            AuthKind::None | AuthKind::Sigv4 => {}
            AuthKind::Basic => {
                builder = builder.auth(EsCredentials::Basic(
                    config.username.clone().unwrap_or_default(),
                    config.password.clone().unwrap_or_default(),
                ))
            }
            AuthKind::ApiKey => {
                let key = config.api_key.clone().unwrap_or_default();
                builder = builder.auth(match key.split_once(':') {
                    Some((id, k)) => EsCredentials::ApiKey(id.to_owned(), k.to_owned()),
                    None => EsCredentials::EncodedApiKey(key),
                });
            }
        }
        if config.auth == AuthKind::Sigv4 && sigv4.is_none() {
            return Err(Error::Config(
                "SENTIMAP_AUTH=sigv4 but no AWS credentials provider or region is configured"
                    .into(),
            ));
        }
        let transport = builder
            .timeout(config.request_timeout())
            .build()
            .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?;
        Ok(IndexClient {
            es: Elasticsearch::new(transport),
            base,
            sigv4: if config.auth == AuthKind::Sigv4 {
                sigv4
            } else {
                None
            },
            timeout: config.request_timeout(),
        })
    }

    /// The engine's base URL (no credentials are ever part of it).
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: &'static str,
        body: Option<&[u8]>,
    ) -> Result<Answer, TransportError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(s) = &self.sigv4 {
            let url = self
                .base
                .join(path.trim_start_matches('/'))
                .map_err(|e| TransportError(format!("bad path {path}: {e}")))?;
            let creds = s
                .credentials
                .provide_credentials()
                .await
                .map_err(|e| TransportError(format!("loading AWS credentials: {e}")))?;
            let signed = sign_headers(
                method_str(method),
                &url,
                content_type,
                body.unwrap_or_default(),
                &creds,
                &s.region,
                s.service.as_str(),
                SystemTime::now(),
            )
            .map_err(TransportError)?;
            for (name, value) in signed {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| TransportError(format!("signature header: {e}")))?;
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|e| TransportError(format!("signature header: {e}")))?;
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        let resp = self
            .es
            .send(method, path, headers, None::<&()>, body, Some(self.timeout))
            .await
            .map_err(|e| TransportError(describe_transport_error(&e)))?;
        let status = resp.status_code().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| TransportError(format!("reading the answer: {e}")))?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    /// Installs the index template when it is missing or older than this code's schema. Indices
    /// are never deleted nor recreated: a new template only shapes indices created after it.
    pub async fn ensure_template(&self, name: &str, template: &Value) -> Result<bool, Error> {
        let path = format!("_index_template/{name}");
        let current = self
            .request(Method::Get, &path, "application/json", None)
            .await
            .map_err(|e| Error::IndexUnreachable {
                url: self.base.to_string(),
                attempts: 1,
                message: e.0,
            })?;
        let installed_version = match current.status {
            404 => None,
            200 => {
                let v: Value = serde_json::from_slice(&current.body).unwrap_or_default();
                Some(
                    v.pointer("/index_templates/0/index_template/_meta/sentimap_schema_version")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                )
            }
            status => {
                return Err(Error::IndexRefused {
                    status,
                    message: format!("GET {path}: {}", snippet(&current.body)),
                })
            }
        };
        let wanted = template
            .pointer("/_meta/sentimap_schema_version")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if installed_version.is_some_and(|v| v >= wanted) {
            return Ok(false);
        }
        let body = serde_json::to_vec(template).map_err(|e| Error::Config(e.to_string()))?;
        let put = self
            .request(Method::Put, &path, "application/json", Some(&body))
            .await
            .map_err(|e| Error::IndexUnreachable {
                url: self.base.to_string(),
                attempts: 1,
                message: e.0,
            })?;
        if !(200..300).contains(&put.status) {
            return Err(Error::IndexRefused {
                status: put.status,
                message: format!("PUT {path}: {}", snippet(&put.body)),
            });
        }
        Ok(true)
    }
}

impl BulkSender for IndexClient {
    async fn send_bulk(&self, body: &[u8]) -> Result<Answer, TransportError> {
        self.request(Method::Post, "_bulk", "application/x-ndjson", Some(body))
            .await
    }
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

/// A transport error with its causes, without any URL credentials (there are none in ours).
fn describe_transport_error(e: &elasticsearch::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_str = s.to_string();
        if !msg.contains(&s_str) {
            msg.push_str(": ");
            msg.push_str(&s_str);
        }
        src = s.source();
    }
    msg
}

/// The start of an answer body, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(400)]);
    s.replace('\n', " ")
}
