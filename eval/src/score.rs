//! Scorers, independent of any stage: precision/recall/F1, sentence boundaries, conlleval
//! entity matching, ROUGE-1/2/L, trafilatura-style with/without snippets.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

/// Counts of true positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
}

impl Prf {
    /// Precision (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    /// Recall (1 when nothing was expected).
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    /// Adds another count.
    pub fn add(&mut self, o: Prf) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// White space removed: boundaries are compared on what is left.
fn strip_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Where each sentence lies in the white-space-free text: (start, end) byte offsets into
/// `strip_ws(text)`, found in order. A sentence that is not a substring (gold that the
/// upstream tool normalised, e.g. quotes changed) is assumed to start where the last ended.
fn locate(text: &str, sentences: &[&str]) -> Vec<(usize, usize)> {
    let mut pos = 0usize;
    sentences
        .iter()
        .map(|s| {
            let sq = strip_ws(s);
            let start = text
                .get(pos..)
                .and_then(|rest| rest.find(&sq))
                .map_or(pos, |k| pos + k);
            let end = (start + sq.len()).min(text.len());
            pos = end;
            (start, end)
        })
        .collect()
}

/// Sentence-boundary scoring on white-space-free text. A gold boundary is the stretch from
/// the end of one gold sentence to the start of the next: a single point where the sentences
/// cover the text (treebanks), longer where the gold leaves material out (table-of-contents
/// leader dots, HTML tags, page numbers), and a cut anywhere in it is right. A predicted
/// boundary is the end of a predicted sentence. Each gold boundary with a cut counts once;
/// every other cut is a false positive, except cuts in material before the first or after the
/// last gold sentence, which the gold does not count as sentences at all.
pub fn boundary_prf(text: &str, gold: &[&str], pred: &[&str]) -> Prf {
    let t = strip_ws(text);
    let g = locate(&t, gold);
    let regions: Vec<(usize, usize)> = g
        .windows(2)
        .map(|w| (w[0].1, w[1].0.max(w[0].1)))
        .filter(|r| r.0 < t.len())
        .collect();
    let (lead, tail) = match (g.first(), g.last()) {
        (Some(f), Some(l)) => (f.0, l.1),
        _ => (0, t.len()),
    };
    let mut hit = vec![false; regions.len()];
    let mut prf = Prf::default();
    for (_, end) in locate(&t, pred) {
        if end >= t.len() || end <= lead || end > tail {
            continue;
        }
        match regions.iter().position(|r| r.0 <= end && end <= r.1) {
            Some(k) if !hit[k] => {
                hit[k] = true;
                prf.tp += 1;
            }
            _ => prf.fp += 1,
        }
    }
    prf.fn_ = hit.iter().filter(|h| !**h).count();
    prf
}

/// Exact-match entity scoring (conlleval): spans and types must both match.
/// Returns the overall count and one per type.
pub fn entity_prf(
    gold: &[(usize, usize, String)],
    pred: &[(usize, usize, String)],
) -> (Prf, BTreeMap<String, Prf>) {
    let g: HashSet<&(usize, usize, String)> = gold.iter().collect();
    let p: HashSet<&(usize, usize, String)> = pred.iter().collect();
    let mut per: BTreeMap<String, Prf> = BTreeMap::new();
    let mut all = Prf::default();
    for e in &p {
        let slot = per.entry(e.2.clone()).or_default();
        if g.contains(e) {
            slot.tp += 1;
            all.tp += 1
        } else {
            slot.fp += 1;
            all.fp += 1
        }
    }
    for e in &g {
        if !p.contains(e) {
            per.entry(e.2.clone()).or_default().fn_ += 1;
            all.fn_ += 1;
        }
    }
    (all, per)
}

/// Lower-cased word tokens for ROUGE: runs of alphanumeric characters.
pub fn rouge_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// [`rouge_tokens`], each reduced to its Snowball stem (German or English).
pub fn rouge_tokens_stemmed(text: &str, stemmer: &rust_stemmers::Stemmer) -> Vec<String> {
    rouge_tokens(text)
        .into_iter()
        .map(|t| stemmer.stem(&t).into_owned())
        .collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

/// ROUGE-N F1 with clipped counts.
pub fn rouge_n(reference: &[String], candidate: &[String], n: usize) -> f64 {
    let r = ngrams(reference, n);
    let c = ngrams(candidate, n);
    let overlap: usize = c
        .iter()
        .map(|(k, v)| (*v).min(*r.get(k).unwrap_or(&0)))
        .sum();
    let (rt, ct): (usize, usize) = (r.values().sum(), c.values().sum());
    if rt == 0 || ct == 0 || overlap == 0 {
        return 0.0;
    }
    let (p, rec) = (overlap as f64 / ct as f64, overlap as f64 / rt as f64);
    2.0 * p * rec / (p + rec)
}

/// ROUGE-L F1 (longest common subsequence over the whole texts).
pub fn rouge_l(reference: &[String], candidate: &[String]) -> f64 {
    if reference.is_empty() || candidate.is_empty() {
        return 0.0;
    }
    let mut prev = vec![0u32; candidate.len() + 1];
    let mut cur = vec![0u32; candidate.len() + 1];
    for r in reference {
        for (j, c) in candidate.iter().enumerate() {
            cur[j + 1] = if r == c {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let lcs = prev[candidate.len()] as f64;
    if lcs == 0.0 {
        return 0.0;
    }
    let (p, r) = (lcs / candidate.len() as f64, lcs / reference.len() as f64);
    2.0 * p * r / (p + r)
}

/// Collapses white space as trafilatura's evaluation does (`re.sub(r"\s+", " ", s).strip()`).
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// trafilatura's scoring of one page: each `with` snippet found is a TP (else FN), each
/// `without` snippet found is an FP (else a TN, not counted in P/R/F1).
pub fn with_without(extracted: &str, with: &[String], without: &[String]) -> Prf {
    let text = squash(extracted);
    let mut prf = Prf::default();
    for w in with {
        if text.contains(&squash(w)) {
            prf.tp += 1
        } else {
            prf.fn_ += 1
        }
    }
    for w in without {
        if text.contains(&squash(w)) {
            prf.fp += 1;
        }
    }
    prf
}

/// Line-label scoring of a cleaner: `labels` are `(label, line)` with `K` (keep), `D` (drop) or
/// `?` (either, not scored); a line counts as kept when it appears, white space squashed, as a
/// line of `kept_text`. Returns the counts and the K lines lost and D lines kept.
pub fn line_labels<'a>(
    kept_text: &str,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Prf, Vec<&'a str>, Vec<&'a str>) {
    let kept: HashSet<String> = kept_text
        .lines()
        .map(squash)
        .filter(|l| !l.is_empty())
        .collect();
    let mut prf = Prf::default();
    let (mut lost, mut wrongly_kept) = (Vec::new(), Vec::new());
    for (label, line) in labels {
        match (label, kept.contains(&squash(line))) {
            ("K", true) => prf.tp += 1,
            ("K", false) => {
                prf.fn_ += 1;
                lost.push(line);
            }
            ("D", true) => {
                prf.fp += 1;
                wrongly_kept.push(line);
            }
            _ => {}
        }
    }
    (prf, lost, wrongly_kept)
}

/// Accuracy per language: `(gold, predicted)` pairs → language → (correct, total).
pub fn accuracy_per_language<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, (usize, usize)> {
    let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (gold, pred) in pairs {
        let e = m.entry(gold.to_string()).or_default();
        e.1 += 1;
        e.0 += usize::from(gold == pred);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn prf_known_values() {
        let p = Prf {
            tp: 3,
            fp: 1,
            fn_: 2,
        };
        assert!(close(p.precision(), 0.75));
        assert!(close(p.recall(), 0.6));
        assert!(close(p.f1(), 2.0 * 0.75 * 0.6 / 1.35));
        assert!(close(Prf::default().f1(), 1.0));
    }

    #[test]
    fn boundaries_ignore_white_space() {
        let text = "Er kam. Sie ging.\n\nDann Ruhe.";
        let gold = ["Er kam.", "Sie ging.", "Dann Ruhe."];
        let pred = ["Er kam. Sie ging.", "Dann Ruhe."];
        let prf = boundary_prf(text, &gold, &pred);
        assert_eq!(
            prf,
            Prf {
                tp: 1,
                fp: 0,
                fn_: 1
            }
        );
        let over = ["Er", "kam.", "Sie ging.", "Dann Ruhe."];
        assert_eq!(
            boundary_prf(text, &gold, &over),
            Prf {
                tp: 2,
                fp: 1,
                fn_: 0
            }
        );
    }

    #[test]
    fn boundaries_span_material_the_gold_leaves_out() {
        // Table of contents: the gold keeps the titles only.
        let text = "About Me........5\nChapter 2 ....... 6\nThe End";
        let gold = ["About Me", "Chapter 2", "The End"];
        let lines = ["About Me........5", "Chapter 2 ....... 6", "The End"];
        let prf = boundary_prf(text, &gold, &lines);
        assert_eq!((prf.tp, prf.fp, prf.fn_), (2, 0, 0));
        // Two cuts in one stretch: one is right, the other is an extra sentence.
        let twice = ["About Me", "........5", "Chapter 2 ....... 6 The End"];
        let prf = boundary_prf(text, &gold, &twice);
        assert_eq!((prf.tp, prf.fp, prf.fn_), (1, 1, 1));
        // Material before the first gold sentence is not scored ("3" is a page number).
        let prf = boundary_prf(
            "3\n\nIntroduction",
            &["Introduction"],
            &["3", "Introduction"],
        );
        assert_eq!((prf.tp, prf.fp, prf.fn_), (0, 0, 0));
    }

    #[test]
    fn entities_need_exact_span_and_type() {
        let gold = vec![(0, 5, "PER".into()), (10, 16, "LOC".into())];
        let pred = vec![
            (0, 5, "PER".into()),
            (10, 16, "ORG".into()),
            (20, 22, "LOC".into()),
        ];
        let (all, per) = entity_prf(&gold, &pred);
        assert_eq!(
            all,
            Prf {
                tp: 1,
                fp: 2,
                fn_: 1
            }
        );
        assert_eq!(
            per["LOC"],
            Prf {
                tp: 0,
                fp: 1,
                fn_: 1
            }
        );
        assert_eq!(
            per["ORG"],
            Prf {
                tp: 0,
                fp: 1,
                fn_: 0
            }
        );
    }

    #[test]
    fn rouge_known_values() {
        let r = rouge_tokens("the cat sat on the mat");
        let c = rouge_tokens("The cat, on the mat!");
        // unigrams: overlap 5 (the×2, cat, on, mat) of 5 candidate / 6 reference.
        assert!(close(
            rouge_n(&r, &c, 1),
            2.0 * 1.0 * (5.0 / 6.0) / (1.0 + 5.0 / 6.0)
        ));
        // bigrams: ref {the cat, cat sat, sat on, on the, the mat}; cand {the cat, cat on, on the, the mat}: 3.
        assert!(close(rouge_n(&r, &c, 2), 2.0 * 0.75 * 0.6 / 1.35));
        // LCS = the cat on the mat = 5.
        assert!(close(
            rouge_l(&r, &c),
            2.0 * 1.0 * (5.0 / 6.0) / (1.0 + 5.0 / 6.0)
        ));
        assert_eq!(rouge_n(&r, &[], 1), 0.0);
    }

    #[test]
    fn line_labels_score_kept_lines() {
        let kept = "Überschrift\n\nDer  Artikel   beginnt hier.\nNavigation";
        let labels = [
            ("K", "Überschrift"),
            ("K", "Der Artikel beginnt hier."),
            ("K", "Verloren"),
            ("D", "Navigation"),
            ("D", "Cookies"),
            ("?", "egal"),
        ];
        let (prf, lost, kept_d) = line_labels(kept, labels);
        assert_eq!(
            prf,
            Prf {
                tp: 2,
                fp: 1,
                fn_: 1
            }
        );
        assert_eq!(lost, ["Verloren"]);
        assert_eq!(kept_d, ["Navigation"]);
    }

    #[test]
    fn accuracy_counts_per_gold_language() {
        let m = accuracy_per_language([("de", "de"), ("de", "en"), ("en", "en"), ("de", "und")]);
        assert_eq!(m["de"], (1, 3));
        assert_eq!(m["en"], (1, 1));
    }

    #[test]
    fn stemming_merges_inflections() {
        let st = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::German);
        let r = rouge_tokens_stemmed("Die Beziehungen wachsen", &st);
        let c = rouge_tokens_stemmed("die Beziehung wächst", &st);
        assert!(
            rouge_n(&r, &c, 1)
                > rouge_n(
                    &rouge_tokens("Die Beziehungen wachsen"),
                    &rouge_tokens("die Beziehung wächst"),
                    1
                )
        );
    }

    #[test]
    fn with_without_counts_like_trafilatura() {
        let text = "Die GEMA dreht völlig\n am Zeiger! Impressum";
        let prf = with_without(
            text,
            &["Die GEMA dreht völlig am Zeiger!".into(), "fehlt".into()],
            &["Impressum".into(), "31. Mai".into()],
        );
        assert_eq!(
            prf,
            Prf {
                tp: 1,
                fp: 1,
                fn_: 1
            }
        );
    }
}
