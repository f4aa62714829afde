//! The HTTP/1.1 listener: serves a router on a TCP listener within bounds that no client can
//! stretch.
//!
//! - **Headers in time.** A request's line and headers must arrive within
//!   [`Limits::header_timeout`] of its first byte (of the connection's opening, for a new
//!   connection); a connection that sends headers slowly (slowloris) or not at all is closed.
//! - **Idle keep-alive connections** are closed after [`Limits::idle_timeout`] without a request.
//!   A request in progress (an agent's 20 s long poll, a response being written) is never idle.
//! - **Bodies in time.** A request's body must arrive within [`Limits::body_timeout`] of its
//!   headers; a client that sends its body slowly is disconnected.
//! - **Header size.** The request line and headers together are at most
//!   [`Limits::max_header_bytes`] and each line at most [`Limits::max_header_line_bytes`];
//!   beyond, the answer is `431 Request Header Fields Too Large` (`414 URI Too Long` for the
//!   request line).
//! - **Connection cap.** At most [`Limits::max_connections`] connections are open. At the cap, a
//!   new connection closes the connection that has been idle longest (a connection without a
//!   request in progress, half-sent headers included), as a server short of file descriptors
//!   does; when every connection has a request in progress, the new one is answered
//!   `503 Service Unavailable` and closed. Either is logged, at most once per
//!   [`LIMIT_REPORT_INTERVAL`].
//!
//! - **TLS** (with [`serve_tls`]): the handshake is part of the connection's opening and must
//!   end within [`Limits::header_timeout`]; the configuration's certificate resolver picks the
//!   certificate at each handshake, so a reloaded certificate serves the next connection and
//!   open connections keep theirs. At the cap a TLS connection is closed without a 503.
//!
//! hyper's own `header_read_timeout` is not used: on a keep-alive connection it starts when
//! the previous response is written, so it would also be the idle timeout, and the two differ
//! here (a client's pooled connection may wait much longer than its headers may take).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tower::ServiceExt;

/// How often at most the listener logs that its connection cap was reached.
pub const LIMIT_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// File descriptors kept back from the connection cap for the database, the Docker Engine's
/// sockets, container logs and the agent's own connections.
pub const RESERVED_FDS: u64 = 512;

/// The listener's bounds. The defaults are far above what real clients need.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// How long a request's line and headers may take to arrive, from its first byte (from the
    /// connection's opening for a new connection).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a request's body may take to arrive, from its headers.
    pub body_timeout: Duration,
    /// The request line and all headers together, in bytes.
    pub max_header_bytes: usize,
    /// One header line (`name: value`) or the request target, in bytes.
    pub max_header_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            max_header_line_bytes: 8 * 1024,
        }
    }
}

/// Raises the process's soft limit on open files to its hard limit; returns the soft limit now
/// in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The connection cap that `fd_limit` open files leave room for, [`RESERVED_FDS`] kept back
/// (at least 64).
pub fn connections_within(requested: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_FDS).max(64);
    requested.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting, closes the connections without a request in progress, lets the others finish
/// their request, and returns when every connection is closed. Handlers see the peer's
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_tls(listener, router, limits, None, shutdown).await
}

/// [`serve`], on TLS with `tls` when given (plain HTTP otherwise).
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let server = Arc::new(Server {
        epoch: Instant::now(),
        limits,
        connections: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    let slots = Arc::new(Semaphore::new(
        server
            .limits
            .max_connections
            .clamp(1, Semaphore::MAX_PERMITS),
    ));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut report = LimitReport::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before it was accepted):
                    // wait a moment rather than spin.
                    report.accept_error(&e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let permit = server.make_room(&slots).await;
                report.hit(permit.is_some(), server.limits.max_connections);
                permit
            }
        };
        let Some(permit) = permit else {
            // A TLS client could not read a plain 503: it is closed.
            if acceptor.is_none() {
                refuse(stream, &refusals);
            }
            continue;
        };
        let conn = server.register();
        let server = server.clone();
        let router = router.clone();
        let stop = stop_rx.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let id = conn.id;
            connection(&server, conn, stream, acceptor, peer, router, stop).await;
            server.unregister(id);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every connection task holds a receiver: this resolves when the last one has ended.
    stop_tx.closed().await;
    Ok(())
}

/// Refusals answered at once; beyond, a refused connection is closed without an answer.
const REFUSALS_AT_ONCE: usize = 256;

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 34\r\nretry-after: 1\r\nconnection: close\r\n\r\nthe server is at its connection cap";

/// Answers 503 and closes, reading what the client sent meanwhile (for at most a second) so
/// that the close does not reset the connection before the client reads the answer.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
    });
}

struct Server {
    epoch: Instant,
    limits: Limits,
    connections: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

impl Server {
    /// Milliseconds since the server started, from 1 (0 stands for "never").
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn register(&self) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.now()),
            request_began: AtomicU64::new(0),
            body_began: AtomicU64::new(0),
            evict: Notify::new(),
        });
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, conn.clone());
        conn
    }

    fn unregister(&self, id: u64) {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// At the cap: closes the longest-idle connections (a few tries, in case one starts a
    /// request meanwhile) and waits for a slot; `None` when every connection is busy.
    async fn make_room(&self, slots: &Arc<Semaphore>) -> Option<tokio::sync::OwnedSemaphorePermit> {
        for _ in 0..3 {
            let victim = {
                let connections = self
                    .connections
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                connections
                    .values()
                    .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
                    .min_by_key(|c| c.idle_since.load(Ordering::Acquire))
                    .cloned()
            };
            let victim = victim?;
            victim.evict.notify_one();
            if let Ok(Ok(permit)) =
                tokio::time::timeout(Duration::from_millis(200), slots.clone().acquire_owned())
                    .await
            {
                return Some(permit);
            }
        }
        None
    }
}

/// One connection's state, shared by its task, its socket and its requests.
struct Conn {
    id: u64,
    /// Requests in progress: from their headers' arrival until their response is written.
    in_flight: AtomicU32,
    /// Whether a request has been read on this connection.
    served: AtomicBool,
    /// When the connection last became idle: its opening or its last response's end.
    idle_since: AtomicU64,
    /// When the first byte of a request not yet read whole arrived (0: none).
    request_began: AtomicU64,
    /// When the headers of a request whose body has not arrived whole were read (0: none).
    body_began: AtomicU64,
    /// Asks the connection to close (the cap needs its slot).
    evict: Notify,
}

impl Conn {
    /// When the connection is due to close, if nothing happens until then; `None` while a
    /// request whose body has arrived is in progress.
    fn deadline(&self, limits: &Limits) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            let body = self.body_began.load(Ordering::Acquire);
            return (body != 0).then(|| body.saturating_add(millis(limits.body_timeout)));
        }
        let began = self.request_began.load(Ordering::Acquire);
        if began != 0 {
            return Some(began.saturating_add(millis(limits.header_timeout)));
        }
        let idle_since = self.idle_since.load(Ordering::Acquire);
        let timeout = if self.served.load(Ordering::Acquire) {
            limits.idle_timeout
        } else {
            limits.header_timeout
        };
        Some(idle_since.saturating_add(millis(timeout)))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Marks a request in progress on its connection for as long as it lives (the handler, then the
/// response body until hyper has written it).
struct InFlight {
    conn: Arc<Conn>,
    server: Arc<Server>,
}

impl InFlight {
    fn begin(conn: Arc<Conn>, server: Arc<Server>, body_to_come: bool) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.served.store(true, Ordering::Release);
        conn.request_began.store(0, Ordering::Release);
        let body_began = if body_to_come { server.now() } else { 0 };
        conn.body_began.store(body_began, Ordering::Release);
        InFlight { conn, server }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.body_began.store(0, Ordering::Release);
        self.conn
            .idle_since
            .store(self.server.now(), Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request's body, noting on its connection when it has arrived whole.
struct Arriving {
    body: Incoming,
    conn: Arc<Conn>,
}

impl hyper::body::Body for Arriving {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || this.body.is_end_stream() {
            this.conn.body_began.store(0, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's byte stream: TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The socket, noting when a request's first byte arrives on an idle connection.
struct Watched {
    stream: Stream,
    conn: Arc<Conn>,
    server: Arc<Server>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let conn = &this.conn;
            if conn.in_flight.load(Ordering::Acquire) == 0
                && conn.request_began.load(Ordering::Acquire) == 0
            {
                conn.request_began
                    .store(this.server.now(), Ordering::Release);
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Why a connection ended early.
#[derive(Debug, Clone, Copy)]
enum Closed {
    HeaderTimeout,
    IdleTimeout,
    BodyTimeout,
    Evicted,
    Shutdown,
}

/// Serves one connection until the client closes it, it times out, the cap needs its slot, or
/// the server stops.
async fn connection(
    server: &Arc<Server>,
    conn: Arc<Conn>,
    stream: TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let limits = &server.limits;
    // A connection holds no buffers until its client sends something.
    let first = tokio::select! {
        r = stream.readable() => r.map_err(|_| None),
        () = tokio::time::sleep(limits.header_timeout) => Err(Some(Closed::HeaderTimeout)),
        () = conn.evict.notified() => Err(Some(Closed::Evicted)),
        _ = stop.wait_for(|s| *s) => Err(Some(Closed::Shutdown)),
    };
    if let Err(why) = first {
        if let Some(why) = why {
            tracing::debug!(%peer, reason = ?why, "connection closed");
        }
        return;
    }
    // The TLS handshake belongs to the connection's opening: within the header timeout.
    let stream = match acceptor {
        None => Stream::Plain(stream),
        Some(acceptor) => {
            let shaken = tokio::select! {
                r = acceptor.accept(stream) => r.map_err(|e| {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    None
                }),
                () = tokio::time::sleep(limits.header_timeout) => Err(Some(Closed::HeaderTimeout)),
                () = conn.evict.notified() => Err(Some(Closed::Evicted)),
                _ = stop.wait_for(|s| *s) => Err(Some(Closed::Shutdown)),
            };
            match shaken {
                Ok(tls) => Stream::Tls(Box::new(tls)),
                Err(why) => {
                    if let Some(why) = why {
                        tracing::debug!(%peer, reason = ?why, "connection closed");
                    }
                    return;
                }
            }
        }
    };

    let max_line = limits.max_header_line_bytes;
    let service = {
        let conn = conn.clone();
        let server = server.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let body_to_come = !hyper::body::Body::is_end_stream(request.body());
            let in_flight = InFlight::begin(conn.clone(), server.clone(), body_to_come);
            let body_conn = conn.clone();
            let router = router.clone();
            async move {
                let response = match oversized(&request, max_line) {
                    Some(status) => {
                        tracing::debug!(%peer, %status, "request refused: a header line is too long");
                        let mut response = Response::new(Body::empty());
                        *response.status_mut() = status;
                        response
                    }
                    None => {
                        let mut request = request.map(|body| {
                            Body::new(Arriving {
                                body,
                                conn: body_conn,
                            })
                        });
                        request.extensions_mut().insert(ConnectInfo(peer));
                        match router.oneshot(request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    }
                };
                Ok::<_, Infallible>(response.map(move |body| {
                    Body::new(body.map_frame(move |frame| {
                        let _held = &in_flight;
                        frame
                    }))
                }))
            }
        })
    };
    let io = TokioIo::new(Watched {
        stream,
        conn: conn.clone(),
        server: server.clone(),
    });
    let served = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .max_header_size(limits.max_header_bytes)
        .serve_connection(io, service);
    tokio::pin!(served);
    let mut stopping = false;
    let why = loop {
        let wait = match conn.deadline(limits) {
            Some(due) => {
                let now = server.now();
                if due <= now {
                    break if conn.in_flight.load(Ordering::Acquire) > 0 {
                        Closed::BodyTimeout
                    } else if conn.served.load(Ordering::Acquire)
                        && conn.request_began.load(Ordering::Acquire) == 0
                    {
                        Closed::IdleTimeout
                    } else {
                        Closed::HeaderTimeout
                    };
                }
                Duration::from_millis(due - now)
            }
            // A request in progress: look again later (it may end at any time).
            None => limits
                .header_timeout
                .min(limits.idle_timeout)
                .min(limits.body_timeout),
        };
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            () = tokio::time::sleep(wait) => {}
            () = conn.evict.notified() => {
                if conn.in_flight.load(Ordering::Acquire) == 0 {
                    break Closed::Evicted;
                }
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                if conn.in_flight.load(Ordering::Acquire) == 0 {
                    break Closed::Shutdown;
                }
                served.as_mut().graceful_shutdown();
            }
        }
    };
    tracing::debug!(%peer, reason = ?why, "connection closed");
}

/// The status for a request whose target or one of whose header lines is longer than
/// `max_line` bytes.
fn oversized<B>(request: &Request<B>, max_line: usize) -> Option<StatusCode> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > max_line {
        return Some(StatusCode::URI_TOO_LONG);
    }
    request
        .headers()
        .iter()
        .any(|(name, value)| name.as_str().len() + 2 + value.len() > max_line)
        .then_some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
}

/// Logs the cap's hits and accept failures, at most once per [`LIMIT_REPORT_INTERVAL`] each.
#[derive(Default)]
struct LimitReport {
    last: Option<Instant>,
    evicted: u64,
    refused: u64,
    last_accept_error: Option<Instant>,
    accept_errors: u64,
}

impl LimitReport {
    fn hit(&mut self, made_room: bool, max_connections: usize) {
        if made_room {
            self.evicted += 1;
        } else {
            self.refused += 1;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < LIMIT_REPORT_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            max_connections,
            closed_idle = self.evicted,
            refused = self.refused,
            "connection limit reached: new connections close the longest-idle ones, or are refused with 503 while every connection has a request in progress (--max-connections)"
        );
        self.last = Some(Instant::now());
        self.evicted = 0;
        self.refused = 0;
    }

    fn accept_error(&mut self, e: &io::Error) {
        self.accept_errors += 1;
        if self
            .last_accept_error
            .is_some_and(|t| t.elapsed() < LIMIT_REPORT_INTERVAL)
        {
            return;
        }
        tracing::warn!(error = %e, failures = self.accept_errors, "accepting a connection failed");
        self.last_accept_error = Some(Instant::now());
        self.accept_errors = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        Conn {
            id: 1,
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(1_000),
            request_began: AtomicU64::new(0),
            body_began: AtomicU64::new(0),
            evict: Notify::new(),
        }
    }

    #[test]
    fn each_state_has_its_timeout() {
        let limits = Limits::default();
        let c = conn();
        assert_eq!(c.deadline(&limits), Some(11_000));
        c.served.store(true, Ordering::Release);
        assert_eq!(c.deadline(&limits), Some(61_000));
        c.request_began.store(70_000, Ordering::Release);
        assert_eq!(c.deadline(&limits), Some(80_000));
        c.in_flight.store(1, Ordering::Release);
        assert_eq!(c.deadline(&limits), None);
        c.body_began.store(90_000, Ordering::Release);
        assert_eq!(c.deadline(&limits), Some(120_000));
    }

    #[test]
    fn the_cap_leaves_room_for_other_files() {
        assert_eq!(connections_within(10_000, 1_048_576), 10_000);
        assert_eq!(connections_within(10_000, 4_096), 3_584);
        assert_eq!(connections_within(10_000, 256), 64);
    }

    #[test]
    fn long_lines_are_refused() {
        let ok = Request::builder()
            .uri("/")
            .header("authorization", "a".repeat(100))
            .body(())
            .unwrap_or_default();
        assert_eq!(oversized(&ok, 8192), None);
        let long = Request::builder()
            .uri("/")
            .header("authorization", "a".repeat(8191))
            .body(())
            .unwrap_or_default();
        assert_eq!(
            oversized(&long, 8192),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let target = Request::builder()
            .uri(format!("/?{}", "a".repeat(9000)))
            .body(())
            .unwrap_or_default();
        assert_eq!(oversized(&target, 8192), Some(StatusCode::URI_TOO_LONG));
    }
}
