//! Shipped document frequencies, one table per language: keyword weights that do not depend
//! on which documents a run saw before, so a document gets the same keywords whatever the
//! order, the shard, the worker count or a resume after a kill. Counted by `textpipe train
//! idf` from JSONL documents with `lang` (the UD development texts and Klexikon articles
//! of `../shared/eval/`), deterministically, and compiled in like the other models.

use crate::bytes::{Reader, Truncated};

const MAGIC: &[u8; 8] = b"TPIDF001";

/// A word must be in this many training documents to be stored: the others weigh as unseen.
const MIN_DF: u32 = 2;

/// Document frequencies of one language, by [`key`] of the lower-case word.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LangDf {
    /// Documents counted.
    docs: u32,
    /// Word keys, sorted.
    keys: Vec<u64>,
    /// Documents holding each word.
    dfs: Vec<u32>,
}

impl LangDf {
    /// `ln((N + 1) / (df + 1)) + 1` for a lower-case word (the most for an unseen one).
    pub fn idf(&self, key: u64) -> f32 {
        let df = self.keys.binary_search(&key).map_or(0, |i| self.dfs[i]);
        ((f64::from(self.docs) + 1.0) / (f64::from(df) + 1.0)).ln() as f32 + 1.0
    }
}

/// Document frequencies by language.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdfTable {
    langs: Vec<(String, LangDf)>,
}

/// A file that cannot be read as an [`IdfTable`].
#[derive(Debug, thiserror::Error)]
#[error("not a textpipe document-frequency table, or a truncated one")]
pub struct IdfError;

impl From<Truncated> for IdfError {
    fn from(_: Truncated) -> Self {
        IdfError
    }
}

/// The table key of a lower-case word (a stable hash: the table is shipped).
pub fn key(lower: &str) -> u64 {
    pipeline_core::stable_hash(lower.as_bytes())
}

/// The distinct lower-case words of `text`, as the keyword extractor cuts them.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split_whitespace()
        .map(super::keywords::word_of)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut s = String::new();
            crate::text::lower::push_lowercase(&mut s, w);
            s
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl IdfTable {
    /// Counts `(language, text)` documents: per language, how many documents hold each word.
    pub fn train<'a>(docs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut by_lang: std::collections::BTreeMap<&str, (u32, rustc_hash::FxHashMap<u64, u32>)> =
            std::collections::BTreeMap::new();
        for (lang, text) in docs {
            let e = by_lang.entry(lang).or_default();
            e.0 += 1;
            for w in words(text) {
                *e.1.entry(key(&w)).or_insert(0) += 1;
            }
        }
        let langs = by_lang
            .into_iter()
            .map(|(lang, (docs, counts))| {
                let mut kept: Vec<(u64, u32)> =
                    counts.into_iter().filter(|&(_, n)| n >= MIN_DF).collect();
                kept.sort_unstable();
                let (keys, dfs) = kept.into_iter().unzip();
                (lang.to_string(), LangDf { docs, keys, dfs })
            })
            .collect();
        IdfTable { langs }
    }

    /// The table of `lang`, if it was trained.
    pub fn lang(&self, lang: &str) -> Option<&LangDf> {
        self.langs.iter().find(|(l, _)| l == lang).map(|(_, t)| t)
    }

    /// Languages and their document and word counts.
    pub fn sizes(&self) -> Vec<(&str, u32, usize)> {
        (self.langs.iter())
            .map(|(l, t)| (l.as_str(), t.docs, t.keys.len()))
            .collect()
    }

    /// The table as bytes: magic, languages, then per language its code, documents and
    /// (key, df) pairs in key order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&(self.langs.len() as u32).to_le_bytes());
        for (lang, t) in &self.langs {
            b.extend_from_slice(&(lang.len() as u32).to_le_bytes());
            b.extend_from_slice(lang.as_bytes());
            b.extend_from_slice(&t.docs.to_le_bytes());
            b.extend_from_slice(&(t.keys.len() as u32).to_le_bytes());
            for (k, d) in t.keys.iter().zip(&t.dfs) {
                b.extend_from_slice(&k.to_le_bytes());
                b.extend_from_slice(&d.to_le_bytes());
            }
        }
        b
    }

    /// Reads a table written by [`IdfTable::to_bytes`]; keys out of order are an error.
    pub fn from_bytes(b: &[u8]) -> Result<Self, IdfError> {
        let mut r = Reader::new(b);
        if r.take(8)? != MAGIC {
            return Err(IdfError);
        }
        let n = r.u32()?;
        let mut langs = Vec::new();
        for _ in 0..n {
            let len = r.u32()? as usize;
            let lang = std::str::from_utf8(r.take(len)?).map_err(|_| IdfError)?;
            let docs = r.u32()?;
            let m = r.u32()? as usize;
            let (mut keys, mut dfs) = (Vec::new(), Vec::new());
            for _ in 0..m {
                keys.push(r.u64()?);
                dfs.push(r.u32()?);
            }
            if keys.windows(2).any(|w| w[0] >= w[1]) {
                return Err(IdfError);
            }
            langs.push((lang.to_string(), LangDf { docs, keys, dfs }));
        }
        if !r.at_end() {
            return Err(IdfError);
        }
        Ok(IdfTable { langs })
    }
}

/// The shipped table (`stages/models/idf.bin`), parsed once per process.
pub fn shipped() -> Option<&'static IdfTable> {
    static T: std::sync::OnceLock<Option<IdfTable>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        crate::bytes::shipped(
            "document-frequency table",
            IdfTable::from_bytes(include_bytes!("../../models/idf.bin")),
        )
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_weigh_less_than_rare_ones_and_the_table_reads_back() {
        let t = shipped().expect("shipped table");
        for lang in ["de", "en", "es", "fr", "it", "nl", "pl", "pt"] {
            assert!(t.lang(lang).is_some(), "{lang}");
        }
        let de = t.lang("de").unwrap();
        // "regierung" is in many German documents, a made-up word in none.
        assert!(de.idf(key("regierung")) < de.idf(key("quarkwolkenschieber")));
        assert_eq!(IdfTable::from_bytes(&t.to_bytes()).unwrap(), *t);
        assert!(IdfTable::from_bytes(&t.to_bytes()[..100]).is_err());
    }
}
