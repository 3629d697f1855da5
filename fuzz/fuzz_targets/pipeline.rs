//! Arbitrary bytes through the whole default pipeline: decode (auto mode) → clean →
//! segment → tag → summarise, with the default options of each stage, as
//! `configs/default.toml` runs them. Nothing may panic, and every span must stay valid
//! after each stage.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use pipeline_core::{Document, Outcome, Stage};
use textpipe_stages::clean::{CleanOptions, Cleaner, Policy};
use textpipe_stages::decode::{DecodeOptions, Decoder};
use textpipe_stages::segment::Segmenter;
use textpipe_stages::summarise::{SummariseOptions, Summariser};
use textpipe_stages::tag::{TagOptions, Tagger};

thread_local! {
    // Built once (cue automata, models). Duplicates kept: no state between inputs.
    static STAGES: RefCell<Vec<Box<dyn Stage>>> = RefCell::new(vec![
        Box::new(Decoder::new(DecodeOptions::default())),
        Box::new(Cleaner::with_options(CleanOptions { duplicates: Policy::Keep, ..Default::default() })),
        Box::new(Segmenter::new()),
        Box::new(Tagger::new(TagOptions::default())),
        Box::new(Summariser::new(SummariseOptions::default())),
    ]);
}

fuzz_target!(|data: &[u8]| {
    let mut doc = Document::from_bytes("fuzz", data.to_vec());
    STAGES.with(|s| {
        for stage in s.borrow_mut().iter_mut() {
            match stage.process(&mut doc) {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop { .. }) | Err(_) => return,
            }
            assert!(doc.check_spans().is_ok(), "{:?}", doc.check_spans());
        }
    });
});
