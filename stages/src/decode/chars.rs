//! How plausible a piece of text is, from a character-bigram model trained on clean text in
//! many languages: mojibake repair asks it which reading of a word is real text.
//!
//! P(b | a) is Witten–Bell smoothed: the pair's count where seen, backed off to the pair of
//! the two characters' *classes* (script block × letter case, digit, punctuation, symbol…)
//! times the character's share of its class. Mojibake is made of pairs real text almost
//! never has (`Ã` then `©`, a capital after a small letter, a symbol inside a word), so it
//! scores far below its repair, also in a language or script the model never saw.
//!
//! Written here: no crate offers a small, deterministic character model of this kind.

use rustc_hash::FxHashMap;

use crate::bytes::Reader;

const MAGIC: &[u8; 8] = b"TPCHAR1\n";
/// Script blocks × categories.
const BLOCKS: usize = 19;
const CATS: usize = 9;
const CLASSES: usize = BLOCKS * CATS;
/// Smoothing of class pairs and of characters within a class (add-α).
const CLASS_ALPHA: f64 = 0.5;
const CHAR_ALPHA: f64 = 0.5;
/// Characters a class is taken to hold, for unseen ones.
const CLASS_SIZE: f64 = 128.0;

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("character model: {0}")]
pub struct CharModelError(String);

/// Character-bigram log-probabilities of clean text: one table of all the training text,
/// and one per language (see the module docs).
pub struct CharModel {
    /// Table names: "" for all languages, then the language codes.
    names: Vec<String>,
    tables: Vec<Table>,
    /// log P(b | a) of every pair of ASCII characters in every table, the tables of one
    /// pair side by side: scoring a text in all tables at once reads one cache line per
    /// pair instead of one per pair and table.
    ascii_all: Vec<f32>,
}

/// One language's (or all languages') character-bigram log-probabilities.
struct Table {
    /// Counts kept for saving: char → count, (a, b) → count.
    unigrams: Vec<(char, u32)>,
    bigrams: Vec<(char, char, u32)>,
    /// log P(b | a) of the pairs seen.
    pair: FxHashMap<u64, f32>,
    /// log of the back-off weight of a seen `a`; unseen ones back off entirely (0).
    back: FxHashMap<char, f32>,
    /// log share of a seen character within its class.
    within: FxHashMap<char, f32>,
    /// log share of an unseen character within its class, per class.
    unseen_within: Vec<f32>,
    /// log P(class b | class a).
    class_pair: Vec<f32>,
    /// log P(b | a) of every pair of ASCII characters, looked up directly.
    ascii: Vec<f32>,
}

/// One symbol per character: digits are one symbol, all white space is a space.
fn symbol(c: char) -> char {
    if c.is_ascii() {
        return if c.is_ascii_digit() {
            '0'
        } else if c.is_ascii_whitespace() || c == '\u{B}' {
            ' '
        } else {
            c
        };
    }
    if c.is_numeric() {
        '0'
    } else if c.is_whitespace() {
        ' '
    } else {
        c
    }
}

fn block(c: char) -> usize {
    match c as u32 {
        0..=0x7F => 0,
        0x80..=0xFF => 1,
        0x100..=0x17F => 2,
        0x180..=0x24F => 3,
        0x250..=0x2FF => 4,
        0x300..=0x36F => 5,
        0x370..=0x3FF | 0x1F00..=0x1FFF => 6,
        0x400..=0x52F => 7,
        0x530..=0x10FF => 8,
        0x1E00..=0x1EFF => 9,
        0x2000..=0x206F => 10,
        0x2070..=0x24FF => 11,
        0x2500..=0x25FF => 12,
        0x2600..=0x2BFF => 13,
        0x3000..=0x9FFF | 0xAC00..=0xD7AF => 14,
        0xE000..=0xF8FF => 15,
        0xFB00..=0xFFFF => 16,
        0x10000.. => 17,
        _ => 18,
    }
}

fn category(c: char) -> usize {
    if c == ' ' {
        0
    } else if c.is_control() {
        1
    } else if c == '0' {
        2
    } else if c.is_uppercase() {
        3
    } else if c.is_lowercase() {
        4
    } else if c.is_alphabetic() {
        5
    } else if ('\u{300}'..='\u{36F}').contains(&c) {
        6
    } else if c.is_ascii_punctuation()
        || matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E)
        || matches!(c, '¡' | '¿' | '«' | '»' | '·' | '§' | '¶')
    {
        7
    } else {
        8
    }
}

/// The class of a symbol.
fn class(c: char) -> usize {
    block(c) * CATS + category(c)
}

fn key(a: char, b: char) -> u64 {
    (u64::from(a as u32) << 32) | u64::from(b as u32)
}

/// Counts of characters and pairs in `texts`, each read with a space before and after.
fn count<'a>(texts: impl IntoIterator<Item = &'a str>) -> Table {
    let mut uni: FxHashMap<char, u32> = FxHashMap::default();
    let mut bi: FxHashMap<(char, char), u32> = FxHashMap::default();
    for t in texts {
        let mut prev = ' ';
        for c in t.chars().map(symbol).chain([' ']) {
            *uni.entry(c).or_default() += 1;
            *bi.entry((prev, c)).or_default() += 1;
            prev = c;
        }
    }
    let mut unigrams: Vec<(char, u32)> = uni.into_iter().collect();
    unigrams.sort_unstable();
    let mut bigrams: Vec<(char, char, u32)> = bi.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    bigrams.sort_unstable();
    Table::from_counts(unigrams, bigrams)
}

impl Table {
    fn from_counts(unigrams: Vec<(char, u32)>, bigrams: Vec<(char, char, u32)>) -> Self {
        let mut class_n = vec![0f64; CLASSES];
        for &(c, n) in &unigrams {
            class_n[class(c)] += f64::from(n);
        }
        let mut class_pair_n = vec![0f64; CLASSES * CLASSES];
        let mut from_n: FxHashMap<char, (f64, f64)> = FxHashMap::default();
        for &(a, b, n) in &bigrams {
            class_pair_n[class(a) * CLASSES + class(b)] += f64::from(n);
            let e = from_n.entry(a).or_default();
            e.0 += f64::from(n);
            e.1 += 1.0;
        }
        let rows: Vec<f64> = class_pair_n
            .chunks(CLASSES)
            .map(|r| r.iter().sum())
            .collect();
        let class_pair = (0..CLASSES * CLASSES)
            .map(|i| {
                let row = rows[i / CLASSES];
                ((class_pair_n[i] + CLASS_ALPHA) / (row + CLASS_ALPHA * CLASSES as f64)).ln() as f32
            })
            .collect();
        let denom = |cls: usize| class_n[cls] + CHAR_ALPHA * CLASS_SIZE;
        let within: FxHashMap<char, f32> = unigrams
            .iter()
            .map(|&(c, n)| {
                (
                    c,
                    ((f64::from(n) + CHAR_ALPHA) / denom(class(c))).ln() as f32,
                )
            })
            .collect();
        let unseen_within = (0..CLASSES)
            .map(|cls| (CHAR_ALPHA / denom(cls)).ln() as f32)
            .collect();
        let mut t = Table {
            unigrams,
            bigrams: Vec::new(),
            pair: FxHashMap::default(),
            back: from_n
                .iter()
                .map(|(&a, &(n, t))| (a, (t / (n + t)).ln() as f32))
                .collect(),
            within,
            unseen_within,
            class_pair,
            ascii: Vec::new(),
        };
        let mut pair = FxHashMap::default();
        for &(a, b, n) in &bigrams {
            let (na, ta) = from_n[&a];
            let p = (f64::from(n) + ta * t.backoff(a, b).exp()) / (na + ta);
            pair.insert(key(a, b), p.ln() as f32);
        }
        t.pair = pair;
        t.bigrams = bigrams;
        t.ascii = (0..128 * 128)
            .map(|i| t.logp_slow(char::from((i / 128) as u8), char::from((i % 128) as u8)))
            .collect();
        t
    }

    /// log of the class-level estimate of P(b | a), without `a`'s back-off weight.
    fn backoff(&self, a: char, b: char) -> f64 {
        let within = self
            .within
            .get(&b)
            .copied()
            .unwrap_or(self.unseen_within[class(b)]);
        f64::from(self.class_pair[class(a) * CLASSES + class(b)] + within)
    }

    /// log P(b | a), both already symbols.
    fn logp(&self, a: char, b: char) -> f32 {
        if a.is_ascii() && b.is_ascii() {
            return self.ascii[(a as usize) * 128 + b as usize];
        }
        self.logp_slow(a, b)
    }

    fn logp_slow(&self, a: char, b: char) -> f32 {
        if let Some(&p) = self.pair.get(&key(a, b)) {
            return p;
        }
        let w = self.back.get(&a).copied().unwrap_or(0.0);
        w + self.backoff(a, b) as f32
    }

    /// Sum of log P over the pairs from `before` through `text` to `after` that `pairs`
    /// selects.
    fn score(&self, before: char, text: &str, after: char, pairs: Pairs) -> f32 {
        let mut prev = symbol(before);
        let mut sum = 0.0;
        for c in text.chars().map(symbol).chain([symbol(after)]) {
            let ascii = prev.is_ascii() && c.is_ascii();
            if match pairs {
                Pairs::All => true,
                Pairs::Ascii => ascii,
                Pairs::NotAscii => !ascii,
            } {
                sum += self.logp(prev, c);
            }
            prev = c;
        }
        sum
    }
}

/// Which pairs [`Table::score`] and [`CharModel::score_all`] count: all, those of two ASCII characters, or the others.
#[derive(Clone, Copy)]
enum Pairs {
    All,
    Ascii,
    NotAscii,
}

impl CharModel {
    /// Trains on `(language, text)` pairs: one table of all, one per language.
    pub fn train<'a>(texts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let texts: Vec<(&str, &str)> = texts.into_iter().collect();
        let mut names: Vec<String> = texts.iter().map(|(l, _)| l.to_string()).collect();
        names.sort_unstable();
        names.dedup();
        let mut tables = vec![count(texts.iter().map(|(_, t)| *t))];
        for n in &names {
            tables.push(count(texts.iter().filter(|(l, _)| l == n).map(|(_, t)| *t)));
        }
        names.insert(0, String::new());
        CharModel::new(names, tables)
    }

    fn new(names: Vec<String>, tables: Vec<Table>) -> Self {
        let n = tables.len();
        let mut ascii_all = vec![0f32; 128 * 128 * n];
        for (t, table) in tables.iter().enumerate() {
            for (pair, p) in table.ascii.iter().enumerate() {
                ascii_all[pair * n + t] = *p;
            }
        }
        CharModel {
            names,
            tables,
            ascii_all,
        }
    }

    /// [`Table::score`] in every table at once (the same sums, added in the same order).
    fn score_all(&self, before: char, text: &str, after: char, pairs: Pairs) -> Vec<f32> {
        let n = self.tables.len();
        let mut sums = vec![0f32; n];
        let mut prev = symbol(before);
        for c in text.chars().map(symbol).chain([symbol(after)]) {
            let ascii = prev.is_ascii() && c.is_ascii();
            let counted = match pairs {
                Pairs::All => true,
                Pairs::Ascii => ascii,
                Pairs::NotAscii => !ascii,
            };
            if counted && ascii {
                let at = ((prev as usize) * 128 + c as usize) * n;
                for (s, p) in sums.iter_mut().zip(&self.ascii_all[at..at + n]) {
                    *s += p;
                }
            } else if counted {
                for (s, t) in sums.iter_mut().zip(&self.tables) {
                    *s += t.logp_slow(prev, c);
                }
            }
            prev = c;
        }
        sums
    }

    /// The number of tables: all languages, then one per language.
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// Log-likelihood of `text` between the characters `before` and `after` (spaces at the
    /// ends of a text) in table `t`: every pair from `before`'s to `after`'s is counted.
    pub fn score_in(&self, t: usize, before: char, text: &str, after: char) -> f32 {
        self.tables[t].score(before, text, after, Pairs::All)
    }

    /// The table under which `text` (its first 300 bytes: enough to tell its language) is
    /// most likely.
    pub fn best_table(&self, text: &str) -> usize {
        let mut end = text.len().min(300);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.score_all(' ', &text[..end], ' ', Pairs::All)
            .into_iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b })
            .0
    }

    /// Per table, the log-likelihood of the pairs of two ASCII characters in `text`: the
    /// part every whole-text repair of it shares (ASCII stays as it is).
    pub fn ascii_part(&self, text: &str) -> Vec<f32> {
        self.score_all(' ', text, ' ', Pairs::Ascii)
    }

    /// The log-likelihood of `text` in its most likely table, with the ASCII part of
    /// another reading of it ([`CharModel::ascii_part`]) standing for its own.
    pub fn score_best(&self, ascii_part: &[f32], text: &str) -> f32 {
        self.score_all(' ', text, ' ', Pairs::NotAscii)
            .iter()
            .zip(ascii_part)
            .map(|(s, a)| a + s)
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// Distinct characters and pairs the model was trained on (all languages).
    pub fn size(&self) -> (usize, usize) {
        (self.tables[0].unigrams.len(), self.tables[0].bigrams.len())
    }

    /// The model's counts as bytes (see [`CharModel::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend((self.tables.len() as u32).to_le_bytes());
        for (name, t) in self.names.iter().zip(&self.tables) {
            out.extend((name.len() as u32).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend((t.unigrams.len() as u32).to_le_bytes());
            for &(c, n) in &t.unigrams {
                out.extend((c as u32).to_le_bytes());
                out.extend(n.to_le_bytes());
            }
            out.extend((t.bigrams.len() as u32).to_le_bytes());
            for &(a, b, n) in &t.bigrams {
                out.extend((a as u32).to_le_bytes());
                out.extend((b as u32).to_le_bytes());
                out.extend(n.to_le_bytes());
            }
        }
        out
    }

    /// Reads a model written by [`CharModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, CharModelError> {
        let err = |m: &str| CharModelError(m.to_string());
        if b.get(..8) != Some(MAGIC.as_slice()) {
            return Err(err("not a textpipe character model (bad magic)"));
        }
        let mut r = Reader::new(&b[8..]);
        let num = |r: &mut Reader| r.u32().map_err(|_| err("truncated"));
        let ch = |r: &mut Reader| -> Result<char, CharModelError> {
            char::from_u32(num(r)?).ok_or_else(|| err("not a character"))
        };
        let n_tables = num(&mut r)? as usize;
        if n_tables == 0 {
            return Err(err("no tables"));
        }
        let mut names = Vec::new();
        let mut tables = Vec::new();
        for _ in 0..n_tables.min(1 << 10) {
            let len = num(&mut r)? as usize;
            let name = r.take(len).map_err(|_| err("truncated"))?;
            names.push(String::from_utf8_lossy(name).into_owned());
            let n = num(&mut r)? as usize;
            let mut unigrams = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                unigrams.push((ch(&mut r)?, num(&mut r)?));
            }
            let n = num(&mut r)? as usize;
            let mut bigrams = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                bigrams.push((ch(&mut r)?, ch(&mut r)?, num(&mut r)?));
            }
            tables.push(Table::from_counts(unigrams, bigrams));
        }
        if !r.at_end() {
            return Err(err("trailing bytes"));
        }
        Ok(CharModel::new(names, tables))
    }
}

/// The shipped model (`stages/models/chars.bin`), parsed once per process.
pub fn shipped() -> Option<&'static CharModel> {
    static M: std::sync::OnceLock<Option<CharModel>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        crate::bytes::shipped(
            "character model",
            CharModel::from_bytes(include_bytes!("../../models/chars.bin")),
        )
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake_scores_below_its_repair_and_the_file_round_trips() {
        let m = CharModel::train([
            ("de", "Die Grünen in Köln grüßen."),
            ("de", "Große Füße, schöne Tür."),
            ("da", "Måske købte de æbler på torvet."),
        ]);
        assert_eq!(m.tables(), 3);
        assert_eq!(
            m.best_table("købte på"),
            1,
            "da comes first after all languages"
        );
        for (bad, good) in [("GrÃ¼nen", "Grünen"), ("KÃ¶ln", "Köln"), ("FÃ¼ÃŸe", "Füße")]
        {
            assert!(
                m.score_in(0, ' ', bad, ' ') < m.score_in(0, ' ', good, ' '),
                "{bad}"
            );
        }
        let again = CharModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(
            again.score_in(1, ' ', "Grüße", '.'),
            m.score_in(1, ' ', "Grüße", '.')
        );
        let bytes = m.to_bytes();
        assert!(CharModel::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(CharModel::from_bytes(b"TPCHAR0\n").is_err());
    }
}
