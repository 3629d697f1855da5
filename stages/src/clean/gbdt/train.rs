//! Growing the trees (the `train` cargo feature): quantile bins per feature, trees grown
//! level by level from histograms of gradients, leaves taking Newton steps.

use super::{Forest, Node, LEAF};

/// Most bins per feature.
pub const MAX_BINS: usize = 32;

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Number of trees.
    pub trees: usize,
    /// Depth of each tree.
    pub depth: usize,
    /// Shrinkage of each tree's leaves.
    pub rate: f32,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Least hessian (weighted examples) in a child.
    pub min_child: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            trees: 200,
            depth: 5,
            rate: 0.1,
            lambda: 1.0,
            min_child: 5.0,
        }
    }
}

/// Quantile cuts of each feature over the rows (`x` row-major, `nf` per row).
fn cuts(x: &[f32], nf: usize) -> Vec<Vec<f32>> {
    let rows = x.len() / nf.max(1);
    (0..nf)
        .map(|f| {
            let mut v: Vec<f32> = (0..rows).map(|r| x[r * nf + f]).collect();
            v.sort_by(f32::total_cmp);
            v.dedup();
            if v.len() <= MAX_BINS {
                // Every distinct value its own bin: cut between neighbours.
                return v.windows(2).map(|w| w[0]).collect();
            }
            let mut c: Vec<f32> = (1..MAX_BINS).map(|k| v[k * v.len() / MAX_BINS]).collect();
            c.dedup();
            c
        })
        .collect()
}

/// Trains a forest on rows `x` (row-major, `nf` features each), targets `y` (the share of
/// each row that is content, 0 to 1) and weights `w`.
pub fn train(x: &[f32], nf: usize, y: &[f32], w: &[f32], p: &Params) -> Forest {
    let rows = y.len();
    let cuts = cuts(x, nf);
    // Bin of each value: the number of cuts below it.
    let bins: Vec<u8> = (0..rows * nf)
        .map(|k| cuts[k % nf].partition_point(|&c| c < x[k]) as u8)
        .collect();
    let (mut sw, mut sy) = (0f64, 0f64);
    for r in 0..rows {
        sw += f64::from(w[r]);
        sy += f64::from(w[r]) * f64::from(y[r]);
    }
    let prior = ((sy + 1.0) / (sw - sy + 1.0)).ln() as f32;
    let mut forest = Forest {
        base: prior,
        trees: Vec::with_capacity(p.trees),
    };
    let mut margin = vec![prior; rows];
    let (mut g, mut h) = (vec![0f32; rows], vec![0f32; rows]);
    let mut leaf_of = vec![0u32; rows];
    for _ in 0..p.trees {
        for r in 0..rows {
            let q = 1.0 / (1.0 + (-margin[r]).exp());
            g[r] = (q - y[r]) * w[r];
            h[r] = (q * (1.0 - q)).max(1e-6) * w[r];
        }
        let tree = grow(&bins, nf, &cuts, &g, &h, &mut leaf_of, p);
        for r in 0..rows {
            margin[r] += tree[leaf_of[r] as usize].value;
        }
        forest.trees.push(tree);
    }
    forest
}

/// Gradient and hessian sums per feature and bin.
type Hist = Vec<(f32, f32)>;

/// Builds the histogram of `rows`, in two halves on two threads when there are many (the
/// halves are summed in a fixed order, so the result does not depend on timing).
fn histogram(bins: &[u8], nf: usize, g: &[f32], h: &[f32], rows: &[u32]) -> Hist {
    fn part(bins: &[u8], nf: usize, g: &[f32], h: &[f32], rows: &[u32]) -> Hist {
        let mut hist = vec![(0f32, 0f32); nf * MAX_BINS];
        for &r in rows {
            let r = r as usize;
            let (gr, hr) = (g[r], h[r]);
            let row = &bins[r * nf..(r + 1) * nf];
            for (f, &b) in row.iter().enumerate() {
                let e = &mut hist[f * MAX_BINS + b as usize];
                e.0 += gr;
                e.1 += hr;
            }
        }
        hist
    }
    if rows.len() < 20_000 {
        return part(bins, nf, g, h, rows);
    }
    let (a, b) = rows.split_at(rows.len() / 2);
    let (mut ha, hb) = std::thread::scope(|s| {
        let t = s.spawn(|| part(bins, nf, g, h, b));
        let ha = part(bins, nf, g, h, a);
        (ha, t.join().unwrap_or_else(|_| part(bins, nf, g, h, b)))
    });
    for (x, y) in ha.iter_mut().zip(&hb) {
        x.0 += y.0;
        x.1 += y.1;
    }
    ha
}

/// A node still to be split: its rows, sums and histogram.
struct Open {
    node: u32,
    rows: Vec<u32>,
    g: f64,
    h: f64,
    hist: Hist,
}

/// Grows one tree; leaves `leaf_of[r]` at the leaf each row ends in.
fn grow(
    bins: &[u8],
    nf: usize,
    cuts: &[Vec<f32>],
    g: &[f32],
    h: &[f32],
    leaf_of: &mut [u32],
    p: &Params,
) -> Vec<Node> {
    let leaf = |gs: f64, hs: f64| Node {
        feature: LEAF,
        cut: 0.0,
        left: 0,
        right: 0,
        value: (-gs / (hs + p.lambda)) as f32 * p.rate,
    };
    let all: Vec<u32> = (0..g.len() as u32).collect();
    let (g0, h0) = (
        g.iter().map(|&x| f64::from(x)).sum::<f64>(),
        h.iter().map(|&x| f64::from(x)).sum::<f64>(),
    );
    let mut nodes = vec![leaf(g0, h0)];
    let hist = histogram(bins, nf, g, h, &all);
    let mut open = vec![Open {
        node: 0,
        rows: all,
        g: g0,
        h: h0,
        hist,
    }];
    let mut done: Vec<Open> = Vec::new();
    for _ in 0..p.depth {
        let mut next = Vec::new();
        for o in open {
            let score = o.g * o.g / (o.h + p.lambda);
            let mut best: (f64, Option<(usize, usize, f64, f64)>) = (1e-9, None);
            for (f, cf) in cuts.iter().enumerate() {
                let hb = &o.hist[f * MAX_BINS..(f + 1) * MAX_BINS];
                let (mut gl, mut hl) = (0f64, 0f64);
                for (bi, bin) in hb.iter().take(cf.len()).enumerate() {
                    gl += f64::from(bin.0);
                    hl += f64::from(bin.1);
                    let (gr, hr) = (o.g - gl, o.h - hl);
                    if hl < p.min_child || hr < p.min_child {
                        continue;
                    }
                    let gain = gl * gl / (hl + p.lambda) + gr * gr / (hr + p.lambda) - score;
                    if gain > best.0 {
                        best = (gain, Some((f, bi, gl, hl)));
                    }
                }
            }
            let Some((f, b, gl, hl)) = best.1 else {
                done.push(o);
                continue;
            };
            let (l, r) = (nodes.len() as u32, nodes.len() as u32 + 1);
            nodes.push(leaf(gl, hl));
            nodes.push(leaf(o.g - gl, o.h - hl));
            let nd = &mut nodes[o.node as usize];
            *nd = Node {
                feature: f as u16,
                cut: cuts[f][b],
                left: l,
                right: r,
                value: 0.0,
            };
            let (lr, rr): (Vec<u32>, Vec<u32>) = o
                .rows
                .iter()
                .partition(|&&row| bins[row as usize * nf + f] as usize <= b);
            // The smaller child's histogram is built, the larger one's is the parent's less it.
            let small_left = lr.len() <= rr.len();
            let small = histogram(bins, nf, g, h, if small_left { &lr } else { &rr });
            let mut large = o.hist;
            for (x, y) in large.iter_mut().zip(&small) {
                x.0 -= y.0;
                x.1 -= y.1;
            }
            let (hl_, hr_) = if small_left {
                (small, large)
            } else {
                (large, small)
            };
            next.push(Open {
                node: l,
                rows: lr,
                g: gl,
                h: hl,
                hist: hl_,
            });
            next.push(Open {
                node: r,
                rows: rr,
                g: o.g - gl,
                h: o.h - hl,
                hist: hr_,
            });
        }
        open = next;
    }
    for o in open.iter().chain(&done) {
        for &r in &o.rows {
            leaf_of[r as usize] = o.node;
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_an_interaction_a_linear_model_cannot() {
        // y = x0 xor x1, with a noise feature; x1 is set in a third of the rows (with
        // balanced classes no first split gains, as for any greedy tree).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..600u32 {
            let (a, b) = (i % 2, u32::from((i / 2) % 3 == 0));
            x.extend([a as f32, b as f32, (i % 7) as f32]);
            y.push(f32::from(u8::from(a != b)));
        }
        let w = vec![1.0; y.len()];
        let params = Params {
            trees: 30,
            depth: 2,
            ..Params::default()
        };
        let f = train(&x, 3, &y, &w, &params);
        for (r, &want) in y.iter().enumerate() {
            assert_eq!(f.margin(&x[r * 3..r * 3 + 3]) > 0.0, want > 0.5, "row {r}");
        }
        assert_eq!(f, train(&x, 3, &y, &w, &params));
    }

    #[test]
    fn flat_trees_give_the_walked_margins_one_row_or_eight_at_a_time() {
        // Trees of uneven depth (leaves above the bottom), rows with NaN, and a row count
        // that is not a multiple of the lanes.
        let nf = 4;
        let x: Vec<f32> = (0..nf * 301)
            .map(|i| match i % 13 {
                0 => f32::NAN,
                k => ((i * 7919) % 101) as f32 / (k as f32),
            })
            .collect();
        let y: Vec<f32> = (0..301).map(|r| ((r * 31) % 7 < 3) as u8 as f32).collect();
        let params = Params {
            trees: 20,
            depth: 4,
            ..Params::default()
        };
        let f = train(&x, nf, &y, &vec![1.0; 301], &params);
        let flat = super::super::Flat::of(&f);
        let rows = &x[..nf * 37];
        let many = flat.margins(rows, nf);
        assert_eq!(many.len(), 37);
        for (r, m) in many.iter().enumerate() {
            let row = &rows[r * nf..(r + 1) * nf];
            assert_eq!(m.to_bits(), flat.margin(row).to_bits(), "row {r}");
            assert_eq!(m.to_bits(), f.margin(row).to_bits(), "row {r}");
        }
    }

    #[test]
    fn a_share_of_content_is_learnt_as_a_probability() {
        // Blocks a quarter content where x0 = 0, three quarters where x0 = 1.
        let x: Vec<f32> = (0..400).map(|i| (i % 2) as f32).collect();
        let y: Vec<f32> = x
            .iter()
            .map(|&v| if v > 0.5 { 0.75 } else { 0.25 })
            .collect();
        let f = train(&x, 1, &y, &vec![1.0; 400], &Params::default());
        for (v, want) in [(0.0, 0.25), (1.0, 0.75)] {
            let p = 1.0 / (1.0 + (-f.margin(&[v])).exp());
            assert!((p - want).abs() < 0.02, "x0 = {v}: {p}");
        }
    }
}
