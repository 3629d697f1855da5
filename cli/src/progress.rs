//! A progress bar on stderr fed by the runner's live counters.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline_core::LiveMetrics;

/// Draws progress until dropped. Does nothing when stderr is not a terminal.
pub struct Progress {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub fn start(live: Arc<LiveMetrics>, enabled: bool) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !enabled || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress { stop, handle: None };
        }
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let bar = match live.total_bytes {
                Some(t) if t > 0 => ProgressBar::new(t),
                _ => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            let style = if live.total_bytes.is_some() {
                "{bar:30} {percent:>3}% {msg} [{elapsed_precise}, eta {eta}]"
            } else {
                "{spinner} {msg} [{elapsed_precise}]"
            };
            if let Ok(st) = ProgressStyle::with_template(style) {
                bar.set_style(st);
            }
            while !s.load(Relaxed) {
                let secs = live.started.elapsed().as_secs_f64().max(1e-3);
                let docs = live.docs_read.load(Relaxed);
                let bytes = live.bytes_read.load(Relaxed);
                bar.set_position(bytes);
                bar.set_message(format!(
                    "{docs} docs read, {} written · {:.0} docs/s · {:.1} MB/s",
                    live.docs_written.load(Relaxed),
                    docs as f64 / secs,
                    bytes as f64 / 1e6 / secs
                ));
                std::thread::sleep(Duration::from_millis(120));
            }
            bar.finish_and_clear();
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
