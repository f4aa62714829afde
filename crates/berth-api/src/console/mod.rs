//! The web console at `/console`: server-rendered pages over the same handlers the API uses.
//!
//! - **Sign-in** takes an access key id and its secret access key (an IAM user's key or the
//!   account's root key; temporary `ASIA…` keys are refused), checked against the stored key in
//!   constant time, and creates a server-side session ([`session`]). Every request looks the
//!   key up again, so a deleted or deactivated key ends its sessions.
//! - **Authorisation is the API's**: every page calls the service handler the JSON API would
//!   call (`services::ecs::dispatch`, `services::secretsmanager::dispatch`) as the signed-in
//!   principal, so the same `authz::authorize` checks decide and the same errors come back;
//!   only the operations in [`OPERATIONS`] can be called, and none of them returns a secret
//!   value. The doctor page runs `berth_doctor::diagnose` after the caller may read the task
//!   definition (`ecs:DescribeTaskDefinition`) and simulate its execution role's policies
//!   (`iam:SimulatePrincipalPolicy`).
//! - **CSRF**: every state-changing POST carries the session's synchronizer token and, when the
//!   browser sends an `Origin`, it must be this server's; the sign-in form uses a pre-session
//!   double-submit token. Every answer carries a strict Content-Security-Policy, `X-Frame-Options:
//!   DENY`, `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.

pub mod html;
mod pages;
pub mod session;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use berth_iam::{KeyOwner, KeyStatus, Principal};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::WireError;
use crate::protocol::Service;
use crate::server::{MAX_BODY_BYTES, read_limited};
use crate::services::{self, Ctx};
use berth_control::Caller;
use berth_control::Control;
use session::Sessions;

/// The operations the console may call, and nothing else. None of them returns a secret value
/// (`GetSecretValue` and `BatchGetSecretValue` are not here, and a test keeps it so).
pub const OPERATIONS: &[(Service, &str)] = &[
    (Service::Ecs, "ListClusters"),
    (Service::Ecs, "DescribeClusters"),
    (Service::Ecs, "CreateCluster"),
    (Service::Ecs, "ListTaskDefinitionFamilies"),
    (Service::Ecs, "ListTaskDefinitions"),
    (Service::Ecs, "DescribeTaskDefinition"),
    (Service::Ecs, "RegisterTaskDefinition"),
    (Service::Ecs, "RunTask"),
    (Service::Ecs, "StopTask"),
    (Service::Ecs, "ListTasks"),
    (Service::Ecs, "DescribeTasks"),
    (Service::SecretsManager, "ListSecrets"),
];

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'";

/// The console's state: the API's, and the sessions.
pub struct ConsoleState {
    pub api: Arc<Control>,
    pub sessions: Sessions,
    pub throttle: session::SignInThrottle,
}

/// The console's routes: `/console` and everything under it.
pub fn router(api: Arc<Control>) -> Router {
    let state = Arc::new(ConsoleState {
        api,
        sessions: Sessions::default(),
        throttle: session::SignInThrottle::default(),
    });
    Router::new()
        .route("/console", any(handle))
        .route("/console/", any(handle))
        .route("/console/{*rest}", any(handle))
        .with_state(state)
}

async fn handle(State(state): State<Arc<ConsoleState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    let mut resp = match read_limited(body, declared).await {
        Ok(bytes) => {
            let st = state.clone();
            match tokio::task::spawn_blocking(move || process(&st, &parts, &bytes, peer)).await {
                Ok(resp) => resp,
                Err(e) => {
                    let err = WireError::internal(&e);
                    plain(err.status, &err.message.unwrap_or_default())
                }
            }
        }
        Err(()) => plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
        ),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    tracing::debug!(
        status = resp.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "console request"
    );
    resp
}

/// One console request, parsed.
pub(crate) struct Req<'a> {
    method: &'a Method,
    path: &'a str,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    headers: &'a HeaderMap,
    peer: Option<IpAddr>,
}

impl Req<'_> {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn form(&self, name: &str) -> &str {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| session::cookie(h, name))
    }
}

/// A signed-in request: the session and the principal its key belongs to now.
pub(crate) struct Signed {
    id: String,
    session: session::Session,
    principal: Principal,
    peer: Option<IpAddr>,
}

impl Signed {
    fn caller(&self) -> Caller {
        Caller {
            principal: self.principal.clone(),
            access_key_id: self.session.access_key_id.clone(),
            region: self.session.region.clone(),
            session: None,
            source_ip: self.peer,
        }
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.session.csrf
    }

    pub(crate) fn region(&self) -> &str {
        &self.session.region
    }

    pub(crate) fn account(&self) -> &str {
        self.principal.account()
    }

    pub(crate) fn principal_arn(&self) -> String {
        self.principal.arn()
    }
}

fn process(st: &ConsoleState, parts: &Parts, body: &[u8], peer: Option<IpAddr>) -> Response {
    let path = parts.uri.path();
    let req = Req {
        method: &parts.method,
        path: path.strip_suffix('/').unwrap_or(path),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        form: if parts.method == Method::POST {
            form_urlencoded::parse(body).into_owned().collect()
        } else {
            Vec::new()
        },
        headers: &parts.headers,
        peer,
    };
    let post = *req.method == Method::POST;
    if *req.method != Method::GET && !post {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    if req.path == "/console/signin" {
        return if post {
            sign_in(st, &req)
        } else if signed_in(st, &req).is_some() {
            redirect("/console", &[])
        } else {
            sign_in_page(&req, StatusCode::OK, None)
        };
    }
    let Some(who) = signed_in(st, &req) else {
        if post {
            return plain(StatusCode::FORBIDDEN, "not signed in: sign in again");
        }
        return redirect("/console/signin", &[]);
    };
    if post {
        if !session::origin_allowed(
            req.header(header::ORIGIN),
            req.header(header::HOST),
            req.header(header::HeaderName::from_static("sec-fetch-site")),
        ) {
            tracing::info!(principal = %who.principal.arn(), "console: cross-origin post refused");
            return plain(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
        if !session::tokens_match(req.form("csrf"), who.csrf()) {
            tracing::info!(principal = %who.principal.arn(), "console: post without a valid csrf token refused");
            return plain(
                StatusCode::FORBIDDEN,
                "the form's csrf token is missing or wrong: reload the page and try again",
            );
        }
    }
    let p = pages::Pages { st, who: &who };
    match (post, req.path) {
        (false, "/console") => p.overview(),
        (false, "/console/clusters") => p.clusters(None, ""),
        (true, "/console/clusters") => p.create_cluster(&req),
        (false, "/console/task-definitions") => p.task_definitions(None, ""),
        (true, "/console/task-definitions") => p.register_task_definition(&req),
        (false, "/console/task-definition") => p.task_definition(&req),
        (false, "/console/tasks") => p.tasks(&req, None),
        (true, "/console/tasks/run") => p.run_task(&req),
        (true, "/console/tasks/stop") => p.stop_task(&req),
        (false, "/console/secrets") => p.secrets(),
        (false, "/console/doctor") => p.doctor(&req),
        (true, "/console/signout") => {
            st.sessions.remove(&who.id);
            tracing::info!(principal = %who.principal.arn(), "console sign-out");
            redirect(
                "/console/signin",
                &[session::expired_cookie(session::SESSION_COOKIE)],
            )
        }
        _ => p.not_found(),
    }
}

/// The session of the request's cookie, with its key still active.
fn signed_in(st: &ConsoleState, req: &Req<'_>) -> Option<Signed> {
    let id = req.cookie(session::SESSION_COOKIE)?;
    let s = st.sessions.get(id, Instant::now())?;
    let key = match st.api.iam().resolve_access_key(&s.access_key_id) {
        Ok(Some(k)) if k.status == KeyStatus::Active => k,
        Ok(_) => {
            // The key was deleted or deactivated since sign-in: the session ends with it.
            st.sessions.remove(id);
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "console: access key lookup failed");
            return None;
        }
    };
    Some(Signed {
        id: id.to_string(),
        session: s,
        principal: key.principal,
        peer: req.peer,
    })
}

/// Calls one of [`OPERATIONS`] through the API's own handler, as the signed-in principal.
pub(crate) fn call(
    st: &ConsoleState,
    who: &Signed,
    service: Service,
    operation: &str,
    input: Value,
) -> Result<Value, WireError> {
    if !OPERATIONS.contains(&(service, operation)) {
        return Err(WireError::internal(&format!(
            "the console may not call {operation}"
        )));
    }
    let result = as_signed(st, who, |ctx| {
        match service {
            Service::Ecs => services::ecs::dispatch(ctx, operation, input),
            Service::SecretsManager => services::secretsmanager::dispatch(ctx, operation, input),
            _ => None,
        }
        .unwrap_or_else(|| Err(WireError::unknown_operation()))
    });
    if let Err(e) = &result {
        tracing::info!(
            principal = %who.principal.arn(),
            operation,
            code = %e.code,
            "console request refused"
        );
    }
    result
}

/// Runs `f` with a request context for the signed-in principal.
fn as_signed<T>(st: &ConsoleState, who: &Signed, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
    let caller = who.caller();
    let request_id = berth_core::ids::request_id();
    f(&st.api.ctx(&caller, &request_id))
}

/// Authorises a check that is not an API operation of its own (the doctor's), as the
/// signed-in principal, in `service`'s words.
pub(crate) fn authorize(
    st: &ConsoleState,
    who: &Signed,
    service: Service,
    check: &berth_control::authz::Check<'_>,
) -> Result<(), WireError> {
    as_signed(st, who, |ctx| {
        berth_control::authz::authorize(ctx, check)
            .map_err(|e| WireError::from(e).in_protocol(service.protocol()))
    })
}

// ---- sign-in --------------------------------------------------------------------------------

fn sign_in_page(req: &Req<'_>, status: StatusCode, error: Option<&str>) -> Response {
    // The pre-session token: kept if the browser has one, else a new one.
    let (token, set) = match req.cookie(session::SIGNIN_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (t.to_string(), None)
        }
        _ => {
            let t = session::token();
            let c = session::signin_cookie(&t);
            (t, Some(c))
        }
    };
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&html::error_box("", e));
    }
    body.push_str(&format!(
        "<p>Sign in with an access key: an IAM user's or the account root user's \
         (the root key is in <code>DATA_DIR/credentials</code>). Temporary credentials \
         (<code>ASIA…</code>) cannot sign in.</p>\
         <form class=\"card\" method=\"post\" action=\"/console/signin\">\
         <input type=\"hidden\" name=\"signin\" value=\"{}\">\
         {}\
         <label for=\"secret\">Secret access key</label>\
         <input type=\"password\" id=\"secret\" name=\"secret\" autocomplete=\"current-password\" required>\
         {}\
         <button type=\"submit\">Sign in</button></form>",
        html::esc(&token),
        html::text_input(
            "access_key_id",
            "Access key ID",
            req.form("access_key_id"),
            " autocomplete=\"username\" required spellcheck=\"false\""
        ),
        html::text_input(
            "region",
            "Region",
            match req.form("region") {
                "" => "us-east-1",
                r => r,
            },
            " required spellcheck=\"false\""
        ),
    ));
    let page = html::page("Sign in", "", None, &body);
    let cookies: Vec<String> = set.into_iter().collect();
    html_response(status, page, &cookies)
}

fn sign_in(st: &ConsoleState, req: &Req<'_>) -> Response {
    if !session::origin_allowed(
        req.header(header::ORIGIN),
        req.header(header::HOST),
        req.header(header::HeaderName::from_static("sec-fetch-site")),
    ) {
        return plain(StatusCode::FORBIDDEN, "cross-origin request refused");
    }
    let pre = req.cookie(session::SIGNIN_COOKIE).unwrap_or("");
    if !session::tokens_match(req.form("signin"), pre) {
        return sign_in_page(
            req,
            StatusCode::FORBIDDEN,
            Some("the sign-in form expired: sign in again"),
        );
    }
    let key_id = req.form("access_key_id").trim();
    let secret = Zeroizing::new(req.form("secret").to_string());
    let region = req.form("region").trim();
    if !berth_core::ids::is_region(region) {
        return sign_in_page(
            req,
            StatusCode::BAD_REQUEST,
            Some("the region is not valid (for example us-east-1)"),
        );
    }
    let invalid = "the access key id or the secret access key is not valid";
    if let Err(wait) = st.throttle.check(req.peer, Instant::now()) {
        tracing::info!(peer = ?req.peer, "console sign-in refused: too many failures");
        return sign_in_page(
            req,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "too many failed sign-ins from this address: try again in {} s",
                wait.as_secs().max(1)
            )),
        );
    }
    let key = match st.api.iam().resolve_access_key(key_id) {
        Ok(k) => k,
        Err(e) => {
            let e = WireError::from(e);
            return sign_in_page(req, e.status, e.message.as_deref());
        }
    };
    let Some(key) = key.filter(|k| k.status == KeyStatus::Active) else {
        tracing::info!(
            access_key_id = key_id,
            "console sign-in refused: unknown key"
        );
        st.throttle.failed(req.peer, Instant::now());
        return sign_in_page(req, StatusCode::UNAUTHORIZED, Some(invalid));
    };
    if !session::secret_matches(&secret, &key.secret) {
        tracing::info!(
            access_key_id = key_id,
            "console sign-in refused: wrong secret"
        );
        st.throttle.failed(req.peer, Instant::now());
        return sign_in_page(req, StatusCode::UNAUTHORIZED, Some(invalid));
    }
    if matches!(key.owner, KeyOwner::Session(_)) {
        return sign_in_page(
            req,
            StatusCode::UNAUTHORIZED,
            Some(
                "temporary credentials (ASIA…) cannot sign in to the console: use an IAM user's access key or the account's root key",
            ),
        );
    }
    // A new session for every sign-in; one the browser already had ends here.
    if let Some(old) = req.cookie(session::SESSION_COOKIE) {
        st.sessions.remove(old);
    }
    let id = match st.sessions.create(key_id, region, Instant::now()) {
        Ok(id) => id,
        Err(e) => return sign_in_page(req, StatusCode::SERVICE_UNAVAILABLE, Some(&e.to_string())),
    };
    tracing::info!(principal = %key.principal.arn(), access_key_id = key_id, "console sign-in");
    redirect(
        "/console",
        &[
            session::session_cookie(&id),
            session::expired_cookie(session::SIGNIN_COOKIE),
        ],
    )
}

// ---- responses ------------------------------------------------------------------------------

pub(crate) fn html_response(status: StatusCode, body: String, cookies: &[String]) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    let body = html::page(
        status.canonical_reason().unwrap_or("Error"),
        "",
        None,
        &format!(
            "{}<p><a href=\"/console\">Back to the console</a></p>",
            html::error_box("", message)
        ),
    );
    html_response(status, body, &[])
}

pub(crate) fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut resp = html_response(StatusCode::SEE_OTHER, String::new(), cookies);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_can_never_read_a_secret_value() {
        for (service, op) in OPERATIONS {
            assert!(
                !(op.contains("SecretValue") || *service == Service::Kms),
                "{op} must not be reachable from the console"
            );
        }
        assert!(OPERATIONS.contains(&(Service::SecretsManager, "ListSecrets")));
    }
}
