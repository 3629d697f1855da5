//! The Python package `textpipe` (this crate is its extension module, `textpipe._textpipe`):
//! runs the same pipelines as the `textpipe` command, from a TOML file, TOML text or a dict.
//!
//! - [`config`]: a config given from Python, and `ConfigError` with the CLI's message.
//! - [`pipe`]: `Pipeline.pipe`, a Python iterable in, an iterator of dicts out, bounded.
//! - [`stage`]: `kind = "python"`, a stage that calls a Python function.
//! - [`to_py`]: a finished document as the dict `json.loads` makes of its JSONL line.
//!
//! It knows the engine (`pipeline-core`), the registry of built-in kinds (the `textpipe`
//! crate) and the JSONL record reading (`textpipe-io`); no stage of its own but `python`.

mod config;
mod pipe;
mod stage;
mod to_py;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pipeline_core::{CancelToken, Plan, Registry, RunReport, Runner};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use config::{config_error, ConfigText};
use pipe::{Back, BackFactory, FeedFactory, Item, PipeIter, Policies, Slot};
use stage::{Functions, PyStageFactory};

pyo3::create_exception!(
    textpipe,
    ConfigError,
    pyo3::exceptions::PyValueError,
    "The pipeline config is wrong: the message is the CLI's (`FILE:LINE:COL: what`, with a snippet); `origin`, `line` and `column` say where."
);
pyo3::create_exception!(
    textpipe,
    DocumentError,
    pyo3::exceptions::PyRuntimeError,
    "A run failed: a document failed under `on_error = \"raise\"` (or \"fail\"), or the output could not be written."
);

/// The channel ends `pipe`'s source and sink take when the plan is built.
type PipeIo = (
    Slot<crossbeam_channel::Receiver<Item>>,
    Slot<crossbeam_channel::Sender<Back>>,
);

/// A textpipe pipeline, built from a config.
///
/// Pipeline(config, stages=None, **overrides)
///
/// config: a path to a TOML file, TOML text, or a dict of the same tables.
/// stages: Python functions for `kind = "python"` stages, by name:
///     func(doc: dict) -> dict | None (None drops the document; an exception fails it).
/// overrides: like the CLI's --set, e.g. **{"stage.tag.keywords": 5}.
///
/// Raises ConfigError with the CLI's file:line:col message when the config is wrong.
#[pyclass(module = "textpipe")]
struct Pipeline {
    config: ConfigText,
    functions: Functions,
    report: Arc<Mutex<Option<RunReport>>>,
}

impl Pipeline {
    /// Built-in kinds, the `python` stage kind, and (for `pipe`) the `python` source and sink.
    fn registry(&self, io: Option<PipeIo>) -> Registry {
        let mut reg = textpipe::registry();
        reg.add_stage(PyStageFactory(self.functions.clone()));
        if let Some((feed, back)) = io {
            reg.add_source(FeedFactory(feed));
            reg.add_sink(BackFactory(back));
        }
        reg
    }

    /// The plan with `pipe`'s source and sink in place of the configured ones (the
    /// configured sink's `fields` and `include_raw` kept, its other options unread).
    fn pipe_plan(&self, (feed, back): PipeIo) -> PyResult<Plan> {
        let text = self.config.for_pipe()?;
        let reg = self.registry(Some((feed, back)));
        pipeline_core::config::load_text(&self.config.path, &text, &[], &reg)
            .map_err(|e| config_error(&e))
    }
}

/// Channel ends for a plan that is only checked, never run.
fn unused_io() -> PipeIo {
    let (_, rx) = crossbeam_channel::bounded(0);
    let (tx, _) = crossbeam_channel::bounded(0);
    (
        Arc::new(Mutex::new(Some(rx))),
        Arc::new(Mutex::new(Some(tx))),
    )
}

/// The report as the dict `json.loads` makes of its JSON (built directly, as documents are).
fn report_dict(py: Python<'_>, r: &RunReport) -> PyResult<Py<PyAny>> {
    Ok(to_py::to_py(py, &to_py::Names::default(), &[], r)?.unbind())
}

#[pymethods]
impl Pipeline {
    #[new]
    #[pyo3(signature = (config, stages = None, **overrides))]
    fn new(
        config: &Bound<'_, PyAny>,
        stages: Option<&Bound<'_, PyDict>>,
        overrides: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = ConfigText::from_py(config, overrides)?;
        let mut functions = HashMap::new();
        for (k, v) in stages.into_iter().flat_map(|d| d.iter()) {
            if !v.is_callable() {
                let k: String = k.extract()?;
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "stages[{k:?}] is not callable"
                )));
            }
            functions.insert(k.extract::<String>()?, Arc::new(v.unbind()));
        }
        let p = Pipeline {
            config,
            functions: Arc::new(functions),
            report: Arc::default(),
        };
        // Check the stages now, so a wrong config raises here rather than at the first
        // document (the configured source and sink are checked by `run`).
        p.pipe_plan(unused_io())?;
        Ok(p)
    }

    /// pipe(docs) -> iterator of dicts
    ///
    /// Runs the pipeline's stages over `docs` (any iterable of str, bytes or dict with
    /// `id`, `text` or `html`, `url`, `lang`, …) and yields one dict per document in input
    /// order, shaped like a line of the JSONL sink (its `fields` and `include_raw` apply).
    /// A document that fails comes back as {"id", "stage", "error"}; under
    /// `on_error = "raise"` it raises DocumentError instead. Dropped documents (duplicates,
    /// too short, a python stage's None) are not yielded. Input is read only as output is
    /// taken, so memory stays bounded; the work runs on the engine's threads.
    fn pipe(&self, docs: &Bound<'_, PyAny>) -> PyResult<PipeIter> {
        let input = docs.try_iter()?.unbind();
        let (feed_tx, feed_rx) = crossbeam_channel::unbounded::<Item>();
        let (back_tx, back_rx) = crossbeam_channel::unbounded::<Back>();
        let plan = self.pipe_plan((
            Arc::new(Mutex::new(Some(feed_rx))),
            Arc::new(Mutex::new(Some(back_tx))),
        ))?;
        let policies = Policies {
            by_stage: (plan.stages.iter())
                .map(|s| (s.name.clone(), s.on_error))
                .collect(),
            default: plan.settings.on_error,
        };
        // Enough in flight to keep every stage's channel full, never more.
        let limit = (plan.settings.channel_capacity * (plan.stages.len() + 2)).max(16) as u64;
        let runner = Runner::new(plan)
            .map_err(|e| DocumentError::new_err(format!("stage `{}`: {}", e.stage, e.message)))?;
        let cancel = CancelToken::new();
        let c = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("textpipe".into())
            .spawn(move || runner.run(&c))
            .map_err(|e| DocumentError::new_err(format!("cannot start the engine: {e}")))?;
        Ok(PipeIter {
            input: Some(input),
            feed: Some(feed_tx),
            out: back_rx,
            sent: 0,
            accounted: 0,
            limit,
            opts: textpipe_io::JsonlOptions::default(),
            policies,
            cancel,
            thread: Some(thread),
            report: self.report.clone(),
            finished: false,
        })
    }

    /// run() -> dict
    ///
    /// Runs the configured source into the configured sink, as `textpipe run` does, and
    /// returns the report (also kept as `report`). Raises DocumentError if the run failed.
    fn run(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let reg = self.registry(None);
        let plan =
            pipeline_core::config::load_text(&self.config.path, &self.config.text, &[], &reg)
                .map_err(|e| config_error(&e))?;
        let runner = Runner::new(plan)
            .map_err(|e| DocumentError::new_err(format!("stage `{}`: {}", e.stage, e.message)))?;
        let report = py.detach(|| runner.run(&CancelToken::new()));
        let dict = report_dict(py, &report)?;
        pipe::keep_report(&self.report, report)?;
        Ok(dict)
    }

    /// The last run's report (documents read, written, failed, dropped; per-stage time),
    /// as a dict; None before a run has ended.
    #[getter]
    fn report(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let r = self.report.lock().ok();
        match r.as_ref().and_then(|r| r.as_ref()) {
            Some(r) => report_dict(py, r).map(Some),
            None => Ok(None),
        }
    }

    /// The resolved pipeline, as `textpipe check` prints it.
    fn describe(&self) -> PyResult<String> {
        let plan = self.pipe_plan(unused_io())?;
        Ok(plan.describe())
    }
}

/// The extension module.
#[pymodule]
fn _textpipe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Pipeline>()?;
    m.add_class::<PipeIter>()?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add("DocumentError", m.py().get_type::<DocumentError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
