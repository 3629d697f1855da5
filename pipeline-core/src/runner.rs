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
    /// Long on purpose: the threads it spawns borrow its channels, counters and cancel token in
    /// one `thread::scope`, and the shutdown order (source, stages, sink) reads best in one
    /// place.
    pub fn run(self, cancel: &CancelToken) -> RunReport {
        let last_remembering = self.last_remembering();
        let Runner {
            plan,
            live,
            instances,
            resume_after,
        } = self;
        // Resumed: replay the handled documents if a stage remembers, else skip them.
        let (replay, mut skip) = match last_remembering {
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
        let pipeline_policy = settings.on_error;
        let max_doc = settings.max_document_bytes;
        let _run_span = tracing::info_span!("run", pipeline = %settings.name).entered();

        std::thread::scope(|scope| {
            // Source.
            let (tx0, mut rx) = bounded::<Envelope>(cap);
            let source_thread = {
                let live = live.clone();
                let cancel = cancel.clone();
                let source = &mut source;
                source.set_max_document_bytes(max_doc);
                std::thread::Builder::new()
                    .name("source".into())
                    .spawn_scoped(scope, move || {
                        let _s = tracing::info_span!("source").entered();
                        let mut seq = 0u64;
                        while skip > 0 && !cancel.is_cancelled() {
                            skip -= 1;
                            if source.next_doc().is_none() {
                                break;
                            }
                        }
                        while !cancel.is_cancelled() {
                            if permit_tx.send(()).is_err() {
                                break;
                            }
                            // A replayed document gets the state it had in the earlier
                            // run; only the counters leave it out.
                            let replay = seq < replay;
                            let env = match source.next_doc() {
                                None => break,
                                Some(Ok(doc)) => {
                                    if !replay {
                                        live.bytes_read.fetch_add(doc.raw.len() as u64, Relaxed);
                                    }
                                    let size = doc.raw.len().max(doc.text.len()) as u64;
                                    let state = if max_doc > 0 && size > max_doc {
                                        State::Failed {
                                            stage: "source".into(),
                                            error: crate::io::too_large(size, max_doc),
                                            policy: pipeline_policy,
                                        }
                                    } else {
                                        State::Ok
                                    };
                                    Envelope {
                                        seq,
                                        doc: Box::new(doc),
                                        state,
                                        replay,
                                    }
                                }
                                Some(Err(e)) => {
                                    if !replay {
                                        live.source_errors.fetch_add(1, Relaxed);
                                        live.bytes_read.fetch_add(e.raw.len() as u64, Relaxed);
                                    }
                                    Envelope {
                                        seq,
                                        doc: Box::new(Document::from_bytes(e.id, e.raw)),
                                        state: State::Failed {
                                            stage: "source".into(),
                                            error: e.message,
                                            policy: pipeline_policy,
                                        },
                                        replay,
                                    }
                                }
                            };
                            if !replay {
                                live.docs_read.fetch_add(1, Relaxed);
                            }
                            seq += 1;
                            if tx0.send(env).is_err() {
                                break;
                            }
                        }
                        source.skipped()
                    })
                    .expect("spawn source thread")
            };

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

            // Sink, on this thread.
            let mut dl = DeadLetter::new(dead_letter.clone());
            let mut reorder: BTreeMap<u64, Envelope> = BTreeMap::new();
            let mut next_seq = 0u64;
            let mut failures = Vec::new();
            let mut docs_failed = 0u64;
            let mut drop_reasons: BTreeMap<String, u64> = BTreeMap::new();
            let mut languages: BTreeMap<String, u64> = BTreeMap::new();
            let mut warnings: BTreeMap<String, u64> = BTreeMap::new();
            let mut fatal: Option<String> = None;
            let mut accounted = 0u64;
            let mut cancelled = 0u64;
            // The sink's own write failed: its output is cut mid-line.
            let mut sink_broke = false;
            let _s = tracing::info_span!("sink").entered();
            let mut replayed = 0u64;
            let mut emit = |env: Envelope, fatal: &mut Option<String>| {
                if env.replay {
                    replayed += 1;
                    let _ = permit_rx.try_recv();
                    return;
                }
                match env.state {
                    State::Ok => {
                        if fatal.is_some() {
                            cancelled += 1;
                        } else {
                            match sink.write(&env.doc) {
                                Ok(()) => {
                                    live.docs_written.fetch_add(1, Relaxed);
                                    if let Some(l) = &env.doc.lang {
                                        *languages.entry(l.clone()).or_default() += 1;
                                    }
                                    let mut warned: Vec<&str> = (env.doc.diagnostics.iter())
                                        .filter(|d| d.severity == Severity::Warning)
                                        .map(|d| d.stage.as_str())
                                        .collect();
                                    warned.sort_unstable();
                                    warned.dedup();
                                    for st in warned {
                                        *warnings.entry(st.to_string()).or_default() += 1;
                                    }
                                }
                                Err(e) => {
                                    *fatal = Some(format!("sink: {e}"));
                                    sink_broke = true;
                                    cancelled += 1;
                                    cancel.cancel();
                                }
                            }
                        }
                    }
                    State::Dropped(reason) => {
                        tracing::debug!(doc = %env.doc.id, %reason, "dropped");
                        *drop_reasons.entry(reason).or_default() += 1;
                    }
                    State::Failed {
                        stage,
                        error,
                        policy,
                    } => {
                        docs_failed += 1;
                        tracing::warn!(doc = %env.doc.id, %stage, %error, "document failed");
                        if failures.len() < 100 {
                            failures.push(Failure {
                                id: env.doc.id.clone(),
                                stage: stage.clone(),
                                error: error.clone(),
                            });
                        }
                        if let Err(e) = sink.failed(&env.doc, &stage, &error) {
                            if fatal.is_none() {
                                *fatal = Some(format!("sink: {e}"));
                            }
                            cancel.cancel();
                        }
                        match policy {
                            OnError::Skip => {}
                            OnError::DeadLetter => {
                                // The sink keeps it (beside its checkpoints), or the file does.
                                let written = match sink.dead_letter(&env.doc, &stage, &error) {
                                    Ok(true) => Ok(()),
                                    Ok(false) => dl
                                        .write(&env.doc, &stage, &error)
                                        .map_err(|e| e.to_string()),
                                    Err(e) => Err(e.to_string()),
                                };
                                match written {
                                    Ok(()) => {
                                        live.dead_lettered.fetch_add(1, Relaxed);
                                    }
                                    Err(e) => {
                                        if fatal.is_none() {
                                            *fatal = Some(format!("dead-letter file: {e}"));
                                        }
                                        cancel.cancel();
                                    }
                                }
                            }
                            OnError::Fail => {
                                if fatal.is_none() {
                                    *fatal = Some(format!(
                                        "document `{}` failed in stage `{stage}`: {error}",
                                        env.doc.id
                                    ));
                                }
                                cancel.cancel();
                            }
                        }
                    }
                }
                accounted += 1;
                if fatal.is_none() {
                    if let Err(e) = sink.accounted(accounted) {
                        *fatal = Some(format!("sink: {e}"));
                        sink_broke = true;
                        cancel.cancel();
                    }
                }
                let _ = permit_rx.try_recv();
            };
            for env in rx.iter() {
                if !settings.ordered {
                    emit(env, &mut fatal);
                    continue;
                }
                reorder.insert(env.seq, env);
                while let Some(env) = reorder.remove(&next_seq) {
                    next_seq += 1;
                    emit(env, &mut fatal);
                }
            }
            // Anything left means a gap (cannot happen unless a worker died); emit in order.
            for (_, env) in std::mem::take(&mut reorder) {
                emit(env, &mut fatal);
            }
            // A failed run never replaces the previous output: what it wrote goes apart,
            // unless the sink itself broke (a full disk): its output is cut mid-line, and its
            // temp file goes with it, so the space comes back.
            let mut partial = None;
            if fatal.is_none() {
                if let Err(e) = sink.finish() {
                    fatal = Some(format!("sink: {e}"));
                }
            } else if !sink_broke {
                match sink.finish_partial() {
                    Ok(p) => partial = p,
                    Err(e) => tracing::warn!("cannot keep the partial output: {e}"),
                }
            }
            if let Err(e) = dl.finish() {
                fatal.get_or_insert(format!("dead-letter file: {e}"));
            }
            let outcome = match fatal {
                Some(m) => RunOutcome::Failed(m),
                None if cancel.is_cancelled() => RunOutcome::Interrupted,
                None => RunOutcome::Completed,
            };
            let mut report = RunReport::from_live(
                &settings.name,
                &live,
                outcome,
                failures,
                docs_failed,
                drop_reasons,
                languages,
                warnings,
            );
            report.docs_cancelled = cancelled;
            report.docs_replayed = replayed;
            report.partial_output = partial.map(|p| p.display().to_string());
            report.source_skipped = source_thread.join().unwrap_or_default();
            report
        })
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
