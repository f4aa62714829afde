//! Image pull progress: Docker's pull stream (one JSON object per line) folded into counts of
//! layers and bytes, and the observer those counts are reported to.
//!
//! The tracker is pure (no I/O); [`crate::DockerRuntime`] feeds it the stream as it arrives and
//! hands snapshots to a [`PullObserver`]: by default [`LogObserver`] (structured log lines, so
//! `--log-format json` carries them), in `berth up` on a terminal the CLI's progress bars.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where a pull stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PullProgress {
    /// Layers the image has (as far as the stream has named them).
    pub layers_total: usize,
    /// Layers pulled and extracted, or already present.
    pub layers_done: usize,
    /// Bytes downloaded so far (layers already present count nothing).
    pub bytes_done: u64,
    /// Bytes to download, as far as the registry has told sizes.
    pub bytes_total: u64,
}

#[derive(Default)]
struct Layer {
    current: u64,
    total: u64,
    done: bool,
}

/// Folds Docker's pull messages (`{"status":"Downloading","id":"…","progressDetail":{…}}`)
/// into a [`PullProgress`].
#[derive(Default)]
pub struct PullTracker {
    layers: BTreeMap<String, Layer>,
}

impl PullTracker {
    /// Applies one message; true when the counts changed.
    pub fn apply(&mut self, message: &Value) -> bool {
        let (Some(status), Some(id)) = (
            message.get("status").and_then(Value::as_str),
            message.get("id").and_then(Value::as_str),
        ) else {
            return false;
        };
        let detail = |key: &str| {
            message
                .pointer(&format!("/progressDetail/{key}"))
                .and_then(Value::as_u64)
        };
        let before = self.snapshot();
        match status {
            "Pulling fs layer" | "Waiting" => {
                self.layers.entry(id.to_string()).or_default();
            }
            "Downloading" => {
                let layer = self.layers.entry(id.to_string()).or_default();
                if let Some(total) = detail("total") {
                    layer.total = total;
                }
                if let Some(current) = detail("current") {
                    layer.current = current;
                }
            }
            "Verifying Checksum" | "Download complete" | "Extracting" => {
                let layer = self.layers.entry(id.to_string()).or_default();
                layer.current = layer.current.max(layer.total);
            }
            "Pull complete" => {
                let layer = self.layers.entry(id.to_string()).or_default();
                layer.current = layer.current.max(layer.total);
                layer.done = true;
            }
            "Already exists" => {
                let layer = self.layers.entry(id.to_string()).or_default();
                layer.done = true;
            }
            // "Pulling from …" (the id is the tag), "Digest: …", "Status: …": not layers.
            _ => {}
        }
        self.snapshot() != before
    }

    pub fn snapshot(&self) -> PullProgress {
        let mut p = PullProgress {
            layers_total: self.layers.len(),
            ..PullProgress::default()
        };
        for layer in self.layers.values() {
            p.layers_done += usize::from(layer.done);
            p.bytes_done += layer.current;
            p.bytes_total += layer.total;
        }
        p
    }
}

/// Receives the progress of each pull.
pub trait PullObserver: Send + Sync + std::fmt::Debug {
    /// A pull of `image` starts; the returned reporter gets its progress.
    fn begin(&self, image: &str) -> Box<dyn PullReporter>;
}

/// The progress of one pull.
pub trait PullReporter: Send {
    fn update(&mut self, progress: &PullProgress);
    /// The pull ended; `ok` is false when it failed.
    fn finish(&mut self, progress: &PullProgress, ok: bool);
}

/// Logs pulls: a line at most every two seconds while one runs, and one when it ends.
#[derive(Debug)]
pub struct LogObserver;

impl PullObserver for LogObserver {
    fn begin(&self, image: &str) -> Box<dyn PullReporter> {
        Box::new(LogReporter {
            image: image.to_string(),
            started: Instant::now(),
            last: Instant::now(),
        })
    }
}

struct LogReporter {
    image: String,
    started: Instant,
    last: Instant,
}

const LOG_EVERY: Duration = Duration::from_secs(2);

impl PullReporter for LogReporter {
    fn update(&mut self, p: &PullProgress) {
        if self.last.elapsed() < LOG_EVERY {
            return;
        }
        self.last = Instant::now();
        tracing::info!(
            image = %self.image,
            layers_done = p.layers_done,
            layers_total = p.layers_total,
            bytes_done = p.bytes_done,
            bytes_total = p.bytes_total,
            "pulling image"
        );
    }

    fn finish(&mut self, p: &PullProgress, ok: bool) {
        let elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if ok {
            tracing::info!(
                image = %self.image,
                layers = p.layers_total,
                bytes = p.bytes_done,
                elapsed_ms,
                "image pulled"
            );
        } else {
            tracing::info!(image = %self.image, elapsed_ms, "image pull failed");
        }
    }
}

/// Splits a byte stream into lines; the pull stream's JSON objects end with `\r\n`.
#[derive(Default)]
pub(crate) struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Appends `chunk`; calls `each` for every complete, non-empty line.
    pub(crate) fn push(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8])) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let line = self.pending[start..start + end].trim_ascii();
            if !line.is_empty() {
                each(line);
            }
            start += end + 1;
        }
        self.pending.drain(..start);
    }

    /// What is left after the last newline.
    pub(crate) fn rest(&self) -> &[u8] {
        self.pending.trim_ascii()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(t: &mut PullTracker, msgs: &[Value]) -> PullProgress {
        for m in msgs {
            t.apply(m);
        }
        t.snapshot()
    }

    #[test]
    fn a_cold_pull_counts_layers_and_bytes() {
        let mut t = PullTracker::default();
        let p = feed(
            &mut t,
            &[
                json!({"status":"Pulling from demo","id":"latest"}),
                json!({"status":"Pulling fs layer","id":"aaa"}),
                json!({"status":"Pulling fs layer","id":"bbb"}),
                json!({"status":"Downloading","id":"aaa","progressDetail":{"current":100,"total":1000}}),
                json!({"status":"Downloading","id":"bbb","progressDetail":{"current":50,"total":500}}),
            ],
        );
        assert_eq!(
            p,
            PullProgress {
                layers_total: 2,
                layers_done: 0,
                bytes_done: 150,
                bytes_total: 1500
            }
        );
        let p = feed(
            &mut t,
            &[
                json!({"status":"Download complete","id":"aaa"}),
                json!({"status":"Pull complete","id":"aaa"}),
                json!({"status":"Digest: sha256:00"}),
            ],
        );
        assert_eq!((p.layers_done, p.bytes_done), (1, 1050));
        let p = feed(&mut t, &[json!({"status":"Pull complete","id":"bbb"})]);
        assert_eq!(
            (p.layers_done, p.bytes_done, p.bytes_total),
            (2, 1500, 1500)
        );
    }

    #[test]
    fn layers_already_present_count_as_done_without_bytes() {
        let mut t = PullTracker::default();
        let p = feed(
            &mut t,
            &[
                json!({"status":"Already exists","id":"aaa"}),
                json!({"status":"Pulling fs layer","id":"bbb"}),
            ],
        );
        assert_eq!((p.layers_total, p.layers_done, p.bytes_done), (2, 1, 0));
    }

    #[test]
    fn messages_that_are_not_about_layers_change_nothing() {
        let mut t = PullTracker::default();
        assert!(!t.apply(&json!({"status":"Pulling from demo","id":"latest"})));
        assert!(!t.apply(&json!({"status":"Status: Image is up to date for demo"})));
        assert!(!t.apply(&json!({"error":"boom"})));
        assert!(t.apply(&json!({"status":"Pulling fs layer","id":"aaa"})));
        assert_eq!(t.snapshot().layers_total, 1);
    }

    #[test]
    fn lines_are_split_across_chunks() {
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        lines.push(b"{\"a\":1}\r\n{\"b\"", |l| seen.push(l.to_vec()));
        lines.push(b":2}\r\n\r\n{\"c\":3}", |l| seen.push(l.to_vec()));
        assert_eq!(seen, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        assert_eq!(lines.rest(), b"{\"c\":3}");
    }
}
