//! `berth-bench`: a small load generator for AWS JSON 1.1 APIs (berth, or any emulator of them).
//!
//! N tasks each hold one keep-alive HTTP/1.1 connection and send the same operation in a loop;
//! every request is signed afresh with `berth_sigv4::sign` (so its cost is in the client, as
//! with a real SDK). The body may contain `{n}`, replaced by a counter unique across the run
//! (for calls that create something each time). Requests in the warm-up are not counted.
//!
//! Prints one JSON object: requests, errors, seconds, rps and latency percentiles in ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser, Clone)]
#[command(
    name = "berth-bench",
    about = "Signed AWS JSON 1.1 calls over N connections"
)]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:4599 or https://127.0.0.1:4599.
    #[arg(long)]
    endpoint: String,
    /// For https: certificates to trust besides the machine's (PEM).
    #[arg(long)]
    ca_file: Option<std::path::PathBuf>,
    #[arg(long)]
    access_key: String,
    #[arg(long)]
    secret_key: String,
    #[arg(long)]
    session_token: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The signing name, e.g. secretsmanager.
    #[arg(long)]
    service: String,
    /// The X-Amz-Target header, e.g. secretsmanager.GetSecretValue.
    #[arg(long)]
    target: String,
    /// The JSON body; `{n}` is replaced by a run-wide counter.
    #[arg(long, default_value = "{}")]
    body: String,
    #[arg(long, default_value = "application/x-amz-json-1.1")]
    content_type: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds to measure (after the warm-up).
    #[arg(long)]
    duration: Option<f64>,
    /// Instead of a duration: send exactly this many requests (no warm-up).
    #[arg(long)]
    requests: Option<u64>,
    /// Seconds of warm-up, not counted.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Tokio worker threads for the client.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

struct Shared {
    args: Args,
    host: String,
    addr: String,
    /// TLS for an https endpoint: the connector and the name the certificate must hold.
    tls: Option<(
        tokio_rustls::TlsConnector,
        berth_tls::rustls::pki_types::ServerName<'static>,
    )>,
    counter: AtomicU64,
    stop: AtomicBool,
    measuring: AtomicBool,
}

#[derive(Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.duration.is_none() && args.requests.is_none() {
        bail!("give --duration or --requests");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (https, rest) = if let Some(rest) = args.endpoint.strip_prefix("https://") {
        (true, rest)
    } else {
        (
            false,
            args.endpoint
                .strip_prefix("http://")
                .context("endpoint must start with http:// or https://")?,
        )
    };
    let host = rest.trim_end_matches('/').to_string();
    let tls = if https {
        let config = berth_tls::client_config(args.ca_file.as_deref())?;
        Some((
            tokio_rustls::TlsConnector::from(config),
            berth_tls::server_name(&host)?,
        ))
    } else {
        None
    };
    let shared = Arc::new(Shared {
        tls,
        addr: host.clone(),
        host,
        counter: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        measuring: AtomicBool::new(args.requests.is_some()),
        args: args.clone(),
    });
    let mut handles = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let s = shared.clone();
        handles.push(tokio::spawn(async move { worker(s).await }));
    }
    let started;
    if args.requests.is_some() {
        started = Instant::now();
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
        shared.measuring.store(true, Ordering::SeqCst);
        started = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(args.duration.unwrap_or(0.0))).await;
        shared.stop.store(true, Ordering::SeqCst);
    }
    let mut all = WorkerStats::default();
    for h in handles {
        let st = h.await?;
        all.latencies_us.extend(st.latencies_us);
        all.errors += st.errors;
        if all.first_error.is_none() {
            all.first_error = st.first_error;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut lat = all.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        f64::from(lat[i.min(lat.len() - 1)]) / 1000.0
    };
    let ok = lat.len() as u64;
    // Every request started, warm-up included (the counter overshoots by one per worker in
    // --requests mode).
    let started_total = shared.counter.load(Ordering::SeqCst);
    let sent_total = args
        .requests
        .map_or(started_total, |r| started_total.min(r));
    let out = serde_json::json!({
        "target": args.target,
        "concurrency": args.concurrency,
        "requests": ok + all.errors,
        "sent_total": sent_total,
        "ok": ok,
        "errors": all.errors,
        "first_error": all.first_error,
        "seconds": seconds,
        "rps": ok as f64 / seconds.max(1e-9),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    });
    println!("{out}");
    Ok(())
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(s: &Shared) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(&s.addr).await?;
    stream.set_nodelay(true)?;
    match &s.tls {
        None => {
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(sender)
        }
        Some((connector, name)) => {
            let stream = connector.connect(name.clone(), stream).await?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(sender)
        }
    }
}

async fn worker(s: Arc<Shared>) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    loop {
        if s.stop.load(Ordering::Relaxed) {
            break;
        }
        if sender.as_ref().is_some_and(|c| c.is_closed()) {
            // The server closed the connection after its last answer (HTTP/1.0 servers such
            // as moto's do): not an error, the next request opens another.
            sender = None;
        }
        // A request's latency includes opening the connection when one is needed.
        let t0 = Instant::now();
        if sender.is_none() {
            match connect(&s).await {
                Ok(c) => sender = Some(c),
                Err(e) => {
                    note_error(&mut stats, &s, format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(conn) = sender.as_mut() else {
            continue;
        };
        let n = s.counter.fetch_add(1, Ordering::Relaxed);
        if s.args.requests.is_some_and(|total| n >= total) {
            break;
        }
        let req = match build_request(&s, n) {
            Ok(r) => r,
            Err(e) => {
                note_error(&mut stats, &s, format!("build: {e}"));
                break;
            }
        };
        let result = async {
            conn.ready().await?;
            let resp = conn.send_request(req).await?;
            let status = resp.status();
            let closes = resp.version() == hyper::Version::HTTP_10
                || resp
                    .headers()
                    .get(hyper::header::CONNECTION)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body, closes))
        }
        .await;
        let elapsed = t0.elapsed();
        if let Ok((_, _, true)) = result {
            sender = None;
        }
        match result {
            Ok((status, _, _)) if status.is_success() => {
                if s.measuring.load(Ordering::Relaxed) {
                    stats
                        .latencies_us
                        .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                }
            }
            Ok((status, body, _)) => {
                let text = String::from_utf8_lossy(&body);
                note_error(
                    &mut stats,
                    &s,
                    format!(
                        "HTTP {status}: {}",
                        text.chars().take(300).collect::<String>()
                    ),
                );
            }
            Err(e) => {
                sender = None;
                note_error(&mut stats, &s, format!("send: {e}"));
            }
        }
    }
    stats
}

fn note_error(stats: &mut WorkerStats, s: &Shared, what: String) {
    if s.measuring.load(Ordering::Relaxed) {
        stats.errors += 1;
    }
    if stats.first_error.is_none() {
        stats.first_error = Some(what);
    }
}

fn build_request(s: &Shared, n: u64) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
    let a = &s.args;
    let body = a.body.replace("{n}", &n.to_string());
    let headers = [
        ("host", s.host.as_str()),
        ("content-type", a.content_type.as_str()),
        ("x-amz-target", a.target.as_str()),
    ];
    let sreq = berth_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let added = berth_sigv4::sign(
        &sreq,
        &a.access_key,
        &a.secret_key,
        a.session_token.as_deref(),
        &a.region,
        &a.service,
        SystemTime::now(),
    );
    let mut b = hyper::Request::builder().method("POST").uri("/");
    for (k, v) in headers {
        b = b.header(k, v);
    }
    for (k, v) in &added {
        b = b.header(k.as_str(), v.as_str());
    }
    Ok(b.body(Full::new(Bytes::from(body)))?)
}
