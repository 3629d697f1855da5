//! Language identification: a naive Bayes model over character n-grams (orders 1–4) of
//! lower-cased letters, trained by `textpipe train lang` and shipped in
//! `stages/models/lang.bin`.
//!
//! Why our own model rather than a crate: on the shared UD gold (18 languages) whatlang
//! with all its languages scores 0.755 on headline-length text and lingua 0.92 (0.83 in its
//! low-accuracy mode) with a 290 MB binary; this model, cross-validated by document, about
//! 0.96 at tens of MB/s, in about 2 MB. Scripts it has no language for are left to whatlang
//! (see [`super::Tagger::language`]).
//!
//! Text is reduced to letters, lower-cased, with every run of other characters (digits,
//! punctuation, spaces) one space and a space at each end: `" l inchiesta "`. Every n-gram
//! of 1–4 of those characters but the lone space is a feature, known by a 32-bit hash.
//! A language's log-probability of a feature is Laplace-smoothed per order; the model
//! stores, per feature and language, how far it lies above that language's floor (the
//! log-probability of a feature it never saw), in steps of 1/[`SCALE`] nat. Features the
//! model does not know are skipped.

use rustc_hash::FxHashMap;

/// Longest n-gram, in characters.
pub const ORDER: usize = 4;

/// Steps per nat of the stored log-probabilities.
const SCALE: f32 = 16.0;

const MAGIC: &[u8; 8] = b"TPLANG1\n";

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("language model: {0}")]
pub struct ModelError(String);

/// A trained language model.
#[derive(Debug, Clone)]
pub struct LangModel {
    langs: Vec<String>,
    /// Per language and order (`lang * ORDER + n - 1`): log-probability of an unseen feature.
    floors: Vec<f32>,
    /// Feature hash → row in `values`.
    index: FxHashMap<u32, u32>,
    /// Sorted feature hashes (the file order).
    keys: Vec<u32>,
    /// `keys.len() × langs.len()` steps above the floor.
    values: Vec<u8>,
}

/// What the model makes of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Per language (model order): posterior probability.
    pub probs: Vec<f64>,
    /// Letters seen, and how many of them the model knows as unigrams.
    pub letters: usize,
    /// Letters known to the model.
    pub known_letters: usize,
}

impl Scored {
    /// Index of the most probable language, if the text had any known feature.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.probs
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .filter(|_| self.known_letters > 0)
    }
}

/// Hash of an n-gram of chars (stable across platforms: FNV-1a over the code points, then
/// folded to 32 bits).
#[inline]
fn gram_hash(chars: &[u32]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ chars.len() as u64;
    for &c in chars {
        h ^= u64::from(c);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h ^ (h >> 32)) as u32
}

/// Calls `f(hash, order)` for every feature of `text`, after normalisation, reading at most
/// `max_letters` letters and stopping early when `stop(letters)`, asked every
/// [`CHECK_EVERY`] letters, says so. `f` tells whether the model knows the feature.
/// Returns (letters read, letters whose unigram the model knows).
fn features(
    text: &str,
    max_letters: usize,
    mut stop: impl FnMut(usize) -> bool,
    mut f: impl FnMut(u32, usize) -> bool,
) -> (usize, usize) {
    // The last ORDER characters, newest last.
    let mut win = [0u32; ORDER];
    let mut filled = 0usize;
    let mut letters = 0usize;
    let mut known_letters = 0usize;
    let mut push = |c: u32, win: &mut [u32; ORDER], filled: &mut usize| {
        win.copy_within(1.., 0);
        win[ORDER - 1] = c;
        *filled = (*filled + 1).min(ORDER);
        for n in 1..=*filled {
            if n == 1 && c == u32::from(b' ') {
                continue;
            }
            let known = f(gram_hash(&win[ORDER - n..]), n);
            if n == 1 && known {
                known_letters += 1;
            }
        }
    };
    push(u32::from(b' '), &mut win, &mut filled);
    let mut last_space = true;
    let mut next_check = CHECK_EVERY;
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                letters += 1;
                push(u32::from(c.to_ascii_lowercase()), &mut win, &mut filled);
                last_space = false;
            } else if !last_space {
                push(u32::from(b' '), &mut win, &mut filled);
                last_space = true;
            }
        } else if c.is_alphabetic() {
            letters += 1;
            for l in c.to_lowercase() {
                push(u32::from(l), &mut win, &mut filled);
            }
            last_space = false;
        } else if !last_space {
            push(u32::from(b' '), &mut win, &mut filled);
            last_space = true;
        }
        if letters >= max_letters {
            break;
        }
        if letters >= next_check {
            next_check = letters + CHECK_EVERY;
            if stop(letters) {
                break;
            }
        }
    }
    if !last_space {
        push(u32::from(b' '), &mut win, &mut filled);
    }
    (letters, known_letters)
}

/// How often (in letters) scoring asks whether the answer is settled.
const CHECK_EVERY: usize = 32;

/// Margin (nats, after the division by the order) between the best language and the
/// next at which reading stops: odds of e^20 (5·10⁸ to one). At e^12 a few sentences
/// were decided too early (cross-validated sentence accuracy 0.997 → 0.996); at e^20
/// every answer is the one the whole sample gives.
const SETTLED: f64 = 20.0;

impl LangModel {
    /// The model's languages (ISO 639-1 codes), in its order.
    pub fn languages(&self) -> &[String] {
        &self.langs
    }

    /// Index of language `code`.
    pub fn position(&self, code: &str) -> Option<usize> {
        self.langs.iter().position(|l| l == code)
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.keys.len()
    }

    /// Scores at most `max_letters` letters of `text`, fewer once one language leads by far.
    /// `prior` adds log-odds to one language (a declared language) before the posterior is
    /// taken.
    pub fn score(&self, text: &str, max_letters: usize, prior: Option<(usize, f64)>) -> Scored {
        let l = self.langs.len();
        let mut sum = vec![0u32; l];
        let mut per_order = [0u32; ORDER];
        // Language `i`'s log-likelihood (plus the prior) from the tallies so far.
        let log_score = |i: usize, sum: &[u32], per_order: &[u32; ORDER]| -> f64 {
            let floor: f64 = (0..ORDER)
                .map(|n| f64::from(per_order[n]) * f64::from(self.floors[i * ORDER + n]))
                .sum();
            // n-grams that overlap are far from independent: one letter's evidence is
            // counted once, not ORDER times.
            let s = (floor + f64::from(sum[i]) / f64::from(SCALE)) / ORDER as f64;
            match prior {
                Some((p, logodds)) if p == i => s + logodds,
                _ => s,
            }
        };
        // `features` calls `f` and `stop` in turn, never at once; both need the tallies.
        let tallies = std::cell::RefCell::new((&mut sum, &mut per_order));
        let (letters, known_letters) = features(
            text,
            max_letters,
            |_| {
                let t = tallies.borrow();
                let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
                for x in (0..l).map(|i| log_score(i, t.0, t.1)) {
                    if x > a {
                        b = a;
                        a = x;
                    } else if x > b {
                        b = x;
                    }
                }
                a - b >= SETTLED
            },
            |h, n| {
                let Some(&row) = self.index.get(&h) else {
                    return false;
                };
                let mut t = tallies.borrow_mut();
                t.1[n - 1] += 1;
                let row = row as usize * l;
                for (s, &v) in t.0.iter_mut().zip(&self.values[row..row + l]) {
                    *s += u32::from(v);
                }
                true
            },
        );
        let mut scores: Vec<f64> = (0..l).map(|i| log_score(i, &sum, &per_order)).collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut z = 0.0;
        for s in &mut scores {
            *s = (*s - max).exp();
            z += *s;
        }
        for s in &mut scores {
            *s /= z;
        }
        Scored {
            probs: scores,
            letters,
            known_letters,
        }
    }

    /// The model as bytes (deterministic: same model, same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.keys.len() * (4 + self.langs.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.langs.len() as u32).to_le_bytes());
        for code in &self.langs {
            out.push(code.len() as u8);
            out.extend_from_slice(code.as_bytes());
        }
        for f in &self.floors {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for k in &self.keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
        out.extend_from_slice(&self.values);
        out
    }

    /// Reads a model written by [`LangModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let mut r = crate::bytes::Reader::new(b);
        if r.take(8)? != MAGIC {
            return Err(ModelError("not a textpipe language model".into()));
        }
        let nl = r.u32()? as usize;
        if nl == 0 || nl > 1000 {
            return Err(ModelError(format!("{nl} languages")));
        }
        let mut langs = Vec::with_capacity(nl);
        for _ in 0..nl {
            let n = r.take(1)?[0] as usize;
            let code = std::str::from_utf8(r.take(n)?)
                .map_err(|_| ModelError("language code is not UTF-8".into()))?;
            langs.push(code.to_string());
        }
        let mut floors = Vec::with_capacity(nl * ORDER);
        for _ in 0..nl * ORDER {
            floors.push(r.f32()?);
        }
        let nf = r.u32()? as usize;
        let mut keys = Vec::with_capacity(nf.min(b.len() / 4));
        for _ in 0..nf {
            keys.push(r.u32()?);
        }
        let values = r.take(nf * nl)?.to_vec();
        if !r.at_end() {
            return Err(ModelError("trailing bytes".into()));
        }
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect::<FxHashMap<_, _>>();
        if index.len() != keys.len() {
            return Err(ModelError("repeated feature".into()));
        }
        Ok(LangModel {
            langs,
            floors,
            index,
            keys,
            values,
        })
    }
}

impl From<crate::bytes::Truncated> for ModelError {
    fn from(_: crate::bytes::Truncated) -> Self {
        ModelError("truncated".into())
    }
}

/// Settings of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Laplace smoothing added to every count.
    pub alpha: f64,
    /// Features seen fewer times than this, over all languages, are left out.
    pub min_count: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 0.1,
            min_count: 5,
        }
    }
}

/// Counts n-grams of `(language, text)` pairs and builds a model. Deterministic: languages
/// are sorted by code and features by hash.
pub fn train<'a>(
    texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    o: &TrainOptions,
) -> LangModel {
    let mut langs: Vec<String> = Vec::new();
    let mut rows: Vec<(String, &'a str)> = Vec::new();
    for (l, t) in texts {
        if !langs.iter().any(|x| x == l) {
            langs.push(l.to_string());
        }
        rows.push((l.to_string(), t));
    }
    langs.sort();
    let nl = langs.len();
    // Per feature: its order and counts per language.
    let mut counts: FxHashMap<u32, (u8, Vec<u32>)> = FxHashMap::default();
    let mut totals = vec![0f64; nl * ORDER];
    for (l, t) in &rows {
        let li = langs.iter().position(|x| x == l).unwrap_or(0);
        features(
            t,
            usize::MAX,
            |_| false,
            |h, n| {
                let e = counts.entry(h).or_insert_with(|| (n as u8, vec![0; nl]));
                e.1[li] += 1;
                totals[li * ORDER + n - 1] += 1.0;
                false
            },
        );
    }
    let mut keys: Vec<u32> = counts
        .iter()
        .filter(|(_, (_, c))| c.iter().sum::<u32>() >= o.min_count)
        .map(|(k, _)| *k)
        .collect();
    keys.sort_unstable();
    let mut vocab = [0f64; ORDER];
    for k in &keys {
        vocab[counts[k].0 as usize - 1] += 1.0;
    }
    let mut floors = vec![0f32; nl * ORDER];
    for li in 0..nl {
        for n in 0..ORDER {
            let denom = totals[li * ORDER + n] + o.alpha * vocab[n];
            floors[li * ORDER + n] = (o.alpha / denom.max(1e-9)).ln() as f32;
        }
    }
    let mut values = Vec::with_capacity(keys.len() * nl);
    for k in &keys {
        let (_, c) = &counts[k];
        for &v in c {
            // log((c + α) / denom) − log(α / denom) = log(1 + c/α)
            let steps = ((1.0 + f64::from(v) / o.alpha).ln() * f64::from(SCALE)).round();
            values.push(steps.clamp(0.0, 255.0) as u8);
        }
    }
    let index = keys
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u32))
        .collect();
    LangModel {
        langs,
        floors,
        index,
        keys,
        values,
    }
}

/// The shipped model (`stages/models/lang.bin`), parsed once per process.
pub fn shipped() -> Option<&'static LangModel> {
    static M: std::sync::OnceLock<Option<LangModel>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        crate::bytes::shipped(
            "language model",
            LangModel::from_bytes(include_bytes!("../../models/lang.bin")),
        )
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(t: &str) -> Vec<u32> {
        let mut v = Vec::new();
        features(
            t,
            usize::MAX,
            |_| false,
            |h, _| {
                v.push(h);
                false
            },
        );
        v
    }

    #[test]
    fn normalisation_keeps_letters_only_lower_cased() {
        // Case, digits and punctuation do not change the features.
        assert_eq!(grams("L'Inchiesta, 2024!"), grams("l inchiesta"));
        assert_eq!(grams("Straße"), grams("straße"));
        // " ab " has 2 unigrams, 3 bigrams, 2 trigrams and one 4-gram.
        assert_eq!(grams("ab").len(), 2 + 3 + 2 + 1);
    }

    #[test]
    fn trains_scores_and_round_trips() {
        let m = train(
            [
                (
                    "de",
                    "der die das und ist nicht ein eine zu mit auf für von",
                ),
                ("en", "the and is not a an to with on for of that this"),
            ],
            &TrainOptions {
                alpha: 0.1,
                min_count: 1,
            },
        );
        let b = m.to_bytes();
        let back = LangModel::from_bytes(&b).unwrap();
        assert_eq!(back.to_bytes(), b);
        let s = back.score("das ist nicht für mich", usize::MAX, None);
        assert_eq!(back.languages()[s.best().unwrap().0], "de");
        let s = back.score("this is not for me", usize::MAX, None);
        assert_eq!(back.languages()[s.best().unwrap().0], "en");
        // A strong prior turns an ambiguous text.
        let de = back.position("de").unwrap();
        let s = back.score("on", usize::MAX, Some((de, 20.0)));
        assert_eq!(s.best().unwrap().0, de);
        assert!(LangModel::from_bytes(&b[..b.len() - 1]).is_err());
        assert!(LangModel::from_bytes(b"nonsense").is_err());
    }

    #[test]
    fn shipped_model_knows_the_shared_languages() {
        let m = shipped().expect("shipped model");
        for l in ["de", "en", "fr", "es", "it", "ru", "uk", "el", "tr"] {
            assert!(m.position(l).is_some(), "{l}");
        }
        let fr = m.score("Le gouvernement a annoncé mardi", 400, None);
        assert_eq!(m.languages()[fr.best().unwrap().0], "fr");
        // Chinese letters are not the model's: it knows none of them.
        let zh = m.score("北京是中华人民共和国的首都", 400, None);
        assert_eq!(zh.known_letters, 0);
    }
}
