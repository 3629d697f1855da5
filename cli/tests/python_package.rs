//! The Python package (`python/`, `import textpipe`): its pytest suite, against this
//! build's `textpipe` binary (the package's output must be the CLI's).
//!
//! Needs a Python with the package and pytest installed, named by `TEXTPIPE_PYTHON`;
//! `.ci/run` makes one (`target/ci-python`, `pip install ./python pytest`). Without it the
//! test says so and passes, except under `CI=true`, where it fails.

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn pytest_suite_passes() {
    let py = match std::env::var("TEXTPIPE_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but TEXTPIPE_PYTHON is not set: .ci/run makes the venv and sets it")
        }
        _ => {
            eprintln!("TEXTPIPE_PYTHON not set: skipped (see .ci/run to make the venv)");
            return;
        }
    };
    let installed = std::process::Command::new(&py)
        .args(["-c", "import textpipe, pytest"])
        .status()
        .expect("run python");
    if !installed.success() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{py} cannot import textpipe and pytest: .ci/run installs them (pip install ./python pytest)"
        );
        eprintln!("{py} has no textpipe package: skipped (pip install ./python pytest)");
        return;
    }
    let out = std::process::Command::new(&py)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .current_dir(root())
        .env("TEXTPIPE_BIN", env!("CARGO_BIN_EXE_textpipe"))
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed"), "{stdout}");
}
