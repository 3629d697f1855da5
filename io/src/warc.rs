//! `warc`: web archives as Common Crawl ships them (`.warc`, `.warc.gz` compressed per
//! record, also zstd and the other codecs of [`crate::compress`]). Every `response` record
//! of an HTML or text page becomes a document: its HTTP body, with `WARC-Target-URI` as the
//! URL, `WARC-Date` as the date, `WARC-Record-ID` as the id, and the HTTP `Content-Type`
//! (and its charset) and `Content-Language` declared. Other records (`request`, `metadata`,
//! `warcinfo`, `revisit`, non-text and non-2xx responses) are skipped and counted. A record
//! whose header is malformed or whose block is cut short is that record's error; reading
//! goes on at the next record.
//!
//! Our own reader rather than the `warc` crate: a malformed record must fail alone and
//! reading resume at the next `WARC/` line, it must read through the codecs our other
//! sources read (by magic bytes, streaming), and it needs only the record framing.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::PathBuf;

use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Source, SourceError,
    SourceFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `warc` source.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct WarcOptions {
        /// WARC file (.warc, .warc.gz), directory, glob, or "-" for stdin (relative to the config
        /// file).
        pub path: String = String::new(),
        /// This task's shard, 0-based (set by `textpipe run --rank`).
        pub rank: usize = 0,
        /// Number of shards.
        pub world_size: usize = 1,
        /// "file" (each task reads its files) or "record" (each task reads every file and keeps
        /// every world_size-th page).
        pub shard_by: String = "file".into(),
    }
}

pub(crate) struct WarcFactory;

impl SourceFactory for WarcFactory {
    fn kind(&self) -> &str {
        "warc"
    }
    fn about(&self) -> &str {
        "web archives (.warc, .warc.gz): one document per HTML or text response record"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&WarcOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        WarcOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, OptionsError> {
        let o: WarcOptions = pipeline_core::parse_options(options)?;
        if o.path.is_empty() {
            return Err(OptionsError::at("", "the warc source needs `path`"));
        }
        crate::check_shard(o.rank, o.world_size)?;
        let by_record = match o.shard_by.as_str() {
            "file" => false,
            "record" => true,
            other => {
                return Err(OptionsError::at(
                    "shard_by",
                    format!("unknown `{other}`: \"file\" or \"record\""),
                ))
            }
        };
        let files: Vec<PathBuf> = if o.path == "-" {
            if o.world_size > 1 && !by_record {
                return Err(OptionsError::at("path", "stdin cannot be sharded by file")
                    .with_help("use shard_by = \"record\", or give files"));
            }
            Vec::new()
        } else {
            let all = crate::expand_paths(&o.path, ctx, "path", true, &[])?;
            if by_record {
                all
            } else {
                all.into_iter().skip(o.rank).step_by(o.world_size).collect()
            }
        };
        let total = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        Ok(Box::new(WarcSource {
            stdin: o.path == "-",
            files: files.into_iter(),
            current: None,
            total,
            pages: 0,
            by_record: by_record.then_some((o.rank, o.world_size)),
            skipped: BTreeMap::new(),
            max: 0,
            desc: o.path,
        }))
    }
}

/// The file being read.
struct Current {
    name: String,
    reader: Box<dyn BufRead + Send>,
    /// Records begun so far in this file (for error ids).
    records: u64,
    /// The next record's `WARC/` line was already read (see [`read_record`]).
    pending: bool,
}

struct WarcSource {
    stdin: bool,
    files: std::vec::IntoIter<PathBuf>,
    current: Option<Current>,
    total: u64,
    /// Pages (records that would become documents) met so far: `record` sharding keeps
    /// every `world_size`-th.
    pages: u64,
    by_record: Option<(usize, usize)>,
    skipped: BTreeMap<String, u64>,
    /// `max_document_bytes` (0: none): a larger record block is skipped unread.
    max: u64,
    desc: String,
}

/// One WARC record's header fields (names lower-cased) and block.
struct Record {
    fields: Vec<(String, String)>,
    block: Vec<u8>,
}

impl Record {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What reading the next record gave.
enum Next {
    Record(Record),
    /// A record that cannot be read; the reader stands at the next `WARC/` line or the end.
    Bad(String),
    /// A block over the size limit, skipped unread.
    TooLarge(u64),
    End,
}

/// Reads a line (with its end) into `line`; false at the end of input.
fn read_line(r: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    Ok(r.read_until(b'\n', line)? > 0)
}

/// Skips to the next line that starts a record (`WARC/`), returning it, or `None` at the end.
fn seek_record(r: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    while read_line(r, line)? {
        if line.starts_with(b"WARC/") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads the next record. `pending` is true when the last call already consumed the next
/// record's `WARC/` line (it found it while skipping damage).
fn read_record(r: &mut dyn BufRead, max: u64, pending: &mut bool) -> std::io::Result<Next> {
    let mut line = Vec::new();
    if !std::mem::take(pending) {
        // Blank lines between records; anything else before `WARC/` is damage.
        loop {
            if !read_line(r, &mut line)? {
                return Ok(Next::End);
            }
            if line.starts_with(b"WARC/") {
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                *pending = seek_record(r, &mut line)?;
                return Ok(Next::Bad(
                    "bytes where a record's `WARC/` line should be (a damaged record)".into(),
                ));
            }
        }
    }
    let mut fields = Vec::new();
    loop {
        if !read_line(r, &mut line)? {
            return Ok(Next::Bad("the input ends inside a record header".into()));
        }
        if line.starts_with(b"WARC/") {
            *pending = true;
            return Ok(Next::Bad("a record header without its blank line".into()));
        }
        let l = String::from_utf8_lossy(&line);
        let l = l.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let Some(len) = fields
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<u64>().ok())
    else {
        *pending = seek_record(r, &mut line)?;
        return Ok(Next::Bad("a record without a valid Content-Length".into()));
    };
    if max > 0 && len > max {
        let skipped = std::io::copy(&mut r.take(len), &mut std::io::sink())?;
        if skipped < len {
            return Ok(Next::Bad(format!(
                "the record is cut short: {skipped} of {len} block bytes"
            )));
        }
        return Ok(Next::TooLarge(len));
    }
    let mut block = Vec::with_capacity(len.min(1 << 24) as usize);
    r.take(len).read_to_end(&mut block)?;
    if (block.len() as u64) < len {
        return Ok(Next::Bad(format!(
            "the record is cut short: {} of {len} block bytes",
            block.len()
        )));
    }
    Ok(Next::Record(Record { fields, block }))
}

/// Header fields as (lower-cased name, value), in order.
type Fields = Vec<(String, String)>;

/// The HTTP status, headers and body of a response block.
fn http(block: &[u8]) -> Option<(u16, Fields, &[u8])> {
    let end = memchr::memmem::find(block, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| memchr::memmem::find(block, b"\n\n").map(|i| (i, i + 2)))?;
    let head = String::from_utf8_lossy(&block[..end.0]);
    let mut lines = head.lines();
    let status = lines
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse::<u16>()
        .ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((status, headers, &block[end.1..]))
}

/// A `Transfer-Encoding: chunked` body put back together (`None` if it is not well formed).
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = memchr::memchr(b'\n', body)?;
        let size = std::str::from_utf8(&body[..nl]).ok()?;
        let size = size.split(';').next()?.trim();
        let n = usize::from_str_radix(size, 16).ok()?;
        body = &body[nl + 1..];
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..n)?);
        body = body.get(n..)?;
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .unwrap_or(body);
    }
}

impl WarcSource {
    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }

    fn open_next(&mut self) -> Option<Result<(), SourceError>> {
        let path = if std::mem::take(&mut self.stdin) {
            None
        } else {
            Some(self.files.next()?)
        };
        Some(crate::open_stream(path.as_deref()).map(|(name, reader)| {
            self.current = Some(Current {
                name,
                reader,
                records: 0,
                pending: false,
            });
        }))
    }

    /// The document of a record, or why it is skipped.
    fn document(&mut self, rec: Record) -> Result<Document, &'static str> {
        let kind = rec.get("warc-type").unwrap_or("").to_ascii_lowercase();
        if kind != "response" && kind != "resource" {
            return Err(match kind.as_str() {
                "request" => "request",
                "metadata" => "metadata",
                "warcinfo" => "warcinfo",
                "revisit" => "revisit",
                _ => "other record type",
            });
        }
        let (status, headers, body) = if kind == "response" {
            let Some((status, headers, body)) = http(&rec.block) else {
                return Err("response without an HTTP header");
            };
            (status, headers, body.to_vec())
        } else {
            let ct = rec.get("content-type").unwrap_or("").to_string();
            (
                200,
                vec![("content-type".to_string(), ct)],
                rec.block.clone(),
            )
        };
        if !(200..300).contains(&status) {
            return Err("HTTP status not 2xx");
        }
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        let ct = header("content-type").unwrap_or("").to_ascii_lowercase();
        let text = ct.is_empty()
            || ct.starts_with("text/")
            || ct.contains("html")
            || ct.contains("xml")
            || ct.contains("json");
        if !text {
            return Err("not text (Content-Type)");
        }
        let mut body = body;
        if header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
            if let Some(b) = dechunk(&body) {
                body = b;
            }
        }
        if crate::compress::Codec::sniff(&body).is_some() {
            if let Ok(Ok(b)) = crate::compress::read_all(&body[..], self.max) {
                body = b;
            }
        }
        let id = rec
            .get("warc-record-id")
            .map(|v| v.trim_matches(['<', '>']).to_string())
            .unwrap_or_default();
        let mut d = Document::from_bytes(id, body);
        d.declared.url = rec
            .get("warc-target-uri")
            .map(|u| u.trim_matches(['<', '>']).to_string());
        d.declared.date = rec.get("warc-date").map(String::from);
        d.declared.charset = ct
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("charset="))
            .next()
            .map(|c| c.trim_matches('"').to_string());
        d.declared.content_type = (!ct.is_empty()).then_some(ct);
        d.declared.lang = header("content-language").map(String::from);
        d.meta.insert("http_status".into(), status.into());
        Ok(d)
    }
}

impl Source for WarcSource {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        loop {
            if self.current.is_none() {
                if let Err(e) = self.open_next()? {
                    return Some(Err(e));
                }
            }
            let cur = self.current.as_mut()?;
            cur.records += 1;
            let at = format!("{}#{}", cur.name, cur.records);
            let next = read_record(&mut cur.reader, self.max, &mut cur.pending);
            let rec = match next {
                Ok(Next::End) => {
                    self.current = None;
                    continue;
                }
                Ok(Next::Record(r)) => r,
                Ok(Next::TooLarge(n)) => {
                    return Some(Err(SourceError {
                        id: at.clone(),
                        message: format!("record {at}: {}", pipeline_core::too_large(n, self.max)),
                        raw: Vec::new(),
                    }))
                }
                Ok(Next::Bad(why)) => {
                    return Some(Err(SourceError {
                        id: at.clone(),
                        message: format!("record {at}: {why}"),
                        raw: Vec::new(),
                    }))
                }
                Err(e) => {
                    self.current = None;
                    return Some(Err(SourceError {
                        id: at.clone(),
                        message: format!("record {at}: read error: {e}"),
                        raw: Vec::new(),
                    }));
                }
            };
            match self.document(rec) {
                Err(why) => self.skip(why),
                Ok(mut d) => {
                    self.pages += 1;
                    if let Some((rank, world)) = self.by_record {
                        if (self.pages - 1) % world as u64 != rank as u64 {
                            continue;
                        }
                    }
                    if d.id.is_empty() {
                        d.id = at;
                    }
                    d.source = Some(d.id.clone());
                    return Some(Ok(d));
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
    fn skipped(&self) -> BTreeMap<String, u64> {
        self.skipped.clone()
    }
    fn describe(&self) -> String {
        format!("warc {} ({} files)", self.desc, self.files.len())
    }
}
