//! Concrete sources and sinks for textpipe, registered by [`register`].
//!
//! Sources: `files` (a file, a directory, a glob, or `-` for stdin as one document) and `jsonl`
//! (one JSON object per line, from a file, a glob or `-` for stdin), and `warc` (web archives,
//! one document per page response); all read gzip, zstd,
//! bzip2 and xz input, recognised by its bytes ([`compress`]). Sinks: `jsonl` (a file or `-`
//! for stdout, with field selection) and `txt-dir` (one `.txt` file per document).
#![warn(missing_docs)]

pub mod compress;
mod files;
mod jsonl;
pub mod markdown;
#[cfg(feature = "parquet")]
pub mod parquet;
mod sinks;
mod warc;

pub use files::FilesOptions;
pub use jsonl::{record_to_document, JsonlOptions};
pub use sinks::{JsonlSinkOptions, TxtDirOptions};
pub use warc::WarcOptions;

use pipeline_core::{BuildContext, OptionsError, Registry};

/// Registers every source and sink kind of this crate.
pub fn register(reg: &mut Registry) {
    reg.add_source(files::FilesFactory);
    reg.add_source(jsonl::JsonlFactory);
    reg.add_source(warc::WarcFactory);
    reg.add_sink(sinks::JsonlSinkFactory);
    reg.add_sink(sinks::TxtDirFactory);
    #[cfg(feature = "parquet")]
    reg.add_sink(parquet::ParquetSinkFactory);
    #[cfg(feature = "parquet")]
    reg.add_source(parquet::ParquetSourceFactory);
}

/// Expands `path` (a file, a directory, or a glob pattern) into a sorted list of files.
/// `field` names the option for error messages.
pub(crate) fn expand_paths(
    path: &str,
    ctx: &BuildContext,
    field: &str,
    recursive: bool,
    extensions: &[String],
) -> Result<Vec<std::path::PathBuf>, OptionsError> {
    let resolved = ctx.resolve(path);
    // `page.html.gz` is wanted by `html` (and by `gz`).
    let wanted = |p: &std::path::Path| {
        let has = |e: Option<&str>| {
            e.is_some_and(|e| extensions.iter().any(|x| x.trim_start_matches('.') == e))
        };
        extensions.is_empty()
            || has(p.extension().and_then(|e| e.to_str()))
            || has(compress::inner_extension(p))
    };
    let mut files = Vec::new();
    if path.contains(['*', '?', '[']) {
        let pattern = resolved.to_string_lossy().into_owned();
        let entries = glob::glob(&pattern)
            .map_err(|e| OptionsError::at(field, format!("bad glob pattern: {e}")))?;
        for e in entries.flatten() {
            if e.is_file() && wanted(&e) {
                files.push(e);
            }
        }
        if files.is_empty() {
            return Err(OptionsError::at(
                field,
                format!("no file matches `{}`", resolved.display()),
            ));
        }
    } else if resolved.is_dir() {
        walk(&resolved, recursive, &mut files).map_err(|e| {
            OptionsError::at(field, format!("cannot list `{}`: {e}", resolved.display()))
        })?;
        files.retain(|p| wanted(p));
    } else if resolved.is_file() {
        files.push(resolved);
    } else {
        return Err(OptionsError::at(
            field,
            format!("no such file or directory: `{}`", resolved.display()),
        )
        .with_help("relative paths in a config are resolved against the config file's directory"));
    }
    files.sort();
    Ok(files)
}

fn walk(
    dir: &std::path::Path,
    recursive: bool,
    out: &mut Vec<std::path::PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = entry.file_type()?;
        if ft.is_dir() {
            if recursive {
                walk(&p, recursive, out)?;
            }
        } else if ft.is_file() || (ft.is_symlink() && p.is_file()) {
            out.push(p);
        }
    }
    Ok(())
}

/// A file (`None`: stdin) opened for reading as a stream, decompressed if it is compressed:
/// its name for ids and messages, and the reader; or the source error naming it.
pub(crate) fn open_stream(
    path: Option<&std::path::Path>,
) -> Result<(String, Box<dyn std::io::BufRead + Send>), pipeline_core::SourceError> {
    let name = path.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
    let opened = match path {
        Some(p) => compress::open(p),
        None => compress::wrap(std::io::stdin()),
    };
    opened
        .map(|(reader, _)| (name.clone(), reader))
        .map_err(|e| pipeline_core::SourceError {
            id: name.clone(),
            message: format!("cannot read {name}: {e}"),
            raw: Vec::new(),
        })
}

/// Checks `rank < world_size` (shared by the sharded sources).
pub(crate) fn check_shard(rank: usize, world_size: usize) -> Result<(), OptionsError> {
    if world_size == 0 {
        return Err(OptionsError::at("world_size", "must be at least 1"));
    }
    if rank >= world_size {
        return Err(OptionsError::at(
            "rank",
            format!("rank {rank} is not below world_size {world_size}"),
        ));
    }
    Ok(())
}
