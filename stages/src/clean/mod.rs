//! Stage `clean`: keep the article, drop the boilerplate — for plain text (one block per
//! line) and HTML (decode's blocks with tag, link ratio and class/id hints).
//!
//! In the spirit of jusText, but our own: each block is classified by its boilerplate cues
//! (data files, aho-corasick), HTML hints and link ratio, date-only and teaser patterns, then
//! by length and stop-word density into good, near-good, short or bad; context resolves the
//! uncertain ones (a near-good block next to good text is kept, a headline is kept only when
//! article text follows it closely, short text between good blocks is kept).

mod classify;
pub mod context;
mod cues;
pub mod dedup;
mod features;
mod gbdt;
pub mod model;
mod rules;
#[cfg(feature = "train")]
pub mod train;
pub mod vocab;

pub use classify::View;
pub use cues::Lexicon;
pub use features::PageKind;

pub(crate) use crate::text::words::words;
use classify::*;
use cues::*;
use rules::*;

use std::borrow::Cow;
use std::sync::Arc;

use pipeline_core::{
    BuildContext, Document, Dropped, OptionsError, Outcome, PreparedStage, Severity, Stage,
    StageError, TypedFactory,
};
use serde::{Deserialize, Serialize};

/// What to do with a document (too short, duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Leave it in the output, unmarked.
    Keep,
    /// Leave it in the output with a flag in `meta`.
    Flag,
    /// Remove it from the output (counted in the report).
    Drop,
}

pipeline_core::options! {
    /// Options of the `clean` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct CleanOptions {
        /// Keep every dropped block and its reason in `dropped` (audit).
        pub keep_dropped: bool = false,
        /// Collapse runs of white space and trim paragraphs.
        pub collapse_whitespace: bool = true,
        /// Rejoin words hyphenated across line breaks.
        pub rejoin_hyphenated: bool = true,
        /// Blocks shorter than this are kept only by context (headlines, between good text).
        pub short_chars: usize = 70,
        /// Blocks this long with enough stop words are good on their own.
        pub long_chars: usize = 150,
        /// Stop-word density for a long block to be good.
        pub good_density: f32 = 0.28,
        /// Stop-word density for a block to be near-good (kept next to good text).
        pub near_good_density: f32 = 0.20,
        /// HTML blocks with more link text than this are boilerplate.
        pub max_link_ratio: f32 = 0.35,
        /// Documents with fewer characters after cleaning are too short.
        pub min_chars: usize = 0,
        /// Documents with fewer words after cleaning are too short.
        pub min_words: usize = 0,
        /// "keep", "flag" (meta.too_short) or "drop" too-short documents.
        pub too_short: Policy = Policy::Flag,
        /// "keep", "flag" (meta.empty and a warning, counted in the run's report) or "drop"
        /// documents of which cleaning kept nothing.
        pub empty: Policy = Policy::Flag,
        /// "keep", "flag" (meta.duplicate_of) or "drop" exact and near-duplicate documents.
        pub duplicates: Policy = Policy::Flag,
        /// MinHash Jaccard similarity (5-word shingles) for near-duplicates.
        pub near_duplicate_threshold: f32 = 0.8,
        /// Drop lines seen in this many earlier documents of the same source (0: off).
        pub repeated_line_min_docs: usize = 0,
        /// More stop words (any language).
        pub stopwords: Vec<String> = Vec::new(),
        /// More boilerplate cues as "category:phrase".
        pub cues: Vec<String> = Vec::new(),
        /// Tenths of the kept text that must come before a comment form, share buttons, related
        /// links or a footer for everything after it to be dropped (10 = never).
        pub article_end_share: usize = 6,
        /// Decide HTML blocks with this content model: "shipped", "none" (rules alone) or the path
        /// of a `textpipe train clean` model.
        pub content_model: String = "shipped".into(),
    }
}

/// The clean stage.
#[derive(Clone)]
pub struct Cleaner {
    o: CleanOptions,
    lex: Arc<Lexicon>,
    dedup: Arc<dedup::Dedup>,
    name: String,
    /// Decides HTML blocks over the rules (none: the rules alone).
    model: Option<Arc<model::ContentModel>>,
}

impl Cleaner {
    /// A cleaner with default options and the shipped lists.
    pub fn new() -> Self {
        Self::with_options(CleanOptions::default())
    }

    /// A cleaner with the given options and the shipped lists (plus the options' extras).
    /// Extra lists that fail to build, or a content model that cannot be read, fall back to
    /// the shipped ones (the stage factory reports them instead).
    pub fn with_options(o: CleanOptions) -> Self {
        let model = load_model(&o.content_model).unwrap_or_else(|_| shipped_model());
        Self::with_model(o, model)
    }

    /// A cleaner with the given options and content model (`None`: the rules alone).
    pub fn with_model(o: CleanOptions, model: Option<Arc<model::ContentModel>>) -> Self {
        let lex = Lexicon::shared(&o.stopwords, &o.cues)
            .unwrap_or_else(|_| Lexicon::shared(&[], &[]).expect("shipped lists are valid"));
        Cleaner {
            model,
            dedup: Arc::new(dedup::Dedup::new(
                o.near_duplicate_threshold,
                o.repeated_line_min_docs,
            )),
            o,
            lex,
            name: "clean".into(),
        }
    }

    /// Decides keep/drop for each block; returns the reason for dropped ones. HTML blocks
    /// are decided by the content model (when there is one) over the rules' verdict.
    pub fn decide(&self, blocks: &[View<'_>], html: bool, kind: &PageKind) -> Vec<Option<&str>> {
        let (classes, keep, mut reasons) = self.rules(blocks, html);
        if !html {
            return reasons;
        }
        if let Some(model) = &self.model {
            let (feats, layout) = features::page_features(
                blocks,
                &classes,
                &keep,
                &self.lex,
                &model.words,
                &model.vocab,
                kind,
            );
            let p = model.predict(&feats, &layout);
            let keep = expected_f1_keep(layout.words(), &p, model.threshold);
            for (r, k) in reasons.iter_mut().zip(keep) {
                if k {
                    *r = None;
                } else if r.is_none() {
                    *r = Some("model");
                }
            }
        }
        drop_repeats(blocks, &mut reasons);
        reasons
    }

    /// The content model's training view of a decoded page: each block's features
    /// (row-major) for a model with the class/id `words`, and the page's layout.
    pub fn training_features(
        &self,
        doc: &Document,
        words: &[String],
        vocab: &vocab::Vocab,
    ) -> (Vec<f32>, context::Layout) {
        let views: Vec<View<'_>> = doc.blocks.iter().map(View::of).collect();
        let (classes, keep, _) = self.rules(&views, true);
        let kind = page_kind(doc);
        features::page_features(&views, &classes, &keep, &self.lex, words, vocab, &kind)
    }
}

/// A kept block of at least this many words whose text an earlier kept block of the page
/// already has is dropped (cross-validated on WCXB: 1 word 0.841, 5 words 0.841, 10 words
/// 0.840; none 0.837). Shorter repeats ("Reply", "Add to cart") are left alone.
const REPEAT_WORDS: usize = 5;

/// Which blocks to keep given the model's probability `p` of each being content: those that
/// make the page's expected word F1 largest (WCXB scores every page by its word F1).
/// Taking blocks from the likeliest down, keeping the first k makes it
/// `2·Σ(p·w) / (Σw + Σ_page(p·w))` (w: a block's `words`); the best k is kept, and never a
/// block under `floor`, so a page the model finds no content on stays empty. Unlike one
/// fixed threshold, a page the model is unsure of keeps its likelier half instead of
/// nothing (listings, collections). Cross-validated against thresholds of 0.3–0.6 (0.5
/// before): see the README.
fn expected_f1_keep(words: &[u32], p: &[f32], floor: f32) -> Vec<bool> {
    let w: Vec<f64> = words.iter().map(|&n| f64::from(n)).collect();
    let total: f64 = p.iter().zip(&w).map(|(&q, &w)| f64::from(q) * w).sum();
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i] >= floor).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let (mut sp, mut sw) = (0.0, 0.0);
    let (mut best, mut best_k) = (0.0, 0);
    for (k, &i) in order.iter().enumerate() {
        sp += f64::from(p[i]) * w[i];
        sw += w[i];
        let f = 2.0 * sp / (sw + total).max(1e-9);
        if f > best {
            best = f;
            best_k = k + 1;
        }
    }
    let mut keep = vec![false; p.len()];
    for &i in &order[..best_k] {
        keep[i] = true;
    }
    keep
}

/// Drops kept blocks that repeat an earlier kept block word for word: responsive pages
/// carry the same text twice (a desktop and a mobile copy, a carousel's cloned slides), and
/// a reader sees it once.
fn drop_repeats(blocks: &[View<'_>], reasons: &mut [Option<&str>]) {
    let mut seen = rustc_hash::FxHashSet::default();
    for (b, r) in blocks.iter().zip(reasons.iter_mut()) {
        if r.is_some() || words(b.text).take(REPEAT_WORDS).count() < REPEAT_WORDS {
            continue;
        }
        let key: String = words(b.text).collect::<Vec<_>>().join(" ");
        if !seen.insert(key) {
            *r = Some("repeated-on-page");
        }
    }
}

/// What decode found the page to be: its URL (the source's, else the canonical one) and
/// declared types.
fn page_kind(doc: &Document) -> PageKind {
    let url = (doc.declared.url.as_deref())
        .or_else(|| doc.meta.get("canonical_url").and_then(|v| v.as_str()));
    let types = doc.meta.get("types").and_then(|v| v.as_array());
    PageKind::of(url, types.into_iter().flatten().filter_map(|t| t.as_str()))
}

/// The shipped content model (`models/clean.bin`, from `textpipe train clean`), read once.
pub fn shipped_model() -> Option<Arc<model::ContentModel>> {
    static M: std::sync::OnceLock<Option<Arc<model::ContentModel>>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        model::ContentModel::from_bytes(include_bytes!("../../models/clean.bin"))
            .ok()
            .map(Arc::new)
    })
    .clone()
}

/// The content model an option names: `shipped`, `none` or a file.
fn load_model(name: &str) -> Result<Option<Arc<model::ContentModel>>, String> {
    match name {
        "shipped" => Ok(shipped_model()),
        "none" => Ok(None),
        path => {
            let b = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            model::ContentModel::from_bytes(&b)
                .map(|m| Some(Arc::new(m)))
                .map_err(|e| format!("`{path}`: {e}"))
        }
    }
}

impl Default for Cleaner {
    fn default() -> Self {
        Self::new()
    }
}

/// Plain text to blocks: one per non-empty line, trimmed, words hyphenated across lines
/// rejoined (only joined lines are copied).
fn line_texts(text: &str, rejoin: bool) -> Vec<Cow<'_, str>> {
    let hyphen = |j: &str| {
        rejoin
            && j.ends_with('-')
            && j.chars().rev().nth(1).is_some_and(char::is_alphabetic)
            && !j.ends_with(" -")
    };
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            if let Some(p) = pending.take() {
                out.push(Cow::Owned(p));
            }
            continue;
        }
        match pending.take() {
            Some(mut p) => {
                p.push_str(t);
                if hyphen(&p) {
                    p.pop();
                    pending = Some(p);
                } else {
                    out.push(Cow::Owned(p));
                }
            }
            None if hyphen(t) => pending = Some(t[..t.len() - 1].to_string()),
            None => out.push(Cow::Borrowed(t)),
        }
    }
    if let Some(p) = pending {
        out.push(Cow::Owned(p));
    }
    out
}

impl Cleaner {
    /// A document-level policy for a document found `key` (`empty`, `too_short`): `drop`
    /// gives the outcome (reason `key` with `-` for `_`); `flag` sets `meta[key]` and
    /// leaves `note` as a diagnostic; `keep` does nothing.
    fn apply(
        &self,
        policy: Policy,
        doc: &mut Document,
        key: &str,
        note: (Severity, String),
    ) -> Option<Outcome> {
        match policy {
            Policy::Drop => Some(Outcome::Drop {
                reason: key.replace('_', "-"),
            }),
            Policy::Flag => {
                doc.meta.insert(key.into(), true.into());
                doc.diagnose(&self.name, note.0, note.1);
                None
            }
            Policy::Keep => None,
        }
    }
}

impl Stage for Cleaner {
    /// The stage's pass over a document in order (blocks, decision, text, audit, policies),
    /// which is why it is long.
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let html = !doc.blocks.is_empty();
        let blocks = std::mem::take(&mut doc.blocks);
        let lines = if html {
            Vec::new()
        } else {
            line_texts(&doc.text, self.o.rejoin_hyphenated)
        };
        let views: Vec<View<'_>> = if html {
            blocks.iter().map(View::of).collect()
        } else {
            lines.iter().map(|l| View::line(l)).collect()
        };
        let mut decisions = self.decide(&views, html, &page_kind(doc));
        // Corpus-level repeated lines (same source).
        if self.o.repeated_line_min_docs > 0 {
            let source = dedup::source_key(doc);
            let repeated = self
                .dedup
                .repeated_lines(&source, views.iter().map(|v| v.text));
            for (d, r) in decisions.iter_mut().zip(repeated) {
                if d.is_none() && r {
                    *d = Some("repeated-line");
                }
            }
        }
        // One pass over the kept words: the text, and their hashes for the duplicate check.
        let size = views.iter().map(|v| v.text.len() + 2).sum();
        let mut hashes =
            (self.o.duplicates != Policy::Keep).then(|| dedup::WordHashes::with_capacity(size));
        let mut text = String::with_capacity(size);
        let (mut kept, mut dropped) = (0usize, Vec::new());
        for (v, d) in views.iter().zip(&decisions) {
            if let Some(reason) = d {
                if self.o.keep_dropped {
                    dropped.push(Dropped {
                        text: v.text.to_string(),
                        reason: reason.to_string(),
                    });
                }
                continue;
            }
            if kept > 0 {
                text.push_str("\n\n");
            }
            kept += 1;
            if self.o.collapse_whitespace {
                // Most lines already have their words one space apart: hash the words and
                // copy the line whole, not word by word.
                let t = v.text;
                let mut end = None;
                let mut tidy = true;
                for w in words(t) {
                    let start = w.as_ptr() as usize - t.as_ptr() as usize;
                    tidy &= match end {
                        None => start == 0,
                        Some(e) => start == e + 1 && t.as_bytes()[e] == b' ',
                    };
                    end = Some(start + w.len());
                    if let Some(h) = hashes.as_mut() {
                        h.add(w);
                    }
                }
                if tidy && end == Some(t.len()) {
                    text.push_str(t);
                } else {
                    for (n, w) in words(t).enumerate() {
                        if n > 0 {
                            text.push(' ');
                        }
                        text.push_str(w);
                    }
                }
            } else {
                text.push_str(v.text);
                if let Some(h) = hashes.as_mut() {
                    words(v.text).for_each(|w| h.add(w));
                }
            }
        }
        let dropped_n = views.len() - kept;
        drop(views);
        drop(lines);
        doc.meta.insert("clean_kept_blocks".into(), kept.into());
        doc.meta
            .insert("clean_dropped_blocks".into(), dropped_n.into());
        if self.o.keep_dropped {
            doc.dropped = dropped;
        }
        if html {
            doc.blocks = blocks
                .into_iter()
                .zip(&decisions)
                .filter(|(_, d)| d.is_none())
                .map(|(b, _)| b)
                .collect();
        }
        doc.set_text(text);
        // Nothing kept: never written silently as an empty text.
        if doc.text.is_empty() {
            let note = (
                Severity::Warning,
                format!("cleaning kept nothing ({dropped_n} blocks or lines dropped)"),
            );
            if let Some(drop) = self.apply(self.o.empty, doc, "empty", note) {
                return Ok(drop);
            }
        }
        // Too little text (counted only when a minimum is set).
        let words = if self.o.min_chars > 0 || self.o.min_words > 0 {
            words(&doc.text).count()
        } else {
            usize::MAX
        };
        if words < self.o.min_words
            || (self.o.min_chars > 0 && doc.text.chars().count() < self.o.min_chars)
        {
            let note = (
                Severity::Info,
                format!("too short after cleaning ({words} words)"),
            );
            if let Some(drop) = self.apply(self.o.too_short, doc, "too_short", note) {
                return Ok(drop);
            }
        }
        // Duplicates.
        if let Some(hashes) = hashes.filter(|_| !doc.text.is_empty()) {
            if let Some((kind, of)) = self.dedup.check_words(&doc.id, hashes) {
                match self.o.duplicates {
                    Policy::Drop => {
                        return Ok(Outcome::Drop {
                            reason: format!("{kind}-duplicate"),
                        })
                    }
                    _ => {
                        doc.meta.insert("duplicate_of".into(), of.into());
                        doc.meta.insert("duplicate".into(), kind.into());
                    }
                }
            }
        }
        Ok(Outcome::Keep)
    }

    /// Duplicates and repeated lines are found among the documents before.
    fn remembers(&self) -> bool {
        self.o.duplicates != Policy::Keep || self.o.repeated_line_min_docs > 0
    }
}

/// The `clean` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "clean",
        "drop boilerplate (navigation, cookie notices, teasers, comment policies, bylines, dates), flag or drop duplicates and too-short documents",
        |o: CleanOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            if !(0.0..=1.0).contains(&o.near_duplicate_threshold) {
                return Err(OptionsError::at("near_duplicate_threshold", "must be between 0 and 1"));
            }
            let lex = Lexicon::shared(&o.stopwords, &o.cues).map_err(|e| OptionsError::at("cues", e))?;
            let model = load_model(&o.content_model).map_err(|e| OptionsError::at("content_model", e))?;
            let c = Cleaner {
                model,
                dedup: Arc::new(dedup::Dedup::new(o.near_duplicate_threshold, o.repeated_line_min_docs)),
                o,
                lex,
                name: ctx.stage_name.clone(),
            };
            // Shared state (duplicates, repeated lines) lives behind the Arcs: all workers see it.
            Ok(Arc::new(move || Ok(Box::new(c.clone()) as Box<dyn Stage>)))
        },
    )
    .with_needs(&["text"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> String {
        let mut d = Document::from_text("t", text);
        Cleaner::new().process(&mut d).unwrap();
        d.text
    }

    #[test]
    fn drops_navigation_dates_teasers_and_cookie_notices() {
        let text = "Projekte\nAlle Nachrichten\n22 Juni 2022, 14:36\n\nBelarus und Russland bauen Zusammenarbeit aus\n\nMOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen konsequent ihre Zusammenarbeit in allen Bereichen aus. Das sagte die Pressesprecherin des russischen Außenministeriums heute bei einem Briefing.\n\nAnti-Siko 2020: Rede von Sevim Dagdelen (MdB ...\nDiese Webseite verwendet Cookies. Wenn Sie fortfahren, stimmen Sie zu.";
        let out = clean(text);
        assert_eq!(
            out,
            "Belarus und Russland bauen Zusammenarbeit aus\n\nMOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen konsequent ihre Zusammenarbeit in allen Bereichen aus. Das sagte die Pressesprecherin des russischen Außenministeriums heute bei einem Briefing."
        );
    }

    #[test]
    fn an_unsure_page_keeps_its_likelier_blocks_and_a_sure_one_only_its_content() {
        // Seeds paragraphs of 30–40 words, as blocks the model scored.
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../seeds/000_c5a5ed7731ad6cab.txt"
        ))
        .unwrap();
        let paras: Vec<&str> = seed
            .split("\n\n")
            .filter(|p| words(p).count() >= 20)
            .collect();
        assert!(paras.len() >= 3, "the seed has paragraphs");
        let views: Vec<View<'_>> = paras[..3].iter().map(|p| View::line(p)).collect();
        let layout = context::Layout::of(&views);
        let words = layout.words();
        // Unsure of all three: no block reaches 0.5, yet the likelier two make the page's
        // expected F1 largest (a threshold of 0.5 kept none).
        let keep = expected_f1_keep(words, &[0.45, 0.4, 0.1], 0.2);
        assert_eq!(keep, [true, true, false]);
        // Sure: every block at 0.5 or more is kept, one far below is not.
        let keep = expected_f1_keep(words, &[0.95, 0.5, 0.3], 0.2);
        assert_eq!(keep, [true, true, false]);
        // Nothing reaches the floor: nothing is kept.
        assert_eq!(expected_f1_keep(words, &[0.15, 0.1, 0.05], 0.2), [false; 3]);
    }

    #[test]
    fn a_million_short_lines_around_an_article_are_decided_in_one_pass() {
        // Each short line once looked for the nearest long line on both sides: 10⁶ lines
        // took minutes. The article between them is kept, the lines are not.
        let article = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        let mut text: String = (0..500_000).map(|i| format!("Zeile {i}\n")).collect();
        text.push_str(article);
        text.push('\n');
        text.extend((0..500_000).map(|i| format!("Zeile {i}\n")));
        assert_eq!(clean(&text), article);
    }

    #[test]
    fn the_article_ends_at_the_comment_form() {
        let article = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        let comment = "Ich finde es richtig, dass die beiden Länder ihre Zusammenarbeit ausbauen, aber man sollte auch an die Menschen denken, die unter den Sanktionen leiden und für die sich im Alltag nichts ändert.";
        let page = format!(
            "{article}\n{article} Das ist ein zweiter Absatz.\nSchreibe einen Kommentar\n{comment}"
        );
        assert_eq!(
            clean(&page),
            format!("{article}\n\n{article} Das ist ein zweiter Absatz.")
        );
        // Nor does a link to another article inside it ("Lesen Sie auch: …").
        let inline = format!("{article}\n{article} Das ist ein zweiter Absatz.\nLesen Sie auch: Neue Abkommen\n{comment}");
        assert!(clean(&inline).contains(comment));
        // A comment form before most of the text does not end the article.
        let early = format!("{article}\nSchreibe einen Kommentar\n{comment}\n{comment}");
        assert!(clean(&early).contains(comment));
    }

    fn clean_html(html: &str) -> String {
        use crate::decode::{DecodeOptions, Decoder};
        let mut d = Document::from_bytes("t", html.as_bytes().to_vec());
        Decoder::new(DecodeOptions::default())
            .process(&mut d)
            .unwrap();
        // These tests hold the rules; the content model is tested on benchmark pages.
        Cleaner::with_model(CleanOptions::default(), None)
            .process(&mut d)
            .unwrap();
        d.text
    }

    #[test]
    fn the_shipped_content_model_loads_and_round_trips() {
        let bytes = include_bytes!("../../models/clean.bin");
        let m = model::ContentModel::from_bytes(bytes).unwrap();
        assert_eq!(m.to_bytes(), bytes);
        assert!(shipped_model().is_some());
        assert!(!m.words.is_empty());
        // Cut anywhere, or with a byte flipped in the magic, it is an error, not a panic.
        for cut in [0, 7, 8, 12, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                model::ContentModel::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.to_vec();
        bad[0] ^= 1;
        assert!(matches!(
            model::ContentModel::from_bytes(&bad),
            Err(model::ModelError::Magic)
        ));
        // A model over another feature list is refused with a message that says so.
        let mut other = bytes.to_vec();
        other[8] ^= 1;
        let e = model::ContentModel::from_bytes(&other).unwrap_err();
        assert!(e.to_string().contains("retrain"), "{e}");
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(model::ContentModel::from_bytes(&longer).is_err());
        let o = CleanOptions {
            content_model: "/no/such/model.bin".into(),
            ..CleanOptions::default()
        };
        assert!(load_model(&o.content_model)
            .unwrap_err()
            .contains("/no/such/model.bin"));
    }

    #[test]
    fn the_shipped_model_reads_boilerplate_in_the_words_of_many_sites() {
        let m = shipped_model().unwrap();
        let odds = |t: &str| m.vocab.score(t).mean;
        // Footers, newsletters and carts say so in their words; an article's do not.
        for t in [
            "copyright 2024 all rights reserved",
            "subscribe to our newsletter",
            "add to cart",
        ] {
            let o = m.vocab.score(t);
            assert!(o.mean < 0.0 && o.min < -2.0, "{t}: {o:?}");
        }
        let news = "the minister said on tuesday that the talks would continue";
        assert!(odds(news) > 0.0, "{}", odds(news));
        assert!(m.vocab.score(&MINSK.to_lowercase()).known > 0.0);
        // Words no site used are unknown, not boilerplate.
        assert_eq!(m.vocab.score("zzqx qqzx").known, 0.0);
    }

    const STEP_1: &str = "Alle Zutaten in eine Schüssel geben und mit den Knethaken des Handrührgeräts zu einem glatten Teig verarbeiten, der nicht mehr an den Fingern klebt.";
    const STEP_2: &str = "Den Teig auf einer bemehlten Arbeitsfläche ausrollen, beliebige Figuren ausstechen und die Plätzchen mit etwas Abstand auf das Blech legen.";
    const MINSK: &str = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen.";

    #[test]
    fn a_paragraph_repeated_on_the_page_is_kept_once() {
        // A responsive page: the same article text in a desktop and a mobile copy.
        let p = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide regeln.";
        let html = format!(
            "<html><body><div class=\"desktop\"><p>{p}</p><p>Kurz.</p></div>\
             <div class=\"mobile\"><p>{p}</p><p>Kurz.</p></div></body></html>"
        );
        let out = clean_html(&html);
        assert_eq!(out.matches("Minsk").count(), 1, "{out}");
    }

    #[test]
    fn short_lines_inside_the_main_container_are_kept() {
        let html = format!(
            "<html><body><nav><ul><li><a href=/>Start</a></li><li><a href=/r>Rezepte</a></li></ul></nav>\
             <div class=post><p><a href=/d>8. Dezember 2012</a></p><h1>Mandelplätzchen</h1>\
             <p>Zutaten:</p><p>300 g Mehl</p><p>1 TL Backpulver</p><p>200 g Zucker</p><p>1 Ei</p>\
             <p>Zubereitung:</p><ol><li>{STEP_1}</li><li>{STEP_2}</li><li>Im Ofen 15 Minuten backen.</li></ol></div>\
             <div class=sidebar><h3>Archiv</h3><ul><li>Dezember 2012</li><li>Oktober 2012</li></ul></div></body></html>"
        );
        let out = clean_html(&html);
        for kept in [
            "Mandelplätzchen",
            "300 g Mehl",
            "200 g Zucker",
            "1 Ei",
            "Im Ofen 15 Minuten backen.",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        for dropped in ["Start", "8. Dezember", "Archiv", "Oktober 2012"] {
            assert!(!out.contains(dropped), "{dropped} kept: {out}");
        }
    }

    #[test]
    fn near_good_text_in_an_article_is_kept_far_from_good_text() {
        let standfirst = "Die Bundesregierung will die Regeln für den Bau von Wärmepumpen bis zum Sommer lockern.";
        let html = format!(
            "<html><body><article><header><h1>Wärmepumpen boomen</h1><p>{standfirst}</p></header>\
             <div class=gallery><p><a href=/1>Bild 1</a></p><p><a href=/2>Bild 2</a></p><p><a href=/3>Bild 3</a></p><p><a href=/4>Bild 4</a></p></div>\
             <div class=body><p>{STEP_1}</p><p>{STEP_2}</p></div></article></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.contains(standfirst), "{out}");
        assert!(!out.contains("Bild 3"), "{out}");
    }

    #[test]
    fn layout_class_names_do_not_drop_article_text() {
        // `teaser` on the lead and `has-ads` on the body section are layout names; an
        // author box inside the article is not article text.
        let html = format!(
            "<html><body><article><p class=article-teaser>{STEP_1}</p>\
             <section class=has-ads><p>{STEP_2}</p></section>\
             <div class=author-bio><p>Anna Beispiel schreibt seit vielen Jahren über das Backen und hat drei Kochbücher über Weihnachtsgebäck aus aller Welt veröffentlicht.</p></div>\
             </article><aside class=sidebar><p>{STEP_1} Mehr davon gibt es im Archiv.</p></aside></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.starts_with(STEP_1), "{out}");
        assert!(out.contains(STEP_2), "{out}");
        assert!(!out.contains("Anna Beispiel"), "{out}");
        assert!(!out.contains("im Archiv"), "{out}");
    }

    #[test]
    fn pages_in_languages_without_stop_word_lists_keep_their_long_text() {
        let text = "Strona główna\nPolityka\nSport\n\nRząd przyjął w środę projekt ustawy, który ma uprościć procedury budowlane dla domów jednorodzinnych oraz skrócić czas oczekiwania na decyzje urzędników w całym kraju.\n\nZdaniem ekspertów zmiany mogą przyspieszyć inwestycje, jednak samorządy obawiają się utraty kontroli nad planowaniem przestrzennym i chaosu w mniejszych miejscowościach.\n\nPolityka prywatności";
        let out = clean(text);
        assert!(out.starts_with("Rząd przyjął"), "{out}");
        assert!(out.ends_with("miejscowościach."), "{out}");
    }

    #[test]
    fn text_without_spaces_between_words_is_measured_by_its_characters() {
        // Two Japanese paragraphs: under `long_chars` characters each, with no spaces, yet
        // each is a few sentences of article text.
        let text = "ホーム\nニュース\n\n東京の図書館は今年の四月から日曜日と祝日にも開くことになりました。多くの家族や学生が本を借りに来ていて、休みの日には席が足りなくなることもあります。\n\n市は来年、駅の近くに新しい図書館を作る計画です。子どもが自由に遊べる部屋や、夜まで勉強できる部屋も作ると話しています。\n\nお問い合わせ";
        let out = clean(text);
        assert!(out.starts_with("東京の図書館"), "{out}");
        assert!(out.ends_with("話しています。"), "{out}");
    }

    #[test]
    fn code_in_an_article_is_kept() {
        let html = "<html><body><nav><a href=/>Start</a> <a href=/n>Netzwerk</a></nav><article>\
            <h1>TCP-Autotuning unter Windows abschalten</h1>\
            <p>Wenn die Verbindung trotz schneller Leitung langsam ist, kann das automatische Anpassen des Empfangsfensters schuld sein. Man schaltet es in einer Eingabeaufforderung mit Administratorrechten ab.</p>\
            <pre>netsh interface tcp set global autotuninglevel=disabled</pre>\
            <p>Die Versionsnummer des Pakets folgt dem Muster, das auch in der Liste der Pakete steht:</p>\
            <pre>0.0.0-20200101120000-abcdef</pre></article>\
            <footer><a href=/i>Impressum</a></footer></body></html>";
        let out = clean_html(html);
        assert!(
            out.contains("\n\nnetsh interface tcp set global autotuninglevel=disabled\n\n"),
            "{out}"
        );
        assert!(out.ends_with("0.0.0-20200101120000-abcdef"), "{out}");
        assert!(!out.contains("Impressum"), "{out}");
    }

    #[test]
    fn text_after_the_main_container_and_outside_it_is_the_pages() {
        let p = MINSK;
        let html = |more: &str| {
            format!(
                "<html><body><div class=content><h1>Neue Abkommen</h1><p>{p}</p><p>{p}</p><p>{p}</p><p>{p}</p><p>{p}</p></div>\
                 <div class=x><p>{more}</p></div></body></html>"
            )
        };
        // An author's box after the article, in its own element: a good paragraph, but short.
        let bio = "Anna Beispiel ist seit dem Jahr 2015 Korrespondentin in Warschau und berichtet für uns über Polen, die Ukraine und die Lage in Belarus.";
        let out = clean_html(&html(bio));
        assert!(out.ends_with("gelten sollen."), "{out}");
        // The article going on in a sibling element: a long good paragraph.
        let part = "Nach Angaben des Ministeriums sollen die Lieferungen schon im Frühjahr beginnen und über die Häfen an der Ostsee abgewickelt werden, weil die Strecken über Litauen und Polen seit dem vergangenen Jahr für Transporte aus Belarus gesperrt sind und die Bahn keine anderen Wege hat.";
        let out = clean_html(&html(part));
        assert!(out.ends_with("keine anderen Wege hat."), "{out}");
    }

    #[test]
    fn a_page_without_good_text_keeps_the_short_lines_of_its_post() {
        let html = "<html><body><div class=header><ul><li><a href=/>Start</a></li><li><a href=/a>Archiv</a></li></ul></div>\
            <div class=site><div class=post><h2>Möglichkeit</h2>\
            <p>„Ich weiß, ich bin müde und sollte das jetzt vielleicht nicht sagen …“</p>\
            <p>– „Dann sag es nicht.“</p><p>– „Gut.“</p></div>\
            <div class=sharing><h3>Teilen Sie dies mit:</h3><ul><li><a href=/t>Twitter</a></li></ul></div></div></body></html>";
        let out = clean_html(html);
        assert!(out.contains("„Ich weiß, ich bin müde"), "{out}");
        assert!(out.contains("– „Gut.“"), "{out}");
        assert!(!out.contains("Teilen"), "{out}");
        assert!(!out.contains("Archiv"), "{out}");
    }

    #[test]
    fn an_embedded_tweet_is_not_article_text() {
        let p = MINSK;
        let tweet = "Neue Abkommen mit Moskau: Handel mit Getreide und Düngemitteln für zehn Jahre geregelt, sagt der Minister nach dem Treffen in Minsk.";
        let html = format!(
            "<html><body><article><p>{p}</p><blockquote class=\"twitter-tweet\"><p>{tweet}</p></blockquote><p>{p}</p></article></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.starts_with("Die Regierung"), "{out}");
        assert!(!out.contains("sagt der Minister"), "{out}");
    }

    #[test]
    fn a_photo_credit_does_not_end_the_article() {
        let p = MINSK;
        let last = "Beide Seiten wollen die Verträge im Herbst bei einem Treffen in Sotschi um weitere Vereinbarungen über die Energiepreise ergänzen, hieß es aus dem Ministerium.";
        let text = format!("{p}\n\n{p}\n\n{p}\n\n© AFP / Marco Bertorello\n\n{last}\n\n© 2024 Beispiel Verlag\n\n{last} Ende.");
        let out = clean(&text);
        assert!(out.contains(last), "{out}");
        assert!(!out.contains("Bertorello"), "{out}");
        assert!(!out.ends_with("Ende."), "{out}");
    }

    #[test]
    fn long_blocks_are_judged_by_their_head() {
        let c = Cleaner::new();
        let class = |t: &str| c.classify(&View::line(t), false, &mut String::new());
        // Umlauts all along, so the sample's end falls inside a character at some offsets.
        let prose = "Die Bürger in Minsk und Moskau müssen sich auf höhere Preise für Gas und Öl einstellen, weil die Lieferverträge über das nächste Jahr hinaus verlängert werden. ".repeat(12);
        let list = "Ölpreis Gaspreis Düngemittel Kalisalz Getreide Zölle Hafengebühren Frachtraten Währungsreserven Staatsanleihen ".repeat(20);
        for shift in 0..4 {
            let p = format!("{}{prose}", "ä".repeat(shift));
            assert!(p.len() > DENSITY_SAMPLE);
            assert_eq!(class(&p), Class::Good);
            let l = format!("{}{list}", "ü".repeat(shift));
            assert_eq!(class(&l), Class::Bad("few-stopwords"));
        }
    }

    #[test]
    fn long_blocks_count_strong_cues_only() {
        let c = Cleaner::new();
        let class = |t: &str| c.classify(&View::line(t), false, &mut String::new());
        // A weak cue (a photo credit) early in a long paragraph does not hide the cookie
        // notice after it, and does not make article text boilerplate.
        let notice = format!("{} Diese Webseite verwendet Cookies, um Ihnen das beste Erlebnis zu bieten, und teilt Informationen mit Partnern für Analyse und Werbung.", "Foto: dpa. Wir bitten um Ihr Einverständnis für die Verarbeitung Ihrer Daten auf dieser Seite und in unseren Angeboten.");
        assert!(notice.chars().count() >= CUE_MAX_CHARS);
        assert_eq!(class(&notice), Class::Cue("cookie"));
        let article = "Foto: dpa. Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        assert!(article.chars().count() >= CUE_MAX_CHARS);
        assert!(!matches!(class(article), Class::Cue(_)));
        assert_eq!(class("Foto: dpa"), Class::Cue("photo"));
    }

    proptest::proptest! {
        // Long runs cross the eight-byte chunks of the ASCII fast path at every offset.
        #[test]
        fn words_split_like_split_whitespace_anywhere(
            text in "([a-zA-Z0-9.,!~\x7f]{0,20}[ \t\n\r\x0b\x0c\u{85}\u{a0}\u{2003}\u{3000}äé„–]{0,3}){0,8}"
        ) {
            proptest::prop_assert_eq!(
                words(&text).collect::<Vec<_>>(),
                text.split_whitespace().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn numbered_figure_captions() {
        assert!(is_numbered_caption(
            "abbildung 4: klassische schwachschicht."
        ));
        assert!(is_numbered_caption("fig. 12. the pipeline"));
        assert!(is_numbered_caption("abb. 3: aufbau der methode"));
        assert!(!is_numbered_caption(
            "abbildungen zeigen, dass 4: 2 gewonnen wurde"
        ));
        assert!(!is_numbered_caption("bilder: 3.5 millionen"));
        assert!(!is_numbered_caption("figure 2.5 shows the curve"));
        assert!(!is_numbered_caption("die abbildung 4: oben"));
        // On a page: the caption goes, the paragraphs around it stay.
        let p = MINSK;
        let out = clean(&format!(
            "{p}\n\nAbbildung 2: Getreidelager bei Minsk im Herbst.\n\n{p}"
        ));
        assert!(!out.contains("Abbildung"), "{out}");
        assert!(
            out.starts_with("Die Regierung") && out.ends_with("gelten sollen."),
            "{out}"
        );
    }

    #[test]
    fn date_and_code_lines() {
        for t in [
            "23 | 02 | 2020",
            "22 Juni 2022, 14:36",
            "26 November 202018:51",
            "2065-26-11-2020",
            "flag Freitag, 29 März 2024",
            "Epoch Times4. November 2021",
        ] {
            assert!(is_date_line(&t.to_lowercase()), "{t}");
        }
        assert!(!is_date_line(
            "am 31. mai und 1.juni 2012 fand der offizielle besuch statt"
        ));
        assert!(!is_date_line("treffen am 4. november 2021 in minsk"));
        // Figures in a table are not dates.
        for t in ["20,2 mio.", "32,23", "3,5 kg", "14,90 euro"] {
            assert!(!is_date_line(t), "{t}");
        }
        assert!(is_code_list("• de-DE1 en-GB1 es-ES1 ru-RU1 fr-FR1"));
        assert!(!is_code_list("Die EU und die NATO"));
    }

    #[test]
    fn hyphenated_line_breaks_are_rejoined() {
        let b = line_texts("Die Zusam-\nmenarbeit wächst.\nLKW-\nHersteller", true);
        assert_eq!(b[0], "Die Zusammenarbeit wächst.");
    }
}
