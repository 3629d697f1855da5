//! `textpipe slurm`: the sbatch job-array script for a sharded job (arrays of at most
//! MaxArraySize tasks, each task `textpipe run --output-dir DIR` with its rank from the
//! array index), submitted with `--submit`, with the job-wide dedup step after every array
//! when asked.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::shard::write_atomic;

/// Options of `textpipe slurm`.
pub struct SlurmArgs<'a> {
    /// The pipeline config.
    pub config: &'a Path,
    /// Number of tasks.
    pub tasks: usize,
    /// Job directory.
    pub output_dir: &'a Path,
    /// Slurm partition.
    pub partition: Option<&'a str>,
    /// Time limit per task (`HH:MM:SS`).
    pub time: Option<&'a str>,
    /// CPUs per task (also the workers of the pipeline's stages, if set there).
    pub cpus_per_task: Option<usize>,
    /// Largest array the cluster accepts (MaxArraySize).
    pub max_array_size: usize,
    /// Extra `--set` overrides for every task.
    pub sets: &'a [String],
    /// Compress each task's output with zstd.
    pub zstd: bool,
    /// Submit with sbatch.
    pub submit: bool,
    /// With --submit: wait until every array job has finished.
    pub wait: bool,
    /// Add the job-wide dedup step, after every array succeeded.
    pub dedup: bool,
}

/// `textpipe slurm`: writes (and submits) the sbatch job-array script.
///
/// Long because it writes one script from top to bottom.
pub fn slurm(a: &SlurmArgs) -> Result<ExitCode> {
    if a.tasks == 0 {
        bail!("--tasks must be at least 1");
    }
    std::fs::create_dir_all(a.output_dir.join("logs"))
        .with_context(|| format!("cannot create {}", a.output_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the textpipe executable")?;
    let config = std::path::absolute(a.config)?;
    let dir = std::path::absolute(a.output_dir)?;
    let chunk = a.max_array_size.max(1).min(a.tasks);
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut script = String::from("#!/bin/bash\n");
    script.push_str("#SBATCH --job-name=textpipe\n");
    script.push_str(&format!("#SBATCH --array=0-{}\n", chunk - 1));
    script.push_str(&format!(
        "#SBATCH --output={}/logs/slurm-%A_%a.out\n",
        dir.display()
    ));
    script.push_str("#SBATCH --ntasks=1\n");
    if let Some(p) = a.partition {
        script.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = a.time {
        script.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(c) = a.cpus_per_task {
        script.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    script.push_str(&format!(
        "# {} tasks in arrays of at most {chunk}: each array gets TEXTPIPE_RANK_OFFSET\n\
         # (0, {chunk}, …) from `textpipe slurm --submit`; rank = offset + SLURM_ARRAY_TASK_ID.\n\
         # A failed or pre-empted task can be resubmitted as is: completed ranks are skipped\n\
         # and an interrupted one resumes from its checkpoint.\n",
        a.tasks
    ));
    let mut cmd = format!(
        "exec {} -q run {} --output-dir {} --world-size {} --rank \"$(( ${{TEXTPIPE_RANK_OFFSET:-0}} + SLURM_ARRAY_TASK_ID ))\" --rank-offset 0",
        q(&exe.display().to_string()),
        q(&config.display().to_string()),
        q(&dir.display().to_string()),
        a.tasks
    );
    if a.zstd {
        cmd.push_str(" --zstd");
    }
    for s in a.sets {
        cmd.push_str(&format!(" --set {}", q(s)));
    }
    script.push_str(&cmd);
    script.push('\n');
    let path = dir.join("textpipe.sbatch");
    write_atomic(&path, script.as_bytes())?;
    outln!("wrote {}", path.display());
    // The dedup step: one task, after every array.
    let dedup_path = dir.join("textpipe-dedup.sbatch");
    if a.dedup {
        let mut d = String::from("#!/bin/bash\n#SBATCH --job-name=textpipe-dedup\n");
        d.push_str(&format!(
            "#SBATCH --output={}/logs/slurm-dedup-%j.out\n#SBATCH --ntasks=1\n",
            dir.display()
        ));
        if let Some(p) = a.partition {
            d.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        if let Some(t) = a.time {
            d.push_str(&format!("#SBATCH --time={t}\n"));
        }
        d.push_str("# Runs after every array task succeeded: duplicates across the whole job.\n");
        let (exe, dir) = (q(&exe.display().to_string()), q(&dir.display().to_string()));
        d.push_str(&format!(
            "{exe} -q dedup index {dir} && exec {exe} -q dedup apply {dir}\n"
        ));
        write_atomic(&dedup_path, d.as_bytes())?;
        outln!("wrote {}", dedup_path.display());
    }
    if !a.submit {
        outln!(
            "submit with: sbatch --export=ALL,TEXTPIPE_RANK_OFFSET=0 {} (or run `textpipe slurm … --submit`)",
            path.display()
        );
        if a.dedup {
            outln!(
                "then: sbatch --dependency=afterok:JOBID {} (JOBID: the arrays' job ids, joined by `:`)",
                dedup_path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut offset = 0;
    let mut children = Vec::new();
    while offset < a.tasks {
        let n = chunk.min(a.tasks - offset);
        let mut c = std::process::Command::new("sbatch");
        c.arg("--parsable")
            .arg(format!("--array=0-{}", n - 1))
            .arg(format!("--export=ALL,TEXTPIPE_RANK_OFFSET={offset}"));
        // With a dedup step, that step is the one waited for (it runs after every array).
        if a.wait && !a.dedup {
            c.arg("--wait");
        }
        c.arg(&path);
        let child = c
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("cannot run sbatch (is Slurm installed and on PATH?)")?;
        children.push((offset, n, child));
        offset += n;
    }
    let mut ok = true;
    let mut ids = Vec::new();
    for (offset, n, child) in children {
        let out = child.wait_with_output()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() {
            outln!("submitted ranks {offset}-{}: job {id}", offset + n - 1);
            // `--parsable` prints `ID` or `ID;CLUSTER`.
            ids.push(id.split(';').next().unwrap_or("").to_string());
        } else {
            ok = false;
            eprintln!(
                "sbatch for ranks {offset}-{} failed ({}){}",
                offset + n - 1,
                out.status,
                if id.is_empty() {
                    String::new()
                } else {
                    format!(": {id}")
                }
            );
        }
    }
    if ok && a.dedup {
        let mut c = std::process::Command::new("sbatch");
        c.arg("--parsable")
            .arg(format!("--dependency=afterok:{}", ids.join(":")))
            // A failed array task cancels the step instead of leaving it pending.
            .arg("--kill-on-invalid-dep=yes");
        if a.wait {
            c.arg("--wait");
        }
        let out = c
            .arg(&dedup_path)
            .output()
            .context("cannot run sbatch for the dedup step")?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() {
            outln!("submitted dedup: job {id} (after {})", ids.join(", "));
        } else {
            ok = false;
            eprintln!(
                "the dedup step failed ({}): {}{}",
                out.status,
                id,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
