//! tag on the seeds: German, confident, with the key phrases of each document.

mod common;

use pipeline_core::{Document, Stage};
use textpipe_stages::clean::Cleaner;
use textpipe_stages::segment::Segmenter;
use textpipe_stages::tag::{TagOptions, Tagger};

/// The seeds through decode, clean, segment and tag: (file name, document).
fn tagged_seeds() -> Vec<(String, Document)> {
    common::decoded_seeds()
        .into_iter()
        .map(|(name, mut d)| {
            Cleaner::new().process(&mut d).unwrap();
            Segmenter::new().process(&mut d).unwrap();
            Tagger::new(TagOptions::default()).process(&mut d).unwrap();
            (name, d)
        })
        .collect()
}

#[test]
fn seeds_are_german_and_keywords_name_the_topic() {
    let mut all_keywords = Vec::new();
    for (name, d) in tagged_seeds() {
        assert_eq!(d.lang.as_deref(), Some("de"), "{name}");
        assert!(d.meta["lang_confidence"].as_f64().unwrap() > 0.9);
        assert!(!d.meta.contains_key("mixed_languages"));
        assert_eq!(d.keywords.len(), 10);
        all_keywords.push(
            d.keywords
                .iter()
                .map(|k| k.text.clone())
                .collect::<Vec<_>>(),
        );
    }
    assert!(
        all_keywords[0]
            .iter()
            .any(|k| k == "Einheitlichen Wirtschaftsraumes"),
        "{:?}",
        all_keywords[0]
    );
    assert!(
        all_keywords[1].iter().any(|k| k == "Sergej Lawrow"),
        "{:?}",
        all_keywords[1]
    );
    assert!(
        all_keywords[2].iter().any(|k| k == "Marija Sacharowa"),
        "{:?}",
        all_keywords[2]
    );
    assert!(
        all_keywords[4][..2].contains(&"Putin".to_string())
            && all_keywords[4][..2].contains(&"Lukaschenko".to_string()),
        "{:?}",
        all_keywords[4]
    );
}

/// The names on the seeds: each name's mentions (words of entity texts, case-folded)
/// carry the expected label more often than any other, and each is found.
#[test]
fn seed_entities_have_their_types() {
    use std::collections::BTreeMap;
    let mut labels: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (_, d) in tagged_seeds() {
        for e in &d.entities {
            for w in e.text.split([' ', '-']) {
                *labels
                    .entry(w.to_lowercase())
                    .or_default()
                    .entry(e.label.clone())
                    .or_insert(0) += 1;
            }
        }
    }
    let expect = [
        ("PER", &["Putin", "Lukaschenko", "Lawrow", "Sacharowa"][..]),
        ("LOC", &["Belarus", "Russland", "Minsk", "Moskau"][..]),
        ("ORG", &["EAWU", "OVKS", "OSZE", "NATO", "BelTA"][..]),
    ];
    for (want, names) in expect {
        for n in names {
            let got = labels.get(&n.to_lowercase()).cloned().unwrap_or_default();
            let best = got.iter().max_by_key(|(_, c)| **c).map(|(l, _)| l.as_str());
            assert_eq!(best, Some(want), "{n}: {got:?}");
        }
    }
}
