//! The language of a text, a paragraph and a document: the shipped n-gram model
//! ([`super::langid`]) for the languages it was trained on, whatlang for text in a script
//! the model has no language for (Chinese, Arabic, Hindi, …); a declared language
//! (`<html lang>`, the source's `lang` field) as a prior; `languages` restricts the answer
//! without forcing it.

use std::sync::Arc;

use pipeline_core::{Document, Span};
use rustc_hash::FxHashMap;

use super::langid::LangModel;

/// ISO 639-1 codes and whatlang's ISO 639-3 ones, for every language whatlang knows (`nb`
/// and `no` both name Bokmål; answers use the first).
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
    ("nb", "nob"),
    ("no", "nob"),
    ("ko", "kor"),
    ("hi", "hin"),
    ("fa", "pes"),
    ("th", "tha"),
    ("vi", "vie"),
    ("id", "ind"),
    ("ka", "kat"),
    ("hy", "hye"),
    ("eo", "epo"),
    ("bn", "ben"),
    ("yi", "yid"),
    ("am", "amh"),
    ("jv", "jav"),
    ("mr", "mar"),
    ("kn", "kan"),
    ("sl", "slv"),
    ("mk", "mkd"),
    ("ta", "tam"),
    ("ur", "urd"),
    ("gu", "guj"),
    ("uz", "uzb"),
    ("pa", "pan"),
    ("az", "aze"),
    ("te", "tel"),
    ("ml", "mal"),
    ("or", "ori"),
    ("my", "mya"),
    ("ne", "nep"),
    ("si", "sin"),
    ("km", "khm"),
    ("tk", "tuk"),
    ("ak", "aka"),
    ("zu", "zul"),
    ("sn", "sna"),
    ("af", "afr"),
    ("la", "lat"),
    ("ca", "cat"),
    ("tl", "tgl"),
];

/// whatlang's language for an ISO 639-1 or 639-3 code.
pub fn to_whatlang(code: &str) -> Option<whatlang::Lang> {
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

/// The primary subtag of a declared language (`de-AT` → `de`, `EN_us` → `en`), if it is
/// two or three letters.
pub fn primary_subtag(declared: &str) -> Option<String> {
    let first = declared.split([',', ';']).next()?.trim();
    let primary = first.split(['-', '_']).next()?.to_ascii_lowercase();
    (2..=3)
        .contains(&primary.len())
        .then_some(primary)
        .filter(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A URL or e-mail address (not language, for detection).
fn is_address(w: &str) -> bool {
    w.contains("://") || w.starts_with("www.") || w.contains('@')
}

/// `text` without URLs, e-mail addresses and words with no letter, at most about
/// `max_bytes` long (cut after a word).
fn detectable(text: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes.saturating_add(32)));
    for w in crate::text::words::words(text) {
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

/// Letters of a text the model reads: past a few hundred its answer no longer changes
/// (sentences of 40–300 characters score as well as whole paragraphs), and the cost stays
/// bounded on long paragraphs.
const SAMPLE_LETTERS: usize = 400;

/// Prior probability that a declared language is right; spread evenly over the others.
const DECLARED_PRIOR: f64 = 0.5;

/// Bytes of text whatlang looks at (its cost grows with the text).
const WHATLANG_SAMPLE: usize = 400;

/// What detection found for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// The language (ISO 639-1 where one exists), or `und`.
    pub lang: String,
    /// Its probability (0–1).
    pub confidence: f64,
    /// The most probable language when it lies outside `languages` (and `lang` is `und`).
    pub outside: Option<String>,
}

/// Language detection as the tag stage's options set it.
#[derive(Clone)]
pub struct Detector {
    model: Arc<LangModel>,
    whatlang: Arc<whatlang::Detector>,
    /// Allowed languages (empty: all).
    allowed: Vec<String>,
    min_confidence: f64,
}

impl Detector {
    /// A detector with `model`, answering only `allowed` languages (empty: all) at
    /// `min_confidence` or more.
    pub fn new(model: Arc<LangModel>, allowed: Vec<String>, min_confidence: f64) -> Self {
        Detector {
            model,
            whatlang: Arc::new(whatlang::Detector::new()),
            allowed,
            min_confidence,
        }
    }

    /// Whether `code` is a language this detector can answer.
    pub fn knows(&self, code: &str) -> bool {
        self.model.position(code).is_some() || to_whatlang(code).is_some()
    }

    /// The language of `text`; `declared` (an ISO 639-1 code) is a prior.
    pub fn detect(&self, text: &str, declared: Option<&str>) -> Detected {
        let owned;
        let text = if text.contains("://") || text.contains('@') || text.contains("www.") {
            owned = detectable(text, usize::MAX);
            owned.as_str()
        } else {
            text
        };
        let l = self.model.languages().len();
        let prior = declared.and_then(|d| self.model.position(d)).map(|i| {
            let odds = DECLARED_PRIOR / (1.0 - DECLARED_PRIOR) * (l.max(2) - 1) as f64;
            (i, odds.ln())
        });
        let s = self.model.score(text, SAMPLE_LETTERS, prior);
        let (lang, conf) = if s.letters == 0 {
            ("und".to_string(), 0.0)
        } else if s.known_letters * 2 < s.letters {
            // Mostly letters the model never saw: a script it has no language for.
            match self.whatlang.detect(&detectable(text, WHATLANG_SAMPLE)) {
                Some(info) => (to_iso1(info.lang()), info.confidence()),
                None => ("und".to_string(), 0.0),
            }
        } else {
            match s.best() {
                Some((i, p)) => (self.model.languages()[i].clone(), p),
                None => ("und".to_string(), 0.0),
            }
        };
        if lang != "und" && !self.allowed.is_empty() && !self.allowed.contains(&lang) {
            return Detected {
                lang: "und".into(),
                confidence: conf,
                outside: Some(lang),
            };
        }
        if conf < self.min_confidence {
            return Detected {
                lang: "und".into(),
                confidence: conf,
                outside: None,
            };
        }
        Detected {
            lang,
            confidence: conf,
            outside: None,
        }
    }
}

/// Whether `t` has at least `n` characters (counts no further than `n`).
fn at_least_chars(t: &str, n: usize) -> bool {
    t.len() >= n && (n == 0 || t.chars().nth(n - 1).is_some())
}

/// The language the document declares: the source's (`declared.lang`), else `<html lang>`.
pub fn declared(doc: &Document) -> Option<String> {
    doc.declared
        .lang
        .as_deref()
        .or_else(|| doc.meta.get("html_lang").and_then(|v| v.as_str()))
        .and_then(primary_subtag)
}

/// Sets `doc.lang` and its `meta` (`lang_confidence`, `paragraph_langs`, `mixed_languages`,
/// `lang_declared`, `lang_disagrees`, `lang_outside`): paragraphs of `min_paragraph_chars`
/// or more are detected one by one and the document's language is their vote, weighted by
/// length and confidence; without such paragraphs the whole text is detected.
pub fn detect_document(
    det: &Detector,
    doc: &mut Document,
    per_paragraph: bool,
    min_paragraph_chars: usize,
) {
    let declared = declared(doc);
    let paras: Vec<Span> = if !per_paragraph {
        Vec::new()
    } else if doc.paragraphs.is_empty() {
        crate::segment::Segmenter::paragraphs(&doc.text)
    } else {
        doc.paragraphs.clone()
    };
    let raw: Vec<Option<Detected>> = paras
        .iter()
        .map(|p| {
            let t = &doc.text[p.start..p.end];
            at_least_chars(t, min_paragraph_chars).then(|| det.detect(t, declared.as_deref()))
        })
        .collect();
    let mut votes: FxHashMap<&str, f64> = FxHashMap::default();
    let mut outside: FxHashMap<&str, f64> = FxHashMap::default();
    let mut weight_all = 0.0;
    for (p, r) in paras.iter().zip(&raw) {
        if let Some(d) = r {
            let w = p.len() as f64;
            weight_all += w;
            if d.lang != "und" {
                *votes.entry(d.lang.as_str()).or_insert(0.0) += w * d.confidence;
            } else if let Some(o) = &d.outside {
                *outside.entry(o.as_str()).or_insert(0.0) += w * d.confidence;
            }
        }
    }
    let best = |m: &FxHashMap<&str, f64>| {
        m.iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(l, v)| (l.to_string(), (v / weight_all.max(1.0)).min(1.0)))
    };
    let whole = match (best(&votes), best(&outside)) {
        (Some((l, v)), o) if o.as_ref().is_none_or(|(_, ov)| v >= *ov) => Detected {
            lang: l,
            confidence: v,
            outside: None,
        },
        (_, Some((o, v))) => Detected {
            lang: "und".into(),
            confidence: v,
            outside: Some(o),
        },
        _ => det.detect(&doc.text, declared.as_deref()),
    };
    let lang = whole.lang.clone();
    doc.meta.insert(
        "lang_confidence".into(),
        ((whole.confidence * 1000.0).round() / 1000.0).into(),
    );
    if let Some(o) = &whole.outside {
        doc.meta.insert("lang_outside".into(), o.clone().into());
    }
    if let Some(d) = &declared {
        doc.meta.insert("lang_declared".into(), d.clone().into());
        if lang != "und" && *d != lang {
            doc.meta.insert("lang_disagrees".into(), true.into());
        }
    }
    if per_paragraph {
        let mut per = Vec::new();
        let mut counts: FxHashMap<String, usize> = FxHashMap::default();
        for r in raw {
            let Some(d) = r else {
                per.push(serde_json::Value::Null);
                continue;
            };
            // A paragraph with little language in it (names, a signature, a rule of
            // slashes) takes the document's language.
            let l = if lang != "und" && d.lang != lang && (d.lang == "und" || d.confidence < 0.5) {
                lang.clone()
            } else {
                d.lang
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(allowed: &[&str]) -> Detector {
        let m = super::super::langid::shipped()
            .expect("shipped model")
            .clone();
        Detector::new(
            Arc::new(m),
            allowed.iter().map(|s| s.to_string()).collect(),
            0.2,
        )
    }

    #[test]
    fn every_language_by_default_and_none_forced() {
        let all = shipped(&[]);
        let fr = "Le gouvernement français a annoncé mardi une réforme des retraites.";
        let es = "El presidente del Gobierno anunció el martes una nueva ley de vivienda.";
        assert_eq!(all.detect(fr, None).lang, "fr");
        assert_eq!(all.detect(es, None).lang, "es");
        // Scripts the model has no language for go to whatlang.
        assert_eq!(
            all.detect("北京是中华人民共和国的首都，也是全国的政治中心。", None)
                .lang,
            "zh"
        );
        assert_eq!(
            all.detect("القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها", None)
                .lang,
            "ar"
        );
        // Restricted to de/en, French is `und` with its candidate, never German or English.
        let de_en = shipped(&["de", "en"]);
        let d = de_en.detect(fr, None);
        assert_eq!((d.lang.as_str(), d.outside.as_deref()), ("und", Some("fr")));
    }

    #[test]
    fn declared_language_is_a_prior_not_an_order() {
        let all = shipped(&[]);
        // A headline that Danish and Swedish share letters with: the declaration decides.
        let short = "Regeringen vil have ny plan";
        assert_eq!(all.detect(short, Some("da")).lang, "da");
        // Clear text is not turned by a wrong declaration.
        let de = "Die Bundesregierung hat am Dienstag ein neues Gesetz beschlossen.";
        assert_eq!(all.detect(de, Some("en")).lang, "de");
    }

    #[test]
    fn declared_subtags() {
        assert_eq!(primary_subtag("de-AT").as_deref(), Some("de"));
        assert_eq!(primary_subtag("EN_us").as_deref(), Some("en"));
        assert_eq!(primary_subtag("fr, en;q=0.8").as_deref(), Some("fr"));
        assert_eq!(primary_subtag("x"), None);
        assert_eq!(primary_subtag("12"), None);
    }

    #[test]
    fn document_vote_meta_and_mixed_flag() {
        let det = shipped(&[]);
        let de = "Die Beziehungen zwischen Belarus und Russland können als ein Vorbild einer gleichberechtigten Zusammenarbeit dienen, erklärte das Ministerium.";
        let en = "The relations between Belarus and Russia can serve as a model of cooperation between equal partners, the ministry said on Tuesday.";
        let mut d = Document::from_text("x", format!("{de}\n\n{en}\n\n{de}"));
        d.declared.lang = Some("en-GB".into());
        detect_document(&det, &mut d, true, 100);
        assert_eq!(d.lang.as_deref(), Some("de"));
        assert_eq!(
            d.meta["paragraph_langs"],
            serde_json::json!(["de", "en", "de"])
        );
        assert_eq!(d.meta["mixed_languages"], true);
        assert_eq!(d.meta["lang_declared"], "en");
        assert_eq!(d.meta["lang_disagrees"], true);
        let mut u = Document::from_text("u", "https://www.belta.by/ info@belta.by 12345");
        detect_document(&det, &mut u, true, 100);
        assert_eq!(u.lang.as_deref(), Some("und"));
    }
}
