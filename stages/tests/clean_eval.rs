//! clean on real data: the seeds' line labels and the trafilatura benchmark pages
//! (../shared), scored as `textpipe eval clean` does.

use pipeline_core::{Document, Outcome, Stage};
use textpipe_stages::clean::Cleaner;
use textpipe_stages::decode::{DecodeOptions, Decoder};

fn shared(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_clean(doc: &mut Document) -> bool {
    let mut dec = Decoder::new(DecodeOptions::default());
    let mut cl = Cleaner::new();
    matches!(dec.process(doc), Ok(Outcome::Keep)) && matches!(cl.process(doc), Ok(Outcome::Keep))
}

#[test]
fn seeds_keep_every_article_line_and_drop_the_boilerplate() {
    let gold = shared("gold/seeds-clean");
    let mut files: Vec<_> = std::fs::read_dir(&gold)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(shared(&format!("seeds/{name}.txt"))).unwrap();
        let mut doc = Document::from_bytes(name.clone(), raw);
        assert!(decode_clean(&mut doc));
        let kept: std::collections::HashSet<String> = doc.text.lines().map(squash).collect();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let (label, text) = line.split_once('\t').unwrap();
            let k = kept.contains(&squash(text));
            match (label, k) {
                ("K", true) => tp += 1,
                ("K", false) => {
                    fn_ += 1;
                    eprintln!("K lost in {name}: {text}");
                }
                ("D", true) => {
                    fp += 1;
                    eprintln!("D kept in {name}: {text}");
                }
                _ => {}
            }
        }
    }
    let (p, r) = (tp as f64 / (tp + fp) as f64, tp as f64 / (tp + fn_) as f64);
    assert_eq!(fn_, 0, "no K line lost");
    assert!(p >= 0.95 && r >= 0.95, "P {p:.3} R {r:.3}");
}

#[test]
fn trafilatura_pages_html_and_text_dumps() {
    let rows = std::fs::read_to_string(shared("eval/clean/trafilatura-eval.jsonl")).unwrap();
    let (mut h, mut t) = ([0usize; 3], [0usize; 3]); // tp, fp, fn
    for line in rows.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let Ok(raw) =
            std::fs::read(shared("eval/clean/html").join(r["html_file"].as_str().unwrap()))
        else {
            continue;
        };
        let with: Vec<String> = r["with"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| squash(x.as_str().unwrap()))
            .collect();
        let without: Vec<String> = r["without"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| squash(x.as_str().unwrap()))
            .collect();
        let score = |text: &str, acc: &mut [usize; 3]| {
            let text = squash(text);
            for w in &with {
                if text.contains(w.as_str()) {
                    acc[0] += 1
                } else {
                    acc[2] += 1
                }
            }
            for w in &without {
                if text.contains(w.as_str()) {
                    acc[1] += 1;
                }
            }
        };
        let mut doc = Document::from_bytes("p", raw.clone());
        doc.declared.url = r["url"].as_str().map(String::from);
        let ok = decode_clean(&mut doc);
        score(if ok { &doc.text } else { "" }, &mut h);
        // The page as a naive scraper saves it: all visible text, one block per line.
        let mut d = Document::from_bytes("p", raw);
        d.declared.url = r["url"].as_str().map(String::from);
        let _ = Decoder::new(DecodeOptions::default()).process(&mut d);
        let dump = d
            .blocks
            .iter()
            .map(|b| b.text.replace('\n', " "))
            .collect::<Vec<_>>()
            .join("\n");
        let mut plain = Document::from_text("p", dump);
        let ok = decode_clean(&mut plain);
        score(if ok { &plain.text } else { "" }, &mut t);
    }
    let f1 = |a: [usize; 3]| {
        let (p, r) = (
            a[0] as f64 / (a[0] + a[1]) as f64,
            a[0] as f64 / (a[0] + a[2]) as f64,
        );
        2.0 * p * r / (p + r)
    };
    // Current levels; targets are 0.94 (HTML) and 0.85 (text dumps).
    assert!(f1(h) >= 0.87, "HTML F1 {:.3}", f1(h));
    assert!(f1(t) >= 0.81, "text-dump F1 {:.3}", f1(t));
}
