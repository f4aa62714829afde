//! The fuzz targets' bodies, shared by the libFuzzer binaries in `fuzz_targets/` (built by
//! `cargo fuzz`, which needs nightly features: `RUSTC_BOOTSTRAP=1` on stable) and by the
//! stable-only `cargo test` replay of `corpus/` and `regressions/` plus a bounded random-input
//! loop (`tests/replay.rs`). Each function must never panic, whatever the input.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use berth_api::router;
use berth_api::services::QueryParams;
use berth_control::Control;
use berth_core::RootKey;
use berth_iam::Iam;
use berth_store::SqliteStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Splits `data` at NUL bytes into at most `n` parts (missing parts are empty).
fn parts(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// The SigV4 `Authorization` parser and the verifier. Input: `authorization \0 x-amz-date \0
/// path \0 query \0 extra header name \0 extra header value \0 body`. The request is verified
/// against a fixed secret at the time in its own `x-amz-date` when that parses (so the clock
/// check passes and the canonicalisation and signature code run), else at a fixed time; and the
/// same request, signed by [`berth_sigv4::sign`], must verify (when its headers could be sent
/// at all).
pub fn sigv4(data: &[u8]) {
    let p = parts(data, 7);
    let _ = berth_sigv4::parse_authorization(&p[0]);
    let mut headers = vec![
        ("Authorization".to_string(), p[0].clone()),
        ("X-Amz-Date".to_string(), p[1].clone()),
        ("Host".to_string(), "127.0.0.1:4599".to_string()),
    ];
    if !p[4].is_empty() {
        headers.push((p[4].clone(), p[5].clone()));
    }
    let body = p[6].as_bytes();
    let req = berth_sigv4::Request {
        method: "POST",
        path: &p[2],
        query: &p[3],
        headers: &refs(&headers),
        body,
    };
    let now = amz_date_time(&p[1]).unwrap_or(UNIX_EPOCH + Duration::from_secs(1_764_374_400));
    if let Ok(auth) = berth_sigv4::authorization_of(&req) {
        let _ = berth_sigv4::verify(&req, &auth, "fuzzSecret", now);
        let _ = auth.expect_scope("us-east-1", "sts");
    }
    // Round trip: what berth signs, berth verifies (path and query as given).
    let base: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date")
        })
        .cloned()
        .collect();
    let unsigned = berth_sigv4::Request {
        headers: &refs(&base),
        ..req
    };
    let added = berth_sigv4::sign(
        &unsigned,
        "AKIDFUZZ",
        "fuzzSecret",
        None,
        "us-east-1",
        "sts",
        now,
    );
    let mut all = base.clone();
    all.extend(added);
    let signed = berth_sigv4::Request {
        headers: &refs(&all),
        ..req
    };
    if !sendable(&base) {
        return;
    }
    let auth = berth_sigv4::authorization_of(&signed).unwrap_or_else(|e| {
        panic!("berth's own signature does not parse: {e:?} (headers {all:?})")
    });
    if let Err(e) = berth_sigv4::verify(&signed, &auth, "fuzzSecret", now) {
        panic!("berth's own signature does not verify: {e:?} (headers {all:?})");
    }
}

/// Whether `headers` could be sent as they are: names are HTTP tokens, values valid header
/// values, and none is `x-amz-security-token`, which [`berth_sigv4::sign`] leaves to its
/// `session_token` argument (an unsigned one is refused by design).
fn sendable(headers: &[(String, String)]) -> bool {
    headers.iter().all(|(n, v)| {
        axum::http::HeaderName::from_bytes(n.as_bytes()).is_ok()
            && axum::http::HeaderValue::from_str(v).is_ok()
            && !n.eq_ignore_ascii_case("x-amz-security-token")
    })
}

/// Owned header pairs borrowed as [`berth_sigv4::Request::headers`] takes them.
fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// `YYYYMMDDTHHMMSSZ` as a time, for the sigv4 target's clock.
fn amz_date_time(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), good enough for a test clock.
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// The Query-form flattener and its list helpers, with prefixes taken from the input's own keys.
pub fn query_params(data: &[u8]) {
    let params = QueryParams::parse(data);
    let _ = params.get("Action");
    let _ = params.get("Version");
    let mut prefixes: Vec<String> = form_keys(data)
        .into_iter()
        .filter_map(|k| k.find(".member.").map(|i| k[..i].to_string()))
        .collect();
    prefixes.extend(["Tags", "PolicyArns", "Attributes"].map(String::from));
    prefixes.sort();
    prefixes.dedup();
    for p in prefixes.iter().take(16) {
        let list = params.list(p);
        let members = params.members(p);
        for m in &members {
            let _ = m.get("Key");
            let _ = m.get("Value");
        }
        // Indices are distinct and ordered, so there are never more items than keys.
        assert!(list.len() <= data.len());
    }
}

fn form_keys(data: &[u8]) -> Vec<String> {
    data.split(|b| *b == b'&')
        .filter_map(|pair| pair.split(|b| *b == b'=').next())
        .map(|k| String::from_utf8_lossy(k).replace('+', " "))
        .collect()
}

const KEY: &str = "AKIAFUZZROOT00000001";
const SECRET: &str = "fuzzRootSecret000000000000000000000000000";

/// JSON operations the router target picks from (the first input byte). `BerthPollTasks` is
/// left out: it waits up to 20 s by design.
const OPERATIONS: &[(&str, &str)] = &[
    ("secretsmanager", "secretsmanager.CreateSecret"),
    ("secretsmanager", "secretsmanager.GetSecretValue"),
    ("secretsmanager", "secretsmanager.PutSecretValue"),
    ("secretsmanager", "secretsmanager.UpdateSecret"),
    ("secretsmanager", "secretsmanager.DescribeSecret"),
    ("secretsmanager", "secretsmanager.ListSecrets"),
    ("secretsmanager", "secretsmanager.BatchGetSecretValue"),
    ("secretsmanager", "secretsmanager.UpdateSecretVersionStage"),
    ("secretsmanager", "secretsmanager.PutResourcePolicy"),
    ("secretsmanager", "secretsmanager.DeleteSecret"),
    ("secretsmanager", "secretsmanager.TagResource"),
    ("kms", "TrentService.CreateKey"),
    ("kms", "TrentService.Encrypt"),
    ("kms", "TrentService.Decrypt"),
    ("kms", "TrentService.ReEncrypt"),
    ("kms", "TrentService.GenerateDataKey"),
    ("kms", "TrentService.CreateAlias"),
    ("kms", "TrentService.PutKeyPolicy"),
    ("kms", "TrentService.DescribeKey"),
    ("kms", "TrentService.ScheduleKeyDeletion"),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
    ),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
    ),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions",
    ),
    ("ecs", "AmazonEC2ContainerServiceV20141113.CreateCluster"),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.RegisterContainerInstance",
    ),
    ("ecs", "AmazonEC2ContainerServiceV20141113.RunTask"),
    ("ecs", "AmazonEC2ContainerServiceV20141113.DescribeTasks"),
    ("ecs", "AmazonEC2ContainerServiceV20141113.StopTask"),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange",
    ),
    ("ecs", "AmazonEC2ContainerServiceV20141113.PutAttributes"),
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DeleteTaskDefinitions",
    ),
    ("ecs", "AmazonEC2ContainerServiceV20141113.NoSuchOperation"),
];

/// The runtime the router targets run requests on, shared by every input (it holds no
/// application state). A runtime that cannot be built fails the target.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("fuzz setup: building the tokio runtime: {e}"))
    })
}

/// A fresh application for one input: a new in-memory store with the root key [`KEY`] /
/// [`SECRET`], so that no input sees what an earlier one created and a crash reproduces from
/// its saved input alone. A setup that fails fails the target, with the reason.
fn fresh_control() -> Arc<Control> {
    let store = Arc::new(
        SqliteStore::in_memory()
            .unwrap_or_else(|e| panic!("fuzz setup: opening the in-memory store: {e}")),
    );
    let root_key = RootKey::generate();
    Iam::new(store.as_ref(), &root_key)
        .ensure_root_key("000000000000", KEY, SECRET, 0)
        .unwrap_or_else(|e| panic!("fuzz setup: storing the root access key: {e}"));
    Arc::new(Control::new(store, root_key, 0))
}

/// Sends `req` through `app` and reads the whole answer.
fn send(
    app: axum::Router,
    req: axum::http::Request<Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    runtime().block_on(async move {
        let Ok(resp) = app.oneshot(req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes().to_vec())
            .unwrap_or_default();
        (status, headers, bytes)
    })
}

/// A request with fixed, valid headers: one that cannot be built is a bug in the target.
fn build(headers: &[(String, String)], uri: &str, body: &[u8]) -> axum::http::Request<Body> {
    let mut b = axum::http::Request::builder().method("POST").uri(uri);
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_vec()))
        .unwrap_or_else(|e| panic!("fuzz setup: building the request: {e}"))
}

/// A whole JSON 1.1 request through `berth_api::router` (signed as the root user, so decoding
/// and the handlers run): first byte picks the operation, the rest is the body. Answers must
/// be 2xx/4xx with a JSON body naming `__type` on errors; a 500 is a finding.
pub fn json_router(data: &[u8]) {
    let Some((&op, body)) = data.split_first() else {
        return;
    };
    let (service, target) = OPERATIONS[usize::from(op) % OPERATIONS.len()];
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:4599".to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("x-amz-target".to_string(), target.to_string()),
    ];
    let sreq = berth_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &refs(&headers),
        body,
    };
    let added = berth_sigv4::sign(
        &sreq,
        KEY,
        SECRET,
        None,
        "us-east-1",
        service,
        SystemTime::now(),
    );
    headers.extend(added);
    let req = build(&headers, "/", body);
    let (status, _, out) = send(router(fresh_control()), req);
    assert!(
        status.as_u16() != 500,
        "500 for {target} with body {:?}: {}",
        String::from_utf8_lossy(body),
        String::from_utf8_lossy(&out)
    );
    if !status.is_success() {
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        assert!(
            v.get("__type").is_some(),
            "error without __type for {target}: {}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// A whole Query request (IAM or STS) through `berth_api::router`, signed as the root user: the
/// first byte picks the service, the rest is the form body (`Action=...&Version=...&...`).
/// Answers must not be 500s; errors must be `<ErrorResponse>` XML.
pub fn query_router(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let service = if pick % 2 == 0 { "iam" } else { "sts" };
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:4599".to_string()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    let sreq = berth_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &refs(&headers),
        body,
    };
    let added = berth_sigv4::sign(
        &sreq,
        KEY,
        SECRET,
        None,
        "us-east-1",
        service,
        SystemTime::now(),
    );
    headers.extend(added);
    let req = build(&headers, "/", body);
    let (status, _, out) = send(router(fresh_control()), req);
    let text = String::from_utf8_lossy(&out);
    assert!(
        status.as_u16() != 500,
        "500 for {service} with body {:?}: {text}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        assert!(
            text.contains("<ErrorResponse"),
            "error that is not an ErrorResponse: {text}"
        );
    }
}

/// The policy parser, for every kind of policy, then an evaluation of whatever parsed (its
/// patterns and conditions against a fixed request).
pub fn policy(data: &[u8]) {
    use berth_policy::{Context, Mode, PolicyKind, PolicySet, Principal, Request};
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let alice = Principal::user("111122223333", "arn:aws:iam::111122223333:user/alice");
    let ctx = Context::new()
        .with("aws:username", "alice")
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:SecureTransport", false);
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
        PolicyKind::Boundary,
        PolicyKind::Session,
    ] {
        let Ok(p) = berth_policy::parse(doc, kind) else {
            continue;
        };
        let req = Request {
            principal: &alice,
            action: "secretsmanager:GetSecretValue",
            resource: "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
            resource_account: Some("111122223333"),
            context: &ctx,
        };
        let identity = [&p];
        let set = match kind {
            PolicyKind::Resource | PolicyKind::Trust => PolicySet {
                resource: Some(&p),
                ..PolicySet::default()
            },
            PolicyKind::Boundary => PolicySet {
                identity: &identity,
                boundary: Some(&p),
                ..PolicySet::default()
            },
            _ => PolicySet {
                identity: &identity,
                ..PolicySet::default()
            },
        };
        for mode in [Mode::Standard, Mode::ResourcePolicyRequired] {
            let d = berth_policy::evaluate(&req, &set, mode);
            let _ = d.denial_message(
                "arn:aws:iam::111122223333:user/alice",
                req.action,
                req.resource,
            );
        }
    }
}

/// The console's unauthenticated sign-in: `POST /console/signin` through
/// `berth_console::router` (a fresh application per input). Input: `Cookie header \0 Origin
/// header (none when empty) \0 form body`. Answers are never 500s; a session is created (303
/// with a `berth_console` cookie) only for the root key's own secret, and that session then
/// opens the console; any other answer sets no session.
pub fn console_signin(data: &[u8]) {
    use axum::http::{HeaderValue, StatusCode, header};
    use berth_console::session::{SESSION_COOKIE, cookie};
    let p = parts(data, 3);
    let body = p[2].as_bytes();
    let (Ok(cookie_value), Ok(origin)) =
        (HeaderValue::from_str(&p[0]), HeaderValue::from_str(&p[1]))
    else {
        return; // no client can send these
    };
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/console/signin")
        .header(header::HOST, "127.0.0.1:4599")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie_value);
    if !p[1].is_empty() {
        req = req.header(header::ORIGIN, origin);
    }
    let req = req
        .body(Body::from(body.to_vec()))
        .unwrap_or_else(|e| panic!("fuzz setup: building the request: {e}"));
    let app = berth_console::router(fresh_control());
    let (status, headers, out) = send(app.clone(), req);
    let text = String::from_utf8_lossy(&out);
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "500 for sign-in {data:?}: {text}"
    );
    let session = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| cookie(c.split(';').next().unwrap_or(""), SESSION_COOKIE))
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let Some(session) = session else {
        assert!(
            status != StatusCode::SEE_OTHER,
            "sign-in redirected without a session for {data:?}"
        );
        return;
    };
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "session with {status}: {text}"
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert!(
        field("secret") == Some(SECRET) && field("access_key_id").map(str::trim) == Some(KEY),
        "a session for a sign-in without the root key's secret: {data:?}"
    );
    let overview = axum::http::Request::builder()
        .uri("/console")
        .header(header::HOST, "127.0.0.1:4599")
        .header(header::COOKIE, format!("{SESSION_COOKIE}={session}"))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("fuzz setup: building the request: {e}"));
    let (status, _, out) = send(app, overview);
    assert_eq!(
        status,
        StatusCode::OK,
        "the new session does not open the console: {}",
        String::from_utf8_lossy(&out)
    );
}

/// The console's cookie, origin, token and form parsing. Input: `Cookie header \0 Origin \0
/// Host \0 Sec-Fetch-Site \0 form body` (an empty part is an absent header).
pub fn console_forms(data: &[u8]) {
    use axum::extract::FromRequest;
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
    use berth_console::extract::{ConsoleForm, cookie, same_origin};
    use berth_console::session::{self, SESSION_COOKIE, SIGNIN_COOKIE};
    let p = parts(data, 5);
    // The cookie parser: a value found is one of the header's own `name=value` pairs.
    let own = p[0].split('=').next().unwrap_or("").trim().to_string();
    for name in [SESSION_COOKIE, SIGNIN_COOKIE, own.as_str()] {
        if let Some(v) = session::cookie(&p[0], name) {
            assert!(
                p[0].split(';')
                    .any(|pair| pair.trim() == format!("{name}={v}")),
                "cookie {name:?} = {v:?} is not a pair of {:?}",
                p[0]
            );
        }
    }
    // The origin check: no Origin and no Sec-Fetch-Site is allowed; a foreign Sec-Fetch-Site
    // never is; an allowed Origin names the Host.
    let (origin, host, site) = (present(&p[1]), present(&p[2]), present(&p[3]));
    let allowed = session::origin_allowed(origin, host, site);
    if origin.is_none() && site.is_none() {
        assert!(allowed, "no Origin and no Sec-Fetch-Site refused");
    }
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        assert!(!allowed, "Sec-Fetch-Site {site:?} allowed");
    }
    if let (true, Some(o)) = (allowed, origin) {
        let h = host.unwrap_or_default().to_ascii_lowercase();
        let o = o.to_ascii_lowercase();
        assert!(
            !h.is_empty() && (o == format!("http://{h}") || o == format!("https://{h}")),
            "Origin {origin:?} allowed for Host {host:?}"
        );
    }
    // Tokens: equal non-empty tokens match, others do not.
    assert_eq!(
        session::tokens_match(&p[0], &p[1]),
        !p[0].is_empty() && p[0] == p[1]
    );
    // The same checks through a header map, as the handlers read them.
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (header::COOKIE, &p[0]),
        (header::ORIGIN, &p[1]),
        (header::HOST, &p[2]),
        (header::HeaderName::from_static("sec-fetch-site"), &p[3]),
    ] {
        // Only values the handlers can read as text: one that is not (bytes beyond visible
        // ASCII) reads as absent there (see BENCHMARKS.md, "Fuzzing").
        if let (false, Ok(v)) = (value.is_empty(), HeaderValue::from_str(value))
            && v.to_str().is_ok()
        {
            headers.insert(name, v);
        }
    }
    if headers.len() == 4 {
        assert_eq!(
            cookie(&headers, SESSION_COOKIE),
            session::cookie(&p[0], SESSION_COOKIE)
        );
        assert_eq!(same_origin(&headers), allowed);
    }
    // The form extractor: what it reads is the body's pairs, or a refusal that is not a 500.
    let body = p[4].as_bytes().to_vec();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/console/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.clone()))
        .unwrap_or_else(|e| panic!("fuzz setup: building the request: {e}"));
    let got = runtime().block_on(ConsoleForm::<Vec<(String, String)>>::from_request(req, &()));
    match got {
        Ok(ConsoleForm(pairs)) => {
            let expected: Vec<(String, String)> =
                form_urlencoded::parse(&body).into_owned().collect();
            assert_eq!(pairs, expected, "form {body:?}");
        }
        Err(resp) => assert!(
            resp.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "500 for form {body:?}"
        ),
    }
}

/// `s`, or `None` when it is empty (an absent header).
fn present(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The agent's registry-credentials secret parser (`berth_ecs::asm::parse_secret`), on the
/// input as a secret's text, and on `{"username": U, "password": P}` built from the input's
/// `U \0 P` (which must give back exactly U and P when both are non-empty).
pub fn asm_secret(data: &[u8]) {
    use berth_ecs::asm::{EMPTY_PASSWORD, EMPTY_USERNAME, parse_secret};
    let text = String::from_utf8_lossy(data);
    if let Ok(a) = parse_secret(Some(&text)) {
        assert!(!a.username.is_empty() && !a.password.is_empty());
    }
    let _ = parse_secret(None);
    let p = parts(data, 2);
    let doc = serde_json::json!({ "username": p[0], "password": p[1] }).to_string();
    match parse_secret(Some(&doc)) {
        Ok(a) => assert!(
            a.username.as_str() == p[0] && a.password.as_str() == p[1],
            "{doc} parsed to other credentials"
        ),
        Err(e) if p[0].is_empty() => assert_eq!(e, EMPTY_USERNAME, "{doc}"),
        Err(e) if p[1].is_empty() => assert_eq!(e, EMPTY_PASSWORD, "{doc}"),
        Err(e) => panic!("{doc} refused: {e}"),
    }
}

/// The agent's `ECS_ENGINE_AUTH_TYPE` / `ECS_ENGINE_AUTH_DATA` parser and its engine-auth
/// file form (`crates/berth-agent/src/engine_auth.rs`). Input: `type \0 data \0 image` parsed
/// as given, then `registry \0 username \0 password` in each format: the credentials must be
/// found again for an image in that registry.
pub fn engine_auth(data: &[u8]) {
    use base64::Engine;
    use berth_agent::engine_auth::{EngineAuth, parse_file};
    let p = parts(data, 3);
    let kind = (!p[0].is_empty()).then_some(p[0].as_str());
    let e = EngineAuth::parse(kind, Some(&p[1]));
    if e.is_empty() {
        assert!(e.for_image(&p[2]).is_none());
    }
    let _ = parse_file(&p[1], kind).for_image(&p[2]);
    let _ = parse_file(
        &format!(
            "ECS_ENGINE_AUTH_TYPE={}\nECS_ENGINE_AUTH_DATA={}",
            p[0], p[1]
        ),
        None,
    )
    .for_image(&p[2]);

    // The round trip, for a registry host as Docker names them.
    let (registry, user, pass) = (&p[0], &p[1], &p[2]);
    let host_like = !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && (registry.contains('.') || registry.contains(':'));
    if !host_like || user.is_empty() || pass.is_empty() {
        return;
    }
    let image = format!("{registry}/app:1");
    let want = (user.as_str(), pass.as_str());
    let found = |e: &EngineAuth| {
        e.for_image(&image)
            .map(|a| (a.username.to_string(), a.password.to_string()))
    };
    let docker = serde_json::json!({ format!("https://{registry}"): { "username": user, "password": pass } })
        .to_string();
    for e in [
        EngineAuth::parse(Some("docker"), Some(&docker)),
        parse_file(&docker, None),
        parse_file(
            &format!("# berth\nECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA={docker}\n"),
            None,
        ),
    ] {
        let got = found(&e);
        assert_eq!(
            got.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
            Some(want),
            "docker {docker}"
        );
    }
    if !user.contains(':') {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let cfg =
            serde_json::json!({ "auths": { registry.as_str(): { "auth": auth } } }).to_string();
        let got = found(&EngineAuth::parse(Some("dockercfg"), Some(&cfg)));
        assert_eq!(
            got.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
            Some(want),
            "dockercfg {cfg}"
        );
    }
}
