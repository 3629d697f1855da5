//! Arbitrary bytes into the decode stage (plain, HTML and auto mode, chosen by the first
//! byte), then clean and segment on whatever text comes out. Nothing may panic, and every
//! span must be valid.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use pipeline_core::{Document, Stage};
use textpipe_stages::clean::{CleanOptions, Cleaner, Policy};
use textpipe_stages::decode::{DecodeOptions, Decoder, HtmlMode};
use textpipe_stages::segment::Segmenter;

thread_local! {
    // Built once: the cleaner's cue automaton is costly to build. No duplicate state.
    static CLEAN: RefCell<Cleaner> = RefCell::new(Cleaner::with_options(CleanOptions { duplicates: Policy::Keep, ..Default::default() }));
    static SEGMENT: RefCell<Segmenter> = RefCell::new(Segmenter::new());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let html = match mode % 3 {
        0 => HtmlMode::Auto,
        1 => HtmlMode::Always,
        _ => HtmlMode::Never,
    };
    let mut doc = Document::from_bytes("fuzz", rest.to_vec());
    let mut dec = Decoder::new(DecodeOptions {
        html,
        ..Default::default()
    });
    if dec.process(&mut doc).is_err() {
        return;
    }
    assert_eq!(doc.raw, rest, "decode must not change the raw bytes");
    CLEAN.with(|c| {
        let _ = c.borrow_mut().process(&mut doc);
    });
    SEGMENT.with(|s| {
        let _ = s.borrow_mut().process(&mut doc);
    });
    assert!(doc.check_spans().is_ok(), "{:?}", doc.check_spans());
});
