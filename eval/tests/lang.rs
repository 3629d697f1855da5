//! `textpipe eval lang`: ≥ 99.5% of paragraphs of 100+ characters in the de and en seg files
//! get the right language (including URL- and signature-heavy ones).

use pipeline_core::Registry;

#[test]
fn language_id_on_seg_paragraphs() {
    let (mut ok, mut total) = (0u64, 0u64);
    for f in [
        "de_gsd-dev",
        "en_ewt-dev",
        "golden-rules-de",
        "golden-rules-en",
    ] {
        let gold = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/eval/seg/{f}.jsonl"));
        let mut reg = Registry::new();
        textpipe_stages::register(&mut reg);
        let mut stages = textpipe_eval::Stages::new(reg, Vec::new());
        let r = textpipe_eval::run("lang", &gold, &mut stages).unwrap();
        for (_, v) in r.json["per_language"].as_object().unwrap() {
            ok += v["correct"].as_u64().unwrap();
            total += v["paragraphs"].as_u64().unwrap();
        }
    }
    let acc = ok as f64 / total as f64;
    assert!(total > 600, "{total} paragraphs");
    assert!(acc >= 0.995, "accuracy {acc:.4} ({ok}/{total})");
}
