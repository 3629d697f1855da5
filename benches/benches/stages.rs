//! Single-core throughput of each built-in stage on seeds-derived documents (~5 MB per batch).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pipeline_core::{Document, Stage};
use textpipe_benches::corpus;
use textpipe_stages::clean::{CleanOptions, Cleaner, Policy};
use textpipe_stages::decode::{DecodeOptions, Decoder, HtmlMode};
use textpipe_stages::segment::Segmenter;
use textpipe_stages::summarise::{SummariseOptions, Summariser};
use textpipe_stages::tag::{TagOptions, Tagger};

const DOCS: usize = 1_000;
const SIZE: usize = 5_000;

fn bench_decode(c: &mut Criterion) {
    let plain = corpus(DOCS, SIZE);
    let legacy: Vec<Document> = plain
        .iter()
        .map(|d| {
            Document::from_bytes(
                d.id.clone(),
                encoding_rs::WINDOWS_1252
                    .encode(std::str::from_utf8(&d.raw).unwrap_or(""))
                    .0
                    .into_owned(),
            )
        })
        .collect();
    let html: Vec<Document> = plain
        .iter()
        .map(|d| {
            let text = std::str::from_utf8(&d.raw).unwrap_or("");
            let mut page = String::from("<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Nachrichten</title><script>var x=1;</script></head><body><nav class=\"menu\"><ul><li><a href=\"/\">Start</a></li><li><a href=\"/politik\">Politik</a></li></ul></nav><article>");
            for p in text.split("\n\n") {
                page.push_str("<p>");
                page.push_str(p);
                page.push_str("</p>\n");
            }
            page.push_str("</article><footer class=\"site-footer\"><p>© 2024</p></footer></body></html>");
            Document::from_bytes(d.id.clone(), page.into_bytes())
        })
        .collect();
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    for (name, docs, mode) in [
        ("valid UTF-8 plain text", &plain, HtmlMode::Auto),
        (
            "Windows-1252 plain text (detected)",
            &legacy,
            HtmlMode::Auto,
        ),
        ("HTML to blocks", &html, HtmlMode::Auto),
    ] {
        let bytes: usize = docs.iter().map(|d| d.raw.len()).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        let mut dec = Decoder::new(DecodeOptions {
            html: mode,
            ..Default::default()
        });
        g.bench_function(name, |b| {
            b.iter_batched(
                || docs.clone(),
                |mut docs| {
                    for d in &mut docs {
                        let _ = dec.process(d);
                    }
                    docs
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn bench_segment(c: &mut Criterion) {
    let docs: Vec<Document> = corpus(DOCS, SIZE)
        .into_iter()
        .map(|mut d| {
            d.text = String::from_utf8(d.raw.clone()).unwrap_or_default();
            d
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut g = c.benchmark_group("segment");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut seg = Segmenter::new();
    g.bench_function("sentences and tokens", |b| {
        b.iter_batched(
            || docs.clone(),
            |mut docs| {
                for d in &mut docs {
                    let _ = seg.process(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_clean(c: &mut Criterion) {
    let docs: Vec<Document> = corpus(DOCS, SIZE)
        .into_iter()
        .map(|mut d| {
            d.text = String::from_utf8(d.raw.clone()).unwrap_or_default();
            d
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut g = c.benchmark_group("clean");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    for (name, dups) in [
        ("plain text, duplicates flagged", Policy::Flag),
        ("plain text, no duplicate check", Policy::Keep),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    (
                        docs.clone(),
                        Cleaner::with_options(CleanOptions {
                            duplicates: dups,
                            ..Default::default()
                        }),
                    )
                },
                |(mut docs, mut cl)| {
                    for d in &mut docs {
                        let _ = cl.process(d);
                    }
                    docs
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn bench_summarise(c: &mut Criterion) {
    let seg = Segmenter::new();
    let docs: Vec<Document> = corpus(DOCS, SIZE)
        .into_iter()
        .map(|mut d| {
            d.text = String::from_utf8(d.raw.clone()).unwrap_or_default();
            let (p, s, _) = seg.segment(&d.text);
            d.paragraphs = p;
            d.sentences = s;
            d
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut g = c.benchmark_group("summarise");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut sum = Summariser::new(SummariseOptions::default());
    g.bench_function("3 sentences of 5 KB articles", |b| {
        b.iter_batched(
            || docs.clone(),
            |mut docs| {
                for d in &mut docs {
                    let _ = sum.process(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_tag(c: &mut Criterion) {
    let seg = Segmenter::new();
    let docs: Vec<Document> = corpus(DOCS, SIZE)
        .into_iter()
        .map(|mut d| {
            d.text = String::from_utf8(d.raw.clone()).unwrap_or_default();
            let (p, s, _) = seg.segment(&d.text);
            d.paragraphs = p;
            d.sentences = s;
            d
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut g = c.benchmark_group("tag");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut tag = Tagger::new(TagOptions::default());
    g.bench_function("language and keywords", |b| {
        b.iter_batched(
            || docs.clone(),
            |mut docs| {
                for d in &mut docs {
                    let _ = tag.process(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_decode,
    bench_segment,
    bench_clean,
    bench_tag,
    bench_summarise
);
criterion_main!(benches);
