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
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, headers, body))
    }
    .await;
    driver.abort();
    result
}
