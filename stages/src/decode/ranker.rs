//! A logistic regression that picks one of a page's candidates (for its author, for its
//! date) or none: each candidate's features give log-odds, the best wins when they are
//! above 0 ("none" scores 0). Shipped as text (`bias W`, then `FEATURE W` per line) so
//! that a reader sees what each feature weighs; trained as a softmax over each page's
//! candidates and "none", so that every page counts once however many candidates it
//! has.
//!
//! Our own because it is forty lines: the Rust ML crates bring matrices and solvers a
//! few dozen weights do not need.

use std::sync::OnceLock;

/// The weights of a ranker over `N` features.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranker<const N: usize> {
    /// Log-odds of a candidate whose features are all zero.
    pub bias: f32,
    /// One weight per feature.
    pub weights: [f32; N],
}

/// What a model file says when it cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{model} model, line {line}: {message}")]
pub struct ModelError {
    /// Which model.
    pub model: String,
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl<const N: usize> Ranker<N> {
    /// Log-odds of one row.
    pub fn margin(&self, x: &[f32; N]) -> f32 {
        self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()
    }

    /// The index of the best row when its log-odds are above 0.
    pub fn best(&self, rows: &[[f32; N]]) -> Option<usize> {
        let mut best: Option<(f32, usize)> = None;
        for (i, r) in rows.iter().enumerate() {
            let z = self.margin(r);
            if best.is_none_or(|(b, _)| z > b) {
                best = Some((z, i));
            }
        }
        best.filter(|(z, _)| *z > 0.0).map(|(_, i)| i)
    }

    /// The model as text: a comment naming `model`, `bias W`, then `FEATURE W` per line.
    pub fn to_text(&self, model: &str, names: &[&str; N]) -> String {
        let mut s = format!(
            "# textpipe {model} model (logistic regression), written by `textpipe train {model}`\n"
        );
        s.push_str(&format!("bias {}\n", self.bias));
        for (n, w) in names.iter().zip(&self.weights) {
            s.push_str(&format!("{n} {w}\n"));
        }
        s
    }

    /// Reads [`Ranker::to_text`]'s format; every feature of `names` must be there, in order.
    pub fn parse(text: &str, model: &str, names: &[&str; N]) -> Result<Self, ModelError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let err = |line: usize, message: String| ModelError {
            model: model.to_string(),
            line,
            message,
        };
        let mut next = |want: &str| {
            let (i, l) = lines
                .next()
                .ok_or_else(|| err(0, format!("ends before `{want}`")))?;
            let (name, w) = l
                .split_once(' ')
                .ok_or_else(|| err(i + 1, format!("`{l}` is not `NAME WEIGHT`")))?;
            if name != want {
                return Err(err(i + 1, format!("expected `{want}`, found `{name}`")));
            }
            (w.trim().parse::<f32>()).map_err(|e| err(i + 1, format!("weight `{w}`: {e}")))
        };
        let bias = next("bias")?;
        let mut weights = [0.0; N];
        for (w, n) in weights.iter_mut().zip(names) {
            *w = next(n)?;
        }
        Ok(Ranker { bias, weights })
    }

    /// A model compiled into the binary (`text`, a file of `stages/models/`), read once
    /// into `cell`. A test of each model's module reads its file, so the parse cannot
    /// fail in a build that passed its tests.
    pub fn shipped(
        cell: &'static OnceLock<Self>,
        text: &str,
        model: &str,
        names: &[&str; N],
    ) -> &'static Self {
        cell.get_or_init(|| {
            Self::parse(text, model, names)
                .unwrap_or_else(|e| panic!("the shipped {model} model does not parse: {e}"))
        })
    }

    /// Fits the weights to pages of candidates (each page's rows and, per row, whether it
    /// is right). A page's candidates compete with "none" (log-odds 0) in a softmax, and
    /// each page's loss is minus the log of the probability of its right answers (or of
    /// "none" when none is right). Gradient descent with a small L2 penalty:
    /// deterministic, the same pages give the same model.
    #[cfg(feature = "train")]
    pub fn train(pages: &[(&[[f32; N]], &[bool])]) -> Self {
        const STEPS: usize = 2000;
        const RATE: f64 = 1.0;
        const L2: f64 = 1e-3;
        let n = pages.len().max(1) as f64;
        let mut b = 0.0f64;
        let mut w = [0.0f64; N];
        let mut z = Vec::new();
        for _ in 0..STEPS {
            let mut gb = 0.0f64;
            let mut g = [0.0f64; N];
            for (rows, labels) in pages {
                z.clear();
                z.extend(rows.iter().map(|x| {
                    b + (w.iter().zip(x))
                        .map(|(w, &v)| w * f64::from(v))
                        .sum::<f64>()
                }));
                let top = z.iter().copied().fold(0.0f64, f64::max);
                let total = (-top).exp() + z.iter().map(|z| (z - top).exp()).sum::<f64>();
                let right: f64 = (z.iter().zip(*labels))
                    .filter(|(_, &l)| l)
                    .map(|(z, _)| (z - top).exp())
                    .sum();
                // d(-log P(right))/dz_i = p_i - p_i·[i right]/P(right).
                for ((zi, x), &l) in z.iter().zip(*rows).zip(*labels) {
                    let e = (zi - top).exp();
                    let d = e / total - if l { e / right } else { 0.0 };
                    for (g, &v) in g.iter_mut().zip(x) {
                        *g += d * f64::from(v);
                    }
                    gb += d;
                }
            }
            b -= RATE * gb / n;
            for (w, g) in w.iter_mut().zip(g) {
                *w -= RATE * (g / n + L2 * *w);
            }
        }
        Ranker {
            bias: b as f32,
            weights: w.map(|w| w as f32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_round_trips_and_a_stale_file_says_where() {
        let r = Ranker {
            bias: -0.5,
            weights: [1.25, -2.0],
        };
        let names = ["alpha", "beta"];
        let text = r.to_text("test", &names);
        assert_eq!(Ranker::parse(&text, "test", &names).unwrap(), r);
        let e = Ranker::parse(&text, "test", &["alpha", "gamma"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test model, line 4: expected `gamma`, found `beta`"
        );
        assert_eq!(r.best(&[[0.0, 0.0], [1.0, 0.0]]), Some(1));
        assert_eq!(r.best(&[[0.0, 1.0]]), None);
    }

    #[cfg(feature = "train")]
    #[test]
    fn training_learns_which_feature_marks_the_right_candidate() {
        // Feature 0 marks the right candidate; feature 1 is noise.
        let rows: Vec<[[f32; 2]; 2]> = (0..40)
            .map(|i| [[1.0, (i % 2) as f32], [0.0, ((i + 1) % 2) as f32]])
            .collect();
        let labels = [true, false];
        let pages: Vec<_> = rows.iter().map(|r| (&r[..], &labels[..])).collect();
        let m = Ranker::train(&pages);
        assert!(m.weights[0] > 1.0 && m.weights[1].abs() < 0.5, "{m:?}");
        assert_eq!(m.best(&[[0.0, 1.0], [1.0, 0.0]]), Some(1));
        assert_eq!(m, Ranker::train(&pages), "deterministic");
    }
}
