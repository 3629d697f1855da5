//! What a block's words say about it: for each word seen on many sites, how much likelier a
//! block holding it is content than boilerplate ("reviews", "shipping", "subscribe",
//! "related" against the words of articles and posts), learnt from the training pages with
//! every site counting once, so that no one site's vocabulary becomes a feature.

use rustc_hash::FxHashMap;

/// Log-odds of content for the words of many sites.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocab {
    odds: FxHashMap<String, f32>,
}

/// What the words of one text say: the mean, least and largest log-odds of its known words
/// and the share of its words that are known.
#[derive(Debug, Clone, Copy, Default)]
pub struct WordOdds {
    /// Mean log-odds of the known words (0 when none is known).
    pub mean: f32,
    /// Least log-odds of a known word.
    pub min: f32,
    /// Largest log-odds of a known word.
    pub max: f32,
    /// Share of the words that are known.
    pub known: f32,
}

/// The words of lower-cased text: runs of letters and digits.
pub(super) fn tokens(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

impl Vocab {
    /// The words and their log-odds.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, f32)>) -> Self {
        Vocab {
            odds: pairs.into_iter().collect(),
        }
    }

    /// The words and their log-odds, sorted by word (for writing a model file).
    pub fn pairs(&self) -> Vec<(&str, f32)> {
        let mut v: Vec<(&str, f32)> = self.odds.iter().map(|(w, &o)| (w.as_str(), o)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.odds.len()
    }

    /// No words (a model trained without them).
    pub fn is_empty(&self) -> bool {
        self.odds.is_empty()
    }

    /// What the words of lower-cased `lower` say.
    pub fn score(&self, lower: &str) -> WordOdds {
        let (mut n, mut k, mut sum) = (0usize, 0usize, 0f32);
        let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
        for w in tokens(lower) {
            n += 1;
            if let Some(&o) = self.odds.get(w) {
                k += 1;
                sum += o;
                min = min.min(o);
                max = max.max(o);
            }
        }
        if k == 0 {
            return WordOdds::default();
        }
        WordOdds {
            mean: sum / k as f32,
            min,
            max,
            known: k as f32 / n as f32,
        }
    }
}

/// Learning the log-odds (the `train` cargo feature).
#[cfg(feature = "train")]
pub mod learn {
    use super::{tokens, Vocab};
    use rustc_hash::FxHashMap;

    /// A word must be seen on this many sites to have log-odds.
    const MIN_SITES: usize = 10;
    /// Most words kept (the ones on most sites).
    const MAX_WORDS: usize = 20_000;
    /// Pseudo-sites pulling a word's content share towards the mean.
    const PRIOR_SITES: f64 = 2.0;

    /// Learns from labelled blocks given as (site, text, is content).
    pub fn learn<'a>(blocks: impl Iterator<Item = (u64, &'a str, bool)>) -> Vocab {
        // (word, site) → (content blocks, boilerplate blocks) holding the word.
        let mut counts: FxHashMap<(String, u64), (u32, u32)> = FxHashMap::default();
        let mut lower = String::new();
        for (site, text, content) in blocks {
            let head = super::super::features::lower_head(text, &mut lower);
            let mut seen: Vec<&str> = tokens(head).collect();
            seen.sort_unstable();
            seen.dedup();
            for &w in &seen {
                let e = counts.entry((w.to_string(), site)).or_default();
                if content {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
        // Per word: sites and the sum of each site's content share.
        let mut words: FxHashMap<&str, (usize, f64)> = FxHashMap::default();
        let (mut all, mut pairs) = (0f64, 0usize);
        for ((w, _), &(c, b)) in &counts {
            let share = f64::from(c) / f64::from(c + b);
            let e = words.entry(w.as_str()).or_default();
            e.0 += 1;
            e.1 += share;
            all += share;
            pairs += 1;
        }
        let prior = (all / pairs.max(1) as f64).clamp(0.01, 0.99);
        let mut v: Vec<(&str, usize, f64)> = words
            .into_iter()
            .filter(|(_, (n, _))| *n >= MIN_SITES)
            .map(|(w, (n, s))| (w, n, s))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(MAX_WORDS);
        let logit = |p: f64| (p / (1.0 - p)).ln();
        Vocab::from_pairs(v.into_iter().map(|(w, n, s)| {
            let p = (s + PRIOR_SITES * prior) / (n as f64 + PRIOR_SITES);
            (w.to_string(), (logit(p) - logit(prior)) as f32)
        }))
    }
}
