//! Gradient-boosted decision trees for binary classification (logistic loss), small and
//! deterministic: features are cut into at most 32 quantile bins, trees grow
//! level by level from histograms of gradients, leaves take Newton steps.
//!
//! Our own because the content model needs a few hundred trees of depth five over a hundred
//! numbers, trained in seconds and read from a few hundred kilobytes compiled into the
//! binary; the Rust GBDT crates either bind C++ (LightGBM, XGBoost) or bring a serde model
//! format and thread pool we do not need. The code is the textbook algorithm.

#[cfg(feature = "train")]
mod train;
#[cfg(feature = "train")]
pub use train::{train, Params};

/// A node: a split on `feature` at `cut` (≤ goes left), or a leaf (`feature == LEAF`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// Feature index, or [`LEAF`].
    pub feature: u16,
    /// Threshold: values ≤ it go to `left`.
    pub cut: f32,
    /// Child indices (splits) or unused (leaves).
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Leaf value (log-odds contribution).
    pub value: f32,
}

/// Marks a leaf.
pub const LEAF: u16 = u16::MAX;

/// A boosted ensemble: `base` plus the sum of the trees' leaves is the log-odds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forest {
    /// Log-odds before any tree.
    pub base: f32,
    /// The trees, each a node list rooted at 0.
    pub trees: Vec<Vec<Node>>,
}

impl Forest {
    /// Log-odds of one row of features, walking the nodes ([`Flat`] is what predicts).
    #[cfg(all(test, feature = "train"))]
    pub fn margin(&self, x: &[f32]) -> f32 {
        let mut z = self.base;
        for t in &self.trees {
            let mut i = 0usize;
            loop {
                let n = &t[i];
                if n.feature == LEAF {
                    z += n.value;
                    break;
                }
                let v = x.get(n.feature as usize).copied().unwrap_or(0.0);
                i = if v <= n.cut { n.left } else { n.right } as usize;
            }
        }
        z
    }
}

/// A forest laid out for prediction: every tree a complete tree of the same depth (a leaf
/// above the bottom becomes splits that always go left, copying its value), so walking
/// it is `depth` index steps with no branch on the node kind and no pointer chasing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flat {
    base: f32,
    depth: usize,
    /// Per tree `2^depth - 1` split features and cuts, then `2^depth` leaf values.
    features: Vec<u16>,
    cuts: Vec<f32>,
    leaves: Vec<f32>,
}

impl Flat {
    /// Lays out `forest`, whose trees are at most `depth` deep.
    pub fn of(forest: &Forest) -> Self {
        fn tree_depth(t: &[Node], i: usize) -> usize {
            let n = &t[i];
            if n.feature == LEAF {
                0
            } else {
                1 + tree_depth(t, n.left as usize).max(tree_depth(t, n.right as usize))
            }
        }
        let depth = forest
            .trees
            .iter()
            .map(|t| tree_depth(t, 0))
            .max()
            .unwrap_or(0);
        let inner = (1usize << depth) - 1;
        let mut f = Flat {
            base: forest.base,
            depth,
            features: Vec::with_capacity(inner * forest.trees.len()),
            cuts: Vec::with_capacity(inner * forest.trees.len()),
            leaves: Vec::with_capacity((inner + 1) * forest.trees.len()),
        };
        for t in &forest.trees {
            let (mut feats, mut cuts) = (vec![0u16; inner], vec![f32::INFINITY; inner]);
            let mut leaves = vec![0f32; inner + 1];
            // (node in the tree, slot in the complete tree, level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((i, slot, level)) = stack.pop() {
                let n = &t[i];
                if level == depth {
                    leaves[slot - inner] = n.value;
                } else if n.feature == LEAF {
                    // Always left (x ≤ ∞) down to the bottom; both children carry the leaf.
                    stack.push((i, 2 * slot + 1, level + 1));
                    stack.push((i, 2 * slot + 2, level + 1));
                } else {
                    feats[slot] = n.feature;
                    cuts[slot] = n.cut;
                    stack.push((n.left as usize, 2 * slot + 1, level + 1));
                    stack.push((n.right as usize, 2 * slot + 2, level + 1));
                }
            }
            f.features.extend(feats);
            f.cuts.extend(cuts);
            f.leaves.extend(leaves);
        }
        f
    }

    /// Log-odds of one row of features (the same as [`Forest::margin`]). A NaN goes right
    /// here and in the trees alike.
    pub fn margin(&self, x: &[f32]) -> f32 {
        let inner = (1usize << self.depth) - 1;
        if inner == 0 {
            return self.base + self.leaves.iter().sum::<f32>();
        }
        use std::cmp::Ordering::{Equal, Less};
        let mut z = self.base;
        for ((feats, cuts), leaves) in self
            .features
            .chunks_exact(inner)
            .zip(self.cuts.chunks_exact(inner))
            .zip(self.leaves.chunks_exact(inner + 1))
        {
            let mut slot = 0usize;
            for _ in 0..self.depth {
                let v = x.get(feats[slot] as usize).copied().unwrap_or(0.0);
                let left = matches!(v.partial_cmp(&cuts[slot]), Some(Less | Equal));
                slot = 2 * slot + 2 - usize::from(left);
            }
            z += leaves[slot - inner];
        }
        z
    }

    /// [`Flat::margin`] of every whole row of `x` (`nf` features each), bit for bit. Rows
    /// go through each tree [`LANES`] at a time: their walks are independent, so the CPU
    /// overlaps their loads instead of waiting on one walk's chain of dependent reads.
    pub fn margins(&self, x: &[f32], nf: usize) -> Vec<f32> {
        let inner = (1usize << self.depth) - 1;
        if inner == 0 || nf == 0 {
            return x.chunks_exact(nf.max(1)).map(|r| self.margin(r)).collect();
        }
        use std::cmp::Ordering::{Equal, Less};
        let rows = &x[..x.len() - x.len() % nf];
        let mut out = Vec::with_capacity(rows.len() / nf);
        for group in rows.chunks(nf * LANES) {
            let n = group.len() / nf;
            let mut z = [self.base; LANES];
            for ((feats, cuts), leaves) in self
                .features
                .chunks_exact(inner)
                .zip(self.cuts.chunks_exact(inner))
                .zip(self.leaves.chunks_exact(inner + 1))
            {
                let mut slot = [0usize; LANES];
                for _ in 0..self.depth {
                    for (r, s) in slot.iter_mut().enumerate().take(n) {
                        let f = feats[*s] as usize;
                        let v = if f < nf { group[r * nf + f] } else { 0.0 };
                        let left = matches!(v.partial_cmp(&cuts[*s]), Some(Less | Equal));
                        *s = 2 * *s + 2 - usize::from(left);
                    }
                }
                for (zr, s) in z.iter_mut().zip(&slot).take(n) {
                    *zr += leaves[s - inner];
                }
            }
            out.extend_from_slice(&z[..n]);
        }
        out
    }
}

/// Rows walked through a tree together by [`Flat::margins`].
const LANES: usize = 8;
