//! Shared helpers for the criterion benches: seeds-derived corpora and in-memory I/O.

use pipeline_core::{Document, Sink, SinkError, Source, SourceError};

/// The seed documents of the repository (`seeds/*.txt`), as text.
pub fn seed_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// `n` documents of about `size` bytes each, built from seed paragraphs in a varying order.
pub fn corpus(n: usize, size: usize) -> Vec<Document> {
    let paras: Vec<String> = seed_texts()
        .iter()
        .flat_map(|t| {
            t.split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|i| {
            let mut text = format!("Dokument {i}\n\n");
            while text.len() < size && !paras.is_empty() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(&paras[(state % paras.len() as u64) as usize]);
                text.push_str("\n\n");
            }
            Document::from_bytes(format!("doc{i:06}"), text.into_bytes())
        })
        .collect()
}

/// Replays documents from memory.
pub struct MemSource(pub std::vec::IntoIter<Document>);

impl Source for MemSource {
    fn next_doc(&mut self) -> Option<Result<Document, SourceError>> {
        self.0.next().map(Ok)
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Counts documents and drops them.
pub struct NullSink(pub u64);

impl Sink for NullSink {
    fn write(&mut self, _doc: &Document) -> Result<(), SinkError> {
        self.0 += 1;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "null".into()
    }
}

/// Builds the plugin libraries of `plugins/` with the profile of the running executable and
/// returns the directory holding them (`target/debug` or `target/release`). Used by the
/// plugin bench and the CLI's plugin tests, which need real shared libraries to load.
pub fn build_plugins() -> std::path::PathBuf {
    use std::path::Path;
    // target/<profile>/deps/<exe> → target/<profile>
    let exe = std::env::current_exe().expect("executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("executable lives in target/<profile>/deps")
        .to_path_buf();
    let target = profile_dir.parent().expect("target directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["build", "--quiet"])
        .args(["-p", "textpipe-redact", "-p", "textpipe-readability"])
        .args(["-p", "textpipe-testkit", "-p", "textpipe-noop"])
        .env("CARGO_TARGET_DIR", target);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the plugins failed");
    profile_dir
}
