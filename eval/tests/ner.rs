//! `textpipe eval ner` with the shipped models, on the project's own tokens: entity F1
//! (exact span and type) on the dev files the models were tuned on (best epoch, ensemble
//! size): at least 0.65 on GermEval and 0.91 on CoNLL, and every type above a floor.

use pipeline_core::Registry;

fn ner(file: &str) -> serde_json::Value {
    let gold = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../shared/eval/ner/{file}"));
    let mut reg = Registry::new();
    textpipe_stages::register(&mut reg);
    let mut stages = textpipe_eval::Stages::new(reg, Vec::new());
    textpipe_eval::run("ner", &gold, &mut stages).unwrap().json
}

#[test]
fn germeval_dev() {
    let r = ner("germeval2014-dev.jsonl");
    let f1 = r["f1"].as_f64().unwrap();
    assert!(f1 >= 0.65, "GermEval dev F1 {f1:.4}");
    // The plain CRF reference (CRFsuite, gold tokens) scores 0.586.
    assert!(f1 > 0.586, "must beat the CRF reference: {f1:.4}");
    for t in ["PER", "LOC", "ORG", "OTH"] {
        let f = r["per_type"][t]["f1"].as_f64().unwrap();
        assert!(f > 0.4, "{t}: {f:.3}");
    }
}

#[test]
fn conll_dev() {
    let r = ner("conll2003-dev.jsonl");
    let f1 = r["f1"].as_f64().unwrap();
    assert!(f1 >= 0.91, "CoNLL dev F1 {f1:.4}");
    assert!(f1 > 0.896, "must beat the CRF reference: {f1:.4}");
    for t in ["PER", "LOC", "ORG", "MISC"] {
        let f = r["per_type"][t]["f1"].as_f64().unwrap();
        assert!(f > 0.85, "{t}: {f:.3}");
    }
}
