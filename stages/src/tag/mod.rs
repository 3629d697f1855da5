//! Stage `tag`: language (per document and per paragraph), keywords, gazetteer entities and
//! grouping of entity variants.
//!
//! - Language: whatlang restricted to an allowlist (default de, en), URLs and e-mail
//!   addresses removed first; `und` below a confidence threshold; a document whose long
//!   paragraphs are in different languages is flagged (`meta.mixed_languages`).
//! - Keywords: phrases of up to three content words (no stop words, numbers or punctuation
//!   inside), scored by frequency × IDF (document frequencies from the run so far, shared by
//!   all workers) with a bonus for multi-word phrases; top-k.
//! - Entities: names from a user gazetteer (`LABEL<TAB>name` lines), matched with
//!   aho-corasick at word boundaries; variants of one entity (`W. Putin`, `Wladimir Putin`,
//!   `Putin`) are grouped with mention counts in `meta.entity_groups`.

pub mod group;
pub mod ner;

use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};
use pipeline_core::{
    BuildContext, Document, Entity, Keyword, OptionDoc, OptionsError, Outcome, PreparedStage, Span,
    Stage, StageError, StageOptions, TypedFactory,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Options of the `tag` stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagOptions {
    /// Languages to choose from (ISO 639-1 or 639-3 codes).
    pub languages: Vec<String>,
    /// Below this confidence (0–1) the language is `und`.
    pub min_confidence: f64,
    /// Detect the language of each paragraph too (`meta.paragraph_langs`).
    pub paragraph_languages: bool,
    /// Paragraphs shorter than this (characters) are not detected on their own.
    pub min_paragraph_chars: usize,
    /// Number of keywords (0: none).
    pub keywords: usize,
    /// Longest keyword phrase, in words.
    pub max_keyword_words: usize,
    /// Gazetteer file (`LABEL<TAB>name` per line), relative to the config file.
    pub gazetteer: Option<String>,
    /// Group entity variants (`meta.entity_groups`).
    pub group_entities: bool,
    /// Keep a language the document already has (set by the source, e.g. a JSONL `lang`
    /// field mapped by an earlier stage) instead of detecting it.
    pub trust_given_language: bool,
    /// Tag named entities (PER, LOC, ORG, MISC) with the learnt model of the document's language.
    pub entities: bool,
    /// Entity models to use instead of the shipped ones, by language (`{ de = "my-ner.bin" }`),
    /// as written by `textpipe train ner`; relative to the config file.
    pub ner_models: std::collections::BTreeMap<String, String>,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            languages: vec!["de".into(), "en".into()],
            min_confidence: 0.2,
            paragraph_languages: true,
            min_paragraph_chars: 100,
            keywords: 10,
            max_keyword_words: 3,
            gazetteer: None,
            group_entities: true,
            trust_given_language: false,
            entities: true,
            ner_models: Default::default(),
        }
    }
}

impl StageOptions for TagOptions {
    fn docs() -> &'static [OptionDoc] {
        &[
            OptionDoc { name: "languages", help: "languages to choose from (ISO 639-1 or 639-3), e.g. [\"de\", \"en\", \"fr\"]" },
            OptionDoc { name: "min_confidence", help: "below this confidence (0–1) the language is \"und\"" },
            OptionDoc { name: "paragraph_languages", help: "detect each paragraph's language too (meta.paragraph_langs)" },
            OptionDoc { name: "min_paragraph_chars", help: "shorter paragraphs are not detected on their own" },
            OptionDoc { name: "keywords", help: "number of keywords (0: none)" },
            OptionDoc { name: "max_keyword_words", help: "longest keyword phrase, in words" },
            OptionDoc { name: "gazetteer", help: "file of names to tag, \"LABEL<TAB>name\" per line (relative to the config file)" },
            OptionDoc { name: "group_entities", help: "group variants of one entity (meta.entity_groups)" },
            OptionDoc { name: "trust_given_language", help: "keep a language the document already has instead of detecting it" },
            OptionDoc { name: "entities", help: "tag named entities (PER, LOC, ORG, MISC) with the learnt model of the document's language (shipped: de, en)" },
            OptionDoc { name: "ner_models", help: "entity models by language instead of the shipped ones, e.g. { de = \"my-ner.bin\" } (from `textpipe train ner`)" },
        ]
    }
}

const CODES: &[(&str, &str)] = &[
    ("de", "deu"),
    ("en", "eng"),
    ("fr", "fra"),
    ("es", "spa"),
    ("it", "ita"),
    ("nl", "nld"),
    ("pl", "pol"),
    ("pt", "por"),
    ("ru", "rus"),
    ("uk", "ukr"),
    ("be", "bel"),
    ("cs", "ces"),
    ("sk", "slk"),
    ("sv", "swe"),
    ("da", "dan"),
    ("fi", "fin"),
    ("tr", "tur"),
    ("ar", "ara"),
    ("zh", "cmn"),
    ("ja", "jpn"),
    ("hu", "hun"),
    ("ro", "ron"),
    ("bg", "bul"),
    ("sr", "srp"),
    ("hr", "hrv"),
    ("el", "ell"),
    ("he", "heb"),
    ("lt", "lit"),
    ("lv", "lav"),
    ("et", "est"),
    ("no", "nob"),
    ("ko", "kor"),
];

fn to_whatlang(code: &str) -> Option<whatlang::Lang> {
    let three = CODES
        .iter()
        .find(|(two, _)| *two == code)
        .map_or(code, |(_, three)| *three);
    whatlang::Lang::from_code(three)
}

fn to_iso1(lang: whatlang::Lang) -> String {
    let three = lang.code();
    CODES
        .iter()
        .find(|(_, t)| *t == three)
        .map_or(three, |(two, _)| *two)
        .to_string()
}

/// Text for language detection: URLs, e-mail addresses and numbers removed.
fn detectable(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| {
            !(w.contains("://")
                || w.starts_with("www.")
                || w.contains('@')
                || w.chars().all(|c| !c.is_alphabetic()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A user gazetteer: names and their labels.
struct Gazetteer {
    ac: AhoCorasick,
    labels: Vec<String>,
}

impl Gazetteer {
    fn load(text: &str) -> Result<Self, String> {
        let mut names = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (label, name) = line
                .split_once('\t')
                .ok_or_else(|| format!("line {}: expected LABEL<TAB>name", i + 1))?;
            names.push(name.trim().to_string());
            labels.push(label.trim().to_string());
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&names)
            .map_err(|e| e.to_string())?;
        Ok(Gazetteer { ac, labels })
    }

    fn find(&self, text: &str) -> Vec<Entity> {
        self.ac
            .find_iter(text)
            .filter(|m| {
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
            .map(|m| Entity {
                span: Span::new(m.start(), m.end()),
                label: self.labels[m.pattern().as_usize()].clone(),
                text: text[m.start()..m.end()].to_string(),
                group: None,
            })
            .collect()
    }
}

/// Document frequencies of keyword words over the run, shared by all workers.
#[derive(Default)]
struct DocFreq {
    docs: u64,
    df: FxHashMap<String, u64>,
}

/// The tag stage.
#[derive(Clone)]
pub struct Tagger {
    o: TagOptions,
    detector: Arc<whatlang::Detector>,
    gazetteer: Option<Arc<Gazetteer>>,
    df: Arc<Mutex<DocFreq>>,
    /// Entity models by language code.
    ner: Arc<FxHashMap<String, Arc<ner::NerModel>>>,
    /// Per-worker word-score caches, one per entity model (language).
    ner_cache: FxHashMap<String, ner::NerCache>,
    segmenter: Arc<crate::segment::Segmenter>,
}

impl Tagger {
    /// A tagger with the given options and no gazetteer (unknown language codes are ignored).
    pub fn new(o: TagOptions) -> Self {
        let o_entities = o.entities;
        let langs: Vec<whatlang::Lang> =
            o.languages.iter().filter_map(|c| to_whatlang(c)).collect();
        Tagger {
            o,
            detector: Arc::new(whatlang::Detector::with_allowlist(langs)),
            gazetteer: None,
            df: Arc::new(Mutex::new(DocFreq::default())),
            ner: Arc::new(if o_entities {
                shipped_models()
            } else {
                FxHashMap::default()
            }),
            ner_cache: FxHashMap::default(),
            segmenter: Arc::new(crate::segment::Segmenter::new()),
        }
    }

    /// Language code and confidence of `text` (`und` below the threshold or when undetectable).
    pub fn language(&self, text: &str) -> (String, f64) {
        let (lang, conf) = match self.detector.detect(&detectable(text)) {
            Some(info) if info.confidence() >= self.o.min_confidence => {
                return (to_iso1(info.lang()), info.confidence())
            }
            Some(info) => ("und".to_string(), info.confidence()),
            None => ("und".to_string(), 0.0),
        };
        // Undecided: clearly dominant stop words of an allowed language decide.
        match stopword_vote(text) {
            Some(l) if self.o.languages.iter().any(|x| x == l) => (l.to_string(), conf),
            _ => (lang, conf),
        }
    }

    fn keywords(&self, doc: &Document) -> Vec<Keyword> {
        let stop = crate::lexicon::stopwords();
        let german = doc.lang.as_deref() == Some("de");
        // Candidate phrases: runs of content words inside a sentence.
        let mut counts: FxHashMap<String, (usize, String)> = FxHashMap::default();
        let spans: Vec<Span> = if doc.sentences.is_empty() {
            vec![Span::new(0, doc.text.len())]
        } else {
            doc.sentences.clone()
        };
        let mut words_in_doc: Vec<String> = Vec::new();
        for s in &spans {
            let sent = &doc.text[s.start..s.end];
            let mut run: Vec<&str> = Vec::new();
            let flush = |run: &mut Vec<&str>, counts: &mut FxHashMap<String, (usize, String)>| {
                for n in 1..=self.o.max_keyword_words.min(run.len()) {
                    for w in run.windows(n) {
                        let surface = w.join(" ");
                        let key = surface.to_lowercase();
                        let e = counts.entry(key).or_insert((0, surface));
                        e.0 += 1;
                    }
                }
                run.clear();
            };
            for raw in sent.split_whitespace() {
                let w = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
                let breaks = raw.ends_with([',', '.', ';', ':', '!', '?', ')', '“', '"', '”'])
                    || raw.starts_with(['(', '„', '"', '“']);
                let content = w.chars().count() >= 3
                    && w.chars().any(char::is_alphabetic)
                    && !stop.contains(&w.to_lowercase());
                if content {
                    if raw.starts_with(['(', '„', '"', '“']) {
                        flush(&mut run, &mut counts);
                    }
                    run.push(w);
                    words_in_doc.push(w.to_lowercase());
                } else {
                    flush(&mut run, &mut counts);
                }
                if breaks {
                    flush(&mut run, &mut counts);
                }
            }
            flush(&mut run, &mut counts);
        }
        // Update and read document frequencies.
        let words_in_doc: Vec<String> = words_in_doc
            .into_iter()
            .collect::<rustc_hash::FxHashSet<_>>()
            .into_iter()
            .collect();
        let (docs, idf): (u64, FxHashMap<String, f32>) = {
            let mut df = self.df.lock().unwrap_or_else(|p| p.into_inner());
            df.docs += 1;
            for w in &words_in_doc {
                *df.df.entry(w.clone()).or_insert(0) += 1;
            }
            let n = df.docs;
            let idf = words_in_doc
                .iter()
                .map(|w| {
                    (
                        w.clone(),
                        (((n + 1) as f32) / (*df.df.get(w).unwrap_or(&1) as f32)).ln() + 1.0,
                    )
                })
                .collect();
            (n, idf)
        };
        let _ = docs;
        let mut scored: Vec<(f32, String, String)> = counts
            .into_iter()
            .map(|(key, (freq, surface))| {
                let parts: Vec<&str> = key.split(' ').collect();
                let mean_idf = parts
                    .iter()
                    .map(|p| idf.get(*p).copied().unwrap_or(1.0))
                    .sum::<f32>()
                    / parts.len() as f32;
                let capital_bonus = if surface.chars().next().is_some_and(char::is_uppercase) {
                    1.2
                } else {
                    1.0
                };
                // Longer phrases earn their bonus only by recurring.
                let multi = if freq >= 2 {
                    1.0 + 0.6 * (parts.len() as f32 - 1.0)
                } else {
                    1.0
                };
                let score = freq as f32 * mean_idf * multi * capital_bonus;
                (score, key, surface)
            })
            // German key phrases begin and end with a capitalised word (nouns, names):
            // "Einheitlicher Wirtschaftsraum", not "Integration treu geblieben".
            .filter(|(_, _, surface)| {
                !german || {
                    let ws: Vec<&str> = surface.split(' ').collect();
                    let cap = |w: &&str| w.chars().next().is_some_and(char::is_uppercase);
                    ws.first().is_some_and(cap) && ws.last().is_some_and(cap)
                }
            })
            .filter(|(_, key, _)| {
                !(key.split(' ').count() > 1
                    && key
                        .split(' ')
                        .collect::<Vec<_>>()
                        .windows(2)
                        .any(|w| w[0] == w[1]))
            })
            .collect();
        // Only the best few are needed: select them, then sort that slice.
        let keep = (self.o.keywords * 8).min(scored.len());
        let by_score = |a: &(f32, String, String), b: &(f32, String, String)| {
            b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1))
        };
        if keep < scored.len() && keep > 0 {
            scored.select_nth_unstable_by(keep - 1, by_score);
            scored.truncate(keep);
        }
        scored.sort_by(by_score);
        let mut out: Vec<Keyword> = Vec::new();
        let mut covered: Vec<String> = Vec::new();
        for (score, key, surface) in scored {
            if out.len() >= self.o.keywords {
                break;
            }
            // Skip a phrase whose words are all inside an already chosen one.
            if key
                .split(' ')
                .all(|w| covered.iter().any(|c| c.split(' ').any(|x| x == w)))
            {
                continue;
            }
            covered.push(key);
            out.push(Keyword {
                text: surface,
                score,
            });
        }
        out
    }
}

impl Stage for Tagger {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        if !(self.o.trust_given_language && doc.lang.is_some()) {
            self.detect_languages(doc);
        }
        if self.o.keywords > 0 {
            doc.keywords = self.keywords(doc);
        }
        if let Some((lang, model)) = doc
            .lang
            .as_deref()
            .and_then(|l| self.ner.get_key_value(l))
            .map(|(l, m)| (l.clone(), Arc::clone(m)))
        {
            let mut cache = self.ner_cache.remove(&lang).unwrap_or_default();
            self.entities(&model, &mut cache, doc);
            self.ner_cache.insert(lang, cache);
        }
        if let Some(g) = &self.gazetteer {
            let found = g.find(&doc.text);
            overlay_entities(doc, found);
        }
        if self.o.group_entities && !doc.entities.is_empty() {
            let groups = group::group(&mut doc.entities);
            doc.meta.insert(
                "entity_groups".into(),
                serde_json::to_value(groups).unwrap_or_default(),
            );
        }
        Ok(Outcome::Keep)
    }
}

/// The language (`de` or `en`) whose stop words clearly dominate `text`, if any.
fn stopword_vote(text: &str) -> Option<&'static str> {
    let (de, en) = (
        crate::lexicon::stopwords_for("de"),
        crate::lexicon::stopwords_for("en"),
    );
    let (mut d, mut e) = (0, 0);
    let text = detectable(text);
    for w in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        let lw = w.to_lowercase();
        d += usize::from(de.contains(&lw));
        e += usize::from(en.contains(&lw));
    }
    if d >= e + 2 && d >= 2 * e {
        Some("de")
    } else if e >= d + 2 && e >= 2 * d {
        Some("en")
    } else {
        None
    }
}

/// The shipped entity models (`stages/models/ner-*.bin`, compiled in), parsed once per process.
fn shipped_models() -> FxHashMap<String, Arc<ner::NerModel>> {
    static MODELS: std::sync::OnceLock<FxHashMap<String, Arc<ner::NerModel>>> =
        std::sync::OnceLock::new();
    MODELS
        .get_or_init(|| {
            let mut m = FxHashMap::default();
            for (lang, bytes) in [
                ("de", &include_bytes!("../../models/ner-de.bin")[..]),
                ("en", &include_bytes!("../../models/ner-en.bin")[..]),
            ] {
                match ner::NerModel::from_bytes(bytes) {
                    Ok(model) => {
                        m.insert(lang.to_string(), Arc::new(model));
                    }
                    Err(e) => tracing::error!("shipped NER model for {lang} is unreadable: {e}"),
                }
            }
            m
        })
        .clone()
}

impl Tagger {
    /// Language of the document and of its paragraphs.
    fn detect_languages(&self, doc: &mut Document) {
        // Language per paragraph first; the document's language is their vote, weighted by
        // length and confidence (one detection pass over the text, not two). Without long
        // enough paragraphs, the whole text is detected.
        let paras: Vec<Span> = if !self.o.paragraph_languages {
            Vec::new()
        } else if doc.paragraphs.is_empty() {
            crate::segment::Segmenter::paragraphs(&doc.text)
        } else {
            doc.paragraphs.clone()
        };
        let raw: Vec<Option<(String, f64)>> = paras
            .iter()
            .map(|p| {
                let t = &doc.text[p.start..p.end];
                (t.chars().count() >= self.o.min_paragraph_chars).then(|| self.language(t))
            })
            .collect();
        let mut votes: FxHashMap<&str, f64> = FxHashMap::default();
        let mut weight_all = 0.0;
        for (p, r) in paras.iter().zip(&raw) {
            if let Some((l, c)) = r {
                let w = p.len() as f64;
                weight_all += w;
                if l != "und" {
                    *votes.entry(l.as_str()).or_insert(0.0) += w * c;
                }
            }
        }
        let (lang, conf) = match votes
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
        {
            Some((l, v)) => (l.to_string(), (v / weight_all.max(1.0)).min(1.0)),
            None => self.language(&doc.text),
        };
        doc.meta.insert(
            "lang_confidence".into(),
            ((conf * 1000.0).round() / 1000.0).into(),
        );
        if self.o.paragraph_languages {
            let mut per = Vec::new();
            let mut counts: FxHashMap<String, usize> = FxHashMap::default();
            for (p, r) in paras.iter().zip(raw) {
                let Some((mut l, c)) = r else {
                    per.push(serde_json::Value::Null);
                    continue;
                };
                let t = &doc.text[p.start..p.end];
                // A paragraph with little language in it (names, a signature, a rule of
                // slashes) takes the document's language unless its stop words disagree.
                if lang != "und"
                    && l != lang
                    && (l == "und" || c < 0.5)
                    && stopword_vote(t) != Some(l.as_str())
                {
                    l = lang.clone();
                }
                if l != "und" {
                    *counts.entry(l.clone()).or_insert(0) += 1;
                }
                per.push(l.into());
            }
            let total: usize = counts.values().sum();
            let minority = total - counts.values().copied().max().unwrap_or(0);
            if counts.len() > 1 && minority * 5 >= total.max(1) {
                doc.meta.insert("mixed_languages".into(), true.into());
            }
            doc.meta.insert("paragraph_langs".into(), per.into());
        }
        doc.lang = Some(lang);
    }

    /// Runs the entity model over each sentence (segmenting first if no `segment` stage
    /// ran) and puts its entities before the gazetteer's, which take precedence.
    fn entities(&self, model: &ner::NerModel, cache: &mut ner::NerCache, doc: &mut Document) {
        // Tag each paragraph as one sequence, with its sentence starts marked.
        let (paragraphs, sentences, tokens): (Vec<Span>, Vec<Span>, Vec<Span>) =
            if doc.tokens.is_empty() {
                let (p, s, t) = self.segmenter.segment(&doc.text);
                (p, s, t.iter().map(|t| t.span).collect())
            } else {
                let p = if doc.paragraphs.is_empty() {
                    crate::segment::Segmenter::paragraphs(&doc.text)
                } else {
                    doc.paragraphs.clone()
                };
                (
                    p,
                    doc.sentences.clone(),
                    doc.tokens.iter().map(|t| t.span).collect(),
                )
            };
        let text = &doc.text;
        let mut found = Vec::new();
        let mut words: Vec<&str> = Vec::new();
        let mut starts: Vec<bool> = Vec::new();
        let (mut k, mut si) = (0, 0);
        for p in &paragraphs {
            while k < tokens.len() && tokens[k].start < p.start {
                k += 1;
            }
            let first = k;
            while k < tokens.len() && tokens[k].end <= p.end {
                k += 1;
            }
            let toks = &tokens[first..k];
            words.clear();
            words.extend(toks.iter().filter_map(|t| text.get(t.start..t.end)));
            if words.len() != toks.len() || toks.is_empty() {
                continue;
            }
            starts.clear();
            for (j, t) in toks.iter().enumerate() {
                while si < sentences.len() && sentences[si].start < t.start {
                    si += 1;
                }
                let at_start = si < sentences.len() && sentences[si].start == t.start;
                starts.push(j == 0 || at_start);
            }
            for (a, b, ty) in model.entities_cached(cache, &words, &starts) {
                let span = Span::new(toks[a].start, toks[b - 1].end);
                found.push(Entity {
                    span,
                    label: ner::TYPES[ty].to_string(),
                    text: text[span.start..span.end].to_string(),
                    group: None,
                });
            }
        }
        // A name the model calls a person but the shipped place list knows (Belarus, Minsk)
        // is a place: the list is small and curated, the model's guess on an unseen name is not.
        for e in &mut found {
            if e.label == "PER" && ner::is_listed_place(&e.text) {
                e.label = "LOC".into();
            }
        }
        consistent_labels(&mut found);
        // A one-word name tagged elsewhere in the document is tagged where the model missed it.
        let single: FxHashMap<&str, String> = found
            .iter()
            .filter(|e| {
                !e.text.contains(' ') && e.text.chars().next().is_some_and(char::is_uppercase)
            })
            .map(|e| (e.text.as_str(), e.label.clone()))
            .collect();
        if !single.is_empty() {
            let mut extra = Vec::new();
            let mut j = 0;
            let mut sorted: Vec<Span> = found.iter().map(|e| e.span).collect();
            sorted.sort();
            for t in &tokens {
                while j < sorted.len() && sorted[j].end <= t.start {
                    j += 1;
                }
                let covered = j < sorted.len() && sorted[j].start < t.end;
                if covered {
                    continue;
                }
                if let Some(label) = text.get(t.start..t.end).and_then(|w| single.get(w)) {
                    extra.push(Entity {
                        span: *t,
                        label: label.clone(),
                        text: text[t.start..t.end].to_string(),
                        group: None,
                    });
                }
            }
            found.extend(extra);
        }
        overlay_entities(doc, found);
    }
}

/// One name, one label within a document: mentions with the same (case-folded) text take
/// the label most of them got ("MOSKAU" in a dateline follows "Moskau" in the text). Ties
/// keep each mention's own label.
fn consistent_labels(found: &mut [Entity]) {
    let mut votes: FxHashMap<String, FxHashMap<&'static str, usize>> = FxHashMap::default();
    for e in found.iter() {
        if let Some(l) = ner::TYPES.iter().find(|t| **t == e.label) {
            *votes
                .entry(e.text.to_lowercase())
                .or_default()
                .entry(l)
                .or_insert(0) += 1;
        }
    }
    for e in found.iter_mut() {
        let Some(v) = votes.get(&e.text.to_lowercase()) else {
            continue;
        };
        let total: usize = v.values().sum();
        if let Some((l, n)) = v.iter().max_by_key(|(_, n)| **n) {
            if n * 2 > total && e.label != *l {
                e.label = l.to_string();
            }
        }
    }
}

/// Puts `found` over the document's entities: earlier entities stay unless one of `found`
/// overlaps them; the result is sorted by span.
fn overlay_entities(doc: &mut Document, mut found: Vec<Entity>) {
    let earlier: Vec<Entity> = doc
        .entities
        .drain(..)
        .filter(|e| !found_overlaps(&found, e))
        .collect();
    found.extend(earlier);
    found.sort_by_key(|e| (e.span.start, e.span.end));
    doc.entities = found;
}

fn found_overlaps(found: &[Entity], e: &Entity) -> bool {
    found
        .iter()
        .any(|f| f.span.start < e.span.end && e.span.start < f.span.end)
}

/// The `tag` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "tag",
        "language (document and paragraphs), named entities (learnt model), keywords, gazetteer, entity grouping",
        |o: TagOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            for (i, l) in o.languages.iter().enumerate() {
                if to_whatlang(l).is_none() {
                    return Err(OptionsError::at(
                        &format!("languages.{i}"),
                        format!("unknown language code `{l}`"),
                    ));
                }
            }
            if o.languages.is_empty() {
                return Err(OptionsError::at("languages", "give at least one language"));
            }
            let mut t = Tagger::new(o.clone());
            if o.entities && !o.ner_models.is_empty() {
                let mut models = (*t.ner).clone();
                for (lang, path) in &o.ner_models {
                    let p = ctx.resolve(path);
                    let at = format!("ner_models.{lang}");
                    let bytes = std::fs::read(&p).map_err(|e| {
                        OptionsError::at(&at, format!("cannot read `{}`: {e}", p.display()))
                    })?;
                    let m = ner::NerModel::from_bytes(&bytes)
                        .map_err(|e| OptionsError::at(&at, format!("{}: {e}", p.display())))?;
                    models.insert(lang.clone(), Arc::new(m));
                }
                t.ner = Arc::new(models);
            }
            if let Some(path) = &o.gazetteer {
                let p = ctx.resolve(path);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    OptionsError::at("gazetteer", format!("cannot read `{}`: {e}", p.display()))
                })?;
                t.gazetteer = Some(Arc::new(Gazetteer::load(&text).map_err(|e| {
                    OptionsError::at("gazetteer", format!("{}: {e}", p.display()))
                })?));
            }
            Ok(Arc::new(move || Ok(Box::new(t.clone()) as Box<dyn Stage>)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_per_document_and_paragraph_and_mixed_flag() {
        let mut t = Tagger::new(TagOptions::default());
        let de = "Die Beziehungen zwischen Belarus und Russland können als ein Vorbild einer gleichberechtigten Zusammenarbeit dienen, erklärte das Ministerium.";
        let en = "The relations between Belarus and Russia can serve as a model of cooperation between equal partners, the ministry said on Tuesday.";
        let mut d = Document::from_text("x", format!("{de}\n\n{en}\n\n{de}"));
        t.process(&mut d).unwrap();
        assert_eq!(d.lang.as_deref(), Some("de"));
        assert_eq!(
            d.meta["paragraph_langs"],
            serde_json::json!(["de", "en", "de"])
        );
        assert_eq!(d.meta["mixed_languages"], true);
        let mut u = Document::from_text("u", "https://www.belta.by/ info@belta.by 12345");
        t.process(&mut u).unwrap();
        assert_eq!(u.lang.as_deref(), Some("und"));
    }

    #[test]
    fn keywords_prefer_repeated_multiword_phrases() {
        let mut t = Tagger::new(TagOptions::default());
        let text = "Der Einheitliche Wirtschaftsraum wächst. Im Einheitlichen Wirtschaftsraum handeln Belarus und Russland. \
                    Der Einheitliche Wirtschaftsraum ist wichtig für Minsk.";
        let mut d = Document::from_text("k", text);
        t.process(&mut d).unwrap();
        assert!(!d.keywords.is_empty());
        assert_eq!(
            d.keywords[0].text, "Einheitliche Wirtschaftsraum",
            "{:?}",
            d.keywords
        );
    }

    #[test]
    fn gazetteer_entities_at_word_boundaries() {
        let g = Gazetteer::load("PER\tPutin\nLOC\tMinsk\nORG\tNATO\n").unwrap();
        let e = g.find("Putin flog nach Minsk; Putinismus und NATO-Gipfel.");
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|x| (x.text.as_str(), x.label.as_str()))
            .collect();
        assert_eq!(got, [("Putin", "PER"), ("Minsk", "LOC"), ("NATO", "ORG")]);
        assert!(Gazetteer::load("no tab here").is_err());
    }
}
