//! `--registry-check`: a real `GET /v2/` against the image's registry with the secret's
//! credentials (Basic, and the Bearer-token flow when the registry asks for it).
//!
//! As Docker does: https first, with the machine's trusted certificates (rustls with the system
//! store; `SSL_CERT_FILE` / `SSL_CERT_DIR` add to it); plain http only as a fallback for the
//! registries Docker treats as insecure by default, 127.0.0.0/8 and localhost.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use berth_agent::asm::RegistryAuth;

use crate::{CheckKind, CheckResult};

const TIMEOUT: Duration = Duration::from_secs(5);

/// The registry host of an image reference, as Docker reads it.
pub fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "registry-1.docker.io".to_string(),
    }
}

/// The host name without its port (`[::1]:5000` → `::1`).
fn host_name(host: &str) -> &str {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    name.trim_start_matches('[').trim_end_matches(']')
}

/// Docker's default insecure registries: 127.0.0.0/8 (and localhost).
fn is_local(host: &str) -> bool {
    let name = host_name(host);
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scheme {
    Http,
    Https,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The TLS client settings: the machine's trusted roots, built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A certificate the store cannot use is skipped, as a browser would.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no trusted certificates found on this machine (install ca-certificates or set SSL_CERT_FILE)".into());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// One `GET` over HTTP/1.1 (`Connection: close`), on TLS for https.
fn get(
    scheme: Scheme,
    host: &str,
    path: &str,
    authorization: Option<&str>,
) -> Result<Response, String> {
    let target = if host.contains(':') && !host.ends_with(']') {
        host.to_string()
    } else {
        match scheme {
            Scheme::Http => format!("{host}:80"),
            Scheme::Https => format!("{host}:443"),
        }
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {host}: {e}"))?;
    tcp.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-doctor\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    let raw = match scheme {
        Scheme::Http => exchange(tcp, req.as_bytes(), host)?,
        Scheme::Https => {
            let name = rustls::pki_types::ServerName::try_from(host_name(host).to_string())
                .map_err(|e| format!("{host} is not a name TLS can check: {e}"))?;
            let conn = rustls::ClientConnection::new(tls_config()?, name)
                .map_err(|e| format!("tls: {e}"))?;
            exchange(rustls::StreamOwned::new(conn, tcp), req.as_bytes(), host)?
        }
    };
    parse_response(&raw).ok_or_else(|| format!("{host} did not answer HTTP"))
}

/// Writes `req` and reads until the server closes.
fn exchange(mut s: impl Read + Write, req: &[u8], host: &str) -> Result<Vec<u8>, String> {
    s.write_all(req)
        .and_then(|()| s.flush())
        .map_err(|e| format!("cannot talk to {host}: {e}"))?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => Ok(raw),
        // A server that closes without TLS close_notify after a whole answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => Ok(raw),
        Err(e) => Err(format!("cannot read from {host}: {e}")),
    }
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || size > data.len() {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    out
}

/// The parameters of `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`.
pub fn bearer_challenge(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut out = Vec::new();
    let mut s = params.trim();
    while !s.is_empty() {
        let (k, v) = s.split_once('=')?;
        let v = v.trim_start();
        let (value, tail) = if let Some(q) = v.strip_prefix('"') {
            let close = q.find('"')?;
            (&q[..close], &q[close + 1..])
        } else {
            let end = v.find(',').unwrap_or(v.len());
            (&v[..end], &v[end..])
        };
        out.push((k.trim().to_ascii_lowercase(), value.to_string()));
        s = tail.trim_start_matches([',', ' ']);
    }
    Some(out)
}

fn encode_query(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

enum Outcome {
    Accepted,
    Refused,
    Error(String),
}

fn try_credentials(scheme: Scheme, host: &str, auth: &RegistryAuth) -> Outcome {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            auth.username.as_str(),
            auth.password.as_str()
        ))
    );
    let first = match get(scheme, host, "/v2/", Some(&basic)) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e),
    };
    match first.status {
        200 => return Outcome::Accepted,
        401 => {}
        s => return Outcome::Error(format!("the registry answered HTTP {s} to GET /v2/")),
    }
    let Some(params) = first.header("www-authenticate").and_then(bearer_challenge) else {
        return Outcome::Refused;
    };
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(realm) = param("realm") else {
        return Outcome::Refused;
    };
    let (token_scheme, rest) = if let Some(rest) = realm.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = realm.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Outcome::Error(format!(
            "the registry's token service {realm:?} is not an http(s) URL"
        ));
    };
    let (token_host, token_path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut query = Vec::new();
    for k in ["service", "scope"] {
        if let Some(v) = param(k) {
            query.push(format!("{k}={}", encode_query(&v)));
        }
    }
    let path = if query.is_empty() {
        token_path.to_string()
    } else {
        format!("{token_path}?{}", query.join("&"))
    };
    let token_resp = match get(token_scheme, token_host, &path, Some(&basic)) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e),
    };
    match token_resp.status {
        200 => {}
        401 | 403 => return Outcome::Refused,
        s => return Outcome::Error(format!("the token service answered HTTP {s}")),
    }
    let token = serde_json::from_slice::<serde_json::Value>(&token_resp.body)
        .ok()
        .and_then(|v| {
            v.get("token")
                .or_else(|| v.get("access_token"))
                .and_then(|t| t.as_str())
                .map(str::to_string)
        });
    let Some(token) = token else {
        return Outcome::Error("the token service answered without a token".into());
    };
    match get(scheme, host, "/v2/", Some(&format!("Bearer {token}"))) {
        Ok(r) if r.status == 200 => Outcome::Accepted,
        Ok(r) if r.status == 401 => Outcome::Refused,
        Ok(r) => Outcome::Error(format!(
            "the registry answered HTTP {} to GET /v2/",
            r.status
        )),
        Err(e) => Outcome::Error(e),
    }
}

/// Check 7: whether the image's registry accepts the credentials.
pub fn check(container: &str, image: &str, auth: &RegistryAuth) -> CheckResult {
    let host = registry_host(image);
    let base = CheckResult {
        check: CheckKind::Registry,
        container: Some(container.to_string()),
        ok: true,
        reason: String::new(),
        fix: None,
    };
    // https first; plain http for Docker's default insecure registries when https fails.
    let mut outcome = try_credentials(Scheme::Https, &host, auth);
    if let Outcome::Error(https) = &outcome
        && is_local(&host)
    {
        outcome = match try_credentials(Scheme::Http, &host, auth) {
            Outcome::Error(http) => Outcome::Error(format!("https: {https}; http: {http}")),
            o => o,
        };
    }
    match outcome {
        Outcome::Accepted => CheckResult {
            reason: format!("{host} accepts the credentials"),
            ..base
        },
        Outcome::Refused => CheckResult {
            ok: false,
            reason: format!("the registry refused the credentials ({host} answered 401)"),
            fix: Some(
                "put the registry's current username and password into the secret (aws secretsmanager put-secret-value)"
                    .into(),
            ),
            ..base
        },
        Outcome::Error(e) => CheckResult {
            ok: false,
            reason: e,
            fix: Some(format!("make sure {host} is reachable and serves the registry API")),
            ..base
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(registry_host("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_host("busybox"), "registry-1.docker.io");
        assert_eq!(registry_host("library/busybox"), "registry-1.docker.io");
        assert_eq!(registry_host("localhost/x"), "localhost");
    }

    #[test]
    fn challenge() {
        let p = bearer_challenge(
            r#"Bearer realm="http://127.0.0.1:1/token",service="reg",scope="registry:catalog:*""#,
        )
        .unwrap();
        assert_eq!(p[0], ("realm".into(), "http://127.0.0.1:1/token".into()));
        assert_eq!(p[1], ("service".into(), "reg".into()));
        assert_eq!(p[2].1, "registry:catalog:*");
        assert!(bearer_challenge(r#"Basic realm="x""#).is_none());
    }

    #[test]
    fn responses() {
        let r = parse_response(b"HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Basic realm=\"r\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"r\""));
        assert_eq!(r.body, b"abc");
    }

    /// A registry that wants a bearer token from its own token service, which takes Basic.
    fn token_registry(requests: usize) -> (String, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{host}/token");
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:p")
        );
        let handle = std::thread::spawn(move || {
            for _ in 0..requests {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = conn.read(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if buf[0] == 0x16 {
                        break; // a TLS ClientHello: answered as a plain-http server does
                    }
                }
                if buf.first() == Some(&0x16) {
                    conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                    continue;
                }
                let req = String::from_utf8_lossy(&buf).to_string();
                let auth = req
                    .lines()
                    .find_map(|l| l.strip_prefix("Authorization: "))
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let resp = if req.starts_with("GET /token?service=reg&scope=") {
                    if auth == good {
                        "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"token\":\"t1\"}"
                            .to_string()
                    } else {
                        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
                    }
                } else if auth == "Bearer t1" {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_string()
                } else {
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"reg\",scope=\"registry:catalog:*\"\r\nContent-Length: 0\r\n\r\n"
                    )
                };
                conn.write_all(resp.as_bytes()).unwrap();
            }
        });
        (host, handle)
    }

    fn auth(user: &str, password: &str) -> RegistryAuth {
        RegistryAuth {
            username: user.to_string().into(),
            password: password.to_string().into(),
        }
    }

    #[test]
    fn bearer_flow_accepts_and_refuses() {
        // https (refused by the plain server), then over http: /v2/, the token, /v2/ with it.
        let (host, h) = token_registry(4);
        let c = check("app", &format!("{host}/app:1"), &auth("u", "p"));
        assert!(c.ok, "{c:?}");
        h.join().unwrap();
        // https, then /v2/ and the token service refuses.
        let (host, h) = token_registry(3);
        let c = check("app", &format!("{host}/app:1"), &auth("u", "wrong"));
        assert!(!c.ok);
        assert!(c.reason.starts_with("the registry refused the credentials"));
        assert!(!c.reason.contains("wrong"));
        h.join().unwrap();
    }

    #[test]
    fn only_docker_default_insecure_registries_fall_back_to_http() {
        assert!(is_local("127.0.0.1:5000"));
        assert!(is_local("127.3.0.1:5000"));
        assert!(is_local("localhost:5000"));
        assert!(is_local("[::1]:5000"));
        assert!(!is_local("example.com"));
        assert!(!is_local("10.0.0.1:5000"));
        assert!(!is_local("127.0.0.1.example.com"));
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("registry.example.com"), "registry.example.com");
        assert_eq!(
            host_name("registry.example.com:443"),
            "registry.example.com"
        );
    }

    #[test]
    fn a_closed_port_is_an_error_with_both_attempts() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        drop(listener);
        let c = check("app", &format!("{host}/app:1"), &auth("u", "p"));
        assert!(!c.ok);
        assert!(
            c.reason.starts_with("https: cannot connect"),
            "{}",
            c.reason
        );
        assert!(c.reason.contains("; http: cannot connect"), "{}", c.reason);
    }
}
