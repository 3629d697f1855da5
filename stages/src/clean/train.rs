//! Training the content model (the `train` cargo feature): the class/id words most sites
//! use, the first ensemble on every page and on all but each inner fold by site, the
//! second on the first's predictions for pages it did not see. The same pages give the
//! same model, bit for bit.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::context::{self, Layout};
use super::gbdt::{self, Flat, Forest};
use super::model::{probabilities, stack, ContentModel};
use super::vocab::Vocab;
use pipeline_core::Block;

/// The least probability of a kept block: a page whose blocks all score under it keeps
/// none (cross-validated: 0.2 against none and 0.3, WCXB 0.853 / 0.854 / 0.853).
const FLOOR: f32 = 0.2;

/// Class/id words in the model: the commonest by sites, seen on at least [`MIN_SITES`].
const WORDS: usize = 64;

/// A word must be seen on this many sites to be a feature: a class name one site uses says
/// nothing about the next site.
const MIN_SITES: usize = 10;

/// Inner folds (by site) that give the second ensemble the first's predictions on pages
/// it did not learn from.
pub const INNER_FOLDS: u64 = 4;

/// The inner fold of pages of `site`, `0..INNER_FOLDS`.
pub fn inner_fold(site: u64) -> u64 {
    (site.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % INNER_FOLDS
}

/// One page to learn from.
#[derive(Debug, Clone, Default)]
pub struct TrainPage {
    /// Features of each block, row-major ([`ContentModel::width`] per block).
    pub features: Vec<f32>,
    /// Share of each block that is content (0 to 1), or unknown (not learnt from).
    pub labels: Vec<Option<f32>>,
    /// Weight of each block's example.
    pub weights: Vec<f32>,
    /// The blocks' words, tags and regions, for the context features.
    pub layout: Layout,
    /// The page's site (any stable hash): pages of one site share an inner fold.
    pub site: u64,
}

/// The class/id words most sites use, from pages given as (site, blocks).
pub fn choose_words<'a>(pages: impl Iterator<Item = (u64, &'a [Block])>) -> Vec<String> {
    // Word → (last site seen, sites seen); pages sorted by site, so each site counts once.
    let mut pages: Vec<(u64, &[Block])> = pages.collect();
    pages.sort_by_key(|p| p.0);
    let mut sites: FxHashMap<&str, (u64, usize)> = FxHashMap::default();
    for (site, blocks) in &pages {
        for h in blocks.iter().flat_map(|b| &b.hints) {
            let e = sites.entry(h.as_str()).or_insert((u64::MAX, 0));
            if e.0 != *site {
                *e = (*site, e.1 + 1);
            }
        }
    }
    let mut v: Vec<(&str, usize)> = sites
        .into_iter()
        .filter(|(_, (_, n))| *n >= MIN_SITES)
        .map(|(w, (_, n))| (w, n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .take(WORDS)
        .map(|(w, _)| w.to_string())
        .collect()
}

impl ContentModel {
    /// Trains on the labelled blocks of `pages` (deterministic; the inner folds train on
    /// threads of their own).
    pub fn train(words: Vec<String>, vocab: Vocab, pages: &[TrainPage]) -> Self {
        let nf = Self::width(&words);
        let fold = |p: &TrainPage| inner_fold(p.site);
        // The first ensemble on every page, and on all but each inner fold.
        let (forest, inner) = std::thread::scope(|s| {
            let all = s.spawn(|| fit(pages.iter(), nf, |p| Cow::from(&p.features[..])));
            let inner: Vec<_> = (0..INNER_FOLDS)
                .map(|k| {
                    s.spawn(move || {
                        let rest = pages.iter().filter(|p| fold(p) != k);
                        Flat::of(&fit(rest, nf, |p| Cow::from(&p.features[..])))
                    })
                })
                .collect();
            let inner: Vec<Flat> = inner.into_iter().map(join).collect();
            (join(all), inner)
        });
        // The second on each page's features beside the context of the first's predictions
        // from the inner model that did not see the page.
        let second = fit(pages.iter(), nf + context::WIDTH, |p| {
            let p1 = probabilities(&inner[fold(p) as usize], &p.features, nf);
            Cow::from(stack(&p.features, nf, &p.layout, &p1))
        });
        ContentModel::from_parts(words, vocab, forest, second, FLOOR)
    }
}

/// The result of a training thread. One that panicked is a bug: its panic goes on, rather
/// than an empty ensemble going into the model.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Trains one ensemble on the labelled blocks of `pages`, whose rows (`nf` wide) `rows`
/// gives.
fn fit<'a>(
    pages: impl Iterator<Item = &'a TrainPage>,
    nf: usize,
    rows: impl Fn(&'a TrainPage) -> Cow<'a, [f32]>,
) -> Forest {
    let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for p in pages {
        let all = rows(p);
        for (k, (l, wt)) in p.labels.iter().zip(&p.weights).enumerate() {
            if let Some(l) = l {
                x.extend_from_slice(&all[k * nf..(k + 1) * nf]);
                y.push(*l);
                w.push(*wt);
            }
        }
    }
    gbdt::train(&x, nf, &y, &w, &gbdt::Params::default())
}
