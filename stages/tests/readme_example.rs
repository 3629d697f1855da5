//! The "Add a stage" example from the README, kept compiling and working.

use std::sync::Arc;

use pipeline_core::{Document, Outcome, Stage, StageError, StageFactory, TypedFactory};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `shout` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct ShoutOptions {
        /// How many `!` to append.
        pub exclamations: usize = 0,
    }
}

struct Shout(ShoutOptions);

impl Stage for Shout {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let text = doc.text.to_uppercase() + &"!".repeat(self.0.exclamations);
        doc.set_text(text); // clears spans the new text invalidates
        Ok(Outcome::Keep)
    }
}

pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new("shout", "upper-cases the text", |o: ShoutOptions, _ctx| {
        Ok(Arc::new(move || {
            Ok(Box::new(Shout(o.clone())) as Box<dyn Stage>)
        }))
    })
}

#[test]
fn readme_stage_runs_and_rejects_unknown_options() {
    let f = factory();
    let opts: toml::Table = toml::from_str("exclamations = 2").unwrap();
    let prepared = f.prepare(opts, &Default::default()).unwrap();
    let mut stage = prepared.instantiate().unwrap();
    let mut doc = Document::from_text("x", "Grüße aus Minsk");
    assert_eq!(stage.process(&mut doc).unwrap(), Outcome::Keep);
    assert_eq!(doc.text, "GRÜSSE AUS MINSK!!");
    let bad: toml::Table = toml::from_str("exclamation = 2").unwrap();
    let err = f.prepare(bad, &Default::default()).err().unwrap();
    assert_eq!(err.path, vec!["exclamation"]);
    assert_eq!(f.default_options()["exclamations"].as_integer(), Some(0));
    assert_eq!(f.option_docs()[0].text(), "How many `!` to append.");
}
