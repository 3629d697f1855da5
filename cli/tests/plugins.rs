//! Native plugins (plugins/redact, plugins/readability, plugins/testkit) and `exec` stages,
//! run through the CLI with the configs in configs/.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The plugin libraries, built once per test run.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(textpipe_benches::build_plugins)
}

fn lib(name: &str) -> String {
    // The bare name: the host adds lib….so / ….dll / lib….dylib itself.
    plugin_dir().join(name).display().to_string()
}

fn textpipe() -> Command {
    let mut c = Command::cargo_bin("textpipe").unwrap();
    c.current_dir(root());
    c
}

fn run_ok(cmd: &mut Command) -> Vec<Value> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// The JSON documents of a JSONL output.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A temporary directory with a `docs/` subdirectory of plain-text documents, one per
/// (name, text); configs written beside it read `path = "docs"`.
fn docs(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir(&d).unwrap();
    for (name, text) in files {
        std::fs::write(d.join(format!("{name}.txt")), text).unwrap();
    }
    dir
}

#[test]
fn plugins_config_redacts_and_scores_readability_on_the_seeds() {
    let seeds = docs(&[(
        "contact",
        "Kontakt: Die Pressestelle erreichen Sie unter presse@example.org oder telefonisch \
         unter +49 30 1234567. Spenden bitte auf DE89 3704 0044 0532 0130 00. \
         Die Antwort kommt bald. Wir danken allen Lesern für ihre Geduld.",
    )]);
    let docs = run_ok(
        textpipe()
            .args(["run", "configs/plugins.toml", "-q"])
            .arg("--set")
            .arg(format!("stage.redact.path={}", lib("textpipe_redact")))
            .arg("--set")
            .arg(format!(
                "stage.readability.path={}",
                lib("textpipe_readability")
            )),
    );
    assert_eq!(docs.len(), 5, "every seed comes through");
    for d in &docs {
        let r = &d["meta"]["readability"];
        assert_eq!(r["formula"], "amstad", "seeds are German: {}", d["id"]);
        let f = r["flesch"].as_f64().unwrap();
        // News prose is hard to read: Amstad scores of German news sit well below 60.
        assert!((-20.0..60.0).contains(&f), "{}: {f}", d["id"]);
        assert!(r["sentences"].as_u64().unwrap() >= 3);
    }
    // The seeds hold no contact data: nothing is redacted, the text is untouched.
    assert!(docs.iter().all(|d| d["meta"].get("redactions").is_none()));

    let out = run_ok(
        textpipe()
            .args(["run", "configs/plugins.toml", "-q"])
            .arg("--set")
            .arg(format!(
                "source.path={}",
                seeds.path().join("docs").display()
            ))
            .arg("--set")
            .arg(format!("stage.redact.path={}", lib("textpipe_redact")))
            .arg("--set")
            .arg(format!(
                "stage.readability.path={}",
                lib("textpipe_readability")
            )),
    );
    let d = &out[0];
    let text = d["text"].as_str().unwrap();
    assert!(
        text.contains("unter [EMAIL] oder telefonisch unter [PHONE]."),
        "{text}"
    );
    assert!(text.contains("auf [IBAN]."), "{text}");
    assert!(!text.contains("presse@") && !text.contains("1234567"));
    assert_eq!(d["meta"]["redactions"], 3);
    let labels: Vec<&str> = d["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = a["span"][0].as_u64().unwrap() as usize;
            let e = a["span"][1].as_u64().unwrap() as usize;
            assert!(
                text[s..e].starts_with('['),
                "annotation spans the placeholder"
            );
            a["label"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        labels,
        ["redacted:email", "redacted:phone", "redacted:iban"]
    );
}

fn testkit_config(dir: &Path, options: &str) -> PathBuf {
    let cfg = dir.join("testkit.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[pipeline]
on_error = "skip"

[source]
kind = "files"
path = "docs"

[[stage]]
kind = "decode"

[[stage]]
name = "kit"
kind = "plugin"
workers = 2
[stage.options]
path = {path:?}
{options}

[sink]
kind = "jsonl"
path = "-"
"#,
            path = lib("textpipe_testkit")
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn misbehaving_plugin_fails_only_its_documents() {
    let dir = docs(&[
        ("a_ok", "Ein ganz normaler Text."),
        ("b_panic", "Hier PANIC bitte."),
        ("c_fail", "Hier FAIL bitte."),
        ("d_drop", "Hier DROP bitte."),
        ("e_badspan", "Hier BADSPAN bitte."),
        ("f_badutf8", "Hier BADUTF8 bitte."),
        ("g_lang", "LANG setzen bitte."),
        ("h_ok", "Noch ein normaler Text."),
    ]);
    let cfg = testkit_config(dir.path(), "");
    let metrics = dir.path().join("m.json");
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .args(["-q", "--metrics-json"])
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = json_lines(&out.stdout);
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a_ok", "g_lang", "h_ok"]);
    assert_eq!(docs[0]["meta"]["testkit"], true);
    assert_eq!(docs[1]["lang"], "xx");
    assert_eq!(docs[1]["annotations"][0]["span"], serde_json::json!([0, 4]));

    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "plugin `kit (testkit)`: panicked: testkit panics on purpose",
        "plugin `kit (testkit)`: testkit fails on purpose",
        "plugin `kit (testkit)`: returned annotation span [19, 29] outside the 19-byte text",
        "plugin `kit (testkit)`: returned text that is not UTF-8",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    let kit = &m["stages"][1];
    assert_eq!(kit["name"], "kit");
    assert_eq!(kit["failed"], 4, "{kit}");
    assert_eq!(kit["dropped"], 1, "{kit}");
}

#[test]
fn an_isolated_plugin_that_aborts_or_crashes_fails_only_that_document() {
    let dir = docs(&[
        ("a_ok", "Ein ganz normaler Text."),
        ("b_abort", "Hier ABORT bitte."),
        ("c_segv", "Hier SEGV bitte."),
        ("d_fail", "Hier FAIL bitte."),
        ("e_lang", "LANG setzen bitte."),
        ("h_ok", "Noch ein normaler Text."),
    ]);
    let cfg = testkit_config(dir.path(), "isolate = true\ntimeout_secs = 20");
    let out = textpipe().arg("run").arg(&cfg).arg("-q").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs = json_lines(&out.stdout);
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a_ok", "e_lang", "h_ok"], "{stderr}");
    assert_eq!(docs[0]["meta"]["testkit"], true);
    assert_eq!(docs[1]["lang"], "xx");
    assert_eq!(docs[1]["annotations"][0]["span"], serde_json::json!([0, 4]));
    // Each crash names the plugin host, the library and how the child ended.
    for needle in [
        "SIGABRT",
        "SIGSEGV",
        "testkit fails on purpose",
        "plugin-host",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    // Not isolated, the crash takes the process down, but not silently: its last words
    // name the plugin and the document in flight.
    let out = textpipe()
        .arg("run")
        .arg(testkit_config(dir.path(), ""))
        .arg("-q")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // Two workers: either crash may come first.
    assert!(
        err.contains("textpipe: native plugin `kit (testkit)` (")
            && (err.contains("crashed on document `b_abort` (SIGABRT)")
                || err.contains("crashed on document `c_segv` (SIGSEGV)")),
        "{err}"
    );
    // Bad options are still a config error, found in a child.
    let out = textpipe()
        .arg("check")
        .arg(testkit_config(dir.path(), "isolate = true\nrefuse = true"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("does not start in its own process") && err.contains("refusing as asked"),
        "{err}"
    );
}

#[test]
fn plugin_load_problems_are_config_errors_naming_the_path() {
    let dir = docs(&[]);
    let cfg = testkit_config(dir.path(), "");

    // Missing file.
    let out = textpipe()
        .args(["check"])
        .arg(&cfg)
        .arg("--set")
        .arg("stage.kit.path=nowhere/libmissing")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("testkit.toml:") && err.contains("no plugin library at"),
        "{err}"
    );
    assert!(err.contains("nowhere/libmissing"), "{err}");

    // ABI mismatch.
    let out = textpipe()
        .args(["check"])
        .arg(&cfg)
        .env("TEXTPIPE_TESTKIT_ABI", "99")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("was built for plugin ABI version 99; this textpipe speaks version 1"),
        "{err}"
    );
    assert!(err.contains("textpipe_testkit"), "{err}");

    // Options the plugin refuses.
    let cfg = testkit_config(dir.path(), "refuse = true");
    let out = textpipe().args(["check"]).arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("refused its options: refusing as asked"),
        "{err}"
    );

    // A bare name is the file beside the config, never the loader's search path: a copy
    // of the plugin named `libc.so.6` next to a config read from its own folder is the
    // plugin, not the system's C library.
    #[cfg(target_os = "linux")]
    {
        let so = plugin_dir().join("libtextpipe_testkit.so");
        std::fs::copy(&so, dir.path().join("libc.so.6")).unwrap();
        let text = std::fs::read_to_string(testkit_config(dir.path(), "")).unwrap();
        let bare = text.replace(&format!("{:?}", lib("textpipe_testkit")), "\"libc.so.6\"");
        std::fs::write(dir.path().join("bare.toml"), bare).unwrap();
        let out = Command::cargo_bin("textpipe")
            .unwrap()
            .current_dir(dir.path())
            .args(["check", "bare.toml"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
    }

    // A shared library that is not a plugin (the noop plugin has the symbols, so use the
    // readability library under a wrong symbol check: any library without our exports).
    #[cfg(target_os = "linux")]
    {
        let libc = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists());
        if let Some(libc) = libc {
            let out = textpipe()
                .args(["check"])
                .arg(&cfg)
                .arg("--set")
                .arg(format!("stage.kit.path={libc}"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(
                    "is not a textpipe plugin: it exports no `textpipe_plugin_abi_version`"
                ),
                "{err}"
            );
        }
    }
}

#[test]
fn exec_stage_in_python_adds_top_words_to_every_seed() {
    let docs = run_ok(textpipe().args(["run", "configs/exec.toml", "-q"]));
    assert_eq!(docs.len(), 5);
    for d in &docs {
        let top = d["meta"]["top_words"].as_array().unwrap();
        assert_eq!(top.len(), 5);
    }
    // Seed 000 is about Putin's visit to Belarus.
    let top0: Vec<&str> = docs[0]["meta"]["top_words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        top0.contains(&"belarus") && top0.contains(&"putin"),
        "{top0:?}"
    );
}

/// An exec config over `docs/` running the flaky child with `args`, skipping failures.
fn flaky_config(dir: &Path, timeout: f64, args: &[&str]) -> PathBuf {
    let script = root().join("cli/tests/fixtures/flaky_exec.py");
    let mut command = vec!["python3".to_string(), script.display().to_string()];
    command.extend(args.iter().map(|a| a.to_string()));
    let cfg = dir.join("exec.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[pipeline]
on_error = "skip"
[source]
kind = "files"
path = "docs"
[[stage]]
kind = "decode"
[[stage]]
name = "flaky"
kind = "exec"
[stage.options]
command = {command:?}
timeout_secs = {timeout:?}
[sink]
kind = "jsonl"
path = "-"
"#
        ),
    )
    .unwrap();
    cfg
}

/// True while the process exists and is not a zombie.
fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn exec_child_that_misbehaves_fails_that_document_and_is_restarted() {
    let dir = docs(&[
        ("a", "eins"),
        ("b", "CRASH"),
        ("c", "zwei"),
        ("d", "HANG"),
        ("e", "drei"),
        ("f", "ERROR"),
        ("g", "DROP"),
        ("h", "BADSPAN"),
        ("i", "vier"),
        ("j", "STRAY"),
        ("k", "fünf"),
        ("l", "NOID"),
        ("m", "sechs FORK"),
    ]);
    let cfg = flaky_config(dir.path(), 1.5, &[]);
    let metrics = dir.path().join("m.json");
    let out = textpipe()
        .arg("run")
        .arg(&cfg)
        .args(["-q", "--metrics-json"])
        .arg(&metrics)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs = json_lines(&out.stdout);
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "c", "e", "i", "k", "m"]);
    // Each good document is its own text upper-cased: no reply was taken for another's.
    for d in &docs {
        assert_eq!(
            d["meta"]["upper"],
            d["text"].as_str().unwrap().to_uppercase()
        );
    }
    // A new child after the crash, the hang, the bad span, the stray line and the reply
    // without an id; the error and the drop were orderly replies.
    let pids: std::collections::BTreeSet<u64> = docs
        .iter()
        .map(|d| d["meta"]["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 6, "{docs:?}");
    for needle in [
        "the child closed its stdout",
        "no reply within 1.5 s",
        "flaky child says no",
        "reply has a bad span",
        "reply is not JSON (expected value at line 1 column 1): debug: a stray line",
        "reply has no `id`",
        "child stderr: flaky child starting",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    assert_eq!(m["stages"][1]["failed"], 6);
    assert_eq!(m["stages"][1]["dropped"], 1);
    // What the last child forked went with it at the end of the run.
    let grandchild = docs[5]["meta"]["grandchild"].as_u64().unwrap();
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        !alive(grandchild)
    });
    assert!(gone, "grandchild {grandchild} outlived the run");
}

#[test]
fn exec_child_that_never_reads_fails_within_the_timeout() {
    // 2 MB does not fit a pipe's buffer: writing it blocks until the child reads.
    let big = "Wort ".repeat(400_000);
    let dir = docs(&[("a", &big), ("b", "klein")]);
    let cfg = flaky_config(dir.path(), 1.0, &["--no-read"]);
    let start = std::time::Instant::now();
    let out = textpipe().arg("run").arg(&cfg).arg("-q").output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Every document failed, so the run fails, but soon: each waited one timeout.
    assert!(!out.status.success(), "{stderr}");
    assert!(took.as_secs_f64() < 20.0, "took {took:?}");
    assert!(
        stderr.contains("no reply within 1.0 s: the child did not read its input"),
        "{stderr}"
    );
}

#[test]
fn exec_with_a_missing_program_is_a_config_error() {
    let out = textpipe()
        .args(["check", "configs/exec.toml", "--set"])
        .arg("stage.wordfreq.command=[\"no-such-program-xyz\"]")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("configs/exec.toml:")
            && err.contains("program `no-such-program-xyz` not found"),
        "{err}"
    );
}
