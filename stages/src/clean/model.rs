//! The content model: keep or drop each HTML block, learnt from benchmark pages.
//!
//! Two stacked ensembles of gradient-boosted trees ([`super::gbdt`]). The first reads
//! about seventy numbers per block ([`super::features`], among them what its words say by
//! [`super::vocab`], stored in the model) plus whether its ancestors carry each of the
//! class/id words most sites use (chosen from the training pages and stored in the
//! model). The second reads the same and what the first thought of the block's
//! neighbours, regions, siblings and page ([`super::context`]); it is trained on the
//! first's predictions for pages the first was not trained on (inner folds by site), so
//! it learns how far to trust them on new sites. Trained by `textpipe train clean`; the
//! same pages give the same bytes.

use super::context::{self, Layout};
use super::features::BASE;
use super::gbdt::{Flat, Forest, Node, LEAF};
use super::vocab::Vocab;
use crate::bytes::{Reader, Truncated};

const MAGIC: &[u8; 8] = b"TPCLEAN3";

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a content model, or a different version.
    #[error("not a textpipe content model (want magic TPCLEAN3)")]
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

/// The class/id words, the two ensembles and the keep threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentModel {
    /// Class/id words whose presence among a block's ancestors is a feature.
    pub words: Vec<String>,
    /// Log-odds of content of the words of many sites.
    pub vocab: Vocab,
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

/// Writes a string: its length in bytes, then its UTF-8.
fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Reads a string written by [`put_str`].
fn get_str(r: &mut Reader<'_>) -> Result<String, ModelError> {
    let len = r.u32()? as usize;
    let s = std::str::from_utf8(r.take(len)?).map_err(|_| ModelError::Truncated)?;
    Ok(s.to_string())
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

    /// A model of these words, ensembles and floor (what training produces).
    #[cfg(feature = "train")]
    pub(super) fn from_parts(
        words: Vec<String>,
        vocab: Vocab,
        forest: Forest,
        second: Forest,
        threshold: f32,
    ) -> Self {
        ContentModel {
            words,
            vocab,
            flat: Flat::of(&forest),
            forest,
            second_flat: Flat::of(&second),
            second,
            threshold,
        }
    }

    /// The probability that each block (rows of `features`, blocks of `layout`) is content.
    pub fn predict(&self, features: &[f32], layout: &Layout) -> Vec<f32> {
        let nf = Self::width(&self.words);
        let p1 = probabilities(&self.flat, features, nf);
        let x = stack(features, nf, layout, &p1);
        probabilities(&self.second_flat, &x, nf + context::WIDTH)
    }

    /// The model as bytes: `TPCLEAN3`, the number of named features, the class/id words,
    /// the word odds, the threshold, the two ensembles.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(BASE as u32).to_le_bytes());
        b.extend_from_slice(&(context::WIDTH as u32).to_le_bytes());
        b.extend_from_slice(&(self.words.len() as u32).to_le_bytes());
        for w in &self.words {
            put_str(&mut b, w);
        }
        let pairs = self.vocab.pairs();
        b.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (w, o) in pairs {
            put_str(&mut b, w);
            b.extend_from_slice(&o.to_le_bytes());
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
            words.push(get_str(&mut r)?);
        }
        let nv = r.u32()? as usize;
        let mut pairs = Vec::new();
        for _ in 0..nv.min(1 << 20) {
            pairs.push((get_str(&mut r)?, r.f32()?));
        }
        if pairs.len() != nv {
            return Err(ModelError::Truncated);
        }
        let vocab = Vocab::from_pairs(pairs);
        let nf = Self::width(&words);
        let threshold = r.f32()?;
        let forest = get_forest(&mut r, nf)?;
        let second = get_forest(&mut r, nf + context::WIDTH)?;
        if !r.at_end() || words.len() != nw {
            return Err(ModelError::Truncated);
        }
        Ok(ContentModel {
            words,
            vocab,
            flat: Flat::of(&forest),
            forest,
            second_flat: Flat::of(&second),
            second,
            threshold,
        })
    }
}

/// Probability of each row (`nf` wide) under `flat`.
pub(super) fn probabilities(flat: &Flat, x: &[f32], nf: usize) -> Vec<f32> {
    (flat.margins(x, nf).into_iter())
        .map(|m| 1.0 / (1.0 + (-m).exp()))
        .collect()
}

/// Each row of `features` (`nf` wide) followed by its block's context features.
pub(super) fn stack(features: &[f32], nf: usize, layout: &Layout, p1: &[f32]) -> Vec<f32> {
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
