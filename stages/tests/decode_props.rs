//! Property tests: decode (and the stages after it) never panic on arbitrary bytes, keep the
//! raw bytes, and leave only valid spans.

use pipeline_core::{Document, Stage};
use proptest::prelude::*;
use textpipe_stages::clean::Cleaner;
use textpipe_stages::decode::{DecodeOptions, Decoder, HtmlMode};
use textpipe_stages::segment::Segmenter;

fn run(bytes: Vec<u8>, html: HtmlMode) -> Result<(), TestCaseError> {
    let mut doc = Document::from_bytes("p", bytes.clone());
    let mut dec = Decoder::new(DecodeOptions {
        html,
        ..Default::default()
    });
    if dec.process(&mut doc).is_ok() {
        prop_assert_eq!(&doc.raw, &bytes);
        prop_assert!(!doc.text.contains(char::from(0)));
        let _ = Cleaner::new().process(&mut doc);
        let _ = Segmenter::new().process(&mut doc);
        prop_assert!(doc.check_spans().is_ok());
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        run(bytes, HtmlMode::Auto)?;
    }

    #[test]
    fn arbitrary_bytes_as_html(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        run(bytes, HtmlMode::Always)?;
    }

    #[test]
    fn html_like_text(s in "(<[a-z]{1,6}( class=\"[a-z -]{0,12}\")?>|</[a-z]{1,6}>|&[a-z#0-9]{1,6};|[A-Za-zÄÖÜäöüß .,!?\n]{0,20}){0,40}") {
        run(s.into_bytes(), HtmlMode::Auto)?;
    }
}
