//! `textpipe eval`: run the stages a task needs over a gold file and score them.
//!
//! Tasks: `decode` (ftfy cases), `clean` (seeds line labels or trafilatura with/without
//! snippets), `segment` (UD treebanks, golden rules), `ner` (GermEval/CoNLL), `summarise`
//! (Klexikon, with lead-N and random-N baselines), `lang` (UD texts by kind, or paragraphs of the seg files; cross-validated with `--folds`).
#![warn(missing_docs)]

pub mod clean;
pub mod lang;
pub mod metadata;
pub mod mojibake;
pub mod score;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipeline_core::config::StageSpec;
use pipeline_core::{BuildContext, Document, Outcome, Registry, Stage};
use serde_json::{json, Value};

use score::Prf;

/// What can go wrong before scoring starts.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The stage a task needs is not built into this textpipe (yet).
    #[error(
        "task `{task}` needs the `{kind}` stage, which this build of textpipe does not have yet"
    )]
    StageMissing {
        /// Task name.
        task: String,
        /// Missing stage kind.
        kind: String,
    },
    /// The gold file could not be read or parsed.
    #[error("{path}: {message}")]
    Gold {
        /// File.
        path: String,
        /// Problem.
        message: String,
    },
    /// A stage could not be built.
    #[error("stage `{0}`: {1}")]
    Stage(String, String),
    /// Unknown task name.
    #[error("unknown task `{0}` (tasks: decode, mojibake, clean, segment, ner, summarise, lang)")]
    UnknownTask(String),
}

/// A task's result: figures as JSON and as readable text.
#[derive(Debug, Clone)]
pub struct Report {
    /// Machine-readable figures.
    pub json: Value,
    /// Human-readable summary.
    pub text: String,
}

/// Where stage instances come from: a config's stages (by kind) or the kinds' defaults.
pub struct Stages {
    /// Stem tokens before ROUGE (Snowball, by the record's language; default off).
    pub rouge_stem: bool,
    registry: Registry,
    configured: Vec<StageSpec>,
    overrides: BTreeMap<String, toml::Table>,
}

impl Stages {
    /// Stages with default options (plus those of `configured`, which win by kind).
    pub fn new(registry: Registry, configured: Vec<StageSpec>) -> Self {
        Stages {
            rouge_stem: false,
            registry,
            configured,
            overrides: BTreeMap::new(),
        }
    }

    /// Forces options for `kind` (used by tasks that need a fixed setting, e.g. 3 sentences).
    pub fn set_options(&mut self, kind: &str, options: toml::Table) {
        self.overrides.insert(kind.to_string(), options);
    }

    /// True if the registry knows `kind`.
    pub fn has(&self, kind: &str) -> bool {
        self.registry.stage(kind).is_some() || self.configured.iter().any(|s| s.kind == kind)
    }

    /// One instance of the stage of `kind`.
    pub fn instance(&self, task: &str, kind: &str) -> Result<Box<dyn Stage>, EvalError> {
        let prepare_default = |opts: toml::Table| -> Result<Box<dyn Stage>, EvalError> {
            let f = self
                .registry
                .stage(kind)
                .ok_or_else(|| EvalError::StageMissing {
                    task: task.into(),
                    kind: kind.into(),
                })?;
            let ctx = BuildContext {
                base_dir: ".".into(),
                stage_name: kind.into(),
            };
            let p = f
                .prepare(opts, &ctx)
                .map_err(|e| EvalError::Stage(kind.into(), e.to_string()))?;
            p.instantiate()
                .map_err(|e| EvalError::Stage(kind.into(), e.message))
        };
        if let Some(o) = self.overrides.get(kind) {
            let mut merged = self
                .configured
                .iter()
                .find(|s| s.kind == kind)
                .map(|s| s.resolved_options.clone())
                .unwrap_or_default();
            for (k, v) in o {
                merged.insert(k.clone(), v.clone());
            }
            return prepare_default(merged);
        }
        if let Some(s) = self.configured.iter().find(|s| s.kind == kind) {
            return s
                .prepared
                .instantiate()
                .map_err(|e| EvalError::Stage(kind.into(), e.message));
        }
        prepare_default(toml::Table::new())
    }

    /// Instances for a chain of kinds; kinds in `optional` are left out when unavailable.
    pub fn chain(
        &self,
        task: &str,
        kinds: &[&str],
        optional: &[&str],
    ) -> Result<Vec<Box<dyn Stage>>, EvalError> {
        let mut v = Vec::new();
        for k in kinds {
            match self.instance(task, k) {
                Ok(s) => v.push(s),
                Err(EvalError::StageMissing { .. }) if optional.contains(k) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(v)
    }
}

/// Runs a document through stages; `false` if a stage failed or dropped it.
fn run_chain(stages: &mut [Box<dyn Stage>], doc: &mut Document) -> bool {
    for s in stages.iter_mut() {
        match s.process(doc) {
            Ok(Outcome::Keep) => {}
            _ => return false,
        }
    }
    true
}

fn read_jsonl(path: &Path) -> Result<Vec<Value>, EvalError> {
    let gold_err = |m: String| EvalError::Gold {
        path: path.display().to_string(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| gold_err(e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| gold_err(format!("line {}: {e}", i + 1))))
        .collect()
}

/// The files `paths` name: a file as it is, a directory as its files ending in `.ext`,
/// sorted.
fn gold_files(paths: &[PathBuf], ext: &str) -> Result<Vec<PathBuf>, EvalError> {
    let mut files = Vec::new();
    for p in paths {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| EvalError::Gold {
                path: p.display().to_string(),
                message: e.to_string(),
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|f| f.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        files.extend(v);
    }
    Ok(files)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// The strings of a JSON array (empty if it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn pct(x: f64) -> String {
    format!("{:.3}", x)
}

/// Runs `task` on `gold`.
pub fn run(task: &str, gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    match task {
        "decode" => decode(gold),
        "clean" => clean::clean(gold, stages),
        "segment" => segment(gold, stages),
        "ner" => ner(gold, stages),
        "summarise" | "summarize" => summarise(gold, stages),
        "lang" => lang::lang(gold, stages),
        "mojibake" => mojibake::mojibake(&[gold.to_path_buf()]),
        "metadata" => metadata::metadata(&[gold.to_path_buf()]),
        other => Err(EvalError::UnknownTask(other.into())),
    }
}

/// `decode`: exact-match rate on ftfy cases (encoding repair only, as `fixed_encoding`).
fn decode(gold: &Path) -> Result<Report, EvalError> {
    use textpipe_stages::decode::{DecodeOptions, Decoder};
    let dec = Decoder::new(DecodeOptions::repair_only());
    let rows = read_jsonl(gold)?;
    let (mut req, mut req_ok, mut all_ok) = (0, 0, 0);
    let mut altered = Vec::new();
    let mut misses = Vec::new();
    for r in &rows {
        let (broken, want) = (s(r, "broken"), s(r, "fixed_encoding"));
        let mut n = 0;
        let got = dec.repair_text(broken.to_string(), true, &mut n);
        let ok = got == want;
        all_ok += usize::from(ok);
        if s(r, "expect") == "pass" {
            req += 1;
            req_ok += usize::from(ok);
            if !ok {
                misses.push(json!({"id": r["id"], "broken": broken, "got": got, "want": want}));
            }
        }
        if s(r, "category") == "negative" && got != broken {
            altered.push(json!({"id": r["id"], "text": broken, "got": got}));
        }
    }
    let rate = req_ok as f64 / req.max(1) as f64;
    let mut text = format!(
        "decode on {}: {req_ok}/{req} cases that ftfy requires to pass fixed exactly ({}); {all_ok}/{} of all cases; {} correct text(s) altered\n",
        gold.display(),
        pct(rate),
        rows.len(),
        altered.len()
    );
    for a in &altered {
        text.push_str(&format!(
            "  ALTERED {}: {} → {}\n",
            a["id"], a["text"], a["got"]
        ));
    }
    for m in &misses {
        text.push_str(&format!(
            "  miss {}: {} → {} (want {})\n",
            m["id"], m["broken"], m["got"], m["want"]
        ));
    }
    Ok(Report {
        json: json!({"task": "decode", "gold": gold, "required": req, "required_fixed": req_ok, "rate": rate, "all_fixed": all_ok, "cases": rows.len(), "correct_altered": altered, "misses": misses}),
        text,
    })
}

/// `segment`: boundary P/R/F1 over all records, plus the exact pass rate (golden rules).
fn segment(gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    let mut chain = stages.chain("segment", &["segment"], &[])?;
    let rows = read_jsonl(gold)?;
    let mut prf = Prf::default();
    let mut prf_exact = Prf::default();
    let mut any_exact_field = false;
    let (mut passed, mut failures) = (0usize, Vec::new());
    for r in &rows {
        let text = s(r, "text");
        let gold_s: Vec<&str> = r["sentences"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut doc = Document::from_text(s(r, "id"), text);
        doc.lang = r["lang"].as_str().map(String::from);
        run_chain(&mut chain, &mut doc);
        let pred: Vec<&str> = doc
            .sentences
            .iter()
            .filter_map(|sp| sp.slice(&doc.text))
            .collect();
        let p = score::boundary_prf(text, &gold_s, &pred);
        prf.add(p);
        any_exact_field |= r.get("exact").is_some();
        if r["exact"].as_bool().unwrap_or(true) {
            prf_exact.add(p);
        }
        let same = pred.len() == gold_s.len()
            && pred
                .iter()
                .zip(&gold_s)
                .all(|(a, b)| score::squash(a) == score::squash(b));
        if same {
            passed += 1;
        } else if failures.len() < 30 {
            failures
                .push(json!({"id": r["id"], "group": r["group"], "gold": gold_s, "pred": pred}));
        }
    }
    let rate = passed as f64 / rows.len().max(1) as f64;
    let mut text = format!(
        "segment on {}: boundary P {} R {} F1 {} (tp {}, fp {}, fn {}); {passed}/{} documents segmented exactly (pass rate {})\n",
        gold.display(), pct(prf.precision()), pct(prf.recall()), pct(prf.f1()), prf.tp, prf.fp, prf.fn_, rows.len(), pct(rate)
    );
    if any_exact_field {
        text.push_str(&format!(
            "  on cases whose sentences are exact substrings (exact: true): P {} R {} F1 {}\n",
            pct(prf_exact.precision()),
            pct(prf_exact.recall()),
            pct(prf_exact.f1())
        ));
    }
    for f in failures.iter().take(10) {
        text.push_str(&format!(
            "  miss {} {}:\n    gold {}\n    pred {}\n",
            f["id"], f["group"], f["gold"], f["pred"]
        ));
    }
    Ok(Report {
        json: json!({"task": "segment", "gold": gold, "precision": prf.precision(), "recall": prf.recall(), "f1": prf.f1(), "counts": prf,
            "exact_cases": {"precision": prf_exact.precision(), "recall": prf_exact.recall(), "f1": prf_exact.f1(), "counts": prf_exact},
            "pass_rate": rate, "passed": passed, "documents": rows.len(), "failures": failures}),
        text,
    })
}

/// Byte offset → character offset in `text`.
fn byte_to_char(text: &str) -> impl Fn(usize) -> usize + '_ {
    move |b: usize| text[..b.min(text.len())].chars().count()
}

/// Entity F1 of `model` on gold-tokenised sentences, exact spans and types (conlleval, the
/// scorer of `eval ner`): what `textpipe train ner` picks its best epoch by.
pub fn ner_f1(
    model: &textpipe_stages::tag::ner::NerModel,
    examples: &[textpipe_stages::tag::ner::Example],
) -> f64 {
    use textpipe_stages::tag::ner::{spans_of, TYPES};
    let typed = |s: Vec<(usize, usize, usize)>| -> Vec<(usize, usize, String)> {
        s.into_iter()
            .map(|(a, b, t)| (a, b, TYPES[t].to_string()))
            .collect()
    };
    let mut all = score::Prf::default();
    for ex in examples {
        let toks: Vec<&str> = ex.tokens.iter().map(String::as_str).collect();
        let gold = typed(spans_of(&ex.tags));
        let pred = typed(model.entities(&toks));
        all.add(score::entity_prf(&gold, &pred).0);
    }
    all.f1()
}

/// `ner`: conlleval exact-match P/R/F1 overall and per type, on the project's own tokens.
fn ner(gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    // The gold files say which language each sentence is in (scored apart by `eval lang`);
    // many CoNLL lines are too short to detect. Keywords are not needed here.
    let mut tag = toml::Table::new();
    tag.insert("trust_given_language".into(), true.into());
    tag.insert("keywords".into(), 0.into());
    stages.set_options("tag", tag);
    let mut chain = stages.chain("ner", &["segment", "tag"], &[])?;
    let rows = read_jsonl(gold)?;
    let mut all = Prf::default();
    let mut per: BTreeMap<String, Prf> = BTreeMap::new();
    // Sentences of one article (CoNLL's `doc_id`) are tagged as one document, as a news
    // article would be; each sentence is its own paragraph. Entities are scored per sentence.
    let mut groups: Vec<Vec<&Value>> = Vec::new();
    for r in &rows {
        match (groups.last_mut(), r.get("doc_id").and_then(Value::as_str)) {
            (Some(g), Some(id)) if g[0].get("doc_id").and_then(Value::as_str) == Some(id) => {
                g.push(r)
            }
            _ => groups.push(vec![r]),
        }
    }
    for group in &groups {
        let mut text = String::new();
        let mut starts = Vec::new(); // char offset of each sentence in the joined text
        let mut chars = 0;
        for r in group {
            if !text.is_empty() {
                text.push_str("\n\n");
                chars += 2;
            }
            starts.push(chars);
            let t = s(r, "text");
            text.push_str(t);
            chars += t.chars().count();
        }
        let mut doc = Document::from_text(s(group[0], "id"), text);
        doc.lang = group[0]["lang"].as_str().map(String::from);
        run_chain(&mut chain, &mut doc);
        let german = s(group[0], "lang") == "de";
        let to_char = byte_to_char(&doc.text);
        let mut preds: Vec<Vec<(usize, usize, String)>> = vec![Vec::new(); group.len()];
        for e in &doc.entities {
            let label = if german && e.label == "MISC" {
                "OTH".to_string()
            } else {
                e.label.clone()
            };
            let (a, b) = (to_char(e.span.start), to_char(e.span.end));
            let k = starts.partition_point(|&st| st <= a).saturating_sub(1);
            preds[k].push((a - starts[k], b - starts[k], label));
        }
        for (r, pred) in group.iter().zip(preds) {
            let gold_e: Vec<(usize, usize, String)> = r["entities"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| {
                            Some((
                                e[0].as_u64()? as usize,
                                e[1].as_u64()? as usize,
                                e[2].as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (a, p) = score::entity_prf(&gold_e, &pred);
            all.add(a);
            for (k, v) in p {
                per.entry(k).or_default().add(v);
            }
        }
    }
    let mut text = format!(
        "ner on {}: P {} R {} F1 {} over {} sentences\n",
        gold.display(),
        pct(all.precision()),
        pct(all.recall()),
        pct(all.f1()),
        rows.len()
    );
    for (k, v) in &per {
        text.push_str(&format!(
            "  {k:<5} P {} R {} F1 {} (gold {})\n",
            pct(v.precision()),
            pct(v.recall()),
            pct(v.f1()),
            v.tp + v.fn_
        ));
    }
    let per_json: BTreeMap<&String, Value> = per.iter().map(|(k, v)| (k, json!({"precision": v.precision(), "recall": v.recall(), "f1": v.f1(), "counts": v}))).collect();
    Ok(Report {
        json: json!({"task": "ner", "gold": gold, "precision": all.precision(), "recall": all.recall(), "f1": all.f1(), "counts": all, "per_type": per_json}),
        text,
    })
}

/// `summarise`: ROUGE-1/2/L F1 of 3-sentence summaries beside lead-3 and random-3.
fn summarise(gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    let n = 3usize;
    let mut opts = toml::Table::new();
    opts.insert("sentences".into(), toml::Value::Integer(n as i64));
    stages.set_options("summarise", opts);
    let mut chain = stages.chain("summarise", &["segment", "tag", "summarise"], &["tag"])?;
    let rows = read_jsonl(gold)?;
    let mut sums = [[0f64; 3]; 3]; // system, lead, random × R1, R2, RL
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let stem = stages.rouge_stem;
    let tokens = |text: &str, lang: &str| {
        if stem {
            let alg = if lang == "en" {
                rust_stemmers::Algorithm::English
            } else {
                rust_stemmers::Algorithm::German
            };
            score::rouge_tokens_stemmed(text, &rust_stemmers::Stemmer::create(alg))
        } else {
            score::rouge_tokens(text)
        }
    };
    for r in &rows {
        let mut doc = Document::from_text(s(r, "id"), s(r, "text"));
        doc.lang = Some("de".into());
        doc.meta.insert("title".into(), r["title"].clone());
        run_chain(&mut chain, &mut doc);
        let lang = r["lang"].as_str().unwrap_or("de");
        let reference = tokens(s(r, "summary"), lang);
        let sents: Vec<&str> = doc
            .sentences
            .iter()
            .filter_map(|sp| sp.slice(&doc.text))
            .collect();
        let system = doc
            .summary
            .as_ref()
            .map(|x| x.text.clone())
            .unwrap_or_default();
        let lead = sents.iter().take(n).copied().collect::<Vec<_>>().join(" ");
        let mut idx: Vec<usize> = (0..sents.len()).collect();
        for i in (1..idx.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            idx.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        let mut pick: Vec<usize> = idx.into_iter().take(n).collect();
        pick.sort_unstable();
        let random = pick.iter().map(|&i| sents[i]).collect::<Vec<_>>().join(" ");
        for (k, cand) in [system, lead, random].iter().enumerate() {
            let c = tokens(cand, lang);
            sums[k][0] += score::rouge_n(&reference, &c, 1);
            sums[k][1] += score::rouge_n(&reference, &c, 2);
            sums[k][2] += score::rouge_l(&reference, &c);
        }
    }
    let m = rows.len().max(1) as f64;
    let avg = |k: usize| [sums[k][0] / m, sums[k][1] / m, sums[k][2] / m];
    let (sys, lead, rand) = (avg(0), avg(1), avg(2));
    let text = format!(
        "summarise on {} ({} documents, {n} sentences; ROUGE F1, lower-cased alphanumeric tokens, {})\n  {:<10} R-1 {}  R-2 {}  R-L {}\n  {:<10} R-1 {}  R-2 {}  R-L {}\n  {:<10} R-1 {}  R-2 {}  R-L {}\n",
        gold.display(), rows.len(), if stem { "Snowball-stemmed" } else { "no stemming" },
        "textpipe", pct(sys[0]), pct(sys[1]), pct(sys[2]),
        "lead-3", pct(lead[0]), pct(lead[1]), pct(lead[2]),
        "random-3", pct(rand[0]), pct(rand[1]), pct(rand[2]),
    );
    Ok(Report {
        json: json!({"task": "summarise", "gold": gold, "documents": rows.len(), "sentences": n, "stemmed": stem,
            "textpipe": {"rouge1": sys[0], "rouge2": sys[1], "rougeL": sys[2]},
            "lead": {"rouge1": lead[0], "rouge2": lead[1], "rougeL": lead[2]},
            "random": {"rouge1": rand[0], "rouge2": rand[1], "rougeL": rand[2]}}),
        text,
    })
}

/// All visible text of an HTML page, one block per line: what a naive scraper saves.
pub fn plain_dump(raw: &[u8], url: Option<&str>) -> String {
    use textpipe_stages::decode::{DecodeOptions, Decoder};
    let mut d = Document::from_bytes("dump", raw.to_vec());
    d.declared.url = url.map(String::from);
    let mut dec = Decoder::new(DecodeOptions::default());
    if dec.process(&mut d).is_err() {
        return String::new();
    }
    d.blocks
        .iter()
        .map(|b| b.text.replace('\n', " "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_stage_is_reported_clearly() {
        let mut reg = Registry::new();
        textpipe_stages::register(&mut reg);
        let mut st = Stages::new(reg, Vec::new());
        let dir = std::env::temp_dir().join(format!("tp-eval-{}.jsonl", std::process::id()));
        std::fs::write(
            &dir,
            "{\"id\":\"x\",\"lang\":\"de\",\"text\":\"A\",\"sentences\":[\"A\"]}\n",
        )
        .unwrap();
        match run("no-such-task", &dir, &mut st) {
            Err(EvalError::UnknownTask(t)) => assert_eq!(t, "no-such-task"),
            other => panic!("{:?}", other.map(|r| r.text)),
        }
        if !st.has("segment") {
            let e = run("segment", &dir, &mut st).err().unwrap();
            assert!(e.to_string().contains("needs the `segment` stage"), "{e}");
        }
        let _ = std::fs::remove_file(dir);
    }
}
