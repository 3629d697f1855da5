//! The subcommands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use pipeline_core::{metrics::Outcome, CancelToken, Plan, Registry, Runner};

use crate::progress::Progress;
use crate::ConfigArgs;

pub use textpipe::registry;

fn absolute(p: &str) -> Result<String> {
    if p == "-" {
        return Ok(p.to_string());
    }
    Ok(std::path::absolute(p)
        .with_context(|| format!("bad path {p}"))?
        .display()
        .to_string())
}

/// True for a file name of JSON Lines, also compressed (`x.jsonl`, `x.ndjson.gz`).
fn jsonl_name(path: &str) -> bool {
    let p = Path::new(path);
    matches!(
        textpipe_io::compress::inner_extension(p),
        Some("jsonl" | "ndjson")
    )
}

/// The `[source]` that `--input PATH` makes of the configured one: the same kind and
/// options with `path` replaced (`-` is stdin for every kind). Only a `files` source given
/// a JSON Lines file becomes a `jsonl` source (with its default fields), and a config
/// without a source gets one by the name: `jsonl` for `.jsonl`/`.ndjson`, else `files`.
fn input_source(configured: Option<&toml::Table>, input: &str) -> Result<toml::Table> {
    let path = if input == "-" {
        "-".to_string()
    } else {
        absolute(input)?
    };
    let kind = configured.and_then(|t| t.get("kind")?.as_str());
    let mut t = match (kind, jsonl_name(input)) {
        (Some("files"), true) | (None, true) => {
            let mut t = toml::Table::new();
            t.insert("kind".into(), "jsonl".into());
            t
        }
        (None, false) => {
            let mut t = toml::Table::new();
            t.insert("kind".into(), "files".into());
            t
        }
        (Some(_), _) => configured.cloned().unwrap_or_default(),
    };
    t.insert("path".into(), path.into());
    Ok(t)
}

/// Loads the config with `--input` (the configured `[source]` with its path replaced, see
/// [`input_source`]), `--output` and `--set` applied.
pub fn load(args: &ConfigArgs, reg: &Registry) -> Result<Plan> {
    let origin = args.config.display().to_string();
    let mut text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read config file {origin}"))?;
    if let Some(input) = &args.input {
        let parsed = text.parse::<toml::Table>().ok();
        let configured = parsed.as_ref().and_then(|t| t.get("source")?.as_table());
        let t = input_source(configured, input)?;
        text = pipeline_core::config::replace_section(&origin, &text, "source", &t)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut sets = args.sets.clone();
    if let Some(o) = &args.output {
        let kind = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("sink")?.get("kind")?.as_str().map(String::from));
        let key = if kind.as_deref() == Some("txt-dir") {
            "dir"
        } else {
            "path"
        };
        sets.push(format!("sink.{key}={}", toml::Value::String(absolute(o)?)));
    }
    pipeline_core::config::load_text(&args.config, &text, &sets, reg)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `textpipe run`.
pub fn run(args: &ConfigArgs, metrics_json: Option<&Path>, quiet: bool) -> Result<ExitCode> {
    let reg = registry();
    let plan = load(args, &reg)?;
    let max_failure_rate = plan.settings.max_failure_rate;
    let runner = Runner::new(plan)?;
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let report = {
        let _progress = Progress::start(runner.metrics(), !quiet);
        runner.run(&cancel)
    };
    let broken_pipe = matches!(&report.outcome, Outcome::Failed(m) if m.contains("Broken pipe"));
    if !quiet && !broken_pipe {
        eprint!("{}", report.table());
    }
    if let Some(p) = metrics_json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, json).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(match report.outcome {
        Outcome::Completed => match too_many_failures(&report, max_failure_rate) {
            Some(m) => {
                eprintln!("error: {m}");
                ExitCode::from(1)
            }
            None => ExitCode::SUCCESS,
        },
        Outcome::Interrupted => ExitCode::from(130),
        // stdout closed by the reader (`| head`): stop quietly, as Unix tools do.
        Outcome::Failed(m) if m.contains("Broken pipe") => ExitCode::SUCCESS,
        Outcome::Failed(m) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    })
}

/// Why a completed run still failed: every document failed, or more than `max_rate` of them.
pub fn too_many_failures(
    report: &pipeline_core::RunReport,
    max_rate: Option<f64>,
) -> Option<String> {
    let (read, failed) = (report.docs_read, report.docs_failed);
    if read == 0 || failed == 0 {
        return None;
    }
    let rate = failed as f64 / read as f64;
    if failed == read {
        Some(format!(
            "every document failed ({failed} of {read}); the log and the dead-letter file say why"
        ))
    } else {
        max_rate.filter(|&m| rate > m).map(|m| {
            format!(
                "{failed} of {read} documents failed ({:.1}%), more than max_failure_rate = {m}",
                rate * 100.0
            )
        })
    }
}

/// The first Ctrl-C (or SIGTERM, as a scheduler sends it) finishes the documents in
/// flight; the second aborts.
pub fn cancel_on_ctrl_c(cancel: &CancelToken) {
    let cancel = cancel.clone();
    let mut hits = 0u32;
    let _ = ctrlc::set_handler(move || {
        hits += 1;
        if hits == 1 {
            eprintln!("\ninterrupted: finishing documents in flight (press Ctrl-C again to abort)");
            cancel.cancel();
        } else {
            std::process::exit(130);
        }
    });
}

/// `textpipe check`.
pub fn check(args: &ConfigArgs) -> Result<ExitCode> {
    let reg = registry();
    let plan = load(args, &reg)?;
    out!("{}", plan.describe());
    outln!("config OK");
    Ok(ExitCode::SUCCESS)
}

/// A sink that discards documents (for `bench`).
struct Discard;

impl pipeline_core::Sink for Discard {
    fn write(&mut self, _doc: &pipeline_core::Document) -> Result<(), pipeline_core::SinkError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), pipeline_core::SinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "discard".into()
    }
}

/// `textpipe bench`.
pub fn bench(args: &ConfigArgs, repeat: usize, json: bool) -> Result<ExitCode> {
    let reg = registry();
    let mut reports = Vec::new();
    for i in 0..repeat.max(1) {
        let mut plan = load(args, &reg)?;
        plan.sink = Box::new(Discard);
        let report = Runner::new(plan)?.run(&CancelToken::new());
        if !json {
            eprintln!(
                "run {}/{}: {} docs, {:.1} MB in {:.3}s: {:.0} docs/s, {:.2} MB/s",
                i + 1,
                repeat.max(1),
                report.docs_read,
                report.bytes_read as f64 / 1e6,
                report.elapsed_s,
                report.docs_per_s,
                report.mb_per_s
            );
        }
        reports.push(report);
    }
    let mut by_speed: Vec<f64> = reports.iter().map(|r| r.mb_per_s).collect();
    by_speed.sort_by(f64::total_cmp);
    let median = by_speed[by_speed.len() / 2];
    let last = reports.last().context("no run")?;
    if json {
        let v = serde_json::json!({
            "config": args.config, "repeat": reports.len(), "median_mb_per_s": median,
            "best_mb_per_s": by_speed.last(), "runs": reports,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        out!("{}", last.table());
        outln!(
            "median over {} run(s): {median:.2} MB/s of input; best {:.2} MB/s; peak RSS {}",
            reports.len(),
            by_speed.last().copied().unwrap_or(0.0),
            last.peak_rss_bytes
                .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `textpipe eval`.
pub fn eval(
    task: &str,
    gold: &Path,
    config: Option<&Path>,
    json: bool,
    rouge_stem: bool,
) -> Result<ExitCode> {
    let reg = registry();
    let configured = match config {
        Some(c) => {
            let args = ConfigArgs {
                config: c.to_path_buf(),
                sets: Vec::new(),
                input: None,
                output: None,
            };
            load(&args, &reg)?.stages
        }
        None => Vec::new(),
    };
    let mut stages = textpipe_eval::Stages::new(reg, configured);
    stages.rouge_stem = rouge_stem;
    let report = textpipe_eval::run(task, gold, &mut stages)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report.json)?);
    } else {
        out!("{}", report.text);
    }
    Ok(ExitCode::SUCCESS)
}

/// `textpipe eval clean|lang --folds K`: cross-validated content model or language identification.
pub fn eval_cv(
    task: &str,
    gold: &Path,
    train: &[std::path::PathBuf],
    folds: usize,
    json: bool,
) -> Result<ExitCode> {
    let report = match task {
        "clean" => textpipe_eval::clean::clean_cv(&[gold.to_path_buf()], folds)?,
        "lang" => {
            if train.is_empty() {
                anyhow::bail!(
                    "eval lang --folds needs --train FILE_OR_DIR (the documents to train on)"
                );
            }
            textpipe_eval::lang::lang_cv(gold, train, folds)?
        }
        "mojibake" => textpipe_eval::mojibake::mojibake_cv(&[gold.to_path_buf()], folds)?,
        "metadata" => textpipe_eval::metadata::metadata_cv(&[gold.to_path_buf()], folds)?,
        _ => anyhow::bail!(
            "--folds is supported for `eval clean`, `eval lang`, `eval mojibake` and `eval metadata` only"
        ),
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&report.json)?);
    } else {
        out!("{}", report.text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a model file atomically, creating its directory.
fn write_model(out: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = pipeline_core::atomic::AtomicFile::create(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.commit()?;
    Ok(())
}

/// `textpipe train clean`: trains the content model on every benchmark page.
fn train_clean(train: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    let start = std::time::Instant::now();
    let pages = textpipe_eval::clean::read_pages(train)?;
    let decoded = textpipe_eval::clean::decode_pages(&pages);
    let model = textpipe_eval::clean::train_model(&decoded, |_| true);
    let bytes = model.to_bytes();
    write_model(out, &bytes)?;
    outln!(
        "wrote {} ({:.1} MB) from {} pages in {:.0}s",
        out.display(),
        bytes.len() as f64 / 1e6,
        pages.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe train author|date|title`: the author, date or title model
/// ([`textpipe_eval::metadata::model_text`]).
fn train_meta(what: &str, train: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    use textpipe_eval::metadata::{meta_picks, model_text};
    let pages = textpipe_eval::clean::read_pages(train)?;
    let Some((text, n)) = model_text(&meta_picks(&pages), what) else {
        anyhow::bail!("train {what}: not a metadata model (title, author or date)");
    };
    if n == 0 {
        anyhow::bail!("train {what}: no page in {train:?} has {what} gold");
    }
    write_model(out, text.as_bytes())?;
    outln!("wrote {} from {n} pages with {what} gold", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `textpipe train chars`: the character model mojibake repair asks, from clean text.
fn train_chars(train: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    let records = textpipe_eval::mojibake::read_records(train)?;
    let model = textpipe_eval::mojibake::train_chars(&records.iter().collect::<Vec<_>>());
    let bytes = model.to_bytes();
    write_model(out, &bytes)?;
    let (chars, pairs) = model.size();
    outln!(
        "wrote {} ({:.2} MB: {chars} characters, {pairs} pairs) from {} records",
        out.display(),
        bytes.len() as f64 / 1e6,
        records.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe train idf`: counts the keyword document frequencies of every training document.
fn train_idf(train: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    let docs = textpipe_eval::lang::whole_docs(train)?;
    let table = textpipe_stages::tag::idf::IdfTable::train(
        docs.iter().map(|d| (d.lang.as_str(), d.text.as_str())),
    );
    let bytes = table.to_bytes();
    write_model(out, &bytes)?;
    let sizes: Vec<String> = (table.sizes().into_iter())
        .map(|(l, d, w)| format!("{l} {d}/{w}"))
        .collect();
    outln!(
        "wrote {} ({:.2} MB) from {} documents; documents/words by language: {}",
        out.display(),
        bytes.len() as f64 / 1e6,
        docs.len(),
        sizes.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe train lang`: trains the language model on every training document.
fn train_lang(train: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    let start = std::time::Instant::now();
    let docs = textpipe_eval::lang::training_docs(train)?;
    let model = textpipe_eval::lang::train_on(&docs, |_| true);
    let bytes = model.to_bytes();
    write_model(out, &bytes)?;
    outln!(
        "wrote {} ({:.2} MB: {} languages, {} features) from {} documents in {:.1}s",
        out.display(),
        bytes.len() as f64 / 1e6,
        model.languages().len(),
        model.features(),
        docs.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe gen-corpus`: N varied documents from seed paragraphs (shuffled, numbered).
pub fn gen_corpus(from: &Path, n: usize, out: &Path, seed: u64) -> Result<ExitCode> {
    use std::io::Write;
    let mut paths: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("cannot read {}", from.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let docs: Vec<Vec<String>> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|t| {
            t.split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect();
    anyhow::ensure!(!docs.is_empty(), "no text documents in {}", from.display());
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut f = pipeline_core::atomic::AtomicFile::create(out)?;
    let mut bytes = 0usize;
    for i in 0..n {
        let base = &docs[i % docs.len()];
        let mut paras: Vec<&String> = base.iter().collect();
        // Keep the first paragraph (headline area), shuffle the rest.
        for j in (2..paras.len()).rev() {
            let k = 1 + (next() as usize) % j;
            paras.swap(j, k);
        }
        let mut text = String::new();
        for (j, p) in paras.iter().enumerate() {
            if j > 0 {
                text.push_str("\n\n");
            }
            text.push_str(p);
            if j == 0 {
                text.push_str(&format!(" ({})", i + 1));
            }
        }
        bytes += text.len();
        let line = serde_json::json!({"id": format!("gen-{:06}", i + 1), "text": text});
        serde_json::to_writer(&mut f, &line)?;
        f.write_all(b"\n")?;
    }
    f.commit()?;
    eprintln!(
        "wrote {n} documents ({:.1} MB of text) to {}",
        bytes as f64 / 1e6,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe stages`.
pub fn stages(only: Option<&str>) -> Result<ExitCode> {
    let reg = registry();
    let mut out = String::new();
    let mut section =
        |title: &str, items: Vec<(&str, String, toml::Table, &[pipeline_core::OptionDoc])>| {
            let items: Vec<_> = items
                .into_iter()
                .filter(|(k, ..)| only.is_none_or(|o| o == *k))
                .collect();
            if items.is_empty() {
                return;
            }
            out.push_str(&format!("{title}\n"));
            for (kind, about, defaults, docs) in items {
                out.push_str(&format!("\n  {kind}: {about}\n"));
                for (k, v) in &defaults {
                    let help =
                        (docs.iter().find(|d| d.name == k)).map_or(String::new(), |d| d.text());
                    out.push_str(&format!("      {k} = {v}\n"));
                    if !help.is_empty() {
                        out.push_str(&format!("          {help}\n"));
                    }
                }
                // Documented options without a default (required ones, or free-form keys).
                for d in docs.iter().filter(|d| !defaults.contains_key(d.name)) {
                    out.push_str(&format!("      {}\n          {}\n", d.name, d.text()));
                }
            }
            out.push('\n');
        };
    section(
        "STAGES ([[stage]] kind = …; options go in [stage.options])",
        reg.stages()
            .map(|f| {
                // What the plan adds a stage for: what this one reads and writes.
                let list = |l: &[&str]| l.join(", ").replace('*', "anything");
                let mut about = f.about().to_string();
                if !f.needs().is_empty() {
                    about.push_str(&format!("\n      (reads {}", list(f.needs())));
                    about.push_str(if f.provides().is_empty() { ")" } else { "; " });
                }
                if !f.provides().is_empty() {
                    let open = if f.needs().is_empty() {
                        "\n      ("
                    } else {
                        ""
                    };
                    about.push_str(&format!("{open}writes {})", list(f.provides())));
                }
                (f.kind(), about, f.default_options(), f.option_docs())
            })
            .collect(),
    );
    section(
        "SOURCES ([source] kind = …)",
        reg.sources()
            .map(|f| {
                (
                    f.kind(),
                    f.about().to_string(),
                    f.default_options(),
                    f.option_docs(),
                )
            })
            .collect(),
    );
    section(
        "SINKS ([sink] kind = …)",
        reg.sinks()
            .map(|f| {
                (
                    f.kind(),
                    f.about().to_string(),
                    f.default_options(),
                    f.option_docs(),
                )
            })
            .collect(),
    );
    if out.is_empty() {
        anyhow::bail!(
            "no stage, source or sink kind named `{}`",
            only.unwrap_or("")
        );
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// What `textpipe train` was asked for.
pub struct TrainArgs<'a> {
    /// What to train (`ner`).
    pub what: &'a str,
    /// Training data.
    pub train: &'a [std::path::PathBuf],
    /// Development data.
    pub dev: Option<&'a Path>,
    /// Model file to write.
    pub out: &'a Path,
    /// Unlabelled text for word clusters.
    pub unlabelled: &'a [std::path::PathBuf],
    /// Most epochs.
    pub epochs: usize,
    /// Shuffling seed.
    pub seed: u64,
    /// Models to average.
    pub runs: usize,
}

/// `textpipe train ner`: trains the entity tagger and writes the model file.
pub fn train(a: &TrainArgs) -> Result<ExitCode> {
    use textpipe_stages::tag::ner;
    let TrainArgs {
        what,
        train,
        dev,
        out,
        unlabelled,
        epochs,
        seed,
        runs,
    } = *a;
    if what == "lang" {
        return train_lang(train, out);
    }
    if what == "clean" {
        return train_clean(train, out);
    }
    if what == "chars" {
        return train_chars(train, out);
    }
    if what == "idf" {
        return train_idf(train, out);
    }
    if what == "author" || what == "date" || what == "title" {
        return train_meta(what, train, out);
    }
    if what != "ner" {
        anyhow::bail!(
            "unknown model `{what}`: `ner`, `lang`, `clean`, `chars`, `idf`, `author`, `date` and `title` can be trained"
        );
    }
    let [train] = train else {
        anyhow::bail!("train ner takes one --train file");
    };
    let read = |p: &Path| -> Result<Vec<ner::Example>> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        ner::read_examples(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    };
    let train_ex = read(train)?;
    let dev_ex = dev.map(read).transpose()?.unwrap_or_default();
    eprintln!(
        "training on {} sentences ({} tokens), tuning on {} sentences",
        train_ex.len(),
        train_ex.iter().map(|e| e.tokens.len()).sum::<usize>(),
        dev_ex.len()
    );
    let start = std::time::Instant::now();
    // Unlabelled text for word clusters: the training sentences plus any --unlabelled files
    // (JSONL with a `text` field, or plain text).
    let mut texts: Vec<String> = train_ex.iter().map(|e| e.tokens.join(" ")).collect();
    for p in unlabelled {
        let raw =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let before = texts.len();
        for line in raw.lines() {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => {
                    if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                        texts.push(t.to_string());
                    }
                }
                Err(_) => texts.push(line.to_string()),
            }
        }
        eprintln!(
            "unlabelled text: {} records from {}",
            texts.len() - before,
            p.display()
        );
    }
    // The 40,000 commonest words in 64, 256 and 1024 clusters.
    let clusters = ner::word_clusters(texts.iter().map(String::as_str), 40_000, 8);
    eprintln!(
        "word clusters: {} words in 64/256/1024 clusters ({:.0}s)",
        clusters.len(),
        start.elapsed().as_secs_f64()
    );
    let opts = ner::TrainOptions {
        epochs,
        seed,
        ..Default::default()
    };
    let score = |m: &ner::NerModel| textpipe_eval::ner_f1(m, &dev_ex);
    let dev_score: Option<ner::DevScore<'_>> = (!dev_ex.is_empty()).then_some(&score);
    let model = ner::train_ensemble(&train_ex, dev_score, clusters, &opts, runs, |run, r| {
        eprintln!(
            "run {}/{runs} epoch {:>2}: train tag accuracy {:.4}, dev entity F1 {:.4}  ({:.0}s)",
            run + 1,
            r.epoch,
            r.train_accuracy,
            r.dev_f1,
            start.elapsed().as_secs_f64()
        );
    });
    let bytes = model.to_bytes();
    write_model(out, &bytes)?;
    let reloaded = ner::NerModel::from_bytes(&bytes)?;
    let dev_f1 = if dev_ex.is_empty() {
        String::from("-")
    } else {
        format!("{:.4}", textpipe_eval::ner_f1(&reloaded, &dev_ex))
    };
    outln!(
        "wrote {} ({:.1} MB, {} feature rows) in {:.0}s; dev entity F1 of the written model (gold tokens of our tokenizer): {dev_f1}",
        out.display(),
        bytes.len() as f64 / 1e6,
        reloaded.rows(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `textpipe plugin-host`: loads a native plugin and answers one JSON document per line,
/// as the `exec` protocol asks (every reply carries the document's id).
pub fn plugin_host(lib: &Path, options: &str, name: &str, check: bool) -> Result<ExitCode> {
    use pipeline_core::{Outcome as StageOutcome, StageFactory};
    use std::io::{BufRead, Write};
    let mut table: toml::Table =
        serde_json::from_str(options).context("--options is not a JSON object")?;
    table.insert(
        "path".into(),
        toml::Value::String(lib.display().to_string()),
    );
    let ctx = pipeline_core::BuildContext {
        base_dir: std::path::PathBuf::new(),
        stage_name: name.to_string(),
    };
    let prepared = textpipe_stages::plugin::factory()
        .prepare(table, &ctx)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    if check {
        return Ok(ExitCode::SUCCESS);
    }
    let mut stage = prepared
        .instantiate()
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("cannot read stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let mut doc: pipeline_core::Document =
            serde_json::from_str(&line).context("a line on stdin is not a document")?;
        let id = doc.id.clone();
        let reply = match stage.process(&mut doc) {
            Ok(StageOutcome::Keep) => doc.to_json(&[], false),
            Ok(StageOutcome::Drop { reason }) => serde_json::json!({"id": id, "drop": reason}),
            Err(e) => serde_json::json!({"id": id, "error": e.message}),
        };
        serde_json::to_writer(&mut out, &reply)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
