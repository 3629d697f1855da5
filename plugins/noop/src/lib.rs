//! A plugin that does nothing: measures the cost of the plugin boundary (`benches/`).

use textpipe_plugin::{export_plugin, serde_json, Doc, Plugin, Verdict};

/// Passes every document on unchanged.
pub struct Noop;

impl Plugin for Noop {
    const NAME: &'static str = "noop";
    const ABOUT: &'static str = "passes documents on unchanged (measures the plugin boundary)";
    fn new(_: &serde_json::Value) -> Result<Self, String> {
        Ok(Noop)
    }
    fn process(&mut self, _: &mut Doc<'_>) -> Result<Verdict, String> {
        Ok(Verdict::Keep)
    }
}

export_plugin!(Noop);
