//! The `textpipe` command line.

mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  textpipe run configs/default.toml                  run the default pipeline on seeds/
  textpipe run configs/default.toml --input corpus/ --output out.jsonl
  textpipe run configs/default.toml --set stage.summarise.sentences=2
  textpipe check configs/default.toml                validate and print the resolved pipeline
  textpipe stages                                    list stage, source and sink kinds
  textpipe eval decode --gold ../shared/eval/decode/ftfy-cases.jsonl
  textpipe eval clean --gold ../shared/gold/seeds-clean/ --config configs/default.toml
  textpipe train ner --train ../shared/eval/ner/germeval2014-train.jsonl \\
                     --dev ../shared/eval/ner/germeval2014-dev.jsonl --out stages/models/ner-de.bin
  textpipe gen-corpus --from seeds/ -n 20000 -o out/corpus.jsonl
  textpipe bench configs/default.toml --input out/corpus.jsonl --repeat 3

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
    /// Read documents from this path instead of the config's source path (file, directory, glob or -).
    #[arg(long, value_name = "PATH")]
    input: Option<String>,
    /// Write output to this path instead of the config's sink path (- for stdout).
    #[arg(long, value_name = "PATH")]
    output: Option<String>,
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
    /// Score a task on a gold file: decode, clean, segment, ner, summarise, lang.
    Eval {
        /// The task: decode | clean | segment | ner | summarise | lang.
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
    /// Train a model from gold data: `textpipe train ner --train FILE --dev FILE --out MODEL`.
    Train {
        /// What to train: ner.
        what: String,
        /// Training data (JSONL as in ../shared/eval/ner/: text and entities in characters).
        #[arg(long)]
        train: PathBuf,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.cmd {
        Cmd::Run {
            config,
            metrics_json,
        } => commands::run(&config, metrics_json.as_deref(), cli.quiet),
        Cmd::Check { config } => commands::check(&config),
        Cmd::Stages { kind } => commands::stages(kind.as_deref()),
        Cmd::Eval {
            task,
            gold,
            config,
            json,
            rouge_stem,
        } => commands::eval(&task, &gold, config.as_deref(), json, rouge_stem),
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
        } => commands::train(
            &what,
            &train,
            dev.as_deref(),
            &out,
            &unlabelled,
            epochs,
            seed,
        ),
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

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,html5ever=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
