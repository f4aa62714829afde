//! The web console in-process: sign-in, the session cookie, CSRF and origin checks, sign-out,
//! the security headers and the body limit, through the console's router.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use berth_console::router;
use berth_control::Control as ApiState;
use berth_core::RootKey;
use berth_iam::Iam;
use berth_store::SqliteStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

const KEY: &str = "AKIACONSOLETEST00001";
const SECRET: &str = "consoleTestSecret000000000000000000000000";
const HOST: &str = "127.0.0.1:4599";

fn app() -> Router {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let root_key = RootKey::generate();
    Iam::new(store.as_ref(), &root_key)
        .ensure_root_key("000000000000", KEY, SECRET, 0)
        .unwrap();
    router(Arc::new(ApiState::new(store, root_key, 0)))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                let first = c.split(';').next()?;
                let (k, v) = first.split_once('=')?;
                (k == name).then(|| v.to_string())
            })
    }

    /// The value of the first hidden field `name` in the page.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).unwrap() + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, cookie: &str, form: &[(&str, &str)], origin: Option<&str>) -> Request<Body> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    b.body(Body::from(body)).unwrap()
}

/// Signs in as root; returns the session cookie (`name=value`).
async fn sign_in(app: &Router) -> String {
    let form = send(app, get("/console/signin", "")).await;
    let pre = form.cookie("berth_console_signin").unwrap();
    let token = form.field("signin");
    assert_eq!(pre, token);
    let a = send(
        app,
        post(
            "/console/signin",
            &format!("berth_console_signin={pre}"),
            &[
                ("signin", &token),
                ("access_key_id", KEY),
                ("secret", SECRET),
                ("region", "us-east-1"),
            ],
            Some(&format!("http://{HOST}")),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    format!("berth_console={}", a.cookie("berth_console").unwrap())
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_sign_in() {
    let app = app();
    let a = send(&app, get("/console/secrets", "")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers[header::LOCATION], "/console/signin");
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        a.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    // A forged session id is no session.
    let a = send(
        &app,
        get("/console", &format!("berth_console={}", "ab".repeat(32))),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = send(
        &app,
        post("/console/clusters", "", &[("clusterName", "x")], None),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_in_checks_the_secret_and_the_pre_session_token() {
    let app = app();
    let form = send(&app, get("/console/signin", "")).await;
    let pre = form.cookie("berth_console_signin").unwrap();
    let cookie = format!("berth_console_signin={pre}");
    let wrong = send(
        &app,
        post(
            "/console/signin",
            &cookie,
            &[
                ("signin", &pre),
                ("access_key_id", KEY),
                ("secret", "nope"),
                ("region", "us-east-1"),
            ],
            None,
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("is not valid"));
    assert!(wrong.cookie("berth_console").is_none());
    // Login CSRF: the right secret without the pre-session cookie's token is refused.
    let forged = send(
        &app,
        post(
            "/console/signin",
            "",
            &[
                ("signin", &pre),
                ("access_key_id", KEY),
                ("secret", SECRET),
                ("region", "us-east-1"),
            ],
            None,
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("berth_console").is_none());
    // The session cookie never carries the secret.
    let session = sign_in(&app).await;
    assert!(!session.contains(SECRET));
    // Signed in, the sign-in page sends to the overview.
    let again = send(&app, get("/console/signin", &session)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.headers[header::LOCATION], "/console");
}

#[tokio::test]
async fn posts_need_the_session_token_and_our_origin() {
    let app = app();
    let session = sign_in(&app).await;
    let page = send(&app, get("/console/clusters", &session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.field("csrf");
    assert_eq!(csrf.len(), 64);
    let refused = [
        post("/console/clusters", &session, &[("clusterName", "a")], None),
        post(
            "/console/clusters",
            &session,
            &[("clusterName", "b"), ("csrf", &"0".repeat(64))],
            None,
        ),
        post(
            "/console/clusters",
            &session,
            &[("clusterName", "c"), ("csrf", &csrf)],
            Some("http://evil.example"),
        ),
    ];
    for req in refused {
        assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
    }
    let listed = send(&app, get("/console/clusters", &session)).await;
    assert!(listed.body.contains("No clusters yet"), "{}", listed.body);
    let ok = send(
        &app,
        post(
            "/console/clusters",
            &session,
            &[("clusterName", "made"), ("csrf", &csrf)],
            Some(&format!("http://{HOST}")),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let listed = send(&app, get("/console/clusters", &session)).await;
    assert!(listed.body.contains("cluster made created"));
    assert!(listed.body.contains(">made</a>"));
}

#[tokio::test]
async fn an_opaque_origin_is_refused_even_with_the_token() {
    let app = app();
    // Sign-in: the pre-session token matches, the origin is `null`.
    let form = send(&app, get("/console/signin", "")).await;
    let pre = form.cookie("berth_console_signin").unwrap();
    let signin = send(
        &app,
        post(
            "/console/signin",
            &format!("berth_console_signin={pre}"),
            &[
                ("signin", &pre),
                ("access_key_id", KEY),
                ("secret", SECRET),
                ("region", "us-east-1"),
            ],
            Some("null"),
        ),
    )
    .await;
    assert_eq!(signin.status, StatusCode::FORBIDDEN, "{}", signin.body);
    assert!(signin.cookie("berth_console").is_none());
    // A signed-in POST: the session's CSRF token is right, the origin is `null`.
    let session = sign_in(&app).await;
    let csrf = send(&app, get("/console/clusters", &session))
        .await
        .field("csrf");
    let a = send(
        &app,
        post(
            "/console/clusters",
            &session,
            &[("clusterName", "opaque"), ("csrf", &csrf)],
            Some("null"),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let listed = send(&app, get("/console/clusters", &session)).await;
    assert!(!listed.body.contains("opaque"), "{}", listed.body);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = app();
    let session = sign_in(&app).await;
    let page = send(&app, get("/console", &session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.field("csrf");
    let out = send(
        &app,
        post("/console/signout", &session, &[("csrf", &csrf)], None),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.cookie("berth_console").as_deref(), Some(""));
    let after = send(&app, get("/console", &session)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled() {
    let app = app();
    let form = send(&app, get("/console/signin", "")).await;
    let pre = form.cookie("berth_console_signin").unwrap();
    let cookie = format!("berth_console_signin={pre}");
    let attempt = |secret: &'static str| {
        post(
            "/console/signin",
            &cookie,
            &[
                ("signin", &pre),
                ("access_key_id", KEY),
                ("secret", secret),
                ("region", "us-east-1"),
            ],
            None,
        )
    };
    for _ in 0..berth_console::session::MAX_FAILED_SIGN_INS {
        assert_eq!(
            send(&app, attempt("nope")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right secret is refused for a while, and no session is made.
    let refused = send(&app, attempt(SECRET)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.body.contains("too many failed sign-ins"),
        "{}",
        refused.body
    );
    assert!(refused.cookie("berth_console").is_none());
}

#[tokio::test]
async fn routes_methods_and_unknown_pages() {
    let app = app();
    let session = sign_in(&app).await;
    // One trailing slash is the same page.
    for path in ["/console/", "/console/clusters/", "/console/secrets"] {
        let a = send(&app, get(path, &session)).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(a.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }
    // Unknown pages: signed out they send to sign-in, signed in they are not found.
    let a = send(&app, get("/console/secret?secretId=x", "")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = send(&app, get("/console/secret?secretId=x", &session)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("There is no such page"));
    assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(a.headers[header::REFERRER_POLICY], "same-origin");
    assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // A POST-only page asked with GET is not found; a GET page posted to needs the token.
    let a = send(&app, get("/console/tasks/run", &session)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(&app, post("/console/secrets", &session, &[], None)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Other methods.
    let mut req = get("/console/clusters", &session);
    *req.method_mut() = axum::http::Method::DELETE;
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = app();
    let session = sign_in(&app).await;
    let page = send(&app, get("/console/task-definitions", &session)).await;
    let csrf = page.field("csrf");
    let big = "x".repeat(berth_console::MAX_BODY_BYTES + 1);
    let a = send(
        &app,
        post(
            "/console/task-definitions",
            &session,
            &[("csrf", &csrf), ("taskDefinition", &big)],
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        a.body.contains("request body exceeds the limit"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn user_strings_are_escaped_in_pages() {
    let app = app();
    let session = sign_in(&app).await;
    let evil = "<img src=x onerror=\"alert(1)\">";
    let a = send(
        &app,
        get(
            &format!(
                "/console/tasks?cluster={}",
                form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
            ),
            &session,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(!a.body.contains("<img"), "{}", a.body);
    assert!(
        a.body
            .contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")
    );
    // A pasted document that is not JSON comes back escaped, with the error.
    let page = send(&app, get("/console/task-definitions", &session)).await;
    let csrf = page.field("csrf");
    let a = send(
        &app,
        post(
            "/console/task-definitions",
            &session,
            &[("csrf", &csrf), ("taskDefinition", evil)],
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("SerializationException"));
    assert!(!a.body.contains("<img"));
}

#[tokio::test]
async fn a_region_berth_does_not_answer_to_cannot_open_a_session() {
    let app = app();
    let form = send(&app, get("/console/signin", "")).await;
    let pre = form.cookie("berth_console_signin").unwrap();
    let cookie = format!("berth_console_signin={pre}");
    for region in ["xx-fake-9", "not a region"] {
        let answer = send(
            &app,
            post(
                "/console/signin",
                &cookie,
                &[
                    ("signin", &pre),
                    ("access_key_id", KEY),
                    ("secret", SECRET),
                    ("region", region),
                ],
                None,
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{region}");
        assert!(answer.body.contains("not one berth answers to"), "{region}");
        assert!(answer.cookie("berth_console").is_none(), "{region}");
    }
}
