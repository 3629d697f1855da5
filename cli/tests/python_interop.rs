//! Files that other tools write and read: a WARC written by warcio (the Python WARC library
//! Common Crawl's tooling uses) reads as its response records, and textpipe's Parquet reads
//! back in pyarrow with the same rows and column types.
//!
//! Both need a Python with `warcio` and `pyarrow`, named by `TEXTPIPE_PYTHON`; `.ci/run`
//! makes one (`target/ci-python`). Without it the tests say so and pass, except under
//! `CI=true`, where a missing interpreter is a failure, not a skip.

use assert_cmd::Command;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python to run, or `None` (outside CI) when none is configured.
fn python() -> Option<String> {
    match std::env::var("TEXTPIPE_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but TEXTPIPE_PYTHON is not set: .ci/run makes the venv and sets it")
        }
        _ => {
            eprintln!("TEXTPIPE_PYTHON not set: skipped (see .ci/run to make the venv)");
            None
        }
    }
}

/// Runs `script` with `args`; its stdout.
fn run_python(py: &str, script: &str, args: &[&std::path::Path]) -> String {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const WRITE_WARC: &str = r#"
import io, sys
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders
pages = [
    ("https://example.org/a", "utf-8", "<html><head><title>Erster</title></head><body><p>Die Gespräche über die Zusammenarbeit beider Staaten wurden am Montag in Minsk fortgesetzt, sagte ein Sprecher.</p></body></html>"),
    ("https://example.org/b", "windows-1252", "<html><body><p>Le président a reçu la délégation à l'Élysée pour évoquer la coopération économique entre les deux pays.</p></body></html>"),
]
with open(sys.argv[1], "wb") as f:
    w = WARCWriter(f, gzip=True)
    for uri, charset, html in pages:
        req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
        w.write_record(w.create_warc_record(uri, "request", payload=io.BytesIO(b""), http_headers=req))
        body = html.encode(charset)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=" + charset), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers))
"#;

#[test]
fn a_warc_written_by_warcio_reads_as_its_response_records() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("crawl.warc.gz");
    run_python(&py, WRITE_WARC, &[&warc]);
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        "[source]\nkind = \"warc\"\npath = \"crawl.warc.gz\"\n[[stage]]\nkind = \"decode\"\n\
         [sink]\nkind = \"jsonl\"\npath = \"-\"\nfields = [\"id\", \"text\", \"declared\"]\n",
    )
    .unwrap();
    let out = Command::cargo_bin("textpipe")
        .unwrap()
        .current_dir(root())
        .args(["run"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        docs.len(),
        2,
        "two responses, the requests skipped: {stderr}"
    );
    assert!(stderr.contains("request 2"), "{stderr}");
    assert_eq!(docs[0]["declared"]["url"], "https://example.org/a");
    assert_eq!(docs[1]["declared"]["url"], "https://example.org/b");
    assert!(docs[0]["declared"]["date"]
        .as_str()
        .is_some_and(|d| d.len() >= 10));
    // Each body decoded by the charset its HTTP header names.
    assert!(docs[0]["text"].as_str().unwrap().contains("Gespräche über"));
    assert!(docs[1]["text"]
        .as_str()
        .unwrap()
        .contains("président a reçu"));
}

const READ_PARQUET: &str = r#"
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({
    "rows": t.num_rows,
    "columns": t.column_names,
    "types": {f.name: str(f.type) for f in t.schema},
    "ids": t.column("id").to_pylist(),
    "text_chars": sum(len(x or "") for x in t.column("text").to_pylist()),
    "keywords": sum(len(x or []) for x in t.column("keywords").to_pylist()),
}))
"#;

#[test]
fn parquet_written_by_textpipe_reads_back_in_pyarrow() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seeds.parquet");
    let jsonl = Command::cargo_bin("textpipe")
        .unwrap()
        .current_dir(root())
        .args(["-q", "run", "configs/default.toml"])
        .assert()
        .success();
    let reference = String::from_utf8(jsonl.get_output().stdout.clone()).unwrap();
    Command::cargo_bin("textpipe")
        .unwrap()
        .current_dir(root())
        .args([
            "-q",
            "run",
            "configs/default.toml",
            "--set",
            "sink.kind=\"parquet\"",
        ])
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let got: serde_json::Value =
        serde_json::from_str(&run_python(&py, READ_PARQUET, &[&out])).unwrap();
    let want: Vec<serde_json::Value> = reference
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got["rows"], want.len());
    let ids: Vec<&serde_json::Value> = want.iter().map(|d| &d["id"]).collect();
    assert_eq!(
        got["ids"].as_array().unwrap().iter().collect::<Vec<_>>(),
        ids
    );
    let chars: usize = want
        .iter()
        .map(|d| d["text"].as_str().unwrap_or("").chars().count())
        .sum();
    assert_eq!(
        got["text_chars"], chars,
        "the same text, character for character"
    );
    let keywords: usize = want
        .iter()
        .map(|d| d["keywords"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(got["keywords"], keywords);
    let types = &got["types"];
    assert_eq!(types["id"], "string");
    assert_eq!(types["text"], "string");
    assert_eq!(
        types["keywords"],
        "list<item: struct<text: string not null, score: float not null>>"
    );
    for c in [
        "url", "lang", "title", "author", "date", "summary", "entities",
    ] {
        assert!(types.get(c).is_some(), "column {c}: {types}");
    }
}
