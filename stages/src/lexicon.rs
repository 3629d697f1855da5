//! Word lists shared by several stages (shipped in `stages/data/`).

use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

const DE: &str = include_str!("../data/stopwords-de.txt");
const EN: &str = include_str!("../data/stopwords-en.txt");
const OTHER: &str = include_str!("../data/stopwords-other.txt");

/// The words of stop-word lists (`#` lines are comments), lower case.
fn parse(lists: &[&str]) -> FxHashSet<String> {
    lists
        .iter()
        .flat_map(|list| list.lines())
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace().map(str::to_lowercase))
        .collect()
}

/// The shipped stop words (German, English, and frequent function words of other languages), lower case.
pub fn stopwords() -> &'static FxHashSet<String> {
    static S: OnceLock<FxHashSet<String>> = OnceLock::new();
    S.get_or_init(|| parse(&[DE, EN, OTHER]))
}

/// German and English stop words in one table: bit 0 German, bit 1 English; and the
/// longest of them in bytes (longer words need no lookup).
pub fn stopword_langs() -> &'static (FxHashMap<String, u8>, usize) {
    static T: OnceLock<(FxHashMap<String, u8>, usize)> = OnceLock::new();
    T.get_or_init(|| {
        let mut m: FxHashMap<String, u8> = FxHashMap::default();
        for (bit, list) in [(1u8, DE), (2u8, EN)] {
            for w in parse(&[list]) {
                *m.entry(w).or_insert(0) |= bit;
            }
        }
        let longest = m.keys().map(String::len).max().unwrap_or(0);
        (m, longest)
    })
}

/// Appends `w` lower-cased to `buf` (ASCII in place, the rest character by character).
pub fn push_lowercase(buf: &mut String, w: &str) {
    if w.is_ascii() {
        let start = buf.len();
        buf.push_str(w);
        buf[start..].make_ascii_lowercase();
    } else {
        buf.extend(w.chars().flat_map(char::to_lowercase));
    }
}
