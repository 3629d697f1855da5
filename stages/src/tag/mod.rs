//! Stage `tag`: language (per document and per paragraph), keywords, gazetteer entities and
//! grouping of entity variants.
//!
//! - Language ([`language`]): the shipped character n-gram model ([`langid`]) over every
//!   language it knows, whatlang for scripts it has none for; a declared language is a
//!   prior; `languages` restricts the answer (others are `und`, never forced); a document
//!   whose long paragraphs are in different languages is flagged (`meta.mixed_languages`).
//!   Keywords run only for languages with a shipped stop-word list, entities only for
//!   languages with a model.
//! - Keywords: phrases of up to three content words (no stop words, numbers or punctuation
//!   inside), scored by frequency × IDF (document frequencies from the run so far, shared by
//!   all workers) with a bonus for multi-word phrases; top-k.
//! - Entities: names from a user gazetteer (`LABEL<TAB>name` lines), matched with
//!   aho-corasick at word boundaries; variants of one entity (`W. Putin`, `Wladimir Putin`,
//!   `Putin`) are grouped with mention counts in `meta.entity_groups`.

pub mod group;
pub mod idf;
pub mod keywords;
pub mod langid;
pub mod language;
pub mod ner;

use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};
use pipeline_core::{
    BuildContext, Document, Entity, OptionsError, Outcome, PreparedStage, Span, Stage, StageError,
    TypedFactory,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pipeline_core::options! {
    /// Options of the `tag` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct TagOptions {
        /// Languages to answer (ISO 639-1 or 639-3), e.g. ["de", "en"]; empty: every language
        /// known; others are "und" (candidate in meta.lang_outside).
        pub languages: Vec<String> = Vec::new(),
        /// Below this confidence (0–1) the language is "und".
        pub min_confidence: f64 = 0.2,
        /// Detect each paragraph's language too (meta.paragraph_langs).
        pub paragraph_languages: bool = true,
        /// Shorter paragraphs are not detected on their own.
        pub min_paragraph_chars: usize = 100,
        /// Number of keywords (0: none).
        pub keywords: usize = 10,
        /// Longest keyword phrase, in words (at most 6).
        pub max_keyword_words: usize = 3,
        /// File of names to tag, "LABEL<TAB>name" per line (relative to the config file).
        pub gazetteer: Option<String> = None,
        /// Group variants of one entity (meta.entity_groups).
        pub group_entities: bool = true,
        /// Keep a language the document already has (or declares: source `lang` field, <html lang>)
        /// instead of detecting it.
        pub trust_given_language: bool = false,
        /// Tag named entities (PER, LOC, ORG, MISC) with the learnt model of the document's
        /// language (shipped: de, en).
        pub entities: bool = true,
        /// Entity models by language instead of the shipped ones, e.g. { de = "my-ner.bin" } (from
        /// `textpipe train ner`).
        pub ner_models: std::collections::BTreeMap<String, String> = Default::default(),
        /// Language model instead of the shipped one (from `textpipe train lang`).
        pub lang_model: Option<String> = None,
        /// Keyword weights: "shipped" document frequencies per language (same keywords whatever the
        /// order or shard) or "run" (this run's documents so far; depends on order).
        pub idf: String = "shipped".into(),
    }
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
    detector: language::Detector,
    gazetteer: Option<Arc<Gazetteer>>,
    df: Arc<Mutex<keywords::DocFreq>>,
    /// Entity models by language code.
    ner: Arc<FxHashMap<String, Arc<ner::NerModel>>>,
    /// Per-worker word-score caches, one per entity model (language).
    ner_cache: FxHashMap<String, ner::NerCache>,
    segmenter: Arc<crate::segment::Segmenter>,
    /// Per-worker tables of the keyword extractor.
    kw: keywords::Scratch,
}

impl Tagger {
    /// A tagger with the given options, the shipped language model and no gazetteer.
    pub fn new(o: TagOptions) -> Self {
        let model = langid::shipped()
            .cloned()
            .unwrap_or_else(|| langid::train(std::iter::empty(), &langid::TrainOptions::default()));
        Self::with_lang_model(o, Arc::new(model))
    }

    /// A tagger with the given options and language model.
    pub fn with_lang_model(o: TagOptions, model: Arc<langid::LangModel>) -> Self {
        let o_entities = o.entities;
        Tagger {
            detector: language::Detector::new(model, o.languages.clone(), o.min_confidence),
            o,
            gazetteer: None,
            df: Arc::new(Mutex::new(keywords::DocFreq::default())),
            ner: Arc::new(if o_entities {
                shipped_models()
            } else {
                FxHashMap::default()
            }),
            ner_cache: FxHashMap::default(),
            segmenter: Arc::new(crate::segment::Segmenter::new()),
            kw: keywords::Scratch::default(),
        }
    }

    /// Language code and confidence of `text` (`und` below the threshold, outside
    /// `languages` or when undetectable).
    pub fn language(&self, text: &str) -> (String, f64) {
        let d = self.detector.detect(text, None);
        (d.lang, d.confidence)
    }
}

impl Stage for Tagger {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        if self.o.trust_given_language && doc.lang.is_none() {
            doc.lang = language::declared(doc);
        }
        if !(self.o.trust_given_language && doc.lang.is_some()) {
            language::detect_document(
                &self.detector,
                doc,
                self.o.paragraph_languages,
                self.o.min_paragraph_chars,
            );
        }
        // Keywords need the language's stop words; entities its model.
        let has_stopwords = doc
            .lang
            .as_deref()
            .is_some_and(crate::text::stopwords::has_stopwords);
        if self.o.keywords > 0 && has_stopwords {
            let shipped = (self.o.idf == "shipped")
                .then(|| idf::shipped()?.lang(doc.lang.as_deref()?))
                .flatten();
            let weights = match shipped {
                Some(t) => keywords::Weights::Table(t),
                None => keywords::Weights::Run(&self.df),
            };
            doc.keywords = keywords::keywords(
                doc,
                doc.lang.as_deref() == Some("de"),
                self.o.keywords,
                self.o.max_keyword_words,
                weights,
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

    /// Keywords weighed by the run's own document frequencies (`idf = "run"`, or a
    /// language without a shipped table) depend on the documents before.
    fn remembers(&self) -> bool {
        let unshipped = |l: &&str| idf::shipped().and_then(|t| t.lang(l)).is_none();
        self.o.keywords > 0
            && (self.o.idf != "shipped"
                || crate::text::stopwords::STOPWORD_LANGS.iter().any(unshipped))
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
    /// Runs the entity model over each sentence and puts its entities before the
    /// gazetteer's, which take precedence. The plan puts a `segment` stage before tag; the
    /// text is segmented here only when a stage in between changed it (which clears the
    /// tokens) or tag runs outside a pipeline.
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
            if !matches!(o.idf.as_str(), "shipped" | "run") {
                return Err(OptionsError::at(
                    "idf",
                    format!("unknown `{}`: \"shipped\" or \"run\"", o.idf),
                ));
            }
            let mut t = Tagger::new(o.clone());
            if let Some(path) = &o.lang_model {
                let p = ctx.resolve(path);
                let bytes = std::fs::read(&p).map_err(|e| {
                    OptionsError::at("lang_model", format!("cannot read `{}`: {e}", p.display()))
                })?;
                let m = langid::LangModel::from_bytes(&bytes)
                    .map_err(|e| OptionsError::at("lang_model", format!("{}: {e}", p.display())))?;
                t = Tagger::with_lang_model(o.clone(), Arc::new(m));
            }
            for (i, l) in o.languages.iter().enumerate() {
                if !t.detector.knows(l) {
                    return Err(OptionsError::at(
                        &format!("languages.{i}"),
                        format!("unknown language code `{l}`"),
                    ));
                }
            }
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
    .with_needs(&["tokens"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_specific_work_only_where_we_have_it() {
        let mut t = Tagger::new(TagOptions::default());
        // Finnish: no entity model, no stop-word list; detected, but no entities or keywords.
        let fi = "Helsingin kaupunginvaltuusto päätti keskiviikkona, että Mannerheimintien \
                  raitiotie rakennetaan Pasilaan vuoteen 2030 mennessä. Pormestari Juhana \
                  Vartiainen kertoi Helsingin Sanomille, että päätös oli yksimielinen.";
        let mut d = Document::from_text("fi", fi);
        t.process(&mut d).unwrap();
        assert_eq!(d.lang.as_deref(), Some("fi"));
        assert!(d.entities.is_empty(), "{:?}", d.entities);
        assert!(d.keywords.is_empty(), "{:?}", d.keywords);
        // German has both.
        let de = "Der russische Präsident Wladimir Putin traf am Dienstag in Minsk den \
                  belarussischen Präsidenten Alexander Lukaschenko.";
        let mut d = Document::from_text("de", de);
        t.process(&mut d).unwrap();
        assert_eq!(d.lang.as_deref(), Some("de"));
        assert!(!d.entities.is_empty());
        assert!(!d.keywords.is_empty());
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
    fn a_documents_keywords_do_not_depend_on_the_documents_before_it() {
        let seed = |n: &str| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../seeds/");
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            let i: usize = n.parse().unwrap();
            Document::from_text(n, std::fs::read_to_string(&names[i]).unwrap())
        };
        let keywords = |idf: &str, order: &[&str]| {
            let mut t = Tagger::new(TagOptions {
                idf: idf.into(),
                entities: false,
                ..TagOptions::default()
            });
            let mut last = Vec::new();
            for n in order {
                let mut d = seed(n);
                t.process(&mut d).unwrap();
                last = d
                    .keywords
                    .iter()
                    .map(|k| (k.text.clone(), k.score))
                    .collect();
            }
            last
        };
        let alone = keywords("shipped", &["0"]);
        assert!(alone.len() >= 5, "{alone:?}");
        assert_eq!(keywords("shipped", &["1", "2", "3", "0"]), alone);
        // With the run's own frequencies, what came before changes the weights.
        assert_ne!(
            keywords("run", &["1", "2", "3", "0"]),
            keywords("run", &["0"])
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
