//! The stage contract: a [`StageFactory`] turns TOML options into a [`PreparedStage`]
//! (validated once), which builds one [`Stage`] per worker thread.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::document::Document;

/// What a stage decided about a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pass the document on.
    Keep,
    /// Remove the document from the output, deliberately (duplicate, too short…). Counted, never silent.
    Drop {
        /// Short machine-readable reason, e.g. `duplicate`.
        reason: String,
    },
}

/// A stage failed on one document. The runner applies the stage's `on_error` policy.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StageError {
    /// What went wrong.
    pub message: String,
}

impl StageError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        StageError {
            message: message.into(),
        }
    }
}

/// A processing step. One instance per worker thread; it may keep per-thread scratch state.
pub trait Stage: Send {
    /// Processes one document in place.
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError>;

    /// Processes several documents; the default calls [`Stage::process`] for each.
    /// Results are returned in the same order as the documents.
    fn process_batch(&mut self, docs: &mut [Document]) -> Vec<Result<Outcome, StageError>> {
        docs.iter_mut().map(|d| self.process(d)).collect()
    }

    /// True when what this stage writes on a document depends on the documents it saw
    /// before (a duplicate index, run-wide word counts). A resumed run shows such a stage
    /// (and the stages before it) the documents before its checkpoint again, so that its
    /// output is what an uninterrupted run gives ([`crate::Runner::resume_after`]).
    fn remembers(&self) -> bool {
        false
    }
}

/// A stage whose options were validated, ready to build worker instances.
pub trait PreparedStage: Send + Sync {
    /// Builds one instance for one worker thread.
    fn instantiate(&self) -> Result<Box<dyn Stage>, StageError>;
}

/// Anything that can build a stage instance: lets `Fn() -> Stage` closures be prepared stages.
impl<F> PreparedStage for F
where
    F: Fn() -> Result<Box<dyn Stage>, StageError> + Send + Sync,
{
    fn instantiate(&self) -> Result<Box<dyn Stage>, StageError> {
        self()
    }
}

/// An error in a stage's (or source's, or sink's) options, with the path of the offending field.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OptionsError {
    /// Field path inside the options table, e.g. `["stopwords", "de"]`. Empty: the table itself.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// A hint on how to fix it.
    pub help: Option<String>,
}

impl OptionsError {
    /// An error about the field at `path` (a dotted path, `""` for the whole table).
    pub fn at(path: &str, message: impl Into<String>) -> Self {
        OptionsError {
            path: path
                .split('.')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            message: message.into(),
            help: None,
        }
    }
    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Context given to factories: where the config lives (relative paths resolve against it).
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// Directory of the config file; relative paths in options are resolved against it.
    pub base_dir: std::path::PathBuf,
    /// Name the stage has in the config.
    pub stage_name: String,
}

impl BuildContext {
    /// Resolves `p` against the config's directory (absolute paths are kept).
    pub fn resolve(&self, p: impl AsRef<std::path::Path>) -> std::path::PathBuf {
        let p = p.as_ref();
        if p.is_absolute() {
            normalize(p)
        } else {
            normalize(&self.base_dir.join(p))
        }
    }
}

/// Removes `.` and `dir/..` pairs lexically, so messages show `seeds/x` rather than `configs/../seeds/x`.
fn normalize(p: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return std::path::PathBuf::from(".");
    }
    out.iter().collect()
}

/// One documented option of a stage, for `textpipe stages`.
#[derive(Debug, Clone, Serialize)]
pub struct OptionDoc {
    /// Field name.
    pub name: &'static str,
    /// What it does: the field's doc comment (lines joined by [`OptionDoc::text`]).
    pub help: &'static str,
}

impl OptionDoc {
    /// The help as one line: the doc comment's lines joined, white space collapsed.
    pub fn text(&self) -> String {
        self.help.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Declares an options struct once: each field's doc comment is both its Rust
/// documentation and its help in `textpipe stages`, and `= value` its default. Expands to
/// the struct, its `Default` and its [`StageOptions`] impl.
///
/// ```
/// pipeline_core::options! {
///     /// Options of a `shout` stage.
///     #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
///     #[serde(deny_unknown_fields, default)]
///     pub struct ShoutOptions {
///         /// Exclamation marks to append.
///         pub marks: usize = 1,
///     }
/// }
/// assert_eq!(ShoutOptions::default().marks, 1);
/// use pipeline_core::StageOptions;
/// assert_eq!(ShoutOptions::docs()[0].text(), "Exclamation marks to append.");
/// ```
#[macro_export]
macro_rules! options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde $serde:tt])*
                $fvis:vis $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde $serde])*
                $fvis $field: $ty,
            )*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $crate::StageOptions for $name {
            fn docs() -> &'static [$crate::OptionDoc] {
                &[$($crate::OptionDoc {
                    name: stringify!($field),
                    help: concat!($($doc, "\n",)* ""),
                },)*]
            }
        }
    };
}

/// Typed options of a built-in stage: deserialised with `deny_unknown_fields`, documented defaults.
pub trait StageOptions: DeserializeOwned + Serialize + Default {
    /// One line per field: what it does.
    fn docs() -> &'static [OptionDoc] {
        &[]
    }
}

/// Builds stages of one kind from their TOML options.
pub trait StageFactory: Send + Sync {
    /// The `kind` name used in configs.
    fn kind(&self) -> &str;
    /// One line saying what the stage does.
    fn about(&self) -> &str;
    /// The default options as TOML (for `textpipe stages`).
    fn default_options(&self) -> toml::Table {
        toml::Table::new()
    }
    /// Per-option documentation.
    fn option_docs(&self) -> &[OptionDoc] {
        &[]
    }
    /// What the stage reads that another stage writes (`tokens`, `sentences`, …): a plan
    /// whose earlier stages provide none of it gets a stage of a kind that does, with
    /// default options, just before this one.
    fn needs(&self) -> &[&'static str] {
        &[]
    }
    /// What the stage writes on documents for later stages; [`ANY`] for a stage whose
    /// output cannot be known before it runs (plugins, child processes).
    fn provides(&self) -> &[&'static str] {
        &[]
    }
    /// Validates the options and returns something that builds worker instances.
    fn prepare(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn PreparedStage>, OptionsError>;
}

/// Deserialises typed options from a TOML table, reporting the path of the offending field.
pub fn parse_options<T: DeserializeOwned>(table: toml::Table) -> Result<T, OptionsError> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        let message = e.inner().message().trim().to_string();
        // serde reports an unknown field on the containing table; point at the key itself.
        if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            if path.last().map(String::as_str) != Some(field) {
                path.push(field.to_string());
            }
        }
        OptionsError {
            path,
            message,
            help: None,
        }
    })
}

/// Serialises default options to a TOML table (empty if they do not serialise as a table).
/// An `f32` option shows as written (`0.28`, not the `0.2800000011920929` of its `f64`);
/// read back, it is the same `f32`.
pub fn options_to_table<T: Serialize>(opts: &T) -> toml::Table {
    fn tidy(v: &mut toml::Value) {
        match v {
            toml::Value::Float(f) if f64::from(*f as f32) == *f => {
                if let Ok(short) = (*f as f32).to_string().parse::<f64>() {
                    *f = short;
                }
            }
            toml::Value::Array(a) => a.iter_mut().for_each(tidy),
            toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| tidy(v)),
            _ => {}
        }
    }
    match toml::Value::try_from(opts) {
        Ok(toml::Value::Table(mut t)) => {
            t.iter_mut().for_each(|(_, v)| tidy(v));
            t
        }
        _ => toml::Table::new(),
    }
}

/// In [`StageFactory::provides`]: the stage may write anything.
pub const ANY: &str = "*";

/// A [`StageFactory`] for a built-in stage with typed options `O`.
///
/// `build` turns validated options into a prepared stage; it runs once per pipeline.
pub struct TypedFactory<O, B> {
    kind: &'static str,
    about: &'static str,
    needs: &'static [&'static str],
    provides: &'static [&'static str],
    build: B,
    _o: std::marker::PhantomData<fn() -> O>,
}

impl<O, B> TypedFactory<O, B>
where
    O: StageOptions,
    B: Fn(O, &BuildContext) -> Result<Arc<dyn PreparedStage>, OptionsError> + Send + Sync,
{
    /// A factory for `kind`, described by `about`, built by `build`.
    pub fn new(kind: &'static str, about: &'static str, build: B) -> Self {
        TypedFactory {
            kind,
            about,
            needs: &[],
            provides: &[],
            build,
            _o: std::marker::PhantomData,
        }
    }

    /// What the stage reads that other stages write ([`StageFactory::needs`]).
    pub fn with_needs(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = needs;
        self
    }

    /// What the stage writes for later stages ([`StageFactory::provides`]).
    pub fn with_provides(mut self, provides: &'static [&'static str]) -> Self {
        self.provides = provides;
        self
    }
}

impl<O, B> StageFactory for TypedFactory<O, B>
where
    O: StageOptions,
    B: Fn(O, &BuildContext) -> Result<Arc<dyn PreparedStage>, OptionsError> + Send + Sync,
{
    fn kind(&self) -> &str {
        self.kind
    }
    fn about(&self) -> &str {
        self.about
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&O::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        O::docs()
    }
    fn needs(&self) -> &[&'static str] {
        self.needs
    }
    fn provides(&self) -> &[&'static str] {
        self.provides
    }
    fn prepare(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn PreparedStage>, OptionsError> {
        let opts: O = parse_options(options)?;
        (self.build)(opts, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn f32_options_show_as_written_and_read_back_the_same() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct F {
            density: f32,
            shares: Vec<f32>,
            exact: f64,
        }
        let f = F {
            density: 0.28,
            shares: vec![0.1, 0.35],
            exact: 0.1 + 0.2,
        };
        let t = options_to_table(&f);
        let shown = toml::to_string(&t).unwrap();
        assert!(shown.contains("density = 0.28\n"), "{shown}");
        assert!(shown.contains("[0.1, 0.35]"), "{shown}");
        assert!(
            shown.contains("0.30000000000000004"),
            "an f64 stays as it is: {shown}"
        );
        let back: F = toml::Value::Table(t).try_into().unwrap();
        assert_eq!(back, f);
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Opts {
        sentences: usize,
        inner: Inner,
    }
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        ratio: f64,
    }

    fn table(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn unknown_field_path_names_the_key() {
        let e = parse_options::<Opts>(table("sentense = 3")).unwrap_err();
        assert_eq!(e.path, vec!["sentense"]);
        assert!(
            e.message.contains("unknown field `sentense`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_type_path_is_nested() {
        let e = parse_options::<Opts>(table("[inner]\nratio = \"high\"")).unwrap_err();
        assert_eq!(e.path, vec!["inner", "ratio"]);
        assert!(e.message.contains("invalid type"), "{}", e.message);
    }

    #[test]
    fn resolve_normalises_relative_paths() {
        let ctx = BuildContext {
            base_dir: "configs".into(),
            stage_name: String::new(),
        };
        assert_eq!(ctx.resolve("../seeds"), std::path::PathBuf::from("seeds"));
        assert_eq!(
            ctx.resolve("./x/../y"),
            std::path::PathBuf::from("configs/y")
        );
        assert_eq!(ctx.resolve("/abs/./p"), std::path::PathBuf::from("/abs/p"));
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let o = parse_options::<Opts>(table("sentences = 4")).unwrap();
        assert_eq!(o.sentences, 4);
        assert_eq!(o.inner.ratio, 0.0);
    }
}
