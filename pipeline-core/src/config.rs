//! Pipeline configuration: one TOML file with `[pipeline]`, `[source]`, `[[stage]]`… and `[sink]`.
//!
//! Every error is found before any document is read and is reported with the file, line and
//! column and a caret under the offending text (toml spans + annotate-snippets).

// Config errors are built at most once per run; their size is irrelevant, their detail is not.
#![allow(clippy::result_large_err)]

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::io::{Sink, Source};
use crate::registry::Registry;
use crate::stage::{BuildContext, OptionsError, PreparedStage};

/// What to do with a document a stage fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Stop the run (after flushing what is done) and exit non-zero (`raise` in Python's
    /// terms: `pipe` raises).
    #[serde(alias = "raise")]
    Fail,
    /// Leave the document out of the output; it is logged and counted.
    #[default]
    Skip,
    /// Leave it out of the output and write it, with the error and its input, to the dead-letter file.
    DeadLetter,
}

impl std::fmt::Display for OnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnError::Fail => "fail",
            OnError::Skip => "skip",
            OnError::DeadLetter => "dead-letter",
        })
    }
}

/// The `[pipeline]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Name shown in reports.
    pub name: String,
    /// Capacity of each bounded channel between stages (documents).
    pub channel_capacity: usize,
    /// Emit documents in input order (`false`: as soon as they are done).
    pub ordered: bool,
    /// Default error policy for every stage.
    pub on_error: OnError,
    /// Dead-letter JSONL file (relative to the config file); required for `on_error = "dead-letter"`.
    pub dead_letter: Option<String>,
    /// A run whose share of failed documents exceeds this (0–1) ends with a non-zero exit,
    /// its output kept; unset: only a run in which every document failed does.
    pub max_failure_rate: Option<f64>,
    /// A document larger than this (raw bytes or text) fails alone, before the first stage
    /// (0: no limit).
    pub max_document_bytes: u64,
}

/// The largest `channel_capacity`: beyond it the buffers alone could hold gigabytes.
pub const MAX_CHANNEL_CAPACITY: usize = 100_000;

impl Default for PipelineSection {
    fn default() -> Self {
        PipelineSection {
            name: "pipeline".into(),
            channel_capacity: 64,
            ordered: true,
            on_error: OnError::Skip,
            dead_letter: None,
            max_failure_rate: None,
            max_document_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    pipeline: Option<Spanned<PipelineSection>>,
    source: Spanned<toml::Table>,
    #[serde(default)]
    stage: Vec<Spanned<RawStage>>,
    sink: Option<Spanned<toml::Table>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    kind: Spanned<String>,
    name: Option<Spanned<String>>,
    workers: Option<Spanned<usize>>,
    on_error: Option<OnError>,
    #[serde(default)]
    options: toml::Table,
}

/// A config error, rendered with a caret snippet when it points into the file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// File name shown in the message.
    pub origin: String,
    /// The config text (for the snippet).
    pub text: Option<Arc<str>>,
    /// Byte range of the offending text.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
    /// Short label under the caret.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl ConfigError {
    fn plain(origin: &str, message: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            text: None,
            span: None,
            message: message.into(),
            label: String::new(),
            help: None,
        }
    }

    /// `(line, column)`, 1-based, of the error's start, if it has a span.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let text = self.text.as_ref()?;
        let start = self.span.as_ref()?.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some((line, col))
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use annotate_snippets::{Level, Renderer, Snippet};
        let title = match self.line_col() {
            Some((l, c)) => format!("{}:{l}:{c}: {}", self.origin, self.message),
            None => format!("{}: {}", self.origin, self.message),
        };
        let origin = self.origin.clone();
        let label = self.label.clone();
        let help = self.help.clone();
        let text = self.text.clone();
        let mut msg = Level::Error.title(&title);
        if let (Some(text), Some(span)) = (text.as_deref(), &self.span) {
            let mut span = span.start.min(text.len())..span.end.min(text.len());
            if span.is_empty() && span.end < text.len() {
                span.end += text[span.end..].chars().next().map_or(0, char::len_utf8);
            }
            msg = msg.snippet(
                Snippet::source(text)
                    .line_start(1)
                    .origin(&origin)
                    .fold(true)
                    .annotation(Level::Error.span(span).label(&label)),
            );
        }
        if let Some(h) = &help {
            msg = msg.footer(Level::Help.title(h));
        }
        let rendered = Renderer::plain().render(msg).to_string();
        f.write_str(&rendered)
    }
}

impl std::error::Error for ConfigError {}

/// A stage's options as a TOML table.
pub type StageSpecOptions = toml::Table;

/// One `[[stage]]` entry after validation.
#[derive(Clone)]
pub struct StageSpec {
    /// Unique name (defaults to the kind).
    pub name: String,
    /// Stage kind.
    pub kind: String,
    /// Worker threads.
    pub workers: usize,
    /// Error policy for this stage.
    pub on_error: OnError,
    /// The options as given, merged over the kind's defaults (for display).
    pub resolved_options: StageSpecOptions,
    /// Builds one instance per worker.
    pub prepared: Arc<dyn PreparedStage>,
    /// Set when the plan added this stage: the stage and what it needs that no earlier
    /// stage provides (`tag needs tokens`).
    pub added_for: Option<String>,
}

/// A validated pipeline: everything needed to run, built before any document is read.
pub struct Plan {
    /// `[pipeline]` settings.
    pub settings: PipelineSection,
    /// Resolved dead-letter path.
    pub dead_letter: Option<PathBuf>,
    /// Opened source.
    pub source: Box<dyn Source>,
    /// Stages in order.
    pub stages: Vec<StageSpec>,
    /// Opened sink.
    pub sink: Box<dyn Sink>,
    /// The options the sink was built from (`--set` applied, `kind` removed): for a caller
    /// that puts its own sink in place of this one and must write what it would have.
    pub sink_options: toml::Table,
}

impl Plan {
    /// A human-readable listing of the resolved pipeline (for `textpipe check`).
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let s = &self.settings;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pipeline {:?}: ordered = {}, channel_capacity = {}, on_error = {}{}",
            s.name,
            s.ordered,
            s.channel_capacity,
            s.on_error,
            self.dead_letter
                .as_ref()
                .map(|p| format!(", dead_letter = {}", p.display()))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "source: {}", self.source.describe());
        for (i, st) in self.stages.iter().enumerate() {
            let _ = writeln!(
                out,
                "stage {}: {} (kind {}, workers {}, on_error {}){}",
                i + 1,
                st.name,
                st.kind,
                st.workers,
                st.on_error,
                st.added_for
                    .as_ref()
                    .map(|w| format!(", added: {w}"))
                    .unwrap_or_default()
            );
            for (k, v) in &st.resolved_options {
                let _ = writeln!(out, "    {k} = {v}");
            }
        }
        let _ = writeln!(out, "sink: {}", self.sink.describe());
        out
    }
}

/// Loads a config file, applies `--set` overrides, and builds the plan.
pub fn load(path: &Path, sets: &[String], registry: &Registry) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::plain(
            &path.display().to_string(),
            format!("cannot read config file: {e}"),
        )
    })?;
    load_text(path, &text, sets, registry)
}

/// Parses config text (already overridden) into a plan. `base_dir` resolves relative paths.
///
/// The sections in file order, so errors come in the order a reader meets them; the stages are
/// built by `build_stages`.
pub fn parse(
    origin: &str,
    text: &str,
    base_dir: &Path,
    registry: &Registry,
) -> Result<Plan, ConfigError> {
    let errs = Errs {
        origin,
        text: Arc::from(text),
        spans: SpanIndex::new(text),
    };
    let err = |span, message, label: &str| errs.err(span, message, label);
    let spans = &errs.spans;
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        let mut ce = err(e.span(), message.clone(), "here");
        if message.starts_with("unknown field") {
            ce.label = "unknown field".into();
        }
        if message.contains("missing field `source`") {
            ce.help =
                Some("add a [source] table, e.g. kind = \"files\", path = \"../seeds\"".into());
        }
        ce
    })?;
    let options_err = |base: &[&str], fallback, e| errs.options_err(base, fallback, e);

    let settings = raw
        .pipeline
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    let pipeline_span = raw.pipeline.as_ref().map(|p| p.span());
    if settings.channel_capacity == 0 || settings.channel_capacity > MAX_CHANNEL_CAPACITY {
        return Err(err(
            spans.find(&["pipeline".into(), "channel_capacity".into()]),
            format!("channel_capacity must be between 1 and {MAX_CHANNEL_CAPACITY}"),
            "out of range",
        ));
    }
    if let Some(r) = settings.max_failure_rate {
        if !(0.0..=1.0).contains(&r) {
            return Err(err(
                spans.find(&["pipeline".into(), "max_failure_rate".into()]),
                format!("max_failure_rate must be between 0 and 1, got {r}"),
                "out of range",
            ));
        }
    }
    let ctx = BuildContext {
        base_dir: base_dir.to_path_buf(),
        stage_name: String::new(),
    };
    let dead_letter = settings.dead_letter.as_ref().map(|p| ctx.resolve(p));

    // Source.
    let (source_kind, source_opts) = split_kind(raw.source.get_ref().clone());
    let source_span = raw.source.span();
    let source = errs
        .factory(
            "source",
            source_kind,
            source_span.clone(),
            |k| registry.source(k),
            registry.source_kinds(),
        )?
        .build(source_opts, &ctx)
        .map_err(|e| options_err(&["source"], source_span, e))?;

    // Stages. What the stages so far write on documents: a stage that needs what none
    // provides gets a provider just before it (a `tag` without a `segment` gets one).
    let (stages, any_dead_letter) = build_stages(&raw.stage, &settings, base_dir, registry, &errs)?;
    if any_dead_letter && dead_letter.is_none() {
        return Err(err(
            pipeline_span,
            "on_error = \"dead-letter\" needs a dead-letter file".into(),
            "no dead_letter path",
        )
        .with_help("set [pipeline] dead_letter = \"out/dead-letter.jsonl\""));
    }

    // Sink (default: JSONL to stdout, if that kind is registered).
    let (sink_kind, sink_opts, sink_span) = match &raw.sink {
        Some(s) => {
            let (k, o) = split_kind(s.get_ref().clone());
            (k, o, s.span())
        }
        None => (Some("jsonl".to_string()), toml::Table::new(), 0..0),
    };
    let sink = errs
        .factory(
            "sink",
            sink_kind,
            sink_span.clone(),
            |k| registry.sink(k),
            registry.sink_kinds(),
        )?
        .build(sink_opts.clone(), &ctx)
        .map_err(|e| options_err(&["sink"], sink_span, e))?;

    Ok(Plan {
        settings,
        dead_letter,
        source,
        stages,
        sink,
        sink_options: sink_opts,
    })
}

/// What errors of one config text point into: its origin, its text and where its keys are.
struct Errs<'a> {
    origin: &'a str,
    text: Arc<str>,
    spans: SpanIndex,
}

impl Errs<'_> {
    /// An error at `span` of the text.
    fn err(&self, span: Option<Range<usize>>, message: String, label: &str) -> ConfigError {
        ConfigError {
            origin: self.origin.to_string(),
            text: Some(self.text.clone()),
            span,
            message,
            label: label.to_string(),
            help: None,
        }
    }

    /// The factory `kind` names in `[section]` (found by `find`): an error naming the
    /// `known` kinds when the table has no kind or an unknown one.
    fn factory<'r, F: ?Sized>(
        &self,
        section: &str,
        kind: Option<String>,
        table: Range<usize>,
        find: impl Fn(&str) -> Option<&'r Arc<F>>,
        known: Vec<&str>,
    ) -> Result<&'r Arc<F>, ConfigError> {
        let help = format!("known {section} kinds: {}", known.join(", "));
        let Some(kind) = kind else {
            let message = format!("[{section}] needs a `kind`");
            return Err(self.err(Some(table), message, "no kind").with_help(help));
        };
        find(&kind).ok_or_else(|| {
            self.err(
                self.spans.find(&[section.into(), "kind".into()]),
                format!("unknown {section} kind `{kind}`"),
                "unknown kind",
            )
            .with_help(help)
        })
    }

    /// An options error of the table at `base`, pointing at the offending key where the text
    /// has it, else at `fallback`.
    fn options_err(&self, base: &[&str], fallback: Range<usize>, e: OptionsError) -> ConfigError {
        let mut path: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        path.extend(e.path.iter().cloned());
        let span = self.spans.find(&path).unwrap_or(fallback);
        let field = if e.path.is_empty() {
            base.join(".")
        } else {
            path.join(".")
        };
        let mut ce = self.err(Some(span), e.message.clone(), &format!("in `{field}`"));
        ce.help = e.help;
        ce
    }
}

/// The `[[stage]]` tables as stage specs, in order, with a provider added before a stage
/// that needs what no earlier stage provides; and whether any stage dead-letters.
///
/// One loop over the tables with the names seen and what is provided so far.
fn build_stages(
    raw_stages: &[Spanned<RawStage>],
    settings: &PipelineSection,
    base_dir: &Path,
    registry: &Registry,
    errs: &Errs<'_>,
) -> Result<(Vec<StageSpec>, bool), ConfigError> {
    let err = |span, message, label: &str| errs.err(span, message, label);
    let options_err = |base: &[&str], fallback, e| errs.options_err(base, fallback, e);
    let mut stages: Vec<StageSpec> = Vec::new();
    let mut provided: Vec<&'static str> = Vec::new();
    let added = Added {
        settings,
        base_dir,
        registry,
    };
    let mut any_dead_letter = settings.on_error == OnError::DeadLetter;
    for (i, st) in raw_stages.iter().enumerate() {
        let idx = i.to_string();
        let st_span = st.span();
        let st = st.get_ref();
        let kind = st.kind.get_ref().clone();
        let name = st
            .name
            .as_ref()
            .map(|n| n.get_ref().clone())
            .unwrap_or_else(|| kind.clone());
        if let Some(prev) = stages.iter().find(|s| s.name == name) {
            let span = st
                .name
                .as_ref()
                .map(|n| n.span())
                .unwrap_or_else(|| st.kind.span());
            return Err(err(
                Some(span),
                format!("duplicate stage name `{name}`"),
                "used twice",
            )
            .with_help(format!(
                "stage `{}` (kind {}) already has this name; give this one `name = \"…\"`",
                prev.name, prev.kind
            )));
        }
        let workers = match &st.workers {
            Some(w) if *w.get_ref() == 0 || *w.get_ref() > 1024 => {
                return Err(err(
                    Some(w.span()),
                    "workers must be between 1 and 1024".into(),
                    "out of range",
                ))
            }
            Some(w) => *w.get_ref(),
            None => 1,
        };
        let on_error = st.on_error.unwrap_or(settings.on_error);
        any_dead_letter |= on_error == OnError::DeadLetter;
        let factory = registry.stage(&kind).ok_or_else(|| {
            let known = registry.stage_kinds();
            let mut e = err(
                Some(st.kind.span()),
                format!("unknown stage kind `{kind}`"),
                "unknown kind",
            );
            let suggestion = known
                .iter()
                .min_by_key(|k| edit_distance(k, &kind))
                .filter(|k| edit_distance(k, &kind) <= 2);
            e.help = Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? known kinds: {}", known.join(", ")),
                None => format!("known kinds: {}", known.join(", ")),
            });
            e
        })?;
        let sctx = BuildContext {
            base_dir: base_dir.to_path_buf(),
            stage_name: name.clone(),
        };
        let prepared = factory
            .prepare(st.options.clone(), &sctx)
            .map_err(|e| options_err(&["stage", &idx, "options"], st_span.clone(), e))?;
        let mut resolved_options = factory.default_options();
        for (k, v) in &st.options {
            resolved_options.insert(k.clone(), v.clone());
        }
        if !provided.contains(&crate::stage::ANY) {
            added
                .providers(&name, factory.needs(), &mut stages, &mut provided, 0)
                .map_err(|e| options_err(&["stage", &idx], st_span.clone(), e))?;
        }
        provided.extend(factory.provides().iter().copied());
        stages.push(StageSpec {
            name,
            kind,
            workers,
            on_error,
            resolved_options,
            prepared,
            added_for: None,
        });
    }
    Ok((stages, any_dead_letter))
}

/// What adding a provider stage needs to know.
struct Added<'a> {
    settings: &'a PipelineSection,
    base_dir: &'a Path,
    registry: &'a Registry,
}

impl Added<'_> {
    /// Adds, for what `needer` needs and `provided` lacks, a stage of the first kind that
    /// provides it (with default options), after the providers of what that one needs.
    fn providers(
        &self,
        needer: &str,
        needs: &[&'static str],
        stages: &mut Vec<StageSpec>,
        provided: &mut Vec<&'static str>,
        depth: usize,
    ) -> Result<(), OptionsError> {
        for need in needs {
            if provided.contains(need) || depth > 8 {
                continue;
            }
            let Some(provider) = (self.registry.stages()).find(|f| f.provides().contains(need))
            else {
                continue;
            };
            let kind = provider.kind();
            self.providers(kind, provider.needs(), stages, provided, depth + 1)?;
            let name = if stages.iter().any(|s| s.name == kind) {
                format!("{kind}-for-{needer}")
            } else {
                kind.to_string()
            };
            let ctx = BuildContext {
                base_dir: self.base_dir.to_path_buf(),
                stage_name: name.clone(),
            };
            let prepared = provider.prepare(toml::Table::new(), &ctx)?;
            provided.extend(provider.provides().iter().copied());
            stages.push(StageSpec {
                name,
                kind: kind.to_string(),
                workers: 1,
                on_error: self.settings.on_error,
                resolved_options: provider.default_options(),
                prepared,
                added_for: Some(format!("`{needer}` needs {need}")),
            });
        }
        Ok(())
    }
}

impl ConfigError {
    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

fn split_kind(mut t: toml::Table) -> (Option<String>, toml::Table) {
    let kind = match t.remove("kind") {
        Some(toml::Value::String(s)) => Some(s),
        _ => None,
    };
    (kind, t)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Finds the byte span of a dotted path (`stage.0.options.sentences`) in the config text.
struct SpanIndex {
    doc: Option<toml_edit::ImDocument<String>>,
}

impl SpanIndex {
    fn new(text: &str) -> Self {
        SpanIndex {
            doc: toml_edit::ImDocument::parse(text.to_string()).ok(),
        }
    }

    fn find(&self, path: &[String]) -> Option<Range<usize>> {
        find_item(self.doc.as_ref()?.as_item(), path)
    }
}

fn find_item(item: &toml_edit::Item, path: &[String]) -> Option<Range<usize>> {
    use toml_edit::Item;
    let Some((seg, rest)) = path.split_first() else {
        return item.span();
    };
    match item {
        Item::Table(t) => find_in_table(t, seg, rest),
        Item::ArrayOfTables(a) => {
            let t = a.get(seg.parse().ok()?)?;
            match rest.split_first() {
                None => t.span(),
                Some((s2, r2)) => find_in_table(t, s2, r2).or(t.span()),
            }
        }
        Item::Value(v) => find_in_value(v, seg, rest),
        Item::None => None,
    }
}

fn find_in_value(v: &toml_edit::Value, seg: &str, rest: &[String]) -> Option<Range<usize>> {
    match v {
        toml_edit::Value::InlineTable(t) => find_in_table(t, seg, rest),
        toml_edit::Value::Array(a) => {
            let inner = a.get(seg.parse().ok()?)?;
            match rest.split_first() {
                None => inner.span(),
                Some((s2, r2)) => find_in_value(inner, s2, r2).or(inner.span()),
            }
        }
        _ => None,
    }
}

fn find_in_table(t: &dyn toml_edit::TableLike, seg: &str, rest: &[String]) -> Option<Range<usize>> {
    let (k, item) = t.get_key_value(seg)?;
    let here = join(k.span(), item.span());
    if rest.is_empty() {
        here
    } else {
        find_item(item, rest).or(here)
    }
}

fn join(a: Option<Range<usize>>, b: Option<Range<usize>>) -> Option<Range<usize>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.start.min(b.start)..a.end.max(b.end)),
        (a, b) => a.or(b),
    }
}

/// Applies `--set` overrides (`stage.NAME.KEY=VALUE`, `pipeline.KEY=VALUE`, `source.KEY=VALUE`,
/// `sink.KEY=VALUE`) to config text. VALUE is read as a TOML value, or as a string if it is not one.
pub fn apply_overrides(origin: &str, text: &str, sets: &[String]) -> Result<String, ConfigError> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError {
                origin: origin.to_string(),
                text: Some(Arc::from(text)),
                span: e.span(),
                message: e.message().trim().to_string(),
                label: "here".into(),
                help: None,
            })?;
    for set in sets {
        let bad = |m: &str| {
            ConfigError::plain(&format!("--set {set}"), m.to_string()).with_help(
                "use --set stage.NAME.KEY=VALUE, pipeline.KEY=VALUE, source.KEY=VALUE or sink.KEY=VALUE",
            )
        };
        let (lhs, rhs) = set.split_once('=').ok_or_else(|| bad("missing `=`"))?;
        let value: toml_edit::Value = rhs
            .trim()
            .parse()
            .unwrap_or_else(|_| toml_edit::Value::from(rhs.trim()));
        let parts: Vec<&str> = lhs.trim().split('.').collect();
        match parts.as_slice() {
            ["stage", name, keys @ ..] if !keys.is_empty() => {
                let stages = doc
                    .get_mut("stage")
                    .and_then(|i| i.as_array_of_tables_mut())
                    .ok_or_else(|| bad("the config has no [[stage]]"))?;
                let known: Vec<String> = stages
                    .iter()
                    .map(|t| {
                        t.get("name")
                            .or_else(|| t.get("kind"))
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_string()
                    })
                    .collect();
                let pos = known.iter().position(|n| n == name).ok_or_else(|| {
                    bad(&format!(
                        "no stage named `{name}` (stages: {})",
                        known.join(", ")
                    ))
                })?;
                let table = stages.get_mut(pos).ok_or_else(|| bad("stage vanished"))?;
                let stage_level = ["kind", "name", "workers", "on_error"];
                if keys.len() == 1 && stage_level.contains(&keys[0]) {
                    table[keys[0]] = toml_edit::value(value);
                } else {
                    let keys = if keys[0] == "options" {
                        &keys[1..]
                    } else {
                        keys
                    };
                    if !table.contains_key("options") {
                        let mut t = toml_edit::Table::new();
                        t.set_implicit(false);
                        table.insert("options", toml_edit::Item::Table(t));
                    }
                    set_path(&mut table["options"], keys, value).map_err(|m| bad(&m))?;
                }
            }
            [section @ ("pipeline" | "source" | "sink"), keys @ ..] if !keys.is_empty() => {
                if !doc.contains_key(section) {
                    doc.insert(section, toml_edit::table());
                }
                set_path(&mut doc[*section], keys, value).map_err(|m| bad(&m))?;
            }
            _ => return Err(bad("unknown target")),
        }
    }
    Ok(doc.to_string())
}

/// Replaces a whole top-level table (`source` or `sink`) of config text.
pub fn replace_section(
    origin: &str,
    text: &str,
    section: &str,
    table: &toml::Table,
) -> Result<String, ConfigError> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        ConfigError::plain(origin, e.message().trim().to_string())
    })?;
    let body = toml::to_string(table).map_err(|e| ConfigError::plain(origin, e.to_string()))?;
    let parsed: toml_edit::DocumentMut = body
        .parse()
        .map_err(|e: toml_edit::TomlError| ConfigError::plain(origin, e.to_string()))?;
    doc.insert(section, toml_edit::Item::Table(parsed.as_table().clone()));
    Ok(doc.to_string())
}

/// Loads config text from `path` with `text` standing in for the file's content (after the
/// caller rewrote it), applying `--set` overrides; relative paths still resolve against `path`.
pub fn load_text(
    path: &Path,
    text: &str,
    sets: &[String],
    registry: &Registry,
) -> Result<Plan, ConfigError> {
    let origin = path.display().to_string();
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let text = if sets.is_empty() {
        text.to_string()
    } else {
        apply_overrides(&origin, text, sets)?
    };
    parse(&origin, &text, &base_dir, registry)
}

fn set_path(
    item: &mut toml_edit::Item,
    keys: &[&str],
    value: toml_edit::Value,
) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("empty key".into());
    };
    let mut cur = item;
    for k in parents {
        if cur.get(k).is_none() {
            cur[*k] = toml_edit::table();
        }
        cur = &mut cur[*k];
        if !cur.is_table_like() {
            return Err(format!("`{k}` is not a table"));
        }
    }
    cur[*last] = toml_edit::value(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based() {
        let e = ConfigError {
            origin: "x.toml".into(),
            text: Some(Arc::from("a = 1\nbb = 2\n")),
            span: Some(8..9),
            message: "m".into(),
            label: "l".into(),
            help: None,
        };
        assert_eq!(e.line_col(), Some((2, 3)));
    }

    #[test]
    fn overrides_reach_stage_options_and_levels() {
        let src = "[source]\nkind = \"files\"\n\n[[stage]]\nkind = \"a\"\n\n[[stage]]\nkind = \"b\"\nname = \"bee\"\n[stage.options]\nx = 1\n";
        let out = apply_overrides(
            "t",
            src,
            &[
                "stage.bee.x=2".into(),
                "stage.a.y=\"z\"".into(),
                "stage.a.workers=3".into(),
                "pipeline.ordered=false".into(),
            ],
        )
        .unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        let st = v["stage"].as_array().unwrap();
        assert_eq!(st[0]["workers"].as_integer(), Some(3));
        assert_eq!(st[0]["options"]["y"].as_str(), Some("z"));
        assert_eq!(st[1]["options"]["x"].as_integer(), Some(2));
        assert_eq!(v["pipeline"]["ordered"].as_bool(), Some(false));
    }

    #[test]
    fn override_of_unknown_stage_names_the_stages() {
        let src = "[source]\nkind = \"files\"\n[[stage]]\nkind = \"a\"\n";
        let e = apply_overrides("t", src, &["stage.nope.x=1".into()]).unwrap_err();
        assert!(
            e.to_string().contains("no stage named `nope` (stages: a)"),
            "{e}"
        );
    }

    #[test]
    fn edit_distance_works() {
        assert_eq!(edit_distance("segment", "segmnet"), 2);
        assert_eq!(edit_distance("clean", "clean"), 0);
    }
}
