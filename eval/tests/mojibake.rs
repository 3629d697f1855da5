//! `textpipe eval mojibake`: real sentences of 18 languages broken through wrong code pages
//! and repaired by decode. Holds today's figures with a small margin, and that no clean
//! sentence is altered.

#[test]
fn generated_mojibake_from_the_shared_sentences() {
    let seg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/seg");
    // Cross-validated: the character model is trained on four folds of the records and
    // repairs the fifth.
    let r = textpipe_eval::mojibake::mojibake_cv(&[seg], 5).unwrap();
    let cv = &r.json["cv"];
    let rate = |k: &str| cv["common"][k]["rate"].as_f64().unwrap();
    // Today (six common code pages, 5 folds): once 1.000, twice 0.995, one word 0.980, one
    // sentence 0.990; the issue's bars are 0.99 / 0.95 / 0.95 / 0.95.
    assert!(rate("once") >= 0.995, "{}", r.text);
    assert!(rate("twice") >= 0.98, "{}", r.text);
    // Three times (today 0.995): no bar in the issue, but ftfy repairs it.
    assert!(rate("three times") >= 0.98, "{}", r.text);
    for (page, v) in cv["pages"].as_object().unwrap() {
        if [
            "iso-8859-2",
            "iso-8859-15",
            "windows-1253",
            "windows-1254",
            "windows-1257",
            "koi8-r",
        ]
        .contains(&page.as_str())
        {
            continue;
        }
        let once = v["once"]["rate"].as_f64().unwrap();
        let twice = v["twice"]["rate"].as_f64().unwrap();
        assert!(
            once >= 0.99 && twice >= 0.95,
            "{page}: {once} {twice}\n{}",
            r.text
        );
    }
    assert!(rate("one word") >= 0.96, "{}", r.text);
    assert!(rate("one sentence") >= 0.97, "{}", r.text);
    let set_aside = r.json["set_aside"]["common"]["one word"]["rate"]
        .as_f64()
        .unwrap();
    assert!(set_aside >= 0.96, "{}", r.text);
    let r = cv;
    let negatives = r["negatives_per_language"].as_object().unwrap();
    assert!(negatives.len() >= 18, "{negatives:?}");
    let cases: u64 = negatives
        .values()
        .map(|v| v["cases"].as_u64().unwrap())
        .sum();
    let kept: u64 = negatives
        .values()
        .map(|v| v["exact"].as_u64().unwrap())
        .sum();
    assert!(cases > 12_000, "{cases} clean sentences");
    assert_eq!(kept, cases, "clean sentences altered: {}", r["altered"]);
}

#[test]
fn generated_mojibake_from_news_sentences_the_model_never_saw() {
    // German and English news (the NER corpora): not in the character model's training text.
    let ner = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/ner");
    let r = textpipe_eval::mojibake::mojibake(&[ner]).unwrap();
    let rate = |k: &str| r.json["common"][k]["rate"].as_f64().unwrap();
    // Today: once 1.000, twice 1.000, one word 0.975, no clean sentence altered.
    assert!(rate("once") >= 0.995, "{}", r.text);
    assert!(rate("twice") >= 0.99, "{}", r.text);
    assert!(rate("one word") >= 0.96, "{}", r.text);
    assert!(
        r.json["altered"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
}
