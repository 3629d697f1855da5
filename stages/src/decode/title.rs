//! The page's title (its headline, not the `<title>` with the site's name), chosen by a
//! trained model. Every place a page names its headline gives a candidate: the first
//! `h1`s and `h2`, JSON-LD's `headline` and `name`, the OpenGraph or Twitter card's title
//! and `<title>` (each whole and without the site's name), and `<title>`'s parts. Each is
//! described by a few general features (where it came from, its length, whether other
//! sources say the same or hold it, whether it names the site) and scored by a
//! [`Ranker`] that `textpipe train title` fits to the benchmarks' title gold.

use std::sync::OnceLock;

use super::metadata::key;
use super::ranker::Ranker;

/// Where a title candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleSource {
    /// One of the first `h1` elements.
    H1,
    /// The first `h2`.
    H2,
    /// JSON-LD `headline` of the main node.
    LdHeadline,
    /// JSON-LD `name` of the main node.
    LdName,
    /// `og:title` or `twitter:title`, as written.
    Card,
    /// The card's title without the site's name.
    CardStripped,
    /// `<title>`, as written.
    Html,
    /// `<title>` without the site's name.
    HtmlStripped,
    /// A part of `<title>` between separators.
    TitlePart,
}

/// One text a page offers as its title.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleCandidate {
    /// The text.
    pub text: String,
    /// Where it came from.
    pub source: TitleSource,
    /// Position among the candidates of its source.
    pub rank: usize,
}

/// The title candidates of one page.
#[derive(Debug, Clone, Default)]
pub struct TitlePage {
    /// Every candidate, in the order found.
    pub cands: Vec<TitleCandidate>,
    /// The site's name, if declared.
    pub site: Option<String>,
    /// The page's host without `www.` and the top-level domain.
    pub host: String,
    /// The title when the model finds no candidate likely: the first `h1` a title source
    /// names, else JSON-LD's headline, else the card or `<title>` without the site's name.
    pub fallback: Option<String>,
}

/// The features, in the order of a row and of the model file.
pub const FEATURES: [&str; 18] = [
    "source_h1",
    "source_h2",
    "source_ld_headline",
    "source_ld_name",
    "source_card",
    "source_card_stripped",
    "source_html",
    "source_html_stripped",
    "source_title_part",
    "rank",
    "words",
    "chars",
    "agree",
    "held",
    "holds",
    "names_site",
    "separator",
    "upper",
];

impl TitlePage {
    /// Adds a candidate unless it is empty.
    pub fn push(&mut self, text: String, source: TitleSource, rank: usize) {
        if text.chars().any(char::is_alphanumeric) {
            self.cands.push(TitleCandidate { text, source, rank });
        }
    }

    /// One feature row per candidate.
    pub fn rows(&self) -> Vec<[f32; FEATURES.len()]> {
        let keys: Vec<String> = self.cands.iter().map(|c| key(&c.text)).collect();
        let site = self.site.as_deref().map(key).filter(|k| k.len() >= 3);
        (self.cands.iter().zip(&keys))
            .map(|(c, k)| {
                let others =
                    || (self.cands.iter().zip(&keys)).filter(move |(o, _)| o.source != c.source);
                let agree = others().filter(|(_, ok)| *ok == k).count();
                // Another source's text holds this one (a title with the site's name holds
                // the headline), or this one holds another's.
                let held = others()
                    .filter(|(_, ok)| ok.len() > k.len() && k.len() >= 4 && ok.contains(k.as_str()))
                    .count();
                let holds = others()
                    .filter(|(_, ok)| {
                        k.len() > ok.len() && ok.len() >= 4 && k.contains(ok.as_str())
                    })
                    .count();
                let words = c.text.split_whitespace().count();
                let names_site = site.as_deref().is_some_and(|s| k.contains(s))
                    || (self.host.len() >= 4 && k.contains(&self.host.replace('.', "")));
                let is = |s: TitleSource| f32::from(u8::from(c.source == s));
                let flag = |b: bool| f32::from(u8::from(b));
                [
                    is(TitleSource::H1),
                    is(TitleSource::H2),
                    is(TitleSource::LdHeadline),
                    is(TitleSource::LdName),
                    is(TitleSource::Card),
                    is(TitleSource::CardStripped),
                    is(TitleSource::Html),
                    is(TitleSource::HtmlStripped),
                    is(TitleSource::TitlePart),
                    ((1 + c.rank) as f32).ln() / 4.0,
                    words.min(30) as f32 / 30.0,
                    (c.text.chars().count() as f32 / 200.0).min(1.0),
                    agree.min(4) as f32 / 4.0,
                    held.min(4) as f32 / 4.0,
                    holds.min(4) as f32 / 4.0,
                    flag(names_site),
                    flag(
                        [" | ", " - ", " – ", " — ", " :: ", " » "]
                            .iter()
                            .any(|sep| c.text.contains(sep)),
                    ),
                    flag(
                        c.text.chars().filter(|ch| ch.is_alphabetic()).count() > 3
                            && !c.text.chars().any(char::is_lowercase),
                    ),
                ]
            })
            .collect()
    }

    /// The best candidate's text when `model` finds it more likely right than wrong, else
    /// the fallback.
    pub fn choose(&self, model: &TitleModel) -> Option<String> {
        (model.best(&self.rows()))
            .map(|i| self.cands[i].text.clone())
            .or_else(|| self.fallback.clone())
    }
}

/// The title model: a [`Ranker`] over [`FEATURES`].
pub type TitleModel = Ranker<{ FEATURES.len() }>;

/// The model shipped in `stages/models/title.txt`.
pub fn shipped() -> &'static TitleModel {
    static M: OnceLock<TitleModel> = OnceLock::new();
    Ranker::shipped(
        &M,
        include_str!("../../models/title.txt"),
        "title",
        &FEATURES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_reads_and_round_trips() {
        let text = shipped().to_text("title", &FEATURES);
        assert_eq!(text, include_str!("../../models/title.txt"));
    }

    #[test]
    fn a_headline_held_by_the_title_with_the_site_is_described_so() {
        let mut page = TitlePage {
            site: Some("Scratch Culinary".into()),
            ..TitlePage::default()
        };
        page.push("Top Trends for Fall".into(), TitleSource::H1, 0);
        page.push(
            "Top Trends for Fall | Scratch Culinary".into(),
            TitleSource::Html,
            0,
        );
        let rows = page.rows();
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        assert_eq!(rows[0][col("held")], 0.25);
        assert_eq!(rows[1][col("holds")], 0.25);
        assert_eq!(rows[1][col("names_site")], 1.0);
        assert_eq!(rows[1][col("separator")], 1.0);
    }
}
