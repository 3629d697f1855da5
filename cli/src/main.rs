//! The `textpipe` command line.

/// Writes to stdout like `print!`; if the reader has gone (`textpipe eval … | head`), the
/// process ends quietly with status 0 instead of panicking, as Unix tools do. Used by the
/// commands that only report; `run` writes through its sink, which reports the error.
macro_rules! out {
    ($($t:tt)*) => { $crate::write_stdout(format_args!($($t)*)) };
}

/// `out!` with a newline.
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($t:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}

mod commands;
mod dedup;
mod progress;
mod shard;
mod slurm;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See [`out!`].
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

const EXAMPLES: &str = "\
Examples:
  textpipe run configs/default.toml                  run the default pipeline on seeds/
  textpipe run configs/default.toml --input corpus/ --output out.jsonl
  textpipe run configs/default.toml --set stage.summarise.sentences=2
  textpipe run news.toml --input crawl.warc.gz        a config with [source] kind = \"warc\"
  textpipe run configs/default.toml --input pages.jsonl.zst --set sink.format=\"lean\"
  textpipe check configs/default.toml                validate and print the resolved pipeline
  textpipe stages                                    list stage, source and sink kinds
  textpipe eval decode --gold ../shared/eval/decode/ftfy-cases.jsonl
  textpipe eval clean --gold ../shared/gold/seeds-clean/ --config configs/default.toml
  textpipe train ner --train ../shared/eval/ner/germeval2014-train.jsonl \\
                     --dev ../shared/eval/ner/germeval2014-dev.jsonl --out stages/models/ner-de.bin
  textpipe train lang --train ../shared/eval/seg/ --out stages/models/lang.bin
  textpipe eval lang --gold ../shared/eval/lang/ud-dev.jsonl --folds 5 --train ../shared/eval/seg/
  textpipe eval clean --gold ../shared/eval/clean/ --folds 5
  textpipe train chars --train ../shared/eval/seg/ --out stages/models/chars.bin
  textpipe eval mojibake --gold ../shared/eval/seg/ --folds 5
  textpipe eval metadata --gold ../shared/eval/clean/   page title, author and date
  textpipe eval metadata --gold ../shared/eval/clean/ --folds 5   title, author and date models, cross-validated
  textpipe train author --train ../shared/eval/clean/ --out stages/models/author.txt
  textpipe train date --train ../shared/eval/clean/ --out stages/models/date.txt
  textpipe train title --train ../shared/eval/clean/ --out stages/models/title.txt
  textpipe train idf --train ../shared/eval/seg/ --train ../shared/eval/summ/ \\
                     --train ../shared/eval/ner/conll2003-train.jsonl --out stages/models/idf.bin
  textpipe gen-corpus --from seeds/ -n 20000 -o out/corpus.jsonl
  textpipe bench configs/default.toml --input out/corpus.jsonl --repeat 3
  textpipe run configs/default.toml --input corpus/ --output-dir out/job --rank 0 --world-size 4
  textpipe dedup index out/job && textpipe dedup apply out/job   after every rank: duplicates across ranks

Relative paths inside a config file resolve against the config file's directory;
paths given on the command line resolve against the current directory.
Logs go to stderr (RUST_LOG or -v to control them); data goes to stdout or files.";

/// textpipe: turn raw web and news documents into clean, segmented, tagged and summarised
/// text, through a pipeline of stages described in TOML.
#[derive(Parser)]
#[command(name = "textpipe", version, about, after_help = EXAMPLES)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress bar and no report table.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct ConfigArgs {
    /// The pipeline config (TOML).
    config: PathBuf,
    /// Override a config value: stage.NAME.KEY=VALUE, pipeline.KEY=VALUE, source.KEY=VALUE, sink.KEY=VALUE.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Read documents from this path instead of the config's source path (file, directory,
    /// glob or - for stdin); the source's kind and options stay (a `files` source given a
    /// .jsonl file reads it as JSON Lines). gzip, zstd, bzip2 and xz input is decompressed.
    #[arg(long, value_name = "PATH")]
    input: Option<String>,
    /// Write output to this path instead of the config's sink path (- for stdout).
    #[arg(long, value_name = "PATH")]
    output: Option<String>,
}

/// The steps of `textpipe dedup`, run after every rank of a sharded job has completed.
#[derive(Subcommand)]
enum DedupStep {
    /// Cluster the ranks' signatures (DIR/signatures/): exact duplicates and documents whose
    /// MinHash signatures agree on at least --threshold of their values; keep the first of
    /// each cluster by the job's input order; list the others in DIR/dedup/removed.jsonl.
    Index {
        /// The job's output directory.
        dir: PathBuf,
        /// Estimated Jaccard similarity (5-word shingles) from which documents are near-duplicates.
        #[arg(long, default_value_t = 0.8)]
        threshold: f32,
        /// Only this LSH band (0–15), as a task of its own: its near-duplicate pairs go to
        /// DIR/dedup/bands/; the run without --band then joins them (and computes any missing).
        #[arg(long)]
        band: Option<usize>,
    },
    /// Drop the listed duplicates from each rank's output, or with --flag set their
    /// meta.duplicate_of (atomically; a second run changes nothing); list them in
    /// DIR/dedup/{rank}.removed.txt and count them in the rank's stats.
    Apply {
        /// The job's output directory.
        dir: PathBuf,
        /// Only this rank (a task of its own); default: every rank.
        #[arg(long)]
        rank: Option<usize>,
        /// Keep the duplicates, with `meta.duplicate_of` naming the kept document, instead
        /// of dropping them.
        #[arg(long)]
        flag: bool,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a pipeline.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Write the run's metrics (per-stage counts, timings, failures) as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        metrics_json: Option<PathBuf>,
        /// Run as one task of a sharded, resumable job writing into DIR: {rank:05}.jsonl,
        /// completions/, stats/, logs/. Running it again skips a completed rank and resumes
        /// an interrupted one from its last checkpoint.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// This task's rank (default: SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or SLURM_PROCID).
        #[arg(long)]
        rank: Option<usize>,
        /// Number of tasks (default: SLURM_ARRAY_TASK_COUNT or SLURM_NTASKS).
        #[arg(long)]
        world_size: Option<usize>,
        /// Added to the rank (default: TEXTPIPE_RANK_OFFSET, else 0), for arrays split into chunks.
        #[arg(long)]
        rank_offset: Option<usize>,
        /// With --output-dir: sync the output and save a checkpoint every N documents.
        #[arg(long, default_value_t = 200)]
        checkpoint_every: u64,
        /// With --output-dir: compress the task's output with zstd ({rank:05}.jsonl.zst).
        #[arg(long)]
        zstd: bool,
    },
    /// Remove duplicates across a whole sharded job: `index` clusters the signatures every
    /// task wrote, `apply` drops all but the first of each cluster from the ranks' outputs.
    Dedup {
        #[command(subcommand)]
        step: DedupStep,
    },
    /// Show which ranks of a sharded job (its --output-dir) are done, started or missing.
    Status {
        /// The job's output directory.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sum the per-task stats of a sharded job into one report.
    MergeStats {
        /// The job's output directory.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write (and with --submit, submit) a Slurm job-array script that runs a sharded job.
    Slurm {
        /// The pipeline config (TOML).
        config: PathBuf,
        /// Number of tasks (shards).
        #[arg(long)]
        tasks: usize,
        /// The job's output directory (also where the script is written).
        #[arg(long)]
        output_dir: PathBuf,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per task, e.g. 02:00:00.
        #[arg(long)]
        time: Option<String>,
        /// CPUs per task.
        #[arg(long)]
        cpus_per_task: Option<usize>,
        /// The cluster's MaxArraySize: more tasks are submitted as several arrays with rank offsets.
        #[arg(long, default_value_t = 1000)]
        max_array_size: usize,
        /// Config overrides passed to every task (KEY=VALUE, as for run).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Compress each task's output with zstd.
        #[arg(long)]
        zstd: bool,
        /// Submit the arrays with sbatch.
        #[arg(long)]
        submit: bool,
        /// With --submit: wait until the arrays have finished (sbatch --wait).
        #[arg(long)]
        wait: bool,
        /// Also write DIR/textpipe-dedup.sbatch (`dedup index`, then `dedup apply`) and, with
        /// --submit, submit it to run after every array succeeded (--dependency=afterok).
        #[arg(long)]
        dedup: bool,
    },
    /// Validate a config and print the resolved pipeline, without reading any document.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List every stage, source and sink kind with its options and defaults.
    Stages {
        /// Only this kind.
        kind: Option<String>,
    },
    /// Score a task on a gold file: decode, clean, metadata, segment, ner, summarise, lang.
    Eval {
        /// The task: decode | mojibake | clean | metadata | segment | ner | summarise | lang.
        /// `mojibake` breaks the gold's sentences (e.g. ../shared/eval/seg/) through wrong code
        /// pages and scores the repair; `metadata` scores the title, author and date decode reads
        /// from the benchmark pages (e.g. ../shared/eval/clean/).
        task: String,
        /// Gold file (or, for clean, the seeds-clean directory). Formats: ../shared/eval/README.md.
        #[arg(long)]
        gold: PathBuf,
        /// Take stage options from this pipeline config (default: each stage's defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// summarise: stem tokens (Snowball) before computing ROUGE.
        #[arg(long)]
        rouge_stem: bool,
        /// Cross-validate instead. lang: train on K−1 folds of the --train documents (folds
        /// by document), score the gold texts cut from the held-out fold. clean: train the
        /// content model on K−1 folds of the --gold pages (a directory of benchmark JSONL,
        /// e.g. ../shared/eval/clean/; folds by site), score the held-out fold. mojibake:
        /// train the character model on K−1 folds of the --gold records, repair mojibake
        /// made from the held-out fold. All then score the tenth set aside for a last check.
        #[arg(long)]
        folds: Option<usize>,
        /// lang with --folds: training documents (JSONL with `lang` and `text`; a directory
        /// means its *.jsonl files), e.g. ../shared/eval/seg/. Repeatable.
        #[arg(long)]
        train: Vec<PathBuf>,
    },
    /// Measure a pipeline's speed: per stage and in total, docs/s, MB/s, busy share, peak memory.
    Bench {
        #[command(flatten)]
        config: ConfigArgs,
        /// Run the pipeline this many times (the median is reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a model from gold data: `textpipe train ner --train FILE --dev FILE --out MODEL`,
    /// `textpipe train lang --train ../shared/eval/seg/ --out stages/models/lang.bin`.
    Train {
        /// What to train: ner (entity tagger), lang (language model), clean (content model),
        /// chars (the character model mojibake repair asks), idf (keyword document
        /// frequencies per language), author, date or title (the models that pick a
        /// page's author, date and title among its candidates).
        what: String,
        /// Training data. ner: one JSONL file as in ../shared/eval/ner/ (text and entities in
        /// characters). lang: JSONL files with `lang` and `text` (a directory means its
        /// *.jsonl files); repeatable. clean: benchmark JSONL with `html_file` and gold
        /// (`clean` text or `with`/`without` snippets), e.g. ../shared/eval/clean/. chars:
        /// JSONL with `lang` and `sentences` or `text`, e.g. ../shared/eval/seg/. idf: JSONL
        /// documents with `lang` and `text`, e.g. ../shared/eval/seg/ and ../shared/eval/summ/.
        #[arg(long, required = true)]
        train: Vec<PathBuf>,
        /// Development data, same format: the epoch with the best entity F1 on it is kept.
        #[arg(long)]
        dev: Option<PathBuf>,
        /// Where to write the model (e.g. stages/models/ner-de.bin).
        #[arg(long)]
        out: PathBuf,
        /// Unlabelled text for word clusters (JSONL with `text`, or plain text); repeatable.
        #[arg(long)]
        unlabelled: Vec<PathBuf>,
        /// Most passes over the training data.
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// Seed of the shuffling (training is deterministic for a seed).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Train this many models (seeds SEED, SEED+1, …) and average them into one.
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// Serve a native plugin over stdin/stdout as an `exec` child: what a plugin stage with
    /// `isolate = true` starts (not for direct use).
    #[command(hide = true)]
    PluginHost {
        /// The plugin library.
        lib: PathBuf,
        /// The plugin's options, as JSON.
        #[arg(long, default_value = "{}")]
        options: String,
        /// The stage's name in the config (for messages).
        #[arg(long, default_value = "plugin")]
        name: String,
        /// Load the plugin and check its options, then exit.
        #[arg(long)]
        check: bool,
    },
    /// Write N varied documents (seed paragraphs shuffled and numbered) as JSONL, for benchmarks.
    GenCorpus {
        /// Directory of text documents to draw paragraphs from.
        #[arg(long, default_value = "seeds")]
        from: PathBuf,
        /// Number of documents.
        #[arg(short, long, default_value_t = 20_000)]
        n: usize,
        /// Output JSONL file.
        #[arg(short, long)]
        out: PathBuf,
        /// Random seed (the output is deterministic for a given seed).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// The command line: one `match` arm per subcommand, each a call (long only because there are
/// many).
fn main() -> ExitCode {
    let cli = Cli::parse();
    // A task of a sharded job logs to its own file; everything else to stderr.
    let task = match &cli.cmd {
        Cmd::Run {
            output_dir,
            rank,
            world_size,
            rank_offset,
            ..
        } => match shard::resolve(*rank, *world_size, *rank_offset, output_dir.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                init_logging(cli.verbose, None);
                eprintln!("{e:#}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    init_logging(cli.verbose, task.as_ref().map(|t| t.log_file()));
    let result = match cli.cmd {
        Cmd::Run {
            config,
            checkpoint_every,
            zstd,
            ..
        } if task.is_some() => match &task {
            Some(t) => shard::run_task(&config, t, checkpoint_every, zstd, cli.quiet),
            None => unreachable!("guarded by task.is_some()"),
        },
        Cmd::Run {
            config,
            metrics_json,
            ..
        } => commands::run(&config, metrics_json.as_deref(), cli.quiet),
        Cmd::Status { dir, json } => shard::status(&dir, json),
        Cmd::Dedup {
            step:
                DedupStep::Index {
                    dir,
                    threshold,
                    band,
                },
        } => dedup::index(&dir, threshold, band),
        Cmd::Dedup {
            step: DedupStep::Apply { dir, rank, flag },
        } => dedup::apply(&dir, rank, flag),
        Cmd::PluginHost {
            lib,
            options,
            name,
            check,
        } => commands::plugin_host(&lib, &options, &name, check),
        Cmd::MergeStats { dir, json } => shard::merge_stats(&dir, json),
        Cmd::Slurm {
            config,
            tasks,
            output_dir,
            partition,
            time,
            cpus_per_task,
            max_array_size,
            sets,
            zstd,
            submit,
            wait,
            dedup,
        } => slurm::slurm(&slurm::SlurmArgs {
            config: &config,
            tasks,
            output_dir: &output_dir,
            partition: partition.as_deref(),
            time: time.as_deref(),
            cpus_per_task,
            max_array_size,
            sets: &sets,
            zstd,
            submit,
            wait,
            dedup,
        }),
        Cmd::Check { config } => commands::check(&config),
        Cmd::Stages { kind } => commands::stages(kind.as_deref()),
        Cmd::Eval {
            task,
            gold,
            config,
            json,
            rouge_stem,
            folds,
            train,
        } => match folds {
            Some(k) => commands::eval_cv(&task, &gold, &train, k, json),
            None => commands::eval(&task, &gold, config.as_deref(), json, rouge_stem),
        },
        Cmd::Bench {
            config,
            repeat,
            json,
        } => commands::bench(&config, repeat, json),
        Cmd::Train {
            what,
            train,
            dev,
            out,
            unlabelled,
            epochs,
            seed,
            runs,
        } => commands::train(&commands::TrainArgs {
            what: &what,
            train: &train,
            dev: dev.as_deref(),
            out: &out,
            unlabelled: &unlabelled,
            epochs,
            seed,
            runs,
        }),
        Cmd::GenCorpus { from, n, out, seed } => commands::gen_corpus(&from, n, &out, seed),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8, file: Option<PathBuf>) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,html5ever=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let log = file.and_then(|p| {
        let opened = p
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)
            });
        match opened {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!(
                    "cannot open log file {}: {e}; logging to stderr",
                    p.display()
                );
                None
            }
        }
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match log {
        Some(f) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}
