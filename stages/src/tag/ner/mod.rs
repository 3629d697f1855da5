//! Named-entity recognition: a first-order sequence tagger (BIO tags over PER, LOC, ORG,
//! MISC) trained as an averaged structured perceptron and decoded with Viterbi.
//!
//! Written here rather than taken from a crate: the Rust CRF crates bind C++ (crfsuite) or
//! are unmaintained, and a perceptron over hashed features is small, fast and needs no
//! native code. Features per token: the word and its lower-case form, word shape, prefixes
//! and suffixes, the neighbouring words and shapes (±2), bigrams, how often the word is
//! capitalised in the training data, an all-caps-line flag, and hits in a gazetteer of
//! names collected from the training data (built k-fold during training, so the model does
//! not learn to trust it blindly). Features are 64-bit hashes; nothing is allocated per token.
//!
//! Model files (`stages/models/ner-*.bin`) are written by `textpipe train ner`.
//!
//! Rooms: this module tags (the model, the inference cache, Viterbi); [`features`] turns
//! tokens into feature hashes; `model_file` reads and writes the model; `train` (the
//! `train` cargo feature, which the CLI and the eval crate enable) learns it.

use rustc_hash::FxHashMap;

pub mod features;
mod model_file;
#[cfg(feature = "train")]
pub mod train;

pub use features::is_listed_place;
use features::*;
#[cfg(feature = "train")]
pub use train::{
    read_examples, train, train_ensemble, word_clusters, DevScore, EpochReport, Example,
    TrainOptions,
};

/// The entity types, in tag order: tag 0 is `O`, then `B-T`, `I-T` for each type.
pub const TYPES: [&str; 4] = ["PER", "LOC", "ORG", "MISC"];
const NT: usize = 1 + 2 * TYPES.len();
const MAGIC: &[u8; 8] = b"TPNER\x00\x00\x04";
const MAX_GAZ_LEN: usize = 6;

/// Errors reading a model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a model file, or a truncated one.
    #[error("not a textpipe NER model (or a truncated one): {0}")]
    Format(&'static str),
}

/// A trained tagger.
#[derive(Debug, Clone, Default)]
pub struct NerModel {
    /// Feature hash → row in `w`.
    index: FxHashMap<u64, u32>,
    /// `NT` weights per feature row.
    w: Vec<f32>,
    /// The same weights keyed by feature hash, for tagging: one memory access per feature
    /// instead of two. Built by [`NerModel::build_rows`] once training or loading is done;
    /// the cached tagging path reads only this (training scores through `index` and `w`).
    rows: FxHashMap<u64, [f32; NT]>,
    /// Transition weights: row `NT` is the start state; `trans[prev * NT + cur]`.
    trans: Vec<f32>,
    /// Token-sequence hash → bit mask of entity types seen with exactly that name.
    gaz: FxHashMap<u64, u8>,
    /// Lower-case word hash → capitalisation bucket (0: always lower … 4: always capitalised).
    caps: FxHashMap<u64, u8>,
    /// Word hash (exact case) → distributional clusters at three granularities, learnt from
    /// unlabelled text: bits 0–7 of 64 clusters, 8–15 of 256, 16–31 of 1024.
    clusters: FxHashMap<u64, u32>,
}

/// Per-worker memory of word scores for [`NerModel::entities_cached`] (one per model),
/// and scratch space reused from paragraph to paragraph.
#[derive(Debug, Clone, Default)]
pub struct NerCache {
    map: FxHashMap<u64, u32>,
    words: Vec<Cached>,
    pads: [[f32; NT]; 4],
    pads_ready: bool,
    buf: Vec<char>,
    ids: Vec<u32>,
    infos: Vec<TokInfo>,
    packed: Vec<u32>,
    gaz: Vec<(u8, u8)>,
    lists: Vec<(u8, u8)>,
    f: Vec<u64>,
    em: Vec<f32>,
    scores: Vec<[f32; NT]>,
    tags: Vec<usize>,
}

/// A word's token information and score parts.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    /// Scores from its own features and [`word_ctx_feats`], inside a sentence (0) and at
    /// its start (1).
    own: [[f32; NT]; 2],
    /// `near[s]`: the scores it gives a token when it stands at offset `NEAR[s]` from it.
    near: [[f32; NT]; 4],
    info: TokInfo,
    packed: u32,
    /// The model gazetteer's and the name lists' entries for the word alone.
    gaz1: Option<u8>,
    list1: Option<u8>,
}

/// Tag id → (type index, is-begin); `None` for O.
fn tag_parts(t: usize) -> Option<(usize, bool)> {
    (t > 0).then(|| ((t - 1) / 2, (t - 1) % 2 == 0))
}

/// Tag name for output and debugging.
pub fn tag_name(t: usize) -> String {
    match tag_parts(t) {
        None => "O".into(),
        Some((ty, true)) => format!("B-{}", TYPES[ty]),
        Some((ty, false)) => format!("I-{}", TYPES[ty]),
    }
}

/// Whether `cur` may follow `prev` (`I-T` only after `B-T` or `I-T`; `prev == NT` is the start).
fn allowed(prev: usize, cur: usize) -> bool {
    match tag_parts(cur) {
        Some((ty, false)) => matches!(tag_parts(prev), Some((pty, _)) if prev < NT && pty == ty),
        _ => true,
    }
}
impl NerModel {
    /// Number of feature rows (for reporting model size).
    pub fn rows(&self) -> usize {
        self.index.len()
    }

    fn prepare(&self, tokens: &[&str], starts: &[bool], feats: &mut Features, buf: &mut Vec<char>) {
        let mut grams = vec![[0u64; 16]; tokens.len()];
        let mut infos: Vec<TokInfo> = tokens
            .iter()
            .zip(&mut grams)
            .map(|(w, g)| tok_info(w, buf, Some(g)))
            .collect();
        for (t, s) in infos.iter_mut().zip(starts) {
            t.sent_start = *s;
        }
        let gaz = gaz_hits(&self.gaz, &infos);
        let lists = gaz_hits(name_lists(), &infos);
        features(
            &infos,
            &grams,
            &gaz,
            &lists,
            &self.caps,
            &self.clusters,
            feats,
        );
    }

    /// Emission scores per token (`NT` each).
    fn emissions(&self, feats: &Features, out: &mut Vec<f32>) {
        let n = feats.offsets.len() - 1;
        out.clear();
        out.resize(n * NT, 0.0);
        for i in 0..n {
            let row = &mut out[i * NT..(i + 1) * NT];
            for h in &feats.f[feats.offsets[i]..feats.offsets[i + 1]] {
                if let Some(&r) = self.index.get(h) {
                    let r = r as usize * NT;
                    for (s, w) in row.iter_mut().zip(&self.w[r..r + NT]) {
                        *s += w;
                    }
                }
            }
        }
    }

    /// The best tag sequence for one sentence.
    pub fn tag(&self, tokens: &[&str]) -> Vec<usize> {
        let mut starts = vec![false; tokens.len()];
        if let Some(s) = starts.first_mut() {
            *s = true;
        }
        self.tag_with_starts(tokens, &starts)
    }

    /// The best tag sequence for a run of sentences (a paragraph): `starts[i]` marks the
    /// first token of each sentence. Tagging a paragraph as one sequence keeps the context
    /// across a sentence boundary that the segmenter may have put in the wrong place.
    pub fn tag_with_starts(&self, tokens: &[&str], starts: &[bool]) -> Vec<usize> {
        if tokens.is_empty() {
            return Vec::new();
        }
        let mut feats = Features {
            f: Vec::with_capacity(tokens.len() * 28),
            offsets: Vec::with_capacity(tokens.len() + 1),
        };
        let mut buf = Vec::new();
        self.prepare(tokens, starts, &mut feats, &mut buf);
        let mut em = Vec::new();
        self.emissions(&feats, &mut em);
        viterbi(&em, &self.trans, tokens.len())
    }

    /// Entities of one sentence as (first token, end token exclusive, type index).
    pub fn entities(&self, tokens: &[&str]) -> Vec<(usize, usize, usize)> {
        spans_of(&self.tag(tokens))
    }

    /// Entities of a paragraph whose sentences start where `starts` says.
    pub fn entities_with_starts(
        &self,
        tokens: &[&str],
        starts: &[bool],
    ) -> Vec<(usize, usize, usize)> {
        spans_of(&self.tag_with_starts(tokens, starts))
    }

    /// Sum of the weight rows of `feats` into `row`.
    fn add_rows(&self, feats: &[u64], row: &mut [f32; NT]) {
        for h in feats {
            if let Some(w) = self.rows.get(h) {
                for (s, w) in row.iter_mut().zip(w) {
                    *s += w;
                }
            }
        }
    }

    /// Entities of a paragraph (as [`NerModel::entities_with_starts`]), with the per-word
    /// parts of the scores taken from `cache`: a word's own features and the features it
    /// gives its neighbours are summed once per distinct word, not once per occurrence.
    pub fn entities_cached(
        &self,
        cache: &mut NerCache,
        tokens: &[&str],
        starts: &[bool],
    ) -> Vec<(usize, usize, usize)> {
        let n = tokens.len();
        if n == 0 {
            return Vec::new();
        }
        let has_clusters = !self.clusters.is_empty();
        if cache.words.len() > 200_000 {
            cache.map.clear();
            cache.words.clear();
        }
        if !cache.pads_ready {
            for (slot, k) in NEAR.iter().enumerate() {
                let mut f = Vec::new();
                near_feats(*k, None, 0xffff_fffe, has_clusters, &mut f);
                let mut row = [0f32; NT];
                self.add_rows(&f, &mut row);
                cache.pads[slot] = row;
            }
            cache.pads_ready = true;
        }
        let mut ids = std::mem::take(&mut cache.ids);
        let mut infos = std::mem::take(&mut cache.infos);
        let mut f = std::mem::take(&mut cache.f);
        ids.clear();
        infos.clear();
        for (w, start) in tokens.iter().zip(starts) {
            // The cache's own key, over the word's bytes (the features' `word_hash` goes
            // character by character).
            let key = super::word_key(w);
            let id = match cache.map.get(&key) {
                Some(&id) => id,
                None => {
                    let id = self.cache_word(cache, w, has_clusters, &mut f);
                    cache.map.insert(key, id);
                    id
                }
            };
            let mut info = cache.words[id as usize].info;
            info.sent_start = *start;
            infos.push(info);
            ids.push(id);
        }
        let words = &cache.words;
        cache.packed.clear();
        cache
            .packed
            .extend(ids.iter().map(|&id| words[id as usize].packed));
        gaz_hits_with(
            &self.gaz,
            &infos,
            |i| words[ids[i] as usize].gaz1,
            &mut cache.gaz,
        );
        gaz_hits_with(
            name_lists(),
            &infos,
            |i| words[ids[i] as usize].list1,
            &mut cache.lists,
        );
        let caps_line = is_caps_line(&infos);
        cache.em.clear();
        for i in 0..n {
            let w = &words[ids[i] as usize];
            let mut row = w.own[infos[i].sent_start as usize];
            for (slot, k) in NEAR.iter().enumerate() {
                // The word at i + k contributes what it says about the word at distance −k.
                let j = i as isize + k;
                let v = if j >= 0 && (j as usize) < n {
                    &words[ids[j as usize] as usize].near[slot]
                } else {
                    &cache.pads[slot]
                };
                for (a, b) in row.iter_mut().zip(v) {
                    *a += b;
                }
            }
            f.clear();
            context_feats(
                i,
                &infos,
                &cache.packed,
                &cache.gaz,
                &cache.lists,
                &self.caps,
                has_clusters,
                caps_line,
                false,
                &mut f,
            );
            self.add_rows(&f, &mut row);
            cache.em.extend_from_slice(&row);
        }
        viterbi_into(
            &cache.em,
            &self.trans,
            n,
            &mut cache.scores,
            &mut cache.tags,
        );
        cache.ids = ids;
        cache.infos = infos;
        cache.f = f;
        spans_of(&cache.tags)
    }

    /// Computes and caches the score parts of word `w`; returns its id in `cache.words`.
    fn cache_word(
        &self,
        cache: &mut NerCache,
        w: &str,
        has_clusters: bool,
        f: &mut Vec<u64>,
    ) -> u32 {
        let mut grams = [0u64; 16];
        let mut info = tok_info(w, &mut cache.buf, Some(&mut grams));
        let p = packed_cluster(&self.clusters, Some(&info));
        let mut own = [0f32; NT];
        f.clear();
        own_feats(&info, &grams, p, has_clusters, f);
        self.add_rows(f, &mut own);
        let mut near = [[0f32; NT]; 4];
        for (slot, k) in NEAR.iter().enumerate() {
            f.clear();
            near_feats(*k, Some(&info), p, has_clusters, f);
            self.add_rows(f, &mut near[slot]);
        }
        let mut both = [own; 2];
        for (start, row) in both.iter_mut().enumerate() {
            info.sent_start = start == 1;
            f.clear();
            word_ctx_feats(&info, &self.caps, f);
            self.add_rows(f, row);
        }
        info.sent_start = false;
        let one = mix(GAZ_SEED, info.word);
        cache.words.push(Cached {
            own: both,
            near,
            info,
            packed: p,
            gaz1: self.gaz.get(&one).copied(),
            list1: name_lists().get(&one).copied(),
        });
        (cache.words.len() - 1) as u32
    }
}

/// Best path through the tag lattice with the BIO constraint.
fn viterbi(em: &[f32], trans: &[f32], n: usize) -> Vec<usize> {
    let mut tags = Vec::new();
    viterbi_into(em, trans, n, &mut Vec::new(), &mut tags);
    tags
}

/// [`viterbi`] into `tags`, with `scores` as scratch space. Disallowed transitions are
/// folded into the transition table as −∞, so the forward pass is only additions and
/// maxima over whole rows (SIMD); the best predecessor is found again while tracing back,
/// for the one tag on the path instead of for every tag.
fn viterbi_into(
    em: &[f32],
    trans: &[f32],
    n: usize,
    scores: &mut Vec<[f32; NT]>,
    tags: &mut Vec<usize>,
) {
    tags.clear();
    if n == 0 {
        return;
    }
    // tm[p][c]: score of moving from p to c.
    let mut tm = [[f32::NEG_INFINITY; NT]; NT];
    for (p, row) in tm.iter_mut().enumerate() {
        for (c, t) in row.iter_mut().enumerate() {
            if allowed(p, c) {
                *t = trans[p * NT + c];
            }
        }
    }
    scores.clear();
    scores.resize(n, [f32::NEG_INFINITY; NT]);
    for c in 0..NT {
        if allowed(NT, c) {
            scores[0][c] = trans[NT * NT + c] + em[c];
        }
    }
    for i in 1..n {
        let prev = scores[i - 1];
        let mut best = [f32::NEG_INFINITY; NT];
        for (p, row) in tm.iter().enumerate() {
            for c in 0..NT {
                let v = prev[p] + row[c];
                best[c] = if v > best[c] { v } else { best[c] };
            }
        }
        let e = &em[i * NT..(i + 1) * NT];
        for c in 0..NT {
            best[c] += e[c];
        }
        scores[i] = best;
    }
    let last = &scores[n - 1];
    let mut cur = (0..NT)
        .max_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap_or(0);
    tags.resize(n, 0);
    for i in (1..n).rev() {
        tags[i] = cur;
        // The predecessor the forward pass took: the first p reaching the maximum.
        let prev = &scores[i - 1];
        let mut best = f32::NEG_INFINITY;
        let mut arg = 0;
        for p in 0..NT {
            let v = prev[p] + tm[p][cur];
            if v > best {
                best = v;
                arg = p;
            }
        }
        cur = arg;
    }
    tags[0] = cur;
}

/// Entity spans (first token, end exclusive, type) of a tag sequence.
pub fn spans_of(tags: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    for (i, &t) in tags.iter().enumerate() {
        match tag_parts(t) {
            Some((ty, false)) if open.is_some_and(|(_, oty)| oty == ty) => {}
            other => {
                if let Some((s, ty)) = open.take() {
                    out.push((s, i, ty));
                }
                if let Some((ty, _)) = other {
                    open = Some((i, ty));
                }
            }
        }
    }
    if let Some((s, ty)) = open {
        out.push((s, tags.len(), ty));
    }
    out
}

/// Tags of a sentence from entity spans (first token, end exclusive, type).
pub fn tags_of(n: usize, spans: &[(usize, usize, usize)]) -> Vec<usize> {
    let mut tags = vec![0; n];
    for &(s, e, ty) in spans {
        for (k, t) in tags.iter_mut().enumerate().take(e.min(n)).skip(s) {
            *t = 1 + 2 * ty + usize::from(k > s);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_tags_round_trip() {
        let spans = vec![(0, 2, 0), (3, 4, 1), (4, 5, 1)];
        let tags = tags_of(6, &spans);
        assert_eq!(tags, vec![1, 2, 0, 3, 3, 0]);
        assert_eq!(spans_of(&tags), spans);
        assert_eq!(tag_name(6), "I-ORG");
    }

    #[test]
    fn viterbi_respects_bio() {
        // Emissions prefer I-PER at the start, which is not allowed.
        let mut em = vec![0.0; 2 * NT];
        em[2] = 5.0; // I-PER at token 0
        em[NT + 2] = 5.0; // I-PER at token 1
        em[1] = 1.0; // B-PER at token 0
        let tags = viterbi(&em, &vec![0.0; (NT + 1) * NT], 2);
        assert_eq!(tags, vec![1, 2]);
    }
}
