//! berth-console: the web console at `/console`, server-rendered pages over the application.
//!
//! - **Sign-in** takes an access key id and its secret access key (an IAM user's key or the
//!   account's root key; temporary `ASIA…` keys are refused), checked against the stored key in
//!   constant time, and creates a server-side session ([`session`]). Every request looks the
//!   key up again ([`extract::Signed`]), so a deleted or deactivated key ends its sessions.
//!   Or with an IAM user's console password, as AWS's sign-in page asks (account id or alias,
//!   user name, password; `password.rs`): that session looks the user up on every request and
//!   ends with its login profile.
//! - **Authorisation is the application's**: every page calls the use cases through [`ops`] as
//!   the signed-in principal, so the same checks decide and the same errors come back; only
//!   the operations in [`ops::OPERATIONS`] can be called, and none of them returns a secret
//!   value. The doctor page runs `berth_doctor::diagnose_registered`, which needs
//!   `ecs:DescribeTaskDefinition` on the task definition and `iam:SimulatePrincipalPolicy` on
//!   its execution role.
//! - **CSRF**: every state-changing POST carries the session's synchronizer token and, when the
//!   browser sends an `Origin`, it must be this server's ([`extract::Posted`]); the sign-in
//!   form uses a pre-session double-submit token. Every answer carries a strict
//!   Content-Security-Policy, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`,
//!   `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` (a layer on the router).
//! - **Pages** are maud templates ([`views`]): every value is escaped where it is spliced in.

pub mod error;
pub mod extract;
pub mod ops;
mod pages;
mod password;
pub mod session;
pub mod views;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use berth_control::Control;
use maud::{Markup, html};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

use extract::{ConsoleForm, ConsoleQuery, NoFields, Peer, Posted, Signed};
use pages::{
    ClusterForm, Pages, RegisterForm, RunForm, ServiceQuery, ServicesQuery, SignInForm, StopForm,
    TaskDefinitionQuery, TaskLogsQuery, TasksQuery, TasksView,
};
use session::{Sessions, SignInThrottle};

/// Request bodies larger than this are refused (413) before they are read whole; the largest
/// form, a pasted task definition, is at most 64 KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'";

/// AWS's words for a failure berth does not explain to the caller (the detail is logged).
const INTERNAL_FAILURE: &str =
    "The request processing has failed because of an unknown error, exception or failure.";

/// The console's state: the application, the sessions and the sign-in throttle.
pub struct ConsoleState {
    pub control: Arc<Control>,
    pub sessions: Sessions,
    pub throttle: SignInThrottle,
    /// Whether cookies carry `Secure` (berth serves TLS).
    pub secure_cookies: bool,
}

/// How the console is served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// berth serves TLS (`--tls-cert`): the console's cookies carry `Secure`, so a browser
    /// never sends them over plain HTTP.
    pub secure_cookies: bool,
}

type St = Arc<ConsoleState>;

/// The console's routes: `/console` and everything under it (a path with one trailing slash
/// is the same page).
pub fn router(control: Arc<Control>) -> Router {
    router_with(control, Options::default())
}

/// [`router`], served as `options` says.
pub fn router_with(control: Arc<Control>, options: Options) -> Router {
    let state = Arc::new(ConsoleState {
        sessions: Sessions::new(control.clone()),
        control,
        throttle: SignInThrottle::default(),
        secure_cookies: options.secure_cookies,
    });
    let pages: [(&str, MethodRouter<St>); 15] = [
        ("/console", get(overview)),
        ("/console/signin", get(sign_in_page).post(sign_in)),
        ("/console/signin/password", post(password_sign_in)),
        ("/console/signout", post(sign_out)),
        ("/console/clusters", get(clusters).post(create_cluster)),
        (
            "/console/task-definitions",
            get(task_definitions).post(register_task_definition),
        ),
        ("/console/task-definition", get(task_definition)),
        ("/console/tasks", get(tasks)),
        ("/console/tasks/run", post(run_task)),
        ("/console/tasks/stop", post(stop_task)),
        ("/console/task-logs", get(task_logs)),
        ("/console/services", get(services)),
        ("/console/service", get(service)),
        ("/console/secrets", get(secrets)),
        ("/console/doctor", get(doctor)),
    ];
    let mut router = Router::new();
    for (path, method_router) in pages {
        let method_router = method_router.fallback(other);
        router = router
            .route(path, method_router.clone())
            .route(&format!("{path}/"), method_router);
    }
    router
        .route("/console/{*rest}", any(other))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(trace))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
}

async fn trace(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        status = resp.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "console request"
    );
    resp
}

/// Runs a page off the async threads (the store is synchronous).
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "internal error");
        plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_FAILURE)
    })
}

// ---- pages ----------------------------------------------------------------------------------

async fn overview(State(st): State<St>, who: Signed) -> Response {
    blocking(move || Pages::new(&st, &who).overview()).await
}

async fn clusters(State(st): State<St>, who: Signed) -> Response {
    blocking(move || Pages::new(&st, &who).clusters(None, "")).await
}

async fn create_cluster(
    State(st): State<St>,
    Posted { who, form }: Posted<ClusterForm>,
) -> Response {
    blocking(move || Pages::new(&st, &who).create_cluster(&form)).await
}

async fn task_definitions(State(st): State<St>, who: Signed) -> Response {
    blocking(move || Pages::new(&st, &who).task_definitions(None, "")).await
}

async fn register_task_definition(
    State(st): State<St>,
    Posted { who, form }: Posted<RegisterForm>,
) -> Response {
    blocking(move || Pages::new(&st, &who).register_task_definition(&form)).await
}

async fn task_definition(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<TaskDefinitionQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).task_definition(q.task_definition())).await
}

async fn tasks(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<TasksQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).tasks(&TasksView::from(q), None)).await
}

async fn task_logs(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<TaskLogsQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).task_logs(&q)).await
}

async fn services(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<ServicesQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).services(&q)).await
}

async fn service(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<ServiceQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).service(&q)).await
}

async fn run_task(State(st): State<St>, Posted { who, form }: Posted<RunForm>) -> Response {
    blocking(move || Pages::new(&st, &who).run_task(&form)).await
}

async fn stop_task(State(st): State<St>, Posted { who, form }: Posted<StopForm>) -> Response {
    blocking(move || Pages::new(&st, &who).stop_task(&form)).await
}

async fn secrets(State(st): State<St>, who: Signed) -> Response {
    blocking(move || Pages::new(&st, &who).secrets()).await
}

async fn doctor(
    State(st): State<St>,
    who: Signed,
    ConsoleQuery(q): ConsoleQuery<TaskDefinitionQuery>,
) -> Response {
    blocking(move || Pages::new(&st, &who).doctor(q.task_definition().unwrap_or(""))).await
}

async fn sign_out(State(st): State<St>, Posted { who, .. }: Posted<NoFields>) -> Response {
    st.sessions.remove(&who.id);
    tracing::info!(principal = %who.caller.principal.arn(), "console sign-out");
    redirect(
        "/console/signin",
        &[session::expired_cookie(
            session::SESSION_COOKIE,
            st.secure_cookies,
        )],
    )
}

/// Any other path under `/console`, or a method a page does not take: 405 for methods other
/// than GET and POST; otherwise, once signed in (and, for a POST, past the origin and CSRF
/// checks), the not-found page.
async fn other(State(st): State<St>, req: Request) -> Response {
    use axum::extract::{FromRequest, FromRequestParts};
    let method = req.method().clone();
    if method != Method::GET && method != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let who = if method == Method::POST {
        match Posted::<NoFields>::from_request(req, &st).await {
            Ok(p) => p.who,
            Err(refused) => return refused,
        }
    } else {
        let (mut parts, _) = req.into_parts();
        match Signed::from_request_parts(&mut parts, &st).await {
            Ok(who) => who,
            Err(refused) => return refused,
        }
    };
    blocking(move || Pages::new(&st, &who).not_found()).await
}

// ---- sign-in --------------------------------------------------------------------------------

async fn sign_in_page(
    State(st): State<St>,
    Peer(peer): Peer,
    headers: axum::http::HeaderMap,
) -> Response {
    blocking(move || {
        if extract::signed_in(&st, &headers, peer).is_some() {
            return redirect("/console", &[]);
        }
        pages::sign_in_page(&st, &headers, StatusCode::OK, None, &SignInForm::default())
    })
    .await
}

async fn sign_in(
    State(st): State<St>,
    Peer(peer): Peer,
    headers: axum::http::HeaderMap,
    ConsoleForm(form): ConsoleForm<SignInForm>,
) -> Response {
    blocking(move || pages::sign_in(&st, &headers, peer, &form)).await
}

async fn password_sign_in(
    State(st): State<St>,
    Peer(peer): Peer,
    headers: axum::http::HeaderMap,
    ConsoleForm(form): ConsoleForm<password::PasswordSignInForm>,
) -> Response {
    blocking(move || password::sign_in(&st, &headers, peer, &form)).await
}

// ---- responses ------------------------------------------------------------------------------

/// An HTML answer, with `cookies` as `Set-Cookie` headers.
pub(crate) fn html_response(status: StatusCode, body: Markup, cookies: &[String]) -> Response {
    let mut resp = (status, body.into_string()).into_response();
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

/// A page with only a message (a refusal before any page could be built).
pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    let body = views::page(
        status.canonical_reason().unwrap_or("Error"),
        "",
        None,
        html! {
            (views::error_box("", message))
            p { a href="/console" { "Back to the console" } }
        },
    );
    html_response(status, body, &[])
}

/// 303 See Other to `location`.
pub(crate) fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut resp = html_response(StatusCode::SEE_OTHER, html! {}, cookies);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}
