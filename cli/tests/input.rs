//! `--input` keeps the configured source, and compressed input (gzip, zstd, bzip2, xz) reads
//! exactly as uncompressed: JSONL and HTML files, from files and from stdin.

use std::io::Write;

use assert_cmd::Command;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn textpipe() -> Command {
    let mut c = Command::cargo_bin("textpipe").unwrap();
    c.current_dir(root());
    c
}

/// The seeds as JSONL records whose content is in the field `content`.
fn seeds_jsonl() -> String {
    let mut names: Vec<_> = std::fs::read_dir(root().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            serde_json::json!({"id": id, "content": text}).to_string() + "\n"
        })
        .collect()
}

/// A config of `source` → decode → `jsonl` on stdout, written into `dir`.
fn config(dir: &std::path::Path, source: &str) -> std::path::PathBuf {
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[pipeline]\nname = \"t\"\n[source]\n{source}\n[[stage]]\nkind = \"decode\"\n[sink]\nkind = \"jsonl\"\npath = \"-\"\nfields = [\"id\", \"text\"]\n"
        ),
    )
    .unwrap();
    cfg
}

/// Runs `cfg` with `--input input` (and `stdin`), asserting success; the output lines.
fn run(cfg: &std::path::Path, input: &std::path::Path, stdin: Option<Vec<u8>>) -> Vec<String> {
    let mut c = textpipe();
    c.args(["run", "-q"]).arg(cfg).arg("--input").arg(input);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// `bytes` compressed by each codec's own encoder, with the file suffix it usually has.
fn compressed(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(bytes).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(bytes).unwrap();
    vec![
        ("gz", gz.finish().unwrap()),
        ("zst", zstd::encode_all(bytes, 3).unwrap()),
        ("bz2", bz.finish().unwrap()),
        ("xz", xz.finish().unwrap()),
    ]
}

#[test]
fn input_keeps_the_configured_jsonl_source_and_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("content.jsonl");
    std::fs::write(&data, seeds_jsonl()).unwrap();
    let cfg = config(
        dir.path(),
        "kind = \"jsonl\"\npath = \"nowhere.jsonl\"\ntext_field = \"content\"",
    );
    let out = run(&cfg, &data, None);
    assert_eq!(out.len(), 5);
    assert!(
        out[0].contains("\"id\":\"000_c5a5ed7731ad6cab\""),
        "{}",
        out[0]
    );
    assert!(out[0].contains("Wladimir Putin"));
    // `-`: JSONL on stdin is one document per line.
    let three: String = seeds_jsonl()
        .lines()
        .take(3)
        .map(|l| l.to_string() + "\n")
        .collect();
    let out = run(&cfg, std::path::Path::new("-"), Some(three.into_bytes()));
    assert_eq!(out.len(), 3);
    // A directory of JSONL files: every line of every file.
    let d = dir.path().join("parts");
    std::fs::create_dir(&d).unwrap();
    let lines: Vec<&str> = seeds_jsonl().leak().lines().collect();
    std::fs::write(d.join("a.jsonl"), lines[..2].join("\n")).unwrap();
    std::fs::write(d.join("b.jsonl"), lines[2..].join("\n")).unwrap();
    assert_eq!(run(&cfg, &d, None).len(), 5);
}

#[test]
fn input_keeps_the_files_source_and_its_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("in");
    std::fs::create_dir(&d).unwrap();
    let seed = std::fs::read(root().join("seeds/000_c5a5ed7731ad6cab.txt")).unwrap();
    std::fs::write(d.join("a.html"), &seed).unwrap();
    std::fs::write(d.join("b.txt"), &seed).unwrap();
    std::fs::write(d.join("c.html.gz"), &compressed(&seed)[0].1).unwrap();
    let cfg = config(
        dir.path(),
        "kind = \"files\"\npath = \"nowhere\"\nextensions = [\"html\"]",
    );
    let out = run(&cfg, &d, None);
    // a.html and c.html.gz (a `.html` file, compressed); not b.txt.
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out[0].contains("\"id\":\"a\""));
    assert!(out[1].contains("\"id\":\"c\""));
    assert_eq!(
        out[0].replace("\"id\":\"a\"", ""),
        out[1].replace("\"id\":\"c\"", "")
    );
}

#[test]
fn compressed_jsonl_and_html_read_exactly_as_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = seeds_jsonl();
    let cfg = config(
        dir.path(),
        "kind = \"jsonl\"\npath = \"-\"\ntext_field = \"content\"",
    );
    let plain = dir.path().join("plain.jsonl");
    std::fs::write(&plain, &jsonl).unwrap();
    let want = run(&cfg, &plain, None);
    assert_eq!(want.len(), 5);
    // A shared WCXB page, as it is shipped (gzip), and its HTML.
    let shipped =
        std::fs::read(root().join("../shared/eval/clean/html/wcxb/dev/0001.html.gz")).unwrap();
    let mut page = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&shipped[..]),
        &mut page,
    )
    .unwrap();
    assert!(page.len() > 10_000);
    let html_cfg = dir.path().join("h");
    std::fs::create_dir(&html_cfg).unwrap();
    let html_cfg = config(&html_cfg, "kind = \"files\"\npath = \"-\"");
    let page_file = dir.path().join("page.html");
    std::fs::write(&page_file, &page).unwrap();
    let want_page = run(&html_cfg, &page_file, None);
    assert_eq!(want_page.len(), 1);
    for (suffix, bytes) in compressed(jsonl.as_bytes()) {
        // Named by its suffix, and unnamed: the bytes decide.
        for name in [format!("c.jsonl.{suffix}"), "c.jsonl".to_string()] {
            let f = dir.path().join(&name);
            std::fs::write(&f, &bytes).unwrap();
            let got = run(&cfg, &f, None);
            let got: Vec<String> = got
                .iter()
                .map(|l| l.replace(&name, "plain.jsonl"))
                .collect();
            assert_eq!(got, want, "{name}");
            std::fs::remove_file(&f).unwrap();
        }
        let got = run(&cfg, std::path::Path::new("-"), Some(bytes));
        assert_eq!(got.len(), 5, "stdin, {suffix}");
    }
    let f = dir.path().join("0001.html.gz");
    std::fs::write(&f, &shipped).unwrap();
    assert_eq!(
        run(&html_cfg, &f, None),
        [want_page[0].replace("\"id\":\"page\"", "\"id\":\"0001\"")]
    );
    for (suffix, bytes) in compressed(&page) {
        let f = dir.path().join(format!("page.html.{suffix}"));
        std::fs::write(&f, &bytes).unwrap();
        assert_eq!(run(&html_cfg, &f, None), want_page, "{suffix}");
        let got = run(&html_cfg, std::path::Path::new("-"), Some(bytes));
        assert_eq!(
            got[0].replace("\"id\":\"stdin\"", "\"id\":\"page\""),
            want_page[0],
            "stdin, {suffix}"
        );
    }
}

#[test]
fn a_truncated_compressed_file_fails_alone_and_the_others_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = seeds_jsonl();
    let d = dir.path().join("in");
    std::fs::create_dir(&d).unwrap();
    let gz = &compressed(jsonl.as_bytes())[0].1;
    std::fs::write(d.join("a.jsonl.gz"), gz).unwrap();
    std::fs::write(d.join("b.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(d.join("c.jsonl"), &jsonl).unwrap();
    let cfg = config(
        dir.path(),
        "kind = \"jsonl\"\npath = \"-\"\ntext_field = \"content\"",
    );
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .arg("--input")
        .arg(&d)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout).unwrap();
    // a and c whole; of b, the lines before the cut at most, then one read error.
    let n = lines.lines().count();
    assert!((10..15).contains(&n), "{n} lines");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("b.jsonl.gz"), "{stderr}");
}

#[test]
fn textpipe_reads_its_own_zstd_output() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    textpipe()
        .args(["run", "configs/default.toml", "-q", "--output-dir"])
        .arg(&out_dir)
        .args(["--rank", "0", "--world-size", "1", "--zstd"])
        .assert()
        .success();
    let zst = out_dir.join("00000.jsonl.zst");
    assert!(zst.exists());
    let cfg = config(dir.path(), "kind = \"jsonl\"\npath = \"-\"");
    let out = run(&cfg, &zst, None);
    assert_eq!(out.len(), 5);
    assert!(out[0].contains("\"id\":\"000_c5a5ed7731ad6cab\""));
}

/// One WARC record with the standard framing: version line, header fields, blank line,
/// block, two line ends.
fn warc_record(kind: &str, id: &str, uri: &str, extra: &str, block: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Date: 2024-05-06T07:08:09Z\r\nWARC-Target-URI: {uri}\r\n{extra}Content-Length: {}\r\n\r\n",
        block.len()
    )
    .into_bytes();
    r.extend_from_slice(block);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

/// A WARC of three shared pages as responses (one in Windows-1252, declared only in the
/// HTTP header), with a request, a metadata record, an image response and a 404 between.
fn warc_of_pages() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = root().join("../shared/eval/clean/html/trafilatura/cache");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let pages: Vec<Vec<u8>> = names[..3]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let http = |status: &str, ct: &str, body: &[u8]| {
        let mut b =
            format!("HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Language: de\r\n\r\n")
                .into_bytes();
        b.extend_from_slice(body);
        b
    };
    let latin = b"<html><body><p>Gr\xfc\xdfe aus K\xf6ln, sagte die Stra\xdfenbahnfahrerin am Montag.</p></body></html>".to_vec();
    let mut records = Vec::new();
    let resp =
        "WARC-Payload-Digest: sha1:X\r\nContent-Type: application/http; msgtype=response\r\n";
    records.push(warc_record(
        "warcinfo",
        "0",
        "",
        "Content-Type: application/warc-fields\r\n",
        b"software: test\r\n",
    ));
    for (i, p) in pages.iter().enumerate() {
        records.push(warc_record(
            "request",
            &format!("q{i}"),
            &format!("https://example.org/{i}"),
            "",
            b"GET / HTTP/1.1\r\n\r\n",
        ));
        records.push(warc_record(
            "response",
            &format!("r{i}"),
            &format!("https://example.org/{i}"),
            resp,
            &http("200 OK", "text/html; charset=utf-8", p),
        ));
        records.push(warc_record(
            "metadata",
            &format!("m{i}"),
            &format!("https://example.org/{i}"),
            "",
            b"fetchTimeMs: 12\r\n",
        ));
    }
    records.push(warc_record(
        "response",
        "img",
        "https://example.org/a.png",
        resp,
        &http("200 OK", "image/png", b"\x89PNG...."),
    ));
    records.push(warc_record(
        "response",
        "404",
        "https://example.org/gone",
        resp,
        &http("404 Not Found", "text/html", b"<p>gone</p>"),
    ));
    records.push(warc_record(
        "response",
        "latin",
        "https://example.org/koeln",
        resp,
        &http("200 OK", "text/html; charset=windows-1252", &latin),
    ));
    (records, pages)
}

#[test]
fn warc_responses_become_documents_with_their_headers_and_the_rest_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (records, _) = warc_of_pages();
    let plain: Vec<u8> = records.concat();
    // Common Crawl's framing: every record a gzip member of its own.
    let gz: Vec<u8> = records
        .iter()
        .flat_map(|r| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(r).unwrap();
            e.finish().unwrap()
        })
        .collect();
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        "[pipeline]\nname = \"w\"\n[source]\nkind = \"warc\"\npath = \"-\"\n[[stage]]\nkind = \"decode\"\n[sink]\nkind = \"jsonl\"\npath = \"-\"\nfields = [\"id\", \"text\", \"meta\", \"declared\"]\n",
    )
    .unwrap();
    let mut outs = Vec::new();
    for (name, bytes) in [("a.warc", &plain), ("a.warc.gz", &gz)] {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let out = textpipe()
            .arg("run")
            .arg(&cfg)
            .arg("--input")
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            stderr.contains("skipped by the source (not documents): HTTP status not 2xx 1, metadata 3, not text (Content-Type) 1, request 3, warcinfo 1"),
            "{stderr}"
        );
        let docs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), 4, "{docs:?}");
        assert_eq!(docs[0]["id"], "urn:uuid:r0");
        assert_eq!(docs[0]["meta"]["http_status"], 200);
        let latin = &docs[3];
        assert_eq!(latin["id"], "urn:uuid:latin");
        assert!(
            latin["text"].as_str().unwrap().contains("Grüße aus Köln"),
            "{latin}"
        );
        assert_eq!(latin["meta"]["encoding"], "windows-1252");
        outs.push(docs);
    }
    assert_eq!(outs[0], outs[1], "gzip per record reads as plain");
}

#[test]
fn a_damaged_or_truncated_warc_record_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut records, _) = warc_of_pages();
    // Damage inside the second response's header (no Content-Length), and cut the last.
    let second = records
        .iter()
        .position(|r| r.windows(7).any(|w| w == b"uuid:r1"))
        .unwrap();
    let text =
        String::from_utf8_lossy(&records[second]).replace("Content-Length", "Content-Lenght");
    records[second] = text.into_bytes();
    let last = records.len() - 1;
    let cut = records[last].len() - 20;
    records[last].truncate(cut);
    let f = dir.path().join("bad.warc");
    std::fs::write(&f, records.concat()).unwrap();
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        "[pipeline]\nname = \"w\"\non_error = \"skip\"\n[source]\nkind = \"warc\"\npath = \"-\"\n[sink]\nkind = \"jsonl\"\npath = \"-\"\nfields = [\"id\"]\n",
    )
    .unwrap();
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .arg("--input")
        .arg(&f)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<&str> = stdout.lines().collect();
    // r0 and r2 are read; r1 (no Content-Length) and the cut last record fail alone.
    assert!(
        ids.iter().any(|l| l.contains("uuid:r0")) && ids.iter().any(|l| l.contains("uuid:r2")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without a valid Content-Length"),
        "{stderr}"
    );
    assert!(stderr.contains("cut short"), "{stderr}");
    assert!(stderr.contains("2 failed"), "{stderr}");
}

#[test]
fn lean_jsonl_and_markdown_of_a_shared_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = root().join("../shared/eval/clean/html/wcxb/dev/0001.html.gz");
    let md_dir = dir.path().join("md");
    let cfg = dir.path().join("c.toml");
    let write = |sink: &str| {
        std::fs::write(
            &cfg,
            format!("[pipeline]\nname = \"t\"\n[source]\nkind = \"files\"\npath = \"-\"\n[[stage]]\nkind = \"decode\"\n[[stage]]\nkind = \"clean\"\n[[stage]]\nkind = \"tag\"\n[stage.options]\nentities = false\n[sink]\n{sink}\n"),
        )
        .unwrap();
    };
    write("kind = \"jsonl\"\npath = \"-\"\nformat = \"lean\"");
    let out = run(&cfg, &page, None);
    let v: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["author", "date", "id", "lang", "text", "title", "url"],
        "{v}"
    );
    assert!(v["url"]
        .as_str()
        .unwrap()
        .starts_with("https://scratchculinary.com/2025/09/04/"));
    assert_eq!(v["id"], "0001");
    assert_eq!(v["lang"], "en");
    // The page's gold (WCXB): this headline, author and date.
    assert_eq!(
        v["title"],
        "Top Nutrition Trends for Fall 2025: What Fitness Experts Are Eating (and How Scratch Makes It Easy)"
    );
    assert_eq!(v["author"], "Andrew King");
    assert_eq!(v["date"], "2025-09-04");
    write(&format!(
        "kind = \"txt-dir\"\ndir = \"{}\"\nfield = \"markdown\"\nextension = \"md\"",
        md_dir.display()
    ));
    run(&cfg, &page, None);
    let md = std::fs::read_to_string(md_dir.join("0001.md")).unwrap();
    // The headline opens it: the page's own `<h2>` when clean keeps it, else the title.
    assert!(
        md.trim_start_matches('#')
            .starts_with(" Top Nutrition Trends for Fall 2025"),
        "{md}"
    );
    // The page's <h4> subheadings, between its paragraphs.
    assert!(
        md.contains("easier said than done.\n\nAt Scratch Culinary"),
        "{md}"
    );
    assert!(
        md.contains("\n\n#### 1. High-Protein, Balanced Meals Are Here to Stay\n\nProtein"),
        "{md}"
    );
}
