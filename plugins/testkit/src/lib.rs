//! A plugin that misbehaves on request, for the host's tests (not an example to copy).
//!
//! It writes the C exports by hand instead of using `export_plugin!`, so it can also break
//! the interface: a document whose text contains
//! - `PANIC` panics inside the plugin,
//! - `FAIL` fails with a message, `DROP` is dropped,
//! - `BADSPAN` returns an annotation past the end of the text,
//! - `BADUTF8` returns text that is not UTF-8,
//! - `LANG` sets the language to `xx` and an annotation on the first word,
//! - `ABORT` aborts the process, `SEGV` writes through a null pointer (crashes no host
//!   can catch in-process: `isolate = true` runs the plugin in a child);
//!
//! every other document gets `meta.testkit = true`. The exported ABI version is
//! `TEXTPIPE_TESTKIT_ABI` when that variable is set (to test the host's version check), and
//! the option `refuse = true` makes `create` fail.

use std::ffi::c_void;

use textpipe_plugin::abi::*;
use textpipe_plugin::{serde_json, Doc, Plugin, Verdict};

/// The misbehaving plugin.
pub struct Testkit;

impl Plugin for Testkit {
    const NAME: &'static str = "testkit";
    fn new(options: &serde_json::Value) -> Result<Self, String> {
        if options.get("refuse").and_then(|v| v.as_bool()) == Some(true) {
            return Err("refusing as asked (refuse = true)".into());
        }
        Ok(Testkit)
    }
    fn process(&mut self, doc: &mut Doc<'_>) -> Result<Verdict, String> {
        let t = doc.text();
        if t.contains("PANIC") {
            panic!("testkit panics on purpose");
        }
        if t.contains("ABORT") {
            std::process::abort();
        }
        if t.contains("SEGV") {
            // SAFETY: none; crashing is the point.
            unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u8>(), 1) };
        }
        if t.contains("FAIL") {
            return Err("testkit fails on purpose".into());
        }
        if t.contains("DROP") {
            return Ok(Verdict::Drop("testkit-drop".into()));
        }
        if t.contains("BADSPAN") {
            let n = t.len();
            doc.add_annotation(n, n + 10, "past-the-end");
            return Ok(Verdict::Keep);
        }
        if t.contains("LANG") {
            let first = t.find(' ').unwrap_or(t.len());
            doc.set_lang("xx");
            doc.add_annotation(0, first, "first-word");
            return Ok(Verdict::Keep);
        }
        doc.set_meta("testkit", serde_json::Value::Bool(true));
        Ok(Verdict::Keep)
    }
}

static BAD_UTF8: [u8; 3] = [b'a', 0xff, b'b'];

#[no_mangle]
pub extern "C" fn textpipe_plugin_abi_version() -> u32 {
    std::env::var("TEXTPIPE_TESTKIT_ABI")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(textpipe_plugin::ABI_VERSION)
}

unsafe extern "C" fn create(options: TpStr, err: *mut TpErrBuf) -> *mut c_void {
    textpipe_plugin::create::<Testkit>(options, err)
}

unsafe extern "C" fn process(inst: *mut c_void, doc: *const TpDocument, out: *mut TpOutput) {
    textpipe_plugin::process::<Testkit>(inst, doc, out);
    let bad = doc
        .as_ref()
        .is_some_and(|d| d.text.as_str().contains("BADUTF8"));
    if let (true, Some(out)) = (bad, out.as_mut()) {
        out.flags |= TP_TEXT_SET;
        out.text = TpStr {
            ptr: BAD_UTF8.as_ptr(),
            len: BAD_UTF8.len(),
        };
    }
}

unsafe extern "C" fn destroy(inst: *mut c_void) {
    textpipe_plugin::destroy::<Testkit>(inst)
}

static TABLE: TpPluginV1 = TpPluginV1 {
    abi_version: textpipe_plugin::ABI_VERSION,
    name: TpStr::from_static("testkit"),
    about: TpStr::from_static("misbehaves on request, for tests"),
    create,
    process,
    destroy,
};

#[no_mangle]
pub extern "C" fn textpipe_plugin_v1() -> *const TpPluginV1 {
    &TABLE
}
