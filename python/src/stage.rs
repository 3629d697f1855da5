//! `kind = "python"`: a stage that calls a Python function given to
//! `Pipeline(config, stages={"name": func})`.

use std::collections::HashMap;
use std::sync::Arc;

use pipeline_core::{
    BuildContext, Document, OptionsError, Outcome, PreparedStage, Stage, StageError, StageFactory,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The functions a pipeline was given, by name.
pub type Functions = Arc<HashMap<String, Arc<Py<PyAny>>>>;

/// Builds `python` stages from the pipeline's functions.
pub struct PyStageFactory(pub Functions);

impl StageFactory for PyStageFactory {
    fn kind(&self) -> &str {
        "python"
    }

    fn about(&self) -> &str {
        "Calls a Python function given to textpipe.Pipeline(stages={NAME: func}); NAME is the stage's name (or its `function` option). func(doc: dict) returns the document (a dict), or None to drop it; an exception fails that document"
    }

    fn option_docs(&self) -> &[pipeline_core::OptionDoc] {
        &[pipeline_core::OptionDoc {
            name: "function",
            help: "Key of the function in Pipeline(stages=…) (default: the stage's name)",
        }]
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
        let name = match options.remove("function") {
            Some(toml::Value::String(s)) => s,
            Some(_) => return Err(OptionsError::at("function", "must be a string")),
            None => ctx.stage_name.clone(),
        };
        if let Some(k) = options.keys().next() {
            return Err(OptionsError::at(
                k,
                "unknown option (a python stage has only `function`)",
            ));
        }
        let Some(func) = self.0.get(&name).cloned() else {
            let mut known: Vec<&str> = self.0.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(OptionsError::at(
                "function",
                format!("no Python function `{name}` was given to this Pipeline"),
            )
            .with_help(format!(
                "pass Pipeline(config, stages={{\"{name}\": func}}) (given: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        Ok(Arc::new(move || -> Result<Box<dyn Stage>, StageError> {
            Ok(Box::new(PyStage { func: func.clone() }))
        }))
    }
}

/// One worker of a `python` stage.
struct PyStage {
    func: Arc<Py<PyAny>>,
}

impl PyStage {
    fn call(&self, py: Python<'_>, doc: &mut Document) -> PyResult<Result<Outcome, String>> {
        let json = py.import("json")?;
        let text = serde_json::to_string(&doc.to_json(&[], false))
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let d = json.call_method1("loads", (text,))?;
        let r = self.func.bind(py).call1((d,))?;
        if r.is_none() {
            return Ok(Ok(Outcome::Drop {
                reason: "python stage returned None".into(),
            }));
        }
        if !r.is_instance_of::<PyDict>() {
            let t = r.get_type().name()?;
            return Ok(Err(format!(
                "the function returned {t}, not a dict or None"
            )));
        }
        let back: String = json.call_method1("dumps", (r,))?.extract()?;
        let mut new: Document = match serde_json::from_str(&back) {
            Ok(d) => d,
            Err(e) => return Ok(Err(format!("the returned dict is not a document: {e}"))),
        };
        if let Err(e) = new.check_spans() {
            return Ok(Err(format!("the returned document has a bad span: {e}")));
        }
        if new.raw.is_empty() {
            new.raw = std::mem::take(&mut doc.raw);
        }
        *doc = new;
        Ok(Ok(Outcome::Keep))
    }
}

impl Stage for PyStage {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        Python::attach(|py| match self.call(py, doc) {
            Ok(r) => r.map_err(StageError::new),
            // The function raised: this document fails, with the exception as its error.
            Err(e) => Err(StageError::new(e.to_string())),
        })
    }
}
