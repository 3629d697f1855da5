//! The runner: source → bounded channels → stage workers → sink.
//!
//! ```text
//! source thread ──ch0──▶ stage 1 (N workers) ──ch1──▶ … ──chK──▶ sink (this thread)
//!        ▲                                                         │
//!        └──────────────── in-flight permits (bounded) ◀───────────┘
//! ```
//!
//! Every document travels as an [`Envelope`] with a sequence number. Failed and dropped
//! documents keep travelling (later stages skip them) so the sink accounts for every one and
//! can restore input order. The permit channel bounds the number of documents in flight —
//! including those parked in the reorder buffer — so memory stays bounded whatever the corpus.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::config::{OnError, Plan};
use crate::document::{Document, Severity};
use crate::io::{Sink, Source};
use crate::metrics::{Failure, LiveMetrics, Outcome as RunOutcome, RunReport};
use crate::stage::{Outcome, Stage, StageError};

/// Set it to stop a run early: the source stops reading, in-flight documents finish, the
/// sink is flushed and the report says `interrupted`.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests the stop.
    pub fn cancel(&self) {
        self.0.store(true, Relaxed);
    }
    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Relaxed)
    }
}

/// A run could not start (a stage failed to build its worker instances).
#[derive(Debug, thiserror::Error)]
#[error("stage `{stage}`: cannot start worker: {message}")]
pub struct StartError {
    /// Stage name.
    pub stage: String,
    /// Why.
    pub message: String,
}

#[derive(Debug)]
enum State {
    Ok,
    Dropped(String),
    Failed {
        stage: String,
        error: String,
        policy: OnError,
    },
}

struct Envelope {
    seq: u64,
    doc: Box<Document>,
    state: State,
    /// Written by an earlier run: shown to the stages up to the last that remembers, then
    /// discarded.
    replay: bool,
}

/// A pipeline ready to run, with its live metrics available for progress display.
pub struct Runner {
    plan: Plan,
    live: Arc<LiveMetrics>,
    instances: Vec<Vec<Box<dyn Stage>>>,
    /// Documents at the start of the source that an earlier run handled.
    resume_after: u64,
}

impl Runner {
    /// Builds every worker instance up front, so start-up errors come before any document.
    pub fn new(plan: Plan) -> Result<Self, StartError> {
        let mut instances = Vec::with_capacity(plan.stages.len());
        for st in &plan.stages {
            let mut v = Vec::with_capacity(st.workers);
            for _ in 0..st.workers {
                v.push(st.prepared.instantiate().map_err(|e| StartError {
                    stage: st.name.clone(),
                    message: e.message,
                })?);
            }
            instances.push(v);
        }
        let live = Arc::new(LiveMetrics::new(
            plan.stages
                .iter()
                .map(|s| (s.name.clone(), s.kind.clone(), s.workers))
                .collect(),
            plan.source.total_bytes(),
        ));
        Ok(Runner {
            plan,
            live,
            instances,
            resume_after: 0,
        })
    }

    /// The first `n` documents of the source were handled by an earlier run of the same
    /// job (its output and dead letters hold them): they are not written or counted again.
    /// If a stage remembers earlier documents ([`Stage::remembers`]), they go once more
    /// through it and the stages before it, then are discarded, so that every later
    /// document's output is what an uninterrupted run gives; otherwise they are read and
    /// skipped.
    pub fn resume_after(&mut self, n: u64) {
        self.resume_after = n;
    }

    /// Index of the last stage that remembers earlier documents, if any.
    fn last_remembering(&self) -> Option<usize> {
        (self.instances.iter()).rposition(|ws| ws.iter().any(|w| w.remembers()))
    }

    /// Live counters, for a progress bar.
    pub fn metrics(&self) -> Arc<LiveMetrics> {
        self.live.clone()
    }

    /// Runs to the end of input, a cancel request, or a fatal error; always flushes the sink.
    ///
    /// The source reads on a thread of its own ([`read_source`]), each stage's workers on
    /// theirs ([`worker`]), and this thread puts the documents back in order and hands each
    /// to the [`Ledger`], which writes, counts and files it. All of them borrow the
    /// channels, counters and cancel token of one `thread::scope`.
    pub fn run(self, cancel: &CancelToken) -> RunReport {
        let last_remembering = self.last_remembering();
        let Runner {
            plan,
            live,
            instances,
            resume_after,
        } = self;
        // Resumed: replay the handled documents if a stage remembers, else skip them.
        let (replay, skip) = match last_remembering {
            Some(_) => (resume_after, 0),
            None => (0, resume_after),
        };
        let Plan {
            settings,
            dead_letter,
            mut source,
            stages,
            mut sink,
            ..
        } = plan;
        let cap = settings.channel_capacity;
        let total_workers: usize = stages.iter().map(|s| s.workers).sum();
        let max_in_flight = cap * (stages.len() + 1) + total_workers + 1;
        let (permit_tx, permit_rx) = bounded::<()>(max_in_flight);
        let _run_span = tracing::info_span!("run", pipeline = %settings.name).entered();

        std::thread::scope(|scope| {
            let (tx0, mut rx) = bounded::<Envelope>(cap);
            let reading = Reading {
                live: &live,
                cancel,
                skip,
                replay,
                max_doc: settings.max_document_bytes,
                policy: settings.on_error,
            };
            let source = &mut *source;
            let source_thread = std::thread::Builder::new()
                .name("source".into())
                .spawn_scoped(scope, move || read_source(source, reading, permit_tx, tx0))
                .expect("spawn source thread");

            // Stages.
            for (idx, (st, insts)) in stages.iter().zip(instances).enumerate() {
                let (tx, next_rx) = bounded::<Envelope>(cap);
                for (w, inst) in insts.into_iter().enumerate() {
                    let rx = rx.clone();
                    let tx = tx.clone();
                    let live = live.clone();
                    let name = st.name.clone();
                    let policy = st.on_error;
                    let prepared = st.prepared.clone();
                    let replays = last_remembering.is_some_and(|last| idx <= last);
                    std::thread::Builder::new()
                        .name(format!("{}-{w}", st.name))
                        .spawn_scoped(scope, move || {
                            let counters = &live.stages[idx].3;
                            let s = WorkerSpec {
                                name: &name,
                                w,
                                policy,
                                replays,
                            };
                            worker(inst, &*prepared, &s, rx, tx, counters)
                        })
                        .expect("spawn worker thread");
                }
                rx = next_rx;
            }

            // Sink, on this thread, in input order unless the settings say otherwise.
            let _s = tracing::info_span!("sink").entered();
            let mut ledger = Ledger::new(&mut *sink, DeadLetter::new(dead_letter), &live, cancel);
            let mut reorder: BTreeMap<u64, Envelope> = BTreeMap::new();
            let mut next_seq = 0u64;
            let mut emit = |env: Envelope| {
                ledger.take(env);
                let _ = permit_rx.try_recv();
            };
            for env in rx.iter() {
                if !settings.ordered {
                    emit(env);
                    continue;
                }
                reorder.insert(env.seq, env);
                while let Some(env) = reorder.remove(&next_seq) {
                    next_seq += 1;
                    emit(env);
                }
            }
            // Anything left means a gap (cannot happen unless a worker died); emit in order.
            for (_, env) in std::mem::take(&mut reorder) {
                emit(env);
            }
            let mut report = ledger.finish(&settings.name);
            report.source_skipped = source_thread.join().unwrap_or_default();
            report
        })
    }
}

/// What the source thread needs besides the source and its channels.
struct Reading<'a> {
    live: &'a LiveMetrics,
    cancel: &'a CancelToken,
    /// Documents to read and skip (handled by an earlier run, no stage remembers).
    skip: u64,
    /// Documents to send as replays (handled by an earlier run, a stage remembers).
    replay: u64,
    /// Larger documents fail at the source (0: no limit).
    max_doc: u64,
    policy: OnError,
}

/// The source thread: reads every document (or until cancelled), each after taking an
/// in-flight permit, and sends it on numbered; a document the source could not read, or
/// one over the size limit, travels as failed. Returns what the source skipped.
fn read_source(
    source: &mut dyn Source,
    r: Reading<'_>,
    permits: Sender<()>,
    tx: Sender<Envelope>,
) -> BTreeMap<String, u64> {
    let _s = tracing::info_span!("source").entered();
    source.set_max_document_bytes(r.max_doc);
    let live = r.live;
    let failed = |error: String| State::Failed {
        stage: "source".into(),
        error,
        policy: r.policy,
    };
    let mut skip = r.skip;
    while skip > 0 && !r.cancel.is_cancelled() {
        skip -= 1;
        if source.next_doc().is_none() {
            break;
        }
    }
    let mut seq = 0u64;
    while !r.cancel.is_cancelled() {
        if permits.send(()).is_err() {
            break;
        }
        // A replayed document gets the state it had in the earlier run; only the counters
        // leave it out.
        let replay = seq < r.replay;
        let (doc, state) = match source.next_doc() {
            None => break,
            Some(Ok(doc)) => {
                if !replay {
                    live.bytes_read.fetch_add(doc.raw.len() as u64, Relaxed);
                }
                let size = doc.raw.len().max(doc.text.len()) as u64;
                let state = if r.max_doc > 0 && size > r.max_doc {
                    failed(crate::io::too_large(size, r.max_doc))
                } else {
                    State::Ok
                };
                (doc, state)
            }
            Some(Err(e)) => {
                if !replay {
                    live.source_errors.fetch_add(1, Relaxed);
                    live.bytes_read.fetch_add(e.raw.len() as u64, Relaxed);
                }
                (Document::from_bytes(e.id, e.raw), failed(e.message))
            }
        };
        if !replay {
            live.docs_read.fetch_add(1, Relaxed);
        }
        let env = Envelope {
            seq,
            doc: Box::new(doc),
            state,
            replay,
        };
        seq += 1;
        if tx.send(env).is_err() {
            break;
        }
    }
    source.skipped()
}

/// The sink side's books: writes each document that arrives in order, files the failed
/// ones by their policy, counts everything for the report, and keeps the first error that
/// ends the run (after it, documents are counted as cancelled, not written).
struct Ledger<'a> {
    sink: &'a mut dyn Sink,
    dead_letters: DeadLetter,
    live: &'a LiveMetrics,
    cancel: &'a CancelToken,
    failures: Vec<Failure>,
    docs_failed: u64,
    drop_reasons: BTreeMap<String, u64>,
    languages: BTreeMap<String, u64>,
    warnings: BTreeMap<String, u64>,
    fatal: Option<String>,
    accounted: u64,
    cancelled: u64,
    replayed: u64,
    /// The sink's own write failed: its output is cut mid-line.
    sink_broke: bool,
}

impl<'a> Ledger<'a> {
    fn new(
        sink: &'a mut dyn Sink,
        dead_letters: DeadLetter,
        live: &'a LiveMetrics,
        cancel: &'a CancelToken,
    ) -> Self {
        Ledger {
            sink,
            dead_letters,
            live,
            cancel,
            failures: Vec::new(),
            docs_failed: 0,
            drop_reasons: BTreeMap::new(),
            languages: BTreeMap::new(),
            warnings: BTreeMap::new(),
            fatal: None,
            accounted: 0,
            cancelled: 0,
            replayed: 0,
            sink_broke: false,
        }
    }

    /// Ends the run with `error`, unless an earlier error already did.
    fn fail(&mut self, error: String) {
        self.fatal.get_or_insert(error);
        self.cancel.cancel();
    }

    /// One document, in output order.
    fn take(&mut self, env: Envelope) {
        if env.replay {
            self.replayed += 1;
            return;
        }
        match env.state {
            State::Ok if self.fatal.is_some() => self.cancelled += 1,
            State::Ok => self.write(&env.doc),
            State::Dropped(reason) => {
                tracing::debug!(doc = %env.doc.id, %reason, "dropped");
                *self.drop_reasons.entry(reason).or_default() += 1;
            }
            State::Failed {
                stage,
                error,
                policy,
            } => self.failed(&env.doc, &stage, &error, policy),
        }
        self.accounted += 1;
        if self.fatal.is_none() {
            if let Err(e) = self.sink.accounted(self.accounted) {
                self.sink_broke = true;
                self.fail(format!("sink: {e}"));
            }
        }
    }

    fn write(&mut self, doc: &Document) {
        if let Err(e) = self.sink.write(doc) {
            self.sink_broke = true;
            self.cancelled += 1;
            self.fail(format!("sink: {e}"));
            return;
        }
        self.live.docs_written.fetch_add(1, Relaxed);
        if let Some(l) = &doc.lang {
            *self.languages.entry(l.clone()).or_default() += 1;
        }
        let mut warned: Vec<&str> = (doc.diagnostics.iter())
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.stage.as_str())
            .collect();
        warned.sort_unstable();
        warned.dedup();
        for st in warned {
            *self.warnings.entry(st.to_string()).or_default() += 1;
        }
    }

    fn failed(&mut self, doc: &Document, stage: &str, error: &str, policy: OnError) {
        self.docs_failed += 1;
        tracing::warn!(doc = %doc.id, %stage, %error, "document failed");
        if self.failures.len() < 100 {
            self.failures.push(Failure {
                id: doc.id.clone(),
                stage: stage.to_string(),
                error: error.to_string(),
            });
        }
        if let Err(e) = self.sink.failed(doc, stage, error) {
            self.fail(format!("sink: {e}"));
        }
        match policy {
            OnError::Skip => {}
            OnError::DeadLetter => {
                // The sink keeps it (beside its checkpoints), or the file does.
                let written = match self.sink.dead_letter(doc, stage, error) {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        (self.dead_letters.write(doc, stage, error)).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                match written {
                    Ok(()) => {
                        self.live.dead_lettered.fetch_add(1, Relaxed);
                    }
                    Err(e) => self.fail(format!("dead-letter file: {e}")),
                }
            }
            OnError::Fail => self.fail(format!(
                "document `{}` failed in stage `{stage}`: {error}",
                doc.id
            )),
        }
    }

    /// Finishes the sink and the dead-letter file, and reports. A failed run never replaces
    /// the previous output: what it wrote goes apart, unless the sink itself broke (a full
    /// disk): its output is cut mid-line, and its temp file goes with it, so the space
    /// comes back.
    fn finish(mut self, pipeline: &str) -> RunReport {
        let mut partial = None;
        if self.fatal.is_none() {
            if let Err(e) = self.sink.finish() {
                self.fatal = Some(format!("sink: {e}"));
            }
        } else if !self.sink_broke {
            match self.sink.finish_partial() {
                Ok(p) => partial = p,
                Err(e) => tracing::warn!("cannot keep the partial output: {e}"),
            }
        }
        if let Err(e) = self.dead_letters.finish() {
            self.fatal.get_or_insert(format!("dead-letter file: {e}"));
        }
        let outcome = match self.fatal {
            Some(m) => RunOutcome::Failed(m),
            None if self.cancel.is_cancelled() => RunOutcome::Interrupted,
            None => RunOutcome::Completed,
        };
        let mut report = RunReport::from_live(
            pipeline,
            self.live,
            outcome,
            self.failures,
            self.docs_failed,
            self.drop_reasons,
            self.languages,
            self.warnings,
        );
        report.docs_cancelled = self.cancelled;
        report.docs_replayed = self.replayed;
        report.partial_output = partial.map(|p| p.display().to_string());
        report
    }
}

/// What a worker is: its stage's name, its number, the stage's error policy, and whether
/// replayed documents go through it (it or a later stage remembers).
struct WorkerSpec<'a> {
    name: &'a str,
    w: usize,
    policy: OnError,
    replays: bool,
}

fn worker(
    mut inst: Box<dyn Stage>,
    prepared: &dyn crate::stage::PreparedStage,
    spec: &WorkerSpec<'_>,
    rx: Receiver<Envelope>,
    tx: Sender<Envelope>,
    c: &crate::metrics::StageCounters,
) {
    let WorkerSpec {
        name,
        w,
        policy,
        replays,
    } = *spec;
    let _span = tracing::info_span!("stage", stage = %name, worker = w).entered();
    loop {
        let t0 = Instant::now();
        let Ok(mut env) = rx.recv() else { break };
        let t1 = Instant::now();
        // A replayed document is not counted; past the last stage that remembers, it is
        // not processed either.
        let counted = !env.replay;
        if counted {
            LiveMetrics::add(&c.wait_in_ns, t1 - t0);
        }
        if matches!(env.state, State::Ok) && (counted || replays) {
            if counted {
                c.docs_in.fetch_add(1, Relaxed);
                let n = if env.doc.text.is_empty() {
                    env.doc.raw.len()
                } else {
                    env.doc.text.len()
                };
                c.bytes_in.fetch_add(n as u64, Relaxed);
            }
            let result = catch_unwind(AssertUnwindSafe(|| inst.process(&mut env.doc)));
            let result = match result {
                Ok(r) => r,
                Err(payload) => {
                    // The instance may be in a broken state: replace it.
                    if let Ok(fresh) = prepared.instantiate() {
                        inst = fresh;
                    }
                    Err(StageError::new(format!(
                        "panicked: {}",
                        panic_message(payload.as_ref())
                    )))
                }
            };
            let result = result.and_then(|o| {
                if cfg!(debug_assertions) {
                    env.doc
                        .check_spans()
                        .map_err(|m| StageError::new(format!("left an invalid span: {m}")))?;
                }
                Ok(o)
            });
            let count = |n: &std::sync::atomic::AtomicU64| {
                if counted {
                    n.fetch_add(1, Relaxed);
                }
            };
            match result {
                Ok(Outcome::Keep) => count(&c.docs_out),
                Ok(Outcome::Drop { reason }) => {
                    count(&c.dropped);
                    env.state = State::Dropped(format!("{name}: {reason}"));
                }
                Err(e) => {
                    count(&c.failed);
                    env.state = State::Failed {
                        stage: name.to_string(),
                        error: e.message,
                        policy,
                    };
                }
            }
            if counted {
                LiveMetrics::add(&c.busy_ns, t1.elapsed());
            }
        }
        let t2 = Instant::now();
        if tx.send(env).is_err() {
            break;
        }
        LiveMetrics::add(&c.wait_out_ns, t2.elapsed());
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// Writes failed documents (id, stage, error, original input) as JSONL, atomically.
/// The file is created on the first failure only.
struct DeadLetter {
    path: Option<PathBuf>,
    file: Option<crate::atomic::AtomicFile>,
}

impl DeadLetter {
    fn new(path: Option<PathBuf>) -> Self {
        DeadLetter { path, file: None }
    }

    fn write(&mut self, doc: &Document, stage: &str, error: &str) -> std::io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let Some(path) = &self.path else {
                    return Err(std::io::Error::other("no dead-letter path configured"));
                };
                self.file.insert(crate::atomic::AtomicFile::create(path)?)
            }
        };
        let v = crate::io::dead_letter_record(doc, stage, error);
        serde_json::to_writer(&mut *file, &v)?;
        file.write_all(b"\n")
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self.file.take() {
            Some(f) => f.commit(),
            None => Ok(()),
        }
    }
}
