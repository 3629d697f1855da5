//! `eval lang`: language identification on gold records (`lang/ud-dev.jsonl`: `lang`, `kind`,
//! `text`; or the seg files, whose paragraphs of 100+ characters are scored), and its
//! cross-validation: models trained on K−1 folds of training documents, scored on the
//! gold records drawn from the held-out fold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pipeline_core::{Document, Stage};
use serde_json::{json, Value};
use textpipe_stages::tag::{langid, TagOptions, Tagger};

use crate::{gold_files, pct, read_jsonl, run_chain, s, EvalError, Report, Stages};

/// One gold text and its language.
struct Gold {
    id: String,
    lang: String,
    /// `paragraph`, `sentence` or `short`.
    kind: String,
    text: String,
}

/// One training document (a JSONL record with `lang` and `text`).
pub struct TrainDoc {
    /// File stem and record id: what folds are drawn by.
    pub key: String,
    /// Its language.
    pub lang: String,
    /// Its text.
    pub text: String,
}

fn gold_err(path: &Path, m: impl Into<String>) -> EvalError {
    EvalError::Gold {
        path: path.display().to_string(),
        message: m.into(),
    }
}

/// Records with `kind` are taken as they are; records without (the seg files) give their
/// paragraphs of 100+ characters as kind `paragraph`.
fn read_gold(path: &Path) -> Result<Vec<Gold>, EvalError> {
    let rows = read_jsonl(path)?;
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (lang, text) = (s(r, "lang"), s(r, "text"));
        if lang.is_empty() || text.is_empty() {
            return Err(gold_err(
                path,
                format!("line {}: a record needs `lang` and `text`", i + 1),
            ));
        }
        let id = r["id"]
            .as_str()
            .map_or_else(|| format!("line{}", i + 1), String::from);
        match r["kind"].as_str() {
            Some(kind) => out.push(Gold {
                id,
                lang: lang.into(),
                kind: kind.into(),
                text: text.into(),
            }),
            None => {
                for (j, p) in textpipe_stages::segment::Segmenter::paragraphs(text)
                    .iter()
                    .enumerate()
                {
                    let para = &text[p.start..p.end];
                    if para.chars().count() >= 100 {
                        out.push(Gold {
                            id: format!("{id}#{j}"),
                            lang: lang.into(),
                            kind: "paragraph".into(),
                            text: para.into(),
                        });
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(gold_err(path, "no gold text to score"));
    }
    Ok(out)
}

/// [`training_docs`], with consecutive records of one `doc_id` (CoNLL-2003's sentences of
/// one article) joined into one document: what document frequencies count.
pub fn whole_docs(paths: &[PathBuf]) -> Result<Vec<TrainDoc>, EvalError> {
    let files = gold_files(paths, "jsonl")?;
    let mut docs: Vec<TrainDoc> = Vec::new();
    for f in &files {
        let mut last = String::new();
        for r in read_jsonl(f)? {
            let (lang, text, doc) = (s(&r, "lang"), s(&r, "text"), s(&r, "doc_id"));
            if lang.is_empty() || text.is_empty() {
                continue;
            }
            match docs.last_mut() {
                Some(d) if !doc.is_empty() && doc == last && d.lang == lang => {
                    d.text.push('\n');
                    d.text.push_str(text);
                }
                _ => docs.push(TrainDoc {
                    key: format!("{}/{}", f.display(), s(&r, "id")),
                    lang: lang.into(),
                    text: text.into(),
                }),
            }
            last = doc.to_string();
        }
    }
    if docs.is_empty() {
        return Err(EvalError::Gold {
            path: format!("{files:?}"),
            message: "no record with `lang` and `text` to count".into(),
        });
    }
    Ok(docs)
}

/// Training documents from JSONL files (a directory: its `*.jsonl` files, sorted); records
/// without `lang` or `text` are skipped.
pub fn training_docs(paths: &[PathBuf]) -> Result<Vec<TrainDoc>, EvalError> {
    let files = gold_files(paths, "jsonl")?;
    let mut docs = Vec::new();
    for f in &files {
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, r) in read_jsonl(f)?.iter().enumerate() {
            let (lang, text) = (s(r, "lang"), s(r, "text"));
            if lang.is_empty() || text.is_empty() {
                continue;
            }
            let id = r["id"]
                .as_str()
                .map_or_else(|| format!("line{}", i + 1), String::from);
            docs.push(TrainDoc {
                key: format!("{stem}/{id}"),
                lang: lang.into(),
                text: text.into(),
            });
        }
    }
    if docs.is_empty() {
        return Err(EvalError::Gold {
            path: format!("{files:?}"),
            message: "no record with `lang` and `text` to train on".into(),
        });
    }
    Ok(docs)
}

/// Stable hash of a key (FNV-1a), which folds and the held-out part are drawn from.
pub(crate) fn key_hash(key: &str) -> u64 {
    pipeline_core::stable_hash(key.as_bytes())
}

/// Whether a site (or document key) is in the last tenth by hash: set aside before tuning,
/// never trained on, scored apart.
pub(crate) fn held_out(key: &str) -> bool {
    key_hash(key) % 10 == 9
}

pub(crate) fn fold_of(key: &str, folds: usize) -> usize {
    ((key_hash(key) / 10) % folds as u64) as usize
}

/// Accuracy tallies: per kind, per (kind, language), and confusions.
#[derive(Default)]
struct Tally {
    kind: BTreeMap<String, (usize, usize)>,
    kind_lang: BTreeMap<(String, String), (usize, usize)>,
    confusions: BTreeMap<(String, String), usize>,
    wrong: Vec<Value>,
}

impl Tally {
    fn add(&mut self, g: &Gold, got: &str) {
        let ok = got == g.lang;
        let e = self.kind.entry(g.kind.clone()).or_default();
        e.0 += usize::from(ok);
        e.1 += 1;
        let e = self
            .kind_lang
            .entry((g.kind.clone(), g.lang.clone()))
            .or_default();
        e.0 += usize::from(ok);
        e.1 += 1;
        if !ok {
            *self
                .confusions
                .entry((g.lang.clone(), got.to_string()))
                .or_default() += 1;
            if self.wrong.len() < 30 {
                self.wrong.push(
                    json!({"id": g.id, "kind": g.kind, "want": g.lang, "got": got,
                    "text": g.text.chars().take(120).collect::<String>()}),
                );
            }
        }
    }

    fn acc(p: (usize, usize)) -> f64 {
        p.0 as f64 / p.1.max(1) as f64
    }

    fn kinds_json(&self) -> Value {
        self.kind
            .iter()
            .map(|(k, &p)| {
                (
                    k.clone(),
                    json!({"correct": p.0, "texts": p.1, "accuracy": Self::acc(p)}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn kinds_line(&self) -> String {
        self.kind
            .iter()
            .map(|(k, &p)| format!("{k} {} ({}/{})", pct(Self::acc(p)), p.0, p.1))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Text: accuracy per kind, a language × kind table, the commonest confusions.
    fn text(&self) -> String {
        let mut t = format!("  accuracy: {}\n", self.kinds_line());
        let kinds: Vec<&String> = self.kind.keys().collect();
        let mut langs: Vec<&String> = self.kind_lang.keys().map(|(_, l)| l).collect();
        langs.sort();
        langs.dedup();
        t.push_str(&format!("  {:<6}", "lang"));
        for k in &kinds {
            t.push_str(&format!(" {k:>10}"));
        }
        t.push('\n');
        for l in langs {
            t.push_str(&format!("  {l:<6}"));
            for k in &kinds {
                match self.kind_lang.get(&((*k).clone(), l.clone())) {
                    Some(&p) => t.push_str(&format!(" {:>10}", pct(Self::acc(p)))),
                    None => t.push_str(&format!(" {:>10}", "-")),
                }
            }
            t.push('\n');
        }
        let mut conf: Vec<_> = self.confusions.iter().collect();
        conf.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        if !conf.is_empty() {
            let top: Vec<String> = conf
                .iter()
                .take(12)
                .map(|((w, g), n)| format!("{w}→{g} {n}"))
                .collect();
            t.push_str(&format!("  confusions (gold→got): {}\n", top.join(", ")));
        }
        t
    }

    fn json(&self) -> Value {
        let per: BTreeMap<String, Value> = self
            .kind_lang
            .iter()
            .map(|((k, l), &p)| (format!("{k}/{l}"), json!(Self::acc(p))))
            .collect();
        let conf: BTreeMap<String, usize> = self
            .confusions
            .iter()
            .map(|((w, g), n)| (format!("{w}->{g}"), *n))
            .collect();
        json!({"per_kind": self.kinds_json(), "per_kind_language": per, "confusions": conf, "wrong": self.wrong})
    }
}

/// `eval lang` with the configured (or default) tag stage.
pub fn lang(gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    let mut chain = stages.chain("lang", &["tag"], &[])?;
    let rows = read_gold(gold)?;
    let mut tally = Tally::default();
    for g in &rows {
        let mut doc = Document::from_text(g.id.as_str(), g.text.as_str());
        run_chain(&mut chain, &mut doc);
        tally.add(g, doc.lang.as_deref().unwrap_or("und"));
    }
    let text = format!("lang on {}:\n{}", gold.display(), tally.text());
    let mut j = tally.json();
    j["task"] = json!("lang");
    j["gold"] = json!(gold);
    Ok(Report { json: j, text })
}

/// A tagger that only detects languages, with `model`.
fn detector(model: langid::LangModel) -> Tagger {
    let o = TagOptions {
        keywords: 0,
        entities: false,
        ..TagOptions::default()
    };
    Tagger::with_lang_model(o, Arc::new(model))
}

/// Trains a model on `docs` (those `keep` accepts).
pub fn train_on(docs: &[TrainDoc], keep: impl Fn(&TrainDoc) -> bool) -> langid::LangModel {
    langid::train(
        docs.iter()
            .filter(|d| keep(d))
            .map(|d| (d.lang.as_str(), d.text.as_str())),
        &langid::TrainOptions::default(),
    )
}

/// `eval lang --folds K --train …`: K-fold cross-validation by training document, then
/// the last check on the held-out tenth.
pub fn lang_cv(gold: &Path, train: &[PathBuf], folds: usize) -> Result<Report, EvalError> {
    if folds < 2 {
        return Err(gold_err(gold, "--folds needs 2 or more"));
    }
    let rows = read_gold(gold)?;
    let docs = training_docs(train)?;
    // A gold text belongs to the training document it was cut from (same language, its
    // text inside), so no document is on both sides; texts found in none go by their id.
    let mut by_lang: BTreeMap<&str, Vec<&TrainDoc>> = BTreeMap::new();
    for d in &docs {
        by_lang.entry(d.lang.as_str()).or_default().push(d);
    }
    let keys: Vec<String> = rows
        .iter()
        .map(|g| {
            by_lang
                .get(g.lang.as_str())
                .and_then(|ds| ds.iter().find(|d| d.text.contains(g.text.as_str())))
                .map_or_else(|| g.id.clone(), |d| d.key.clone())
        })
        .collect();
    let mut cv = Tally::default();
    for f in 0..folds {
        let model = train_on(&docs, |d| !held_out(&d.key) && fold_of(&d.key, folds) != f);
        let mut t = detector(model);
        for (g, k) in rows.iter().zip(&keys) {
            if held_out(k) || fold_of(k, folds) != f {
                continue;
            }
            cv.add(g, &detect(&mut t, g));
        }
    }
    let model = train_on(&docs, |d| !held_out(&d.key));
    let mut t = detector(model);
    let mut last = Tally::default();
    for (g, k) in rows.iter().zip(&keys) {
        if held_out(k) {
            last.add(g, &detect(&mut t, g));
        }
    }
    let mut text = format!(
        "lang, {folds}-fold cross-validation by training document ({} documents from {} file(s)), on {}:\n{}",
        docs.len(),
        train.len(),
        gold.display(),
        cv.text()
    );
    text.push_str(&format!(
        "held-out tenth (never tuned on; model trained on the other nine tenths): {}\n",
        last.kinds_line()
    ));
    let gaps: Vec<String> = cv
        .kind
        .iter()
        .filter_map(|(k, &p)| {
            last.kind
                .get(k)
                .map(|&q| format!("{k} {:+.3}", Tally::acc(q) - Tally::acc(p)))
        })
        .collect();
    text.push_str(&format!(
        "  gap (held-out − cross-validated): {}\n",
        gaps.join(", ")
    ));
    Ok(Report {
        json: json!({"task": "lang", "gold": gold, "folds": folds, "cross_validated": cv.json(), "held_out": last.json()}),
        text,
    })
}

fn detect(t: &mut Tagger, g: &Gold) -> String {
    let mut doc = Document::from_text(g.id.as_str(), g.text.as_str());
    match t.process(&mut doc) {
        Ok(_) => doc.lang.unwrap_or_else(|| "und".into()),
        Err(_) => "und".into(),
    }
}
