//! The whole default pipeline (`configs/default.toml`) over ~5 MB of seeds-derived documents,
//! with an in-memory source and a null sink, so only the stages and the engine are measured.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pipeline_core::{CancelToken, Registry, Runner};
use textpipe_benches::{corpus, MemSource, NullSink};

fn pipeline(c: &mut Criterion) {
    let docs = corpus(1_000, 5_000);
    let bytes: usize = docs.iter().map(|d| d.raw.len()).sum();
    let mut reg = Registry::new();
    textpipe_io::register(&mut reg);
    textpipe_stages::register(&mut reg);
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/default.toml");
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    // The config as given, and with a no-op native plugin stage appended: the cost of the boundary.
    let text = std::fs::read_to_string(&config).expect("default config");
    let noop = textpipe_benches::build_plugins().join("textpipe_noop");
    let with_noop = format!(
        "{text}\n[[stage]]\nname = \"noop\"\nkind = \"plugin\"\n[stage.options]\npath = {:?}\n",
        noop.display().to_string()
    );
    for (name, config_text) in [
        ("default.toml, 1000 docs of 5 KB", &text),
        ("default.toml + no-op plugin, 1000 docs of 5 KB", &with_noop),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut plan =
                        pipeline_core::config::load_text(&config, config_text, &[], &reg)
                            .expect("config loads");
                    plan.source = Box::new(MemSource(docs.clone().into_iter()));
                    plan.sink = Box::new(NullSink(0));
                    plan
                },
                |plan| {
                    let r = Runner::new(plan).expect("start").run(&CancelToken::new());
                    assert_eq!(r.docs_read, 1_000);
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
