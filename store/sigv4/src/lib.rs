//! AWS Signature Version 4 for requests to Amazon OpenSearch Service (`es`) and OpenSearch
//! Serverless (`aoss`), shared by the indexer (`sentimap-lambda`) and the dashboard's OpenSearch
//! store (`sentimap-store`).
//!
//! The signing is the `aws-sigv4` crate's; this crate only fixes what both callers must agree on:
//! the signed headers (`host`, `content-type` and the signer's own), the payload hash over the exact
//! body bytes sent (sent as `x-amz-content-sha256`, which Serverless requires), and credentials from
//! a provider (the SDK's default chain) fetched per request so rotated credentials are picked up.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use url::Url;

/// The authorization scheme every signed request carries.
pub const SCHEME: &str = "AWS4-HMAC-SHA256";

/// The AWS service a request is signed for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Service {
    /// Amazon OpenSearch Service managed domains.
    #[default]
    Es,
    /// Amazon OpenSearch Serverless collections.
    Aoss,
}

impl Service {
    /// The signing name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Es => "es",
            Service::Aoss => "aoss",
        }
    }
}

impl std::str::FromStr for Service {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "es" => Ok(Service::Es),
            "aoss" => Ok(Service::Aoss),
            other => Err(format!("unknown SigV4 service {other:?} (es or aoss)")),
        }
    }
}

/// Signs requests with credentials from a provider. Its `Debug` shows no credentials.
#[derive(Clone)]
pub struct Signer {
    credentials: SharedCredentialsProvider,
    region: String,
    service: Service,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `service` in `region`, with credentials from `credentials` (for instance
    /// `aws_config::SdkConfig::credentials_provider()`, the SDK's default chain).
    pub fn new(
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        service: Service,
    ) -> Self {
        Signer {
            credentials,
            region: region.into(),
            service,
        }
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The signing service.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The headers that sign one request, now (see [`sign_headers`]).
    pub async fn sign(
        &self,
        method: &str,
        url: &Url,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, String> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("loading AWS credentials: {e}"))?;
        sign_headers(
            method,
            url,
            content_type,
            body,
            &creds,
            &self.region,
            self.service.as_str(),
            SystemTime::now(),
        )
    }
}

/// The `Host` header an HTTP client sends for `url`: the port only when it is not the scheme's
/// default (the value is signed, so it must be the one sent).
pub fn host_header(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// Signs one request with SigV4 and returns the headers to add (`authorization`, `x-amz-date`,
/// `x-amz-content-sha256`, and `x-amz-security-token` for temporary credentials). The signed
/// headers are `host`, `content-type` and those the signer adds; the payload hash is over `body`,
/// which must be the exact bytes sent.
#[allow(clippy::too_many_arguments)]
pub fn sign_headers(
    method: &str,
    url: &Url,
    content_type: &str,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    // OpenSearch Serverless requires the payload hash header; managed domains accept it.
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| format!("SigV4 parameters: {e}"))?
        .into();
    let host = host_header(url);
    let headers = [("host", host.as_str()), ("content-type", content_type)];
    let request = SignableRequest::new(
        method,
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("SigV4 request: {e}"))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    use std::time::Duration;

    fn hmac(key: &[u8], data: &str) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The expectation is computed here from the published SigV4 algorithm (canonical request,
    /// string to sign, derived key), independently of the signer under test.
    #[allow(clippy::too_many_arguments)]
    fn expected_authorization(
        method: &str,
        host: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
        amz_date: &str,
        region: &str,
        service: &str,
        token: Option<&str>,
    ) -> String {
        let payload_hash = hex(&Sha256::digest(body));
        let mut headers = vec![
            ("content-type", content_type.to_owned()),
            ("host", host.to_owned()),
            ("x-amz-content-sha256", payload_hash.clone()),
            ("x-amz-date", amz_date.to_owned()),
        ];
        if let Some(t) = token {
            headers.push(("x-amz-security-token", t.to_owned()));
        }
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let canonical =
            format!("{method}\n{path}\n\n{canonical_headers}\n{signed}\n{payload_hash}");
        let date = &amz_date[..8];
        let scope = format!("{date}/{region}/{service}/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let k = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date);
        let k = hmac(&k, region);
        let k = hmac(&k, service);
        let k = hmac(&k, "aws4_request");
        let sig = hex(&hmac(&k, &to_sign));
        format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={signed}, Signature={sig}")
    }

    #[test]
    fn sigv4_matches_a_locally_computed_signature() {
        let body = b"{\"index\":{\"_index\":\"p\",\"_id\":\"x:1\"}}\n{\"id\":\"x:1\"}\n";
        // 2024-12-25T10:00:00Z
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_120_800);
        for (service, url, host, path, token) in [
            (
                "es",
                "https://search-demo.eu-west-1.es.amazonaws.com/_bulk",
                "search-demo.eu-west-1.es.amazonaws.com",
                "/_bulk",
                None,
            ),
            (
                "aoss",
                "https://abc.eu-west-1.aoss.amazonaws.com:8443/_bulk",
                "abc.eu-west-1.aoss.amazonaws.com:8443",
                "/_bulk",
                Some("SESSIONTOKEN"),
            ),
            (
                "es",
                "http://127.0.0.1:9200/sentimap-posts/_search",
                "127.0.0.1:9200",
                "/sentimap-posts/_search",
                None,
            ),
        ] {
            let creds = Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                token.map(str::to_owned),
                None,
                "test",
            );
            let url = Url::parse(url).unwrap();
            let got = sign_headers(
                "POST",
                &url,
                "application/x-ndjson",
                body,
                &creds,
                "eu-west-1",
                service,
                time,
            )
            .unwrap();
            let get = |n: &str| got.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            assert_eq!(get("x-amz-date").as_deref(), Some("20241225T100000Z"));
            assert_eq!(
                get("x-amz-content-sha256"),
                Some(hex(&Sha256::digest(body)))
            );
            assert_eq!(get("x-amz-security-token").as_deref(), token);
            let want = expected_authorization(
                "POST",
                host,
                path,
                "application/x-ndjson",
                body,
                "20241225T100000Z",
                "eu-west-1",
                service,
                token,
            );
            assert_eq!(get("authorization"), Some(want), "{service}");
            // A different body must give a different signature: it is over the exact bytes.
            let other = sign_headers(
                "POST",
                &url,
                "application/x-ndjson",
                b"{}\n",
                &creds,
                "eu-west-1",
                service,
                time,
            )
            .unwrap();
            assert_ne!(other, got);
        }
    }

    #[test]
    fn host_header_matches_what_http_clients_send() {
        assert_eq!(
            host_header(&Url::parse("http://127.0.0.1:9200/").unwrap()),
            "127.0.0.1:9200"
        );
        assert_eq!(
            host_header(&Url::parse("https://h.example/").unwrap()),
            "h.example"
        );
        assert_eq!(
            host_header(&Url::parse("https://h.example:443/").unwrap()),
            "h.example"
        );
    }

    #[test]
    fn services_parse_and_debug_hides_credentials() {
        assert_eq!("aoss".parse::<Service>(), Ok(Service::Aoss));
        assert!("s3".parse::<Service>().is_err());
        let creds = Credentials::new("AKIDEXAMPLE", "SECRETSECRET", None, None, "test");
        let s = Signer::new(
            SharedCredentialsProvider::new(creds),
            "eu-west-1",
            Service::Es,
        );
        let shown = format!("{s:?}");
        assert!(
            shown.contains("eu-west-1") && !shown.contains("SECRETSECRET"),
            "{shown}"
        );
    }
}
