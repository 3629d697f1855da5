//! Features of a token for the entity tagger: word, shape, affixes, capitalisation,
//! neighbours, clusters and gazetteer hits, as 64-bit hashes (nothing allocated per
//! token).

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;

use super::{MAX_GAZ_LEN, TYPES};

#[inline]
pub(crate) fn mix(t: u64, h: u64) -> u64 {
    let mut x = h ^ t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

pub(crate) fn shape_class(c: char) -> char {
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
pub(crate) struct TokInfo {
    pub(crate) word: u64,
    pub(crate) lower: u64,
    pub(crate) shape: u64,
    pre2: u64,
    pre3: u64,
    suf2: u64,
    suf3: u64,
    suf4: u64,
    suf5: u64,
    pre4: u64,
    pub(crate) upper_first: bool,
    pub(crate) all_upper: bool,
    pub(crate) has_alpha: bool,
    /// First token of a sentence.
    pub(crate) sent_start: bool,
}

/// Hashes of the lower-case character 3-grams inside a word (at most 16; 0 = none); kept
/// out of [`TokInfo`], which is copied per token, since only the word's own features use them.
pub(crate) type Grams = [u64; 16];

pub(crate) fn hash_chars(chars: &[char]) -> u64 {
    let mut h = FxHasher::default();
    for &c in chars {
        h.write_u32(c as u32);
    }
    h.write_u8(0xff);
    h.finish()
}

/// Hashes of word `w` (`buf` is scratch space; it ends holding the lower-case word); fills
/// `grams` if given.
pub(crate) fn tok_info(w: &str, buf: &mut Vec<char>, grams: Option<&mut Grams>) -> TokInfo {
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
pub(crate) fn name_lists() -> &'static FxHashMap<u64, u8> {
    static LISTS: std::sync::OnceLock<FxHashMap<u64, u8>> = std::sync::OnceLock::new();
    LISTS.get_or_init(|| {
        let mut m: FxHashMap<u64, u8> = FxHashMap::default();
        let files: [(&str, u8, bool); 3] = [
            (include_str!("../../../data/names/first-names.txt"), 1, true),
            (include_str!("../../../data/names/places.txt"), 2, false),
            (
                include_str!("../../../data/names/organisations.txt"),
                4,
                false,
            ),
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
pub(crate) fn name_infos(name: &str) -> Vec<TokInfo> {
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
pub(crate) fn seq_hash(infos: &[TokInfo]) -> u64 {
    infos.iter().fold(GAZ_SEED, |h, t| mix(h, t.word))
}

/// The exact-case word hash of [`tok_info`], computed alone (the cache key).
pub(crate) fn word_hash(w: &str) -> u64 {
    let mut h = FxHasher::default();
    for c in w.chars() {
        h.write_u32(c as u32);
    }
    h.finish()
}

/// Feature hashes of every token of a sentence, flattened; `offsets[i]..offsets[i+1]`.
pub(crate) struct Features {
    pub(crate) f: Vec<u64>,
    pub(crate) offsets: Vec<usize>,
}

/// Which gazetteer hits cover each token: per token, (type mask as B, type mask as I).
pub(crate) fn gaz_hits(gaz: &FxHashMap<u64, u8>, infos: &[TokInfo]) -> Vec<(u8, u8)> {
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
pub(crate) const GAZ_SEED: u64 = 0x5151;

/// [`gaz_hits`] into `hits`, with `first(i)` the map's entry for the one-word sequence at
/// `i` (which the tagger caches per word).
pub(crate) fn gaz_hits_with(
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

pub(crate) const PAD_L: u64 = 0x1111;
pub(crate) const PAD_R: u64 = 0x2222;

/// A word's packed clusters (`0xffff_fffe`: outside the sentence, `0xffff_ffff`: unknown).
pub(crate) fn packed_cluster(clusters: &FxHashMap<u64, u32>, t: Option<&TokInfo>) -> u32 {
    match t {
        None => 0xffff_fffe,
        Some(t) => clusters.get(&t.word).copied().unwrap_or(0xffff_ffff),
    }
}

/// The 256-cluster level, with "unknown" and "outside the sentence" as their own values.
pub(crate) fn cl256(p: u32) -> u64 {
    if p >= 0xffff_fffe {
        (p & 0xffff) as u64 | 1 << 20
    } else {
        ((p >> 8) & 0xff) as u64
    }
}

/// Features of the token itself (cacheable per word).
pub(crate) fn own_feats(t: &TokInfo, grams: &Grams, p: u32, has_clusters: bool, f: &mut Vec<u64>) {
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
pub(crate) const NEAR: [isize; 4] = [-2, -1, 1, 2];

/// Features saying "the word at offset `k` is `t`" (`None`: outside the sentence); they
/// depend on that word only, so they are cacheable per word too.
pub(crate) fn near_feats(
    k: isize,
    t: Option<&TokInfo>,
    p: u32,
    has_clusters: bool,
    f: &mut Vec<u64>,
) {
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
pub(crate) fn word_ctx_feats(t: &TokInfo, caps: &FxHashMap<u64, u8>, f: &mut Vec<u64>) {
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
pub(crate) fn context_feats(
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

pub(crate) fn is_caps_line(infos: &[TokInfo]) -> bool {
    let alpha = infos.iter().filter(|t| t.has_alpha).count();
    alpha >= 3 && infos.iter().filter(|t| t.all_upper).count() * 10 >= alpha * 8
}

/// Every feature of every token, flattened (training); inference sums the same features
/// through [`NerCache`].
pub(crate) fn features(
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
