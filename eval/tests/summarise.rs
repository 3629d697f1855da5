//! `textpipe eval summarise` on Klexikon: the summariser beats lead-3 on ROUGE-2 and sumy's
//! TextRank (measured the same way: R-1 0.192, R-L 0.102) on ROUGE-1 and ROUGE-L.

use pipeline_core::Registry;

#[test]
fn beats_lead_3_and_textrank_on_klexikon() {
    let gold = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/summ/klexikon-validation.jsonl");
    let mut reg = Registry::new();
    textpipe_stages::register(&mut reg);
    let mut stages = textpipe_eval::Stages::new(reg, Vec::new());
    let r = textpipe_eval::run("summarise", &gold, &mut stages).unwrap();
    let j = &r.json;
    let f = |who: &str, m: &str| j[who][m].as_f64().unwrap();
    assert_eq!(j["documents"], 274);
    assert!(f("textpipe", "rouge2") > f("lead", "rouge2"), "{}", r.text);
    assert!(f("textpipe", "rouge1") > 0.192, "{}", r.text);
    assert!(f("textpipe", "rougeL") > 0.102, "{}", r.text);
    assert!(
        f("lead", "rouge1") > f("random", "rouge1"),
        "baselines are sane: {}",
        r.text
    );
}
