//! Helpers shared by the integration tests.

/// The seed documents in `seeds/`, sorted by name: (file name, raw bytes).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("seeds/")
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&p).expect("seed file"),
            )
        })
        .collect()
}

/// The seeds through `decode` with default options: (file name, document).
#[allow(dead_code)] // not every test file that shares this module decodes the seeds
pub fn decoded_seeds() -> Vec<(String, pipeline_core::Document)> {
    use pipeline_core::Stage;
    let mut dec =
        textpipe_stages::decode::Decoder::new(textpipe_stages::decode::DecodeOptions::default());
    seeds()
        .into_iter()
        .map(|(name, raw)| {
            let mut d = pipeline_core::Document::from_bytes("s", raw);
            dec.process(&mut d).unwrap();
            (name, d)
        })
        .collect()
}
