//! textpipe's engine. It runs a [`config::Plan`] — a source, an ordered list of stages and a
//! sink, built from a TOML file through a [`registry::Registry`] — over bounded channels, each
//! stage with its own worker threads, and reports per-stage metrics.
//!
//! This crate knows no concrete stage, source format or terminal: those register themselves.
#![warn(missing_docs)]

pub mod atomic;
pub mod config;
pub mod document;
pub mod io;
pub mod metrics;
pub mod registry;
pub mod runner;
pub mod stage;

pub use config::{load, ConfigError, OnError, Plan};
pub use document::{
    Annotation, Block, Declared, Diagnostic, Document, Dropped, Entity, Keyword, Severity, Span,
    Summary, Token,
};
pub use io::{
    dead_letter_record, too_large, Sink, SinkError, SinkFactory, Source, SourceError, SourceFactory,
};
pub use metrics::{LiveMetrics, RunReport};
pub use registry::Registry;
pub use runner::{CancelToken, Runner, StartError};
pub use stage::{
    parse_options, BuildContext, OptionDoc, OptionsError, Outcome, PreparedStage, Stage,
    StageError, StageFactory, StageOptions, TypedFactory,
};

/// A stable 64-bit hash of bytes (FNV-1a): the same on every machine and in every version,
/// for ids, folds and file names that must not change between runs.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
