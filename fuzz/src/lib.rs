//! The fuzz targets' bodies, shared by the libFuzzer binaries in `fuzz_targets/` (built by
//! `cargo fuzz`, which needs nightly features: `RUSTC_BOOTSTRAP=1` on stable) and by the
//! stable-only `cargo test` replay of `corpus/` and `regressions/` plus a bounded random-input
//! loop (`tests/replay.rs`). Each function must never panic, whatever the input.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use berth_api::services::QueryParams;
use berth_api::router;
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
/// same request, signed properly, must verify.
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
    if let Ok(auth) = berth_sigv4::authorization_of(&signed) {
        let _ = berth_sigv4::verify(&signed, &auth, "fuzzSecret", now);
    }
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

struct Harness {
    rt: tokio::runtime::Runtime,
    state: Arc<Control>,
}

fn harness() -> Option<&'static Harness> {
    static H: OnceLock<Option<Harness>> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let store = Arc::new(SqliteStore::in_memory().ok()?);
        let root_key = RootKey::generate();
        Iam::new(store.as_ref(), &root_key)
            .ensure_root_key("000000000000", KEY, SECRET, 0)
            .ok()?;
        Some(Harness {
            rt,
            state: Arc::new(Control::new(store, root_key, 0)),
        })
    })
    .as_ref()
}

/// A whole JSON 1.1 request through `berth_api::router` (signed as the root user, so decoding
/// and the handlers run): first byte picks the operation, the rest is the body. Answers must
/// be 2xx/4xx with a JSON body naming `__type` on errors; a 500 is a finding.
pub fn json_router(data: &[u8]) {
    let Some(h) = harness() else {
        return;
    };
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
    let mut b = axum::http::Request::builder().method("POST").uri("/");
    for (k, v) in &headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let Ok(req) = b.body(Body::from(body.to_vec())) else {
        return;
    };
    let state = h.state.clone();
    let (status, out) = h.rt.block_on(async move {
        let Ok(resp) = router(state).oneshot(req).await;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (status, bytes)
    });
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
    let Some(h) = harness() else {
        return;
    };
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
    let mut b = axum::http::Request::builder().method("POST").uri("/");
    for (k, v) in &headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let Ok(req) = b.body(Body::from(body.to_vec())) else {
        return;
    };
    let state = h.state.clone();
    let (status, out) = h.rt.block_on(async move {
        let Ok(resp) = router(state).oneshot(req).await;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (status, bytes)
    });
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
