//! The listener on TLS: requests served over the handshake, a reloaded certificate on the next
//! connection, and a client that never completes its handshake closed at the header timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use berth_api::listen::{Limits, serve_tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../berth-tls/src/testdata")
        .join(name)
}

async fn start(
    cert: &Arc<berth_tls::ServerCert>,
    limits: Limits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().fallback(|| async { "ok" });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = cert.server_config().unwrap();
    tokio::spawn(async move {
        serve_tls(listener, router, limits, Some(config), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// One GET / over TLS; the answer's bytes and the leaf's fingerprint.
async fn get(addr: std::net::SocketAddr) -> (String, String) {
    let config = berth_tls::client_config(Some(&data("ca.pem"))).unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(berth_tls::server_name("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let leaf = berth_tls::fingerprint(&tls.get_ref().1.peer_certificates().unwrap()[0]);
    tls.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    (String::from_utf8_lossy(&answer).into_owned(), leaf)
}

#[tokio::test]
async fn serves_over_tls_and_a_reload_reaches_the_next_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::copy(data("leaf-a.pem"), &cert_path).unwrap();
    std::fs::copy(data("leaf-a.key"), &key_path).unwrap();
    let cert = berth_tls::ServerCert::load(&cert_path, &key_path).unwrap();
    let a = cert.fingerprint();
    let (addr, stop) = start(&cert, Limits::default()).await;
    let (answer, leaf) = get(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    assert_eq!(leaf, a);
    std::fs::copy(data("leaf-b.pem"), &cert_path).unwrap();
    std::fs::copy(data("leaf-b.key"), &key_path).unwrap();
    let b = cert.reload().unwrap();
    let (answer, leaf) = get(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(leaf, b);
    assert_ne!(a, b);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_header_timeout() {
    let cert = berth_tls::ServerCert::load(&data("leaf-a.pem"), &data("leaf-a.key")).unwrap();
    let limits = Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, stop) = start(&cert, limits).await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The first bytes of a ClientHello, then nothing.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0x80])
        .await
        .unwrap();
    let began = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "no bytes, a close");
    assert!(began.elapsed() >= Duration::from_millis(250));
    // Plain HTTP gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    let _ = stop.send(());
}
