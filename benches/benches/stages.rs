//! Single-core throughput of each built-in stage on seeds-derived documents (~5 MB per batch),
//! and of decode plus clean on the real pages of the trafilatura benchmark.

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use pipeline_core::{Document, Stage};
use textpipe_benches::corpus;
use textpipe_stages::clean::{CleanOptions, Cleaner, Policy};
use textpipe_stages::decode::{DecodeOptions, Decoder, HtmlMode};
use textpipe_stages::segment::Segmenter;
use textpipe_stages::summarise::{SummariseOptions, Summariser};
use textpipe_stages::tag::{TagOptions, Tagger};

const DOCS: usize = 1_000;
const SIZE: usize = 5_000;

/// The corpus with `text` set (input for stages after decode).
fn text_corpus() -> Vec<Document> {
    corpus(DOCS, SIZE)
        .into_iter()
        .map(|mut d| {
            d.text = String::from_utf8(d.raw.clone()).unwrap_or_default();
            d
        })
        .collect()
}

/// Fills a document's paragraphs, sentences and tokens, as the segment stage does.
fn segment_into(seg: &Segmenter, d: &mut Document) {
    let (p, s, t) = seg.segment(&d.text);
    d.paragraphs = p;
    d.sentences = s;
    d.tokens = (t.iter())
        .map(|t| pipeline_core::Token {
            span: t.span,
            kind: t.kind.as_str().into(),
            lower: None,
            stem: None,
        })
        .collect();
}

/// The corpus with paragraphs, sentences and tokens segmented (input for tag and summarise).
fn segmented_corpus() -> Vec<Document> {
    let seg = Segmenter::new();
    text_corpus()
        .into_iter()
        .map(|mut d| {
            segment_into(&seg, &mut d);
            d
        })
        .collect()
}

/// The Klexikon validation articles (real German text, about 30 KB each), segmented, if
/// `../shared` is there.
fn klexikon_segmented() -> Vec<Document> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/eval/summ/klexikon-validation.jsonl"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{path} not found: benches on Klexikon articles skipped");
        return Vec::new();
    };
    let seg = Segmenter::new();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .enumerate()
        .map(|(i, r)| {
            let mut d = Document::from_text(i.to_string(), r["text"].as_str().unwrap_or(""));
            segment_into(&seg, &mut d);
            d.lang = Some("de".into());
            d
        })
        .collect()
}

/// A group measured in bytes of `docs` (raw bytes, or text once decoded).
fn group<'a>(c: &'a mut Criterion, name: &str, bytes: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g
}

/// Runs a fresh stage from `make` over a fresh copy of `docs` per iteration (both built
/// outside the timing), so state such as a duplicate index starts empty each time.
fn run(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    docs: &[Document],
    make: &dyn Fn() -> Box<dyn Stage>,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            || (docs.to_vec(), make()),
            |(mut docs, mut stage)| {
                for d in &mut docs {
                    let _ = stage.process(d);
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
}

fn bench_decode(c: &mut Criterion) {
    let plain = corpus(DOCS, SIZE);
    let text = |d: &Document| String::from_utf8(d.raw.clone()).unwrap_or_default();
    let legacy: Vec<Document> = plain
        .iter()
        .map(|d| {
            Document::from_bytes(
                d.id.clone(),
                encoding_rs::WINDOWS_1252.encode(&text(d)).0.into_owned(),
            )
        })
        .collect();
    let html: Vec<Document> = plain
        .iter()
        .map(|d| {
            let mut page = String::from("<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Nachrichten</title><script>var x=1;</script></head><body><nav class=\"menu\"><ul><li><a href=\"/\">Start</a></li><li><a href=\"/politik\">Politik</a></li></ul></nav><article>");
            for p in text(d).split("\n\n") {
                page.push_str("<p>");
                page.push_str(p);
                page.push_str("</p>\n");
            }
            page.push_str("</article><footer class=\"site-footer\"><p>© 2024</p></footer></body></html>");
            Document::from_bytes(d.id.clone(), page.into_bytes())
        })
        .collect();
    // UTF-8 read as Windows-1252 and stored as UTF-8: the whole text, and one paragraph in
    // four (mojibake mixed with correct text, repaired word by word).
    let mojibake = |every: usize| -> Vec<Document> {
        plain
            .iter()
            .map(|d| {
                let t = text(d);
                let broken: Vec<String> = t
                    .split("\n\n")
                    .enumerate()
                    .map(|(i, p)| {
                        if i % every == 0 {
                            encoding_rs::WINDOWS_1252
                                .decode(p.as_bytes())
                                .0
                                .into_owned()
                        } else {
                            p.to_string()
                        }
                    })
                    .collect();
                Document::from_bytes(d.id.clone(), broken.join("\n\n").into_bytes())
            })
            .collect()
    };
    let (whole, mixed) = (mojibake(1), mojibake(4));
    for (name, docs) in [
        ("valid UTF-8 plain text", &plain),
        ("Windows-1252 plain text (detected)", &legacy),
        ("HTML to blocks", &html),
        ("mojibake plain text, whole", &whole),
        ("mojibake plain text, one paragraph in four", &mixed),
    ] {
        let bytes = docs.iter().map(|d| d.raw.len()).sum();
        let mut g = group(c, "decode", bytes);
        run(&mut g, name, docs, &|| {
            Box::new(Decoder::new(DecodeOptions {
                html: HtmlMode::Auto,
                ..Default::default()
            }))
        });
        g.finish();
    }
}

fn bench_segment(c: &mut Criterion) {
    let docs = text_corpus();
    let mut g = group(c, "segment", docs.iter().map(|d| d.text.len()).sum());
    run(&mut g, "sentences and tokens", &docs, &|| {
        Box::new(Segmenter::new())
    });
    g.finish();
}

fn bench_clean(c: &mut Criterion) {
    let docs = text_corpus();
    let mut g = group(c, "clean", docs.iter().map(|d| d.text.len()).sum());
    for (name, duplicates) in [
        ("plain text, duplicates flagged", Policy::Flag),
        ("plain text, no duplicate check", Policy::Keep),
    ] {
        run(&mut g, name, &docs, &|| {
            Box::new(Cleaner::with_options(CleanOptions {
                duplicates,
                ..Default::default()
            }))
        });
    }
    g.finish();
}

/// decode then clean on real web pages: the trafilatura benchmark's HTML files in
/// `../shared/eval/clean/html/trafilatura/` (skipped, with a note, where they are absent).
fn bench_clean_html(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/clean/html/trafilatura");
    let mut paths: Vec<_> = ["eval", "cache"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    paths.sort();
    let docs: Vec<Document> = paths
        .iter()
        .filter_map(|p| {
            let raw = std::fs::read(p).ok()?;
            Some(Document::from_bytes(p.display().to_string(), raw))
        })
        .collect();
    if docs.is_empty() {
        eprintln!(
            "clean/HTML pages: no pages under {}; skipped",
            dir.display()
        );
        return;
    }
    let bytes = docs.iter().map(|d| d.raw.len()).sum();
    let mut g = group(c, "clean", bytes);
    g.bench_function("HTML pages with decode (trafilatura benchmark)", |b| {
        b.iter_batched(
            || {
                let decode = Decoder::new(DecodeOptions {
                    html: HtmlMode::Auto,
                    ..Default::default()
                });
                (docs.to_vec(), decode, Cleaner::new())
            },
            |(mut docs, mut decode, mut clean)| {
                for d in &mut docs {
                    if decode.process(d).is_ok() {
                        let _ = clean.process(d);
                    }
                }
                docs
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The CoNLL-2003 development articles (English news; the data keeps no paragraphs, so
/// each article's sentences make one), segmented, if `../shared` is there.
fn conll_articles() -> Vec<Document> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/eval/ner/conll2003-dev.jsonl"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{path} not found: benches on English news skipped");
        return Vec::new();
    };
    let mut docs: Vec<(String, String)> = Vec::new();
    for r in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (id, t) = (
            r["doc_id"].as_str().unwrap_or(""),
            r["text"].as_str().unwrap_or(""),
        );
        match docs.last_mut() {
            Some((last, body)) if last == id => {
                body.push(' ');
                body.push_str(t);
            }
            _ => docs.push((id.to_string(), t.to_string())),
        }
    }
    let seg = Segmenter::new();
    docs.into_iter()
        .map(|(id, body)| {
            let mut d = Document::from_text(id, body);
            segment_into(&seg, &mut d);
            d
        })
        .collect()
}

fn bench_tag(c: &mut Criterion) {
    let klexikon = klexikon_segmented();
    if !klexikon.is_empty() {
        let mut g = group(c, "tag", klexikon.iter().map(|d| d.text.len()).sum());
        run(&mut g, "Klexikon articles, all parts", &klexikon, &|| {
            Box::new(Tagger::new(TagOptions::default()))
        });
        g.finish();
    }
    let english = conll_articles();
    if !english.is_empty() {
        let mut g = group(c, "tag", english.iter().map(|d| d.text.len()).sum());
        run(
            &mut g,
            "English news (CoNLL-2003 dev), all parts",
            &english,
            &|| Box::new(Tagger::new(TagOptions::default())),
        );
        run(
            &mut g,
            "English news (CoNLL-2003 dev), language and keywords",
            &english,
            &|| {
                Box::new(Tagger::new(TagOptions {
                    entities: false,
                    ..TagOptions::default()
                }))
            },
        );
        g.finish();
    }
    let docs = segmented_corpus();
    let mut g = group(c, "tag", docs.iter().map(|d| d.text.len()).sum());
    run(&mut g, "language, entities and keywords", &docs, &|| {
        Box::new(Tagger::new(TagOptions::default()))
    });
    run(
        &mut g,
        "language and keywords (entities off)",
        &docs,
        &|| {
            Box::new(Tagger::new(TagOptions {
                entities: false,
                ..TagOptions::default()
            }))
        },
    );
    g.finish();
}

/// Paragraphs of the shared language gold (18 languages), if `../shared` is there.
fn ud_paragraphs() -> Vec<Document> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/eval/lang/ud-dev.jsonl"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{path} not found: language-identification bench on real paragraphs skipped");
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["kind"] == "paragraph")
        .enumerate()
        .map(|(i, r)| Document::from_text(i.to_string(), r["text"].as_str().unwrap_or("")))
        .collect()
}

fn bench_language(c: &mut Criterion) {
    let only_language = || {
        Box::new(Tagger::new(TagOptions {
            entities: false,
            keywords: 0,
            ..TagOptions::default()
        })) as Box<dyn Stage>
    };
    let docs = ud_paragraphs();
    if !docs.is_empty() {
        let mut g = group(c, "language", docs.iter().map(|d| d.text.len()).sum());
        run(&mut g, "UD paragraphs, 18 languages", &docs, &only_language);
        g.finish();
    }
    let docs = segmented_corpus();
    let mut g = group(c, "language", docs.iter().map(|d| d.text.len()).sum());
    run(
        &mut g,
        "5 KB German articles, per paragraph",
        &docs,
        &only_language,
    );
    g.finish();
}

fn bench_summarise(c: &mut Criterion) {
    let summariser = || Box::new(Summariser::new(SummariseOptions::default())) as Box<dyn Stage>;
    let docs = segmented_corpus();
    let mut g = group(c, "summarise", docs.iter().map(|d| d.text.len()).sum());
    run(&mut g, "3 sentences of 5 KB articles", &docs, &summariser);
    g.finish();
    let docs = klexikon_segmented();
    if !docs.is_empty() {
        let mut g = group(c, "summarise", docs.iter().map(|d| d.text.len()).sum());
        run(
            &mut g,
            "3 sentences of Klexikon articles",
            &docs,
            &summariser,
        );
        g.finish();
    }
}

criterion_group!(
    benches,
    bench_decode,
    bench_segment,
    bench_clean_html,
    bench_clean,
    bench_tag,
    bench_language,
    bench_summarise
);
criterion_main!(benches);
