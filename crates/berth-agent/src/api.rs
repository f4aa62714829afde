//! A small AWS JSON 1.1 client for berth's endpoint, SigV4-signed with `berth_sigv4::sign`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::http::send_on;

/// AWS credentials: the secret parts are wiped when dropped and never printed.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(access_key_id: &str, secret: &str, session_token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key: Zeroizing::new(secret.to_string()),
            session_token: session_token.map(|t| Zeroizing::new(t.to_string())),
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Service {
        code: String,
        message: String,
        status: u16,
        request_id: String,
    },
    /// The call did not get an answer.
    #[error("{0}")]
    Transport(String),
}

impl ApiError {
    /// The error as the AWS SDK for Go (v1) prints it: `Code: message` and, on the next line,
    /// `status code: N, request id: ID`.
    pub fn sdk_style(&self) -> String {
        match self {
            ApiError::Service {
                code,
                message,
                status,
                request_id,
            } => format!("{code}: {message}\n\tstatus code: {status}, request id: {request_id}"),
            ApiError::Transport(m) => format!("RequestError: send request failed\ncaused by: {m}"),
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Service { code, .. } => Some(code),
            ApiError::Transport(_) => None,
        }
    }
}

/// TLS to berth's endpoint: the client configuration and the name its certificate must hold.
#[derive(Clone)]
pub struct Tls {
    connector: tokio_rustls::TlsConnector,
    name: rustls_pki_types::ServerName<'static>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// The TLS handshake on a connected stream.
    pub async fn connect(
        &self,
        stream: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        self.connector.connect(self.name.clone(), stream).await
    }
}

/// berth's endpoint (`http://host:port` or `https://host:port`).
#[derive(Debug, Clone)]
pub struct ApiClient {
    authority: String,
    tls: Option<Tls>,
}

impl ApiClient {
    /// A client of `endpoint_url`. An `https://` endpoint is called on TLS with `tls` (the
    /// machine's trusted certificates when `None`: `berth_tls::client_config`).
    pub fn new(
        endpoint_url: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<ApiClient, ApiError> {
        let (https, rest) = if let Some(rest) = endpoint_url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = endpoint_url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(ApiError::Transport(format!(
                "endpoint {endpoint_url:?}: expected http://host:port or https://host[:port]"
            )));
        };
        let mut authority = rest.trim_end_matches('/').to_string();
        if authority.is_empty() || authority.contains('/') {
            return Err(ApiError::Transport(format!(
                "endpoint {endpoint_url:?}: expected http://host:port or https://host[:port]"
            )));
        }
        if !has_port(&authority) {
            authority.push_str(if https { ":443" } else { ":80" });
        }
        let tls = if https {
            let config = match tls {
                Some(c) => c,
                None => berth_tls::client_config(None)
                    .map_err(|e| ApiError::Transport(format!("endpoint {endpoint_url:?}: {e}")))?,
            };
            let name = berth_tls::server_name(&authority)
                .map_err(|e| ApiError::Transport(format!("endpoint {endpoint_url:?}: {e}")))?;
            Some(Tls {
                connector: tokio_rustls::TlsConnector::from(config),
                name,
            })
        } else {
            None
        };
        Ok(ApiClient { authority, tls })
    }

    /// `host:port` of the endpoint.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// How the endpoint is reached on TLS (`None`: plain HTTP).
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Calls one JSON 1.1 operation (`target` = `Prefix.Operation`) signed for `service` in
    /// `region`, and returns the answer's JSON.
    pub async fn call(
        &self,
        creds: &Credentials,
        region: &str,
        service: &str,
        target: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        let payload = Zeroizing::new(body.to_string().into_bytes());
        let base = [
            ("host", self.authority.as_str()),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ];
        let signed = berth_sigv4::sign(
            &berth_sigv4::Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &base,
                body: &payload,
            },
            &creds.access_key_id,
            &creds.secret_access_key,
            creds.session_token.as_deref().map(String::as_str),
            region,
            service,
            SystemTime::now(),
        );
        let mut builder = hyper::Request::builder().method("POST").uri("/");
        for (k, v) in base {
            builder = builder.header(k, v);
        }
        for (k, v) in &signed {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::from(payload.to_vec())))
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| format!("connecting to {}: {e}", self.authority))?;
            let _ = stream.set_nodelay(true);
            match &self.tls {
                None => send_on(stream, req).await,
                Some(tls) => {
                    let stream = tls
                        .connect(stream)
                        .await
                        .map_err(|e| format!("TLS with {}: {e}", self.authority))?;
                    send_on(stream, req).await
                }
            }
        };
        let (status, headers, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ApiError::Transport(format!("{target}: timed out")))?
            .map_err(ApiError::Transport)?;
        let json: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                ApiError::Transport(format!("{target}: answer is not JSON (HTTP {status}): {e}"))
            })?
        };
        if status >= 300 {
            let code = json
                .get("__type")
                .and_then(Value::as_str)
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| format!("HTTP{status}"));
            let message = json
                .get("message")
                .or_else(|| json.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let request_id = headers
                .get("x-amzn-requestid")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            return Err(ApiError::Service {
                code,
                message,
                status,
                request_id,
            });
        }
        Ok(json)
    }
}

/// Whether `host:port` names its port (`[::1]` does not; `[::1]:1` does).
fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn endpoints() {
        let plain = ApiClient::new("http://127.0.0.1:4599", None).unwrap();
        assert_eq!(plain.authority, "127.0.0.1:4599");
        assert!(plain.tls.is_none());
        assert_eq!(
            ApiClient::new("http://localhost:1/", None)
                .unwrap()
                .authority,
            "localhost:1"
        );
        let config = berth_tls::client_config(Some(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../berth-tls/src/testdata/ca.pem"
        ))))
        .unwrap();
        let tls = ApiClient::new("https://berth.example.com", Some(config.clone())).unwrap();
        assert_eq!(tls.authority, "berth.example.com:443");
        assert!(tls.tls.is_some());
        let tls = ApiClient::new("https://[::1]:4599/", Some(config)).unwrap();
        assert_eq!(tls.authority, "[::1]:4599");
        assert!(ApiClient::new("ftp://x", None).is_err());
        assert!(ApiClient::new("http://x/y", None).is_err());
    }

    #[test]
    fn sdk_style_errors() {
        let e = ApiError::Service {
            code: "AccessDeniedException".into(),
            message: "Access to KMS is not allowed".into(),
            status: 400,
            request_id: "r-1".into(),
        };
        assert_eq!(
            e.sdk_style(),
            "AccessDeniedException: Access to KMS is not allowed\n\tstatus code: 400, request id: r-1"
        );
    }

    #[test]
    fn credentials_do_not_print() {
        let c = Credentials::new("AKIA1", "very-secret", Some("token-xyz"));
        let s = format!("{c:?}");
        assert!(s.contains("AKIA1") && !s.contains("very-secret") && !s.contains("token-xyz"));
    }
}
