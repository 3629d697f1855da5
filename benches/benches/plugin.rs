//! The cost of the native plugin boundary: a no-op plugin stage (`plugins/noop`) over
//! documents that went through decode, clean, segment and tag (so the host builds the full
//! C view: tokens, sentences, entities, metadata). Compare its time per document with the
//! default pipeline's (`--bench pipeline`, which also runs the pipeline with the no-op stage
//! appended).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pipeline_core::{BuildContext, Registry, Stage};
use textpipe_benches::corpus;

fn plugin(c: &mut Criterion) {
    let mut reg = Registry::new();
    textpipe_stages::register(&mut reg);
    let ctx = BuildContext::default();
    let build = |kind: &str, options: toml::Table| -> Box<dyn Stage> {
        reg.stage(kind)
            .expect("stage kind")
            .prepare(options, &ctx)
            .expect("options")
            .instantiate()
            .expect("instance")
    };
    let mut docs = corpus(1_000, 5_000);
    for kind in ["decode", "clean", "segment", "tag"] {
        let mut st = build(kind, toml::Table::new());
        for d in &mut docs {
            let _ = st.process(d);
        }
    }
    let bytes: usize = docs.iter().map(|d| d.raw.len()).sum();
    let mut opts = toml::Table::new();
    let lib = textpipe_benches::build_plugins().join("textpipe_noop");
    opts.insert("path".into(), lib.display().to_string().into());
    let mut g = c.benchmark_group("plugin");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("no-op plugin stage, 1000 tagged docs of 5 KB", |b| {
        b.iter_batched(
            || (docs.clone(), build("plugin", opts.clone())),
            |(mut docs, mut stage)| {
                for d in &mut docs {
                    let _ = stage.process(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, plugin);
criterion_main!(benches);
