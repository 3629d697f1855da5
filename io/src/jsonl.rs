//! `jsonl`: one document per line of JSON, from files, a glob or stdin, each plain or
//! compressed (gzip, zstd, bzip2, xz: read decompressed; sharded by file).

use std::io::BufRead;
use std::path::PathBuf;

use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Source, SourceError,
    SourceFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `jsonl` source.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct JsonlOptions {
        /// JSONL file, directory, glob, or "-" for stdin (relative to the config file).
        pub path: String = String::new(),
        /// Field holding the id (missing: FILE:LINE).
        pub id_field: String = "id".into(),
        /// Field holding the content (plain text or HTML).
        pub text_field: String = "text".into(),
        /// Field holding the URL (declared metadata).
        pub url_field: String = "url".into(),
        /// Field holding a declared charset.
        pub charset_field: String = "charset".into(),
        /// Field holding a date.
        pub date_field: String = "date".into(),
        /// Field holding a MIME type.
        pub content_type_field: String = "content_type".into(),
        /// Field holding the declared language (a prior for tag's detection).
        pub lang_field: String = "lang".into(),
        /// Other fields copied into meta.
        pub meta_fields: Vec<String> = Vec::new(),
        /// This task's shard, 0-based (set by `textpipe run --rank`).
        pub rank: usize = 0,
        /// Number of shards: the files are cut into byte ranges aligned to line starts.
        pub world_size: usize = 1,
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
        crate::check_shard(o.rank, o.world_size)?;
        if o.path == "-" && o.world_size > 1 {
            return Err(OptionsError::at("path", "stdin cannot be sharded")
                .with_help("give a file, directory or glob when running with --world-size"));
        }
        let files = if o.path == "-" {
            Vec::new()
        } else {
            crate::expand_paths(&o.path, ctx, "path", true, &[])?
        };
        // The files as one byte stream, cut into `world_size` ranges; this task's parts.
        let sizes: Vec<u64> = files
            .iter()
            .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
            .collect();
        let total: u64 = sizes.iter().sum();
        let (r, w) = (o.rank as u128, o.world_size as u128);
        let lo = (total as u128 * r / w) as u64;
        let hi = (total as u128 * (r + 1) / w) as u64;
        let mut parts = Vec::new();
        let mut base = 0u64;
        for (f, len) in files.into_iter().zip(sizes) {
            // A compressed file cannot be entered in the middle: it is read whole by the
            // task its first byte falls to.
            let codec = crate::compress::sniff_file(&f).ok().flatten();
            let (a, b) = (lo.max(base), hi.min(base + len));
            if codec.is_some() {
                if (lo..hi).contains(&base) {
                    parts.push(Part {
                        path: f,
                        start: 0,
                        end: u64::MAX,
                        codec,
                    });
                }
            } else if a < b {
                parts.push(Part {
                    path: f,
                    start: a - base,
                    end: b - base,
                    codec,
                });
            }
            base += len;
        }
        Ok(Box::new(JsonlSource {
            stdin: o.path == "-",
            files: parts.into_iter(),
            current: None,
            total: hi - lo,
            max: 0,
            o,
        }))
    }
}

/// The lines of one file that start in `[start, end)` (bytes; a compressed file: all).
struct Part {
    path: PathBuf,
    start: u64,
    end: u64,
    codec: Option<crate::compress::Codec>,
}

/// The file being read: name, reader, line number, byte position and end of this task's range.
struct Current {
    name: String,
    reader: Box<dyn BufRead + Send>,
    lineno: usize,
    pos: u64,
    end: u64,
}

struct JsonlSource {
    o: JsonlOptions,
    stdin: bool,
    files: std::vec::IntoIter<Part>,
    current: Option<Current>,
    total: u64,
    /// `max_document_bytes` (0: none): a longer line is skipped, not held in memory.
    max: u64,
}

/// Reads one line (with its `\n`) into `buf`, keeping at most `max` bytes of it (0: all);
/// returns the bytes consumed and whether the line was longer than `max`. The rest of a
/// long line is read and thrown away chunk by chunk, so memory stays at `max`.
fn read_line_capped(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: u64,
) -> std::io::Result<(usize, bool)> {
    if max == 0 {
        return r.read_until(b'\n', buf).map(|n| (n, false));
    }
    let (mut consumed, mut over) = (0usize, false);
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed, over));
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !over {
            if (buf.len() + take) as u64 > max.saturating_add(2) {
                over = true;
                *buf = Vec::new();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, over));
        }
    }
}

/// Opens `part` positioned at the first line that starts in its range, with the line number
/// of that line (newlines before it counted), so ids and errors match an unsharded run.
fn open_part(part: &Part) -> std::io::Result<Current> {
    use std::io::{Read, Seek, SeekFrom};
    if part.codec.is_some() {
        return Ok(Current {
            name: part.path.display().to_string(),
            reader: crate::compress::open(&part.path)?.0,
            lineno: 0,
            pos: 0,
            end: u64::MAX,
        });
    }
    let mut f = std::fs::File::open(&part.path)?;
    let mut lineno = 0;
    let mut pos = 0;
    if part.start > 0 {
        // Count the lines before start - 1, then skip the rest of the line in progress there
        // (a line belongs to the task its first byte falls to).
        let mut left = part.start - 1;
        let mut chunk = vec![0u8; 1 << 16];
        while left > 0 {
            let n = f.read(&mut chunk[..left.min(1 << 16) as usize])?;
            if n == 0 {
                break;
            }
            lineno += chunk[..n].iter().filter(|b| **b == b'\n').count();
            left -= n as u64;
        }
        f.seek(SeekFrom::Start(part.start - 1))?;
        let mut r = std::io::BufReader::with_capacity(1 << 16, f);
        let mut skip = Vec::new();
        let n = r.read_until(b'\n', &mut skip)?;
        if skip.last() == Some(&b'\n') {
            lineno += 1;
        }
        pos = part.start - 1 + n as u64;
        return Ok(Current {
            name: part.path.display().to_string(),
            reader: Box::new(r),
            lineno,
            pos,
            end: part.end,
        });
    }
    Ok(Current {
        name: part.path.display().to_string(),
        reader: Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
        lineno,
        pos,
        end: part.end,
    })
}

impl JsonlSource {
    fn open_next(&mut self) -> Option<Result<(), SourceError>> {
        if self.stdin {
            self.stdin = false;
            // Compressed JSONL on stdin is read decompressed.
            return Some(crate::open_stream(None).map(|(name, reader)| {
                self.current = Some(Current {
                    name,
                    reader,
                    lineno: 0,
                    pos: 0,
                    end: u64::MAX,
                });
            }));
        }
        let p = self.files.next()?;
        let name = p.path.display().to_string();
        Some(match open_part(&p) {
            Ok(c) => {
                self.current = Some(c);
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
    let serde_json::Value::Object(map) = v else {
        return Err(err("line is not a JSON object".into()));
    };
    record_to_document(o, map, fallback_id.clone()).map_err(err)
}

/// Builds a document from one JSON object, read with the JSONL source's field names: the
/// content from `text_field`, or else from `html` (declared `text/html`); `fallback_id`
/// when the id field is missing (it is also the document's `source`).
pub fn record_to_document(
    o: &JsonlOptions,
    mut map: serde_json::Map<String, serde_json::Value>,
    fallback_id: String,
) -> Result<Document, String> {
    let id = match map.remove(&o.id_field) {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => fallback_id.clone(),
    };
    let (field, html) = match map.contains_key(&o.text_field) {
        false if map.contains_key("html") => ("html", true),
        _ => (o.text_field.as_str(), false),
    };
    let text = match map.remove(field) {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(format!("field `{field}` is not a string")),
        None => return Err(format!("no `{}` field", o.text_field)),
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
    if html && d.declared.content_type.is_none() {
        d.declared.content_type = Some("text/html".into());
    }
    d.declared.lang = take(&o.lang_field);
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
            let cur = self.current.as_mut()?;
            if cur.pos >= cur.end {
                self.current = None;
                continue;
            }
            let mut buf = Vec::new();
            match read_line_capped(&mut cur.reader, &mut buf, self.max) {
                Ok((0, _)) => {
                    self.current = None;
                    continue;
                }
                Ok((n, true)) => {
                    cur.pos += n as u64;
                    cur.lineno += 1;
                    return Some(Err(SourceError {
                        id: format!("{}:{}", cur.name, cur.lineno),
                        message: format!(
                            "line {} of {}: {}",
                            cur.lineno,
                            cur.name,
                            pipeline_core::too_large(n as u64, self.max)
                        ),
                        raw: Vec::new(),
                    }));
                }
                Ok((n, false)) => {
                    cur.pos += n as u64;
                    cur.lineno += 1;
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let id = format!("{}:{}", cur.name, cur.lineno);
                    return Some(parse_line(&self.o, &buf, id));
                }
                Err(e) => {
                    let id = format!("{}:{}", cur.name, cur.lineno + 1);
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
    fn set_max_document_bytes(&mut self, max: u64) {
        self.max = max;
    }
    fn describe(&self) -> String {
        format!(
            "jsonl {} (text field `{}`, id field `{}`)",
            self.o.path, self.o.text_field, self.o.id_field
        )
    }
}
