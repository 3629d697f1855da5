//! `files`: one document per file (raw bytes, decompressed when the file is gzip, zstd,
//! bzip2 or xz), from a file, directory, glob or stdin.

use std::io::Read;
use std::path::PathBuf;

use pipeline_core::{
    stage::options_to_table, BuildContext, Document, OptionDoc, OptionsError, Source, SourceError,
    SourceFactory, StageOptions,
};
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `files` source.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct FilesOptions {
        /// File, directory, glob pattern, or "-" for stdin (relative to the config file).
        pub path: String = String::new(),
        /// Descend into sub-directories.
        pub recursive: bool = true,
        /// Only files with these extensions, e.g. ["txt", "html"] (empty: all).
        pub extensions: Vec<String> = Vec::new(),
        /// This task's shard, 0-based (set by `textpipe run --rank`).
        pub rank: usize = 0,
        /// Number of shards: task `rank` reads the sorted file list [rank::world_size].
        pub world_size: usize = 1,
    }
}

pub(crate) struct FilesFactory;

impl SourceFactory for FilesFactory {
    fn kind(&self) -> &str {
        "files"
    }
    fn about(&self) -> &str {
        "one document per file, raw bytes; id = path relative to the input without extension"
    }
    fn default_options(&self) -> toml::Table {
        options_to_table(&FilesOptions::default())
    }
    fn option_docs(&self) -> &[OptionDoc] {
        FilesOptions::docs()
    }
    fn build(
        &self,
        options: toml::Table,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, OptionsError> {
        let o: FilesOptions = pipeline_core::parse_options(options)?;
        if o.path.is_empty() {
            return Err(
                OptionsError::at("", "the files source needs `path`").with_help(
                    "e.g. path = \"../seeds\" (relative to the config file) or \"-\" for stdin",
                ),
            );
        }
        if o.path == "-" {
            return Ok(Box::new(StdinOnce {
                done: false,
                max: 0,
            }));
        }
        crate::check_shard(o.rank, o.world_size)?;
        let files: Vec<PathBuf> =
            crate::expand_paths(&o.path, ctx, "path", o.recursive, &o.extensions)?
                .into_iter()
                .skip(o.rank)
                .step_by(o.world_size)
                .collect();
        let root = ctx.resolve(&o.path);
        let root = if root.is_dir() {
            root
        } else {
            root.parent().map(PathBuf::from).unwrap_or_default()
        };
        let total = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        Ok(Box::new(FilesSource {
            root,
            files: files.into_iter(),
            total,
            desc: o.path,
            max: 0,
        }))
    }
}

struct FilesSource {
    root: PathBuf,
    files: std::vec::IntoIter<PathBuf>,
    total: u64,
    desc: String,
    /// `max_document_bytes` (0: none): a larger file is refused unread.
    max: u64,
}

/// Document id for a file: its path below `root`, without extension (nor a compression
/// suffix: `a/page.html.gz` is `a/page`), `/`-separated.
pub(crate) fn file_id(root: &std::path::Path, path: &std::path::Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let compressed = rel
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| crate::compress::SUFFIXES.contains(&e));
    let rel = if compressed {
        rel.with_extension("")
    } else {
        rel.to_path_buf()
    };
    let rel = rel.with_extension("");
    rel.components()
        .map(|c| component_id(c.as_os_str()))
        .collect::<Vec<_>>()
        .join("/")
}

/// A path component as id text. A name that is not UTF-8 keeps its valid parts and writes
/// each byte of the rest as `%XX`, so two such names never become the same id (a lossy
/// conversion made every invalid byte U+FFFD).
fn component_id(name: &std::ffi::OsStr) -> String {
    if let Some(s) = name.to_str() {
        return s.to_string();
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in name.as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    name.to_string_lossy().into_owned()
}

impl Source for FilesSource {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        let path = self.files.next()?;
        let id = file_id(&self.root, &path);
        if let Ok(m) = std::fs::metadata(&path) {
            if self.max > 0 && m.len() > self.max {
                return Some(Err(SourceError {
                    id,
                    message: format!(
                        "{}: {}",
                        path.display(),
                        pipeline_core::too_large(m.len(), self.max)
                    ),
                    raw: Vec::new(),
                }));
            }
        }
        // A compressed file is read decompressed; its content is held to the same limit.
        let read = std::fs::File::open(&path).and_then(|f| crate::compress::read_all(f, self.max));
        Some(match read {
            Ok(Ok(bytes)) => {
                let mut d = Document::from_bytes(id, bytes);
                d.source = Some(path.display().to_string());
                Ok(d)
            }
            Ok(Err(_)) => Err(SourceError {
                id,
                message: format!(
                    "{}: decompressed, more than [pipeline] max_document_bytes = {}",
                    path.display(),
                    self.max
                ),
                raw: Vec::new(),
            }),
            Err(e) => Err(SourceError {
                id,
                message: format!("cannot read {}: {e}", path.display()),
                raw: Vec::new(),
            }),
        })
    }
    fn total_bytes(&self) -> Option<u64> {
        Some(self.total)
    }
    fn set_max_document_bytes(&mut self, max: u64) {
        self.max = max;
    }
    fn describe(&self) -> String {
        format!(
            "files {} ({} files, {} bytes)",
            self.desc,
            self.files.len(),
            self.total
        )
    }
}

struct StdinOnce {
    done: bool,
    /// `max_document_bytes` (0: none): more is drained, not kept.
    max: u64,
}

impl Source for StdinOnce {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        let mut buf = Vec::new();
        let mut stdin = std::io::stdin().lock();
        let limit = if self.max > 0 { self.max + 1 } else { u64::MAX };
        let read = (&mut stdin).take(limit).read_to_end(&mut buf);
        if self.max > 0 && buf.len() as u64 > self.max {
            let rest = std::io::copy(&mut stdin, &mut std::io::sink()).unwrap_or(0);
            return Some(Err(SourceError {
                id: "stdin".into(),
                message: format!(
                    "stdin: {}",
                    pipeline_core::too_large(buf.len() as u64 + rest, self.max)
                ),
                raw: Vec::new(),
            }));
        }
        // Compressed input on stdin is read decompressed, held to the same limit.
        let read = read.and_then(|_| match crate::compress::Codec::sniff(&buf) {
            None => Ok(Ok(buf)),
            Some(_) => crate::compress::read_all(&buf[..], self.max),
        });
        Some(match read {
            Ok(Err(_)) => Err(SourceError {
                id: "stdin".into(),
                message: format!(
                    "stdin: decompressed, more than [pipeline] max_document_bytes = {}",
                    self.max
                ),
                raw: Vec::new(),
            }),
            Ok(Ok(buf)) => {
                let mut d = Document::from_bytes("stdin", buf);
                d.source = Some("-".into());
                Ok(d)
            }
            Err(e) => Err(SourceError {
                id: "stdin".into(),
                message: format!("cannot read stdin: {e}"),
                raw: Vec::new(),
            }),
        })
    }
    fn set_max_document_bytes(&mut self, max: u64) {
        self.max = max;
    }
    fn describe(&self) -> String {
        "stdin as one document".into()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn file_names_that_are_not_utf8_give_distinct_ids() {
        let root = std::path::Path::new("/in");
        let id = |name: &[u8]| file_id(root, &root.join(std::ffi::OsStr::from_bytes(name)));
        assert_eq!(id(b"Gr\xfc\xdfe.txt"), "Gr%FC%DFe");
        assert_ne!(id(b"a\xe4.txt"), id(b"a\xf6.txt"));
        assert_eq!(id("Grüße.txt".as_bytes()), "Grüße");
    }
}
