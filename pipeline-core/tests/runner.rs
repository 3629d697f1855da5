//! Engine behaviour: ordering, back-pressure, error policies, panics, dead letters, shutdown.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipeline_core::config::{PipelineSection, StageSpec};
use pipeline_core::metrics::Outcome as RunOutcome;
use pipeline_core::{
    CancelToken, Document, OnError, Outcome, Plan, Runner, Sink, SinkError, Source, SourceError,
    Stage, StageError,
};

/// Yields `n` documents (or forever with `n = u64::MAX`); `bad` ids come out as source errors.
struct VecSource {
    n: u64,
    i: u64,
    bad: Vec<u64>,
    produced: Arc<AtomicU64>,
}

impl Source for VecSource {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        self.i += 1;
        self.produced.fetch_add(1, SeqCst);
        if self.bad.contains(&i) {
            return Some(Err(SourceError {
                id: format!("line:{i}"),
                message: "invalid JSON".into(),
                raw: b"{oops".to_vec(),
            }));
        }
        Some(Ok(Document::from_text(format!("d{i}"), format!("doc {i}"))))
    }
    fn describe(&self) -> String {
        "test".into()
    }
}

/// Collects documents; optionally slow; records the peak of produced − written.
#[derive(Clone, Default)]
struct Collect {
    docs: Arc<Mutex<Vec<Document>>>,
    delay: Duration,
    produced: Arc<AtomicU64>,
    peak_in_flight: Arc<AtomicU64>,
    cancel_after: Option<(usize, CancelToken)>,
    finished: Arc<AtomicU64>,
    /// `(id, stage)` of each failed document, as `Sink::failed` heard of it.
    failed: Arc<Mutex<Vec<(String, String)>>>,
}

impl Sink for Collect {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        std::thread::sleep(self.delay);
        let mut v = self.docs.lock().unwrap();
        v.push(doc.clone());
        let in_flight = self.produced.load(SeqCst).saturating_sub(v.len() as u64);
        self.peak_in_flight.fetch_max(in_flight, SeqCst);
        if let Some((n, c)) = &self.cancel_after {
            if v.len() >= *n {
                c.cancel();
            }
        }
        Ok(())
    }
    fn failed(&mut self, doc: &Document, stage: &str, _: &str) -> Result<(), SinkError> {
        let mut f = self.failed.lock().unwrap();
        f.push((doc.id.clone(), stage.to_string()));
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.finished.fetch_add(1, SeqCst);
        Ok(())
    }
    fn describe(&self) -> String {
        "collect".into()
    }
}

/// Sleeps a varying time (so workers finish out of order), then behaves by the document number.
struct Behave;

impl Stage for Behave {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let i: u64 = doc.id.trim_start_matches('d').parse().unwrap_or(0);
        std::thread::sleep(Duration::from_micros((i * 7919) % 300));
        if i == 13 {
            return Err(StageError::new("thirteen is unlucky"));
        }
        if i == 17 {
            panic!("seventeen blew up");
        }
        if i == 19 {
            return Ok(Outcome::Drop {
                reason: "too short".into(),
            });
        }
        doc.text = doc.text.to_uppercase();
        Ok(Outcome::Keep)
    }
}

fn stage(name: &str, workers: usize, on_error: OnError) -> StageSpec {
    StageSpec {
        name: name.into(),
        kind: "behave".into(),
        workers,
        on_error,
        resolved_options: toml::Table::new(),
        added_for: None,
        prepared: Arc::new(|| Ok(Box::new(Behave) as Box<dyn Stage>)),
    }
}

fn plan(n: u64, stages: Vec<StageSpec>, sink: Collect, settings: PipelineSection) -> Plan {
    Plan {
        settings,
        dead_letter: None,
        source: Box::new(VecSource {
            n,
            i: 0,
            bad: vec![5],
            produced: sink.produced.clone(),
        }),
        stages,
        sink: Box::new(sink),
        sink_options: Default::default(),
    }
}

fn settings(cap: usize, ordered: bool, on_error: OnError) -> PipelineSection {
    PipelineSection {
        channel_capacity: cap,
        ordered,
        on_error,
        ..Default::default()
    }
}

#[test]
fn ordered_output_with_many_workers_and_every_document_accounted() {
    let sink = Collect::default();
    let p = plan(
        300,
        vec![stage("a", 4, OnError::Skip), stage("b", 3, OnError::Skip)],
        sink.clone(),
        settings(4, true, OnError::Skip),
    );
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    assert_eq!(report.outcome, RunOutcome::Completed);
    let docs = sink.docs.lock().unwrap();
    let ids: Vec<u64> = docs.iter().map(|d| d.id[1..].parse().unwrap()).collect();
    let expected: Vec<u64> = (0..300).filter(|i| ![5, 13, 17, 19].contains(i)).collect();
    assert_eq!(ids, expected, "input order kept, failed/dropped left out");
    assert!(docs.iter().all(|d| d.text.starts_with("DOC")));
    // 5 (source), 13 (error), 17 (panic) failed; 19 dropped. Stage b never saw them.
    assert_eq!(report.docs_failed, 3);
    assert_eq!(report.docs_dropped, 1);
    assert_eq!(report.docs_read, 300);
    assert_eq!(report.docs_written, 296);
    assert_eq!(report.stages[0].failed, 2);
    assert_eq!(report.stages[1].docs_in, 296);
    assert!(report
        .failures
        .iter()
        .any(|f| f.error.contains("panicked: seventeen blew up")));
    assert_eq!(sink.finished.load(SeqCst), 1);
}

#[test]
fn unordered_output_holds_the_same_set() {
    let sink = Collect::default();
    let p = plan(
        200,
        vec![stage("a", 4, OnError::Skip)],
        sink.clone(),
        settings(2, false, OnError::Skip),
    );
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    let mut ids: Vec<u64> = sink
        .docs
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.id[1..].parse().unwrap())
        .collect();
    ids.sort();
    let expected: Vec<u64> = (0..200).filter(|i| ![5, 13, 17, 19].contains(i)).collect();
    assert_eq!(ids, expected);
    assert_eq!(report.docs_written, 196);
}

#[test]
fn slow_sink_bounds_documents_in_flight() {
    let sink = Collect {
        delay: Duration::from_millis(1),
        ..Default::default()
    };
    let cap = 2;
    let workers = 2;
    let p = plan(
        300,
        vec![stage("a", workers, OnError::Skip)],
        sink.clone(),
        settings(cap, true, OnError::Skip),
    );
    Runner::new(p).unwrap().run(&CancelToken::new());
    let peak = sink.peak_in_flight.load(SeqCst);
    // Bound: cap × (stages + 1) + workers + 1 permits, plus failed/dropped ones not written.
    let bound = (cap * 2 + workers + 1) as u64 + 4;
    assert!(peak <= bound, "peak in flight {peak} > bound {bound}");
}

#[test]
fn fail_policy_stops_the_run_but_flushes_what_is_done() {
    let sink = Collect::default();
    let mut s = stage("a", 2, OnError::Fail);
    s.on_error = OnError::Fail;
    let mut p = plan(
        10_000,
        vec![s],
        sink.clone(),
        settings(4, true, OnError::Skip),
    );
    // Make the source clean so the first failure is the stage's (doc 13).
    p.source = Box::new(VecSource {
        n: 10_000,
        i: 0,
        bad: vec![],
        produced: sink.produced.clone(),
    });
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    match &report.outcome {
        RunOutcome::Failed(m) => assert!(m.contains("`d13` failed in stage `a`"), "{m}"),
        o => panic!("expected failure, got {o:?}"),
    }
    assert!(report.docs_read < 10_000, "the source stopped early");
    assert_eq!(sink.finished.load(SeqCst), 1, "sink flushed");
    let docs = sink.docs.lock().unwrap();
    assert!(docs.iter().take(13).map(|d| d.id.as_str()).eq((0..13)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .iter()
        .map(String::as_str)));
}

#[test]
fn dead_letter_keeps_id_stage_error_and_input() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dl/dead.jsonl");
    let sink = Collect::default();
    let mut p = plan(
        30,
        vec![stage("a", 3, OnError::DeadLetter)],
        sink.clone(),
        settings(4, true, OnError::DeadLetter),
    );
    p.dead_letter = Some(dl.clone());
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.docs_dead_lettered, 3);
    let text = std::fs::read_to_string(&dl).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], "line:5");
    assert_eq!(lines[0]["stage"], "source");
    assert_eq!(lines[0]["raw"], "{oops");
    assert_eq!(lines[1]["id"], "d13");
    assert_eq!(lines[1]["stage"], "a");
    assert_eq!(lines[1]["error"], "thirteen is unlucky");
    assert_eq!(
        lines[1]["raw"], "doc 13",
        "original input, not the processed text"
    );
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("seventeen blew up"));
}

#[test]
fn skip_policy_writes_no_dead_letter_file() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let sink = Collect::default();
    let mut p = plan(
        30,
        vec![stage("a", 1, OnError::Skip)],
        sink.clone(),
        settings(4, true, OnError::Skip),
    );
    p.dead_letter = Some(dl.clone());
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    assert_eq!(report.docs_failed, 3);
    assert!(!dl.exists());
    // The sink still hears of each failure, in input order (the Python API returns them).
    let failed = sink.failed.lock().unwrap().clone();
    let ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["line:5", "d13", "d17"]);
    let stages: Vec<&str> = failed.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(stages, ["source", "a", "a"]);
}

#[test]
fn cancel_stops_reading_and_accounts_for_every_document() {
    let cancel = CancelToken::new();
    let sink = Collect {
        cancel_after: Some((50, cancel.clone())),
        ..Default::default()
    };
    let p = plan(
        u64::MAX,
        vec![stage("a", 2, OnError::Skip), stage("b", 2, OnError::Skip)],
        sink.clone(),
        settings(4, true, OnError::Skip),
    );
    let report = Runner::new(p).unwrap().run(&cancel);
    assert_eq!(report.outcome, RunOutcome::Interrupted);
    assert!(report.docs_written >= 50);
    assert_eq!(
        report.docs_read,
        report.docs_written + report.docs_failed + report.docs_dropped,
        "in-flight documents were finished, none lost"
    );
    assert_eq!(sink.finished.load(SeqCst), 1);
}

#[test]
fn metrics_count_busy_time_and_bytes() {
    let sink = Collect::default();
    let p = plan(
        50,
        vec![stage("a", 1, OnError::Skip)],
        sink,
        settings(4, true, OnError::Skip),
    );
    let report = Runner::new(p).unwrap().run(&CancelToken::new());
    let a = &report.stages[0];
    assert_eq!(a.docs_in, 49);
    assert!(a.bytes_in >= 49 * 5);
    assert!(a.busy_s > 0.0);
    assert!(report.table().contains("a ×1"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["outcome"]["status"], "completed");
}

/// Numbers the documents it sees: its output depends on the documents before.
struct Counter {
    seen: Arc<AtomicU64>,
    remembers: bool,
}

impl Stage for Counter {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let n = self.seen.fetch_add(1, SeqCst);
        doc.meta.insert("seen_before".into(), n.into());
        Ok(Outcome::Keep)
    }
    fn remembers(&self) -> bool {
        self.remembers
    }
}

fn counter(name: &str, seen: &Arc<AtomicU64>, remembers: bool) -> StageSpec {
    let seen = seen.clone();
    StageSpec {
        name: name.into(),
        kind: "counter".into(),
        workers: 1,
        on_error: OnError::Skip,
        resolved_options: toml::Table::new(),
        added_for: None,
        prepared: Arc::new(move || {
            Ok(Box::new(Counter {
                seen: seen.clone(),
                remembers,
            }) as Box<dyn Stage>)
        }),
    }
}

#[test]
fn a_resumed_run_replays_handled_documents_only_through_stages_that_remember() {
    // Documents 0..10 (5 a source error); the first 6 were handled by an earlier run.
    let run_with = |remembers: bool, max_document_bytes: u64| {
        let (first, last) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let sink = Collect::default();
        let p = plan(
            10,
            vec![
                counter("first", &first, remembers),
                counter("last", &last, false),
            ],
            sink.clone(),
            PipelineSection {
                max_document_bytes,
                ..settings(2, true, OnError::Skip)
            },
        );
        let mut runner = Runner::new(p).unwrap();
        runner.resume_after(6);
        let report = runner.run(&CancelToken::new());
        let docs = sink.docs.lock().unwrap().clone();
        (report, docs, first.load(SeqCst), last.load(SeqCst))
    };
    let run = |remembers: bool| run_with(remembers, 0);
    // The first stage remembers: it sees the 5 good handled documents again (not the
    // source error), the last stage does not; nothing handled is written or counted.
    let (report, docs, first, last) = run(true);
    let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d6", "d7", "d8", "d9"]);
    assert_eq!((first, last), (9, 4));
    assert_eq!(
        docs[0].meta["seen_before"], 0,
        "the last stage counts from the resume"
    );
    assert_eq!((report.docs_read, report.docs_written), (4, 4));
    assert_eq!((report.docs_replayed, report.docs_failed), (6, 0));
    assert_eq!(report.stages[0].docs_in, 4);
    // No stage remembers: the handled documents are skipped unread by any stage.
    let (report, docs, first, last) = run(false);
    assert_eq!(docs.len(), 4);
    assert_eq!((first, last), (4, 4));
    assert_eq!((report.docs_read, report.docs_replayed), (4, 0));
    // A document over max_document_bytes failed at the source in the earlier run: replayed,
    // it fails there again and never reaches a stage.
    let (report, docs, first, _) = run_with(true, 4);
    assert_eq!((docs.len(), first), (0, 0));
    assert_eq!((report.docs_failed, report.docs_replayed), (4, 6));
}
