//! Keywords: phrases of up to `max_words` content words (no stop words, numbers or
//! punctuation inside) within a sentence, scored by frequency × IDF (document frequencies
//! from the run so far, shared by all workers) with a bonus for recurring multi-word phrases
//! and capitalised phrases; top-k, skipping phrases whose words a better one already holds.
//!
//! Each distinct word of a document is looked up (and lower-cased) once; phrases are keyed by
//! word ids, and strings are built only for the keywords returned.

use std::cmp::Ordering;
use std::sync::Mutex;

use pipeline_core::{Document, Keyword, Span};
use rustc_hash::FxHashMap;

/// Longest phrase, in words (`max_keyword_words` is capped here).
pub const MAX_WORDS: usize = 6;

/// Document frequencies of keyword words over the run, shared by all workers.
#[derive(Default)]
pub struct DocFreq {
    docs: u64,
    df: FxHashMap<String, u64>,
}

/// No word (pads phrase keys shorter than [`MAX_WORDS`]).
const NONE: u32 = u32::MAX;

/// A phrase as word ids, padded with [`NONE`].
type Key = [u32; MAX_WORDS];

/// One distinct surface form of a document.
struct Surface<'a> {
    text: &'a str,
    /// Id of its lower-case form.
    lower: u32,
    /// A content word: three or more characters, a letter, not a stop word.
    content: bool,
}

/// The words of one document: surface forms and their lower-case forms, each stored once.
#[derive(Default)]
struct Vocab<'a> {
    surfaces: Vec<Surface<'a>>,
    surface_ids: FxHashMap<&'a str, u32>,
    lowers: Vec<std::borrow::Cow<'a, str>>,
    lower_ids: FxHashMap<std::borrow::Cow<'a, str>, u32>,
}

impl<'a> Vocab<'a> {
    fn surface(&mut self, w: &'a str) -> u32 {
        if let Some(&id) = self.surface_ids.get(w) {
            return id;
        }
        let unchanged = w.chars().all(|c| {
            let mut l = c.to_lowercase();
            l.next() == Some(c) && l.next().is_none()
        });
        let lower: std::borrow::Cow<'a, str> = if unchanged {
            w.into()
        } else {
            w.to_lowercase().into()
        };
        let content = w.chars().nth(2).is_some()
            && w.chars().any(char::is_alphabetic)
            && !crate::lexicon::stopwords().contains(lower.as_ref());
        let lower = match self.lower_ids.get(&lower) {
            Some(&id) => id,
            None => {
                let id = self.lowers.len() as u32;
                self.lowers.push(lower.clone());
                self.lower_ids.insert(lower, id);
                id
            }
        };
        let id = self.surfaces.len() as u32;
        self.surfaces.push(Surface {
            text: w,
            lower,
            content,
        });
        self.surface_ids.insert(w, id);
        id
    }

    /// The words of `key` (surface or lower-case ids, as `get` maps them) joined by spaces.
    fn join(&self, key: &Key, get: impl Fn(u32) -> &'a str) -> String {
        let mut s = String::new();
        for &id in key.iter().take_while(|&&i| i != NONE) {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(get(id));
        }
        s
    }
}

/// Compares two lower-case keys as their space-joined strings compare (without joining).
fn key_cmp(lowers: &[std::borrow::Cow<'_, str>], a: &Key, b: &Key) -> Ordering {
    fn bytes<'k>(
        lowers: &'k [std::borrow::Cow<'_, str>],
        k: &'k Key,
    ) -> impl Iterator<Item = u8> + 'k {
        k.iter()
            .take_while(|&&i| i != NONE)
            .enumerate()
            .flat_map(move |(j, &i)| {
                let sep: &[u8] = if j > 0 { b" " } else { b"" };
                sep.iter().chain(lowers[i as usize].as_bytes()).copied()
            })
    }
    bytes(lowers, a).cmp(bytes(lowers, b))
}

/// Counts of candidate phrases: lower-case key → (count, surface ids of the first occurrence).
type Counts = FxHashMap<Key, (u32, Key)>;

/// Counts every window of 1..=`max_words` words of `run` (surface ids) and empties it.
fn flush(run: &mut Vec<u32>, vocab: &Vocab<'_>, max_words: usize, counts: &mut Counts) {
    for n in 1..=max_words.min(run.len()) {
        for w in run.windows(n) {
            let mut key = [NONE; MAX_WORDS];
            let mut surface = [NONE; MAX_WORDS];
            for (i, &id) in w.iter().enumerate() {
                key[i] = vocab.surfaces[id as usize].lower;
                surface[i] = id;
            }
            counts.entry(key).or_insert((0, surface)).0 += 1;
        }
    }
    run.clear();
}

/// The top `k` keywords of `doc` (German phrases begin and end with a capitalised word);
/// adds the document's words to the shared document frequencies.
pub fn keywords(
    doc: &Document,
    german: bool,
    k: usize,
    max_words: usize,
    df: &Mutex<DocFreq>,
) -> Vec<Keyword> {
    let max_words = max_words.clamp(1, MAX_WORDS);
    let whole = [Span::new(0, doc.text.len())];
    let spans: &[Span] = if doc.sentences.is_empty() {
        &whole
    } else {
        &doc.sentences
    };
    let mut vocab = Vocab::default();
    let mut counts: Counts = FxHashMap::default();
    let mut run: Vec<u32> = Vec::new();
    for s in spans {
        let Some(sent) = doc.text.get(s.start..s.end) else {
            continue;
        };
        for raw in sent.split_whitespace() {
            let w = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
            let opens = raw.starts_with(['(', '„', '"', '“']);
            let breaks = opens || raw.ends_with([',', '.', ';', ':', '!', '?', ')', '“', '"', '”']);
            let id = vocab.surface(w);
            if vocab.surfaces[id as usize].content {
                if opens {
                    flush(&mut run, &vocab, max_words, &mut counts);
                }
                run.push(id);
            } else {
                flush(&mut run, &vocab, max_words, &mut counts);
            }
            if breaks {
                flush(&mut run, &vocab, max_words, &mut counts);
            }
        }
        flush(&mut run, &vocab, max_words, &mut counts);
    }

    // Update and read document frequencies of the content words.
    let mut is_content = vec![false; vocab.lowers.len()];
    for s in &vocab.surfaces {
        if s.content {
            is_content[s.lower as usize] = true;
        }
    }
    let mut idf = vec![1.0f32; vocab.lowers.len()];
    {
        let mut df = df.lock().unwrap_or_else(|p| p.into_inner());
        df.docs += 1;
        let n = df.docs;
        for (id, lower) in vocab.lowers.iter().enumerate() {
            if !is_content[id] {
                continue;
            }
            let c = match df.df.get_mut(lower.as_ref()) {
                Some(c) => {
                    *c += 1;
                    *c
                }
                None => {
                    df.df.insert(lower.to_string(), 1);
                    1
                }
            };
            idf[id] = (((n + 1) as f32) / (c as f32)).ln() + 1.0;
        }
    }

    let cap = |id: u32| {
        vocab.surfaces[id as usize]
            .text
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
    };
    let mut scored: Vec<(f32, Key, Key)> = counts
        .into_iter()
        .filter_map(|(key, (freq, surface))| {
            let len = key.iter().take_while(|&&i| i != NONE).count();
            let parts = &key[..len];
            // German key phrases begin and end with a capitalised word (nouns, names):
            // "Einheitlicher Wirtschaftsraum", not "Integration treu geblieben".
            if german && !(cap(surface[0]) && cap(surface[len - 1])) {
                return None;
            }
            if parts.windows(2).any(|w| w[0] == w[1]) {
                return None;
            }
            let mean_idf = parts.iter().map(|&p| idf[p as usize]).sum::<f32>() / len as f32;
            let capital_bonus = if cap(surface[0]) { 1.2 } else { 1.0 };
            // Longer phrases earn their bonus only by recurring.
            let multi = if freq >= 2 {
                1.0 + 0.6 * (len as f32 - 1.0)
            } else {
                1.0
            };
            Some((freq as f32 * mean_idf * multi * capital_bonus, key, surface))
        })
        .collect();
    // Only the best few are needed: select them, then sort that slice.
    let by_score = |a: &(f32, Key, Key), b: &(f32, Key, Key)| {
        b.0.total_cmp(&a.0)
            .then_with(|| key_cmp(&vocab.lowers, &a.1, &b.1))
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
        let words = key.iter().take_while(|&&i| i != NONE);
        if words.clone().all(|w| covered.contains(w)) {
            continue;
        }
        covered.extend(words);
        out.push(Keyword {
            text: vocab.join(&surface, |id| vocab.surfaces[id as usize].text),
            score,
        });
    }
    out
}
