//! `eval mojibake`: mojibake made from real sentences of many languages, and the repair
//! scored on it. Each sentence with a non-ASCII letter is encoded as UTF-8 and decoded with
//! a wrong code page, once and twice; one word of it alone; one sentence of a pair alone
//! (the other stays correct). Every clean sentence is also a negative: repair must leave it
//! as it is. Reported per code page and per language.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use textpipe_stages::decode::{DecodeOptions, Decoder};

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

/// Sentences by language: the `sentences` of each record, or its `text`.
fn read_sentences(paths: &[PathBuf]) -> Result<Vec<(String, Vec<String>)>, EvalError> {
    let files = gold_files(paths, "jsonl")?;
    let mut out = Vec::new();
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
                out.push((lang, sents));
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

/// `eval mojibake --gold FILE_OR_DIR…`.
pub fn mojibake(paths: &[PathBuf]) -> Result<Report, EvalError> {
    let dec = Decoder::new(DecodeOptions::repair_only());
    let repair = |t: &str| {
        let mut n = 0;
        dec.repair_text(t.to_string(), true, &mut n)
    };
    let records = read_sentences(paths)?;
    // Kind × page, and language for single breaks.
    let mut by_page: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_lang = Tally::default();
    let mut negatives = Tally::default();
    let mut altered: Vec<Value> = Vec::new();
    let mut misses: Vec<Value> = Vec::new();
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut note_miss = |kind: &str, page: &str, broken: &str, got: &str, want: &str| {
        let n = per.entry((kind.to_string(), page.to_string())).or_default();
        *n += 1;
        if *n <= 3 {
            misses.push(
                json!({"kind": kind, "page": page, "broken": broken, "got": got, "want": want}),
            );
        }
    };
    let mut turn = 0usize;
    for (lang, sents) in &records {
        for (i, sent) in sents.iter().enumerate() {
            // C1 controls are Windows-1252 punctuation left in Latin-1 text: not clean.
            if sent.is_ascii() || sent.chars().any(|c| ('\u{80}'..='\u{9F}').contains(&c)) {
                continue;
            }
            let got = repair(sent);
            negatives.add(lang, got == *sent);
            if got != *sent && altered.len() < 40 {
                altered.push(json!({"lang": lang, "text": sent, "got": got}));
            }
            // One page per sentence, in turn over the whole run, so each page sees every
            // language.
            let page = &PAGES[turn % PAGES.len()];
            turn += 1;
            let t = by_page.entry(page.name).or_default();
            if let Some(once) = break_with(page, sent) {
                let got = repair(&once);
                t.add("once", got == *sent);
                if page.common {
                    by_lang.add(lang, got == *sent);
                }
                if got != *sent {
                    note_miss("once", page.name, &once, &got, sent);
                }
                if let Some(twice) = break_with(page, &once) {
                    let got = repair(&twice);
                    t.add("twice", got == *sent);
                    if got != *sent {
                        note_miss("twice", page.name, &twice, &got, sent);
                    }
                }
            }
            // One word broken, the rest correct.
            if let Some((a, b)) = first_non_ascii_word(sent) {
                if let Some(w) = break_with(page, &sent[a..b]) {
                    let mixed = format!("{}{w}{}", &sent[..a], &sent[b..]);
                    let got = repair(&mixed);
                    t.add("one word", got == *sent);
                    if got != *sent {
                        note_miss("one word", page.name, &mixed, &got, sent);
                    }
                }
            }
            // One sentence of two broken, the other correct.
            if let Some(next) = sents.get(i + 1) {
                if let Some(w) = break_with(page, next) {
                    let want = format!("{sent} {next}");
                    let mixed = format!("{sent} {w}");
                    let got = repair(&mixed);
                    t.add("one sentence", got == want);
                    if got != want {
                        note_miss("one sentence", page.name, &mixed, &got, &want);
                    }
                }
            }
        }
    }
    let kinds = ["once", "twice", "one word", "one sentence"];
    let mut text = format!(
        "mojibake made from {} records' sentences ({:?}); exact repairs:\n  {:<14}",
        records.len(),
        paths,
        "page"
    );
    for k in kinds {
        text.push_str(&format!(" {k:>13}"));
    }
    text.push('\n');
    let mut common = Tally::default();
    for p in PAGES {
        let Some(t) = by_page.get(p.name) else {
            continue;
        };
        text.push_str(&format!(
            "  {:<14}",
            format!("{}{}", p.name, if p.common { "" } else { " *" })
        ));
        for k in kinds {
            match (t.rate(k), t.0.get(k)) {
                (Some(r), Some(&(_, n))) => {
                    text.push_str(&format!(" {:>13}", format!("{} /{n}", pct(r))))
                }
                _ => text.push_str(&format!(" {:>13}", "-")),
            }
            if p.common {
                if let Some(&(a, n)) = t.0.get(k) {
                    let e = common.0.entry(k.to_string()).or_default();
                    e.0 += a;
                    e.1 += n;
                }
            }
        }
        text.push('\n');
    }
    text.push_str("  (* not one of the six common pages)\n  common pages:");
    for k in kinds {
        if let Some(r) = common.rate(k) {
            text.push_str(&format!(" {k} {}", pct(r)));
        }
    }
    text.push('\n');
    let worst_lang = by_lang
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
    let (neg_ok, neg_n) = negatives
        .0
        .values()
        .fold((0, 0), |(a, n), &(x, y)| (a + x, n + y));
    text.push_str(&format!(
        "  clean sentences altered: {} of {neg_n}\n",
        neg_n - neg_ok
    ));
    for a in altered.iter().take(10) {
        text.push_str(&format!(
            "  ALTERED [{}] {} → {}\n",
            a["lang"], a["text"], a["got"]
        ));
    }
    for m in misses.iter().take(10) {
        text.push_str(&format!(
            "  miss {} {}: {} → {}\n",
            m["kind"], m["page"], m["broken"], m["got"]
        ));
    }
    let pages: BTreeMap<&str, Value> = by_page.iter().map(|(p, t)| (*p, t.json())).collect();
    Ok(Report {
        json: json!({"task": "mojibake", "pages": pages, "common": common.json(), "once_per_language": by_lang.json(),
            "negatives_per_language": negatives.json(), "altered": altered, "misses": misses}),
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
