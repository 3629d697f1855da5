//! `textpipe-plugin`: write a textpipe stage as a shared library.
//!
//! Implement [`Plugin`] for a type and export it with [`export_plugin!`]; build the crate as a
//! `cdylib`; name the library in a pipeline config:
//!
//! ```toml
//! [[stage]]
//! kind = "plugin"
//! path = "../target/release/my_plugin"   # bare name: libmy_plugin.so / my_plugin.dll / …
//! # every other key is passed to Plugin::new as JSON
//! ```
//!
//! This crate depends on nothing of textpipe's: a plugin author never compiles the engine.
//!
//! # The C interface (version [`ABI_VERSION`])
//!
//! Everything that crosses the boundary is `#[repr(C)]` and defined in [`abi`]. A library
//! exports two symbols: `textpipe_plugin_abi_version() -> u32`, which the host checks first,
//! and `textpipe_plugin_v1() -> *const TpPluginV1`, a table of the plugin's name and its
//! `create` / `process` / `destroy` functions. Strings are UTF-8 as pointer + length. Memory is
//! freed by the side that allocated it: the host's document view lives for one `process` call;
//! what the plugin returns lives in the plugin instance's own buffers until its next
//! `process` or `destroy`; error texts from `create` are copied into a buffer the host owns.
//! Panics never cross the boundary: the exported functions catch them and report an error.
#![warn(missing_docs)]

pub mod abi;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub use serde_json;

use abi::*;

/// The interface version this crate implements. The host refuses libraries with another.
pub const ABI_VERSION: u32 = 1;

/// A stage written as a plugin. One value is created per worker thread.
pub trait Plugin: Send + Sized + 'static {
    /// The plugin's name, shown in logs and errors.
    const NAME: &'static str;
    /// One line saying what it does.
    const ABOUT: &'static str = "";
    /// Builds an instance from the stage's options (the TOML table as JSON, without
    /// `kind`, `name`, `path`, `workers`, `on_error`). An `Err` is a config error.
    fn new(options: &serde_json::Value) -> Result<Self, String>;
    /// Processes one document. `Err(message)` fails this document (the pipeline's
    /// `on_error` policy applies); the other documents go on.
    fn process(&mut self, doc: &mut Doc<'_>) -> Result<Verdict, String>;
}

/// What a plugin decided about a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on.
    Keep,
    /// Drop it from the output (counted, with this reason).
    Drop(String),
}

/// A labelled byte span, as read from or written to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labelled<'a> {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Label.
    pub label: &'a str,
}

/// A plugin's view of one document: read everything, change what it needs.
///
/// Spans are byte offsets into [`Doc::text`]. Changing the text with [`Doc::set_text`]
/// clears every span the host holds (sentences, tokens, entities, annotations): add the
/// annotations that are valid for the new text afterwards.
pub struct Doc<'a> {
    input: &'a TpDocument,
    out: &'a mut Scratch,
}

impl<'a> Doc<'a> {
    /// Document id.
    pub fn id(&self) -> &str {
        unsafe { self.input.id.as_str() }
    }
    /// The text (the new one after [`Doc::set_text`]).
    pub fn text(&self) -> &str {
        if self.out.text_set {
            &self.out.text
        } else {
            unsafe { self.input.text.as_str() }
        }
    }
    /// Language code, if a stage set one.
    pub fn lang(&self) -> Option<&str> {
        if self.out.lang_set {
            return Some(&self.out.lang);
        }
        let l = unsafe { self.input.lang.as_str() };
        (!l.is_empty()).then_some(l)
    }
    /// Sentence spans (empty before `segment`, or after [`Doc::set_text`]).
    pub fn sentences(&self) -> &[TpSpan] {
        if self.out.text_set {
            return &[];
        }
        unsafe { slice(self.input.sentences, self.input.n_sentences) }
    }
    /// Token spans (empty before `segment`, or after [`Doc::set_text`]).
    pub fn tokens(&self) -> &[TpSpan] {
        if self.out.text_set {
            return &[];
        }
        unsafe { slice(self.input.tokens, self.input.n_tokens) }
    }
    /// Entities found by earlier stages.
    pub fn entities(&self) -> impl Iterator<Item = Labelled<'_>> {
        let s: &[TpAnnotation] = if self.out.text_set {
            &[]
        } else {
            unsafe { slice(self.input.entities, self.input.n_entities) }
        };
        s.iter().map(|a| a.view())
    }
    /// Annotations added by earlier stages.
    pub fn annotations(&self) -> impl Iterator<Item = Labelled<'_>> {
        let s: &[TpAnnotation] = if self.out.text_set || self.out.replace_annotations {
            &[]
        } else {
            unsafe { slice(self.input.annotations, self.input.n_annotations) }
        };
        s.iter().map(|a| a.view())
    }
    /// A metadata value as JSON text (`"…"` for strings), if set.
    pub fn meta_json(&self, key: &str) -> Option<&str> {
        if let Some((_, v)) = self.out.meta.iter().rev().find(|(k, _)| k == key) {
            return Some(v);
        }
        let m: &[TpMeta] = unsafe { slice(self.input.meta, self.input.n_meta) };
        m.iter()
            .find(|m| unsafe { m.key.as_str() } == key)
            .map(|m| unsafe { m.value_json.as_str() })
    }
    /// Replaces the text; every span on the document is cleared.
    pub fn set_text(&mut self, text: impl Into<String>) {
        self.out.text = text.into();
        self.out.text_set = true;
        self.out.annotations.clear();
    }
    /// Sets the language code.
    pub fn set_lang(&mut self, lang: &str) {
        self.out.lang.clear();
        self.out.lang.push_str(lang);
        self.out.lang_set = true;
    }
    /// Adds a labelled span `[start, end)` (bytes into the current text).
    pub fn add_annotation(&mut self, start: usize, end: usize, label: &str) {
        self.out.annotations.push((start, end, label.to_string()));
    }
    /// Removes the annotations earlier stages added; the ones added here replace them.
    pub fn clear_annotations(&mut self) {
        self.out.replace_annotations = true;
    }
    /// Sets a metadata key to a JSON value.
    pub fn set_meta(&mut self, key: &str, value: serde_json::Value) {
        self.out.meta.push((key.to_string(), value.to_string()));
    }
}

unsafe fn slice<'x, T>(ptr: *const T, len: usize) -> &'x [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

/// Per-instance buffers that hold what `process` returns until the next call.
#[doc(hidden)]
#[derive(Default)]
pub struct Scratch {
    text: String,
    text_set: bool,
    lang: String,
    lang_set: bool,
    replace_annotations: bool,
    annotations: Vec<(usize, usize, String)>,
    meta: Vec<(String, String)>,
    message: String,
    ffi_annotations: Vec<TpAnnotation>,
    ffi_meta: Vec<TpMeta>,
}

impl Scratch {
    fn reset(&mut self) {
        self.text.clear();
        self.text_set = false;
        self.lang.clear();
        self.lang_set = false;
        self.replace_annotations = false;
        self.annotations.clear();
        self.meta.clear();
        self.message.clear();
        self.ffi_annotations.clear();
        self.ffi_meta.clear();
    }
}

/// A plugin value with its scratch buffers: what `create` hands to the host.
#[doc(hidden)]
pub struct Instance<P> {
    plugin: P,
    scratch: Scratch,
}

/// Implementation of the exported `create` function (used by [`export_plugin!`]).
///
/// # Safety
/// `options` must point to `len` readable bytes; `err` to a valid [`TpErrBuf`] or be null.
#[doc(hidden)]
pub unsafe fn create<P: Plugin>(options: TpStr, err: *mut TpErrBuf) -> *mut std::ffi::c_void {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Instance<P>, String> {
        let text = std::str::from_utf8(options.as_bytes())
            .map_err(|e| format!("options are not UTF-8: {e}"))?;
        let value: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_str(text).map_err(|e| format!("options are not JSON: {e}"))?
        };
        Ok(Instance {
            plugin: P::new(&value)?,
            scratch: Scratch::default(),
        })
    }));
    let message = match result {
        Ok(Ok(inst)) => return Box::into_raw(Box::new(inst)).cast(),
        Ok(Err(m)) => m,
        Err(panic) => format!("panicked while starting: {}", panic_message(&panic)),
    };
    if let Some(buf) = err.as_mut() {
        buf.write(&message);
    }
    std::ptr::null_mut()
}

/// Implementation of the exported `process` function (used by [`export_plugin!`]).
///
/// # Safety
/// `instance` must come from [`create`] for the same `P`; `doc` and `out` must be valid.
#[doc(hidden)]
pub unsafe fn process<P: Plugin>(
    instance: *mut std::ffi::c_void,
    doc: *const TpDocument,
    out: *mut TpOutput,
) {
    let (Some(inst), Some(input), Some(out)) = (
        instance.cast::<Instance<P>>().as_mut(),
        doc.as_ref(),
        out.as_mut(),
    ) else {
        return;
    };
    *out = TpOutput::default();
    inst.scratch.reset();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut view = Doc {
            input,
            out: &mut inst.scratch,
        };
        inst.plugin.process(&mut view)
    }));
    let s = &mut inst.scratch;
    match result {
        Ok(Ok(Verdict::Keep)) => out.status = TP_KEEP,
        Ok(Ok(Verdict::Drop(reason))) => {
            out.status = TP_DROP;
            s.message = reason;
        }
        Ok(Err(message)) => {
            out.status = TP_FAIL;
            s.message = message;
        }
        Err(panic) => {
            out.status = TP_FAIL;
            s.message = format!("panicked: {}", panic_message(&panic));
            // What the plugin wrote before panicking is not trustworthy.
            s.text_set = false;
            s.lang_set = false;
            s.annotations.clear();
            s.meta.clear();
        }
    }
    out.message = TpStr::new(&s.message);
    if s.text_set {
        out.flags |= TP_TEXT_SET;
        out.text = TpStr::new(&s.text);
    }
    if s.lang_set {
        out.flags |= TP_LANG_SET;
        out.lang = TpStr::new(&s.lang);
    }
    if s.replace_annotations {
        out.flags |= TP_REPLACE_ANNOTATIONS;
    }
    s.ffi_annotations
        .extend(s.annotations.iter().map(|(a, b, l)| TpAnnotation {
            start: *a,
            end: *b,
            label: TpStr::new(l),
        }));
    s.ffi_meta.extend(s.meta.iter().map(|(k, v)| TpMeta {
        key: TpStr::new(k),
        value_json: TpStr::new(v),
    }));
    out.annotations = s.ffi_annotations.as_ptr();
    out.n_annotations = s.ffi_annotations.len();
    out.meta = s.ffi_meta.as_ptr();
    out.n_meta = s.ffi_meta.len();
}

/// Implementation of the exported `destroy` function (used by [`export_plugin!`]).
///
/// # Safety
/// `instance` must come from [`create`] for the same `P` and not be used afterwards.
#[doc(hidden)]
pub unsafe fn destroy<P: Plugin>(instance: *mut std::ffi::c_void) {
    if !instance.is_null() {
        let b = Box::from_raw(instance.cast::<Instance<P>>());
        let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Exports a [`Plugin`] type as a textpipe plugin library.
///
/// ```ignore
/// struct Upper;
/// impl textpipe_plugin::Plugin for Upper { /* … */ }
/// textpipe_plugin::export_plugin!(Upper);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        #[no_mangle]
        pub extern "C" fn textpipe_plugin_abi_version() -> u32 {
            $crate::ABI_VERSION
        }

        #[no_mangle]
        pub extern "C" fn textpipe_plugin_v1() -> *const $crate::abi::TpPluginV1 {
            unsafe extern "C" fn create(
                options: $crate::abi::TpStr,
                err: *mut $crate::abi::TpErrBuf,
            ) -> *mut ::std::ffi::c_void {
                $crate::create::<$ty>(options, err)
            }
            unsafe extern "C" fn process(
                instance: *mut ::std::ffi::c_void,
                doc: *const $crate::abi::TpDocument,
                out: *mut $crate::abi::TpOutput,
            ) {
                $crate::process::<$ty>(instance, doc, out)
            }
            unsafe extern "C" fn destroy(instance: *mut ::std::ffi::c_void) {
                $crate::destroy::<$ty>(instance)
            }
            static TABLE: $crate::abi::TpPluginV1 = $crate::abi::TpPluginV1 {
                abi_version: $crate::ABI_VERSION,
                name: $crate::abi::TpStr::from_static(<$ty as $crate::Plugin>::NAME),
                about: $crate::abi::TpStr::from_static(<$ty as $crate::Plugin>::ABOUT),
                create,
                process,
                destroy,
            };
            &TABLE
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Shout;
    impl Plugin for Shout {
        const NAME: &'static str = "shout";
        fn new(o: &serde_json::Value) -> Result<Self, String> {
            match o.get("fail") {
                Some(_) => Err("asked to fail".into()),
                None => Ok(Shout),
            }
        }
        fn process(&mut self, doc: &mut Doc<'_>) -> Result<Verdict, String> {
            if doc.text().is_empty() {
                return Ok(Verdict::Drop("empty".into()));
            }
            if doc.text() == "panic" {
                panic!("boom");
            }
            let up = doc.text().to_uppercase();
            doc.set_text(up);
            doc.add_annotation(0, 1, "first");
            doc.set_meta("shouted", serde_json::Value::Bool(true));
            Ok(Verdict::Keep)
        }
    }

    fn doc_of(text: &str) -> TpDocument {
        TpDocument {
            id: TpStr::new("d"),
            text: TpStr::new(text),
            ..TpDocument::default()
        }
    }

    #[test]
    fn round_trip_through_the_c_functions() {
        unsafe {
            let inst = create::<Shout>(TpStr::new("{}"), std::ptr::null_mut());
            assert!(!inst.is_null());
            let d = doc_of("minsk");
            let mut out = TpOutput::default();
            process::<Shout>(inst, &d, &mut out);
            assert_eq!(out.status, TP_KEEP);
            assert_eq!(out.flags & TP_TEXT_SET, TP_TEXT_SET);
            assert_eq!(out.text.as_str(), "MINSK");
            assert_eq!(out.n_annotations, 1);
            assert_eq!((*out.annotations).label.as_str(), "first");
            assert_eq!((*out.meta).value_json.as_str(), "true");

            let d = doc_of("panic");
            process::<Shout>(inst, &d, &mut out);
            assert_eq!(out.status, TP_FAIL);
            assert!(out.message.as_str().contains("boom"));
            assert_eq!(out.n_annotations, 0);

            let d = doc_of("");
            process::<Shout>(inst, &d, &mut out);
            assert_eq!(out.status, TP_DROP);
            assert_eq!(out.message.as_str(), "empty");
            destroy::<Shout>(inst);
        }
    }

    #[test]
    fn create_errors_are_copied_into_the_hosts_buffer() {
        let mut buf = vec![0u8; 8];
        let mut err = TpErrBuf {
            ptr: buf.as_mut_ptr(),
            cap: buf.len(),
            len: 0,
        };
        let inst = unsafe { create::<Shout>(TpStr::new(r#"{"fail":1}"#), &mut err) };
        assert!(inst.is_null());
        // Truncated to the buffer, on a char boundary.
        assert_eq!(&buf[..err.len], b"asked to");
    }
}
