//! The content model: keep or drop each HTML block, learnt from benchmark pages.
//!
//! Two stacked ensembles of gradient-boosted trees ([`super::gbdt`]). The first reads
//! about sixty numbers per block ([`super::features`]) plus whether its ancestors carry
//! each of the class/id words most sites use (chosen from the training pages and stored
//! in the model). The second reads the same and what the first thought of the block's
//! neighbours, regions, siblings and page ([`super::context`]); it is trained on the
//! first's predictions for pages the first was not trained on (inner folds by site), so
//! it learns how far to trust them on new sites. Trained by `textpipe train clean`; the
//! same pages give the same bytes.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::context::{self, Layout};
use super::features::BASE;
use super::gbdt::{self, Flat, Forest, Node, LEAF};
use crate::bytes::{Reader, Truncated};
use pipeline_core::Block;

const MAGIC: &[u8; 8] = b"TPCLEAN2";

/// Class/id words in the model: the commonest by sites, seen on at least [`MIN_SITES`].
const WORDS: usize = 64;

/// A word must be seen on this many sites to be a feature: a class name one site uses says
/// nothing about the next site.
const MIN_SITES: usize = 10;

/// The least probability of a kept block: a page whose blocks all score under it keeps
/// none (cross-validated: 0.2 against none and 0.3, WCXB 0.853 / 0.854 / 0.853).
const FLOOR: f32 = 0.2;

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a content model, or a different version.
    #[error("not a textpipe content model (want magic TPCLEAN2)")]
    Magic,
    /// Trained over another list of features (by another version of textpipe).
    #[error(
        "content model was trained on {base} + {ctx} features, this version computes {} + {}: retrain it with `textpipe train clean`",
        BASE,
        context::WIDTH
    )]
    Features {
        /// Named features the model was trained on.
        base: usize,
        /// Context features the model was trained on.
        ctx: usize,
    },
    /// The file ends early, has bytes left over or an impossible field.
    #[error("content model file is truncated or corrupt")]
    Truncated,
}

impl From<Truncated> for ModelError {
    fn from(_: Truncated) -> Self {
        ModelError::Truncated
    }
}

/// Inner folds (by site) that give the second ensemble the first's predictions on pages
/// it did not learn from.
const INNER_FOLDS: u64 = 4;

/// The class/id words, the two ensembles and the keep threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentModel {
    /// Class/id words whose presence among a block's ancestors is a feature.
    pub words: Vec<String>,
    forest: Forest,
    /// The same trees laid out for prediction.
    flat: Flat,
    /// The second ensemble, over the features and the first's context.
    second: Forest,
    second_flat: Flat,
    /// Probability under which a block is never kept; above it, the page's expected word F1
    /// decides (see `expected_f1_keep` in the clean stage).
    pub threshold: f32,
}

/// One page to learn from.
#[derive(Debug, Clone, Default)]
pub struct TrainPage {
    /// Features of each block, row-major ([`ContentModel::width`] per block).
    pub features: Vec<f32>,
    /// Content (true), boilerplate (false) or unknown (not learnt from), per block.
    pub labels: Vec<Option<bool>>,
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

/// Writes a forest: base, trees, nodes.
fn put_forest(b: &mut Vec<u8>, f: &Forest) {
    b.extend_from_slice(&f.base.to_le_bytes());
    b.extend_from_slice(&(f.trees.len() as u32).to_le_bytes());
    for t in &f.trees {
        b.extend_from_slice(&(t.len() as u32).to_le_bytes());
        for n in t {
            b.extend_from_slice(&u32::from(n.feature).to_le_bytes());
            b.extend_from_slice(&n.cut.to_le_bytes());
            b.extend_from_slice(&n.left.to_le_bytes());
            b.extend_from_slice(&n.right.to_le_bytes());
            b.extend_from_slice(&n.value.to_le_bytes());
        }
    }
}

/// Reads a forest over `nf` features; a split outside the row or a child that does not
/// point forward inside its tree is an error, so walking a tree always ends at a leaf.
fn get_forest(r: &mut Reader<'_>, nf: usize) -> Result<Forest, ModelError> {
    let base = r.f32()?;
    let nt = r.u32()? as usize;
    let mut trees = Vec::new();
    for _ in 0..nt {
        let nn = r.u32()? as usize;
        let mut t = Vec::new();
        for _ in 0..nn {
            let feature = r.u32()?;
            let node = Node {
                feature: u16::try_from(feature).map_err(|_| ModelError::Truncated)?,
                cut: r.f32()?,
                left: r.u32()?,
                right: r.u32()?,
                value: r.f32()?,
            };
            let bad = |c: u32| c as usize >= nn || c as usize <= t.len();
            if node.feature != LEAF
                && (node.feature as usize >= nf || bad(node.left) || bad(node.right))
            {
                return Err(ModelError::Truncated);
            }
            t.push(node);
        }
        if t.is_empty() {
            return Err(ModelError::Truncated);
        }
        trees.push(t);
    }
    Ok(Forest { base, trees })
}

impl ContentModel {
    /// Features per block for a model with these words.
    pub fn width(words: &[String]) -> usize {
        BASE + words.len()
    }

    /// Trains on the labelled blocks of `pages` (deterministic; the inner folds train on
    /// threads of their own).
    pub fn train(words: Vec<String>, pages: &[TrainPage]) -> Self {
        let nf = Self::width(&words);
        let fold = |p: &TrainPage| (p.site.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % INNER_FOLDS;
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
        ContentModel {
            words,
            flat: Flat::of(&forest),
            forest,
            second_flat: Flat::of(&second),
            second,
            threshold: FLOOR,
        }
    }

    /// The probability that each block (rows of `features`, blocks of `layout`) is content.
    pub fn predict(&self, features: &[f32], layout: &Layout) -> Vec<f32> {
        let nf = Self::width(&self.words);
        let p1 = probabilities(&self.flat, features, nf);
        let x = stack(features, nf, layout, &p1);
        probabilities(&self.second_flat, &x, nf + context::WIDTH)
    }

    /// The model as bytes: `TPCLEAN2`, the number of named features, the words, the
    /// threshold, the two ensembles.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(BASE as u32).to_le_bytes());
        b.extend_from_slice(&(context::WIDTH as u32).to_le_bytes());
        b.extend_from_slice(&(self.words.len() as u32).to_le_bytes());
        for w in &self.words {
            b.extend_from_slice(&(w.len() as u32).to_le_bytes());
            b.extend_from_slice(w.as_bytes());
        }
        b.extend_from_slice(&self.threshold.to_le_bytes());
        put_forest(&mut b, &self.forest);
        put_forest(&mut b, &self.second);
        b
    }

    /// Reads a model written by [`ContentModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader::new(b);
        if r.take(8)? != MAGIC {
            return Err(ModelError::Magic);
        }
        let (base, ctx) = (r.u32()? as usize, r.u32()? as usize);
        if (base, ctx) != (BASE, context::WIDTH) {
            return Err(ModelError::Features { base, ctx });
        }
        let nw = r.u32()? as usize;
        let mut words = Vec::new();
        for _ in 0..nw.min(1 << 16) {
            let len = r.u32()? as usize;
            let w = std::str::from_utf8(r.take(len)?).map_err(|_| ModelError::Truncated)?;
            words.push(w.to_string());
        }
        let nf = Self::width(&words);
        let threshold = r.f32()?;
        let forest = get_forest(&mut r, nf)?;
        let second = get_forest(&mut r, nf + context::WIDTH)?;
        if !r.at_end() || words.len() != nw {
            return Err(ModelError::Truncated);
        }
        Ok(ContentModel {
            words,
            flat: Flat::of(&forest),
            forest,
            second_flat: Flat::of(&second),
            second,
            threshold,
        })
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

/// Probability of each row (`nf` wide) under `flat`.
fn probabilities(flat: &Flat, x: &[f32], nf: usize) -> Vec<f32> {
    x.chunks_exact(nf)
        .map(|r| 1.0 / (1.0 + (-flat.margin(r)).exp()))
        .collect()
}

/// Each row of `features` (`nf` wide) followed by its block's context features.
fn stack(features: &[f32], nf: usize, layout: &Layout, p1: &[f32]) -> Vec<f32> {
    let ctx = context::features(layout, p1);
    let mut x = Vec::with_capacity(features.len() + ctx.len());
    for (row, c) in features
        .chunks_exact(nf)
        .zip(ctx.chunks_exact(context::WIDTH))
    {
        x.extend_from_slice(row);
        x.extend_from_slice(c);
    }
    x
}
