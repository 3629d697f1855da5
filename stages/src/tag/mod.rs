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
pub mod keywords;
pub mod ner;

use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};
use pipeline_core::{
    BuildContext, Document, Entity, OptionDoc, OptionsError, Outcome, PreparedStage, Span, Stage,
    StageError, StageOptions, TypedFactory,
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
    /// Longest keyword phrase, in words (at most 6).
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
            OptionDoc { name: "max_keyword_words", help: "longest keyword phrase, in words (at most 6)" },
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

/// A URL or e-mail address (not language, for detection).
fn is_address(w: &str) -> bool {
    w.contains("://") || w.starts_with("www.") || w.contains('@')
}

/// Hash of a word's exact bytes: the key of the per-worker word tables (keywords, the
/// entity tagger's word cache).
fn word_key(w: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(w.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

/// Text for language detection: URLs, e-mail addresses and numbers removed, at most about
/// `max_bytes` long (cut after a word).
fn detectable(text: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes.saturating_add(32)));
    for w in text.split_whitespace() {
        if is_address(w) || w.chars().all(|c| !c.is_alphabetic()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        if out.len() >= max_bytes {
            break;
        }
    }
    out
}

/// Bytes of a text that language detection looks at first. whatlang's cost grows with the
/// text (about 10 MB/s here) while its answer between a few allowed languages is settled
/// long before 250 bytes; a sample that leaves it unsure is retried on the whole text.
const DETECT_SAMPLE: usize = 250;

/// Confidence on the sample above which the whole text is not looked at.
const SAMPLE_CONFIDENT: f64 = 0.6;

/// The start of `text`: at most `max` bytes, cut before a space (or at a char boundary).
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &text[..end];
    match cut.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &text[..i],
        _ => cut,
    }
}

/// Whether `t` has at least `n` characters (counts no further than `n`).
fn at_least_chars(t: &str, n: usize) -> bool {
    t.len() >= n && (n == 0 || t.chars().nth(n - 1).is_some())
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

/// The tag stage.
#[derive(Clone)]
pub struct Tagger {
    o: TagOptions,
    detector: Arc<whatlang::Detector>,
    gazetteer: Option<Arc<Gazetteer>>,
    df: Arc<Mutex<keywords::DocFreq>>,
    /// Entity models by language code.
    ner: Arc<FxHashMap<String, Arc<ner::NerModel>>>,
    /// Per-worker word-score caches, one per entity model (language).
    ner_cache: FxHashMap<String, ner::NerCache>,
    segmenter: Arc<crate::segment::Segmenter>,
    /// Every allowed language is one whose stop words ship (de, en): text that is clearly
    /// one of them by its stop words is decided without whatlang (see [`stopwords_decide`]).
    stopwords_first: bool,
    /// Per-worker tables of the keyword extractor.
    kw: keywords::Scratch,
}

impl Tagger {
    /// A tagger with the given options and no gazetteer (unknown language codes are ignored).
    pub fn new(o: TagOptions) -> Self {
        let o_entities = o.entities;
        let stopwords_first = !o.languages.is_empty()
            && o.languages.iter().all(|l| l == "de" || l == "en")
            && o.languages.iter().any(|l| l == "de")
            && o.languages.iter().any(|l| l == "en");
        let langs: Vec<whatlang::Lang> =
            o.languages.iter().filter_map(|c| to_whatlang(c)).collect();
        Tagger {
            o,
            detector: Arc::new(whatlang::Detector::with_allowlist(langs)),
            gazetteer: None,
            df: Arc::new(Mutex::new(keywords::DocFreq::default())),
            ner: Arc::new(if o_entities {
                shipped_models()
            } else {
                FxHashMap::default()
            }),
            ner_cache: FxHashMap::default(),
            segmenter: Arc::new(crate::segment::Segmenter::new()),
            stopwords_first,
            kw: keywords::Scratch::default(),
        }
    }

    /// Language code and confidence of `text` (`und` below the threshold or when undetectable).
    pub fn language(&self, text: &str) -> (String, f64) {
        if self.stopwords_first {
            if let Some((lang, conf)) = stopwords_decide(text) {
                return (lang.to_string(), conf);
            }
        }
        let sample = detectable(text, DETECT_SAMPLE);
        let info = match self.detector.detect(&sample) {
            Some(info) if info.confidence() >= SAMPLE_CONFIDENT => Some(info),
            // The sample is all there is: its answer stands.
            first if sample.len() < DETECT_SAMPLE => first,
            _ => self.detector.detect(&detectable(text, usize::MAX)),
        };
        let (lang, conf) = match info {
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
}

impl Stage for Tagger {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        if !(self.o.trust_given_language && doc.lang.is_some()) {
            self.detect_languages(doc);
        }
        if self.o.keywords > 0 {
            doc.keywords = keywords::keywords(
                doc,
                doc.lang.as_deref() == Some("de"),
                self.o.keywords,
                self.o.max_keyword_words,
                &self.df,
                &mut self.kw,
            );
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
            doc.meta
                .insert("entity_groups".into(), group::into_json(groups));
        }
        Ok(Outcome::Keep)
    }
}

/// Stop words of a text: only German, only English, in both lists (`in`, `was`, `also`),
/// and all words.
#[derive(Debug, Default, PartialEq)]
struct StopCounts {
    de: usize,
    en: usize,
    both: usize,
    words: usize,
}

/// Stop-word counts of `text`, URLs, e-mail addresses and numbers left out. Lower-cases
/// each word into one reused buffer (no allocation per word).
fn stopword_counts(text: &str) -> StopCounts {
    let (table, longest) = crate::lexicon::stopword_langs();
    let mut c = StopCounts::default();
    let mut n = 0;
    let mut count = |key: &str| match table.get(key) {
        Some(1) => c.de += 1,
        Some(2) => c.en += 1,
        Some(_) => c.both += 1,
        None => {}
    };
    let mut lw = String::new();
    let mut ascii = [0u8; 32];
    for raw in text.split_ascii_whitespace() {
        if raw.len() > 4 && is_address(raw) {
            continue;
        }
        if raw.is_ascii() {
            // Fast path: runs of ASCII letters, lower-cased on the stack.
            let b = raw.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if !b[i].is_ascii_alphabetic() {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                n += 1;
                let w = &b[start..i];
                if w.len() > *longest || w.len() > ascii.len() {
                    continue;
                }
                let buf = &mut ascii[..w.len()];
                for (o, c) in buf.iter_mut().zip(w) {
                    *o = c.to_ascii_lowercase();
                }
                if let Ok(key) = std::str::from_utf8(buf) {
                    count(key);
                }
            }
            continue;
        }
        for w in raw
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            n += 1;
            // Lower-casing never shortens a word by more than a few bytes: a word over
            // twice the longest stop word cannot be one.
            if w.len() > 2 * longest {
                continue;
            }
            lw.clear();
            crate::lexicon::push_lowercase(&mut lw, w);
            count(&lw);
        }
    }
    c.words = n;
    c
}

/// The language (`de` or `en`) whose stop words clearly dominate `text`, if any.
fn stopword_vote(text: &str) -> Option<&'static str> {
    let c = stopword_counts(text);
    let (d, e) = (c.de + c.both, c.en + c.both);
    if d >= e + 2 && d >= 2 * e {
        Some("de")
    } else if e >= d + 2 && e >= 2 * d {
        Some("en")
    } else {
        None
    }
}

/// The language (`de` or `en`) that `text` is beyond doubt, by stop words alone: at least
/// three of its own (not shared with the other list), three times the other language's,
/// and with the shared ones a fifth of all words (running text
/// is 30–50% stop words; a list of names, a signature or text in a third language is not).
/// Returns the language and a confidence on whatlang's scale.
fn stopwords_decide(text: &str) -> Option<(&'static str, f64)> {
    // Sixty-odd words settle it; a long text is judged by its start (as whatlang's sample).
    let c = stopword_counts(prefix(text, 2 * DETECT_SAMPLE));
    let (lang, win, lose) = if c.de > c.en {
        ("de", c.de, c.en)
    } else {
        ("en", c.en, c.de)
    };
    // Words in both lists count toward the density, not toward either language.
    (win >= 3 && win >= 3 * lose && (win + c.both) * 5 >= c.words)
        .then(|| (lang, (1.0 - lose as f64 / win as f64).clamp(0.5, 1.0)))
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
                at_least_chars(t, self.o.min_paragraph_chars).then(|| self.language(t))
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
                // A name the model calls a person but the shipped place list knows
                // (Belarus, Minsk) is a place: the list is small and curated, the model's
                // guess on an unseen name is not.
                let label = match ner::TYPES[ty] {
                    "PER" if ner::is_listed_place(&words[a..b]) => "LOC",
                    l => l,
                };
                found.push(Entity {
                    span,
                    label: label.to_string(),
                    text: text[span.start..span.end].to_string(),
                    group: None,
                });
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
    fn stop_words_decide_only_clear_cases() {
        let de = "Der Präsident sagte am Montag, dass die Zusammenarbeit mit dem Nachbarland \
                  weiter ausgebaut werden soll, auch wenn es noch offene Fragen gibt.";
        let en = "The president said on Monday that the cooperation with the neighbouring \
                  country would be expanded, even though there are still open questions.";
        assert_eq!(stopwords_decide(de).map(|d| d.0), Some("de"));
        assert_eq!(stopwords_decide(en).map(|d| d.0), Some("en"));
        // Dutch shares a few function words with both lists but is neither: whatlang decides.
        let nl = "De president zei maandag dat de samenwerking met het buurland verder \
                  uitgebreid moet worden, ook al zijn er nog open vragen.";
        assert_eq!(stopwords_decide(nl), None);
        // A signature or a list of names has too few stop words to decide anything.
        let sig = "Traci Warner Enron Broadband Services, Inc. Phone (713) 853-3242 \
                   traci.warner@enron.com http://www.enron.com";
        assert_eq!(stopwords_decide(sig), None);
        // URLs and e-mail addresses do not count as words.
        assert_eq!(
            stopword_counts("und die http://x.de/und/die a@b.de der in"),
            StopCounts {
                de: 3,
                en: 0,
                both: 1,
                words: 4
            }
        );
    }

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
