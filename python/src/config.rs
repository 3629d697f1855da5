//! A pipeline config given from Python: a TOML file's path, TOML text or a dict, with
//! keyword overrides (`--set` in the CLI).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::ConfigError;

/// Config text and where it came from (relative paths resolve against its directory).
#[derive(Clone)]
pub struct ConfigText {
    /// The file, or `<string>` / `<dict>` (relative paths then resolve against the working
    /// directory).
    pub path: PathBuf,
    /// The TOML text, overrides applied.
    pub text: String,
}

/// The `ConfigError` Python sees: the CLI's message (`file:line:col: …` and the snippet),
/// with `origin`, `line` and `column` as attributes.
pub fn config_error(e: &pipeline_core::ConfigError) -> PyErr {
    let err = ConfigError::new_err(e.to_string());
    Python::attach(|py| {
        let v = err.value(py);
        let (line, col) = e.line_col().unzip();
        let _ = v.setattr("origin", &e.origin);
        let _ = v.setattr("line", line);
        let _ = v.setattr("column", col);
    });
    err
}

/// A Python value as TOML value text (`5`, `"de"`, `["id", "text"]`), through JSON.
fn toml_value(v: &Bound<'_, PyAny>, dumps: &Bound<'_, PyAny>) -> PyResult<String> {
    let json: String = dumps.call1((v,))?.extract()?;
    let value: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| ConfigError::new_err(format!("cannot read {json} as a value: {e}")))?;
    let t = toml::Value::try_from(value)
        .map_err(|e| ConfigError::new_err(format!("{json} has no TOML form: {e}")))?;
    Ok(t.to_string())
}

impl ConfigText {
    /// Reads `config` (a path, TOML text or a dict) and applies `overrides`
    /// (`{"stage.tag.keywords": 5}`).
    pub fn from_py(
        config: &Bound<'_, PyAny>,
        overrides: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let py = config.py();
        let json = py.import("json")?;
        let dumps = json.getattr("dumps")?;
        let (path, text) = if let Ok(d) = config.cast::<PyDict>() {
            let json: String = dumps.call1((d,))?.extract()?;
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| ConfigError::new_err(format!("<dict>: {e}")))?;
            let t = toml::Value::try_from(value).map_err(|e| {
                ConfigError::new_err(format!(
                    "<dict>: not a TOML table ({e}); `None` has no TOML form"
                ))
            })?;
            let text =
                toml::to_string(&t).map_err(|e| ConfigError::new_err(format!("<dict>: {e}")))?;
            (PathBuf::from("<dict>"), text)
        } else {
            // A str or a path-like: a file when one exists by that name, else TOML text.
            let s: String = match config.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => py
                    .import("os")?
                    .call_method1("fspath", (config,))
                    .map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(
                            "config is a path to a TOML file, TOML text or a dict",
                        )
                    })?
                    .extract()?,
            };
            let p = PathBuf::from(&s);
            let looks_like_text = s.contains('\n') || s.contains('=');
            if !looks_like_text || p.is_file() {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    ConfigError::new_err(format!("{s}: cannot read config file: {e}"))
                })?;
                (p, text)
            } else {
                (PathBuf::from("<string>"), s)
            }
        };
        let mut sets = Vec::new();
        for (k, v) in overrides.into_iter().flat_map(|d| d.iter()) {
            let key: String = k.extract()?;
            sets.push(format!("{key}={}", toml_value(&v, &dumps)?));
        }
        let origin = path.display().to_string();
        let text = if sets.is_empty() {
            text
        } else {
            pipeline_core::config::apply_overrides(&origin, &text, &sets)
                .map_err(|e| config_error(&e))?
        };
        Ok(ConfigText { path, text })
    }

    /// The text with `python` as the kind of its source and sink, everything else (and
    /// so every line and column an error points at) as written: the python source takes
    /// no options, the python sink the JSONL sink's `fields` and `include_raw`.
    pub fn for_pipe(&self) -> PyResult<String> {
        let origin = self.path.display().to_string();
        let sets = [
            "source.kind=\"python\"".to_string(),
            "sink.kind=\"python\"".to_string(),
        ];
        pipeline_core::config::apply_overrides(&origin, &self.text, &sets)
            .map_err(|e| config_error(&e))
    }
}
