//! Word lists shared by several stages (shipped in `stages/data/`).

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

/// The shipped stop words (German, English, and frequent function words of other languages), lower case.
pub fn stopwords() -> &'static FxHashSet<String> {
    static S: OnceLock<FxHashSet<String>> = OnceLock::new();
    S.get_or_init(|| {
        let mut set = FxHashSet::default();
        for list in [
            include_str!("../data/stopwords-de.txt"),
            include_str!("../data/stopwords-en.txt"),
            include_str!("../data/stopwords-other.txt"),
        ] {
            for line in list.lines().filter(|l| !l.starts_with('#')) {
                set.extend(line.split_whitespace().map(str::to_lowercase));
            }
        }
        set
    })
}

/// The shipped stop words of one language (`de` or `en`); empty for others.
pub fn stopwords_for(lang: &str) -> &'static FxHashSet<String> {
    static DE: OnceLock<FxHashSet<String>> = OnceLock::new();
    static EN: OnceLock<FxHashSet<String>> = OnceLock::new();
    static NONE: OnceLock<FxHashSet<String>> = OnceLock::new();
    let build = |list: &str| -> FxHashSet<String> {
        list.lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split_whitespace().map(str::to_lowercase))
            .collect()
    };
    match lang {
        "de" => DE.get_or_init(|| build(include_str!("../data/stopwords-de.txt"))),
        "en" => EN.get_or_init(|| build(include_str!("../data/stopwords-en.txt"))),
        _ => NONE.get_or_init(FxHashSet::default),
    }
}
