//! Stop words and boilerplate cues, built once per pipeline: the shipped lists and the
//! user's, stop words packed into integers, cues matched by aho-corasick.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use rustc_hash::FxHashSet;

use crate::text::words::ASCII_WORD;

/// Stop words and boilerplate cues, built once per pipeline.
pub struct Lexicon {
    /// Stop words of at most [`STOP_MAX`] bytes, packed by [`pack`].
    stop: FxHashSet<u128>,
    cues: AhoCorasick,
    cue_cat: Vec<String>,
    cue_len: Vec<usize>,
    /// The strong cues alone (cookie, comments, subscribe), the only ones that count in long
    /// blocks: few enough patterns for aho-corasick's SIMD prefilter.
    strong: AhoCorasick,
    strong_ids: Vec<usize>,
}

/// Cue categories that mark a block of any length as boilerplate.
pub(super) const STRONG_CUES: &[&str] = &["cookie", "comments", "subscribe"];

/// Longer words are never stop words (the shipped lists' longest are shorter).
pub(super) const STOP_MAX: usize = 12;

/// A word of at most 16 bytes as one integer, zero-padded, so a stop-word lookup hashes and
/// compares one integer (a set of `String`s cost a pointer chase and a `memcmp` per word).
/// Words never contain NUL (a separator), so the padding is unambiguous.
#[inline(always)]
pub(super) fn pack(w: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..w.len()].copy_from_slice(w);
    u128::from_le_bytes(b)
}

/// Bytes of a long block whose stop-word density stands for the whole block.
pub(super) const DENSITY_SAMPLE: usize = 768;

/// Blocks shorter than this (in characters) are boilerplate on any cue.
pub(super) const CUE_MAX_CHARS: usize = 200;

impl Lexicon {
    /// The shipped German and English lists plus `extra_stop` and `extra_cues` (`category:phrase`).
    pub fn new(extra_stop: &[String], extra_cues: &[String]) -> Result<Self, String> {
        let stop = (crate::text::stopwords::stopwords().iter().cloned())
            .chain(extra_stop.iter().map(|s| s.to_lowercase()))
            .filter(|w| w.len() <= STOP_MAX)
            .map(|w| pack(w.as_bytes()))
            .collect();
        let mut pats = Vec::new();
        let mut cats = Vec::new();
        for list in [
            include_str!("../../data/boilerplate-de.txt"),
            include_str!("../../data/boilerplate-en.txt"),
            include_str!("../../data/boilerplate-xx.txt"),
        ] {
            for line in list
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            {
                if let Some((cat, phrase)) = line.split_once('\t') {
                    cats.push(cat.to_string());
                    pats.push(phrase.to_lowercase());
                }
            }
        }
        for c in extra_cues {
            let (cat, phrase) = c
                .split_once(':')
                .ok_or_else(|| format!("cue `{c}` is not `category:phrase`"))?;
            cats.push(cat.trim().to_string());
            pats.push(phrase.trim().to_lowercase());
        }
        let cue_len = pats.iter().map(String::len).collect();
        let build = |pats: &[&String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(pats)
                .map_err(|e| e.to_string())
        };
        let cues = build(&pats.iter().collect::<Vec<_>>())?;
        let strong_ids: Vec<usize> = (0..pats.len())
            .filter(|&k| STRONG_CUES.contains(&cats[k].as_str()))
            .collect();
        let strong = build(&strong_ids.iter().map(|&k| &pats[k]).collect::<Vec<_>>())?;
        Ok(Lexicon {
            stop,
            cues,
            cue_cat: cats,
            cue_len,
            strong,
            strong_ids,
        })
    }

    /// [`Lexicon::new`], built once per process for the shipped lists alone (the automata
    /// take a few milliseconds to build, and every cleaner without extras shares them).
    pub fn shared(extra_stop: &[String], extra_cues: &[String]) -> Result<Arc<Self>, String> {
        static SHIPPED: std::sync::OnceLock<Arc<Lexicon>> = std::sync::OnceLock::new();
        if extra_stop.is_empty() && extra_cues.is_empty() {
            if let Some(l) = SHIPPED.get() {
                return Ok(l.clone());
            }
            let l = Arc::new(Self::new(&[], &[])?);
            return Ok(SHIPPED.get_or_init(|| l).clone());
        }
        Self::new(extra_stop, extra_cues).map(Arc::new)
    }

    /// The first boilerplate cue category found in `lower` (a lower-cased block), at word
    /// boundaries; only strong cues if `strong_only`.
    pub(super) fn cue(&self, lower: &str, strong_only: bool) -> Option<&str> {
        let (ac, ids) = if strong_only {
            (&self.strong, Some(&self.strong_ids))
        } else {
            (&self.cues, None)
        };
        for m in ac.find_iter(lower) {
            let id = ids.map_or(m.pattern().as_usize(), |ids| ids[m.pattern().as_usize()]);
            let (s, e) = (m.start(), m.start() + self.cue_len[id]);
            let before = lower[..s].chars().next_back();
            let after = lower[e..].chars().next();
            let pat_starts_alnum = lower[s..].chars().next().is_some_and(char::is_alphanumeric);
            let pat_ends_alnum = lower[..e]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let ok_before = !pat_starts_alnum || !before.is_some_and(char::is_alphanumeric);
            let ok_after = !pat_ends_alnum || !after.is_some_and(char::is_alphanumeric);
            if ok_before && ok_after {
                return Some(&self.cue_cat[id]);
            }
        }
        None
    }

    /// Share of words that are stop words, and the word count, in a lower-cased block. Words
    /// are runs of letters, digits and apostrophes holding at least one letter; ASCII is read
    /// a byte at a time.
    pub(super) fn density(&self, lower: &str) -> (f32, usize) {
        let b = lower.as_bytes();
        let (mut words, mut stops) = (0usize, 0usize);
        let mut start = 0;
        let mut letter = false;
        let mut i = 0;
        loop {
            // (part of a word, a letter, byte length) of the char at `i`; the end is a separator.
            let (part, alpha, len) = match b.get(i) {
                None => (false, false, 0),
                Some(&x) if x < 0x80 => {
                    let k = ASCII_WORD[x as usize];
                    (k != 0, k == 2, 1)
                }
                Some(_) => lower[i..].chars().next().map_or((false, false, 1), |c| {
                    // Latin-1 letters and general punctuation (quotes, dashes) need no
                    // Unicode table.
                    let (alnum, alpha) = match c {
                        _ if crate::text::lower::is_latin1_letter(c) => (true, true),
                        '×' | '÷' | '\u{2000}'..='\u{206F}' => (false, false),
                        _ => (c.is_alphanumeric(), c.is_alphabetic()),
                    };
                    (alnum || c == '’', alpha, c.len_utf8())
                }),
            };
            if part {
                letter |= alpha;
            } else {
                if letter {
                    words += 1;
                    // Stop words are short.
                    if i - start <= STOP_MAX && self.stop.contains(&pack(&b[start..i])) {
                        stops += 1;
                    }
                }
                letter = false;
                start = i + len;
            }
            if len == 0 {
                break;
            }
            i += len;
        }
        if words == 0 {
            (0.0, 0)
        } else {
            (stops as f32 / words as f32, words)
        }
    }
}
