//! The subcommands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use pipeline_core::{metrics::Outcome, CancelToken, Registry, Runner};

use crate::progress::Progress;
use crate::ConfigArgs;

/// Every built-in stage, source and sink kind.
pub fn registry() -> Registry {
    let mut reg = Registry::new();
    textpipe_io::register(&mut reg);
    textpipe_stages::register(&mut reg);
    reg
}

/// The `--set` list with `--input`/`--output` turned into overrides.
fn overrides(args: &ConfigArgs) -> Result<Vec<String>> {
    let mut sets = args.sets.clone();
    let quote = |p: &str| -> Result<String> {
        let abs = if p == "-" {
            p.to_string()
        } else {
            std::path::absolute(p)
                .with_context(|| format!("bad path {p}"))?
                .display()
                .to_string()
        };
        Ok(toml::Value::String(abs).to_string())
    };
    if let Some(i) = &args.input {
        sets.push(format!("source.path={}", quote(i)?));
    }
    if let Some(o) = &args.output {
        let text = std::fs::read_to_string(&args.config).unwrap_or_default();
        let kind = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("sink")?.get("kind")?.as_str().map(String::from));
        let key = if kind.as_deref() == Some("txt-dir") {
            "dir"
        } else {
            "path"
        };
        sets.push(format!("sink.{key}={}", quote(o)?));
    }
    Ok(sets)
}

fn load(args: &ConfigArgs, reg: &Registry) -> Result<pipeline_core::Plan> {
    let sets = overrides(args)?;
    pipeline_core::load(&args.config, &sets, reg).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `textpipe run`.
pub fn run(args: &ConfigArgs, metrics_json: Option<&Path>, quiet: bool) -> Result<ExitCode> {
    let reg = registry();
    let plan = load(args, &reg)?;
    let runner = Runner::new(plan)?;
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        let mut hits = 0u32;
        let _ = ctrlc::set_handler(move || {
            hits += 1;
            if hits == 1 {
                eprintln!(
                    "\ninterrupt: finishing documents in flight (press Ctrl-C again to abort)"
                );
                cancel.cancel();
            } else {
                std::process::exit(130);
            }
        });
    }
    let report = {
        let _progress = Progress::start(runner.metrics(), !quiet);
        runner.run(&cancel)
    };
    if !quiet {
        eprint!("{}", report.table());
    }
    if let Some(p) = metrics_json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, json).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(match report.outcome {
        Outcome::Completed => ExitCode::SUCCESS,
        Outcome::Interrupted => ExitCode::from(130),
        Outcome::Failed(m) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    })
}

/// `textpipe check`.
pub fn check(args: &ConfigArgs) -> Result<ExitCode> {
    let reg = registry();
    let plan = load(args, &reg)?;
    print!("{}", plan.describe());
    println!("config OK");
    Ok(ExitCode::SUCCESS)
}

/// `textpipe stages`.
pub fn stages(only: Option<&str>) -> Result<ExitCode> {
    let reg = registry();
    let mut out = String::new();
    let mut section =
        |title: &str, items: Vec<(&str, &str, toml::Table, &[pipeline_core::OptionDoc])>| {
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
                    let help = docs.iter().find(|d| d.name == k).map_or("", |d| d.help);
                    out.push_str(&format!("      {k} = {v}\n"));
                    if !help.is_empty() {
                        out.push_str(&format!("          {help}\n"));
                    }
                }
            }
            out.push('\n');
        };
    section(
        "STAGES ([[stage]] kind = …; options go in [stage.options])",
        reg.stages()
            .map(|f| (f.kind(), f.about(), f.default_options(), f.option_docs()))
            .collect(),
    );
    section(
        "SOURCES ([source] kind = …)",
        reg.sources()
            .map(|f| (f.kind(), f.about(), f.default_options(), f.option_docs()))
            .collect(),
    );
    section(
        "SINKS ([sink] kind = …)",
        reg.sinks()
            .map(|f| (f.kind(), f.about(), f.default_options(), f.option_docs()))
            .collect(),
    );
    if out.is_empty() {
        anyhow::bail!(
            "no stage, source or sink kind named `{}`",
            only.unwrap_or("")
        );
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
