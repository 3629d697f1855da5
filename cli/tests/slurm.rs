//! A real Slurm job array: starts munged, slurmctld and slurmd on this machine with a
//! one-node configuration written here, submits a 4-task array through
//! `textpipe slurm --submit --wait` over a seeds-derived corpus, and checks that the merged
//! output equals a single-process run.
//!
//! Runs when `CI=true` or `TEXTPIPE_SLURM=1` (`.ci/run` installs slurm-wlm and munge from
//! Debian's packages first). There it fails with a clear message if Slurm cannot be started;
//! elsewhere it says that it was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wanted() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("TEXTPIPE_SLURM").is_ok_and(|v| v == "1")
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sh(cmd: &str) -> (bool, String) {
    match Command::new("sh").args(["-c", cmd]).output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// Stops the daemons this test started, whatever happens.
struct Daemons {
    pid_files: Vec<PathBuf>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for p in &self.pid_files {
            if let Ok(pid) = std::fs::read_to_string(p) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
}

#[test]
fn job_array_under_real_slurm_merges_to_the_single_run() {
    if !wanted() {
        eprintln!(
            "slurm test skipped: set TEXTPIPE_SLURM=1 (or CI=true) on a machine where slurm-wlm and munge are installed, as .ci/run does"
        );
        return;
    }
    for p in ["munged", "slurmctld", "slurmd", "sbatch", "sinfo"] {
        assert!(
            have(p),
            "Slurm cannot be started: `{p}` is not installed (apt-get install slurm-wlm munge; .ci/run does this)"
        );
    }
    // munge: the authentication Slurm needs. Start it unless it already answers.
    if !sh("munge -n | unmunge").0 {
        let _ = sh("mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge && \
                    chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null; \
                    test -s /etc/munge/munge.key || (mungekey --create 2>/dev/null || \
                    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null); \
                    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key");
        let (ok, out) = sh("munged --force");
        assert!(ok, "Slurm cannot be started: munged failed: {out}");
        let (ok, out) = sh("sleep 1; munge -n | unmunge");
        assert!(ok, "Slurm cannot be started: munge does not answer: {out}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in ["state", "spool", "log"] {
        std::fs::create_dir_all(t.join(d)).unwrap();
    }
    let host = sh("hostname -s").1.trim().to_string();
    let conf = t.join("slurm.conf");
    std::fs::write(
        &conf,
        format!(
            "ClusterName=textpipe-test\n\
             SlurmctldHost={host}\n\
             SlurmctldPort=16817\n\
             SlurmdPort=16818\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\n\
             SlurmdLogFile={d}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             SchedulerType=sched/builtin\n\
             ReturnToService=2\n\
             MpiDefault=none\n\
             JobCompType=jobcomp/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             MaxArraySize=1001\n\
             NodeName={host} CPUs=2 State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            d = t.display()
        ),
    )
    .unwrap();
    let conf_s = conf.display().to_string();
    let _daemons = Daemons {
        pid_files: vec![t.join("slurmctld.pid"), t.join("slurmd.pid")],
    };
    let log = |name: &str| std::fs::read_to_string(t.join("log").join(name)).unwrap_or_default();
    let (ok, out) = sh(&format!("slurmctld -f {conf_s}"));
    assert!(
        ok,
        "Slurm cannot be started: slurmctld: {out}\n{}",
        log("slurmctld.log")
    );
    let (ok, out) = sh(&format!("slurmd -f {conf_s}"));
    assert!(
        ok,
        "Slurm cannot be started: slurmd: {out}\n{}",
        log("slurmd.log")
    );
    let start = Instant::now();
    loop {
        let (ok, out) = sh(&format!("SLURM_CONF={conf_s} sinfo -h -o %T"));
        if ok && out.trim().starts_with("idle") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Slurm cannot be started: the node is not idle after 60 s (sinfo: {out})\nslurmctld.log:\n{}\nslurmd.log:\n{}",
            log("slurmctld.log"),
            log("slurmd.log")
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // A seeds-derived corpus and a pipeline over it.
    let bin = assert_cmd::cargo::cargo_bin("textpipe");
    let corpus = t.join("corpus.jsonl");
    let st = Command::new(&bin)
        .current_dir(root())
        .args(["gen-corpus", "--from", "seeds", "-n", "240", "-o"])
        .arg(&corpus)
        .status()
        .unwrap();
    assert!(st.success());
    let cfg = t.join("job.toml");
    std::fs::write(
        &cfg,
        "[source]\nkind = \"jsonl\"\npath = \"corpus.jsonl\"\n\n\
         [[stage]]\nkind = \"decode\"\n\n[[stage]]\nkind = \"clean\"\n[stage.options]\nduplicates = \"keep\"\n\n\
         [[stage]]\nkind = \"segment\"\n\n[[stage]]\nkind = \"summarise\"\n\n\
         [sink]\nkind = \"jsonl\"\npath = \"-\"\nfields = [\"id\", \"text\", \"summary\"]\n",
    )
    .unwrap();
    let single = Command::new(&bin)
        .args(["-q", "run"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(single.status.success());

    let job = t.join("job");
    let out = Command::new(&bin)
        .args(["slurm"])
        .arg(&cfg)
        .args(["--tasks", "4", "--max-array-size", "3", "--output-dir"])
        .arg(&job)
        .args(["--submit", "--wait", "--dedup"])
        .env("SLURM_CONF", &conf)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let slurm_logs: String = std::fs::read_dir(job.join("logs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    format!(
                        "--- {}\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "textpipe slurm --submit --wait: {said}\n{slurm_logs}"
    );
    // 4 tasks in arrays of at most 3: two submissions, the second with rank offset 3; then
    // the dedup step, which ran after both (--dependency=afterok).
    assert!(
        said.contains("submitted ranks 0-2")
            && said.contains("submitted ranks 3-3")
            && said.contains("submitted dedup"),
        "{said}"
    );
    let st = Command::new(&bin).arg("status").arg(&job).output().unwrap();
    assert!(
        st.status.success(),
        "{}\n{slurm_logs}",
        String::from_utf8_lossy(&st.stdout)
    );
    let merged: Vec<u8> = (0..4)
        .flat_map(|r| std::fs::read(job.join(format!("{r:05}.jsonl"))).unwrap())
        .collect();
    // The single-process run without the documents the job-wide dedup removed (the
    // seeds-derived corpus repeats its sentences, so some are near-duplicates).
    let removed = std::fs::read_to_string(job.join("dedup/removed.jsonl"))
        .unwrap_or_else(|e| panic!("the dedup step wrote no removed.jsonl ({e})\n{slurm_logs}"));
    let gone: std::collections::HashSet<String> = removed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    let expected: Vec<u8> = (single.stdout.split_inclusive(|&b| b == b'\n'))
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            !gone.contains(&v["id"].to_string())
        })
        .flatten()
        .copied()
        .collect();
    assert_eq!(
        merged,
        expected,
        "merged Slurm output = single-process run less the {} duplicates",
        gone.len()
    );
}
