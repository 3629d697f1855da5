//! Stage kind `plugin`: a stage from a shared library built with the `textpipe-plugin` crate.
//!
//! The library is loaded once (libloading) while the config is checked; its ABI version is
//! compared with ours and one instance is created to validate the options, so a missing
//! file, a missing symbol, an ABI mismatch or bad options are config errors that name the
//! path, before any document is read. Each worker then gets its own instance.
//!
//! Per document the host lends the plugin a read-only C view of the document (text, language,
//! sentence/token spans, entities, annotations, metadata as JSON) and checks what comes back
//! before touching the document: text and labels must be UTF-8, spans must lie on char
//! boundaries of the (new) text, metadata must be JSON. Anything else fails that document
//! with a message naming the plugin. Panics are caught inside the library by the export
//! macro and arrive here as failures. An abort or a segfault cannot be caught: a signal
//! handler ([`crate::plugin_crash`]) prints the plugin and the document in flight before the
//! process dies, and `isolate = true` runs the plugin in child processes instead, so that
//! such a crash fails only its document.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::Library;
use pipeline_core::{
    Annotation, BuildContext, Document, OptionDoc, OptionsError, Outcome, PreparedStage, Span,
    Stage, StageError, StageFactory,
};
use textpipe_plugin::abi::*;

/// The factory for `kind = "plugin"`.
pub fn factory() -> PluginFactory {
    PluginFactory
}

/// Loads `kind = "plugin"` stages.
pub struct PluginFactory;

const DOCS: &[OptionDoc] = &[
    OptionDoc {
        name: "path",
        help: "the plugin library, relative to the config file; a bare name gets the platform's prefix and suffix (libNAME.so, NAME.dll, libNAME.dylib)",
    },
    OptionDoc {
        name: "isolate",
        help: "run the plugin in a child process (`textpipe plugin-host`, spoken to as an `exec` stage), so an abort or a crash in it fails only the document in flight; for untrusted code (default false)",
    },
    OptionDoc {
        name: "timeout_secs",
        help: "with isolate: seconds to wait for each document (default 30)",
    },
    OptionDoc {
        name: "(any other key)",
        help: "passed to the plugin as its options (JSON)",
    },
];

impl StageFactory for PluginFactory {
    fn kind(&self) -> &str {
        "plugin"
    }
    fn about(&self) -> &str {
        "a stage from a shared library built with the textpipe-plugin crate"
    }
    fn option_docs(&self) -> &[OptionDoc] {
        DOCS
    }
    fn provides(&self) -> &[&'static str] {
        // What a user's code writes is known only when it runs.
        &[pipeline_core::stage::ANY]
    }
    fn prepare(
        &self,
        mut options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn PreparedStage>, OptionsError> {
        let path = match options.remove("path") {
            Some(toml::Value::String(p)) => p,
            Some(_) => return Err(OptionsError::at("path", "`path` must be a string")),
            None => {
                return Err(OptionsError::at("", "a plugin stage needs `path`")
                    .with_help("e.g. path = \"../target/release/textpipe_redact\""))
            }
        };
        let file = locate(&ctx.resolve(&path)).map_err(|m| {
            OptionsError::at("path", m).with_help(
                "build the plugin first, e.g. `cargo build --release -p textpipe-redact`",
            )
        })?;
        let isolate = match options.remove("isolate") {
            None => false,
            Some(toml::Value::Boolean(b)) => b,
            Some(_) => {
                return Err(OptionsError::at(
                    "isolate",
                    "`isolate` must be true or false",
                ))
            }
        };
        let timeout = if isolate {
            options.remove("timeout_secs")
        } else {
            None
        };
        let options_json = serde_json::to_string(&options)
            .map_err(|e| OptionsError::at("", format!("options do not convert to JSON: {e}")))?;
        if isolate {
            return isolated(&file, &options_json, timeout, ctx);
        }
        let loaded = Loaded::open(&file).map_err(|m| OptionsError::at("path", m))?;
        crate::plugin_crash::install();
        let prepared = Prepared {
            loaded: Arc::new(loaded),
            options_json,
            stage_name: ctx.stage_name.clone(),
        };
        // Fail on bad options now, not on the first document.
        prepared
            .instantiate()
            .map_err(|e| OptionsError::at("", e.message))?;
        Ok(Arc::new(prepared))
    }
}

/// `isolate = true`: the plugin runs in `textpipe plugin-host` child processes, one per
/// worker, spoken to as an [`crate::exec`] stage. It is loaded once in a child now, so a
/// missing symbol or bad options are still config errors, and never in this process.
fn isolated(
    file: &Path,
    options_json: &str,
    timeout: Option<toml::Value>,
    ctx: &BuildContext,
) -> Result<Arc<dyn PreparedStage>, OptionsError> {
    let host = std::env::current_exe().map_err(|e| {
        OptionsError::at("isolate", format!("cannot find the textpipe binary: {e}"))
    })?;
    let args = |check: bool| -> Vec<String> {
        let mut a = vec![host.display().to_string(), "plugin-host".into()];
        if check {
            a.push("--check".into());
        }
        a.extend([
            file.display().to_string(),
            "--options".into(),
            options_json.into(),
            "--name".into(),
            ctx.stage_name.clone(),
        ]);
        a
    };
    let check = args(true);
    let out = std::process::Command::new(&check[0])
        .args(&check[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            OptionsError::at("isolate", format!("cannot start {}: {e}", host.display()))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(OptionsError::at(
            "path",
            format!(
                "plugin {} does not start in its own process ({}): {}",
                file.display(),
                out.status,
                last.trim_start_matches("error: ")
            ),
        ));
    }
    let mut t = toml::Table::new();
    let command = args(false).into_iter().map(toml::Value::String).collect();
    t.insert("command".into(), toml::Value::Array(command));
    if let Some(v) = timeout {
        t.insert("timeout_secs".into(), v);
    }
    crate::exec::factory().prepare(t, ctx)
}

/// The file for `path`: as given, or with the platform's library prefix and suffix added;
/// always made absolute, because the dynamic loader looks a name without a slash
/// (`libz.so`) up in its search path and `LD_LIBRARY_PATH` instead of the config's folder.
fn locate(path: &Path) -> Result<PathBuf, String> {
    let absolute = |p: &Path| {
        std::fs::canonicalize(p).map_err(|e| format!("cannot open plugin {}: {e}", p.display()))
    };
    if path.is_file() {
        return absolute(path);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("no plugin library at {}", path.display()))?;
    let platform = path.with_file_name(format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    if platform.is_file() {
        return absolute(&platform);
    }
    Err(format!(
        "no plugin library at {} (nor at {})",
        path.display(),
        platform.display()
    ))
}

/// A loaded library and its function table.
struct Loaded {
    path: PathBuf,
    name: String,
    create: unsafe extern "C" fn(TpStr, *mut TpErrBuf) -> *mut std::ffi::c_void,
    process: unsafe extern "C" fn(*mut std::ffi::c_void, *const TpDocument, *mut TpOutput),
    destroy: unsafe extern "C" fn(*mut std::ffi::c_void),
    // Last: the function pointers above must not outlive the library.
    _lib: Library,
}

impl Loaded {
    fn open(path: &Path) -> Result<Loaded, String> {
        let shown = path.display();
        // SAFETY: loading runs the library's initialisers; the user asked for this file.
        let lib = unsafe { Library::new(path) }
            .map_err(|e| format!("cannot load plugin {shown}: {e}"))?;
        // SAFETY: the symbol's type is fixed by every ABI version.
        let version = unsafe {
            let f = lib.get::<AbiVersionFn>(SYM_ABI_VERSION).map_err(|_| {
                format!(
                    "{shown} is not a textpipe plugin: it exports no `textpipe_plugin_abi_version`"
                )
            })?;
            f()
        };
        if version != textpipe_plugin::ABI_VERSION {
            return Err(format!(
                "{shown} was built for plugin ABI version {version}; this textpipe speaks version {}: rebuild the plugin against textpipe-plugin {}",
                textpipe_plugin::ABI_VERSION,
                env!("CARGO_PKG_VERSION")
            ));
        }
        // SAFETY: version 1 fixes this symbol's type; the table is a static in the library.
        let table = unsafe {
            let f = lib.get::<PluginV1Fn>(SYM_PLUGIN_V1).map_err(|_| {
                format!(
                    "{shown} exports no `textpipe_plugin_v1` (use textpipe_plugin::export_plugin!)"
                )
            })?;
            f().as_ref()
                .ok_or_else(|| format!("{shown}: `textpipe_plugin_v1` returned null"))?
        };
        if table.abi_version != textpipe_plugin::ABI_VERSION {
            return Err(format!(
                "{shown}: its table says ABI version {}",
                table.abi_version
            ));
        }
        let name = String::from_utf8_lossy(unsafe { table.name.as_bytes() }).into_owned();
        Ok(Loaded {
            path: path.to_path_buf(),
            name,
            create: table.create,
            process: table.process,
            destroy: table.destroy,
            _lib: lib,
        })
    }
}

struct Prepared {
    loaded: Arc<Loaded>,
    options_json: String,
    stage_name: String,
}

impl PreparedStage for Prepared {
    fn instantiate(&self) -> Result<Box<dyn Stage>, StageError> {
        let mut buf = vec![0u8; 4096];
        let mut err = TpErrBuf {
            ptr: buf.as_mut_ptr(),
            cap: buf.len(),
            len: 0,
        };
        // SAFETY: the options string and the error buffer outlive the call.
        let inst = unsafe { (self.loaded.create)(TpStr::new(&self.options_json), &mut err) };
        if inst.is_null() {
            let len = err.len.min(buf.len());
            return Err(StageError::new(format!(
                "plugin `{}` ({}) refused its options: {}",
                self.loaded.name,
                self.loaded.path.display(),
                String::from_utf8_lossy(&buf[..len])
            )));
        }
        let label = if self.stage_name == self.loaded.name {
            self.loaded.name.clone()
        } else {
            format!("{} ({})", self.stage_name, self.loaded.name)
        };
        let crash_prefix = format!(
            "textpipe: native plugin `{label}` ({}) crashed on document `",
            self.loaded.path.display()
        )
        .into_bytes();
        Ok(Box::new(PluginStage {
            loaded: Arc::clone(&self.loaded),
            label,
            crash_prefix,
            instance: inst,
            scratch: Scratch::default(),
        }))
    }
}

/// Host-side buffers reused across documents to build the C view.
#[derive(Default)]
struct Scratch {
    sentences: Vec<TpSpan>,
    tokens: Vec<TpSpan>,
    entities: Vec<TpAnnotation>,
    annotations: Vec<TpAnnotation>,
    meta_values: Vec<String>,
    meta: Vec<TpMeta>,
}

/// One plugin instance, owned by one worker.
struct PluginStage {
    loaded: Arc<Loaded>,
    label: String,
    /// The start of the line a crash prints ([`crate::plugin_crash`]).
    crash_prefix: Vec<u8>,
    instance: *mut std::ffi::c_void,
    scratch: Scratch,
}

// SAFETY: plugin types are `Send` (the Plugin trait requires it) and an instance is used by
// one worker thread at a time.
unsafe impl Send for PluginStage {}

impl Drop for PluginStage {
    fn drop(&mut self) {
        // SAFETY: the instance came from this library's `create` and is not used again.
        unsafe { (self.loaded.destroy)(self.instance) };
    }
}

/// What a plugin asked for, checked and copied out of its buffers.
struct Changes {
    outcome: Outcome,
    text: Option<String>,
    lang: Option<String>,
    replace_annotations: bool,
    annotations: Vec<Annotation>,
    meta: Vec<(String, serde_json::Value)>,
}

impl PluginStage {
    fn fail(&self, what: impl std::fmt::Display) -> StageError {
        StageError::new(format!("plugin `{}`: {what}", self.label))
    }

    fn call(&mut self, doc: &Document) -> Result<Changes, StageError> {
        let s = &mut self.scratch;
        s.sentences.clear();
        s.sentences.extend(doc.sentences.iter().map(|x| TpSpan {
            start: x.start,
            end: x.end,
        }));
        s.tokens.clear();
        s.tokens.extend(doc.tokens.iter().map(|t| TpSpan {
            start: t.span.start,
            end: t.span.end,
        }));
        s.entities.clear();
        s.entities.extend(doc.entities.iter().map(|e| TpAnnotation {
            start: e.span.start,
            end: e.span.end,
            label: TpStr::new(&e.label),
        }));
        s.annotations.clear();
        s.annotations
            .extend(doc.annotations.iter().map(|a| TpAnnotation {
                start: a.span.start,
                end: a.span.end,
                label: TpStr::new(&a.label),
            }));
        s.meta_values.clear();
        s.meta_values
            .extend(doc.meta.values().map(|v| v.to_string()));
        s.meta.clear();
        s.meta
            .extend(doc.meta.keys().zip(&s.meta_values).map(|(k, v)| TpMeta {
                key: TpStr::new(k),
                value_json: TpStr::new(v),
            }));
        let view = TpDocument {
            id: TpStr::new(&doc.id),
            text: TpStr::new(&doc.text),
            lang: TpStr::new(doc.lang.as_deref().unwrap_or("")),
            sentences: s.sentences.as_ptr(),
            n_sentences: s.sentences.len(),
            tokens: s.tokens.as_ptr(),
            n_tokens: s.tokens.len(),
            entities: s.entities.as_ptr(),
            n_entities: s.entities.len(),
            annotations: s.annotations.as_ptr(),
            n_annotations: s.annotations.len(),
            meta: s.meta.as_ptr(),
            n_meta: s.meta.len(),
        };
        let mut out = TpOutput::default();
        // If the plugin takes the process down, its last words name it and the document.
        let _in_flight = crate::plugin_crash::Guard::enter(&self.crash_prefix, doc.id.as_bytes());
        // SAFETY: `view` borrows `doc` and the scratch buffers, both alive for the call.
        unsafe { (self.loaded.process)(self.instance, &view, &mut out) };
        self.read(&out, &doc.text)
    }

    /// Copies and checks the plugin's answer (its buffers stay valid until the next call).
    fn read(&self, out: &TpOutput, old_text: &str) -> Result<Changes, StageError> {
        let string = |s: &TpStr, what: &str| -> Result<String, StageError> {
            // SAFETY: the plugin keeps its output buffers alive until its next call.
            let bytes = unsafe { s.as_bytes() };
            std::str::from_utf8(bytes)
                .map(str::to_string)
                .map_err(|e| self.fail(format_args!("returned {what} that is not UTF-8 ({e})")))
        };
        let message = string(&out.message, "a message")?;
        let outcome = match out.status {
            TP_KEEP => Outcome::Keep,
            TP_DROP => Outcome::Drop {
                reason: if message.is_empty() {
                    "dropped by plugin".into()
                } else {
                    message
                },
            },
            TP_FAIL => return Err(self.fail(message)),
            other => return Err(self.fail(format_args!("returned unknown status {other}"))),
        };
        let text = (out.flags & TP_TEXT_SET != 0)
            .then(|| string(&out.text, "text"))
            .transpose()?;
        let lang = (out.flags & TP_LANG_SET != 0)
            .then(|| string(&out.lang, "a language"))
            .transpose()?;
        let new_text = text.as_deref().unwrap_or(old_text);
        // SAFETY: as above; null/0 reads as empty.
        let anns: &[TpAnnotation] = unsafe { raw_slice(out.annotations, out.n_annotations) };
        let mut annotations = Vec::with_capacity(anns.len());
        for a in anns {
            let span = Span::new(a.start, a.end);
            if a.start > a.end || span.slice(new_text).is_none() {
                return Err(self.fail(format_args!(
                    "returned annotation span [{}, {}] outside the {}-byte text or not on character boundaries",
                    a.start,
                    a.end,
                    new_text.len()
                )));
            }
            annotations.push(Annotation {
                span,
                label: string(&a.label, "an annotation label")?,
            });
        }
        let metas: &[TpMeta] = unsafe { raw_slice(out.meta, out.n_meta) };
        let mut meta = Vec::with_capacity(metas.len());
        for m in metas {
            let key = string(&m.key, "a metadata key")?;
            let value = string(&m.value_json, "a metadata value")?;
            let value: serde_json::Value = serde_json::from_str(&value)
                .map_err(|e| self.fail(format_args!("metadata `{key}` is not JSON: {e}")))?;
            meta.push((key, value));
        }
        Ok(Changes {
            outcome,
            text,
            lang,
            replace_annotations: out.flags & TP_REPLACE_ANNOTATIONS != 0,
            annotations,
            meta,
        })
    }
}

unsafe fn raw_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

impl Stage for PluginStage {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let c = self.call(doc)?;
        if let Some(text) = c.text {
            doc.set_text(text);
        }
        if let Some(lang) = c.lang {
            doc.lang = Some(lang);
        }
        if c.replace_annotations {
            doc.annotations.clear();
        }
        doc.annotations.extend(c.annotations);
        for (k, v) in c.meta {
            doc.meta.insert(k, v);
        }
        Ok(c.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_get_the_platform_prefix_and_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join(format!(
            "{}demo{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        std::fs::write(&lib, b"").unwrap();
        assert_eq!(locate(&dir.path().join("demo")).unwrap(), lib);
        assert_eq!(locate(&lib).unwrap(), lib);
        let e = locate(&dir.path().join("missing")).unwrap_err();
        assert!(
            e.contains("no plugin library at") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_library_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("fake.so");
        std::fs::write(&f, b"not an ELF file").unwrap();
        let e = Loaded::open(&f).err().unwrap();
        assert!(
            e.contains("cannot load plugin") && e.contains("fake.so"),
            "{e}"
        );
    }
}
