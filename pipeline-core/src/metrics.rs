//! Run metrics: live atomic counters (for progress bars) and the final [`RunReport`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Live counters of one stage, shared by its workers.
#[derive(Debug, Default)]
pub struct StageCounters {
    /// Documents received (excluding ones that failed earlier).
    pub docs_in: AtomicU64,
    /// Documents passed on.
    pub docs_out: AtomicU64,
    /// Documents this stage failed on (errors and panics).
    pub failed: AtomicU64,
    /// Documents this stage dropped by policy.
    pub dropped: AtomicU64,
    /// Bytes of text (or raw input, before decoding) received.
    pub bytes_in: AtomicU64,
    /// Nanoseconds spent processing, summed over workers.
    pub busy_ns: AtomicU64,
    /// Nanoseconds waiting for input, summed over workers.
    pub wait_in_ns: AtomicU64,
    /// Nanoseconds blocked sending downstream (back-pressure), summed over workers.
    pub wait_out_ns: AtomicU64,
}

/// Live counters of a whole run; read them from another thread for progress.
#[derive(Debug)]
pub struct LiveMetrics {
    /// When the run started.
    pub started: Instant,
    /// Documents read by the source (including ones it could not read).
    pub docs_read: AtomicU64,
    /// Raw bytes read by the source.
    pub bytes_read: AtomicU64,
    /// Items the source could not read.
    pub source_errors: AtomicU64,
    /// Documents written by the sink.
    pub docs_written: AtomicU64,
    /// Documents written to the dead-letter file.
    pub dead_lettered: AtomicU64,
    /// Total input size if the source knows it.
    pub total_bytes: Option<u64>,
    /// Per-stage counters, in pipeline order, with name and worker count.
    pub stages: Vec<(String, String, usize, StageCounters)>,
}

impl LiveMetrics {
    /// Counters for the given `(name, kind, workers)` stages.
    pub fn new(stages: Vec<(String, String, usize)>, total_bytes: Option<u64>) -> Self {
        LiveMetrics {
            started: Instant::now(),
            docs_read: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            source_errors: AtomicU64::new(0),
            docs_written: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            total_bytes,
            stages: stages
                .into_iter()
                .map(|(n, k, w)| (n, k, w, StageCounters::default()))
                .collect(),
        }
    }

    pub(crate) fn add(c: &AtomicU64, d: Duration) {
        c.fetch_add(d.as_nanos() as u64, Relaxed);
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum Outcome {
    /// All input was processed.
    Completed,
    /// Stopped early on request (Ctrl-C); in-flight documents were finished and flushed.
    Interrupted,
    /// Stopped by a fatal error (`on_error = "fail"`, sink or dead-letter I/O).
    Failed(String),
}

/// One stage's figures at the end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: String,
    /// Worker threads.
    pub workers: usize,
    /// Documents in.
    pub docs_in: u64,
    /// Documents out.
    pub docs_out: u64,
    /// Documents failed.
    pub failed: u64,
    /// Documents dropped by policy.
    pub dropped: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Seconds processing (all workers).
    pub busy_s: f64,
    /// Seconds waiting for input (all workers).
    pub wait_in_s: f64,
    /// Seconds blocked on output (all workers).
    pub wait_out_s: f64,
    /// Busy time over wall time × workers (0–1).
    pub busy_share: f64,
    /// Documents per busy second of one worker: the stage's single-core speed.
    pub docs_per_busy_s: f64,
    /// Input MB (10⁶ bytes) per busy second of one worker.
    pub mb_per_busy_s: f64,
}

/// A document that failed, as listed in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Document id.
    pub id: String,
    /// Stage name (`source` for unreadable input).
    pub stage: String,
    /// The error.
    pub error: String,
}

/// Everything a run measured; printed as a table and written as JSON with `--metrics-json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Pipeline name.
    pub pipeline: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Documents read (including unreadable ones).
    pub docs_read: u64,
    /// Raw input bytes read.
    pub bytes_read: u64,
    /// Documents written.
    pub docs_written: u64,
    /// Documents that failed, in any stage or at the source.
    pub docs_failed: u64,
    /// Documents dropped by a stage's policy.
    pub docs_dropped: u64,
    /// Documents written to the dead-letter file.
    pub docs_dead_lettered: u64,
    /// Documents read and processed but not written because the run had already failed:
    /// read = written + failed + dropped + cancelled.
    pub docs_cancelled: u64,
    /// Where the output of a failed run went instead of the output path (`PATH.partial`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_output: Option<String>,
    /// Documents an earlier run wrote, shown again to the stages that remember earlier
    /// documents (a resumed run); not written again nor counted above.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub docs_replayed: u64,
    /// Documents per second over the whole run.
    pub docs_per_s: f64,
    /// Input MB per second over the whole run.
    pub mb_per_s: f64,
    /// Peak resident memory of the process, if the OS tells.
    pub peak_rss_bytes: Option<u64>,
    /// Per-stage figures.
    pub stages: Vec<StageReport>,
    /// The first failures (at most 100), so none goes unreported.
    pub failures: Vec<Failure>,
    /// Drop reasons and their counts.
    pub drop_reasons: std::collections::BTreeMap<String, u64>,
    /// Documents written per language (`doc.lang`), for those that have one.
    pub languages: std::collections::BTreeMap<String, u64>,
    /// Documents written with a warning on them, per stage that warned (a document clean
    /// emptied, for one): written, yet worth a look.
    pub warnings: std::collections::BTreeMap<String, u64>,
    /// Items the source read but made no document of, by reason (a web archive's request
    /// and metadata records): not counted as documents read.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub source_skipped: std::collections::BTreeMap<String, u64>,
}

impl RunReport {
    /// Builds the report from live counters and the sink thread's tallies.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_live(
        pipeline: &str,
        live: &LiveMetrics,
        outcome: Outcome,
        failures: Vec<Failure>,
        docs_failed: u64,
        drop_reasons: std::collections::BTreeMap<String, u64>,
        languages: std::collections::BTreeMap<String, u64>,
        warnings: std::collections::BTreeMap<String, u64>,
    ) -> Self {
        let elapsed = live.started.elapsed().as_secs_f64().max(1e-9);
        let secs = |c: &AtomicU64| c.load(Relaxed) as f64 / 1e9;
        let stages: Vec<StageReport> = live
            .stages
            .iter()
            .map(|(name, kind, workers, c)| {
                let busy = secs(&c.busy_ns);
                let docs_in = c.docs_in.load(Relaxed);
                let bytes_in = c.bytes_in.load(Relaxed);
                StageReport {
                    name: name.clone(),
                    kind: kind.clone(),
                    workers: *workers,
                    docs_in,
                    docs_out: c.docs_out.load(Relaxed),
                    failed: c.failed.load(Relaxed),
                    dropped: c.dropped.load(Relaxed),
                    bytes_in,
                    busy_s: busy,
                    wait_in_s: secs(&c.wait_in_ns),
                    wait_out_s: secs(&c.wait_out_ns),
                    busy_share: busy / (elapsed * *workers as f64),
                    docs_per_busy_s: if busy > 0.0 {
                        docs_in as f64 / busy
                    } else {
                        0.0
                    },
                    mb_per_busy_s: if busy > 0.0 {
                        bytes_in as f64 / 1e6 / busy
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let docs_read = live.docs_read.load(Relaxed);
        let bytes_read = live.bytes_read.load(Relaxed);
        RunReport {
            pipeline: pipeline.to_string(),
            outcome,
            elapsed_s: elapsed,
            docs_read,
            bytes_read,
            docs_written: live.docs_written.load(Relaxed),
            docs_failed,
            docs_dropped: drop_reasons.values().sum(),
            docs_dead_lettered: live.dead_lettered.load(Relaxed),
            docs_cancelled: 0,
            docs_replayed: 0,
            partial_output: None,
            docs_per_s: docs_read as f64 / elapsed,
            mb_per_s: bytes_read as f64 / 1e6 / elapsed,
            peak_rss_bytes: peak_rss_bytes(),
            stages,
            failures,
            drop_reasons,
            languages,
            warnings,
            source_skipped: Default::default(),
        }
    }

    /// The report as an aligned text table.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<14} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>6} {:>8} {:>8}",
            "stage",
            "in",
            "out",
            "failed",
            "dropped",
            "docs/s*",
            "MB/s*",
            "busy",
            "wait-in",
            "wait-out"
        );
        for s in &self.stages {
            let _ = writeln!(
                out,
                "{:<14} {:>7} {:>7} {:>6} {:>7} {:>9.0} {:>9.2} {:>5.0}% {:>7.2}s {:>7.2}s",
                truncate(&format!("{} ×{}", s.name, s.workers), 14),
                s.docs_in,
                s.docs_out,
                s.failed,
                s.dropped,
                s.docs_per_busy_s,
                s.mb_per_busy_s,
                s.busy_share * 100.0,
                s.wait_in_s,
                s.wait_out_s
            );
        }
        let _ = writeln!(
            out,
            "* per busy second of one worker (single-core speed)\n\
             total: {} read, {} written, {} failed, {} dropped{}, {} dead-lettered in {:.2}s \
             ({:.0} docs/s, {:.2} MB/s{})",
            self.docs_read,
            self.docs_written,
            self.docs_failed,
            self.docs_dropped,
            if self.docs_cancelled > 0 {
                format!(", {} cancelled (after the run failed)", self.docs_cancelled)
            } else {
                String::new()
            },
            self.docs_dead_lettered,
            self.elapsed_s,
            self.docs_per_s,
            self.mb_per_s,
            self.peak_rss_bytes
                .map(|b| format!(", peak RSS {:.1} MB", b as f64 / 1e6))
                .unwrap_or_default()
        );
        if self.docs_replayed > 0 {
            let _ = writeln!(
                out,
                "replayed: {} documents an earlier run wrote, shown again to the stages that remember",
                self.docs_replayed
            );
        }
        for (reason, n) in &self.drop_reasons {
            let _ = writeln!(out, "dropped ({reason}): {n}");
        }
        if !self.source_skipped.is_empty() {
            let list: Vec<String> = (self.source_skipped.iter())
                .map(|(why, n)| format!("{why} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "skipped by the source (not documents): {}",
                list.join(", ")
            );
        }
        if !self.languages.is_empty() {
            let mut by: Vec<(&String, &u64)> = self.languages.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let list: Vec<String> = by.iter().map(|(l, n)| format!("{l} {n}")).collect();
            let _ = writeln!(out, "languages (documents written): {}", list.join(", "));
        }
        if !self.warnings.is_empty() {
            let list: Vec<String> = (self.warnings.iter())
                .map(|(st, n)| format!("{st} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "written with warnings (see their diagnostics): {}",
                list.join(", ")
            );
        }
        for f in self.failures.iter().take(10) {
            let _ = writeln!(out, "failed: {} in {}: {}", f.id, f.stage, f.error);
        }
        if self.failures.len() > 10 {
            let _ = writeln!(
                out,
                "… and {} more failures (see --metrics-json)",
                self.docs_failed.saturating_sub(10)
            );
        }
        match &self.outcome {
            Outcome::Completed => {}
            Outcome::Interrupted => {
                let _ = writeln!(out, "interrupted: the output holds what was finished");
            }
            Outcome::Failed(m) => {
                let _ = writeln!(out, "run failed: {m}");
                if let Some(p) = &self.partial_output {
                    let _ = writeln!(
                        out,
                        "what was written before it failed is in {p}; the output path was left as it was"
                    );
                }
            }
        }
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

/// Peak resident set size of this process (Linux: `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
