//! Every config error is reported before any document is read, with file:line:column and a
//! caret snippet. Snapshots hold the exact messages users see.

use assert_cmd::Command;

fn check(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.txt"), "Hallo Welt.").unwrap();
    std::fs::write(dir.path().join("bad.toml"), config).unwrap();
    let out = Command::cargo_bin("textpipe")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "bad.toml"])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn err(config: &str) -> String {
    let (ok, stderr) = check(config);
    assert!(!ok, "config should be rejected:\n{config}");
    assert!(
        stderr.contains("bad.toml"),
        "message names the file: {stderr}"
    );
    stderr
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(err("[pipeline\nname = \"x\"\n"));
}

#[test]
fn unknown_pipeline_field() {
    insta::assert_snapshot!(err(
        "[pipeline]\nname = \"x\"\norderd = true\n\n[source]\nkind = \"files\"\npath = \"in\"\n"
    ));
}

#[test]
fn unknown_stage_kind() {
    insta::assert_snapshot!(err(
        "[source]\nkind = \"files\"\npath = \"in\"\n\n[[stage]]\nkind = \"no-such-stage\"\n"
    ));
}

#[test]
fn wrong_type_in_source_option() {
    insta::assert_snapshot!(err("[source]\nkind = \"files\"\npath = 3\n"));
}

#[test]
fn missing_input_path() {
    insta::assert_snapshot!(err("[source]\nkind = \"files\"\npath = \"no/such/dir\"\n"));
}

#[test]
fn unknown_sink_option() {
    insta::assert_snapshot!(err(
        "[source]\nkind = \"files\"\npath = \"in\"\n\n[sink]\nkind = \"jsonl\"\nfields = [\"id\"]\npth = \"out.jsonl\"\n"
    ));
}

#[test]
fn workers_out_of_range() {
    let e =
        err("[source]\nkind = \"files\"\npath = \"in\"\n\n[[stage]]\nkind = \"x\"\nworkers = 0\n");
    assert!(e.contains("bad.toml:7:11"), "{e}");
    assert!(e.contains("workers must be between 1 and 1024"), "{e}");
}

#[test]
fn dead_letter_policy_needs_a_path() {
    let e = err(
        "[pipeline]\non_error = \"dead-letter\"\n\n[source]\nkind = \"files\"\npath = \"in\"\n",
    );
    assert!(e.contains("needs a dead-letter file"), "{e}");
    assert!(e.contains("bad.toml:1:1"), "{e}");
}

#[test]
fn valid_config_checks_ok() {
    let (ok, _) = check("[source]\nkind = \"files\"\npath = \"in\"\n");
    assert!(ok);
}

#[test]
fn set_override_errors_name_the_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[source]\nkind = \"files\"\npath = \"in\"\n",
    )
    .unwrap();
    let out = Command::cargo_bin("textpipe")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "c.toml", "--set", "source.recursive=\"yes\""])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("invalid type: string \"yes\", expected a boolean"),
        "{e}"
    );
    assert!(
        e.contains("recursive = \"yes\""),
        "snippet shows the overridden line: {e}"
    );
}

#[test]
fn absurd_capacity_and_failure_rate_are_config_errors() {
    let src = "[source]\nkind = \"files\"\npath = \"in\"\n";
    let e = err(&format!("[pipeline]\nchannel_capacity = 1000000000\n{src}"));
    assert!(
        e.contains("bad.toml:2:1") && e.contains("channel_capacity must be between 1 and 100000"),
        "{e}"
    );
    let e = err(&format!("[pipeline]\nmax_failure_rate = 1.5\n{src}"));
    assert!(
        e.contains("max_failure_rate must be between 0 and 1"),
        "{e}"
    );
}
