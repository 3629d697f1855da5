//! The C interface between the host and a plugin library, version 1. `#[repr(C)]` only.

use std::ffi::c_void;

/// `TpOutput::status`: keep the document.
pub const TP_KEEP: u32 = 0;
/// `TpOutput::status`: drop the document; `message` is the reason.
pub const TP_DROP: u32 = 1;
/// `TpOutput::status`: fail the document; `message` says why.
pub const TP_FAIL: u32 = 2;

/// `TpOutput::flags`: `text` replaces the document's text (all spans are cleared).
pub const TP_TEXT_SET: u32 = 1;
/// `TpOutput::flags`: `lang` replaces the document's language.
pub const TP_LANG_SET: u32 = 2;
/// `TpOutput::flags`: `annotations` replace the document's annotations instead of adding to them.
pub const TP_REPLACE_ANNOTATIONS: u32 = 4;

/// A borrowed UTF-8 string: pointer + length, no terminator. Empty: `len == 0`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TpStr {
    /// First byte (may be null when `len == 0`).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl TpStr {
    /// Borrows `s` (the caller keeps it alive while the `TpStr` is used).
    pub fn new(s: &str) -> Self {
        TpStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }
    /// A `TpStr` of a static string, usable in statics.
    pub const fn from_static(s: &'static str) -> Self {
        TpStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }
    /// The bytes.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive the returned slice.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }
    /// The string, for strings the host made (always UTF-8). Invalid UTF-8 reads as empty.
    ///
    /// # Safety
    /// As for [`TpStr::as_bytes`].
    pub unsafe fn as_str<'a>(&self) -> &'a str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl Default for TpStr {
    fn default() -> Self {
        TpStr {
            ptr: std::ptr::null(),
            len: 0,
        }
    }
}

// The pointers in a TpStr are only read, and only while their owner keeps them alive.
unsafe impl Send for TpStr {}
unsafe impl Sync for TpStr {}

/// A byte range `[start, end)` into the document text.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TpSpan {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A labelled byte range (annotations and entities).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpAnnotation {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The label.
    pub label: TpStr,
}

impl TpAnnotation {
    pub(crate) fn view(&self) -> crate::Labelled<'_> {
        crate::Labelled {
            start: self.start,
            end: self.end,
            label: unsafe { self.label.as_str() },
        }
    }
}

/// A metadata entry: key and value as JSON text.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpMeta {
    /// Key.
    pub key: TpStr,
    /// Value as JSON (`"text"`, `3.5`, `true`, …).
    pub value_json: TpStr,
}

/// The host's read-only view of one document, valid for one `process` call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TpDocument {
    /// Document id.
    pub id: TpStr,
    /// The text.
    pub text: TpStr,
    /// Language code; empty when unknown.
    pub lang: TpStr,
    /// Sentence spans.
    pub sentences: *const TpSpan,
    /// Number of sentences.
    pub n_sentences: usize,
    /// Token spans.
    pub tokens: *const TpSpan,
    /// Number of tokens.
    pub n_tokens: usize,
    /// Entities (label = type).
    pub entities: *const TpAnnotation,
    /// Number of entities.
    pub n_entities: usize,
    /// Annotations.
    pub annotations: *const TpAnnotation,
    /// Number of annotations.
    pub n_annotations: usize,
    /// Metadata.
    pub meta: *const TpMeta,
    /// Number of metadata entries.
    pub n_meta: usize,
}

impl Default for TpDocument {
    fn default() -> Self {
        TpDocument {
            id: TpStr::default(),
            text: TpStr::default(),
            lang: TpStr::default(),
            sentences: std::ptr::null(),
            n_sentences: 0,
            tokens: std::ptr::null(),
            n_tokens: 0,
            entities: std::ptr::null(),
            n_entities: 0,
            annotations: std::ptr::null(),
            n_annotations: 0,
            meta: std::ptr::null(),
            n_meta: 0,
        }
    }
}

/// What `process` returns. Its pointers point into the plugin instance's buffers and stay
/// valid until the next `process` or `destroy` on that instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TpOutput {
    /// [`TP_KEEP`], [`TP_DROP`] or [`TP_FAIL`].
    pub status: u32,
    /// Bit set of [`TP_TEXT_SET`], [`TP_LANG_SET`], [`TP_REPLACE_ANNOTATIONS`].
    pub flags: u32,
    /// Drop reason or failure message.
    pub message: TpStr,
    /// New text (with [`TP_TEXT_SET`]).
    pub text: TpStr,
    /// New language (with [`TP_LANG_SET`]).
    pub lang: TpStr,
    /// Annotations to add (or to replace the existing ones).
    pub annotations: *const TpAnnotation,
    /// Number of annotations.
    pub n_annotations: usize,
    /// Metadata entries to set.
    pub meta: *const TpMeta,
    /// Number of metadata entries.
    pub n_meta: usize,
}

impl Default for TpOutput {
    fn default() -> Self {
        TpOutput {
            status: TP_KEEP,
            flags: 0,
            message: TpStr::default(),
            text: TpStr::default(),
            lang: TpStr::default(),
            annotations: std::ptr::null(),
            n_annotations: 0,
            meta: std::ptr::null(),
            n_meta: 0,
        }
    }
}

/// A buffer the host owns, into which `create` copies an error message.
#[repr(C)]
#[derive(Debug)]
pub struct TpErrBuf {
    /// Start of the buffer.
    pub ptr: *mut u8,
    /// Capacity in bytes.
    pub cap: usize,
    /// Bytes written (set by the plugin).
    pub len: usize,
}

impl TpErrBuf {
    /// Copies as much of `msg` as fits, cut at a char boundary.
    pub fn write(&mut self, msg: &str) {
        if self.ptr.is_null() {
            return;
        }
        let mut n = msg.len().min(self.cap);
        while !msg.is_char_boundary(n) {
            n -= 1;
        }
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), self.ptr, n) };
        self.len = n;
    }
}

/// The table `textpipe_plugin_v1` returns.
#[repr(C)]
pub struct TpPluginV1 {
    /// Must equal the host's [`crate::ABI_VERSION`].
    pub abi_version: u32,
    /// Plugin name.
    pub name: TpStr,
    /// One line on what it does.
    pub about: TpStr,
    /// Builds an instance from options (JSON text); null on error, with the message in `err`.
    pub create: unsafe extern "C" fn(options: TpStr, err: *mut TpErrBuf) -> *mut c_void,
    /// Processes one document, writing the result to `out`.
    pub process:
        unsafe extern "C" fn(instance: *mut c_void, doc: *const TpDocument, out: *mut TpOutput),
    /// Frees an instance.
    pub destroy: unsafe extern "C" fn(instance: *mut c_void),
}

/// Signature of the exported `textpipe_plugin_abi_version` symbol.
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// Signature of the exported `textpipe_plugin_v1` symbol.
pub type PluginV1Fn = unsafe extern "C" fn() -> *const TpPluginV1;

/// Symbol name of the ABI version function (NUL-terminated, for `dlsym`).
pub const SYM_ABI_VERSION: &[u8] = b"textpipe_plugin_abi_version\0";
/// Symbol name of the v1 table function (NUL-terminated, for `dlsym`).
pub const SYM_PLUGIN_V1: &[u8] = b"textpipe_plugin_v1\0";
