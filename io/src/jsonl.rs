//! `jsonl`: one document per line of JSON, from files, a glob or stdin.

use std::io::BufRead;
use std::path::PathBuf;

use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Source, SourceError,
    SourceFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

/// Options of the `jsonl` source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JsonlOptions {
    /// A file, directory, glob, or `-` for stdin.
    pub path: String,
    /// Field holding the document id (missing: `FILE:LINE`).
    pub id_field: String,
    /// Field holding the document content (text or HTML).
    pub text_field: String,
    /// Field holding the URL.
    pub url_field: String,
    /// Field holding a declared charset.
    pub charset_field: String,
    /// Field holding a date.
    pub date_field: String,
    /// Field holding a MIME type.
    pub content_type_field: String,
    /// Other fields copied into the document's `meta`.
    pub meta_fields: Vec<String>,
}

impl Default for JsonlOptions {
    fn default() -> Self {
        JsonlOptions {
            path: String::new(),
            id_field: "id".into(),
            text_field: "text".into(),
            url_field: "url".into(),
            charset_field: "charset".into(),
            date_field: "date".into(),
            content_type_field: "content_type".into(),
            meta_fields: Vec::new(),
        }
    }
}

impl StageOptions for JsonlOptions {
    fn docs() -> &'static [OptionDoc] {
        &[
            OptionDoc {
                name: "path",
                help:
                    "JSONL file, directory, glob, or \"-\" for stdin (relative to the config file)",
            },
            OptionDoc {
                name: "id_field",
                help: "field holding the id (missing: FILE:LINE)",
            },
            OptionDoc {
                name: "text_field",
                help: "field holding the content (plain text or HTML)",
            },
            OptionDoc {
                name: "url_field",
                help: "field holding the URL (declared metadata)",
            },
            OptionDoc {
                name: "charset_field",
                help: "field holding a declared charset",
            },
            OptionDoc {
                name: "date_field",
                help: "field holding a date",
            },
            OptionDoc {
                name: "content_type_field",
                help: "field holding a MIME type",
            },
            OptionDoc {
                name: "meta_fields",
                help: "other fields copied into meta",
            },
        ]
    }
}

pub(crate) struct JsonlFactory;

impl SourceFactory for JsonlFactory {
    fn kind(&self) -> &str {
        "jsonl"
    }
    fn about(&self) -> &str {
        "one document per JSON line; a malformed line is that document's error, the rest go on"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&JsonlOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        JsonlOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, OptionsError> {
        let o: JsonlOptions = pipeline_core::parse_options(options)?;
        if o.path.is_empty() {
            return Err(OptionsError::at("", "the jsonl source needs `path`"));
        }
        let files = if o.path == "-" {
            Vec::new()
        } else {
            crate::expand_paths(&o.path, ctx, "path", true, &[])?
        };
        let total = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        Ok(Box::new(JsonlSource {
            stdin: o.path == "-",
            files: files.into_iter(),
            current: None,
            total,
            o,
        }))
    }
}

struct JsonlSource {
    o: JsonlOptions,
    stdin: bool,
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(String, Box<dyn BufRead + Send>, usize)>,
    total: u64,
}

impl JsonlSource {
    fn open_next(&mut self) -> Option<Result<(), SourceError>> {
        if self.stdin {
            self.stdin = false;
            let r: Box<dyn BufRead + Send> = Box::new(std::io::BufReader::new(std::io::stdin()));
            self.current = Some(("stdin".into(), r, 0));
            return Some(Ok(()));
        }
        let p = self.files.next()?;
        let name = p.display().to_string();
        Some(match std::fs::File::open(&p) {
            Ok(f) => {
                self.current = Some((
                    name,
                    Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
                    0,
                ));
                Ok(())
            }
            Err(e) => Err(SourceError {
                id: name.clone(),
                message: format!("cannot open {name}: {e}"),
                raw: Vec::new(),
            }),
        })
    }
}

/// Builds a document from one JSON line; `fallback_id` is used when the id field is missing.
pub(crate) fn parse_line(
    o: &JsonlOptions,
    line: &[u8],
    fallback_id: String,
) -> Result<Document, SourceError> {
    let err = |m: String| SourceError {
        id: fallback_id.clone(),
        message: m,
        raw: line.to_vec(),
    };
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| err(format!("invalid JSON: {e}")))?;
    let serde_json::Value::Object(mut map) = v else {
        return Err(err("line is not a JSON object".into()));
    };
    let id = match map.remove(&o.id_field) {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => fallback_id.clone(),
    };
    let text = match map.remove(&o.text_field) {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(err(format!("field `{}` is not a string", o.text_field))),
        None => return Err(err(format!("no `{}` field", o.text_field))),
    };
    let mut d = Document::from_bytes(id, text.into_bytes());
    d.source = Some(fallback_id);
    let take = |f: &str| match map.get(f) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    d.declared.url = take(&o.url_field);
    d.declared.charset = take(&o.charset_field);
    d.declared.date = take(&o.date_field);
    d.declared.content_type = take(&o.content_type_field);
    for f in &o.meta_fields {
        if let Some(v) = map.remove(f) {
            d.meta.insert(f.clone(), v);
        }
    }
    Ok(d)
}

impl Source for JsonlSource {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        loop {
            if self.current.is_none() {
                if let Err(e) = self.open_next()? {
                    return Some(Err(e));
                }
            }
            let (name, reader, lineno) = self.current.as_mut()?;
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    self.current = None;
                    continue;
                }
                Ok(_) => {
                    *lineno += 1;
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(parse_line(&self.o, &buf, format!("{name}:{lineno}")));
                }
                Err(e) => {
                    let id = format!("{name}:{}", *lineno + 1);
                    self.current = None;
                    return Some(Err(SourceError {
                        id,
                        message: format!("read error: {e}"),
                        raw: buf,
                    }));
                }
            }
        }
    }
    fn total_bytes(&self) -> Option<u64> {
        (self.total > 0).then_some(self.total)
    }
    fn describe(&self) -> String {
        format!(
            "jsonl {} (text field `{}`, id field `{}`)",
            self.o.path, self.o.text_field, self.o.id_field
        )
    }
}
