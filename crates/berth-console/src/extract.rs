//! The console's extractors: the peer's address, the signed-in session, and forms and queries
//! whose refusals are console pages; [`Posted`] adds the origin and CSRF checks every
//! state-changing form passes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use berth_control::Caller;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::session::{self, Session};
use crate::{ConsoleState, MAX_BODY_BYTES, plain, redirect};

/// The client's address, when the server knows it (for `aws:SourceIp` and the sign-in
/// throttle).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, name))
}

/// Whether the request comes from this server's own pages ([`session::origin_allowed`]).
pub fn same_origin(headers: &HeaderMap) -> bool {
    // A header present but not readable as visible ASCII is foreign, never absent.
    let mut unreadable = false;
    let mut h = |name: &str| {
        let v = headers.get(name)?;
        let text = v.to_str().ok();
        unreadable |= text.is_none();
        text
    };
    let (origin, host, site) = (h("origin"), h("host"), h("sec-fetch-site"));
    !unreadable && session::origin_allowed(origin, host, site)
}

/// A signed-in request: the session, and the caller its key belongs to now. Without a live
/// session a GET is sent to the sign-in page and anything else is refused (403).
pub struct Signed {
    /// The session id (from the cookie).
    pub id: String,
    pub session: Session,
    pub caller: Caller,
}

impl Signed {
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    pub fn region(&self) -> &str {
        &self.session.region
    }

    pub fn account(&self) -> &str {
        self.caller.principal.account()
    }

    pub fn principal_arn(&self) -> String {
        self.caller.principal.arn()
    }
}

/// The session of the request's cookie, with its key still active. A deleted or deactivated
/// key ends the session here.
pub fn signed_in(st: &ConsoleState, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<Signed> {
    let id = cookie(headers, session::SESSION_COOKIE)?;
    let s = st.sessions.get(id)?;
    let found = match &s.login {
        Some(login) => st.control.password_session_principal(login),
        None => st.control.active_key_principal(&s.access_key_id),
    };
    let principal = match found {
        Ok(Some(p)) => p,
        Ok(None) => {
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
        caller: Caller {
            principal,
            access_key_id: s.access_key_id.clone(),
            region: s.region.clone(),
            session: None,
            source_ip: peer,
            mfa_authenticated_at: None,
        },
        session: s,
    })
}

impl FromRequestParts<Arc<ConsoleState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<ConsoleState>,
    ) -> Result<Signed, Response> {
        let Ok(Peer(peer)) = Peer::from_request_parts(parts, st).await;
        let (st, headers) = (st.clone(), parts.headers.clone());
        let found = tokio::task::spawn_blocking(move || signed_in(&st, &headers, peer))
            .await
            .ok()
            .flatten();
        match found {
            Some(who) => Ok(who),
            None if parts.method == Method::GET => Err(redirect("/console/signin", &[])),
            None => Err(plain(StatusCode::FORBIDDEN, "not signed in: sign in again")),
        }
    }
}

/// A urlencoded form (at most [`MAX_BODY_BYTES`]); a body too large or not a form is refused
/// with a console page.
pub struct ConsoleForm<F>(pub F);

impl<F, S> FromRequest<S> for ConsoleForm<F>
where
    F: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, st: &S) -> Result<ConsoleForm<F>, Response> {
        match Form::<F>::from_request(req, st).await {
            Ok(Form(f)) => Ok(ConsoleForm(f)),
            Err(e) => Err(form_refused(e)),
        }
    }
}

fn form_refused(e: FormRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
        )
    } else {
        plain(e.status(), &e.body_text())
    }
}

/// A query string; one that does not parse is refused with a console page.
pub struct ConsoleQuery<Q>(pub Q);

impl<Q, S> FromRequestParts<S> for ConsoleQuery<Q>
where
    Q: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<ConsoleQuery<Q>, Response> {
        match Query::<Q>::from_request_parts(parts, st).await {
            Ok(Query(q)) => Ok(ConsoleQuery(q)),
            Err(e) => Err(query_refused(e)),
        }
    }
}

fn query_refused(e: QueryRejection) -> Response {
    plain(e.status(), &e.body_text())
}

/// A state-changing form from a signed-in user: refused (403) without a live session, from
/// another origin ([`same_origin`]), or without the session's CSRF token in field `csrf`.
pub struct Posted<F> {
    pub who: Signed,
    pub form: F,
}

/// A form with the CSRF token beside its own fields.
#[derive(Deserialize)]
struct WithCsrf<F> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: F,
}

/// A form with no fields of its own (sign-out).
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

impl<F> FromRequest<Arc<ConsoleState>> for Posted<F>
where
    F: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, st: &Arc<ConsoleState>) -> Result<Posted<F>, Response> {
        let (mut parts, body) = req.into_parts();
        let who = Signed::from_request_parts(&mut parts, st).await?;
        if !same_origin(&parts.headers) {
            tracing::info!(principal = %who.principal_arn(), "console: cross-origin post refused");
            return Err(plain(StatusCode::FORBIDDEN, "cross-origin request refused"));
        }
        let req = Request::from_parts(parts, body);
        let ConsoleForm(WithCsrf { csrf, form }) =
            ConsoleForm::<WithCsrf<F>>::from_request(req, st).await?;
        if !session::tokens_match(&csrf, who.csrf()) {
            tracing::info!(principal = %who.principal_arn(), "console: post without a valid csrf token refused");
            return Err(plain(
                StatusCode::FORBIDDEN,
                "the form's csrf token is missing or wrong: reload the page and try again",
            )
            .into_response());
        }
        Ok(Posted { who, form })
    }
}

#[cfg(test)]
mod origin_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: HeaderValue) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
        h.insert("origin", origin);
        h
    }

    #[test]
    fn an_origin_that_is_not_visible_ascii_is_foreign() {
        assert!(same_origin(&headers(HeaderValue::from_static(
            "http://127.0.0.1:4599"
        ))));
        let odd = HeaderValue::from_bytes(b"http://127.0.0.1:4599\xff").unwrap();
        assert!(!same_origin(&headers(odd)));
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4599"));
        h.insert(
            "sec-fetch-site",
            HeaderValue::from_bytes(b"same-origin\xe9").unwrap(),
        );
        assert!(!same_origin(&h));
    }
}
