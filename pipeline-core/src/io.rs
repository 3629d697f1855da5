//! Where documents come from and go to. The engine only knows these traits; concrete
//! sources and sinks (files, JSONL, stdin, directories) live in the `textpipe-io` crate.

use crate::document::Document;
use crate::stage::{BuildContext, OptionDoc, OptionsError};

/// A document the source could not produce (unreadable file, malformed JSON line).
/// The runner reports and counts it like a failed document; it never stops the run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{id}: {message}")]
pub struct SourceError {
    /// Best identifier available (path, `file:line`).
    pub id: String,
    /// What went wrong.
    pub message: String,
    /// Whatever bytes were read, so a dead-letter file can keep them.
    pub raw: Vec<u8>,
}

/// A sink could not write; this is fatal for the run (output would be incomplete).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

impl From<std::io::Error> for SinkError {
    fn from(e: std::io::Error) -> Self {
        SinkError(e.to_string())
    }
}

/// Produces documents, one at a time, in a deterministic order.
pub trait Source: Send {
    /// The next document, an error for one unreadable item, or `None` at the end.
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>>;
    /// Total input size in bytes, if known up front (for progress bars).
    fn total_bytes(&self) -> Option<u64> {
        None
    }
    /// The pipeline's `max_document_bytes` (0: none), told before the first document: a
    /// source that can should refuse a larger item (a [`SourceError`] naming the limit)
    /// without reading it into memory. The runner checks every document's size anyway.
    fn set_max_document_bytes(&mut self, max: u64) {
        let _ = max;
    }
    /// Items the source read but did not make documents of, by reason (a web archive's
    /// request and metadata records), asked once the source is exhausted; the report
    /// counts them apart from documents.
    fn skipped(&self) -> std::collections::BTreeMap<String, u64> {
        Default::default()
    }
    /// A one-line description for `textpipe check`.
    fn describe(&self) -> String;
}

/// The message for an input item over `[pipeline] max_document_bytes`.
pub fn too_large(size: u64, max: u64) -> String {
    format!("document is {size} bytes, more than [pipeline] max_document_bytes = {max}")
}

/// Consumes finished documents. Writes must be atomic per file: nothing that looks
/// complete may exist before [`Sink::finish`] succeeded.
pub trait Sink: Send {
    /// Writes one document.
    fn write(&mut self, doc: &Document) -> Result<(), SinkError>;
    /// Flushes and commits the output.
    fn finish(&mut self) -> Result<(), SinkError>;
    /// The run failed: keep what was written apart (a file sink: `PATH.partial`), never in
    /// place of the previous output; returns where it went, if anywhere. By default the
    /// sink is finished as usual.
    fn finish_partial(&mut self) -> Result<Option<std::path::PathBuf>, SinkError> {
        self.finish().map(|()| None)
    }
    /// A failed document under `on_error = "dead-letter"`: a sink that keeps dead letters
    /// beside its own checkpoints (a resumable task) writes [`dead_letter_record`] and
    /// returns true; by default (false) the runner's dead-letter file takes it.
    fn dead_letter(&mut self, doc: &Document, stage: &str, error: &str) -> Result<bool, SinkError> {
        let _ = (doc, stage, error);
        Ok(false)
    }
    /// A document failed in `stage`, whatever the error policy: a sink that answers for
    /// every input document (the Python API's `pipe`) reports it; by default nothing.
    /// Called before the policy acts (so also before `dead_letter`).
    fn failed(&mut self, doc: &Document, stage: &str, error: &str) -> Result<(), SinkError> {
        let _ = (doc, stage, error);
        Ok(())
    }
    /// Called after each document is accounted for (written, dropped or failed), with the
    /// number accounted so far. With ordered output these are the first `n` input documents,
    /// so a sink can make its output durable here and record a resumable checkpoint.
    fn accounted(&mut self, n: u64) -> Result<(), SinkError> {
        let _ = n;
        Ok(())
    }
    /// A one-line description for `textpipe check`.
    fn describe(&self) -> String;
}

/// Builds a [`Source`] from the `[source]` table (minus `kind`).
pub trait SourceFactory: Send + Sync {
    /// The `kind` name used in configs.
    fn kind(&self) -> &str;
    /// One line saying what it reads.
    fn about(&self) -> &str;
    /// Default options.
    fn default_options(&self) -> toml::Table {
        toml::Table::new()
    }
    /// Per-option documentation.
    fn option_docs(&self) -> &[OptionDoc] {
        &[]
    }
    /// Validates options (paths must exist) and opens the source.
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, OptionsError>;
}

/// Builds a [`Sink`] from the `[sink]` table (minus `kind`).
pub trait SinkFactory: Send + Sync {
    /// The `kind` name used in configs.
    fn kind(&self) -> &str;
    /// One line saying what it writes.
    fn about(&self) -> &str;
    /// Default options.
    fn default_options(&self) -> toml::Table {
        toml::Table::new()
    }
    /// Per-option documentation.
    fn option_docs(&self) -> &[OptionDoc] {
        &[]
    }
    /// Validates options and opens the sink.
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, OptionsError>;
}

/// One line of a dead-letter file: the document's id, the stage and error, and what is
/// needed to run it again (its source, raw input and declared metadata).
pub fn dead_letter_record(doc: &Document, stage: &str, error: &str) -> serde_json::Value {
    let mut v = serde_json::json!({ "id": doc.id, "stage": stage, "error": error });
    if let (Some(obj), serde_json::Value::Object(full)) =
        (v.as_object_mut(), doc.to_json(&[], true))
    {
        for key in ["source", "raw", "raw_base64", "declared"] {
            if let Some(x) = full.get(key) {
                obj.insert(key.into(), x.clone());
            }
        }
    }
    v
}
