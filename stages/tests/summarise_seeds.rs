//! On each seed, the 3-sentence summary (after decode, clean, segment) states the main fact.

use pipeline_core::{Document, Stage};
use textpipe_stages::clean::Cleaner;
use textpipe_stages::decode::{DecodeOptions, Decoder};
use textpipe_stages::segment::Segmenter;
use textpipe_stages::summarise::{SummariseOptions, Summariser};

fn summary(seed: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../seeds")
        .join(format!("{seed}.txt"));
    let mut d = Document::from_bytes(seed, std::fs::read(path).unwrap());
    Decoder::new(DecodeOptions::default())
        .process(&mut d)
        .unwrap();
    Cleaner::new().process(&mut d).unwrap();
    Segmenter::new().process(&mut d).unwrap();
    Summariser::new(SummariseOptions::default())
        .process(&mut d)
        .unwrap();
    let s = d.summary.unwrap();
    assert_eq!(s.sentences.len(), 3);
    s.text
}

#[test]
fn each_seed_summary_states_its_main_fact() {
    let cases: [(&str, &[&str]); 5] = [
        // Putin's official visit to Belarus on 31 May – 1 June 2012.
        (
            "000_c5a5ed7731ad6cab",
            &["31. Mai", "offizielle Besuch", "Wladimir Putin", "Belarus"],
        ),
        // Lavrov's working visit to Minsk on 18–19 January.
        (
            "001_295cf598dff3781f",
            &["Lawrow", "Minsk", "18. und 19. Januar"],
        ),
        // Zakharova: Belarus and Russia keep expanding their cooperation.
        (
            "002_8df6c6cd566bb883",
            &["Sacharowa", "Zusammenarbeit", "Belarus und Russland"],
        ),
        // Lavrov's working visit to Minsk on 25–26 November.
        (
            "003_37dca0e08439e705",
            &["25. und 26. November", "Lawrow", "Minsk"],
        ),
        // Putin assures Lukashenko of support against foreign "interference".
        (
            "004_c9ca5186267c3a6f",
            &["Putin", "Lukaschenko", "Einmischung"],
        ),
    ];
    for (seed, facts) in cases {
        let s = summary(seed);
        for f in facts {
            assert!(s.contains(f), "{seed}: summary lacks {f:?}:\n{s}");
        }
    }
}
