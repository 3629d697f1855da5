//! Duplicates across a run: exact (hash of the cleaned text) and near (one-permutation
//! MinHash over 5-word shingles with LSH banding), plus lines repeated across documents of one source.
//! The state is shared by all workers of the stage behind mutexes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use pipeline_core::Document;
use rustc_hash::{FxHashMap, FxHasher};

use crate::text::lower::push_lowercase;

/// Values in a MinHash signature.
pub const HASHES: usize = 64;
/// LSH bands a signature is bucketed by (documents sharing a band's values are compared).
pub const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// The bucket key of band `band` of a signature.
pub fn band_key(sig: &[u64; HASHES], band: usize) -> u64 {
    h64(&sig[band * ROWS..(band + 1) * ROWS], band as u64)
}

/// The key exact duplicates share, as the duplicate check computes it: of the text's
/// words in order (white space between them does not count).
pub fn exact_key(text: &str) -> u64 {
    let mut words = WordHashes::with_capacity(text.len());
    for w in super::words(text) {
        words.add(w);
    }
    finish(words.exact.finish())
}

fn h64<T: Hash + ?Sized>(x: &T, seed: u64) -> u64 {
    let mut h = FxHasher::default();
    seed.hash(&mut h);
    x.hash(&mut h);
    finish(h.finish())
}

/// Finalises an FxHash value (FxHash is weak in the low and high bits; splitmix64 mix).
fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of a word in lower case (`char::to_lowercase`, as [`push_lowercase`] gives it).
/// ASCII words are lower-cased eight bytes at a time in the register; other words go through
/// `scratch`. Not finalised: it only feeds [`shingle_hash`], which is.
fn word_hash(w: &str, scratch: &mut String) -> u64 {
    if w.is_ascii() {
        return mix_chunks(0, w.as_bytes(), ascii_lower8);
    }
    scratch.clear();
    push_lowercase(scratch, w);
    mix_chunks(0, scratch.as_bytes(), |x| x)
}

/// FxHash's multiplier.
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Finalised hash of a shingle (consecutive word hashes).
fn shingle_hash(words: &[u64]) -> u64 {
    finish(words.iter().fold(0u64, |h, &x| mix(h, x)))
}

/// One FxHash step.
#[inline(always)]
fn mix(h: u64, x: u64) -> u64 {
    (h ^ x).wrapping_mul(K).rotate_left(26)
}

/// Eight ASCII bytes lower-cased at once (SWAR): 0x20 added to each byte in `A..=Z`.
#[inline(always)]
fn ascii_lower8(x: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    let low = x & LO7;
    let at_least_a = low + 0x3f3f_3f3f_3f3f_3f3f; // high bit set where byte >= b'A'
    let above_z = low + 0x2525_2525_2525_2525; // high bit set where byte > b'Z'
    let upper = at_least_a & !above_z & !x & HI;
    x | (upper >> 2)
}

/// FxHash-style mixing of `b` into `h`, eight bytes at a time, each chunk (zero-padded at
/// the end) passed through `f` first (hand-written: hashing short words through
/// `Hasher::write` cost more than the rest of the duplicate check; reading chunks straight
/// from the word, not from a buffer written byte by byte, avoids store-forwarding stalls).
#[inline(always)]
fn mix_chunks(mut h: u64, b: &[u8], f: impl Fn(u64) -> u64) -> u64 {
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = mix(h, f(u64::from_le_bytes(a)));
    }
    let r = chunks.remainder();
    if !r.is_empty() {
        let mut a = [0u8; 8];
        a[..r.len()].copy_from_slice(r);
        h = mix(h, f(u64::from_le_bytes(a)));
    }
    h
}

/// What the duplicate check needs of a text, gathered word by word: the key of the
/// white-space-normalised text (exact duplicates) and each word's hash (the signature).
pub struct WordHashes {
    exact: FxHasher,
    words: Vec<u64>,
    /// Lower-casing buffer for non-ASCII words.
    scratch: String,
}

impl Default for WordHashes {
    fn default() -> Self {
        let mut exact = FxHasher::default();
        exact.write_u64(7);
        WordHashes {
            exact,
            words: Vec::new(),
            scratch: String::new(),
        }
    }
}

impl WordHashes {
    /// Room for about `bytes / 6` words.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut w = Self::default();
        w.words.reserve(bytes / 6);
        w
    }

    /// Adds the text's next word.
    pub fn add(&mut self, w: &str) {
        // 0xFF never occurs in UTF-8: an unambiguous word separator.
        self.exact.write(w.as_bytes());
        self.exact.write_u8(0xFF);
        self.words.push(word_hash(w, &mut self.scratch));
    }
}

/// Bits of a shingle hash that choose its bin (64 bins).
const BIN_SHIFT: u32 = 64 - HASHES.trailing_zeros();

/// MinHash signature of a text's 5-word shingles (lower-cased words), by one-permutation
/// hashing: each shingle is hashed once, its top six bits choose one of 64 bins and the
/// rest compete for that bin's minimum (64 times fewer operations than 64 hash functions,
/// the same estimator of Jaccard similarity). Empty bins borrow from the next filled bin
/// to the right, offset by the distance (densification by rotation, Shrivastava & Li 2014),
/// so short texts still compare bin by bin.
pub fn signature(text: &str) -> [u64; HASHES] {
    let mut scratch = String::new();
    let words: Vec<u64> = super::words(text)
        .map(|w| word_hash(w, &mut scratch))
        .collect();
    signature_of(&words)
}

/// [`signature`] from the words' hashes ([`word_hash`]).
fn signature_of(words: &[u64]) -> [u64; HASHES] {
    let mut sig = [u64::MAX; HASHES];
    let mut add = |h: u64| {
        let bin = (h >> BIN_SHIFT) as usize;
        let v = h & ((1u64 << BIN_SHIFT) - 1);
        if v < sig[bin] {
            sig[bin] = v;
        }
    };
    if words.len() < 5 {
        add(shingle_hash(words));
    } else {
        for w in words.windows(5) {
            add(shingle_hash(w));
        }
    }
    let filled = sig;
    for (i, slot) in sig.iter_mut().enumerate() {
        if *slot != u64::MAX {
            continue;
        }
        if let Some(d) = (1..HASHES).find(|d| filled[(i + d) % HASHES] != u64::MAX) {
            *slot = filled[(i + d) % HASHES].wrapping_add((d as u64) << BIN_SHIFT);
        }
    }
    sig
}

/// Estimated Jaccard similarity of two signatures.
pub fn similarity(a: &[u64; HASHES], b: &[u64; HASHES]) -> f32 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f32 / HASHES as f32
}

#[derive(Default)]
struct State {
    exact: FxHashMap<u64, String>,
    sigs: Vec<(String, [u64; HASHES])>,
    buckets: FxHashMap<(usize, u64), Vec<usize>>,
}

/// Shared duplicate and repeated-line state.
pub struct Dedup {
    threshold: f32,
    state: Mutex<State>,
    line_min_docs: usize,
    lines: Mutex<HashMap<String, FxHashMap<u64, usize>>>,
}

impl Dedup {
    /// State with a near-duplicate threshold and a repeated-line threshold (0: off).
    pub fn new(threshold: f32, line_min_docs: usize) -> Self {
        Dedup {
            threshold,
            state: Mutex::new(State::default()),
            line_min_docs,
            lines: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a document; returns `("exact" | "near", id of the earlier document)` if it duplicates one.
    pub fn check(&self, id: &str, text: &str) -> Option<(&'static str, String)> {
        let mut words = WordHashes::with_capacity(text.len());
        for w in super::words(text) {
            words.add(w);
        }
        self.check_words(id, words)
    }

    /// [`check`](Self::check) with the text's words already hashed (by the pass that
    /// collapses its white space).
    pub fn check_words(&self, id: &str, words: WordHashes) -> Option<(&'static str, String)> {
        let key = finish(words.exact.finish());
        let sig = signature_of(&words.words);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = st.exact.get(&key) {
            return Some(("exact", first.clone()));
        }
        st.exact.insert(key, id.to_string());
        let mut best: Option<(f32, usize)> = None;
        for band in 0..BANDS {
            let bh = band_key(&sig, band);
            if let Some(cands) = st.buckets.get(&(band, bh)) {
                for &c in cands {
                    let s = similarity(&sig, &st.sigs[c].1);
                    if s >= self.threshold && best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, c));
                    }
                }
            }
        }
        if let Some((_, c)) = best {
            return Some(("near", st.sigs[c].0.clone()));
        }
        let idx = st.sigs.len();
        st.sigs.push((id.to_string(), sig));
        for band in 0..BANDS {
            let bh = band_key(&sig, band);
            st.buckets.entry((band, bh)).or_default().push(idx);
        }
        None
    }

    /// For each line, whether it was already seen in `line_min_docs` earlier documents of
    /// `source`; then counts this document's lines.
    pub fn repeated_lines<'a>(
        &self,
        source: &str,
        lines: impl Iterator<Item = &'a str>,
    ) -> Vec<bool> {
        let hashes: Vec<u64> = lines.map(|l| h64(l.trim(), 11)).collect();
        let mut all = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let counts = all.entry(source.to_string()).or_default();
        let out = hashes
            .iter()
            .map(|h| counts.get(h).copied().unwrap_or(0) >= self.line_min_docs)
            .collect();
        let mut seen = rustc_hash::FxHashSet::default();
        for h in hashes {
            if seen.insert(h) {
                *counts.entry(h).or_insert(0) += 1;
            }
        }
        out
    }
}

/// The source a document belongs to for repeated-line counting: the URL's host, else the
/// directory of its path, else `""`.
pub fn source_key(doc: &Document) -> String {
    if let Some(url) = &doc.declared.url {
        let after = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        return after.split('/').next().unwrap_or("").to_lowercase();
    }
    doc.source
        .as_deref()
        .and_then(|s| std::path::Path::new(s).parent())
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_hashes_ignore_case_and_agree_across_paths() {
        let h = |w: &str| word_hash(w, &mut String::new());
        let all: String = (0u8..128).map(char::from).collect();
        assert_eq!(h(&all), h(&all.to_lowercase()));
        assert_eq!(h("Lukaschenko"), h("LUKASCHENKO"));
        assert_ne!(h("Lukaschenko"), h("Lukaschenka"));
        // A non-ASCII word whose lower case is ASCII (Kelvin sign) takes the other path.
        assert_eq!(h("\u{212A}elvin"), h("kelvin"));
        assert_eq!(h("ÄRGER"), h("ärger"));
    }

    #[test]
    fn exact_and_near_duplicates() {
        let d = Dedup::new(0.7, 0);
        let a = "Belarus und Russland bauen ihre Zusammenarbeit in allen Bereichen kontinuierlich aus, sagte die Sprecherin am Mittwoch in Moskau vor Journalisten. \
                 Vor dreißig Jahren wurde in Minsk ein Protokoll unterzeichnet, in dem beide Staaten ihre Absicht bekräftigten. \
                 Moskau und Minsk waren die ganze Zeit der Idee der Integration treu geblieben und sind weit vorangekommen. \
                 Die Verabschiedung eines Pakets von Integrationsdokumenten war ein wichtiger Meilenstein in diesem Prozess.";
        assert_eq!(d.check("a", a), None);
        assert_eq!(
            d.check("b", &format!("  {a} ")),
            Some(("exact", "a".to_string()))
        );
        let near = a.replace("Mittwoch", "Donnerstag");
        assert_eq!(d.check("c", &near).map(|x| x.0), Some("near"));
        assert_eq!(d.check("d", "Ein ganz anderer Text über das Wetter in Minsk und die Ernte im Herbst des Jahres."), None);
    }

    #[test]
    fn signatures_estimate_jaccard_similarity() {
        // 200 distinct words; the second text replaces every 20th: about 22% of the
        // 5-word shingles change, true Jaccard ≈ 0.64.
        let words: Vec<String> = (0..200).map(|i| format!("wort{i}")).collect();
        let b: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i % 20 == 10 {
                    format!("neu{i}")
                } else {
                    w.clone()
                }
            })
            .collect();
        let shingles = |ws: &[String]| -> std::collections::HashSet<String> {
            ws.windows(5).map(|w| w.join(" ")).collect()
        };
        let (sa, sb) = (shingles(&words), shingles(&b));
        let truth = sa.intersection(&sb).count() as f32 / sa.union(&sb).count() as f32;
        let est = similarity(&signature(&words.join(" ")), &signature(&b.join(" ")));
        assert!(
            (est - truth).abs() < 0.15,
            "estimate {est} vs Jaccard {truth}"
        );
        // Case does not matter; unrelated texts share (almost) no bins.
        let upper = words.join(" ").to_uppercase();
        assert_eq!(signature(&upper), signature(&words.join(" ")));
        let other: Vec<String> = (0..200).map(|i| format!("anders{i}")).collect();
        assert!(similarity(&signature(&words.join(" ")), &signature(&other.join(" "))) < 0.1);
    }

    #[test]
    fn repeated_lines_need_enough_earlier_documents() {
        let d = Dedup::new(0.8, 2);
        assert_eq!(
            d.repeated_lines("s", ["Alle Nachrichten", "Text 1"].into_iter()),
            [false, false]
        );
        assert_eq!(
            d.repeated_lines("s", ["Alle Nachrichten", "Text 2"].into_iter()),
            [false, false]
        );
        assert_eq!(
            d.repeated_lines("s", ["Alle Nachrichten", "Text 3"].into_iter()),
            [true, false]
        );
        assert_eq!(
            d.repeated_lines("other", ["Alle Nachrichten"].into_iter()),
            [false]
        );
    }
}
