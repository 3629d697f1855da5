//! `parquet` sink: one row per document in an Apache Parquet file (arrow-rs), zstd-compressed,
//! in row groups of about `row_group_mb` of text: `id`, `url`, `lang`, `title`, `author`,
//! `date`, `text`, `summary` (strings; empty ones null), `keywords` (list of
//! {text, score}) and `entities` (list of {text, label, start, end}, byte offsets into
//! `text`). The file is written atomically, as the other sinks' are. The `parquet` source
//! reads such files (or any with a string column of text) back, a batch at a time.

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

pipeline_core::options! {
    /// Options of the `parquet` sink.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct ParquetSinkOptions {
        /// Output .parquet file (written atomically; relative to the config file).
        pub path: String = String::new(),
        /// Write a row group when the buffered documents hold this many MB of text.
        pub row_group_mb: usize = 64,
        /// Zstd compression level, 1–22.
        pub zstd_level: i32 = 3,
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

pipeline_core::options! {
    /// Options of the `parquet` source.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct ParquetSourceOptions {
        /// Parquet file, directory or glob (relative to the config file).
        pub path: String = String::new(),
        /// String column holding the content (plain text or HTML).
        pub text_field: String = "text".into(),
        /// String column holding the id (missing: FILE:ROW).
        pub id_field: String = "id".into(),
        /// String column holding the URL.
        pub url_field: String = "url".into(),
        /// String column holding the declared language.
        pub lang_field: String = "lang".into(),
        /// String column holding a date.
        pub date_field: String = "date".into(),
        /// This task's shard, 0-based (set by `textpipe run --rank`).
        pub rank: usize = 0,
        /// Number of shards: task `rank` reads the sorted files [rank::world_size].
        pub world_size: usize = 1,
    }
}

pub(crate) struct ParquetSourceFactory;

impl pipeline_core::SourceFactory for ParquetSourceFactory {
    fn kind(&self) -> &str {
        "parquet"
    }
    fn about(&self) -> &str {
        "one document per row of Parquet files (a string column of text or HTML), read batch by batch"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&ParquetSourceOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        ParquetSourceOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn pipeline_core::Source>, OptionsError> {
        let o: ParquetSourceOptions = pipeline_core::parse_options(options)?;
        if o.path.is_empty() || o.path == "-" {
            return Err(
                OptionsError::at("path", "the parquet source needs a file path")
                    .with_help("Parquet's footer is at the end: it cannot be read from stdin"),
            );
        }
        crate::check_shard(o.rank, o.world_size)?;
        let files: Vec<std::path::PathBuf> = crate::expand_paths(&o.path, ctx, "path", true, &[])?
            .into_iter()
            .skip(o.rank)
            .step_by(o.world_size)
            .collect();
        Ok(Box::new(ParquetSource {
            o,
            files: files.into_iter(),
            current: None,
        }))
    }
}

/// The file being read: its name, its batches, the batch in hand and the next row.
struct Reading {
    name: String,
    batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    /// Rows read before the batch in hand (for fallback ids).
    base: usize,
}

struct ParquetSource {
    o: ParquetSourceOptions,
    files: std::vec::IntoIter<std::path::PathBuf>,
    current: Option<Reading>,
}

/// The string at `row` of column `name`, if the batch has such a column of strings.
fn string_at(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
    use arrow_array::Array;
    let col = b.column_by_name(name)?;
    let a = col.as_any().downcast_ref::<arrow_array::StringArray>()?;
    (!a.is_null(row)).then(|| a.value(row).to_string())
}

impl ParquetSource {
    fn open(&mut self, path: &std::path::Path) -> Result<(), pipeline_core::SourceError> {
        let name = path.display().to_string();
        let err = |m: String| pipeline_core::SourceError {
            id: name.clone(),
            message: format!("cannot read {name}: {m}"),
            raw: Vec::new(),
        };
        let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let batches = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .and_then(|b| b.with_batch_size(256).build())
            .map_err(|e| err(e.to_string()))?;
        self.current = Some(Reading {
            name: name.clone(),
            batches,
            batch: None,
            row: 0,
            base: 0,
        });
        Ok(())
    }
}

impl pipeline_core::Source for ParquetSource {
    fn next_doc(&mut self) -> Option<Result<Document, pipeline_core::SourceError>> {
        loop {
            if self.current.is_none() {
                let p = self.files.next()?;
                if let Err(e) = self.open(&p) {
                    return Some(Err(e));
                }
            }
            let cur = self.current.as_mut()?;
            let have = cur.batch.as_ref().is_some_and(|b| cur.row < b.num_rows());
            if !have {
                cur.base += cur.batch.as_ref().map_or(0, RecordBatch::num_rows);
                cur.row = 0;
                match cur.batches.next() {
                    None => {
                        self.current = None;
                        continue;
                    }
                    Some(Ok(b)) => {
                        cur.batch = Some(b);
                        continue;
                    }
                    Some(Err(e)) => {
                        let id = format!("{}:{}", cur.name, cur.base + 1);
                        self.current = None;
                        return Some(Err(pipeline_core::SourceError {
                            message: format!("{id}: {e}"),
                            id,
                            raw: Vec::new(),
                        }));
                    }
                }
            }
            let b = cur.batch.as_ref()?;
            let row = cur.row;
            cur.row += 1;
            let fallback = format!("{}:{}", cur.name, cur.base + row + 1);
            let o = &self.o;
            let Some(text) = string_at(b, &o.text_field, row) else {
                return Some(Err(pipeline_core::SourceError {
                    message: format!("{fallback}: no string in column `{}`", o.text_field),
                    id: fallback,
                    raw: Vec::new(),
                }));
            };
            let id = string_at(b, &o.id_field, row).unwrap_or_else(|| fallback.clone());
            let mut d = Document::from_bytes(id, text.into_bytes());
            d.source = Some(fallback);
            d.declared.url = string_at(b, &o.url_field, row);
            d.declared.lang = string_at(b, &o.lang_field, row);
            d.declared.date = string_at(b, &o.date_field, row);
            return Some(Ok(d));
        }
    }
    fn describe(&self) -> String {
        format!(
            "parquet {} (text column `{}`)",
            self.o.path, self.o.text_field
        )
    }
}
