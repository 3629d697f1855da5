//! `Pipeline.pipe(docs)`: the engine between a Python iterable and a Python iterator.
//!
//! The iterator pulls input only as output is taken: at most `limit` documents are in the
//! engine at once (read but not yet accounted for), so memory stays bounded whatever the
//! input's length. Converting input and output needs the interpreter; everything else
//! runs on the engine's threads, detached from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use pipeline_core::{
    BuildContext, CancelToken, Document, OnError, OptionsError, RunReport, Sink, SinkError,
    SinkFactory, Source, SourceError, SourceFactory,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyString};

use crate::DocumentError;

/// One input item, as the engine's source reads it.
pub type Item = Result<Document, SourceError>;

/// What the engine hands back, in input order.
pub enum Back {
    /// A finished document (without its raw bytes unless `include_raw`) and the sink's
    /// `fields` (empty: all).
    Doc(Box<Document>, Arc<[String]>),
    /// A document that failed.
    Failed {
        id: String,
        stage: String,
        error: String,
    },
    /// One more input document is accounted for (written, dropped or failed).
    Accounted,
}

/// Hands one channel end to the one source or sink built from a factory.
pub type Slot<T> = Arc<Mutex<Option<T>>>;

/// `[source] kind = "python"`: the documents `pipe` feeds.
pub struct FeedFactory(pub Slot<Receiver<Item>>);

struct Feed(Receiver<Item>);

impl Source for Feed {
    fn next_doc(&mut self) -> Option<Item> {
        self.0.recv().ok()
    }
    fn describe(&self) -> String {
        "python: the iterable given to Pipeline.pipe".into()
    }
}

impl SourceFactory for FeedFactory {
    fn kind(&self) -> &str {
        "python"
    }
    fn about(&self) -> &str {
        "The iterable given to Pipeline.pipe (Python only)"
    }
    fn build(&self, _: toml::Table, _: &BuildContext) -> Result<Box<dyn Source>, OptionsError> {
        let rx = self.0.lock().ok().and_then(|mut s| s.take());
        rx.map(|rx| Box::new(Feed(rx)) as Box<dyn Source>)
            .ok_or_else(|| OptionsError::at("kind", "the python source is fed by Pipeline.pipe"))
    }
}

/// `[sink] kind = "python"`: hands documents back to `pipe`'s iterator.
pub struct BackFactory(pub Slot<Sender<Back>>);

struct BackSink {
    tx: Sender<Back>,
    fields: Arc<[String]>,
    include_raw: bool,
}

impl BackSink {
    fn send(&self, b: Back) -> Result<(), SinkError> {
        self.tx
            .send(b)
            .map_err(|_| SinkError("the Python iterator was closed".into()))
    }
}

impl Sink for BackSink {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        let doc = if self.include_raw || doc.raw.is_empty() {
            doc.clone()
        } else {
            Document {
                raw: Vec::new(),
                ..doc.clone()
            }
        };
        self.send(Back::Doc(Box::new(doc), self.fields.clone()))
    }
    fn failed(&mut self, doc: &Document, stage: &str, error: &str) -> Result<(), SinkError> {
        self.send(Back::Failed {
            id: doc.id.clone(),
            stage: stage.into(),
            error: error.into(),
        })
    }
    fn accounted(&mut self, _: u64) -> Result<(), SinkError> {
        self.send(Back::Accounted)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "python: the iterator Pipeline.pipe returns".into()
    }
}

impl SinkFactory for BackFactory {
    fn kind(&self) -> &str {
        "python"
    }
    fn about(&self) -> &str {
        "The iterator Pipeline.pipe returns (Python only); `fields` and `include_raw` as for jsonl, other options (a file sink's) unread"
    }
    fn build(&self, mut o: toml::Table, _: &BuildContext) -> Result<Box<dyn Sink>, OptionsError> {
        let fields = match o.remove("fields") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => (a.iter())
                .map(|v| v.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| OptionsError::at("fields", "must be a list of strings"))?,
            Some(_) => return Err(OptionsError::at("fields", "must be a list of strings")),
        };
        let include_raw = match o.remove("include_raw") {
            None => false,
            Some(toml::Value::Boolean(b)) => b,
            Some(_) => return Err(OptionsError::at("include_raw", "must be true or false")),
        };
        let tx = self.0.lock().ok().and_then(|mut s| s.take());
        let tx = tx.ok_or_else(|| {
            OptionsError::at(
                "kind",
                "the python sink is read by Pipeline.pipe's iterator",
            )
        })?;
        Ok(Box::new(BackSink {
            tx,
            fields: fields.into(),
            include_raw,
        }))
    }
}

/// The error policy of each stage (and of the source), to know which failures raise.
pub struct Policies {
    pub by_stage: HashMap<String, OnError>,
    pub default: OnError,
}

impl Policies {
    fn raises(&self, stage: &str) -> bool {
        self.by_stage.get(stage).copied().unwrap_or(self.default) == OnError::Fail
    }
}

/// A dict as a JSON object: strings, numbers, booleans and None directly (the text is
/// copied once, never escaped), other values through `json.dumps`.
fn record(d: &Bound<'_, PyDict>) -> PyResult<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut map = serde_json::Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = k.str()?.to_cow()?.into_owned();
        let value = if let Ok(s) = v.cast::<PyString>() {
            Value::String(s.to_cow()?.into_owned())
        } else if v.is_none() {
            Value::Null
        } else if let Ok(b) = v.extract::<bool>() {
            Value::Bool(b)
        } else if let Ok(i) = v.extract::<i64>() {
            Value::from(i)
        } else {
            let json: String = v
                .py()
                .import("json")?
                .call_method1("dumps", (&v,))?
                .extract()?;
            serde_json::from_str(&json)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?
        };
        map.insert(key, value);
    }
    Ok(map)
}

/// Keeps a finished run's report as the pipeline's; a failed run is a `DocumentError`.
pub fn keep_report(slot: &Mutex<Option<RunReport>>, report: RunReport) -> PyResult<()> {
    let failed = match &report.outcome {
        pipeline_core::metrics::Outcome::Failed(m) => Some(m.clone()),
        _ => None,
    };
    if let Ok(mut r) = slot.lock() {
        *r = Some(report);
    }
    match failed {
        Some(m) => Err(DocumentError::new_err(m)),
        None => Ok(()),
    }
}

/// The iterator `Pipeline.pipe` returns: dicts in input order.
#[pyclass(module = "textpipe")]
pub struct PipeIter {
    pub input: Option<Py<PyIterator>>,
    pub feed: Option<Sender<Item>>,
    pub out: Receiver<Back>,
    pub sent: u64,
    pub accounted: u64,
    pub limit: u64,
    pub opts: textpipe_io::JsonlOptions,
    pub policies: Policies,
    pub cancel: CancelToken,
    pub thread: Option<JoinHandle<RunReport>>,
    pub report: Arc<Mutex<Option<RunReport>>>,
    pub finished: bool,
}

impl PipeIter {
    /// Closes the input and stops the engine (the iterator is done or was dropped).
    fn stop(&mut self) {
        self.finished = true;
        self.feed = None;
        self.input = None;
        self.cancel.cancel();
    }

    /// Stops the run and waits for the engine, keeping its report (its own error is the
    /// one being raised).
    fn abort(&mut self, py: Python<'_>) {
        self.stop();
        let _ = self.end(py);
    }

    /// The engine has ended: its report becomes the pipeline's; a failed run raises.
    fn end(&mut self, py: Python<'_>) -> PyResult<()> {
        self.finished = true;
        self.feed = None;
        self.input = None;
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        let report = py
            .detach(|| t.join())
            .map_err(|_| DocumentError::new_err("the engine's thread panicked"))?;
        keep_report(&self.report, report)
    }

    /// A Python input item as a document: `str` and `bytes` are its content, a `dict` is
    /// read like a JSONL record (`id`, `text` or `html`, `url`, …).
    fn document(&self, obj: &Bound<'_, PyAny>, n: u64) -> Item {
        // A dict's own id names it in an error too.
        let own_id = (obj.cast::<PyDict>().ok())
            .and_then(|d| d.get_item(&self.opts.id_field).ok().flatten())
            .and_then(|v| v.str().ok().map(|s| s.to_string()));
        let id = own_id.unwrap_or_else(|| n.to_string());
        let fail = |m: String| SourceError {
            id: id.clone(),
            message: m,
            raw: Vec::new(),
        };
        if let Ok(s) = obj.cast::<PyString>() {
            // A str with lone surrogates has no UTF-8 form: that document fails.
            let s = s
                .to_cow()
                .map_err(|e| fail(format!("not valid text: {e}")))?;
            return Ok(Document::from_bytes(
                id.clone(),
                s.into_owned().into_bytes(),
            ));
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Document::from_bytes(id.clone(), b.as_bytes().to_vec()));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let map = record(d).map_err(|e| fail(format!("the dict is not JSON: {e}")))?;
            return textpipe_io::record_to_document(&self.opts, map, n.to_string()).map_err(fail);
        }
        let t = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        Err(fail(format!("a document is a str, bytes or dict, not {t}")))
    }

    /// Reads one item from the input into the engine; at the input's end, closes it.
    fn feed_one(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(input) = &self.input else {
            self.feed = None;
            return Ok(());
        };
        let mut it = input.bind(py).clone();
        match it.next() {
            None => {
                self.feed = None;
                self.input = None;
            }
            Some(Err(e)) => {
                // The caller's iterable raised: the run stops and the error goes up.
                self.abort(py);
                return Err(e);
            }
            Some(Ok(obj)) => {
                let item = self.document(&obj, self.sent);
                if let Some(f) = &self.feed {
                    if f.send(item).is_err() {
                        self.feed = None;
                    }
                }
                self.sent += 1;
            }
        }
        Ok(())
    }

    /// What one message from the engine gives the caller, if anything.
    fn take(&mut self, py: Python<'_>, b: Back) -> PyResult<Option<Py<PyAny>>> {
        match b {
            Back::Accounted => {
                self.accounted += 1;
                Ok(None)
            }
            Back::Doc(doc, fields) => {
                // The document's serde form, as the JSONL sink writes it, built directly.
                let names = crate::to_py::Names::default();
                let v = crate::to_py::to_py(py, &names, &fields, &*doc)?;
                Ok(Some(v.unbind()))
            }
            Back::Failed { id, stage, error } => {
                if self.policies.raises(&stage) {
                    self.abort(py);
                    return Err(DocumentError::new_err(format!(
                        "document `{id}` failed in stage `{stage}`: {error}"
                    )));
                }
                let d = PyDict::new(py);
                d.set_item("id", id)?;
                d.set_item("stage", stage)?;
                d.set_item("error", error)?;
                Ok(Some(d.into_any().unbind()))
            }
        }
    }
}

#[pymethods]
impl PipeIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(mut slf: PyRefMut<'_, Self>, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let this = &mut *slf;
        loop {
            if this.finished {
                return Ok(None);
            }
            let msg = match this.out.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Disconnected) => {
                    this.end(py)?;
                    return Ok(None);
                }
                Err(TryRecvError::Empty) => None,
            };
            if let Some(m) = msg {
                if let Some(v) = this.take(py, m)? {
                    return Ok(Some(v));
                }
                continue;
            }
            if this.feed.is_some() && this.sent - this.accounted < this.limit {
                this.feed_one(py)?;
                continue;
            }
            let out = &this.out;
            match py.detach(|| out.recv_timeout(Duration::from_millis(50))) {
                Ok(m) => {
                    if let Some(v) = this.take(py, m)? {
                        return Ok(Some(v));
                    }
                }
                Err(RecvTimeoutError::Timeout) => py.check_signals()?,
                Err(RecvTimeoutError::Disconnected) => {
                    this.end(py)?;
                    return Ok(None);
                }
            }
        }
    }

    /// Stops the run: the rest of the input is not read.
    fn close(&mut self) {
        self.stop();
    }
}

impl Drop for PipeIter {
    fn drop(&mut self) {
        // The engine's threads end on their own once cancelled and their input is closed
        // (joining here could wait on a python stage that needs the interpreter we hold).
        self.stop();
    }
}
