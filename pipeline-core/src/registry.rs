//! Maps `kind` names to factories. Built-in stages, I/O kinds and plugin loaders register here.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::io::{SinkFactory, SourceFactory};
use crate::stage::StageFactory;

/// A factory for stages whose `kind` is handled dynamically (e.g. `plugin`, `exec`): it
/// receives the whole options table and decides itself.
pub type DynamicStageFactory = Arc<dyn StageFactory>;

/// The set of known stage, source and sink kinds.
#[derive(Default, Clone)]
pub struct Registry {
    stages: BTreeMap<String, Arc<dyn StageFactory>>,
    sources: BTreeMap<String, Arc<dyn SourceFactory>>,
    sinks: BTreeMap<String, Arc<dyn SinkFactory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) a stage kind.
    pub fn add_stage(&mut self, f: impl StageFactory + 'static) -> &mut Self {
        self.stages.insert(f.kind().to_string(), Arc::new(f));
        self
    }
    /// Adds (or replaces) a source kind.
    pub fn add_source(&mut self, f: impl SourceFactory + 'static) -> &mut Self {
        self.sources.insert(f.kind().to_string(), Arc::new(f));
        self
    }
    /// Adds (or replaces) a sink kind.
    pub fn add_sink(&mut self, f: impl SinkFactory + 'static) -> &mut Self {
        self.sinks.insert(f.kind().to_string(), Arc::new(f));
        self
    }
    /// The stage factory for `kind`.
    pub fn stage(&self, kind: &str) -> Option<&Arc<dyn StageFactory>> {
        self.stages.get(kind)
    }
    /// The source factory for `kind`.
    pub fn source(&self, kind: &str) -> Option<&Arc<dyn SourceFactory>> {
        self.sources.get(kind)
    }
    /// The sink factory for `kind`.
    pub fn sink(&self, kind: &str) -> Option<&Arc<dyn SinkFactory>> {
        self.sinks.get(kind)
    }
    /// All stage factories, sorted by kind.
    pub fn stages(&self) -> impl Iterator<Item = &Arc<dyn StageFactory>> {
        self.stages.values()
    }
    /// All source factories, sorted by kind.
    pub fn sources(&self) -> impl Iterator<Item = &Arc<dyn SourceFactory>> {
        self.sources.values()
    }
    /// All sink factories, sorted by kind.
    pub fn sinks(&self) -> impl Iterator<Item = &Arc<dyn SinkFactory>> {
        self.sinks.values()
    }
    /// Stage kind names, for "did you mean" messages.
    pub fn stage_kinds(&self) -> Vec<&str> {
        self.stages.keys().map(String::as_str).collect()
    }
    /// Source kind names.
    pub fn source_kinds(&self) -> Vec<&str> {
        self.sources.keys().map(String::as_str).collect()
    }
    /// Sink kind names.
    pub fn sink_kinds(&self) -> Vec<&str> {
        self.sinks.keys().map(String::as_str).collect()
    }
}
