//! `parquet`: one row per document in an Apache Parquet file (arrow-rs), zstd-compressed,
//! in row groups of about `row_group_mb` of text: `id`, `url`, `lang`, `title`, `author`,
//! `date`, `text`, `summary` (strings; empty ones null), `keywords` (list of
//! {text, score}) and `entities` (list of {text, label, start, end}, byte offsets into
//! `text`). The file is written atomically, as the other sinks' are.

use std::sync::Arc;

use arrow_array::builder::{
    Float32Builder, ListBuilder, StringBuilder, StructBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use pipeline_core::atomic::AtomicFile;
use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Sink, SinkError,
    SinkFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

/// Options of the `parquet` sink.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParquetSinkOptions {
    /// Output file.
    pub path: String,
    /// A row group is written when the documents buffered hold this many MB of text.
    pub row_group_mb: usize,
    /// zstd level (1–22).
    pub zstd_level: i32,
}

impl Default for ParquetSinkOptions {
    fn default() -> Self {
        ParquetSinkOptions {
            path: String::new(),
            row_group_mb: 64,
            zstd_level: 3,
        }
    }
}

impl StageOptions for ParquetSinkOptions {
    fn docs() -> &'static [OptionDoc] {
        &[
            OptionDoc {
                name: "path",
                help: "output .parquet file (written atomically; relative to the config file)",
            },
            OptionDoc {
                name: "row_group_mb",
                help: "write a row group when the buffered documents hold this many MB of text",
            },
            OptionDoc {
                name: "zstd_level",
                help: "zstd compression level, 1–22",
            },
        ]
    }
}

pub(crate) struct ParquetSinkFactory;

impl SinkFactory for ParquetSinkFactory {
    fn kind(&self) -> &str {
        "parquet"
    }
    fn about(&self) -> &str {
        "one row per document in a Parquet file (zstd): id, url, lang, title, author, date, text, summary, keywords, entities"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&ParquetSinkOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        ParquetSinkOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, OptionsError> {
        let o: ParquetSinkOptions = pipeline_core::parse_options(options)?;
        if o.path.is_empty() || o.path == "-" {
            return Err(
                OptionsError::at("path", "the parquet sink needs a file path")
                    .with_help("Parquet's footer is written last: it cannot stream to stdout"),
            );
        }
        let level = ZstdLevel::try_new(o.zstd_level)
            .map_err(|e| OptionsError::at("zstd_level", e.to_string()))?;
        let p = ctx.resolve(&o.path);
        let f = AtomicFile::create(&p).map_err(|e| {
            OptionsError::at("path", format!("cannot create `{}`: {e}", p.display()))
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .build();
        let schema = schema();
        let writer = ArrowWriter::try_new(f, schema.clone(), Some(props))
            .map_err(|e| OptionsError::at("path", e.to_string()))?;
        Ok(Box::new(ParquetSink {
            writer: Some(writer),
            rows: Rows::new(),
            limit: o.row_group_mb.max(1) << 20,
            schema,
            desc: p.display().to_string(),
        }))
    }
}

fn keyword_fields() -> Fields {
    Fields::from(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("score", DataType::Float32, false),
    ])
}

fn entity_fields() -> Fields {
    Fields::from(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("start", DataType::UInt32, false),
        Field::new("end", DataType::UInt32, false),
    ])
}

/// The file's columns.
pub fn schema() -> Arc<Schema> {
    let list = |f: Fields| DataType::List(Arc::new(Field::new("item", DataType::Struct(f), true)));
    let mut fields = vec![Field::new("id", DataType::Utf8, false)];
    for name in ["url", "lang", "title", "author", "date", "text", "summary"] {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    fields.push(Field::new("keywords", list(keyword_fields()), true));
    fields.push(Field::new("entities", list(entity_fields()), true));
    Arc::new(Schema::new(fields))
}

/// Columns being filled for the next row group.
struct Rows {
    strings: Vec<StringBuilder>,
    keywords: ListBuilder<StructBuilder>,
    entities: ListBuilder<StructBuilder>,
    bytes: usize,
    n: usize,
}

impl Rows {
    fn new() -> Self {
        Rows {
            strings: (0..8).map(|_| StringBuilder::new()).collect(),
            keywords: ListBuilder::new(StructBuilder::from_fields(keyword_fields(), 0)),
            entities: ListBuilder::new(StructBuilder::from_fields(entity_fields(), 0)),
            bytes: 0,
            n: 0,
        }
    }

    fn push(&mut self, d: &Document) {
        let meta = |k: &str| {
            d.meta
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let url = meta("canonical_url").or(d.declared.url.as_deref());
        let date = meta("date").or(d.declared.date.as_deref());
        let summary = d.summary.as_ref().map(|s| s.text.as_str());
        let values = [
            Some(d.id.as_str()),
            url,
            d.lang.as_deref(),
            meta("title"),
            meta("author"),
            date,
            Some(d.text.as_str()),
            summary,
        ];
        for (b, v) in self.strings.iter_mut().zip(values) {
            b.append_option(v);
        }
        let kw = self.keywords.values();
        for k in &d.keywords {
            field::<StringBuilder>(kw, 0).append_value(&k.text);
            field::<Float32Builder>(kw, 1).append_value(k.score);
            kw.append(true);
        }
        self.keywords.append(true);
        let en = self.entities.values();
        for e in &d.entities {
            field::<StringBuilder>(en, 0).append_value(&e.text);
            field::<StringBuilder>(en, 1).append_value(&e.label);
            field::<UInt32Builder>(en, 2).append_value(e.span.start as u32);
            field::<UInt32Builder>(en, 3).append_value(e.span.end as u32);
            en.append(true);
        }
        self.entities.append(true);
        self.bytes += d.text.len() + summary.map_or(0, str::len);
        self.n += 1;
    }

    fn batch(&mut self, schema: &Arc<Schema>) -> Result<RecordBatch, SinkError> {
        let mut cols: Vec<ArrayRef> = (self.strings.iter_mut())
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        cols.push(Arc::new(self.keywords.finish()));
        cols.push(Arc::new(self.entities.finish()));
        self.bytes = 0;
        self.n = 0;
        RecordBatch::try_new(schema.clone(), cols).map_err(|e| SinkError(e.to_string()))
    }
}

/// The builder of a struct's `i`-th field (the schema above fixes their types).
fn field<T: arrow_array::builder::ArrayBuilder>(s: &mut StructBuilder, i: usize) -> &mut T {
    s.field_builder::<T>(i)
        .unwrap_or_else(|| unreachable!("field {i} has the schema's type"))
}

struct ParquetSink {
    writer: Option<ArrowWriter<AtomicFile>>,
    rows: Rows,
    limit: usize,
    schema: Arc<Schema>,
    desc: String,
}

impl ParquetSink {
    fn flush(&mut self) -> Result<(), SinkError> {
        if self.rows.n == 0 {
            return Ok(());
        }
        let batch = self.rows.batch(&self.schema)?;
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| SinkError("the parquet file is already closed".into()))?;
        w.write(&batch).map_err(|e| SinkError(e.to_string()))?;
        // One batch, one row group: its size is ours to choose.
        w.flush().map_err(|e| SinkError(e.to_string()))
    }

    /// Writes the footer; the file, still under its temporary name.
    fn close(&mut self) -> Result<Option<AtomicFile>, SinkError> {
        self.flush()?;
        match self.writer.take() {
            Some(w) => w
                .into_inner()
                .map(Some)
                .map_err(|e| SinkError(e.to_string())),
            None => Ok(None),
        }
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        self.rows.push(doc);
        if self.rows.bytes >= self.limit {
            self.flush()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        if let Some(f) = self.close()? {
            f.commit()?;
        }
        Ok(())
    }
    fn finish_partial(&mut self) -> Result<Option<std::path::PathBuf>, SinkError> {
        match self.close()? {
            Some(f) => Ok(Some(f.commit_partial()?)),
            None => Ok(None),
        }
    }
    fn describe(&self) -> String {
        format!("parquet to {} (zstd)", self.desc)
    }
}
