//! One HTTP/1.1 exchange over a connected stream (a unix socket to dockerd, TCP to berth).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// Sends `req` on `stream` and reads the whole answer: `(status, headers, body)`.
pub(crate) async fn send_on<S>(
    stream: S,
    req: hyper::Request<Full<Bytes>>,
) -> Result<(u16, hyper::HeaderMap, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    send_on_with(stream, req, |_| {}).await
}

/// Like [`send_on`], and shows `on_chunk` each piece of the body as it arrives (a pull's
/// progress stream).
pub(crate) async fn send_on_with<S>(
    stream: S,
    req: hyper::Request<Full<Bytes>>,
    mut on_chunk: impl FnMut(&[u8]) + Send,
) -> Result<(u16, hyper::HeaderMap, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = resp.into_body();
        let mut all = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Some(data) = frame.data_ref() {
                on_chunk(data);
                all.extend_from_slice(data);
            }
        }
        Ok((status, headers, Bytes::from(all)))
    }
    .await;
    driver.abort();
    result
}
