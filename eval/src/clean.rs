//! `eval clean`: the seeds' line labels, or benchmark pages (trafilatura's with/without
//! snippets, WCXB's whole main text and page types), and the pages as training data for
//! the content model (`textpipe train clean`, `eval clean --folds`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipeline_core::{Document, Stage};
use rustc_hash::FxHashSet;
use serde_json::{json, Value};
use textpipe_stages::clean::model::ContentModel;
use textpipe_stages::clean::train::{choose_words, inner_fold, TrainPage, INNER_FOLDS};
use textpipe_stages::clean::vocab::{learn::learn, Vocab};
use textpipe_stages::clean::{CleanOptions, Cleaner};

use crate::score::{self, Prf};
use crate::{gold_files, pct, read_jsonl, run_chain, s, strings, EvalError, Report, Stages};

/// One benchmark page with its gold.
#[derive(Debug, Clone)]
pub struct Page {
    /// Record id.
    pub id: String,
    /// The site (WCXB `domain`, else the URL's host): folds never split a site.
    pub domain: String,
    /// WCXB page type (`article`, `forum`, …); `page` where the gold has none.
    pub page_type: String,
    /// Page URL, if given.
    pub url: Option<String>,
    /// The raw page bytes (gunzipped).
    pub raw: Vec<u8>,
    /// Snippets the main text must contain.
    pub with: Vec<String>,
    /// Snippets it must not contain.
    pub without: Vec<String>,
    /// The whole main text (WCXB), if given.
    pub main_text: Option<String>,
    /// Page metadata gold (`title`, `author`, `date`), where the benchmark has it.
    pub meta: [Option<String>; 3],
}

/// The host of a URL (`https://www.x.de/a` → `x.de`).
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let h = rest.split(['/', '?', '#']).next().unwrap_or("");
    h.trim_start_matches("www.").to_ascii_lowercase()
}

/// Reads a page file, decompressed if it is (WCXB ships `.html.gz`), as the sources do.
fn read_page(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    textpipe_io::compress::read_all(f, 0)?
        .map_err(|n| std::io::Error::other(format!("{n} bytes: over the size limit")))
}

/// Reads the pages of benchmark gold files (`html_file` relative to the gold's `html/`
/// directory). Records need `html_file` and a gold: `with`/`without` snippets or `clean`.
/// A page file that cannot be read, or no pages at all, is an error that names the file.
pub fn read_pages(golds: &[PathBuf]) -> Result<Vec<Page>, EvalError> {
    let mut pages = Vec::new();
    for gold in gold_files(golds, "jsonl")? {
        let err = |m: String| EvalError::Gold {
            path: gold.display().to_string(),
            message: m,
        };
        let base = gold.parent().unwrap_or(Path::new(".")).join("html");
        for (i, r) in read_jsonl(&gold)?.iter().enumerate() {
            let file = s(r, "html_file");
            let (with, without) = (strings(&r["with"]), strings(&r["without"]));
            let main_text = r["clean"].as_str().map(String::from);
            if file.is_empty() || (with.is_empty() && without.is_empty() && main_text.is_none()) {
                return Err(err(format!(
                    "record {} (`{}`) has no `html_file` or no gold (`with`/`without` snippets or `clean` text): not a clean benchmark file",
                    i + 1,
                    s(r, "id")
                )));
            }
            let path = base.join(file);
            let raw = read_page(&path).map_err(|e| EvalError::Gold {
                path: path.display().to_string(),
                message: format!("page of record {} (`{}`): {e}", i + 1, s(r, "id")),
            })?;
            let url = r["url"].as_str().map(String::from);
            let domain = match r["domain"].as_str() {
                Some(d) => d.to_ascii_lowercase(),
                None => url
                    .as_deref()
                    .map(host)
                    .unwrap_or_else(|| s(r, "id").into()),
            };
            pages.push(Page {
                id: s(r, "id").into(),
                domain,
                page_type: r["page_type"].as_str().unwrap_or("page").into(),
                url,
                raw,
                with,
                without,
                main_text,
                meta: ["title", "author", "date"].map(|k| {
                    r[k].as_str()
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(String::from)
                }),
            });
        }
    }
    if pages.is_empty() {
        return Err(EvalError::Gold {
            path: golds
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            message: "no pages to score".into(),
        });
    }
    Ok(pages)
}

/// WCXB's page score: lower-cased `\w+` tokens as multisets, (P, R, F1). An empty gold
/// scores 1 only for an empty prediction.
pub fn word_prf(pred: &str, gold: &str) -> (f64, f64, f64) {
    let toks = |t: &str| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for w in word_tokens(t) {
            *m.entry(w).or_insert(0) += 1;
        }
        m
    };
    let (p, g) = (toks(pred), toks(gold));
    let (np, ng): (usize, usize) = (p.values().sum(), g.values().sum());
    if ng == 0 {
        let f = if np == 0 { 1.0 } else { 0.0 };
        return (f, f, f);
    }
    if np == 0 {
        return (0.0, 0.0, 0.0);
    }
    let overlap: usize = p
        .iter()
        .map(|(w, n)| (*n).min(*g.get(w).unwrap_or(&0)))
        .sum();
    let (pr, re) = (overlap as f64 / np as f64, overlap as f64 / ng as f64);
    let f = if overlap == 0 {
        0.0
    } else {
        2.0 * pr * re / (pr + re)
    };
    (pr, re, f)
}

/// Figures over a set of pages: with/without counts and WCXB's per-page means.
#[derive(Debug, Default, Clone)]
pub struct PageScores {
    /// Pages scored.
    pub pages: usize,
    /// With/without snippet counts over the pages.
    pub snippets: Prf,
    /// Pages with a whole main-text gold.
    pub word_pages: usize,
    /// Sums of per-page word P, R, F1 (divide by `word_pages`).
    pub word_sum: [f64; 3],
}

/// One page's figures: its with/without counts and, where it has a main-text gold, its
/// word (P, R, F1).
#[derive(Debug, Clone, Copy)]
struct PageFigures {
    snippets: Prf,
    word: Option<[f64; 3]>,
}

impl PageFigures {
    fn of(page: &Page, text: &str) -> Self {
        PageFigures {
            snippets: score::with_without(text, &page.with, &page.without),
            word: page.main_text.as_ref().map(|g| {
                let (p, r, f) = word_prf(text, g);
                [p, r, f]
            }),
        }
    }
}

impl PageScores {
    fn add(&mut self, fig: PageFigures) {
        self.pages += 1;
        self.snippets.add(fig.snippets);
        if let Some(w) = fig.word {
            self.word_pages += 1;
            for (sum, x) in self.word_sum.iter_mut().zip(w) {
                *sum += x;
            }
        }
    }

    /// Mean word (P, R, F1) over the pages with a main-text gold.
    pub fn word(&self) -> [f64; 3] {
        let n = self.word_pages.max(1) as f64;
        self.word_sum.map(|x| x / n)
    }

    fn json(&self) -> Value {
        let w = self.word();
        let mut j = json!({"pages": self.pages,
            "snippets": {"precision": self.snippets.precision(), "recall": self.snippets.recall(), "f1": self.snippets.f1(), "counts": self.snippets}});
        if self.word_pages > 0 {
            j["word"] = json!({"precision": w[0], "recall": w[1], "f1": w[2]});
        }
        j
    }

    fn line(&self, label: &str) -> String {
        let mut l = format!("  {label:<16} {:>5} pages", self.pages);
        if self.word_pages > 0 {
            let w = self.word();
            l.push_str(&format!(
                "  word P {} R {} F1 {}",
                pct(w[0]),
                pct(w[1]),
                pct(w[2])
            ));
        }
        if self.snippets.tp + self.snippets.fn_ + self.snippets.fp > 0 {
            l.push_str(&format!(
                "  with/without P {} R {} F1 {}",
                pct(self.snippets.precision()),
                pct(self.snippets.recall()),
                pct(self.snippets.f1())
            ));
        }
        l.push('\n');
        l
    }
}

/// Scores of one run over pages: HTML overall, per page type, and as plain-text dumps.
#[derive(Debug, Default, Clone)]
pub struct Scores {
    /// The HTML pages through decode and clean.
    pub html: PageScores,
    /// Per page type (HTML).
    pub by_type: BTreeMap<String, PageScores>,
    /// The same pages as plain-text dumps (one block per line).
    pub dump: PageScores,
    /// Each HTML page with a main-text gold: id, page type, word P, R, F1 (worst first
    /// in the JSON), so a reader can see which pages fail.
    pub per_page: Vec<(String, String, [f64; 3])>,
}

impl Scores {
    /// Scores the HTML page `page` cleaned to `text`, overall and under its page type.
    fn add_html(&mut self, page: &Page, text: &str) {
        let fig = PageFigures::of(page, text);
        self.html.add(fig);
        if let Some(w) = fig.word {
            self.per_page
                .push((page.id.clone(), page.page_type.clone(), w));
        }
        self.by_type
            .entry(page.page_type.clone())
            .or_default()
            .add(fig);
    }

    /// Adds the scores of `other`.
    pub fn merge(&mut self, other: &Scores) {
        fn m(a: &mut PageScores, b: &PageScores) {
            a.pages += b.pages;
            a.snippets.add(b.snippets);
            a.word_pages += b.word_pages;
            for i in 0..3 {
                a.word_sum[i] += b.word_sum[i];
            }
        }
        m(&mut self.html, &other.html);
        m(&mut self.dump, &other.dump);
        for (t, s) in &other.by_type {
            m(self.by_type.entry(t.clone()).or_default(), s);
        }
        self.per_page.extend(other.per_page.iter().cloned());
    }

    /// The figures as JSON.
    pub fn json(&self) -> Value {
        let types: serde_json::Map<String, Value> = self
            .by_type
            .iter()
            .map(|(t, s)| (t.clone(), s.json()))
            .collect();
        let mut pages = self.per_page.clone();
        pages.sort_by(|a, b| a.2[2].total_cmp(&b.2[2]).then(a.0.cmp(&b.0)));
        let pages: Vec<Value> = pages
            .iter()
            .map(|(id, ty, w)| json!({"id": id, "page_type": ty, "precision": w[0], "recall": w[1], "f1": w[2]}))
            .collect();
        json!({"html": self.html.json(), "page_types": types, "text_dump": self.dump.json(), "per_page": pages})
    }

    /// The figures as text.
    pub fn text(&self) -> String {
        let mut t = self.html.line("html");
        if self.by_type.len() > 1 {
            for (ty, s) in &self.by_type {
                t.push_str(&s.line(&format!("  {ty}")));
            }
        }
        if self.dump.pages > 0 {
            t.push_str(&self.dump.line("text dump"));
        }
        t
    }
}

/// Runs `chain` (decode, clean) over each page as HTML and as a plain-text dump.
pub fn score_pages(
    pages: &[&Page],
    chain: &mut [Box<dyn Stage>],
    dump_chain: &mut [Box<dyn Stage>],
) -> Scores {
    let mut sc = Scores::default();
    for p in pages {
        let mut doc = Document::from_bytes(p.id.clone(), p.raw.clone());
        doc.declared.url = p.url.clone();
        let ok = run_chain(chain, &mut doc);
        let text = if ok { doc.text.as_str() } else { "" };
        sc.add_html(p, text);
        // The same page as a naive scraper would save it: all visible text, one block per line.
        let dump = crate::plain_dump(&p.raw, p.url.as_deref());
        let mut d2 = Document::from_text(p.id.clone(), dump);
        let ok2 = run_chain(dump_chain, &mut d2);
        sc.dump
            .add(PageFigures::of(p, if ok2 { &d2.text } else { "" }));
    }
    sc
}

/// `clean`: line labels (a directory or a `.tsv` of seeds-clean) or benchmark pages (`.jsonl`).
pub fn clean(gold: &Path, stages: &mut Stages) -> Result<Report, EvalError> {
    let mut chain = stages.chain("clean", &["decode", "clean"], &[])?;
    let pages_gold = gold.extension().is_some_and(|e| e == "jsonl")
        || (gold.is_dir() && !gold_files(&[gold.to_path_buf()], "jsonl")?.is_empty());
    if pages_gold {
        let pages = read_pages(&[gold.to_path_buf()])?;
        let mut dump_chain = stages.chain("clean", &["decode", "clean"], &[])?;
        let refs: Vec<&Page> = pages.iter().collect();
        let sc = score_pages(&refs, &mut chain, &mut dump_chain);
        let text = format!("clean on {}:\n{}", gold.display(), sc.text());
        let mut json = sc.json();
        json["task"] = "clean".into();
        json["gold"] = gold.display().to_string().into();
        return Ok(Report { json, text });
    }
    let files = gold_files(&[gold.to_path_buf()], "tsv")?;
    if files.is_empty() {
        return Err(EvalError::Gold {
            path: gold.display().to_string(),
            message: "no line-label files (*.tsv) to score".into(),
        });
    }
    let mut prf = Prf::default();
    let mut lost_k = Vec::new();
    let mut kept_d = Vec::new();
    for f in &files {
        let seeds = f
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .map(|p| p.join("seeds"))
            .unwrap_or_default();
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let raw =
            std::fs::read(seeds.join(format!("{name}.txt"))).map_err(|e| EvalError::Gold {
                path: seeds.join(format!("{name}.txt")).display().to_string(),
                message: e.to_string(),
            })?;
        let mut doc = Document::from_bytes(name.clone(), raw);
        run_chain(&mut chain, &mut doc);
        let labels = std::fs::read_to_string(f).map_err(|e| EvalError::Gold {
            path: f.display().to_string(),
            message: e.to_string(),
        })?;
        let (p, lost, kept) =
            score::line_labels(&doc.text, labels.lines().filter_map(|l| l.split_once('\t')));
        prf.add(p);
        lost_k.extend(lost.iter().map(|l| format!("{name}: {l}")));
        kept_d.extend(kept.iter().map(|l| format!("{name}: {l}")));
    }
    let mut text = format!(
        "clean on {}: kept-line P {} R {} F1 {} (K kept {}, D kept {}, K lost {})\n",
        gold.display(),
        pct(prf.precision()),
        pct(prf.recall()),
        pct(prf.f1()),
        prf.tp,
        prf.fp,
        prf.fn_
    );
    for l in lost_k.iter().take(20) {
        text.push_str(&format!("  K lost: {l}\n"));
    }
    for l in kept_d.iter().take(20) {
        text.push_str(&format!("  D kept: {l}\n"));
    }
    Ok(Report {
        json: json!({"task": "clean", "gold": gold, "precision": prf.precision(), "recall": prf.recall(), "f1": prf.f1(), "counts": prf, "k_lost": lost_k, "d_kept": kept_d}),
        text,
    })
}

/// Lower-cased `\w+` tokens, as WCXB's metric reads them.
fn word_tokens(t: &str) -> Vec<String> {
    t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A block is content when at least this share of its word trigrams is in the gold main
/// text (the oracle's keep/drop and the word odds' labels).
const CONTENT_SHARE: f32 = 0.5;

/// What a page's gold says about its blocks.
enum BlockGold {
    /// The whole main text: its token trigrams, its lines (tokens joined by spaces) and the
    /// whole text as tokens joined, padded with spaces.
    Main {
        trigrams: FxHashSet<u64>,
        lines: FxHashSet<String>,
        joined: String,
    },
    /// With/without snippets, white space squashed.
    Snippets {
        with: Vec<String>,
        without: Vec<String>,
    },
}

fn trigram(t: &[String]) -> u64 {
    crate::lang::key_hash(&t.join(" "))
}

impl BlockGold {
    fn of(p: &Page) -> Self {
        match &p.main_text {
            Some(g) => {
                let toks = word_tokens(g);
                BlockGold::Main {
                    trigrams: toks.windows(3).map(trigram).collect(),
                    lines: g
                        .lines()
                        .map(|l| word_tokens(l).join(" "))
                        .filter(|l| !l.is_empty())
                        .collect(),
                    joined: format!(" {} ", toks.join(" ")),
                }
            }
            None => BlockGold::Snippets {
                with: p.with.iter().map(|w| score::squash(w)).collect(),
                without: p.without.iter().map(|w| score::squash(w)).collect(),
            },
        }
    }

    /// Content, boilerplate or unknown; and the block's token count.
    fn label(&self, text: &str) -> (Option<bool>, usize) {
        let (s, n) = self.share(text);
        (s.map(|s| s >= CONTENT_SHARE), n)
    }

    /// The share of a block's text that is content (unknown when the gold does not say);
    /// and the block's token count.
    fn share(&self, text: &str) -> (Option<f32>, usize) {
        let toks = word_tokens(text);
        if toks.is_empty() {
            return (None, 0);
        }
        let label = match self {
            BlockGold::Main {
                trigrams,
                lines,
                joined,
            } => {
                if toks.len() >= 3 {
                    let hits = toks
                        .windows(3)
                        .filter(|w| trigrams.contains(&trigram(w)))
                        .count();
                    let share = hits as f32 / (toks.len() - 2) as f32;
                    Some(share)
                } else {
                    let line = toks.join(" ");
                    Some(f32::from(u8::from(
                        lines.contains(&line)
                            || (toks.len() == 2 && joined.contains(&format!(" {line} "))),
                    )))
                }
            }
            BlockGold::Snippets { with, without } => {
                let t = score::squash(text);
                let hit = |ss: &[String]| {
                    ss.iter()
                        .any(|w| t.contains(w.as_str()) || (t.len() >= 20 && w.contains(&t)))
                };
                match (hit(with), hit(without)) {
                    (true, false) => Some(1.0),
                    (false, true) => Some(0.0),
                    _ => None,
                }
            }
        };
        (label, toks.len())
    }
}

/// A page decoded once, with its gold: what training and cross-validation share.
pub struct Decoded<'a> {
    /// The page and its gold.
    pub page: &'a Page,
    /// The document after decode.
    pub doc: Document,
}

/// Decodes every page once (default decode options).
pub fn decode_pages(pages: &[Page]) -> Vec<Decoded<'_>> {
    use textpipe_stages::decode::{DecodeOptions, Decoder};
    let mut dec = Decoder::new(DecodeOptions::default());
    pages
        .iter()
        .map(|p| {
            let mut doc = Document::from_bytes(p.id.clone(), p.raw.clone());
            doc.declared.url = p.url.clone();
            if dec.process(&mut doc).is_err() {
                doc.blocks.clear();
            }
            Decoded { page: p, doc }
        })
        .collect()
}

/// Each page's labelled blocks weigh this much together, so that every page counts the
/// same, as in WCXB's macro mean (cross-validated against weights by words alone: WCXB
/// 0.840 → 0.845, collection 0.583 → 0.621, trafilatura pages 0.940 → 0.943). Square root
/// of a page's total weight was in between (0.844).
const PAGE_WEIGHT: f32 = 100.0;

/// Each block's label from the page's gold and its word count.
fn block_labels(d: &Decoded<'_>) -> Vec<(Option<f32>, usize)> {
    let gold = BlockGold::of(d.page);
    d.doc.blocks.iter().map(|b| gold.share(&b.text)).collect()
}

fn site(d: &Decoded<'_>) -> u64 {
    crate::lang::key_hash(&d.page.domain)
}

/// The content model's training pages: each block's features (from `cleaner`'s rules and
/// the word odds `vocab` gives for the page) and its label from the gold, weighted by the
/// square root of its words, scaled so that each page's labelled blocks weigh
/// [`PAGE_WEIGHT`] together.
pub fn train_pages<'v>(
    pages: &[&Decoded<'_>],
    labels: &[Vec<(Option<f32>, usize)>],
    cleaner: &Cleaner,
    words: &[String],
    vocab: impl Fn(&Decoded<'_>) -> &'v Vocab,
) -> Vec<TrainPage> {
    pages
        .iter()
        .zip(labels)
        .map(|(d, ls)| {
            let (features, layout) = cleaner.training_features(&d.doc, words, vocab(d));
            let (labels, mut weights): (Vec<Option<f32>>, Vec<f32>) =
                ls.iter().map(|&(l, n)| (l, (n as f32).sqrt())).unzip();
            let total: f32 = (labels.iter().zip(&weights))
                .filter(|(l, _)| l.is_some())
                .map(|(_, w)| w)
                .sum();
            let scale = PAGE_WEIGHT / total.max(1.0);
            weights.iter_mut().for_each(|w| *w *= scale);
            TrainPage {
                features,
                labels,
                weights,
                layout,
                site: site(d),
            }
        })
        .collect()
}

/// Word odds learnt from the labelled blocks of `pages` whose inner fold is not `skip`.
fn learn_vocab(
    pages: &[&Decoded<'_>],
    labels: &[Vec<(Option<f32>, usize)>],
    skip: Option<u64>,
) -> Vocab {
    let blocks = pages
        .iter()
        .zip(labels)
        .filter(|(d, _)| skip != Some(inner_fold(site(d))))
        .flat_map(|(d, ls)| {
            (d.doc.blocks.iter().zip(ls)).filter_map(move |(b, (l, _))| {
                l.map(|l| (site(d), b.text.as_str(), l >= CONTENT_SHARE))
            })
        });
    learn(blocks)
}

/// Trains the content model on the pages `keep` selects. Each training page's word odds
/// come from the pages outside its inner fold, so the model learns how far to trust them
/// on words it has not seen on the page's site.
pub fn train_model(pages: &[Decoded<'_>], keep: impl Fn(&Page) -> bool) -> ContentModel {
    let rules = Cleaner::with_model(CleanOptions::default(), None);
    let chosen: Vec<&Decoded<'_>> = pages.iter().filter(|d| keep(d.page)).collect();
    let words = choose_words(chosen.iter().map(|d| (site(d), &d.doc.blocks[..])));
    let labels: Vec<_> = chosen.iter().map(|d| block_labels(d)).collect();
    let inner: Vec<Vocab> = (0..INNER_FOLDS)
        .map(|k| learn_vocab(&chosen, &labels, Some(k)))
        .collect();
    let tp = train_pages(&chosen, &labels, &rules, &words, |d| {
        &inner[inner_fold(site(d)) as usize]
    });
    ContentModel::train(words, learn_vocab(&chosen, &labels, None), &tp)
}

/// Scores decoded pages cleaned by `cleaner` (HTML only).
fn score_decoded(pages: &[&Decoded<'_>], cleaner: &mut Cleaner) -> Scores {
    let mut sc = Scores::default();
    for d in pages {
        let mut doc = d.doc.clone();
        let ok = matches!(cleaner.process(&mut doc), Ok(pipeline_core::Outcome::Keep));
        let text = if ok { doc.text.as_str() } else { "" };
        sc.add_html(d.page, text);
    }
    sc
}

/// What a perfect keep/drop decision over decode's blocks would score: the blocks the gold
/// labels content, joined. The ceiling the content model works under.
fn score_oracle(pages: &[&Decoded<'_>]) -> Scores {
    let mut sc = Scores::default();
    for d in pages {
        let gold = BlockGold::of(d.page);
        let kept: Vec<&str> = (d.doc.blocks.iter())
            .filter(|b| gold.label(&b.text).0 == Some(true))
            .map(|b| b.text.as_str())
            .collect();
        sc.add_html(d.page, &kept.join("\n\n"));
    }
    sc
}

/// `eval clean --folds K`: folds by site over the gold files' pages, less a tenth of the
/// sites set aside; each fold scored by a model trained on the others, then the set-aside
/// tenth by a model trained on all the rest. Beside them, the rules alone on the same pages.
pub fn clean_cv(golds: &[PathBuf], folds: usize) -> Result<Report, EvalError> {
    clean_folds(golds, folds, None)
}

/// [`clean_cv`] over fold `only` alone (and no set-aside check) when given: what a test
/// can afford.
pub fn clean_folds(
    golds: &[PathBuf],
    folds: usize,
    only: Option<usize>,
) -> Result<Report, EvalError> {
    if folds < 2 {
        return Err(EvalError::Gold {
            path: "--folds".into(),
            message: format!("needs at least 2 folds, got {folds}"),
        });
    }
    let pages = read_pages(golds)?;
    let decoded = decode_pages(&pages);
    let held = |p: &Page| crate::lang::held_out(&p.domain);
    let fold = |p: &Page| crate::lang::fold_of(&p.domain, folds);
    let opts = CleanOptions {
        duplicates: textpipe_stages::clean::Policy::Keep,
        ..CleanOptions::default()
    };
    let mut rules = Cleaner::with_model(opts.clone(), None);
    let mut cv = Scores::default();
    let mut cv_rules = Scores::default();
    let mut oracle = Scores::default();
    for k in (0..folds).filter(|k| only.is_none_or(|o| o == *k)) {
        let model = train_model(&decoded, |p| !held(p) && fold(p) != k);
        let test: Vec<&Decoded<'_>> = (decoded.iter())
            .filter(|d| !held(d.page) && fold(d.page) == k)
            .collect();
        let mut c = Cleaner::with_model(opts.clone(), Some(std::sync::Arc::new(model)));
        cv.merge(&score_decoded(&test, &mut c));
        cv_rules.merge(&score_decoded(&test, &mut rules));
        oracle.merge(&score_oracle(&test));
    }
    let names: Vec<String> = golds.iter().map(|g| g.display().to_string()).collect();
    if only.is_some() {
        return Ok(Report {
            json: json!({"task": "clean", "gold": names, "folds": folds, "only": only,
                "cv": cv.json(), "cv_rules": cv_rules.json()}),
            text: format!(
                "fold {only:?}, model:\n{}fold {only:?}, rules alone:\n{}",
                cv.text(),
                cv_rules.text()
            ),
        });
    }
    let model = train_model(&decoded, |p| !held(p));
    let test: Vec<&Decoded<'_>> = decoded.iter().filter(|d| held(d.page)).collect();
    let mut c = Cleaner::with_model(opts, Some(std::sync::Arc::new(model)));
    let last = score_decoded(&test, &mut c);
    let last_rules = score_decoded(&test, &mut rules);
    let text = format!(
        "clean on {} ({folds} folds by site; a tenth of the sites set aside):\n\
         cross-validated, model:\n{}cross-validated pages, rules alone:\n{}\
         perfect keep/drop of decode's blocks (the ceiling), same pages:\n{}\
         set-aside tenth, model trained on the rest:\n{}set-aside tenth, rules alone:\n{}",
        names.join(", "),
        cv.text(),
        cv_rules.text(),
        oracle.text(),
        last.text(),
        last_rules.text(),
    );
    Ok(Report {
        json: json!({"task": "clean", "gold": names, "folds": folds,
            "cv": cv.json(), "cv_rules": cv_rules.json(), "oracle": oracle.json(),
            "held_out": last.json(), "held_out_rules": last_rules.json()}),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_scores_follow_wcxb() {
        let (p, r, f) = word_prf("The cat, the hat.", "the cat sat");
        assert!(
            (p - 0.5).abs() < 1e-9 && (r - 2.0 / 3.0).abs() < 1e-9,
            "{p} {r}"
        );
        assert!((f - 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(word_prf("", ""), (1.0, 1.0, 1.0));
        assert_eq!(word_prf("x", "").2, 0.0);
        assert_eq!(word_prf("", "x").2, 0.0);
        assert_eq!(host("https://www.Spiegel.de/a?b"), "spiegel.de");
    }
}
