//! Stop-word lists shared by several stages (shipped in `stages/data/`).

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

const DE: &str = include_str!("../../data/stopwords-de.txt");
const EN: &str = include_str!("../../data/stopwords-en.txt");
const OTHER: &str = include_str!("../../data/stopwords-other.txt");

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

/// Languages whose stop words ship (ISO 639-1): the keyword extractor runs only for these.
pub fn has_stopwords(lang: &str) -> bool {
    STOPWORD_LANGS.contains(&lang)
}

/// The languages with a stop-word list.
pub const STOPWORD_LANGS: &[&str] = &["de", "en", "es", "fr", "it", "pt", "nl", "pl"];
