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

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;

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

#[inline]
fn mix(t: u64, h: u64) -> u64 {
    let mut x = h ^ t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

fn shape_class(c: char) -> char {
    if c.is_uppercase() {
        'X'
    } else if c.is_lowercase() {
        'x'
    } else if c.is_numeric() {
        'd'
    } else {
        c
    }
}

/// Per-token hashes computed once and combined into features.
#[derive(Debug, Clone, Copy, Default)]
struct TokInfo {
    word: u64,
    lower: u64,
    shape: u64,
    pre2: u64,
    pre3: u64,
    suf2: u64,
    suf3: u64,
    suf4: u64,
    suf5: u64,
    pre4: u64,
    upper_first: bool,
    all_upper: bool,
    has_alpha: bool,
    /// First token of a sentence.
    sent_start: bool,
}

/// Hashes of the lower-case character 3-grams inside a word (at most 16; 0 = none); kept
/// out of [`TokInfo`], which is copied per token, since only the word's own features use them.
type Grams = [u64; 16];

fn hash_chars(chars: &[char]) -> u64 {
    let mut h = FxHasher::default();
    for &c in chars {
        h.write_u32(c as u32);
    }
    h.write_u8(0xff);
    h.finish()
}

/// Hashes of word `w` (`buf` is scratch space; it ends holding the lower-case word); fills
/// `grams` if given.
fn tok_info(w: &str, buf: &mut Vec<char>, grams: Option<&mut Grams>) -> TokInfo {
    buf.clear();
    let mut word = FxHasher::default();
    let mut shape = FxHasher::default();
    let mut last_class = '\0';
    let mut run = 0;
    let mut upper = 0;
    let mut alpha = 0;
    for c in w.chars() {
        word.write_u32(c as u32);
        let cls = shape_class(c);
        if cls == last_class {
            run += 1;
        } else {
            run = 0;
            last_class = cls;
        }
        // Short shape: a class repeated more than twice counts as twice ("Xxx" for "Minsk").
        if run < 2 {
            shape.write_u32(cls as u32);
        }
        if c.is_alphabetic() {
            alpha += 1;
            if c.is_uppercase() {
                upper += 1;
            }
        }
        buf.extend(c.to_lowercase());
    }
    let n = buf.len();
    if let Some(grams) = grams {
        *grams = [0u64; 16];
        if alpha >= 4 {
            for (g, w) in grams.iter_mut().zip(buf.windows(3)) {
                *g = hash_chars(w);
            }
        }
    }
    let pre = |k: usize| hash_chars(&buf[..k.min(n)]);
    let suf = |k: usize| hash_chars(&buf[n.saturating_sub(k)..]);
    TokInfo {
        word: word.finish(),
        lower: hash_chars(buf),
        shape: shape.finish(),
        pre2: pre(2),
        pre3: pre(3),
        suf2: suf(2),
        suf3: suf(3),
        suf4: suf(4),
        suf5: suf(5),
        pre4: pre(4),
        upper_first: w.chars().next().is_some_and(char::is_uppercase),
        all_upper: alpha > 1 && upper == alpha,
        has_alpha: alpha > 0,
        sent_start: false,
    }
}

/// The shipped name lists (`stages/data/names/`) as a gazetteer: bit 0 given name, bit 1
/// place, bit 2 organisation. Built once per process.
fn name_lists() -> &'static FxHashMap<u64, u8> {
    static LISTS: std::sync::OnceLock<FxHashMap<u64, u8>> = std::sync::OnceLock::new();
    LISTS.get_or_init(|| {
        let mut m: FxHashMap<u64, u8> = FxHashMap::default();
        let files: [(&str, u8, bool); 3] = [
            (include_str!("../../data/names/first-names.txt"), 1, true),
            (include_str!("../../data/names/places.txt"), 2, false),
            (include_str!("../../data/names/organisations.txt"), 4, false),
        ];
        for (text, bit, words) in files {
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let names: Vec<&str> = if words {
                    line.split_whitespace().collect()
                } else {
                    vec![line.trim()]
                };
                for name in names.into_iter().filter(|n| !n.is_empty()) {
                    let infos = name_infos(name);
                    if !infos.is_empty() && infos.len() <= MAX_GAZ_LEN {
                        *m.entry(seq_hash(&infos)).or_insert(0) |= bit;
                        for k in 1..infos.len() {
                            m.entry(seq_hash(&infos[..k])).or_insert(0);
                        }
                    }
                }
            }
        }
        m
    })
}

/// Token information of a name, tokenised as running text would be.
fn name_infos(name: &str) -> Vec<TokInfo> {
    static ABBR: std::sync::OnceLock<crate::segment::Abbreviations> = std::sync::OnceLock::new();
    let abbr = ABBR.get_or_init(crate::segment::Abbreviations::builtin);
    let mut buf = Vec::new();
    let mut toks = Vec::new();
    crate::segment::tokenize::tokenize(name, 0, name.len(), abbr, &mut toks);
    toks.iter()
        .map(|t| tok_info(&name[t.span.start..t.span.end], &mut buf, None))
        .collect()
}

/// True if the name made of `words` (tokens, as the tokenizer cut them) is in the shipped
/// list of places (countries, regions, cities).
pub fn is_listed_place(words: &[&str]) -> bool {
    !words.is_empty()
        && name_lists()
            .get(&words.iter().fold(GAZ_SEED, |h, w| mix(h, word_hash(w))))
            .is_some_and(|m| m & 2 != 0)
}

/// Gazetteer key of a token sequence (exact case).
fn seq_hash(infos: &[TokInfo]) -> u64 {
    infos.iter().fold(GAZ_SEED, |h, t| mix(h, t.word))
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
struct Cached {
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

/// The exact-case word hash of [`tok_info`], computed alone (the cache key).
fn word_hash(w: &str) -> u64 {
    let mut h = FxHasher::default();
    for c in w.chars() {
        h.write_u32(c as u32);
    }
    h.finish()
}

/// Feature hashes of every token of a sentence, flattened; `offsets[i]..offsets[i+1]`.
struct Features {
    f: Vec<u64>,
    offsets: Vec<usize>,
}

/// Which gazetteer hits cover each token: per token, (type mask as B, type mask as I).
fn gaz_hits(gaz: &FxHashMap<u64, u8>, infos: &[TokInfo]) -> Vec<(u8, u8)> {
    let mut hits = Vec::new();
    gaz_hits_with(
        gaz,
        infos,
        |i| gaz.get(&mix(GAZ_SEED, infos[i].word)).copied(),
        &mut hits,
    );
    hits
}

/// Seed of [`seq_hash`].
const GAZ_SEED: u64 = 0x5151;

/// [`gaz_hits`] into `hits`, with `first(i)` the map's entry for the one-word sequence at
/// `i` (which the tagger caches per word).
fn gaz_hits_with(
    gaz: &FxHashMap<u64, u8>,
    infos: &[TokInfo],
    first: impl Fn(usize) -> Option<u8>,
    hits: &mut Vec<(u8, u8)>,
) {
    hits.clear();
    hits.resize(infos.len(), (0, 0));
    if gaz.is_empty() {
        return;
    }
    for i in 0..infos.len() {
        // Names start with a word; skip punctuation and numbers cheaply.
        if !infos[i].has_alpha {
            continue;
        }
        // The map also holds every proper prefix of a name (type mask 0), so the first
        // miss ends the search.
        let Some(m) = first(i) else {
            continue;
        };
        hits[i].0 |= m;
        let mut h = mix(GAZ_SEED, infos[i].word);
        for n in 2..=MAX_GAZ_LEN.min(infos.len() - i) {
            h = mix(h, infos[i + n - 1].word);
            let Some(&m) = gaz.get(&h) else {
                break;
            };
            hits[i].0 |= m;
            for hit in &mut hits[i + 1..i + n] {
                hit.1 |= m;
            }
        }
    }
}

const PAD_L: u64 = 0x1111;
const PAD_R: u64 = 0x2222;

/// A word's packed clusters (`0xffff_fffe`: outside the sentence, `0xffff_ffff`: unknown).
fn packed_cluster(clusters: &FxHashMap<u64, u32>, t: Option<&TokInfo>) -> u32 {
    match t {
        None => 0xffff_fffe,
        Some(t) => clusters.get(&t.word).copied().unwrap_or(0xffff_ffff),
    }
}

/// The 256-cluster level, with "unknown" and "outside the sentence" as their own values.
fn cl256(p: u32) -> u64 {
    if p >= 0xffff_fffe {
        (p & 0xffff) as u64 | 1 << 20
    } else {
        ((p >> 8) & 0xff) as u64
    }
}

/// Features of the token itself (cacheable per word).
fn own_feats(t: &TokInfo, grams: &Grams, p: u32, has_clusters: bool, f: &mut Vec<u64>) {
    f.push(mix(0, 0));
    f.push(mix(1, t.lower));
    f.push(mix(2, t.word));
    f.push(mix(3, t.shape));
    f.push(mix(4, t.pre2));
    f.push(mix(5, t.pre3));
    f.push(mix(6, t.suf2));
    f.push(mix(7, t.suf3));
    f.push(mix(8, t.suf4));
    f.push(mix(43, t.suf5));
    f.push(mix(44, t.pre4));
    for g in grams.iter().take_while(|g| **g != 0) {
        f.push(mix(9, *g));
    }
    if has_clusters {
        let c0 = cl256(p);
        f.push(mix(30, c0));
        f.push(mix(34, mix(c0, t.shape)));
        f.push(mix(
            35,
            if p >= 0xffff_fffe {
                1 << 20
            } else {
                (p & 0xff) as u64
            },
        ));
        f.push(mix(36, (p >> 16) as u64));
    }
}

/// Offsets of the neighbour features, in the order of [`Cached::near`].
const NEAR: [isize; 4] = [-2, -1, 1, 2];

/// Features saying "the word at offset `k` is `t`" (`None`: outside the sentence); they
/// depend on that word only, so they are cacheable per word too.
fn near_feats(k: isize, t: Option<&TokInfo>, p: u32, has_clusters: bool, f: &mut Vec<u64>) {
    let pad = if k < 0 { PAD_L } else { PAD_R };
    let lw = t.map_or(pad, |t| t.lower);
    match k {
        -2 => f.push(mix(12, lw)),
        2 => f.push(mix(13, lw)),
        _ => {
            let left = k < 0;
            f.push(mix(if left { 10 } else { 11 }, lw));
            f.push(mix(if left { 14 } else { 15 }, t.map_or(pad, |t| t.shape)));
            if let Some(t) = t {
                f.push(mix(if left { 45 } else { 46 }, t.suf3));
            }
            if has_clusters {
                f.push(mix(if left { 31 } else { 32 }, cl256(p)));
            }
        }
    }
}

/// Features of a word at or not at a sentence start (`t.sent_start`): its shape and its
/// capitalisation against the capitalisation usual for it. They depend on the word and that
/// flag only, so the tagger caches them per word.
fn word_ctx_feats(t: &TokInfo, caps: &FxHashMap<u64, u8>, f: &mut Vec<u64>) {
    f.push(mix(19, mix(t.shape, t.sent_start as u64)));
    let bucket = caps.get(&t.lower).copied().unwrap_or(9) as u64;
    f.push(mix(
        20,
        mix(bucket, t.upper_first as u64 + 2 * t.sent_start as u64),
    ));
}

/// Features of token `i` in its context: pairs with neighbours, sentence position, an
/// all-caps line, gazetteer and list hits; with `with_word_parts`, also [`word_ctx_feats`].
#[allow(clippy::too_many_arguments)]
fn context_feats(
    i: usize,
    infos: &[TokInfo],
    packed: &[u32],
    gaz: &[(u8, u8)],
    lists: &[(u8, u8)],
    caps: &FxHashMap<u64, u8>,
    has_clusters: bool,
    caps_line: bool,
    with_word_parts: bool,
    f: &mut Vec<u64>,
) {
    let n = infos.len();
    let t = &infos[i];
    let at = |j: isize| (j >= 0 && (j as usize) < n).then(|| &infos[j as usize]);
    let ii = i as isize;
    let lw = |j: isize| at(j).map_or(if j < 0 { PAD_L } else { PAD_R }, |t| t.lower);
    let sh = |j: isize| at(j).map_or(if j < 0 { PAD_L } else { PAD_R }, |t| t.shape);
    f.push(mix(16, mix(sh(ii - 1), mix(t.shape, sh(ii + 1)))));
    f.push(mix(17, mix(lw(ii - 1), t.lower)));
    f.push(mix(18, mix(t.lower, lw(ii + 1))));
    if with_word_parts {
        word_ctx_feats(t, caps, f);
    }
    if has_clusters {
        let prev = if i > 0 { packed[i - 1] } else { 0xffff_fffe };
        f.push(mix(33, mix(cl256(prev), cl256(packed[i]))));
    }
    if caps_line {
        f.push(mix(21, t.lower));
        f.push(mix(22, 1));
    }
    let (b, inside) = gaz[i];
    for ty in 0..TYPES.len() {
        if b & (1 << ty) != 0 {
            f.push(mix(23, ty as u64));
        }
        if inside & (1 << ty) != 0 {
            f.push(mix(24, ty as u64));
        }
    }
    if b == 0 && inside == 0 {
        f.push(mix(25, 0));
    }
    // Shipped name lists: given names, places, organisations.
    let (lb, li) = lists[i];
    if lb | li != 0 {
        f.push(mix(40, lb as u64));
        f.push(mix(41, li as u64));
    }
    if i > 0 && lists[i - 1].0 & 1 != 0 {
        f.push(mix(42, t.upper_first as u64));
    }
    // Gazetteer hits of the neighbours: "…, Präsident X" or "X , Y".
    if i + 1 < n && gaz[i + 1].0 != 0 {
        f.push(mix(26, gaz[i + 1].0 as u64));
    }
    if i > 0 && (gaz[i - 1].0 | gaz[i - 1].1) != 0 {
        f.push(mix(27, (gaz[i - 1].0 | gaz[i - 1].1) as u64));
    }
}

fn is_caps_line(infos: &[TokInfo]) -> bool {
    let alpha = infos.iter().filter(|t| t.has_alpha).count();
    alpha >= 3 && infos.iter().filter(|t| t.all_upper).count() * 10 >= alpha * 8
}

/// Every feature of every token, flattened (training); inference sums the same features
/// through [`NerCache`].
fn features(
    infos: &[TokInfo],
    grams: &[Grams],
    gaz: &[(u8, u8)],
    lists: &[(u8, u8)],
    caps: &FxHashMap<u64, u8>,
    clusters: &FxHashMap<u64, u32>,
    out: &mut Features,
) {
    out.f.clear();
    out.offsets.clear();
    let n = infos.len();
    let has_clusters = !clusters.is_empty();
    let caps_line = is_caps_line(infos);
    let packed: Vec<u32> = infos
        .iter()
        .map(|t| packed_cluster(clusters, Some(t)))
        .collect();
    for i in 0..n {
        out.offsets.push(out.f.len());
        own_feats(&infos[i], &grams[i], packed[i], has_clusters, &mut out.f);
        for k in NEAR {
            let j = i as isize + k;
            let (t, p) = if j >= 0 && (j as usize) < n {
                (Some(&infos[j as usize]), packed[j as usize])
            } else {
                (None, 0xffff_fffe)
            };
            near_feats(k, t, p, has_clusters, &mut out.f);
        }
        context_feats(
            i,
            infos,
            &packed,
            gaz,
            lists,
            caps,
            has_clusters,
            caps_line,
            true,
            &mut out.f,
        );
    }
    out.offsets.push(out.f.len());
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

    /// Serialises the model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.index.len() * (8 + NT * 2));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(NT as u32).to_le_bytes());
        for t in &self.trans {
            out.extend_from_slice(&t.to_le_bytes());
        }
        let put_map = |out: &mut Vec<u8>, m: &FxHashMap<u64, u8>| {
            let mut v: Vec<(&u64, &u8)> = m.iter().collect();
            v.sort();
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for (k, b) in v {
                out.extend_from_slice(&k.to_le_bytes());
                out.push(*b);
            }
        };
        put_map(&mut out, &self.gaz);
        put_map(&mut out, &self.caps);
        let mut cl: Vec<(&u64, &u32)> = self.clusters.iter().collect();
        cl.sort();
        out.extend_from_slice(&(cl.len() as u32).to_le_bytes());
        for (k, c) in cl {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        // Rows: quantised to i16 with one scale, sorted by key so the file is reproducible.
        let max = self.w.iter().fold(0f32, |m, w| m.max(w.abs())).max(1e-9);
        let scale = max / 32767.0;
        out.extend_from_slice(&scale.to_le_bytes());
        let mut rows: Vec<(&u64, &u32)> = self.index.iter().collect();
        rows.sort();
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for (k, r) in rows {
            out.extend_from_slice(&k.to_le_bytes());
            let r = *r as usize * NT;
            for w in &self.w[r..r + NT] {
                out.extend_from_slice(&((w / scale).round() as i16).to_le_bytes());
            }
        }
        out
    }

    /// Reads a model written by [`NerModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<NerModel, ModelError> {
        let mut r = crate::bytes::Reader::new(b);
        if r.take(8)? != MAGIC {
            return Err(ModelError::Format("bad magic"));
        }
        if r.u32()? as usize != NT {
            return Err(ModelError::Format("tag set differs"));
        }
        let mut trans = Vec::with_capacity((NT + 1) * NT);
        for _ in 0..(NT + 1) * NT {
            trans.push(r.f32()?);
        }
        let get_map = |r: &mut crate::bytes::Reader| -> Result<FxHashMap<u64, u8>, ModelError> {
            let n = r.u32()? as usize;
            let mut m = FxHashMap::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let k = r.u64()?;
                m.insert(k, r.take(1)?[0]);
            }
            Ok(m)
        };
        let gaz = get_map(&mut r)?;
        let caps = get_map(&mut r)?;
        let n = r.u32()? as usize;
        let mut clusters = FxHashMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let k = r.u64()?;
            clusters.insert(k, r.u32()?);
        }
        let scale = r.f32()?;
        let n = r.u32()? as usize;
        let mut index = FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut w = Vec::with_capacity(n * NT);
        for i in 0..n {
            index.insert(r.u64()?, i as u32);
            for _ in 0..NT {
                let q = i16::from_le_bytes([r.take(1)?[0], r.take(1)?[0]]);
                w.push(q as f32 * scale);
            }
        }
        let mut m = NerModel {
            index,
            w,
            rows: FxHashMap::default(),
            trans,
            gaz,
            caps,
            clusters,
        };
        m.build_rows();
        Ok(m)
    }

    /// Fills [`NerModel::rows`] from the index and weights.
    fn build_rows(&mut self) {
        self.rows = self
            .index
            .iter()
            .map(|(&k, &r)| {
                let mut row = [0f32; NT];
                row.copy_from_slice(&self.w[r as usize * NT..(r as usize + 1) * NT]);
                (k, row)
            })
            .collect();
    }
}

impl From<crate::bytes::Truncated> for ModelError {
    fn from(_: crate::bytes::Truncated) -> Self {
        ModelError::Format("truncated")
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

/// Entity-level F1 of `model` on `examples` (exact spans and types).
pub fn f1(model: &NerModel, examples: &[Example]) -> f64 {
    let (mut tp, mut np, mut ng) = (0usize, 0usize, 0usize);
    for ex in examples {
        let toks: Vec<&str> = ex.tokens.iter().map(String::as_str).collect();
        let pred = model.entities(&toks);
        let gold = spans_of(&ex.tags);
        np += pred.len();
        ng += gold.len();
        tp += pred.iter().filter(|p| gold.contains(p)).count();
    }
    if tp == 0 {
        return 0.0;
    }
    let p = tp as f64 / np as f64;
    let r = tp as f64 / ng as f64;
    2.0 * p * r / (p + r)
}

/// Trains `runs` models with different shuffling seeds (`o.seed`, `o.seed + 1`, …) and
/// averages their weights into one model (a linear model, so the average is one model of
/// the same kind); `report` gets every run's epochs. With `runs == 1` this is [`train`].
pub fn train_ensemble(
    train_set: &[Example],
    dev: &[Example],
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

/// Trains a model; `report` is called after each epoch. The best epoch on `dev` is returned.
pub fn train(
    train: &[Example],
    dev: &[Example],
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
        let dev_f1 = if dev.is_empty() { 0.0 } else { f1(&avg, dev) };
        report(EpochReport {
            epoch,
            train_accuracy: right as f64 / total.max(1) as f64,
            dev_f1,
        });
        if best.as_ref().is_none_or(|(b, _)| dev_f1 > *b) || dev.is_empty() {
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
            &[],
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
