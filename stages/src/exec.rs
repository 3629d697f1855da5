//! Stage kind `exec`: a long-lived child process in any language, spoken to in JSON lines.
//!
//! Each worker starts the command once (in the config file's directory, in a process group
//! of its own) and writes one document per line to its stdin, as the JSONL sink writes it
//! (without the raw bytes unless `include_raw = true`). The child answers each line with
//! one line on stdout that carries the document's `id`:
//! - a document (the same JSON shape; fields it leaves out are cleared, except the raw
//!   bytes, which are kept) that replaces the one sent; its spans are checked;
//! - `{"id": …, "drop": "reason"}` to drop the document;
//! - `{"id": …, "error": "message"}` to fail it (the pipeline's `on_error` applies).
//!
//! Anything else on stdout (a stray line, a reply without the id or for another document,
//! a bad span) is a protocol error, as is a reply that does not come within `timeout_secs`
//! of starting to send the document, or a child that exits: the document in flight fails,
//! the child's whole process group is killed, and a new child serves the next document. So
//! a reply can never be taken for the next document's. The group is also killed at the end
//! of the run, so nothing the child forked outlives it. What the child writes to stderr
//! goes to the log, one event per line.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use pipeline_core::{
    BuildContext, Document, OptionsError, Outcome, PreparedStage, Stage, StageError, TypedFactory,
};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `exec` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct ExecOptions {
        /// Program and arguments; runs in the config file's directory, one process per worker.
        pub command: Vec<String> = Vec::new(),
        /// Seconds to wait for each reply; then the document fails and the child is restarted.
        pub timeout_secs: f64 = 30.0,
        /// Also send the raw input bytes.
        pub include_raw: bool = false,
    }
}

/// The factory for `kind = "exec"`.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "exec",
        "a child process in any language, one JSON document per line on stdin/stdout",
        |o: ExecOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            let Some(program) = o.command.first() else {
                return Err(OptionsError::at("command", "`command` is empty")
                    .with_help("e.g. command = [\"python3\", \"../plugins/exec/wordfreq.py\"]"));
            };
            if find_program(program, &ctx.base_dir).is_none() {
                return Err(OptionsError::at(
                    "command",
                    format!(
                        "program `{program}` not found (relative to {} or on PATH)",
                        shown_dir(&ctx.base_dir)
                    ),
                ));
            }
            if !(o.timeout_secs > 0.0 && o.timeout_secs.is_finite()) {
                return Err(OptionsError::at(
                    "timeout_secs",
                    "must be a positive number of seconds",
                ));
            }
            let spec = Arc::new(Spec {
                command: o.command,
                dir: ctx.base_dir.clone(),
                timeout: Duration::from_secs_f64(o.timeout_secs),
                include_raw: o.include_raw,
                name: ctx.stage_name.clone(),
            });
            Ok(Arc::new(move || -> Result<Box<dyn Stage>, StageError> {
                Ok(Box::new(ExecStage {
                    spec: Arc::clone(&spec),
                    child: None,
                }))
            }))
        },
    )
    .with_provides(&[pipeline_core::stage::ANY])
}

fn shown_dir(d: &std::path::Path) -> String {
    if d.as_os_str().is_empty() {
        ".".into()
    } else {
        d.display().to_string()
    }
}

/// The program as a path (if it names one, relative to `dir`) or found on `PATH`.
fn find_program(program: &str, dir: &std::path::Path) -> Option<PathBuf> {
    if program.contains('/') || program.contains(std::path::MAIN_SEPARATOR) {
        let p = dir.join(program);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

struct Spec {
    command: Vec<String>,
    dir: PathBuf,
    timeout: Duration,
    include_raw: bool,
    name: String,
}

/// A running child: a channel to the thread that writes to its stdin (so that a child
/// that does not read cannot block the worker past the timeout), and a channel of its
/// stdout lines (fed by a reader thread).
struct Running {
    child: Child,
    stdin: Option<Sender<Vec<u8>>>,
    written: Receiver<std::io::Result<()>>,
    lines: Receiver<std::io::Result<String>>,
}

impl Running {
    fn start(spec: &Spec) -> Result<Running, String> {
        let mut cmd = Command::new(&spec.command[0]);
        cmd.args(&spec.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !spec.dir.as_os_str().is_empty() {
            cmd.current_dir(&spec.dir);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", spec.command.join(" ")))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err("the child's pipes are missing".into());
        };
        let (to_child, from_worker) = crossbeam_channel::bounded::<Vec<u8>>(1);
        let (done, written) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name(format!("{}-stdin", spec.name))
            .spawn(move || write_lines(stdin, &from_worker, &done))
            .map_err(|e| format!("cannot start a writer thread: {e}"))?;
        let (tx, lines) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name(format!("{}-stdout", spec.name))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let stop = line.is_err();
                    if tx.send(line).is_err() || stop {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        let name = spec.name.clone();
        std::thread::Builder::new()
            .name(format!("{}-stderr", spec.name))
            .spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    tracing::warn!(stage = %name, "child stderr: {line}");
                }
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        Ok(Running {
            child,
            stdin: Some(to_child),
            written,
            lines,
        })
    }

    /// Kills the child's process group and says how the child ended.
    fn end(mut self) -> String {
        kill_group(&mut self.child);
        match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("unknown status ({e})"),
        }
    }
}

/// The writer thread: each line to the child's stdin, then whether it went.
fn write_lines(
    mut stdin: ChildStdin,
    lines: &Receiver<Vec<u8>>,
    done: &Sender<std::io::Result<()>>,
) {
    for line in lines {
        let r = stdin.write_all(&line).and_then(|_| stdin.flush());
        let stop = r.is_err();
        if done.send(r).is_err() || stop {
            break;
        }
    }
}

/// Kills the child and everything in its process group (what it forked).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads
        // (it was started with process_group(0)); it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

/// One worker's child process (started on the first document, restarted after a failure).
struct ExecStage {
    spec: Arc<Spec>,
    child: Option<Running>,
}

impl Drop for ExecStage {
    fn drop(&mut self) {
        if let Some(mut r) = self.child.take() {
            // Closing stdin lets a well-behaved child finish; then make sure it and what it
            // forked are gone.
            drop(r.stdin.take());
            for _ in 0..20 {
                if let Ok(Some(_)) = r.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = r.end();
        }
    }
}

impl ExecStage {
    fn fail(&self, what: impl std::fmt::Display) -> StageError {
        StageError::new(format!("exec `{}`: {what}", self.spec.command.join(" ")))
    }

    /// Sends the line and waits for one reply line, both within the timeout; on any
    /// failure the child is ended.
    fn exchange(&mut self, line: Vec<u8>) -> Result<String, StageError> {
        if self.child.is_none() {
            self.child = Some(Running::start(&self.spec).map_err(|m| self.fail(m))?);
        }
        let Some(r) = self.child.as_mut() else {
            return Err(self.fail("no child process"));
        };
        let timeout = self.spec.timeout;
        let deadline = Instant::now() + timeout;
        let late = || format!("no reply within {:.1} s", timeout.as_secs_f64());
        let sent = match r.stdin.as_ref().map(|s| s.send(line)) {
            Some(Ok(())) => match r.written.recv_deadline(deadline) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("cannot write to the child ({e})")),
                Err(RecvTimeoutError::Timeout) => {
                    Err(format!("{}: the child did not read its input", late()))
                }
                Err(RecvTimeoutError::Disconnected) => Err("the child's stdin closed".into()),
            },
            _ => Err("the child's stdin closed".into()),
        };
        let reply = sent.and_then(|()| loop {
            match r.lines.recv_deadline(deadline) {
                Ok(Ok(l)) if l.trim().is_empty() => continue,
                Ok(Ok(l)) => break Ok(l),
                Ok(Err(e)) => break Err(format!("cannot read the child's reply ({e})")),
                Err(RecvTimeoutError::Timeout) => break Err(late()),
                Err(RecvTimeoutError::Disconnected) => {
                    break Err("the child closed its stdout".to_string())
                }
            }
        });
        reply.map_err(|m| self.restart(m))
    }

    /// Ends the child after a failed exchange or a protocol error; the error for the
    /// document in flight.
    fn restart(&mut self, m: impl std::fmt::Display) -> StageError {
        let status = self.child.take().map(Running::end).unwrap_or_default();
        self.fail(format_args!(
            "{m}; child ended ({status}), it is restarted for the next document"
        ))
    }

    /// Reads one reply for `doc`: a protocol error restarts the child.
    fn answer(&mut self, doc: &mut Document, reply: &str) -> Result<Outcome, StageError> {
        let value: serde_json::Value = serde_json::from_str(reply)
            .map_err(|e| self.restart(format_args!("reply is not JSON ({e}): {}", clip(reply))))?;
        let Some(obj) = value.as_object() else {
            return Err(self.restart(format_args!("reply is not a JSON object: {}", clip(reply))));
        };
        match obj.get("id") {
            Some(serde_json::Value::String(id)) if *id == doc.id => {}
            Some(id) => {
                return Err(self.restart(format_args!(
                    "reply is for document {id}, expected `{}`",
                    doc.id
                )))
            }
            None => {
                return Err(self.restart(format_args!(
                    "reply has no `id` (each reply carries the id of the document it answers): {}",
                    clip(reply)
                )))
            }
        }
        if let Some(e) = obj.get("error") {
            return Err(self.fail(
                e.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
            ));
        }
        if let Some(r) = obj.get("drop") {
            return Ok(Outcome::Drop {
                reason: r
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| r.to_string()),
            });
        }
        let mut new: Document = serde_json::from_value(value)
            .map_err(|e| self.restart(format_args!("reply is not a document: {e}")))?;
        new.check_spans()
            .map_err(|e| self.restart(format_args!("reply has a bad span: {e}")))?;
        if new.raw.is_empty() {
            new.raw = std::mem::take(&mut doc.raw);
        }
        *doc = new;
        Ok(Outcome::Keep)
    }
}

impl Stage for ExecStage {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let mut line = Vec::with_capacity(8192);
        serde_json::to_writer(&mut line, &doc.to_json(&[], self.spec.include_raw))
            .map_err(|e| self.fail(format_args!("cannot serialise the document: {e}")))?;
        line.push(b'\n');
        let reply = self.exchange(line)?;
        self.answer(doc, &reply)
    }
}

fn clip(s: &str) -> &str {
    let mut n = s.len().min(200);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}
