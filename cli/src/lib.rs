//! What the `textpipe` command and the Python package share: the registry of every
//! built-in stage, source and sink kind.

use pipeline_core::Registry;

/// Every built-in stage, source and sink kind.
pub fn registry() -> Registry {
    let mut reg = Registry::new();
    textpipe_io::register(&mut reg);
    textpipe_stages::register(&mut reg);
    reg
}
