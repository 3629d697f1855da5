//! Sinks: `jsonl` (file or stdout; the document, or a `lean` flat record) and `txt-dir`
//! (one file per document: text, summary or Markdown). Files are atomic.

use std::io::Write;
use std::path::PathBuf;

use pipeline_core::atomic::AtomicFile;
use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Sink, SinkError,
    SinkFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `jsonl` sink.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct JsonlSinkOptions {
        /// Output file (written atomically), or "-" for stdout.
        pub path: String = "-".into(),
        /// Top-level fields to keep, e.g. ["id", "text", "summary"] (empty: all).
        pub fields: Vec<String> = Vec::new(),
        /// Also write the raw input bytes.
        pub include_raw: bool = false,
        /// "full" (the document, `fields` selecting) or "lean" (id, url, lang, title, author, date,
        /// text; empty ones left out).
        pub format: String = "full".into(),
    }
}

/// The `lean` record of a document: what a corpus needs, flat, empty fields left out.
#[derive(Serialize)]
struct Lean<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    text: &'a str,
}

impl<'a> Lean<'a> {
    fn of(d: &'a Document) -> Self {
        let meta = |k: &str| {
            d.meta
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        Lean {
            id: &d.id,
            url: meta("canonical_url").or(d.declared.url.as_deref()),
            lang: d.lang.as_deref(),
            title: meta("title"),
            author: meta("author"),
            date: meta("date").or(d.declared.date.as_deref()),
            text: &d.text,
        }
    }
}

pub(crate) struct JsonlSinkFactory;

impl SinkFactory for JsonlSinkFactory {
    fn kind(&self) -> &str {
        "jsonl"
    }
    fn about(&self) -> &str {
        "one JSON object per document, to a file (atomic) or stdout"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&JsonlSinkOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        JsonlSinkOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, OptionsError> {
        let o: JsonlSinkOptions = pipeline_core::parse_options(options)?;
        if o.format != "full" && o.format != "lean" {
            return Err(
                OptionsError::at("format", format!("unknown format `{}`", o.format))
                    .with_help("use \"full\" or \"lean\""),
            );
        }
        let (out, desc) = if o.path == "-" {
            (
                Out::Stdout(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout(),
                )),
                "stdout".to_string(),
            )
        } else {
            let p = ctx.resolve(&o.path);
            let f = AtomicFile::create(&p).map_err(|e| {
                OptionsError::at("path", format!("cannot create `{}`: {e}", p.display()))
            })?;
            (Out::File(Some(f)), p.display().to_string())
        };
        Ok(Box::new(JsonlSink {
            o,
            out,
            desc,
            buf: Vec::new(),
        }))
    }
}

enum Out {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(Option<AtomicFile>),
}

struct JsonlSink {
    o: JsonlSinkOptions,
    out: Out,
    desc: String,
    buf: Vec<u8>,
}

impl Sink for JsonlSink {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        self.buf.clear();
        if self.o.format == "lean" {
            serde_json::to_writer(&mut self.buf, &Lean::of(doc))
        } else {
            doc.write_json(&mut self.buf, &self.o.fields, self.o.include_raw)
        }
        .map_err(|e| SinkError(e.to_string()))?;
        self.buf.push(b'\n');
        match &mut self.out {
            Out::Stdout(w) => w.write_all(&self.buf)?,
            Out::File(Some(f)) => f.write_all(&self.buf)?,
            Out::File(None) => return Err(SinkError("sink already finished".into())),
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        match &mut self.out {
            Out::Stdout(w) => w.flush()?,
            Out::File(f) => {
                if let Some(f) = f.take() {
                    f.commit()?;
                }
            }
        }
        Ok(())
    }
    fn finish_partial(&mut self) -> Result<Option<std::path::PathBuf>, SinkError> {
        match &mut self.out {
            Out::Stdout(w) => {
                w.flush()?;
                Ok(None)
            }
            Out::File(f) => match f.take() {
                Some(f) => Ok(Some(f.commit_partial()?)),
                None => Ok(None),
            },
        }
    }
    fn describe(&self) -> String {
        let fields = if self.o.fields.is_empty() {
            "all fields".to_string()
        } else {
            self.o.fields.join(", ")
        };
        format!("jsonl to {} ({fields})", self.desc)
    }
}

pipeline_core::options! {
    /// Options of the `txt-dir` sink.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct TxtDirOptions {
        /// Output directory (relative to the config file; created if missing).
        pub dir: String = String::new(),
        /// What to write: "text", "summary" or "markdown" (headings, lists, paragraphs of the kept
        /// blocks; set extension = "md").
        pub field: String = "text".into(),
        /// File extension.
        pub extension: String = "txt".into(),
    }
}

pub(crate) struct TxtDirFactory;

impl SinkFactory for TxtDirFactory {
    fn kind(&self) -> &str {
        "txt-dir"
    }
    fn about(&self) -> &str {
        "one text file per document (ID.txt), each written atomically"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&TxtDirOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        TxtDirOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, OptionsError> {
        let o: TxtDirOptions = pipeline_core::parse_options(options)?;
        if o.dir.is_empty() {
            return Err(OptionsError::at("", "the txt-dir sink needs `dir`"));
        }
        if !matches!(o.field.as_str(), "text" | "summary" | "markdown") {
            return Err(
                OptionsError::at("field", format!("unknown field `{}`", o.field))
                    .with_help("use \"text\", \"summary\" or \"markdown\""),
            );
        }
        let dir = ctx.resolve(&o.dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            OptionsError::at("dir", format!("cannot create `{}`: {e}", dir.display()))
        })?;
        Ok(Box::new(TxtDirSink {
            o,
            dir,
            used: Default::default(),
        }))
    }
}

struct TxtDirSink {
    o: TxtDirOptions,
    dir: PathBuf,
    /// File stems written in this run: a second document with the same id gets `-2`, `-3`…
    used: std::collections::HashSet<String>,
}

/// A file name from a document id: path separators and unsafe characters become `_`.
pub(crate) fn safe_name(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.');
    if s.is_empty() {
        "_".into()
    } else {
        s.to_string()
    }
}

/// Longest file stem kept from an id, in bytes (file systems allow 255 per name).
const MAX_STEM: usize = 120;

/// The file stem of an id: its safe name, cut to [`MAX_STEM`] bytes and followed by 8 hex
/// digits of the id's hash where it is longer (so ids that differ past the cut differ).
pub(crate) fn file_stem(id: &str) -> String {
    let safe = safe_name(id);
    if safe.len() <= MAX_STEM {
        return safe;
    }
    let mut cut = MAX_STEM;
    while !safe.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &safe[..cut], id_hash(id))
}

/// 8 hex digits of an id's stable hash.
fn id_hash(id: &str) -> String {
    format!("{:08x}", pipeline_core::stable_hash(id.as_bytes()) as u32)
}

impl Sink for TxtDirSink {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        let markdown;
        let text = match self.o.field.as_str() {
            "summary" => doc.summary.as_ref().map(|s| s.text.as_str()).unwrap_or(""),
            "markdown" => {
                markdown = crate::markdown::to_markdown(doc);
                markdown.as_str()
            }
            _ => doc.text.as_str(),
        };
        // A name this run already wrote: another id that cleans to it (`a/b`, `a b`) gets
        // its hash added, the same id again a number.
        let mut name = file_stem(&doc.id);
        if self.used.contains(&name) {
            let stem = format!("{name}-{}", id_hash(&doc.id));
            name = stem.clone();
            let mut n = 1;
            while self.used.contains(&name) {
                n += 1;
                name = format!("{stem}-{n}");
            }
            tracing::warn!(
                id = %doc.id,
                file = %format!("{name}.{}", self.o.extension),
                "txt-dir: this id's file was already written in this run; written under another name"
            );
        }
        self.used.insert(name.clone());
        let path = self.dir.join(format!("{name}.{}", self.o.extension));
        let mut f = AtomicFile::create(&path)?;
        f.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            f.write_all(b"\n")?;
        }
        f.commit()?;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        format!("txt-dir {} ({})", self.dir.display(), self.o.field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("a/b c"), "a_b_c");
        assert_eq!(safe_name("../x"), "_x");
        assert_eq!(safe_name(""), "_");
    }

    #[test]
    fn long_ids_are_cut_and_hashed() {
        let long = "ü".repeat(150);
        let stem = file_stem(&long);
        assert!(stem.len() <= MAX_STEM + 9, "{}", stem.len());
        assert_ne!(stem, file_stem(&"ü".repeat(151)));
        assert_eq!(file_stem("a/b"), "a_b");
    }

    #[test]
    fn every_document_gets_its_own_file_whatever_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = TxtDirSink {
            o: TxtDirOptions::default(),
            dir: dir.path().to_path_buf(),
            used: Default::default(),
        };
        let ids = ["dup", "dup", "a/b", "a_b", "a b", "", ".", "..", "dup"];
        for (k, id) in ids.iter().enumerate() {
            sink.write(&Document::from_text(*id, format!("{k}")))
                .unwrap();
        }
        // Nine documents, nine files, each with its own text.
        let mut texts: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        texts.sort();
        let want: Vec<String> = (0..ids.len()).map(|k| format!("{k}\n")).collect();
        assert_eq!(texts, want);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("dup.txt")).unwrap(),
            "0\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a_b.txt")).unwrap(),
            "2\n"
        );
    }
}
