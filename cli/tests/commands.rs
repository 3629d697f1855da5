//! The commands end to end, on the seeds and the shared gold data.

use assert_cmd::Command;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn textpipe() -> Command {
    let mut c = Command::cargo_bin("textpipe").unwrap();
    c.current_dir(root());
    c
}

#[test]
fn default_pipeline_on_seeds_writes_one_json_line_per_seed() {
    let out = textpipe()
        .args(["run", "configs/default.toml", "-q"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[0]["id"], "000_c5a5ed7731ad6cab");
    assert!(docs[0]["text"].as_str().unwrap().contains("Wladimir Putin"));
    assert!(
        docs.iter().all(|d| d.get("raw").is_none()),
        "raw bytes are not written by default"
    );
}

#[test]
fn output_file_and_metrics_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o/out.jsonl");
    let metrics = dir.path().join("m.json");
    textpipe()
        .args(["run", "configs/default.toml", "-q", "--output"])
        .arg(&out)
        .arg("--metrics-json")
        .arg(&metrics)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 5);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    assert_eq!(m["docs_written"], 5);
    assert_eq!(m["stages"][0]["name"], "decode");
}

#[test]
fn bad_documents_are_dead_lettered_and_the_rest_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), "Gut.").unwrap();
    std::fs::write(input.join("b.pdf"), b"%PDF-1.7 binary").unwrap();
    std::fs::write(input.join("c.txt"), "").unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[pipeline]\non_error = \"dead-letter\"\ndead_letter = \"dl.jsonl\"\n[source]\nkind = \"files\"\npath = \"in\"\n[[stage]]\nkind = \"decode\"\n[sink]\nkind = \"jsonl\"\npath = \"out.jsonl\"\n",
    )
    .unwrap();
    let out = textpipe().arg("run").arg(&cfg).output().unwrap();
    assert!(out.status.success());
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("3 read, 1 written, 2 failed"), "{report}");
    let dl = std::fs::read_to_string(dir.path().join("dl.jsonl")).unwrap();
    assert!(
        dl.contains("binary input (PDF)") && dl.contains("empty input"),
        "{dl}"
    );
}

/// Writes `files` into `dir/in` and a config over them with `stages` and `pipeline` lines.
fn job(
    dir: &std::path::Path,
    files: &[(&str, &[u8])],
    pipeline: &str,
    stages: &str,
) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for (name, bytes) in files {
        std::fs::write(input.join(name), bytes).unwrap();
    }
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!("[pipeline]\n{pipeline}\n[source]\nkind = \"files\"\npath = \"in\"\n{stages}\n[sink]\nkind = \"jsonl\"\npath = \"out.jsonl\"\n"),
    )
    .unwrap();
    cfg
}

/// Runs `textpipe run cfg`: the exit code and what it printed on stderr.
fn run_job(cfg: &std::path::Path) -> (Option<i32>, String) {
    let out = textpipe().arg("run").arg(cfg).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_run_in_which_every_document_fails_exits_non_zero_and_a_rate_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let pdf: &[u8] = b"%PDF-1.7 binary";
    let cfg = job(
        dir.path(),
        &[("a.pdf", pdf), ("b.pdf", pdf)],
        "",
        "[[stage]]\nkind = \"decode\"",
    );
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("every document failed (2 of 2)"), "{err}");
    // One of two failing is fine by default, and not under max_failure_rate = 0.25; the
    // good document is written either way.
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &[u8])] = &[("a.txt", b"Gut."), ("b.pdf", pdf)];
    let cfg = job(dir.path(), files, "", "[[stage]]\nkind = \"decode\"");
    assert_eq!(run_job(&cfg).0, Some(0));
    let cfg = job(
        dir.path(),
        files,
        "max_failure_rate = 0.25",
        "[[stage]]\nkind = \"decode\"",
    );
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("1 of 2 documents failed (50.0%)"), "{err}");
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 1);
}

#[test]
fn a_failed_run_keeps_the_previous_output_and_its_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("d{i:02}.txt"),
                format!("Satz Nummer {i}.").into_bytes(),
            )
        })
        .collect();
    files[20].1 = b"%PDF-1.7 binary".to_vec();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    let cfg = job(
        dir.path(),
        &files,
        "on_error = \"fail\"\nchannel_capacity = 4",
        "[[stage]]\nkind = \"decode\"",
    );
    let out_path = dir.path().join("out.jsonl");
    std::fs::write(&out_path, "the previous run's output\n").unwrap();
    let metrics = dir.path().join("m.json");
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .arg("--metrics-json")
        .arg(&metrics)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "the previous run's output\n"
    );
    let partial = std::fs::read_to_string(dir.path().join("out.jsonl.partial")).unwrap();
    assert_eq!(
        partial.lines().count(),
        20,
        "the documents before the failing one"
    );
    assert!(
        err.contains("out.jsonl.partial; the output path was left as it was"),
        "{err}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    let n = |k: &str| m[k].as_u64().unwrap();
    assert_eq!(n("docs_written"), 20);
    assert_eq!(n("docs_failed"), 1);
    assert_eq!(
        n("docs_read"),
        n("docs_written") + n("docs_failed") + n("docs_dropped") + n("docs_cancelled"),
        "{m}"
    );
}

#[test]
fn html_nested_8000_deep_keeps_its_text_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "<html><body>{}<p>Tief unten steht der Text.</p>{}</body></html>",
        "<div>".repeat(8000),
        "</div>".repeat(8000)
    );
    let files: &[(&str, &[u8])] = &[("a.html", deep.as_bytes()), ("b.txt", b"Gut.")];
    let cfg = job(dir.path(), files, "", "[[stage]]\nkind = \"decode\"");
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(0), "{err}");
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 2);
    assert!(written.contains("Tief unten steht der Text."), "{written}");
}

#[test]
fn a_text_of_15000_sentences_is_summarised_from_candidates_spread_over_it() {
    // Ranking every sentence would hold a 15,000² similarity matrix (900 MB).
    let dir = tempfile::tempdir().unwrap();
    // Each sentence its own made-up names (base-26 words), so none repeats another.
    let name = |mut k: usize| {
        let mut w = String::from("X");
        for _ in 0..4 {
            w.push(char::from(b'a' + (k % 26) as u8));
            k /= 26;
        }
        w
    };
    let long: String = (0..15_000)
        .map(|i| {
            format!(
                "Die Zeitung berichtete über {} und {} aus dem Ort {}. ",
                name(i),
                name(i * 7919 + 13),
                name(i * 104_729 + 7)
            )
        })
        .collect();
    let files: &[(&str, &[u8])] = &[("a.txt", long.as_bytes()), ("b.txt", b"Gut.")];
    let stages = "[[stage]]\nkind = \"decode\"\n[[stage]]\nkind = \"segment\"\n\
                  [[stage]]\nkind = \"summarise\"";
    let cfg = job(dir.path(), files, "", stages);
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(0), "{err}");
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let docs: Vec<serde_json::Value> = (written.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    let chosen = docs[0]["summary"]["sentences"].as_array().unwrap();
    assert_eq!(chosen.len(), 3, "{:?}", docs[0]["summary"]);
    // Indices are the document's sentences, and candidates come from all of it.
    assert!(chosen.iter().all(|i| i.as_u64().unwrap() < 15_000));
}

#[test]
fn a_document_clean_empties_is_flagged_and_counted_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let nav = b"<html><body><nav><ul><li><a href=\"/\">Start</a></li><li><a href=\"/p\">Politik</a></li></ul></nav></body></html>";
    let files: &[(&str, &[u8])] = &[("nav.html", nav)];
    let stages = "[[stage]]\nkind = \"decode\"\n[[stage]]\nkind = \"clean\"";
    let cfg = job(dir.path(), files, "", stages);
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("written with warnings (see their diagnostics): clean 1"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("out.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(doc["meta"]["empty"], true);
    assert_eq!(doc["text"], "");
    let cfg = job(
        dir.path(),
        files,
        "",
        &format!("{stages}\noptions = {{ empty = \"drop\" }}"),
    );
    let (_, err) = run_job(&cfg);
    assert!(err.contains("dropped (clean: empty): 1"), "{err}");
}

#[test]
fn eval_decode_prints_the_rate_and_unknown_tasks_fail() {
    let gold = root().join("../shared/eval/decode/ftfy-cases.jsonl");
    let out = textpipe()
        .args(["eval", "decode", "--json", "--gold"])
        .arg(&gold)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["rate"].as_f64().unwrap() >= 0.95);
    assert_eq!(v["correct_altered"].as_array().unwrap().len(), 0);
    let bad = textpipe()
        .args(["eval", "nope", "--gold"])
        .arg(&gold)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown task `nope`"));
}

#[test]
fn gen_corpus_then_bench() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    textpipe()
        .args(["gen-corpus", "--from", "seeds", "-n", "200", "-o"])
        .arg(&corpus)
        .assert()
        .success();
    let text = std::fs::read_to_string(&corpus).unwrap();
    assert_eq!(text.lines().count(), 200);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "gen-000001");
    let out = textpipe()
        .args([
            "bench",
            "configs/default.toml",
            "--repeat",
            "2",
            "--json",
            "--input",
        ])
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["repeat"], 2);
    assert_eq!(v["runs"][0]["docs_read"], 200);
    assert!(v["runs"][0]["stages"][0]["mb_per_busy_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn train_ner_is_reproducible_and_its_model_loads_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let shared = root().join("../shared/eval/ner");
    let subset = |name: &str, n: usize| {
        let text = std::fs::read_to_string(shared.join(name)).unwrap();
        let p = dir.path().join(name);
        let lines: Vec<&str> = text.lines().take(n).collect();
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    };
    let train = subset("germeval2014-train.jsonl", 400);
    let dev = subset("germeval2014-dev.jsonl", 100);
    let mut models = Vec::new();
    for k in 0..2 {
        let out = dir.path().join(format!("m{k}.bin"));
        let o = textpipe()
            .args(["train", "ner", "--epochs", "3", "--train"])
            .arg(&train)
            .arg("--dev")
            .arg(&dev)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            stdout.contains("dev entity F1 of the written model"),
            "{stdout}"
        );
        models.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(models[0], models[1], "same data and seed, same model");
    // The model replaces the shipped German one through the tag stage's options.
    let m = dir.path().join("m0.bin");
    textpipe()
        .args(["check", "configs/default.toml", "--set"])
        .arg(format!(
            "stage.tag.ner_models={{ de = {:?} }}",
            m.display().to_string()
        ))
        .assert()
        .success();
    let o = textpipe()
        .args(["check", "configs/default.toml", "--set"])
        .arg("stage.tag.ner_models={ de = \"missing.bin\" }")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("ner_models.de"),
        "{err}"
    );
}

#[test]
fn stages_lists_options_with_defaults_and_required_ones() {
    let out = textpipe().args(["stages", "plugin"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("plugin: a stage from a shared library"),
        "{text}"
    );
    assert!(
        text.contains("      path\n") && text.contains("relative to the config file"),
        "{text}"
    );
    let out = textpipe().args(["stages", "tag"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("entities = true") && text.contains("      gazetteer\n"),
        "{text}"
    );
    // What the plan adds a stage for.
    assert!(text.contains("(reads tokens)"), "{text}");
    let out = textpipe().args(["stages", "nonesuch"]).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn sigterm_finishes_the_documents_in_flight_and_leaves_no_temp_file() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[source]\nkind = \"jsonl\"\npath = \"-\"\n[[stage]]\nkind = \"decode\"\n[sink]\nkind = \"jsonl\"\npath = \"out.jsonl\"\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("textpipe"))
        .args(["-q", "run"])
        .arg(&cfg)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..3 {
        writeln!(stdin, "{{\"id\": \"d{i}\", \"text\": \"Gut, sagte er.\"}}").unwrap();
    }
    stdin.flush().unwrap();
    // The source waits for more input; the scheduler's SIGTERM ends the run.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n == "c.toml" || n == "out.jsonl"),
        "{names:?}"
    );
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 3, "{written}");
}

#[cfg(unix)]
#[test]
fn an_output_path_that_is_a_directory_or_a_device_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for (target, says) in [
        (dir.path().to_path_buf(), "is a directory"),
        (fifo.clone(), "not a regular file"),
    ] {
        let out = textpipe()
            .args(["run", "configs/default.toml", "-q", "--output"])
            .arg(&target)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains(says) && err.contains("refusing to replace it"),
            "{err}"
        );
    }
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "the FIFO is still there"
    );
}

#[test]
fn a_document_over_max_document_bytes_fails_alone_before_decode() {
    let dir = tempfile::tempdir().unwrap();
    let big = "Minsk. ".repeat(100);
    let files: &[(&str, &[u8])] = &[("big.txt", big.as_bytes()), ("small.txt", b"Gut.")];
    let cfg = job(
        dir.path(),
        files,
        "max_document_bytes = 100",
        "[[stage]]\nkind = \"decode\"",
    );
    let (code, err) = run_job(&cfg);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("2 read, 1 written, 1 failed"), "{err}");
    // Refused from the file's size, before it is read, naming the file.
    assert!(
        err.contains("big in source: ")
            && err.contains(
                "big.txt: document is 700 bytes, more than [pipeline] max_document_bytes = 100"
            ),
        "{err}"
    );
}

#[test]
fn a_tag_stage_without_segment_gets_one_and_check_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/../seeds");
    std::fs::write(
        &cfg,
        format!(
            "[source]\nkind = \"files\"\npath = \"{seeds}\"\n[[stage]]\nkind = \"decode\"\n\
             [[stage]]\nkind = \"tag\"\n[[stage]]\nkind = \"summarise\"\n[sink]\nkind = \"jsonl\"\npath = \"-\"\n"
        ),
    )
    .unwrap();
    let out = textpipe().arg("check").arg(&cfg).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("stage 2: segment (kind segment")
            && text.contains("added: `tag` needs tokens"),
        "{text}"
    );
    // Only one is added: summarise finds the sentences segment wrote.
    assert!(!text.contains("needs sentences"), "{text}");
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(out.status.success());
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(
        first["tokens"].as_array().is_some_and(|t| t.len() > 100),
        "{first}"
    );
    assert!(first["entities"].as_array().is_some_and(|e| !e.is_empty()));
    // Without decode as well: segment needs the text decode makes of the input's bytes.
    let bare = dir.path().join("bare.toml");
    std::fs::write(
        &bare,
        format!(
            "[source]\nkind = \"files\"\npath = \"{seeds}\"\n[[stage]]\nkind = \"tag\"\n\
             [sink]\nkind = \"jsonl\"\npath = \"-\"\n"
        ),
    )
    .unwrap();
    let out = textpipe().arg("check").arg(&bare).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("stage 1: decode (kind decode")
            && text.contains("added: `segment` needs text")
            && text.contains("stage 2: segment (kind segment")
            && text.contains("stage 3: tag"),
        "{text}"
    );
    let out = textpipe()
        .arg("run")
        .arg(&bare)
        .arg("--quiet")
        .output()
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(
        first["text"].as_str().is_some_and(|t| t.len() > 1000),
        "{first}"
    );
}
