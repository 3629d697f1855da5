//! Training the entity tagger: averaged structured perceptron over the training
//! sentences, the best epoch on the dev set kept, several seeds averaged; the k-fold
//! training-time gazetteer, capitalisation buckets, word clusters (spherical k-means over
//! neighbour counts) and the reader of training data. Behind the `train` cargo feature.

use rustc_hash::FxHashMap;

use super::features::*;
use super::*;

/// One training sentence: tokens and gold tags.
#[derive(Debug, Clone)]
pub struct Example {
    /// Tokens as text.
    pub tokens: Vec<String>,
    /// Gold tag per token.
    pub tags: Vec<usize>,
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Most passes over the data (the best epoch on the dev set is kept).
    pub epochs: usize,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Folds for the training-time gazetteer (each fold sees names from the others only).
    pub folds: usize,
    /// Names seen fewer times than this in training are left out of the gazetteer.
    pub min_name_count: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 12,
            seed: 42,
            folds: 5,
            min_name_count: 1,
        }
    }
}

/// Progress report of one epoch.
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Training-token tag accuracy during the pass (before averaging).
    pub train_accuracy: f64,
    /// Entity F1 on the dev set with the averaged weights.
    pub dev_f1: f64,
}

fn gazetteer_of<'a>(
    examples: impl Iterator<Item = &'a Example>,
    min_count: usize,
    buf: &mut Vec<char>,
) -> FxHashMap<u64, u8> {
    let mut counts: FxHashMap<(u64, u8), usize> = FxHashMap::default();
    let mut prefixes: Vec<u64> = Vec::new();
    for ex in examples {
        for (s, e, ty) in spans_of(&ex.tags) {
            if e - s > MAX_GAZ_LEN {
                continue;
            }
            let infos: Vec<TokInfo> = ex.tokens[s..e]
                .iter()
                .map(|w| tok_info(w, buf, None))
                .collect();
            *counts.entry((seq_hash(&infos), 1 << ty)).or_insert(0) += 1;
            for k in 1..infos.len() {
                prefixes.push(seq_hash(&infos[..k]));
            }
        }
    }
    let mut gaz: FxHashMap<u64, u8> = FxHashMap::default();
    for p in prefixes {
        gaz.entry(p).or_insert(0);
    }
    for ((h, m), c) in counts {
        if c >= min_count {
            *gaz.entry(h).or_insert(0) |= m;
        }
    }
    gaz
}

fn caps_of(examples: &[Example], buf: &mut Vec<char>) -> FxHashMap<u64, u8> {
    let mut counts: FxHashMap<u64, (u32, u32)> = FxHashMap::default();
    for ex in examples {
        for (i, w) in ex.tokens.iter().enumerate() {
            // Sentence-initial words say nothing about how a word is written.
            if i == 0 {
                continue;
            }
            let t = tok_info(w, buf, None);
            if !t.has_alpha || t.all_upper {
                continue;
            }
            let c = counts.entry(t.lower).or_insert((0, 0));
            c.0 += 1;
            c.1 += t.upper_first as u32;
        }
    }
    counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(k, (n, up))| (k, ((up as f64 / n as f64) * 4.0).round() as u8))
        .collect()
}

/// Scores a model on the dev set (entity F1): the best epoch is the one it scores highest.
/// The eval crate's entity scorer is the one used (`textpipe_eval::ner_f1`).
pub type DevScore<'a> = &'a dyn Fn(&NerModel) -> f64;

/// Trains `runs` models with different shuffling seeds (`o.seed`, `o.seed + 1`, …) and
/// averages their weights into one model (a linear model, so the average is one model of
/// the same kind); `report` gets every run's epochs. With `runs == 1` this is [`train`].
pub fn train_ensemble(
    train_set: &[Example],
    dev: Option<DevScore<'_>>,
    clusters: FxHashMap<u64, u32>,
    o: &TrainOptions,
    runs: usize,
    mut report: impl FnMut(usize, EpochReport),
) -> NerModel {
    let runs = runs.max(1);
    let models: Vec<NerModel> = (0..runs)
        .map(|r| {
            let o = TrainOptions {
                seed: o.seed.wrapping_add(r as u64),
                ..o.clone()
            };
            train(train_set, dev, clusters.clone(), &o, |e| report(r, e))
        })
        .collect();
    if runs == 1 {
        return models.into_iter().next().unwrap_or_default();
    }
    let mut keys: Vec<u64> = models
        .iter()
        .flat_map(|m| m.index.keys().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = NerModel {
        index: FxHashMap::default(),
        w: vec![0.0; keys.len() * NT],
        rows: FxHashMap::default(),
        trans: vec![0.0; (NT + 1) * NT],
        gaz: models[0].gaz.clone(),
        caps: models[0].caps.clone(),
        clusters: models[0].clusters.clone(),
    };
    let scale = 1.0 / runs as f32;
    for (row, k) in keys.iter().enumerate() {
        out.index.insert(*k, row as u32);
        for m in &models {
            if let Some(&r) = m.index.get(k) {
                let r = r as usize * NT;
                for (a, b) in out.w[row * NT..(row + 1) * NT]
                    .iter_mut()
                    .zip(&m.w[r..r + NT])
                {
                    *a += b * scale;
                }
            }
        }
    }
    for m in &models {
        for (a, b) in out.trans.iter_mut().zip(&m.trans) {
            *a += b * scale;
        }
    }
    out.prune(1e-3);
    out
}

/// Trains a model; `report` is called after each epoch. The epoch `dev` scores best is
/// returned (the last one without `dev`).
///
/// One epoch loop with the averaging state it updates; its helpers are split out.
pub fn train(
    train: &[Example],
    dev: Option<DevScore<'_>>,
    clusters: FxHashMap<u64, u32>,
    o: &TrainOptions,
    mut report: impl FnMut(EpochReport),
) -> NerModel {
    let mut buf = Vec::new();
    let caps = caps_of(train, &mut buf);
    // Training-time gazetteer features: each fold's sentences see names from the other folds.
    let folds = o.folds.max(2);
    let fold_gaz: Vec<FxHashMap<u64, u8>> = (0..folds)
        .map(|k| {
            gazetteer_of(
                train
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % folds != k)
                    .map(|(_, e)| e),
                o.min_name_count,
                &mut buf,
            )
        })
        .collect();
    let full_gaz = gazetteer_of(train.iter(), o.min_name_count, &mut buf);
    // Features of every training sentence, computed once.
    let feats: Vec<Features> = train
        .iter()
        .enumerate()
        .map(|(i, ex)| {
            let mut grams = vec![[0u64; 16]; ex.tokens.len()];
            let mut infos: Vec<TokInfo> = ex
                .tokens
                .iter()
                .zip(&mut grams)
                .map(|(w, g)| tok_info(w, &mut buf, Some(g)))
                .collect();
            if let Some(t) = infos.first_mut() {
                t.sent_start = true;
            }
            let g = gaz_hits(&fold_gaz[i % folds], &infos);
            let lists = gaz_hits(name_lists(), &infos);
            let mut f = Features {
                f: Vec::new(),
                offsets: Vec::new(),
            };
            features(&infos, &grams, &g, &lists, &caps, &clusters, &mut f);
            f
        })
        .collect();

    // Averaged perceptron: w, and u accumulating c·Δ; average = w − u/c.
    let mut model = NerModel {
        index: FxHashMap::default(),
        w: Vec::new(),
        rows: FxHashMap::default(),
        trans: vec![0.0; (NT + 1) * NT],
        gaz: full_gaz,
        caps,
        clusters,
    };
    let mut u: Vec<f32> = Vec::new();
    let mut ut = vec![0f32; (NT + 1) * NT];
    let mut c: f32 = 1.0;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = o.seed | 1;
    let mut best: Option<(f64, NerModel)> = None;
    let mut em = Vec::new();
    for epoch in 1..=o.epochs {
        // Fisher–Yates with xorshift: reproducible for a seed.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        let (mut right, mut total) = (0usize, 0usize);
        for &k in &order {
            let ex = &train[k];
            let f = &feats[k];
            let n = ex.tags.len();
            if n == 0 {
                continue;
            }
            model.emissions(f, &mut em);
            let pred = viterbi(&em, &model.trans, n);
            total += n;
            right += pred.iter().zip(&ex.tags).filter(|(a, b)| a == b).count();
            if pred != ex.tags {
                for i in 0..n {
                    let (g, p) = (ex.tags[i], pred[i]);
                    if g != p {
                        for h in &f.f[f.offsets[i]..f.offsets[i + 1]] {
                            let r = match model.index.get(h) {
                                Some(&r) => r as usize,
                                None => {
                                    let r = model.index.len();
                                    model.index.insert(*h, r as u32);
                                    model.w.extend([0.0; NT]);
                                    u.extend([0.0; NT]);
                                    r
                                }
                            };
                            model.w[r * NT + g] += 1.0;
                            model.w[r * NT + p] -= 1.0;
                            u[r * NT + g] += c;
                            u[r * NT + p] -= c;
                        }
                    }
                    let (gp, pp) = if i == 0 {
                        (NT, NT)
                    } else {
                        (ex.tags[i - 1], pred[i - 1])
                    };
                    if (gp, g) != (pp, p) {
                        model.trans[gp * NT + g] += 1.0;
                        model.trans[pp * NT + p] -= 1.0;
                        ut[gp * NT + g] += c;
                        ut[pp * NT + p] -= c;
                    }
                }
            }
            c += 1.0;
        }
        let mut avg = model.clone();
        for (w, u) in avg.w.iter_mut().zip(&u) {
            *w -= u / c;
        }
        for (w, u) in avg.trans.iter_mut().zip(&ut) {
            *w -= u / c;
        }
        let dev_f1 = dev.map_or(0.0, |score| score(&avg));
        report(EpochReport {
            epoch,
            train_accuracy: right as f64 / total.max(1) as f64,
            dev_f1,
        });
        if best.as_ref().is_none_or(|(b, _)| dev_f1 > *b) || dev.is_none() {
            best = Some((dev_f1, avg));
        }
    }
    let mut m = best.map(|(_, m)| m).unwrap_or(model);
    m.prune(1e-3);
    m
}

impl NerModel {
    /// Drops feature rows whose weights are all tiny (they change no decision).
    fn prune(&mut self, eps: f32) {
        let mut index = FxHashMap::default();
        let mut w = Vec::new();
        let mut rows: Vec<(u64, u32)> = self.index.iter().map(|(k, v)| (*k, *v)).collect();
        rows.sort_unstable();
        for (k, r) in rows {
            let row = &self.w[r as usize * NT..(r as usize + 1) * NT];
            if row.iter().any(|x| x.abs() > eps) {
                index.insert(k, (w.len() / NT) as u32);
                w.extend_from_slice(row);
            }
        }
        self.index = index;
        self.w = w;
        self.build_rows();
    }
}

/// Word clusters from unlabelled text: each frequent word is described by its left and right
/// neighbours (among the most frequent words), and the words are grouped by spherical
/// k-means. Deterministic: centroids start at words spread over the frequency ranking.
/// `texts` are tokenised with the project's tokenizer.
pub fn word_clusters<'a>(
    texts: impl Iterator<Item = &'a str>,
    max_words: usize,
    iterations: usize,
) -> FxHashMap<u64, u32> {
    const CONTEXT: usize = 600;
    let abbr = crate::segment::Abbreviations::builtin();
    let mut toks = Vec::new();
    let mut buf = Vec::new();
    // Token streams as (exact hash, lower hash) pairs; 0 marks a text boundary.
    let mut stream: Vec<(u64, u64)> = Vec::new();
    let mut freq: FxHashMap<u64, u32> = FxHashMap::default();
    let mut lfreq: FxHashMap<u64, u32> = FxHashMap::default();
    for text in texts {
        toks.clear();
        crate::segment::tokenize::tokenize(text, 0, text.len(), &abbr, &mut toks);
        stream.push((0, 0));
        for t in &toks {
            let info = tok_info(&text[t.span.start..t.span.end], &mut buf, None);
            stream.push((info.word, info.lower));
            *freq.entry(info.word).or_insert(0) += 1;
            *lfreq.entry(info.lower).or_insert(0) += 1;
        }
    }
    stream.push((0, 0));
    let ranked = |m: &FxHashMap<u64, u32>, n: usize, min: u32| -> Vec<u64> {
        let mut v: Vec<(u32, u64)> = m
            .iter()
            .filter(|(_, c)| **c >= min)
            .map(|(h, c)| (*c, *h))
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.truncate(n);
        v.into_iter().map(|(_, h)| h).collect()
    };
    let words = ranked(&freq, max_words, 3);
    let ctx_ids: FxHashMap<u64, usize> = ranked(&lfreq, CONTEXT, 1)
        .into_iter()
        .enumerate()
        .map(|(i, h)| (h, i))
        .collect();
    let word_ids: FxHashMap<u64, usize> = words.iter().enumerate().map(|(i, h)| (*h, i)).collect();
    // Sparse context counts per word: left neighbour ids, right neighbour ids + CONTEXT.
    let mut counts: Vec<FxHashMap<u32, f32>> = vec![FxHashMap::default(); words.len()];
    for i in 1..stream.len().saturating_sub(1) {
        let Some(&w) = word_ids.get(&stream[i].0) else {
            continue;
        };
        let left = ctx_ids
            .get(&stream[i - 1].1)
            .map_or(2 * CONTEXT as u32, |&c| c as u32);
        let right = ctx_ids
            .get(&stream[i + 1].1)
            .map_or(2 * CONTEXT as u32 + 1, |&c| (c + CONTEXT) as u32);
        *counts[w].entry(left).or_insert(0.0) += 1.0;
        *counts[w].entry(right).or_insert(0.0) += 1.0;
    }
    let dim = 2 * CONTEXT + 2;
    let vecs: Vec<Vec<(u32, f32)>> = counts
        .into_iter()
        .map(|m| {
            let mut v: Vec<(u32, f32)> = m.into_iter().map(|(d, c)| (d, (1.0 + c).ln())).collect();
            v.sort_unstable_by_key(|x| x.0);
            let norm = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt().max(1e-9);
            v.iter_mut().for_each(|x| x.1 /= norm);
            v
        })
        .collect();
    let mut packed = vec![0u32; vecs.len()];
    for (k, shift) in [(64usize, 0u32), (256, 8), (1024, 16)] {
        for (p, c) in packed.iter_mut().zip(kmeans(&vecs, dim, k, iterations)) {
            *p |= (c as u32) << shift;
        }
    }
    words.into_iter().zip(packed).collect()
}

/// Spherical k-means over unit-length sparse vectors; cluster per vector.
fn kmeans(vecs: &[Vec<(u32, f32)>], dim: usize, k: usize, iterations: usize) -> Vec<u16> {
    let k = k.min(vecs.len()).max(1);
    let mut centroids: Vec<Vec<f32>> = (0..k)
        .map(|c| {
            let mut d = vec![0f32; dim];
            for &(i, x) in &vecs[c * vecs.len() / k] {
                d[i as usize] = x;
            }
            d
        })
        .collect();
    let mut assign = vec![0u16; vecs.len()];
    for _ in 0..iterations {
        for (w, v) in vecs.iter().enumerate() {
            let mut best = (f32::NEG_INFINITY, 0);
            for (c, cen) in centroids.iter().enumerate() {
                let s: f32 = v.iter().map(|&(i, x)| cen[i as usize] * x).sum();
                if s > best.0 {
                    best = (s, c);
                }
            }
            assign[w] = best.1 as u16;
        }
        for cen in &mut centroids {
            cen.iter_mut().for_each(|x| *x = 0.0);
        }
        for (w, v) in vecs.iter().enumerate() {
            let cen = &mut centroids[assign[w] as usize];
            for &(i, x) in v {
                cen[i as usize] += x;
            }
        }
        for cen in &mut centroids {
            let norm = cen.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
            cen.iter_mut().for_each(|x| *x /= norm);
        }
    }
    assign
}

/// Reads gold NER data in the JSONL format of `../shared/eval/ner/` (`text`, and `entities`
/// as `[start, end, label]` in characters) and tokenises it with the project's own tokenizer,
/// so models train on the tokens they will see. `OTH` (GermEval) becomes `MISC`; other
/// labels are ignored. Errors name the line.
pub fn read_examples(jsonl: &str) -> Result<Vec<Example>, String> {
    let abbr = crate::segment::Abbreviations::builtin();
    let mut out = Vec::new();
    let mut toks = Vec::new();
    for (n, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let text = v["text"]
            .as_str()
            .ok_or_else(|| format!("line {}: no `text`", n + 1))?;
        // Character offset → byte offset.
        let mut byte_at: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        byte_at.push(text.len());
        toks.clear();
        crate::segment::tokenize::tokenize(text, 0, text.len(), &abbr, &mut toks);
        let mut spans = Vec::new();
        for e in v["entities"].as_array().into_iter().flatten() {
            let (Some(s), Some(end), Some(label)) = (e[0].as_u64(), e[1].as_u64(), e[2].as_str())
            else {
                return Err(format!("line {}: bad entity {e}", n + 1));
            };
            let label = if label == "OTH" { "MISC" } else { label };
            let Some(ty) = TYPES.iter().position(|t| *t == label) else {
                continue;
            };
            let (Some(&bs), Some(&be)) = (byte_at.get(s as usize), byte_at.get(end as usize))
            else {
                return Err(format!("line {}: entity {e} outside the text", n + 1));
            };
            let first = toks
                .iter()
                .position(|t| t.span.start >= bs && t.span.start < be);
            let last = toks
                .iter()
                .rposition(|t| t.span.start >= bs && t.span.start < be);
            if let (Some(a), Some(b)) = (first, last) {
                spans.push((a, b + 1, ty));
            }
        }
        out.push(Example {
            tokens: toks
                .iter()
                .map(|t| text[t.span.start..t.span.end].to_string())
                .collect(),
            tags: tags_of(toks.len(), &spans),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(words: &str, tags: &[usize]) -> Example {
        Example {
            tokens: words.split(' ').map(String::from).collect(),
            tags: tags.to_vec(),
        }
    }

    #[test]
    fn learns_a_toy_pattern_and_survives_serialisation() {
        let per = |n: &str| {
            ex(
                &format!("Präsident {n} sagte heute etwas"),
                &[0, 1, 0, 0, 0],
            )
        };
        let loc = |n: &str| ex(&format!("in {n} wurde gestern gewählt"), &[0, 3, 0, 0, 0]);
        let data: Vec<Example> = ["Putin", "Lukaschenko", "Macron", "Biden", "Scholz"]
            .iter()
            .map(|n| per(n))
            .chain(
                ["Minsk", "Moskau", "Paris", "Berlin", "Kiew"]
                    .iter()
                    .map(|n| loc(n)),
            )
            .collect();
        let m = train(
            &data,
            None,
            FxHashMap::default(),
            &TrainOptions::default(),
            |_| {},
        );
        // Names seen in training, in sentences not seen.
        let probe = ["Gestern", "traf", "Scholz", "in", "Paris", "ein"];
        let want = vec![(2, 3, 0), (4, 5, 1)];
        assert_eq!(m.entities(&probe), want);
        let back = NerModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.entities(&probe), want);
        assert_eq!(back.rows(), m.rows());
        assert!(NerModel::from_bytes(b"nonsense").is_err());
        assert!(NerModel::from_bytes(&m.to_bytes()[..100]).is_err());
    }
}
