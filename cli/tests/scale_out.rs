//! Sharded, resumable runs: `run --output-dir --rank --world-size`, `status`, `merge-stats`,
//! `slurm` (script only; tests/slurm.rs submits for real), on a seeds-derived corpus.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn textpipe() -> Command {
    let mut c = Command::cargo_bin("textpipe").unwrap();
    c.current_dir(root());
    // Tests must not pick up a scheduler's environment.
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_PROCID",
        "SLURM_NTASKS",
        "JOB_COMPLETION_INDEX",
        "TEXTPIPE_RANK_OFFSET",
    ] {
        c.env_remove(k);
    }
    c
}

/// A corpus of `n` seeds-derived documents and a config over it (stages without run-wide
/// state, so any split of the input gives the same documents: keywords weigh words by the
/// shipped document frequencies; only clean's duplicate index is left out).
fn setup(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    textpipe()
        .args(["gen-corpus", "--from", "seeds", "-n", &n.to_string(), "-o"])
        .arg(&corpus)
        .assert()
        .success();
    let cfg = dir.path().join("job.toml");
    std::fs::write(
        &cfg,
        r#"[pipeline]
on_error = "dead-letter"
dead_letter = "dead-letter.jsonl"

[source]
kind = "jsonl"
path = "corpus.jsonl"

[[stage]]
kind = "decode"

[[stage]]
kind = "clean"
[stage.options]
duplicates = "keep"

[[stage]]
kind = "segment"

[[stage]]
kind = "tag"
[stage.options]
entities = false

[[stage]]
kind = "summarise"

[sink]
kind = "jsonl"
path = "-"
fields = ["id", "text", "lang", "keywords", "summary"]
"#,
    )
    .unwrap();
    (dir, cfg)
}

fn single_run(cfg: &Path) -> Vec<u8> {
    let out = textpipe().args(["-q", "run"]).arg(cfg).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn merged(dir: &Path, world: usize) -> Vec<u8> {
    (0..world)
        .flat_map(|r| std::fs::read(dir.join(format!("{r:05}.jsonl"))).unwrap())
        .collect()
}

#[test]
fn shards_merge_to_the_single_run_and_completed_ranks_are_skipped() {
    let (dir, cfg) = setup(120);
    let job = dir.path().join("job");
    let expected = single_run(&cfg);
    // Rank from flags, from a Slurm array's environment, from a Kubernetes index.
    textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .args(["--rank", "0", "--world-size", "3"])
        .assert()
        .success();
    textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .assert()
        .success();
    let st = textpipe().arg("status").arg(&job).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(!st.status.success(), "not all done yet");
    assert!(
        text.contains("2 of 3 ranks done") && text.contains("not started: 2"),
        "{text}"
    );
    textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .args(["--world-size", "3", "--zstd"])
        .env("JOB_COMPLETION_INDEX", "2")
        .assert()
        .success();
    // Rank 2 is compressed: decompress it back into place to compare.
    let zst = std::fs::read(job.join("00002.jsonl.zst")).unwrap();
    assert!(zst.len() < 200_000, "compressed");
    let plain = zstd::stream::decode_all(&zst[..]).unwrap();
    std::fs::write(job.join("00002.jsonl"), plain).unwrap();
    assert_eq!(merged(&job, 3), expected, "merged shards = single run");
    textpipe().arg("status").arg(&job).assert().success();

    // Each rank has its stats, log and completion marker; merge-stats adds them up.
    for r in 0..3 {
        for f in [
            format!("completions/{r:05}"),
            format!("stats/{r:05}.json"),
            format!("logs/{r:05}.log"),
        ] {
            assert!(job.join(&f).exists(), "{f}");
        }
    }
    let ms = textpipe()
        .args(["merge-stats", "--json"])
        .arg(&job)
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&ms.stdout).unwrap();
    assert_eq!(m["tasks"], 3);
    assert_eq!(m["docs_accounted"], 120);
    assert_eq!(m["docs_written_total"], 120);
    assert_eq!(m["stages"][0]["name"], "decode");
    assert_eq!(m["stages"][0]["docs_in"], 120);

    // A completed rank is not run again; a different world size in the same directory is refused.
    let again = textpipe()
        .args(["run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .args(["--rank", "1", "--world-size", "3"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already complete"));
    let bad = textpipe()
        .args(["run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .args(["--rank", "1", "--world-size", "4"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("was started with world size 3"));
    let bad = textpipe()
        .args(["run"])
        .arg(&cfg)
        .args(["--rank", "1", "--world-size", "4"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("add --output-dir DIR"));
}

#[test]
fn the_default_pipeline_in_three_ranks_is_the_single_run_byte_for_byte() {
    // Every field, keywords and summaries included: a document's output depends on no
    // other document (clean's duplicate flags aside, which are per task).
    let (dir, _) = setup(60);
    let corpus = dir.path().join("corpus.jsonl");
    let cfg = root().join("configs/default.toml");
    let keep = ["--set", "stage.clean.duplicates=\"keep\""];
    let out = textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .arg("--input")
        .arg(&corpus)
        .args(keep)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let single = out.stdout;
    assert_eq!(single.iter().filter(|&&b| b == b'\n').count(), 60);
    let job = dir.path().join("job");
    for r in 0..3 {
        textpipe()
            .args(["-q", "run"])
            .arg(&cfg)
            .arg("--input")
            .arg(&corpus)
            .args(keep)
            .arg("--output-dir")
            .arg(&job)
            .args(["--rank", &r.to_string(), "--world-size", "3"])
            .assert()
            .success();
    }
    let merged = merged(&job, 3);
    assert!(String::from_utf8_lossy(&merged).contains("\"keywords\""));
    assert!(
        merged == single,
        "the merged ranks differ from the single run"
    );
}

#[test]
fn a_task_killed_at_any_point_resumes_to_the_same_bytes() {
    let (dir, cfg) = setup(200);
    // Clean flags duplicates as the default pipeline does: its duplicate index remembers
    // the documents before, which a resumed run must show it again.
    let toml = std::fs::read_to_string(&cfg).unwrap();
    let toml = toml.replace("duplicates = \"keep\"", "duplicates = \"flag\"");
    let toml = toml.replace("\"summary\"]", "\"summary\", \"meta\"]");
    std::fs::write(&cfg, toml).unwrap();
    // Every tenth line is broken: those fail at the source and go to the dead-letter file.
    // Every seventh document comes again under another id: clean flags it a duplicate.
    let corpus = dir.path().join("corpus.jsonl");
    let lines: String = std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut again: serde_json::Value = serde_json::from_str(l).unwrap();
            again["id"] = format!("again-{i}").into();
            match i {
                _ if i % 10 == 5 => format!("{{broken {i}\n{l}\n"),
                _ if i % 7 == 3 => format!("{l}\n{again}\n"),
                _ => format!("{l}\n"),
            }
        })
        .collect();
    std::fs::write(&corpus, lines).unwrap();
    let job = dir.path().join("job");
    let expected = single_run(&cfg);
    let flagged = String::from_utf8_lossy(&expected)
        .matches("duplicate_of")
        .count();
    assert!(
        flagged > 10,
        "the corpus has duplicates to flag ({flagged})"
    );
    let ckpt = job.join("00000.ckpt");
    let accounted = || -> u64 {
        std::fs::read(&ckpt)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["accounted"].as_u64())
            .unwrap_or(0)
    };
    let bin = assert_cmd::cargo::cargo_bin("textpipe");
    // Kill with SIGKILL once the checkpoint passes each mark (five times), then resume.
    for mark in [10, 45, 80, 120, 160] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(root())
            .args(["-q", "run"])
            .arg(&cfg)
            .arg("--output-dir")
            .arg(&job)
            .args(["--checkpoint-every", "5"])
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while accounted() < mark && start.elapsed().as_secs() < 120 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !job.join("completions/00000").exists(),
            "killed before the end (mark {mark}, checkpoint {})",
            accounted()
        );
        // The partial output may run past the checkpoint: that tail is cut on resume.
        let partial = std::fs::metadata(job.join("00000.jsonl.partial"))
            .unwrap()
            .len();
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ckpt).unwrap()).unwrap();
        assert!(partial >= saved["bytes"].as_u64().unwrap());
    }
    let out = textpipe()
        .args(["run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming after"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = std::fs::read(job.join("00000.jsonl")).unwrap();
    let first_diff = (resumed.split(|&b| b == b'\n'))
        .zip(expected.split(|&b| b == b'\n'))
        .position(|(a, b)| a != b);
    assert!(
        resumed == expected,
        "resumed output differs from the uninterrupted output, first at line {first_diff:?}"
    );
    assert!(!ckpt.exists() && !job.join("00000.jsonl.partial").exists());
    // Every failure is in the rank's dead-letter file once, whatever the kills cut off.
    let dl = std::fs::read_to_string(job.join("dead-letter/00000.jsonl")).unwrap();
    let ids: Vec<String> = dl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (20, 20), "{dl}");
    // The duplicate signatures are kept with the output: one per written document, in order.
    let sigs = std::fs::read_to_string(job.join("signatures/00000.jsonl")).unwrap();
    let sig_ids: Vec<String> = (sigs.lines())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    let out_ids: Vec<String> = (String::from_utf8_lossy(&resumed).lines())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(sig_ids, out_ids);
}

#[test]
fn set_sink_options_reach_a_sharded_task() {
    let (dir, cfg) = setup(20);
    let job = dir.path().join("job");
    textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .args(["--set", r#"sink.fields=["id","lang"]"#, "--output-dir"])
        .arg(&job)
        .args(["--rank", "0", "--world-size", "1"])
        .assert()
        .success();
    let out = std::fs::read_to_string(job.join("00000.jsonl")).unwrap();
    assert_eq!(out.lines().count(), 20);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "lang"], "{line}");
    }
}

/// Klexikon articles (real, distinct texts) with planted duplicates after them: exact
/// copies under new ids, and copies with every 120th word changed (each change alters five
/// 5-word shingles: Jaccard similarity about (1 − 5/120) / (1 + 5/120) = 0.92). Returns the
/// corpus and the planted ids.
fn corpus_with_duplicates(dir: &Path) -> (PathBuf, Vec<String>) {
    let gold = root().join("../shared/eval/summ/klexikon-validation.jsonl");
    let text = std::fs::read_to_string(&gold).expect("../shared/eval/summ/ (CI has it)");
    let articles: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, t)| t.split_whitespace().count() >= 800)
        .take(60)
        .collect();
    let mut lines: Vec<serde_json::Value> = (articles.iter())
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}))
        .collect();
    let mut planted = Vec::new();
    for (k, (id, t)) in articles.iter().enumerate().filter(|(k, _)| k % 6 == 0) {
        let (copy, text) = if k % 12 == 0 {
            (format!("{id}-copy"), t.clone())
        } else {
            let words: Vec<&str> = t.split(' ').collect();
            let edited: Vec<&str> = (words.iter().enumerate())
                .map(|(i, w)| if i % 120 == 7 { "verändert" } else { *w })
                .collect();
            (format!("{id}-edit"), edited.join(" "))
        };
        lines.push(serde_json::json!({"id": copy, "text": text}));
        planted.push(copy);
    }
    let corpus = dir.join("corpus.jsonl");
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&corpus, body).unwrap();
    (corpus, planted)
}

#[test]
fn job_wide_dedup_keeps_the_same_documents_however_the_job_is_split() {
    let dir = tempfile::tempdir().unwrap();
    let (_, planted) = corpus_with_duplicates(dir.path());
    // The default pipeline, every stage, with clean's own per-task duplicate index off.
    let cfg = root().join("configs/default.toml");
    let corpus = dir.path().join("corpus.jsonl");
    let mut outputs = Vec::new();
    for world in [1usize, 3, 7] {
        let job = dir.path().join(format!("job{world}"));
        for rank in 0..world {
            textpipe()
                .args(["-q", "run"])
                .arg(&cfg)
                .arg("--input")
                .arg(&corpus)
                .args(["--set", r#"stage.clean.duplicates="keep""#])
                .arg("--output-dir")
                .arg(&job)
                .args([
                    "--rank",
                    &rank.to_string(),
                    "--world-size",
                    &world.to_string(),
                ])
                .assert()
                .success();
        }
        if world == 3 {
            // Each band as a task of its own; the index then only joins their pairs.
            for band in 0..16 {
                textpipe()
                    .args(["dedup", "index", "--band", &band.to_string()])
                    .arg(&job)
                    .assert()
                    .success();
            }
        }
        textpipe()
            .args(["dedup", "index"])
            .arg(&job)
            .assert()
            .success();
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(job.join("dedup/index.json")).unwrap()).unwrap();
        let computed = if world == 3 { 0 } else { 16 };
        assert_eq!(summary["bands_computed_here"], computed, "{summary}");
        let removed = std::fs::read_to_string(job.join("dedup/removed.jsonl")).unwrap();
        let found: Vec<String> = (removed.lines())
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let hits = found.iter().filter(|id| planted.contains(id)).count();
        let recall = hits as f64 / planted.len() as f64;
        let precision = hits as f64 / found.len().max(1) as f64;
        assert!(
            recall >= 0.95 && precision >= 0.99,
            "world {world}: recall {recall}, precision {precision}: {found:?}"
        );
        // Each copy's original (earlier in the input) is the one kept.
        for l in removed.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = v["id"].as_str().unwrap();
            let stem = id.trim_end_matches("-copy").trim_end_matches("-edit");
            assert_eq!(v["duplicate_of"], stem, "{l}");
        }
        if world == 1 {
            // Flagging keeps every document; the copies name their originals.
            textpipe()
                .args(["dedup", "apply", "--flag"])
                .arg(&job)
                .assert()
                .success();
            let flagged = merged(&job, world);
            let text = String::from_utf8_lossy(&flagged);
            assert_eq!(text.lines().count(), 60 + planted.len());
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let id = v["id"].as_str().unwrap();
                let of = &v["meta"]["duplicate_of"];
                if planted.iter().any(|p| p == id) {
                    let stem = id.trim_end_matches("-copy").trim_end_matches("-edit");
                    assert_eq!(of, stem, "{id}");
                } else {
                    assert!(of.is_null(), "{id} flagged as a duplicate of {of}");
                }
            }
            textpipe()
                .args(["dedup", "apply", "--flag"])
                .arg(&job)
                .assert()
                .success();
            assert_eq!(
                flagged,
                merged(&job, world),
                "a second --flag changed the output"
            );
        }
        textpipe()
            .args(["dedup", "apply"])
            .arg(&job)
            .assert()
            .success();
        if world == 1 {
            let stats: serde_json::Value =
                serde_json::from_slice(&std::fs::read(job.join("stats/00000.json")).unwrap())
                    .unwrap();
            assert_eq!(stats["docs_removed_duplicates"], planted.len(), "{stats}");
            assert_eq!(stats["docs_flagged_duplicates"], planted.len(), "{stats}");
        }
        // A second apply changes nothing.
        let once = merged(&job, world);
        textpipe()
            .args(["dedup", "apply"])
            .arg(&job)
            .assert()
            .success();
        assert_eq!(once, merged(&job, world));
        outputs.push(once);
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "the kept documents differ between 1, 3 and 7 ranks"
    );
    let kept = String::from_utf8(outputs.remove(0)).unwrap();
    assert_eq!(kept.lines().count(), 60);
    assert!(!planted
        .iter()
        .any(|id| kept.contains(&format!("\"id\":\"{id}\""))));
}

#[test]
fn slurm_script_splits_large_arrays_with_rank_offsets() {
    let (dir, cfg) = setup(3);
    let job = dir.path().join("job");
    let out = textpipe()
        .args(["slurm"])
        .arg(&cfg)
        .args([
            "--tasks",
            "2500",
            "--max-array-size",
            "1000",
            "--partition",
            "short",
        ])
        .args(["--time", "01:00:00", "--cpus-per-task", "4", "--output-dir"])
        .arg(&job)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = std::fs::read_to_string(job.join("textpipe.sbatch")).unwrap();
    for needle in [
        "#SBATCH --array=0-999",
        "#SBATCH --partition=short",
        "#SBATCH --time=01:00:00",
        "#SBATCH --cpus-per-task=4",
        "--world-size 2500",
        "--rank \"$(( ${TEXTPIPE_RANK_OFFSET:-0} + SLURM_ARRAY_TASK_ID ))\"",
    ] {
        assert!(script.contains(needle), "missing {needle:?} in\n{script}");
    }
    // The script is valid bash.
    let ok = std::process::Command::new("bash")
        .arg("-n")
        .arg(job.join("textpipe.sbatch"))
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_rank_in_which_every_document_fails_is_done_but_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for name in ["a.pdf", "b.pdf", "c.pdf"] {
        std::fs::write(input.join(name), b"%PDF-1.7 binary").unwrap();
    }
    let cfg = dir.path().join("job.toml");
    std::fs::write(
        &cfg,
        "[pipeline]\non_error = \"skip\"\n[source]\nkind = \"files\"\npath = \"in\"\n\
         [[stage]]\nkind = \"decode\"\n[sink]\nkind = \"jsonl\"\npath = \"out.jsonl\"\n",
    )
    .unwrap();
    let job = dir.path().join("job");
    let out = textpipe()
        .args(["-q", "run"])
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&job)
        .args(["--rank", "0", "--world-size", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rank 0: every document failed (3 of 3)"),
        "{err}"
    );
    // Running it again would fail the same documents: the rank is done all the same.
    let st = textpipe().arg("status").arg(&job).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("1 of 1 ranks done"), "{text}");
}
