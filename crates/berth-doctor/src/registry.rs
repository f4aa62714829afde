//! `--registry-check`: a real `GET /v2/` against the image's registry with the secret's
//! credentials (Basic, and the Bearer-token flow when the registry asks for it).
//!
//! As Docker does: https first, with the machine's trusted certificates and those of the
//! doctor's CA file (`--ca-file` / `AWS_CA_BUNDLE`), as `berth_tls::trusted_roots` reads them
//! (rustls on the `ring` provider; `SSL_CERT_FILE` / `SSL_CERT_DIR` name another system
//! store); plain http only as a fallback for the registries Docker
//! treats as insecure by default, 127.0.0.0/8 and localhost. The HTTP client is ureq: no proxy,
//! no redirect followed, no connection kept, 5 s for the connection and for each read and
//! write.

use std::io::ErrorKind;
use std::net::ToSocketAddrs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use berth_ecs::asm::RegistryAuth;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::{CheckKind, CheckResult};

const TIMEOUT: Duration = Duration::from_secs(5);

/// The log target under which the HTTP client traces every byte it sends and receives, the
/// `Authorization` header and the registry's token included.
const WIRE_TRACE: &str = "ureq_proto::util";

/// A query value keeps RFC 3986's unreserved characters; every other byte is escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

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

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What the checks read of an answer.
struct Response {
    status: u16,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

/// The HTTP client and whether https can be tried (why not, when it cannot).
#[derive(Clone)]
struct Http {
    agent: ureq::Agent,
    roots: Result<(), String>,
}

/// The HTTP client: rustls on `ring` trusting `berth_tls::trusted_roots(ca_file)`; statuses
/// are answers, not errors. Built once for the machine's store alone.
fn http(ca_file: Option<&Path>) -> Http {
    static DEFAULT: OnceLock<Http> = OnceLock::new();
    let build = |ca_file: Option<&Path>| {
        let (certs, roots) = match berth_tls::trusted_roots(ca_file) {
            Ok(certs) => (
                certs
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .collect(),
                Ok(()),
            ),
            Err(e) => (Vec::new(), Err(e.to_string())),
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(berth_tls::provider())
            .root_certs(RootCerts::new_with_certs(&certs))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(None)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .user_agent("berth-doctor")
            .accept("application/json")
            .timeout_connect(Some(TIMEOUT))
            .timeout_per_read(Some(TIMEOUT))
            .timeout_per_write(Some(TIMEOUT))
            .build()
            .into();
        Http { agent, roots }
    };
    match ca_file {
        None => DEFAULT.get_or_init(|| build(None)).clone(),
        Some(path) => build(Some(path)),
    }
}

/// One `GET`, on TLS for https.
fn get(
    http: &Http,
    scheme: Scheme,
    host: &str,
    path: &str,
    authorization: Option<&str>,
) -> Result<Response, String> {
    if scheme == Scheme::Https
        && let Err(e) = &http.roots
    {
        return Err(e.clone());
    }
    let mut request = http
        .agent
        .get(format!("{}://{host}{path}", scheme.as_str()));
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    let mut response = request.call().map_err(|e| failure(scheme, host, e))?;
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| failure(scheme, host, e))?;
    Ok(Response {
        status: response.status().as_u16(),
        www_authenticate,
        body,
    })
}

/// What a failed exchange with `host` is reported as: the step that failed (resolving,
/// connecting, talking, which includes the TLS handshake, or reading) and the cause.
fn failure(scheme: Scheme, host: &str, e: ureq::Error) -> String {
    use ureq::Timeout;
    match e {
        ureq::Error::HostNotFound => format!("cannot resolve {host}"),
        ureq::Error::BadUri(e) => format!("cannot resolve {host}: {e}"),
        ureq::Error::Http(e) => format!("cannot talk to {host}: {e}"),
        ureq::Error::Timeout(Timeout::Resolve) => format!("cannot resolve {host}: timed out"),
        ureq::Error::Timeout(Timeout::Connect) => {
            format!("cannot connect to {host}: connection timed out")
        }
        ureq::Error::Timeout(Timeout::PerWrite | Timeout::SendRequest | Timeout::SendBody) => {
            format!("cannot talk to {host}: timed out")
        }
        ureq::Error::Timeout(_) => format!("cannot read from {host}: timed out"),
        ureq::Error::Tls(e) => format!("{host} is not a name TLS can check: {e}"),
        ureq::Error::Rustls(e) => format!("cannot talk to {host}: {e}"),
        ureq::Error::Io(e) => io_failure(scheme, host, e),
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => {
            format!("{host} did not answer HTTP")
        }
        e => format!("cannot talk to {host}: {e}"),
    }
}

fn io_failure(scheme: Scheme, host: &str, e: std::io::Error) -> String {
    // The TLS handshake's failures come wrapped in an I/O error.
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return format!("cannot talk to {host}: {tls}");
    }
    match e.kind() {
        ErrorKind::ConnectionRefused
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::NetworkDown
        | ErrorKind::AddrNotAvailable => format!("cannot connect to {host}: {e}"),
        ErrorKind::BrokenPipe => format!("cannot talk to {host}: {e}"),
        _ => {
            // A name that does not resolve is an I/O error too: the lookup, asked again, tells.
            if let Err(lookup) = resolve(scheme, host) {
                return format!("cannot resolve {host}: {lookup}");
            }
            format!("cannot read from {host}: {e}")
        }
    }
}

/// Looks `host` up (with the scheme's port when it names none).
fn resolve(scheme: Scheme, host: &str) -> std::io::Result<()> {
    let target = if host.contains(':') && !host.ends_with(']') {
        host.to_string()
    } else {
        match scheme {
            Scheme::Http => format!("{host}:80"),
            Scheme::Https => format!("{host}:443"),
        }
    };
    match target.to_socket_addrs()?.next() {
        Some(_) => Ok(()),
        None => Err(std::io::Error::new(ErrorKind::NotFound, "no address found")),
    }
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

enum Outcome {
    Accepted,
    Refused,
    Error(String),
}

fn try_credentials(http: &Http, scheme: Scheme, host: &str, auth: &RegistryAuth) -> Outcome {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            auth.username.as_str(),
            auth.password.as_str()
        ))
    );
    let first = match get(http, scheme, host, "/v2/", Some(&basic)) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e),
    };
    match first.status {
        200 => return Outcome::Accepted,
        401 => {}
        s => return Outcome::Error(format!("the registry answered HTTP {s} to GET /v2/")),
    }
    let Some(params) = first.www_authenticate.as_deref().and_then(bearer_challenge) else {
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
            query.push(format!("{k}={}", utf8_percent_encode(&v, QUERY_VALUE)));
        }
    }
    let path = if query.is_empty() {
        token_path.to_string()
    } else {
        format!("{token_path}?{}", query.join("&"))
    };
    let token_resp = match get(http, token_scheme, token_host, &path, Some(&basic)) {
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
    match get(http, scheme, host, "/v2/", Some(&format!("Bearer {token}"))) {
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
    check_trusting(container, image, auth, None)
}

/// [`check`], trusting the certificates of `ca_file` besides the machine's.
pub fn check_trusting(
    container: &str,
    image: &str,
    auth: &RegistryAuth,
    ca_file: Option<&Path>,
) -> CheckResult {
    let host = registry_host(image);
    let base = CheckResult {
        check: CheckKind::Registry,
        container: Some(container.to_string()),
        ok: true,
        reason: String::new(),
        fix: None,
    };
    // Credentials are never logged: not with the client's wire trace on.
    if log::log_enabled!(target: WIRE_TRACE, log::Level::Trace) {
        return CheckResult {
            ok: false,
            reason: format!(
                "not run: with trace logging on for {WIRE_TRACE}, the credentials would be logged"
            ),
            fix: Some("run the doctor with RUST_LOG below trace for ureq_proto (e.g. RUST_LOG=trace,ureq_proto=debug)".into()),
            ..base
        };
    }
    // https first; plain http for Docker's default insecure registries when https fails.
    let http = http(ca_file);
    let mut outcome = try_credentials(&http, Scheme::Https, &host, auth);
    if let Outcome::Error(https) = &outcome
        && is_local(&host)
    {
        outcome = match try_credentials(&http, Scheme::Http, &host, auth) {
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

    use std::io::{Read, Write};

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

    /// A server that answers one request with `answer`.
    fn answering(answer: &'static [u8]) -> (String, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            read_head(&mut conn);
            conn.write_all(answer).unwrap();
        });
        (host, handle)
    }

    /// Reads a request's head (or a TLS ClientHello's first bytes).
    fn read_head(conn: &mut std::net::TcpStream) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf[0] == 0x16 {
                break; // a TLS ClientHello
            }
        }
        buf
    }

    #[test]
    fn responses() {
        let (host, h) = answering(
            b"HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Basic realm=\"r\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        let r = get(&http(None), Scheme::Http, &host, "/v2/", None).unwrap();
        h.join().unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.www_authenticate.as_deref(), Some("Basic realm=\"r\""));
        assert_eq!(r.body, b"abc");
        // A redirect is an answer, not followed.
        let (host, h) = answering(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/v2/\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(
            get(&http(None), Scheme::Http, &host, "/v2/", None)
                .unwrap()
                .status,
            302
        );
        h.join().unwrap();
        // Whatever is not HTTP.
        let (host, h) = answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
        let e = get(&http(None), Scheme::Http, &host, "/v2/", None)
            .err()
            .unwrap();
        h.join().unwrap();
        assert_eq!(e, format!("{host} did not answer HTTP"));
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
                let buf = read_head(&mut conn);
                if buf.first() == Some(&0x16) {
                    conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                    continue;
                }
                let req = String::from_utf8_lossy(&buf).to_string();
                let auth = req
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("authorization").then_some(value)
                    })
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let resp = if req.starts_with("GET /token?service=reg&scope=") {
                    if auth == good {
                        "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"token\":\"t1\"}"
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
