//! Scale-out: one task of a sharded run (`textpipe run --output-dir DIR --rank R --world-size N`),
//! `textpipe status` and `textpipe merge-stats` (`textpipe slurm` is in `slurm.rs`).
//!
//! A task reads its shard of the input (the sources' `rank`/`world_size` options) and writes
//! into DIR:
//! - `{rank:05}.jsonl` (or `.jsonl.zst` with `--zstd`): its output, put in place only when
//!   the task completes;
//! - `{rank:05}.jsonl.partial` + `{rank:05}.ckpt` while it runs: every `checkpoint_every`
//!   documents the partial output is synced and the checkpoint records how many input
//!   documents are accounted for and how many bytes of output belong to them. A task that
//!   is killed and started again truncates the partial file to the checkpoint, skips the
//!   accounted documents and goes on, so nothing is redone or written twice;
//! - `completions/{rank:05}` after success (a completed rank is skipped when run again),
//!   `stats/{rank:05}.json`, `logs/{rank:05}.log`, `dead-letter/{rank:05}.jsonl`,
//!   `signatures/{rank:05}.jsonl` (each written document's MinHash, for `textpipe dedup`);
//! - `job.json`: the world size, written by the first task, checked by the others.
//!
//! Output is ordered, so with the same config a task's output does not depend on where it
//! was interrupted. Keywords weigh words by shipped document frequencies, so they do not
//! either; stages with run-wide state (clean's duplicate index, tag's `idf = "run"`) are
//! shown the documents before the checkpoint again on resume (`Runner::resume_after`), so
//! their state covers every document of the task.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use pipeline_core::{metrics::Outcome, CancelToken, Document, Runner, Sink, SinkError};
use serde::{Deserialize, Serialize};

use crate::ConfigArgs;

/// Where a task stands: its rank, the number of tasks, and the job directory.
#[derive(Debug, Clone)]
pub struct Task {
    /// This task's rank, 0-based.
    pub rank: usize,
    /// Number of tasks.
    pub world: usize,
    /// The job's output directory.
    pub dir: PathBuf,
}

/// Rank and world size from the flags, or else from the scheduler's environment: Slurm job
/// arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT), Slurm tasks (SLURM_PROCID,
/// SLURM_NTASKS), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX with `--world-size`).
/// `TEXTPIPE_RANK_OFFSET` (or `--rank-offset`) is added to the rank, for job arrays split
/// into chunks below the cluster's MaxArraySize.
pub fn resolve(
    rank: Option<usize>,
    world: Option<usize>,
    offset: Option<usize>,
    dir: Option<&Path>,
) -> Result<Option<Task>> {
    let env = |k: &str| -> Result<Option<usize>> {
        match std::env::var(k) {
            Ok(v) => v
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("environment variable {k}={v:?} is not a number")),
            Err(_) => Ok(None),
        }
    };
    let (env_rank, env_world) = if let Some(r) = env("SLURM_ARRAY_TASK_ID")? {
        (Some(r), env("SLURM_ARRAY_TASK_COUNT")?)
    } else if let Some(r) = env("JOB_COMPLETION_INDEX")? {
        (Some(r), None)
    } else if let (Some(r), Some(n)) = (env("SLURM_PROCID")?, env("SLURM_NTASKS")?) {
        (Some(r), Some(n))
    } else {
        (None, None)
    };
    let world = world.or(env_world);
    let offset = match offset {
        Some(o) => o,
        None => env("TEXTPIPE_RANK_OFFSET")?.unwrap_or(0),
    };
    let rank = rank.or(env_rank).map(|r| r + offset);
    let Some(dir) = dir else {
        if rank.is_some() && world.is_some_and(|w| w > 1) {
            bail!("a sharded run writes to a directory: add --output-dir DIR");
        }
        return Ok(None);
    };
    let world = world.unwrap_or(1);
    let rank = rank.unwrap_or(0);
    if world == 0 || rank >= world {
        bail!("rank {rank} is not below world size {world}");
    }
    Ok(Some(Task {
        rank,
        world,
        dir: dir.to_path_buf(),
    }))
}

impl Task {
    fn name(&self) -> String {
        format!("{:05}", self.rank)
    }
    fn path(&self, sub: &str, ext: &str) -> PathBuf {
        let file = format!("{}{ext}", self.name());
        if sub.is_empty() {
            self.dir.join(file)
        } else {
            self.dir.join(sub).join(file)
        }
    }
    /// The log file of this task.
    pub fn log_file(&self) -> PathBuf {
        self.path("logs", ".log")
    }
}

/// A task's progress, saved atomically after the partial output is synced.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    /// Input documents accounted for (written, dropped or failed).
    accounted: u64,
    /// Documents written.
    written: u64,
    /// Bytes of partial output that belong to them.
    bytes: u64,
    /// Bytes of the rank's dead-letter file that belong to them.
    #[serde(default)]
    dead_letter_bytes: u64,
    /// Bytes of the rank's signature file (`signatures/`, for `dedup`) that belong to them.
    #[serde(default)]
    signature_bytes: u64,
}

/// `job.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    world_size: usize,
    config: String,
}

/// Writes `path` atomically (a temporary file renamed into place).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = pipeline_core::atomic::AtomicFile::create(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.commit()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// JSONL output appended to the partial file, with a checkpoint every `every` documents.
struct CheckpointSink {
    file: std::io::BufWriter<std::fs::File>,
    /// The rank's dead-letter file, kept with the checkpoints like the output (opened at
    /// the first failure).
    dead_letter: Option<std::io::BufWriter<std::fs::File>>,
    dead_letter_path: PathBuf,
    /// The rank's signature file (each written document's, for `dedup index`), kept with
    /// the checkpoints like the output (opened at the first document).
    signatures: Option<std::io::BufWriter<std::fs::File>>,
    signatures_path: PathBuf,
    ckpt_path: PathBuf,
    fields: Vec<String>,
    include_raw: bool,
    every: u64,
    base: Checkpoint,
    now: Checkpoint,
    line: Vec<u8>,
}

impl CheckpointSink {
    fn save(&mut self) -> Result<(), SinkError> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        for f in [&mut self.dead_letter, &mut self.signatures]
            .into_iter()
            .flatten()
        {
            f.flush()?;
            f.get_ref().sync_data()?;
        }
        let json = serde_json::to_vec(&self.now).map_err(|e| SinkError(e.to_string()))?;
        write_atomic(&self.ckpt_path, &json).map_err(|e| SinkError(format!("{e:#}")))
    }
}

impl Sink for CheckpointSink {
    fn write(&mut self, doc: &Document) -> Result<(), SinkError> {
        self.line.clear();
        doc.write_json(&mut self.line, &self.fields, self.include_raw)
            .map_err(|e| SinkError(e.to_string()))?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)?;
        self.now.written += 1;
        self.now.bytes += self.line.len() as u64;
        let sigs = kept_file(
            &mut self.signatures,
            &self.signatures_path,
            self.base.signature_bytes,
        )?;
        self.line.clear();
        crate::dedup::signature_line(doc, &mut self.line).map_err(|e| SinkError(e.to_string()))?;
        sigs.write_all(&self.line)?;
        self.now.signature_bytes += self.line.len() as u64;
        Ok(())
    }
    fn dead_letter(&mut self, doc: &Document, stage: &str, error: &str) -> Result<bool, SinkError> {
        let dl = kept_file(
            &mut self.dead_letter,
            &self.dead_letter_path,
            self.base.dead_letter_bytes,
        )?;
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &pipeline_core::dead_letter_record(doc, stage, error),
        )
        .map_err(|e| SinkError(e.to_string()))?;
        self.line.push(b'\n');
        dl.write_all(&self.line)?;
        self.now.dead_letter_bytes += self.line.len() as u64;
        Ok(true)
    }
    fn accounted(&mut self, n: u64) -> Result<(), SinkError> {
        self.now.accounted = self.base.accounted + n;
        if n % self.every == 0 {
            self.save()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.save()
    }
    fn describe(&self) -> String {
        format!("jsonl with checkpoints every {} documents", self.every)
    }
}

/// A file kept with the checkpoints (dead letters, signatures), opened at its first use
/// after its first `len` bytes: on a resume, what the checkpoint covers stays and what came
/// after it goes.
fn kept_file<'a>(
    slot: &'a mut Option<std::io::BufWriter<std::fs::File>>,
    path: &Path,
    len: u64,
) -> std::io::Result<&'a mut std::io::BufWriter<std::fs::File>> {
    match slot {
        Some(f) => Ok(f),
        None => Ok(slot.insert(std::io::BufWriter::new(open_at(path, len)?))),
    }
}

/// Opens (or creates) `path` for appending after its first `len` bytes: what a checkpoint
/// covers stays, what was written after it is cut.
fn open_at(path: &Path, len: u64) -> std::io::Result<std::fs::File> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    f.set_len(len)?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))?;
    Ok(f)
}

/// Output options of the plan's sink (fields, include_raw), which the task's own sink
/// writes as the configured one would have.
fn sink_format(sink: &toml::Table) -> (Vec<String>, bool) {
    let fields = (sink.get("fields").and_then(|f| f.as_array()))
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let raw = (sink.get("include_raw").and_then(|v| v.as_bool())).unwrap_or(false);
    (fields, raw)
}

/// Runs one task of a sharded job.
///
/// Long because it is the task's life in order (job check, resume, sink, run, checkpoint,
/// completion), each step a few lines.
pub fn run_task(
    args: &ConfigArgs,
    task: &Task,
    checkpoint_every: u64,
    zstd: bool,
    quiet: bool,
) -> Result<ExitCode> {
    for sub in ["completions", "stats", "logs", "dead-letter"] {
        std::fs::create_dir_all(task.dir.join(sub))
            .with_context(|| format!("cannot create {}", task.dir.join(sub).display()))?;
    }
    let job_path = task.dir.join("job.json");
    match std::fs::read(&job_path) {
        Ok(b) => {
            let job: Job = serde_json::from_slice(&b)
                .with_context(|| format!("{} is not a textpipe job file", job_path.display()))?;
            if job.world_size != task.world {
                bail!(
                    "{} was started with world size {}, this task says {}: use another --output-dir or the same world size",
                    task.dir.display(),
                    job.world_size,
                    task.world
                );
            }
        }
        Err(_) => {
            let job = Job {
                world_size: task.world,
                config: args.config.display().to_string(),
            };
            write_atomic(&job_path, &serde_json::to_vec_pretty(&job)?)?;
        }
    }

    let done = task.path("completions", "");
    if done.exists() {
        eprintln!(
            "rank {} of {} is already complete ({}); nothing to do",
            task.rank,
            task.world,
            done.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut args = args.clone();
    args.sets.extend([
        format!("source.rank={}", task.rank),
        format!("source.world_size={}", task.world),
        "pipeline.ordered=true".to_string(),
        format!(
            "pipeline.dead_letter={}",
            toml::Value::String(
                std::path::absolute(task.path("dead-letter", ".jsonl"))?
                    .display()
                    .to_string()
            )
        ),
    ]);
    let reg = crate::commands::registry();
    let mut plan = crate::commands::load(&args, &reg)?;

    // Resume from the checkpoint, if the partial output is there to match it.
    let partial = task.path("", ".jsonl.partial");
    let ckpt_path = task.path("", ".ckpt");
    let base: Checkpoint = match (std::fs::read(&ckpt_path), partial.exists()) {
        (Ok(b), true) => serde_json::from_slice(&b).unwrap_or_default(),
        _ => Checkpoint::default(),
    };
    let file = open_at(&partial, base.bytes)
        .with_context(|| format!("cannot open {} at byte {}", partial.display(), base.bytes))?;
    if base.accounted > 0 {
        tracing::info!(
            rank = task.rank,
            "resuming after {} documents ({} written)",
            base.accounted,
            base.written
        );
        if !quiet {
            eprintln!(
                "rank {}: resuming after {} documents ({} written)",
                task.rank, base.accounted, base.written
            );
        }
    }
    // The sink's output options as the plan resolved them (`--set sink.fields=…` included).
    let (fields, include_raw) = sink_format(&plan.sink_options);
    let dead_letter_path = task.path("dead-letter", ".jsonl");
    if base.dead_letter_bytes == 0 {
        // A fresh start, or a checkpoint before any failure: no earlier dead letters count.
        let _ = std::fs::remove_file(&dead_letter_path);
    }
    let signatures_path = task.path("signatures", ".jsonl");
    if base.signature_bytes == 0 {
        let _ = std::fs::remove_file(&signatures_path);
    }
    if let Some(d) = signatures_path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    plan.sink = Box::new(CheckpointSink {
        file: std::io::BufWriter::with_capacity(1 << 16, file),
        dead_letter: None,
        dead_letter_path,
        signatures: None,
        signatures_path,
        ckpt_path: ckpt_path.clone(),
        fields,
        include_raw,
        every: checkpoint_every.max(1),
        base,
        now: base,
        line: Vec::new(),
    });

    let max_failure_rate = plan.settings.max_failure_rate;
    let mut runner = Runner::new(plan)?;
    // What the checkpoint covers is not written again; stages that remember earlier
    // documents (clean's duplicate index) see them again, so the output equals an
    // uninterrupted run's.
    runner.resume_after(base.accounted);
    let cancel = CancelToken::new();
    crate::commands::cancel_on_ctrl_c(&cancel);
    let report = {
        let _progress = crate::progress::Progress::start(runner.metrics(), !quiet);
        runner.run(&cancel)
    };
    if !quiet {
        eprint!("{}", report.table());
    }
    match &report.outcome {
        Outcome::Completed => {}
        Outcome::Interrupted => {
            eprintln!(
                "rank {}: interrupted; run the same command again to resume",
                task.rank
            );
            return Ok(ExitCode::from(130));
        }
        Outcome::Failed(m) => {
            eprintln!(
                "error: rank {}: {m}; run the same command again to resume",
                task.rank
            );
            return Ok(ExitCode::from(1));
        }
    }
    let end: Checkpoint = std::fs::read(&ckpt_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if zstd {
        // The partial output stays plain JSONL (resumable); it is compressed once, at the end.
        let out = task.path("", ".jsonl.zst");
        let mut input = std::fs::File::open(&partial)
            .with_context(|| format!("cannot read {}", partial.display()))?;
        let mut f = pipeline_core::atomic::AtomicFile::create(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        zstd::stream::copy_encode(&mut input, &mut f, 3)
            .with_context(|| format!("cannot compress into {}", out.display()))?;
        f.commit()?;
        std::fs::remove_file(&partial)?;
    } else {
        let out = task.path("", ".jsonl");
        std::fs::rename(&partial, &out)
            .with_context(|| format!("cannot rename {} to {}", partial.display(), out.display()))?;
    }
    let mut stats = serde_json::to_value(&report)?;
    if let Some(m) = stats.as_object_mut() {
        m.insert("rank".into(), task.rank.into());
        m.insert("world_size".into(), task.world.into());
        m.insert("resumed_after".into(), base.accounted.into());
        // Totals over every attempt of this rank.
        m.insert("docs_accounted".into(), end.accounted.into());
        m.insert("docs_written_total".into(), end.written.into());
        m.insert("output_bytes".into(), end.bytes.into());
    }
    write_atomic(
        &task.path("stats", ".json"),
        &serde_json::to_vec_pretty(&stats)?,
    )?;
    let _ = std::fs::remove_file(&ckpt_path);
    write_atomic(&done, b"done\n")?;
    // The rank is done (running it again would fail the same documents), yet the
    // scheduler must see that it failed.
    if let Some(m) = crate::commands::too_many_failures(&report, max_failure_rate) {
        eprintln!("error: rank {}: {m}", task.rank);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The world size of the sharded job in `dir` (its `job.json`).
pub(crate) fn world_of(dir: &Path) -> Result<usize> {
    let p = dir.join("job.json");
    let b = std::fs::read(&p).with_context(|| {
        format!(
            "{} has no job.json: is it the --output-dir of a sharded run?",
            dir.display()
        )
    })?;
    let job: Job =
        serde_json::from_slice(&b).with_context(|| format!("cannot parse {}", p.display()))?;
    Ok(job.world_size)
}

/// Rank ranges as text: `0-3, 7, 9-10`.
fn ranges(v: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// `textpipe status DIR`.
pub fn status(dir: &Path, json: bool) -> Result<ExitCode> {
    let world = world_of(dir)?;
    let mut done = Vec::new();
    let mut partial = Vec::new();
    let mut missing = Vec::new();
    for r in 0..world {
        let t = Task {
            rank: r,
            world,
            dir: dir.to_path_buf(),
        };
        if t.path("completions", "").exists() {
            done.push(r);
        } else if t.path("", ".ckpt").exists() || t.path("", ".jsonl.partial").exists() {
            partial.push(r);
        } else {
            missing.push(r);
        }
    }
    if json {
        outln!(
            "{}",
            serde_json::json!({"world_size": world, "done": done, "partial": partial, "missing": missing})
        );
    } else {
        outln!("{}: {} of {world} ranks done", dir.display(), done.len());
        if !partial.is_empty() {
            outln!(
                "  started, not done (resume by running them again): {}",
                ranges(&partial)
            );
        }
        if !missing.is_empty() {
            outln!("  not started: {}", ranges(&missing));
        }
    }
    Ok(if done.len() == world {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `textpipe merge-stats DIR`: sums the per-task stats into one report.
pub fn merge_stats(dir: &Path, json: bool) -> Result<ExitCode> {
    let world = world_of(dir)?;
    let mut total: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    let mut stages: Vec<serde_json::Value> = Vec::new();
    let mut tasks = 0;
    let mut missing = Vec::new();
    let sum_into = |acc: &mut serde_json::Map<String, serde_json::Value>, v: &serde_json::Value| {
        if let Some(m) = v.as_object() {
            for (k, x) in m {
                if let Some(n) = x.as_f64() {
                    if matches!(k.as_str(), "rank" | "world_size" | "workers") {
                        continue;
                    }
                    let cur = acc.get(k).and_then(|c| c.as_f64()).unwrap_or(0.0);
                    let s = cur + n;
                    acc.insert(
                        k.clone(),
                        if x.is_u64() {
                            serde_json::Value::from(s as u64)
                        } else {
                            serde_json::Value::from(s)
                        },
                    );
                }
            }
        }
    };
    for r in 0..world {
        let t = Task {
            rank: r,
            world,
            dir: dir.to_path_buf(),
        };
        let Ok(b) = std::fs::read(t.path("stats", ".json")) else {
            missing.push(r);
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(&b)
            .with_context(|| format!("cannot parse {}", t.path("stats", ".json").display()))?;
        tasks += 1;
        sum_into(&mut total, &v);
        for (i, st) in v["stages"].as_array().into_iter().flatten().enumerate() {
            if stages.len() <= i {
                stages.push(serde_json::json!({"name": st["name"].clone()}));
            }
            if let Some(acc) = stages[i].as_object_mut() {
                sum_into(acc, st);
            }
        }
    }
    total.insert("tasks".into(), tasks.into());
    total.insert("world_size".into(), world.into());
    total.insert("missing_ranks".into(), serde_json::json!(missing));
    total.insert("stages".into(), stages.clone().into());
    if json {
        outln!("{}", serde_json::to_string_pretty(&total)?);
    } else {
        let g = |k: &str| total.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        outln!(
            "{}: {tasks} of {world} tasks reported; {} documents accounted, {} written ({} bytes), {} failed, {} dropped",
            dir.display(),
            g("docs_accounted"),
            g("docs_written_total"),
            g("output_bytes"),
            g("docs_failed"),
            g("docs_dropped"),
        );
        outln!(
            "{:<16} {:>10} {:>10} {:>8} {:>8}",
            "stage",
            "in",
            "out",
            "failed",
            "dropped"
        );
        for s in &stages {
            let n = |k: &str| s.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            outln!(
                "{:<16} {:>10} {:>10} {:>8} {:>8}",
                s["name"].as_str().unwrap_or("?"),
                n("docs_in"),
                n("docs_out"),
                n("failed"),
                n("dropped")
            );
        }
        if !missing.is_empty() {
            outln!("ranks without stats: {}", ranges(&missing));
        }
    }
    Ok(ExitCode::SUCCESS)
}
