//! The HTTP pipe in-process: requests signed with berth's own signer go through the router,
//! and every refusal comes back in its protocol's shape.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use berth_api::router;
use berth_control::Control as ApiState;
use berth_core::RootKey;
use berth_iam::Iam;
use berth_store::SqliteStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

const KEY: &str = "AKIAWIRETEST00000001";
const SECRET: &str = "wireTestSecret0000000000000000000000000000";

fn state() -> Arc<ApiState> {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let root_key = RootKey::generate();
    Iam::new(store.as_ref(), &root_key)
        .ensure_root_key("000000000000", KEY, SECRET, 0)
        .unwrap();
    Arc::new(ApiState::new(store, root_key, 0))
}

fn signed(
    headers: &[(&str, &str)],
    body: &str,
    service: &str,
    secret: &str,
    now: SystemTime,
) -> Request<Body> {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push(("host", "127.0.0.1:4599"));
    let req = berth_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &all,
        body: body.as_bytes(),
    };
    let added = berth_sigv4::sign(&req, KEY, secret, None, "us-east-1", service, now);
    let mut b = Request::builder().method("POST").uri("/");
    for (k, v) in all {
        b = b.header(k, v);
    }
    for (k, v) in &added {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn send(state: &Arc<ApiState>, req: Request<Body>) -> (StatusCode, String) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn signed_query_call_answers_xml() {
    let s = state();
    let req = signed(
        &[FORM],
        "Action=GetCallerIdentity&Version=2011-06-15",
        "sts",
        SECRET,
        SystemTime::now(),
    );
    let (status, body) = send(&s, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<Arn>arn:aws:iam::000000000000:root</Arn>"));
    assert!(body.starts_with(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match_in_both_protocols() {
    let s = state();
    let req = signed(
        &[FORM],
        "Action=GetCallerIdentity&Version=2011-06-15",
        "sts",
        "nope",
        SystemTime::now(),
    );
    let (status, body) = send(&s, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let req = signed(
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "secretsmanager.ListSecrets"),
        ],
        "{}",
        "secretsmanager",
        "nope",
        SystemTime::now(),
    );
    let (status, body) = send(&s, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "InvalidSignatureException");
    // Secrets Manager's error member is `Message`.
    assert!(
        v["Message"]
            .as_str()
            .unwrap()
            .starts_with("The request signature we calculated")
    );
}

#[tokio::test]
async fn stale_request_is_refused_with_aws_skew_wording() {
    let s = state();
    let then = SystemTime::now() - std::time::Duration::from_secs(600);
    let req = signed(
        &[FORM],
        "Action=GetCallerIdentity&Version=2011-06-15",
        "sts",
        SECRET,
        then,
    );
    let (status, body) = send(&s, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Signature expired: "), "{body}");
    assert!(body.contains(" - 5 min.)"), "{body}");
}

#[tokio::test]
async fn health_needs_no_signature() {
    let s = state();
    let req = Request::builder()
        .uri("/_berth/health")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&s, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ready"}"#);
}
