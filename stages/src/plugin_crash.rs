//! A last word when a native plugin crashes the process: a signal handler that writes which
//! plugin and which document were in flight to stderr, then lets the signal take its usual
//! course (Rust's stack-overflow report, a core dump, death). The process cannot go on after
//! an abort or a segfault in foreign code; `isolate = true` is the way to survive one.
//!
//! Each plugin instance keeps the start of its line ("textpipe: native plugin `x` (path)
//! crashed on document `"); the worker points a thread-local at it and at the document's id
//! before each call into the plugin and clears it after. The handler only reads that
//! thread-local and calls `writev(2)`, both async-signal-safe in practice (a
//! const-initialised thread-local without destructor is a plain TLS read). [`install`] runs
//! once, when a plugin is loaded, not per document.

use std::cell::Cell;

/// A byte string as (pointer, length), null when empty.
type Raw = (*const u8, usize);

const NONE: Raw = (std::ptr::null(), 0);

thread_local! {
    /// What to print if this thread crashes now: the plugin's prefix and the document id.
    static IN_FLIGHT: Cell<(Raw, Raw)> = const { Cell::new((NONE, NONE)) };
}

/// While alive, a crash on this thread prints `prefix`, `id` and the signal's name.
pub struct Guard<'a>(std::marker::PhantomData<&'a [u8]>);

impl<'a> Guard<'a> {
    /// Marks the thread as inside a plugin call on document `id`.
    pub fn enter(prefix: &'a [u8], id: &'a [u8]) -> Self {
        IN_FLIGHT.with(|c| c.set(((prefix.as_ptr(), prefix.len()), (id.as_ptr(), id.len()))));
        Guard(std::marker::PhantomData)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        IN_FLIGHT.with(|c| c.set((NONE, NONE)));
    }
}

#[cfg(unix)]
const SIGNALS: [(libc::c_int, &str); 5] = [
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGBUS, "SIGBUS"),
    (libc::SIGILL, "SIGILL"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGABRT, "SIGABRT"),
];

/// The handlers that were there before ours, restored before the signal goes on.
#[cfg(unix)]
static PREVIOUS: std::sync::OnceLock<Vec<libc::sigaction>> = std::sync::OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing).
#[cfg(unix)]
pub fn install() {
    PREVIOUS.get_or_init(|| {
        SIGNALS
            .iter()
            .map(|&(sig, _)| {
                // SAFETY: plain sigaction(2) calls with zeroed, then filled, structs.
                unsafe {
                    let mut new: libc::sigaction = std::mem::zeroed();
                    let mut old: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = handler as *const () as usize;
                    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut new.sa_mask);
                    libc::sigaction(sig, &new, &mut old);
                    old
                }
            })
            .collect()
    });
}

/// Nothing to install off Unix.
#[cfg(not(unix))]
pub fn install() {}

#[cfg(unix)]
extern "C" fn handler(sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let ((prefix, prefix_len), (id, id_len)) = IN_FLIGHT.with(|c| c.get());
    let name = SIGNALS
        .iter()
        .find(|s| s.0 == sig)
        .map_or("a signal", |s| s.1);
    // SAFETY: writev(2) of buffers that live as long as the guard (prefix, id) or forever.
    unsafe {
        if !prefix.is_null() {
            // One writev, not five writes: when two workers crash at once, each line goes
            // out whole (a pipe takes writes up to PIPE_BUF in one piece) instead of
            // interleaved with the other's.
            let part = |p: *const u8, n: usize| libc::iovec {
                iov_base: p as *mut libc::c_void,
                iov_len: n,
            };
            let parts = [
                part(prefix, prefix_len),
                part(id, id_len),
                part(b"` (".as_ptr(), 3),
                part(name.as_ptr(), name.len()),
                part(b")\n".as_ptr(), 2),
            ];
            libc::writev(2, parts.as_ptr(), parts.len() as libc::c_int);
        }
        // Put back what was there and return: the fault happens again (or abort raises
        // again) and takes its usual course.
        if let Some(prev) = PREVIOUS.get() {
            if let Some(k) = SIGNALS.iter().position(|s| s.0 == sig) {
                libc::sigaction(sig, &prev[k], std::ptr::null_mut());
            }
        }
    }
}
