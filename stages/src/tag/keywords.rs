//! Keywords: phrases of up to `max_words` content words (no stop words, numbers or
//! punctuation inside) within a sentence, scored by frequency × IDF (document frequencies
//! of the shipped table of the document's language, or of the run so far, shared by all
//! workers) with a bonus for recurring multi-word phrases and capitalised phrases; top-k,
//! skipping phrases whose words a better one already holds.
//!
//! Each distinct word of a document is looked up and lower-cased once; words are known by
//! 64-bit hashes of their exact and lower-case forms (hand-rolled rather than a string
//! interner: no allocation per word, and the tables are kept from document to document), and
//! phrases by word ids. Strings are built only for the keywords returned.

use std::cmp::Ordering;
use std::sync::Mutex;

use pipeline_core::{Document, Keyword, Span};
use rustc_hash::FxHashMap;

/// Longest phrase, in words (`max_keyword_words` is capped here).
pub const MAX_WORDS: usize = 6;

/// Document frequencies of keyword words over the run (by lower-case word hash), shared by
/// all workers.
#[derive(Default)]
pub struct DocFreq {
    docs: u64,
    df: FxHashMap<u64, u64>,
}

/// The word of a whitespace-separated token: punctuation around it trimmed, hyphens kept.
/// The shipped document frequencies ([`super::idf`]) are counted over the same words.
pub(crate) fn word_of(raw: &str) -> &str {
    raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
}

/// Where the words' document frequencies come from.
pub enum Weights<'a> {
    /// A shipped table of the document's language: the same keywords in every run.
    Table(&'a super::idf::LangDf),
    /// The documents of this run so far (this one included), shared by the workers.
    Run(&'a Mutex<DocFreq>),
}

/// No word (pads phrase keys shorter than [`MAX_WORDS`]).
const NONE: u32 = u32::MAX;

/// A phrase as word ids, padded with [`NONE`].
type Key = [u32; MAX_WORDS];

/// One distinct surface form of the current document.
#[derive(Clone, Copy)]
struct Surface {
    /// Byte range in the document text.
    start: u32,
    end: u32,
    /// Id of its lower-case form.
    lower: u32,
    /// A content word: three or more characters, a letter, not a stop word.
    content: bool,
    /// Starts with an upper-case letter.
    capital: bool,
}

/// Per-worker tables, emptied (not freed) for each document.
#[derive(Default, Clone)]
pub struct Scratch {
    surfaces: Vec<Surface>,
    surface_ids: FxHashMap<u64, u32>,
    /// Lower-case form id → (a surface with that form, content word).
    lowers: Vec<(u32, bool)>,
    lower_ids: FxHashMap<u64, u32>,
    lower_hashes: Vec<u64>,
    counts: FxHashMap<Key, (u32, Key)>,
    run: Vec<u32>,
    idf: Vec<f32>,
    buf: String,
}

impl Scratch {
    fn clear(&mut self) {
        self.surfaces.clear();
        self.surface_ids.clear();
        self.lowers.clear();
        self.lower_ids.clear();
        self.lower_hashes.clear();
        self.counts.clear();
        self.run.clear();
    }

    /// Id of surface form `w` (a slice of `text`).
    fn surface(&mut self, text: &str, w: &str) -> u32 {
        let key = super::word_key(w);
        if let Some(&id) = self.surface_ids.get(&key) {
            return id;
        }
        let id = self.surfaces.len() as u32;
        self.buf.clear();
        crate::text::lower::push_lowercase(&mut self.buf, w);
        let lower_key = super::word_key(&self.buf);
        let content = w.chars().nth(2).is_some()
            && w.chars().any(char::is_alphabetic)
            && !crate::text::stopwords::stopwords().contains(self.buf.as_str());
        let lower = match self.lower_ids.get(&lower_key) {
            Some(&l) => l,
            None => {
                let l = self.lowers.len() as u32;
                self.lowers.push((id, content));
                self.lower_hashes.push(lower_key);
                self.lower_ids.insert(lower_key, l);
                l
            }
        };
        let start = (w.as_ptr() as usize - text.as_ptr() as usize) as u32;
        self.surfaces.push(Surface {
            start,
            end: start + w.len() as u32,
            lower,
            content,
            capital: w.chars().next().is_some_and(char::is_uppercase),
        });
        self.surface_ids.insert(key, id);
        id
    }

    /// Counts every window of 1..=`max_words` words of the run (surface ids) and empties it.
    /// With `german`, windows that do not begin and end with a capitalised word are left
    /// out (they could not become keywords).
    fn flush(&mut self, max_words: usize, german: bool) {
        for n in 1..=max_words.min(self.run.len()) {
            for w in self.run.windows(n) {
                if german
                    && !(self.surfaces[w[0] as usize].capital
                        && self.surfaces[w[n - 1] as usize].capital)
                {
                    continue;
                }
                let mut key = [NONE; MAX_WORDS];
                let mut surface = [NONE; MAX_WORDS];
                for (i, &id) in w.iter().enumerate() {
                    key[i] = self.surfaces[id as usize].lower;
                    surface[i] = id;
                }
                self.counts.entry(key).or_insert((0, surface)).0 += 1;
            }
        }
        self.run.clear();
    }
}

/// The words of a key.
fn words(key: &Key) -> impl Iterator<Item = &u32> + Clone {
    key.iter().take_while(|&&i| i != NONE)
}

/// Compares two lower-case keys as their space-joined lower-case strings compare (code
/// point order is UTF-8 byte order), without building them.
fn key_cmp(text: &str, s: &Scratch, a: &Key, b: &Key) -> Ordering {
    fn chars<'k>(text: &'k str, s: &'k Scratch, k: &'k Key) -> impl Iterator<Item = char> + 'k {
        words(k).enumerate().flat_map(move |(j, &l)| {
            let sf = s.surfaces[s.lowers[l as usize].0 as usize];
            let w = &text[sf.start as usize..sf.end as usize];
            (j > 0)
                .then_some(' ')
                .into_iter()
                .chain(w.chars().flat_map(char::to_lowercase))
        })
    }
    chars(text, s, a).cmp(chars(text, s, b))
}

/// The top `k` keywords of `doc` (German phrases begin and end with a capitalised word);
/// with [`Weights::Run`], adds the document's words to the run's document frequencies.
///
/// One pass over the sentences with the candidate phrases' state, which is why it is long.
pub fn keywords(
    doc: &Document,
    german: bool,
    k: usize,
    max_words: usize,
    weights: Weights<'_>,
    s: &mut Scratch,
) -> Vec<Keyword> {
    let max_words = max_words.clamp(1, MAX_WORDS);
    let text = doc.text.as_str();
    let whole = [Span::new(0, text.len())];
    let spans: &[Span] = if doc.sentences.is_empty() {
        &whole
    } else {
        &doc.sentences
    };
    s.clear();
    for sp in spans {
        let Some(sent) = text.get(sp.start..sp.end) else {
            continue;
        };
        for raw in crate::text::words::words(sent) {
            let w = word_of(raw);
            let opens = raw.starts_with(['(', '„', '"', '“']);
            let breaks = opens || raw.ends_with([',', '.', ';', ':', '!', '?', ')', '“', '"', '”']);
            let id = s.surface(text, w);
            if s.surfaces[id as usize].content {
                if opens {
                    s.flush(max_words, german);
                }
                s.run.push(id);
            } else {
                s.flush(max_words, german);
            }
            if breaks {
                s.flush(max_words, german);
            }
        }
        s.flush(max_words, german);
    }

    // Update and read document frequencies of the content words.
    s.idf.clear();
    s.idf.resize(s.lowers.len(), 1.0);
    match weights {
        Weights::Table(t) => {
            for (id, &(surface, content)) in s.lowers.iter().enumerate() {
                if content {
                    let sf = s.surfaces[surface as usize];
                    s.buf.clear();
                    let w = &text[sf.start as usize..sf.end as usize];
                    crate::text::lower::push_lowercase(&mut s.buf, w);
                    s.idf[id] = t.idf(super::idf::key(&s.buf));
                }
            }
        }
        Weights::Run(df) => {
            let mut df = df.lock().unwrap_or_else(|p| p.into_inner());
            df.docs += 1;
            let n = df.docs;
            for (id, &(_, content)) in s.lowers.iter().enumerate() {
                if content {
                    let c = df.df.entry(s.lower_hashes[id]).or_insert(0);
                    *c += 1;
                    s.idf[id] = (((n + 1) as f32) / (*c as f32)).ln() + 1.0;
                }
            }
        }
    }

    let cap = |id: u32| s.surfaces[id as usize].capital;
    let mut scored: Vec<(f32, Key, Key)> = s
        .counts
        .iter()
        .filter_map(|(key, &(freq, surface))| {
            let len = words(key).count();
            let parts = &key[..len];
            // German key phrases begin and end with a capitalised word (nouns, names):
            // "Einheitlicher Wirtschaftsraum", not "Integration treu geblieben".
            if german && !(cap(surface[0]) && cap(surface[len - 1])) {
                return None;
            }
            if parts.windows(2).any(|w| w[0] == w[1]) {
                return None;
            }
            // A phrase is in no more documents than its rarest word, so its IDF is at least
            // that word's: the most its words' frequencies tell.
            let idf = parts
                .iter()
                .map(|&p| s.idf[p as usize])
                .fold(0.0f32, f32::max);
            let capital_bonus = if cap(surface[0]) { 1.2 } else { 1.0 };
            // Longer phrases earn their bonus only by recurring.
            let multi = if freq >= 2 {
                1.0 + 0.6 * (len as f32 - 1.0)
            } else {
                1.0
            };
            Some((freq as f32 * idf * multi * capital_bonus, *key, surface))
        })
        .collect();
    // Only the best few are needed: select them, then sort that slice.
    let by_score = |a: &(f32, Key, Key), b: &(f32, Key, Key)| {
        b.0.total_cmp(&a.0)
            .then_with(|| key_cmp(text, s, &a.1, &b.1))
    };
    let keep = (k * 8).min(scored.len());
    if keep < scored.len() && keep > 0 {
        scored.select_nth_unstable_by(keep - 1, by_score);
        scored.truncate(keep);
    }
    scored.sort_by(by_score);
    let mut out: Vec<Keyword> = Vec::new();
    let mut covered: Vec<u32> = Vec::new();
    for (score, key, surface) in scored {
        if out.len() >= k {
            break;
        }
        // Skip a phrase whose words are all inside an already chosen one.
        if words(&key).all(|w| covered.contains(w)) {
            continue;
        }
        covered.extend(words(&key));
        let mut phrase = String::new();
        for &id in words(&surface) {
            let sf = s.surfaces[id as usize];
            if !phrase.is_empty() {
                phrase.push(' ');
            }
            phrase.push_str(&text[sf.start as usize..sf.end as usize]);
        }
        out.push(Keyword {
            text: phrase,
            score,
        });
    }
    out
}
