//! The HTTP listener's one handler: read, authenticate, route, answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use berth_control::{Caller, Control};

use crate::auth::{self, AuthError};
use crate::error::WireError;
use crate::protocol::{Protocol, Service};
use crate::services::{self, Ctx};

/// Request bodies larger than this are refused before they are read whole. The largest body
/// any supported operation needs is well under it (a task definition is at most 64 KiB, a
/// secret value 64 KiB, a KMS plaintext 4 KiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// CloudWatch Logs' bodies may be larger: a full PutLogEvents batch holds 1,048,576 bytes of
/// messages, plus their JSON (quotes, escapes, timestamps).
pub const MAX_LOGS_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The body limit of a request with this `X-Amz-Target`.
fn body_limit(target: Option<&str>) -> usize {
    match target.and_then(|t| t.split_once('.')) {
        Some((prefix, _)) if Service::from_target_prefix(prefix) == Some(Service::Logs) => {
            MAX_LOGS_BODY_BYTES
        }
        _ => MAX_BODY_BYTES,
    }
}

/// The API's HTTP surface: `GET /_berth/health` and every AWS API call (any path not routed
/// elsewhere), answering to the control's regions (a credential scoped to any other region is
/// refused).
pub fn router(state: Arc<Control>) -> Router {
    Router::new()
        .route("/_berth/health", get(health))
        .fallback(handle)
        .with_state(state)
}

async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ready"}"#,
    )
        .into_response()
}

/// The protocol a request seems to speak, for errors raised before its credential scope is
/// known: `X-Amz-Target` means JSON, anything else Query.
fn guess_protocol(headers: &HeaderMap) -> Protocol {
    match header_str(headers, "x-amz-target") {
        Some(target) => target
            .split_once('.')
            .and_then(|(prefix, _)| Service::from_target_prefix(prefix))
            .map(Service::protocol)
            .unwrap_or(Protocol::Json {
                target_prefix: "",
                message_field: "message",
            }),
        None => Protocol::Query {
            version: "",
            xmlns: "",
        },
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(state): State<Arc<Control>>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = berth_core::ids::request_id();
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let guess = guess_protocol(&parts.headers);
    let limit = body_limit(header_str(&parts.headers, "x-amz-target"));
    let bytes = match read_limited(body, header_str(&parts.headers, "content-length"), limit).await
    {
        Ok(b) => b,
        Err(()) => {
            return WireError::body_too_large(limit).render(Some(guess), &request_id);
        }
    };
    let target = header_str(&parts.headers, "x-amz-target");
    let is_ecs = target
        .and_then(|t| t.split_once('.'))
        .and_then(|(prefix, _)| Service::from_target_prefix(prefix))
        == Some(Service::Ecs);
    let (resp, ticket) = if is_long_poll(target) {
        long_poll(&state, &parts, &bytes, &request_id, peer).await
    } else if target.is_some() {
        // Answered on the async worker: a few store reads (reader connections, which never
        // wait for the writer), perhaps a write (which joins the open group commit and does not
        // wait for its fsync here) and CPU. That saves the two thread hand-offs of the blocking
        // pool, which cost more than the call itself. All reads before a write share one read
        // transaction: one snapshot, taken afresh for this request.
        process_scoped(&state, true, &parts, &bytes, &request_id, peer, None)
    } else {
        // Query-protocol calls (IAM, STS) are kept off the async workers: these run on the
        // blocking pool, which nothing waiting holds (a long poll waits as a future).
        let rid = request_id.clone();
        let st = state.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            process_scoped(&st, false, &parts, &bytes, &rid, peer, None)
        })
        .await;
        match outcome {
            Ok(answered) => answered,
            Err(e) => (
                WireError::internal(&e).render(Some(guess), &request_id),
                berth_store::Ticket::default(),
            ),
        }
    };
    // Nothing is answered before what it wrote, and what it read, is on disk (the wait does
    // not hold a thread; one fsync covers every request of a group commit).
    let resp = match berth_store::settled(state.store.as_ref(), ticket).await {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!(error = %e, request_id, "a write of this request was not stored");
            WireError::internal(&e).render(Some(guess), &request_id)
        }
    };
    if is_ecs && ticket.wrote() {
        // The agents' polls look again now that the change is visible (the wake-up in the
        // handler may have come before the commit).
        berth_control::polls::notify_changes();
    }
    tracing::debug!(
        status = resp.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        request_id,
        "request"
    );
    resp
}

/// The agent's long poll, which waits up to 20 s for news. Every other JSON operation is
/// answered on the async worker: its reads go to reader connections, its writes take the
/// writer's lock only while their closure runs (the commit and its fsync happen on the store's
/// committer thread), and nothing in them sleeps. Query-protocol calls (IAM, STS) run on the
/// blocking pool.
const LONG_POLL: &str = "AmazonEC2ContainerServiceV20141113.BerthPollTasks";

fn is_long_poll(target: Option<&str>) -> bool {
    target == Some(LONG_POLL)
}

/// A `BerthPollTasks`: each look runs on the async worker (the request verified and
/// authorised, a few reads, no waiting); while it finds nothing new the handler awaits each
/// change, rereads only the instance's cursor, and looks again in full once it moved or the
/// deadline passed. No thread is held while it waits, so waiting polls, however many, leave
/// the async workers and the blocking pool to other calls.
/// A look reads without a shared snapshot: the generation is read before the instance's
/// cursor, and the cursor must be read afresh after it (a snapshot opened by the
/// authentication's reads could predate a change the generation already counts).
async fn long_poll(
    state: &Control,
    parts: &Parts,
    body: &Bytes,
    request_id: &str,
    peer: Option<std::net::IpAddr>,
) -> (Response, berth_store::Ticket) {
    let poll = services::ecs::LongPoll::new();
    loop {
        let answered = process_scoped(state, false, parts, body, request_id, peer, Some(&poll));
        match poll.take_wait() {
            None => return answered,
            Some(waiting) => {
                // Nothing of this look is sent: what it read need not be on disk.
                drop(answered);
                services::ecs::await_news(state, &waiting).await;
            }
        }
    }
}

/// How much of an oversized body berth reads (and throws away) before it answers, so that a
/// client still sending gets the 413 rather than a broken connection. Beyond this the
/// connection is closed.
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a body of at most `limit` bytes; a larger one is drained (up to [`DRAIN_BYTES`])
/// and refused, never held in memory.
pub(crate) async fn read_limited(
    body: axum::body::Body,
    declared: Option<&str>,
    limit: usize,
) -> Result<Bytes, ()> {
    use http_body_util::BodyExt;
    let declared = declared.and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen: u64 = 0;
    let too_large_declared = declared.is_some_and(|n| n > limit as u64);
    if too_large_declared && declared.is_some_and(|n| n > DRAIN_BYTES) {
        return Err(());
    }
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(()) };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > DRAIN_BYTES {
            return Err(());
        }
        if !too_large_declared && seen <= limit as u64 {
            buf.extend_from_slice(&data);
        }
    }
    if too_large_declared || seen > limit as u64 {
        return Err(());
    }
    Ok(Bytes::from(buf))
}

/// [`process`] inside the store's request scope (with a read snapshot or not): the answer and
/// the ticket the caller must settle before sending it.
fn process_scoped(
    state: &Control,
    snapshot: bool,
    parts: &Parts,
    body: &Bytes,
    request_id: &str,
    peer: Option<std::net::IpAddr>,
    poll: Option<&services::ecs::LongPoll>,
) -> (Response, berth_store::Ticket) {
    let mut resp = None;
    let ticket = state.store.request_scope(snapshot, &mut || {
        resp = Some(process(state, parts, body, request_id, peer, poll))
    });
    let resp = resp.unwrap_or_else(|| {
        WireError::internal(&"the request was not processed")
            .render(Some(guess_protocol(&parts.headers)), request_id)
    });
    (resp, ticket)
}

fn process(
    state: &Control,
    parts: &Parts,
    body: &Bytes,
    request_id: &str,
    peer: Option<std::net::IpAddr>,
    poll: Option<&services::ecs::LongPoll>,
) -> Response {
    let guess = guess_protocol(&parts.headers);
    // Borrowed from the request; a value that is not UTF-8 is read lossily (U+FFFD), the only
    // case that copies.
    let values: Vec<std::borrow::Cow<'_, str>> = parts
        .headers
        .iter()
        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()))
        .collect();
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .zip(&values)
        .map(|((n, _), v)| (n.as_str(), v.as_ref()))
        .collect();
    let sreq = berth_sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let target = header_str(&parts.headers, "x-amz-target");
    let target_service = target
        .and_then(|t| t.split_once('.'))
        .and_then(|(prefix, _)| Service::from_target_prefix(prefix));

    // The `Authorization` header or, without one, a presigned request's query string.
    let authz = match berth_sigv4::authorization_of(&sreq) {
        Ok(a) => a,
        Err(e) => {
            // AssumeRoleWithWebIdentity and AssumeRoleWithSAML take no signature at all.
            if target.is_none()
                && !parts.headers.contains_key(header::AUTHORIZATION)
                && let Some(resp) =
                    services::sts::federation::unsigned(state, parts, body, request_id)
            {
                return resp;
            }
            return auth_failure(&e.into(), guess, request_id);
        }
    };
    let service = match auth::scoped_service(&authz, target_service) {
        Ok(s) => s,
        Err(e) => return auth_failure(&e, guess, request_id),
    };
    let protocol = service.protocol();
    let now = state.now();
    let (caller, identity) = match auth::authenticate(state, &sreq, &authz, now) {
        Ok((c, identity)) => (
            Caller {
                source_ip: peer,
                ..c
            },
            identity,
        ),
        Err(e) => return auth_failure(&e, protocol, request_id),
    };
    let ctx = Ctx {
        control: state,
        caller: &caller,
        request_id,
        now,
        // A user's documents came with the key (same record, same snapshot); anyone else's
        // are read on first use.
        identity: identity.map(std::cell::OnceCell::from).unwrap_or_default(),
    };
    let result = match protocol {
        Protocol::Json { target_prefix, .. } => {
            json_call(&ctx, service, parts, target, target_prefix, body, poll)
        }
        Protocol::Query { version, xmlns } => {
            query_call(&ctx, service, parts, body, version, xmlns)
        }
    };
    match result {
        Ok(resp) => resp,
        Err(e) => {
            let e = e.in_protocol(protocol);
            log_outcome(&caller, service, &e);
            e.render(Some(protocol), request_id)
        }
    }
}

fn log_outcome(caller: &Caller, service: Service, e: &WireError) {
    tracing::info!(
        principal = %caller.principal.arn(),
        service = service.signing_name(),
        code = %e.code,
        status = e.status.as_u16(),
        "request refused"
    );
}

fn auth_failure(e: &AuthError, protocol: Protocol, request_id: &str) -> Response {
    tracing::info!(reason = ?e, "authentication failed");
    WireError::from_auth(e, Some(protocol)).render(Some(protocol), request_id)
}

fn json_call(
    ctx: &Ctx<'_>,
    service: Service,
    parts: &Parts,
    target: Option<&str>,
    target_prefix: &str,
    body: &[u8],
    poll: Option<&services::ecs::LongPoll>,
) -> Result<Response, WireError> {
    let operation = target
        .and_then(|t| t.split_once('.'))
        .filter(|(prefix, _)| *prefix == target_prefix)
        .map(|(_, op)| op)
        .ok_or_else(WireError::unknown_operation)?;
    if parts.method != Method::POST {
        return Err(WireError::unknown_operation());
    }
    let content_type = header_str(&parts.headers, "content-type").unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-amz-json-1.1")
        && !media.eq_ignore_ascii_case("application/x-amz-json-1.0")
    {
        // AWS does not document this case; its JSON services do not find an operation for a
        // request that is not of their content type.
        return Err(WireError::unknown_operation());
    }
    let output = match poll {
        Some(poll) if service == Service::Ecs && operation == "BerthPollTasks" => {
            services::ecs::poll_tasks(ctx, body, poll)?
        }
        _ => services::json_dispatch(ctx, service, operation, body)
            .ok_or_else(WireError::unknown_operation)??,
    };
    let mut resp = (StatusCode::OK, output).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(ctx.request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    Ok(resp)
}

fn query_call(
    ctx: &Ctx<'_>,
    service: Service,
    parts: &Parts,
    body: &[u8],
    version: &str,
    xmlns: &str,
) -> Result<Response, WireError> {
    // POST carries the parameters in a form body; AWS's Query APIs take them in the query
    // string of a GET as well, and of a POST without a body (a presigned URL made for the
    // operation's POST, as botocore makes them by default, is sent that way).
    let raw: &[u8] = if parts.method == Method::GET || body.is_empty() {
        parts.uri.query().unwrap_or("").as_bytes()
    } else {
        body
    };
    let params = services::QueryParams::parse(raw);
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .ok_or_else(WireError::missing_action)?;
    let given_version = params.get("Version").unwrap_or("NO_VERSION_SPECIFIED");
    let not_found = || {
        WireError::invalid_action(
            &berth_sigv4::bounded(action),
            &berth_sigv4::bounded(given_version),
        )
    };
    if given_version != version {
        return Err(not_found());
    }
    let result_xml =
        services::query_dispatch(ctx, service, action, &params).ok_or_else(not_found)??;
    let body = crate::xml::response(action, xmlns, &result_xml, ctx.request_id);
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(ctx.request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    Ok(resp)
}
