//! Engine overhead: a five-stage no-op pipeline over 10,000 documents of 5 KB.
//! Throughput is reported per document-stage, so the time per element is the engine's
//! overhead per document per stage.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pipeline_core::config::{PipelineSection, StageSpec};
use pipeline_core::{CancelToken, Document, OnError, Outcome, Plan, Runner, Stage, StageError};
use textpipe_benches::{corpus, MemSource, NullSink};

struct Noop;
impl Stage for Noop {
    fn process(&mut self, _doc: &mut Document) -> Result<Outcome, StageError> {
        Ok(Outcome::Keep)
    }
}

fn plan(docs: Vec<Document>, stages: usize) -> Plan {
    Plan {
        settings: PipelineSection {
            ordered: true,
            ..Default::default()
        },
        dead_letter: None,
        source: Box::new(MemSource(docs.into_iter())),
        stages: (0..stages)
            .map(|i| StageSpec {
                name: format!("noop{i}"),
                kind: "noop".into(),
                workers: 1,
                on_error: OnError::Skip,
                resolved_options: toml_table(),
                added_for: None,
                prepared: Arc::new(|| Ok(Box::new(Noop) as Box<dyn Stage>)),
            })
            .collect(),
        sink: Box::new(NullSink(0)),
        sink_options: Default::default(),
    }
}

fn toml_table() -> pipeline_core::config::StageSpecOptions {
    Default::default()
}

fn engine(c: &mut Criterion) {
    const N: usize = 10_000;
    const STAGES: usize = 5;
    let docs = corpus(N, 5_000);
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements((N * STAGES) as u64));
    g.bench_function("5 no-op stages × 10k docs of 5 KB (per doc-stage)", |b| {
        b.iter_batched(
            || plan(docs.clone(), STAGES),
            |p| {
                let r = Runner::new(p).expect("start").run(&CancelToken::new());
                assert_eq!(r.docs_written, N as u64);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
