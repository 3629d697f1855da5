//! `eval mojibake`: mojibake made from real sentences of many languages, and the repair
//! scored on it. Each sentence with a non-ASCII letter is encoded as UTF-8 and decoded with
//! a wrong code page, once, twice and three times; one word of it alone; one sentence of a pair alone
//! (the other stays correct). Every clean sentence is also a negative: repair must leave it
//! as it is. Reported per code page and per language.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use textpipe_stages::decode::chars::CharModel;
use textpipe_stages::decode::{DecodeOptions, Decoder};

use crate::lang::{fold_of, held_out};
use crate::{gold_files, pct, read_jsonl, s, EvalError, Report};

/// A code page mojibake is made with; `common` ones carry the issue's 99% bar.
struct Page {
    name: &'static str,
    common: bool,
    decode: fn(&[u8]) -> String,
}

fn with(enc: &'static encoding_rs::Encoding, b: &[u8]) -> String {
    enc.decode_without_bom_handling(b).0.into_owned()
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&x| char::from(x)).collect()
}

fn cp437(b: &[u8]) -> String {
    let upper: Vec<char> = textpipe_stages::decode::mojibake::CP437.chars().collect();
    b.iter()
        .map(|&x| {
            if x < 0x80 {
                char::from(x)
            } else {
                upper[usize::from(x - 0x80)]
            }
        })
        .collect()
}

const PAGES: &[Page] = &[
    Page {
        name: "windows-1252",
        common: true,
        decode: |b| with(encoding_rs::WINDOWS_1252, b),
    },
    Page {
        name: "latin-1",
        common: true,
        decode: latin1,
    },
    Page {
        name: "windows-1250",
        common: true,
        decode: |b| with(encoding_rs::WINDOWS_1250, b),
    },
    Page {
        name: "windows-1251",
        common: true,
        decode: |b| with(encoding_rs::WINDOWS_1251, b),
    },
    Page {
        name: "macroman",
        common: true,
        decode: |b| with(encoding_rs::MACINTOSH, b),
    },
    Page {
        name: "cp437",
        common: true,
        decode: cp437,
    },
    Page {
        name: "iso-8859-2",
        common: false,
        decode: |b| with(encoding_rs::ISO_8859_2, b),
    },
    Page {
        name: "iso-8859-15",
        common: false,
        decode: |b| with(encoding_rs::ISO_8859_15, b),
    },
    Page {
        name: "windows-1253",
        common: false,
        decode: |b| with(encoding_rs::WINDOWS_1253, b),
    },
    Page {
        name: "windows-1254",
        common: false,
        decode: |b| with(encoding_rs::WINDOWS_1254, b),
    },
    Page {
        name: "windows-1257",
        common: false,
        decode: |b| with(encoding_rs::WINDOWS_1257, b),
    },
    Page {
        name: "koi8-r",
        common: false,
        decode: |b| with(encoding_rs::KOI8_R, b),
    },
];

/// `text` as UTF-8 read with `page`; `None` where a byte has no character there (the
/// mojibake would have lost it).
fn break_with(page: &Page, text: &str) -> Option<String> {
    let out = (page.decode)(text.as_bytes());
    (!out.contains('\u{FFFD}') && out != text).then_some(out)
}

/// One gold record: its key (language and id, for folds), language and sentences, and
/// the number of sentences before it (which code page breaks a sentence goes by this, the
/// same in every fold).
pub struct Record {
    key: String,
    lang: String,
    sents: Vec<String>,
    turn: usize,
}

impl Record {
    /// The record's text: its sentences joined by spaces.
    pub fn text(&self) -> String {
        self.sents.join(" ")
    }
}

/// The records of the gold files: the `sentences` of each, or its `text`.
pub fn read_records(paths: &[PathBuf]) -> Result<Vec<Record>, EvalError> {
    let files = gold_files(paths, "jsonl")?;
    let mut out = Vec::new();
    let mut turn = 0;
    for f in &files {
        for r in read_jsonl(f)? {
            let lang = s(&r, "lang").to_string();
            let sents: Vec<String> = match r["sentences"].as_array() {
                Some(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
                None => vec![s(&r, "text").to_string()],
            };
            let sents: Vec<String> = sents.into_iter().filter(|t| !t.is_empty()).collect();
            if !lang.is_empty() && !sents.is_empty() {
                let key = format!("{lang}/{}", s(&r, "id"));
                let n = sents.len();
                out.push(Record {
                    key,
                    lang,
                    sents,
                    turn,
                });
                turn += n;
            }
        }
    }
    if out.is_empty() {
        return Err(EvalError::Gold {
            path: format!("{paths:?}"),
            message: "no record with `lang` and `sentences` or `text`".into(),
        });
    }
    Ok(out)
}

/// The character model trained on `records` (their texts).
pub fn train_chars(records: &[&Record]) -> CharModel {
    let texts: Vec<(&str, String)> = records
        .iter()
        .map(|r| (r.lang.as_str(), r.text()))
        .collect();
    CharModel::train(texts.iter().map(|(l, t)| (*l, t.as_str())))
}

/// Exact repairs out of cases, keyed.
#[derive(Default)]
struct Tally(BTreeMap<String, (usize, usize)>);

impl Tally {
    fn add(&mut self, key: &str, ok: bool) {
        let e = self.0.entry(key.to_string()).or_default();
        e.0 += usize::from(ok);
        e.1 += 1;
    }
    fn rate(&self, key: &str) -> Option<f64> {
        self.0.get(key).map(|&(a, n)| a as f64 / n.max(1) as f64)
    }
    fn json(&self) -> Value {
        self.0
            .iter()
            .map(|(k, &(a, n))| {
                (
                    k.clone(),
                    json!({"exact": a, "cases": n, "rate": a as f64 / n.max(1) as f64}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Everything counted over the records scored.
#[derive(Default)]
struct Tallies {
    /// Kind × page.
    by_page: BTreeMap<&'static str, Tally>,
    /// Single breaks with a common page, by language.
    by_lang: Tally,
    negatives: Tally,
    /// Broken sentences and negatives, by language (all kinds, all pages).
    per_lang_kind: BTreeMap<String, Tally>,
    altered: Vec<Value>,
    misses: Vec<Value>,
    misses_per: BTreeMap<(String, String), usize>,
}

impl Tallies {
    fn note_miss(&mut self, kind: &str, page: &str, broken: &str, got: &str, want: &str) {
        let n = self
            .misses_per
            .entry((kind.to_string(), page.to_string()))
            .or_default();
        *n += 1;
        if *n <= 3 {
            self.misses.push(
                json!({"kind": kind, "page": page, "broken": broken, "got": got, "want": want}),
            );
        }
    }

    fn case(&mut self, page: &Page, lang: &str, kind: &str, broken: &str, got: &str, want: &str) {
        let ok = got == want;
        self.by_page.entry(page.name).or_default().add(kind, ok);
        if page.common {
            self.per_lang_kind
                .entry(lang.to_string())
                .or_default()
                .add(kind, ok);
        }
        if !ok {
            self.note_miss(kind, page.name, broken, got, want);
        }
    }

    /// Breaks and repairs every sentence of `rec` with `dec`.
    fn score(&mut self, rec: &Record, dec: &Decoder) {
        let repair = |t: &str| {
            let mut n = 0;
            dec.repair_text(t.to_string(), true, &mut n)
        };
        let lang = rec.lang.as_str();
        for (i, sent) in rec.sents.iter().enumerate() {
            // C1 controls are Windows-1252 punctuation left in Latin-1 text: not clean.
            if sent.is_ascii() || sent.chars().any(|c| ('\u{80}'..='\u{9F}').contains(&c)) {
                continue;
            }
            let got = repair(sent);
            self.negatives.add(lang, got == *sent);
            if got != *sent && self.altered.len() < 40 {
                self.altered
                    .push(json!({"lang": lang, "text": sent, "got": got}));
            }
            // One page per sentence, in turn over the whole gold set, so each page sees
            // every language.
            let page = &PAGES[(rec.turn + i) % PAGES.len()];
            if let Some(once) = break_with(page, sent) {
                let got = repair(&once);
                self.case(page, lang, "once", &once, &got, sent);
                if page.common {
                    self.by_lang.add(lang, got == *sent);
                }
                if let Some(twice) = break_with(page, &once) {
                    let got = repair(&twice);
                    self.case(page, lang, "twice", &twice, &got, sent);
                    if let Some(thrice) = break_with(page, &twice) {
                        let got = repair(&thrice);
                        self.case(page, lang, "three times", &thrice, &got, sent);
                    }
                }
            }
            // One word broken, the rest correct.
            if let Some((a, b)) = first_non_ascii_word(sent) {
                if let Some(w) = break_with(page, &sent[a..b]) {
                    let mixed = format!("{}{w}{}", &sent[..a], &sent[b..]);
                    let got = repair(&mixed);
                    self.case(page, lang, "one word", &mixed, &got, sent);
                }
            }
            // One sentence of two broken, the other correct.
            if let Some(next) = rec.sents.get(i + 1) {
                if let Some(w) = break_with(page, next) {
                    let want = format!("{sent} {next}");
                    let mixed = format!("{sent} {w}");
                    let got = repair(&mixed);
                    self.case(page, lang, "one sentence", &mixed, &got, &want);
                }
            }
        }
    }

    /// Exact rates of the common pages, per kind.
    fn common(&self) -> Tally {
        let mut common = Tally::default();
        for p in PAGES.iter().filter(|p| p.common) {
            if let Some(t) = self.by_page.get(p.name) {
                for (k, &(a, n)) in &t.0 {
                    let e = common.0.entry(k.clone()).or_default();
                    e.0 += a;
                    e.1 += n;
                }
            }
        }
        common
    }

    fn altered_count(&self) -> (usize, usize) {
        let (ok, n) = self
            .negatives
            .0
            .values()
            .fold((0, 0), |(a, n), &(x, y)| (a + x, n + y));
        (n - ok, n)
    }

    /// One line: the common pages' rate per kind and the clean sentences altered.
    fn summary(&self) -> String {
        let common = self.common();
        let mut line = String::from("common pages:");
        for k in KINDS {
            if let Some(r) = common.rate(k) {
                line.push_str(&format!(" {k} {}", pct(r)));
            }
        }
        let (alt, n) = self.altered_count();
        line.push_str(&format!("; clean sentences altered {alt} of {n}"));
        line
    }

    fn text(&self, head: &str) -> String {
        let mut text = format!("{head}; exact repairs:\n  {:<14}", "page");
        for k in KINDS {
            text.push_str(&format!(" {k:>13}"));
        }
        text.push('\n');
        for p in PAGES {
            let Some(t) = self.by_page.get(p.name) else {
                continue;
            };
            text.push_str(&format!(
                "  {:<14}",
                format!("{}{}", p.name, if p.common { "" } else { " *" })
            ));
            for k in KINDS {
                match (t.rate(k), t.0.get(k)) {
                    (Some(r), Some(&(_, n))) => {
                        text.push_str(&format!(" {:>13}", format!("{} /{n}", pct(r))))
                    }
                    _ => text.push_str(&format!(" {:>13}", "-")),
                }
            }
            text.push('\n');
        }
        text.push_str("  (* not one of the six common pages)\n");
        text.push_str("  common pages, per language:\n");
        for (l, t) in &self.per_lang_kind {
            text.push_str(&format!("    {l:<3}"));
            for k in KINDS {
                if let Some(r) = t.rate(k) {
                    text.push_str(&format!(" {k} {}", pct(r)));
                }
            }
            text.push('\n');
        }
        text.push_str(&format!("  {}\n", self.summary()));
        let worst_lang = self
            .by_lang
            .0
            .iter()
            .map(|(l, &(a, n))| (a as f64 / n.max(1) as f64, l))
            .fold(None, |m: Option<(f64, &String)>, x| match m {
                Some(m) if m.0 <= x.0 => Some(m),
                _ => Some(x),
            });
        if let Some((r, l)) = worst_lang {
            text.push_str(&format!(
                "  once, common pages, worst language: {l} {}\n",
                pct(r)
            ));
        }
        for a in self.altered.iter().take(10) {
            text.push_str(&format!(
                "  ALTERED [{}] {} → {}\n",
                a["lang"], a["text"], a["got"]
            ));
        }
        for m in self.misses.iter().take(10) {
            text.push_str(&format!(
                "  miss {} {}: {} → {}\n",
                m["kind"], m["page"], m["broken"], m["got"]
            ));
        }
        text
    }

    fn json(&self) -> Value {
        let pages: BTreeMap<&str, Value> =
            self.by_page.iter().map(|(p, t)| (*p, t.json())).collect();
        let per_lang: BTreeMap<&str, Value> = self
            .per_lang_kind
            .iter()
            .map(|(l, t)| (l.as_str(), t.json()))
            .collect();
        json!({"pages": pages, "common": self.common().json(), "once_per_language": self.by_lang.json(),
            "common_per_language": per_lang, "negatives_per_language": self.negatives.json(),
            "altered": self.altered, "misses": self.misses})
    }
}

const KINDS: [&str; 5] = ["once", "twice", "three times", "one word", "one sentence"];

/// `eval mojibake --gold FILE_OR_DIR…`: every record repaired with the shipped model.
pub fn mojibake(paths: &[PathBuf]) -> Result<Report, EvalError> {
    let dec = Decoder::new(DecodeOptions::repair_only());
    let records = read_records(paths)?;
    let mut t = Tallies::default();
    for r in &records {
        t.score(r, &dec);
    }
    let mut json = t.json();
    json["task"] = "mojibake".into();
    Ok(Report {
        json,
        text: t.text(&format!(
            "mojibake made from {} records' sentences ({paths:?}), shipped character model",
            records.len()
        )),
    })
}

/// `eval mojibake --folds K`: the character model trained on K−1 folds of the records
/// (by record), the held-out fold repaired; a tenth of the records, set aside by hash, is
/// repaired once by a model trained on all the rest.
pub fn mojibake_cv(paths: &[PathBuf], folds: usize) -> Result<Report, EvalError> {
    let folds = folds.max(2);
    let records = read_records(paths)?;
    let (aside, rest): (Vec<&Record>, Vec<&Record>) =
        records.iter().partition(|r| held_out(&r.key));
    let mut cv = Tallies::default();
    for f in 0..folds {
        let (test, train): (Vec<&Record>, Vec<&Record>) =
            rest.iter().partition(|r| fold_of(&r.key, folds) == f);
        let dec = Decoder::new(DecodeOptions::repair_only())
            .with_char_model(Arc::new(train_chars(&train)));
        for r in test {
            cv.score(r, &dec);
        }
    }
    let dec =
        Decoder::new(DecodeOptions::repair_only()).with_char_model(Arc::new(train_chars(&rest)));
    let mut last = Tallies::default();
    for r in &aside {
        last.score(r, &dec);
    }
    let mut text = cv.text(&format!(
        "mojibake from {} records ({paths:?}), {folds} folds by record, a tenth ({} records) set aside",
        rest.len(),
        aside.len()
    ));
    text.push_str(&format!("  set-aside tenth: {}\n", last.summary()));
    Ok(Report {
        json: json!({"task": "mojibake", "folds": folds, "cv": cv.json(), "set_aside": last.json()}),
        text,
    })
}

/// Byte range of the first word with a non-ASCII letter.
fn first_non_ascii_word(t: &str) -> Option<(usize, usize)> {
    let mut start = None;
    for (i, c) in t.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(a) = start.take() {
            if !t[a..i].is_ascii() {
                return Some((a, i));
            }
        }
    }
    start.filter(|&a| !t[a..].is_ascii()).map(|a| (a, t.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_as_the_code_pages_do() {
        let p = PAGES.iter().find(|p| p.name == "windows-1252").unwrap();
        assert_eq!(break_with(p, "Grüße").as_deref(), Some("GrÃ¼ÃŸe"));
        assert_eq!(break_with(p, "plain"), None);
        let l = PAGES.iter().find(|p| p.name == "latin-1").unwrap();
        assert_eq!(
            break_with(l, "„x“").as_deref(),
            Some("â\u{80}\u{9e}xâ\u{80}\u{9c}")
        );
        assert_eq!(first_non_ascii_word("Die Grünen in Köln"), Some((4, 11)));
        assert_eq!(first_non_ascii_word("plain text"), None);
    }
}
