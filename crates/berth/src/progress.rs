//! Progress bars for image pulls on a terminal (indicatif), and a log writer that keeps the
//! bars intact: log lines are printed with the bars suspended.

use std::io::Write;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use berth_agent::{PullObserver, PullProgress, PullReporter};

/// Draws one bar per pull: bytes downloaded of the known total, and layers done.
#[derive(Debug)]
pub struct Bars {
    multi: MultiProgress,
}

impl Bars {
    pub fn new() -> Arc<Bars> {
        Arc::new(Bars {
            multi: MultiProgress::new(),
        })
    }

    /// A `tracing` writer that prints each log line with the bars out of the way.
    pub fn log_writer(self: &Arc<Self>) -> LogWriter {
        LogWriter {
            multi: self.multi.clone(),
        }
    }
}

impl PullObserver for Bars {
    fn begin(&self, image: &str) -> Box<dyn PullReporter> {
        let bar = self.multi.add(ProgressBar::new(0));
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format!("pulling {image}"));
        Box::new(Bar { bar })
    }
}

struct Bar {
    bar: ProgressBar,
}

fn layers(p: &PullProgress) -> String {
    format!("{}/{} layers", p.layers_done, p.layers_total)
}

impl PullReporter for Bar {
    fn update(&mut self, p: &PullProgress) {
        self.bar.set_length(p.bytes_total);
        self.bar.set_position(p.bytes_done);
        self.bar.set_message(layers(p));
    }

    fn finish(&mut self, p: &PullProgress, ok: bool) {
        self.bar.set_length(p.bytes_total);
        self.bar.set_position(p.bytes_done);
        if ok {
            self.bar.finish_with_message(format!("{}, done", layers(p)));
        } else {
            self.bar
                .abandon_with_message(format!("{}, failed", layers(p)));
        }
    }
}

/// Makes one [`LineWriter`] per log event.
#[derive(Clone)]
pub struct LogWriter {
    multi: MultiProgress,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            multi: self.multi.clone(),
            buf: Vec::new(),
        }
    }
}

/// Collects one log event and prints it, bars suspended, when dropped.
pub struct LineWriter {
    multi: MultiProgress,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.multi.suspend(|| {
            // Nothing sensible to do when standard error is gone.
            let _ = std::io::stderr().write_all(&buf);
        });
    }
}
