//! segment on the seeds, and span invariants on arbitrary strings. The treebank and
//! golden-rule scores are checked through `textpipe eval segment` (eval/tests/segment.rs).

mod common;

use pipeline_core::{Document, Stage};
use proptest::prelude::*;
use textpipe_stages::segment::Segmenter;

fn seeds() -> Vec<String> {
    common::decoded_seeds()
        .into_iter()
        .map(|(_, d)| d.text)
        .collect()
}

#[test]
fn seeds_keep_abbreviations_dates_and_initials_and_end_headlines() {
    let seg = Segmenter::new();
    let mut checked = 0;
    for text in seeds() {
        let (_, spans, _) = seg.segment(&text);
        let ends: std::collections::HashSet<usize> = spans.iter().map(|s| s.end).collect();
        for needle in [
            "W. Putin",
            "A. Lukaschenko",
            "31. Mai",
            "38,6 Mrd. USD",
            "z. B.",
            "u.a.",
            "30. Jahrestages",
            "4. November",
        ] {
            for (at, _) in text.match_indices(needle) {
                checked += 1;
                for e in at + 1..at + needle.len() {
                    assert!(
                        !ends.contains(&e),
                        "split inside {needle:?} at {at}: {:?}",
                        &text[at.saturating_sub(30)..(at + 40).min(text.len())]
                    );
                }
            }
        }
        // Every line ends a sentence: headlines, datelines and paragraphs alike.
        let mut pos = 0;
        for line in text.split('\n') {
            let trimmed = line.trim_end();
            if !trimmed.trim().is_empty() {
                let end = pos + trimmed.len();
                assert!(
                    ends.contains(&end),
                    "no sentence end after line {trimmed:?}"
                );
            }
            pos += line.len() + 1;
        }
    }
    assert!(
        checked >= 8,
        "the seeds contain the checked phrases ({checked})"
    );
}

proptest! {
    #[test]
    fn spans_are_ordered_disjoint_and_on_char_boundaries(text in "\\PC{0,300}") {
        let mut d = Document::from_text("p", text.clone());
        let mut seg = Segmenter::new();
        seg.process(&mut d).unwrap();
        prop_assert!(d.check_spans().is_ok());
        for list in [&d.paragraphs, &d.sentences] {
            for w in list.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
        }
        for w in d.tokens.windows(2) {
            prop_assert!(w[0].span.end <= w[1].span.start);
        }
        for t in &d.tokens {
            prop_assert!(t.span.start < t.span.end);
        }
    }

    #[test]
    fn sentences_cover_every_token(text in "[A-Za-zÄÖÜäöüß0-9 .,!?„“\"'()\\n-]{0,200}") {
        let (_, sents, toks) = Segmenter::new().segment(&text);
        for t in &toks {
            prop_assert!(sents.iter().any(|s| s.start <= t.span.start && t.span.end <= s.end), "token {:?} outside sentences", &text[t.span.start..t.span.end]);
        }
    }
}
