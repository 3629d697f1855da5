//! The page's publication date, chosen by a trained model. Every date a page states is a
//! candidate: JSON-LD's `datePublished`, `dateModified` and other nodes' dates, `<meta>`
//! published and modified times, `<time>` and date-like elements (their `datetime` and
//! their text apart), the URL's date, and short lines that read as a date. Each is
//! described by a few general features (where it came from, whether a label says
//! "updated" or "published", whether it is near the headline, how many sources agree,
//! whether it is the page's latest or earliest date) and scored by a [`Ranker`] that
//! `textpipe train date` fits to the benchmarks' date gold. Also the date reader itself:
//! ISO, numeric and month-name dates in seven languages.

use std::sync::OnceLock;

use super::metadata::near_headline;
use super::ranker::Ranker;

/// Where a date was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    /// JSON-LD `datePublished` (or `dateCreated`) of the page's main node.
    Ld,
    /// JSON-LD `dateModified` of the page's main node.
    LdModified,
    /// JSON-LD `datePublished` of another node (a `WebPage`).
    LdOther,
    /// A `<meta>` published time.
    Meta,
    /// A `<meta>` modified or updated time.
    MetaModified,
    /// A `<time>` or date-like element's `datetime` (or `content`).
    TimeAttr,
    /// A `<time>` or date-like element's text.
    TimeText,
    /// The URL's path (`/2025/09/04/`).
    Url,
    /// A short block that reads as a date.
    Line,
    /// Data a script renders the page from (`"publishedDate":"2016-11-04T20:37:27Z"`).
    Data,
}

/// One date a page states.
#[derive(Debug, Clone, PartialEq)]
pub struct DateCandidate {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Where it came from.
    pub source: DateSource,
    /// Position among the candidates of its source.
    pub rank: usize,
    /// Among the three blocks before the first `h1` and the ten after (lines), or inside
    /// an `article`/`header` (elements).
    pub near_headline: bool,
    /// A label by it says "updated" or "modified".
    pub updated: bool,
    /// A label by it says "published" or "posted".
    pub published: bool,
    /// In a comment section or a form.
    pub comments: bool,
}

impl DateCandidate {
    /// A candidate when `text` reads as a date.
    pub fn read(text: &str, source: DateSource, rank: usize) -> Option<Self> {
        Some(DateCandidate {
            date: iso_date(text)?,
            source,
            rank,
            near_headline: false,
            updated: false,
            published: false,
            comments: false,
        })
    }

    /// Sets the label flags from the words around the date (its text, a class name).
    pub fn labelled_by(mut self, around: &str) -> Self {
        let l = around.to_lowercase();
        self.updated |= UPDATED.iter().any(|w| l.contains(w));
        self.published |= PUBLISHED.iter().any(|w| l.contains(w));
        self
    }
}

/// Words that say a date is an update's, lower-cased.
const UPDATED: [&str; 9] = [
    "updat",
    "modif",
    "aktualisiert",
    "geändert",
    "zuletzt",
    "mis à jour",
    "actualiz",
    "last edited",
    "bearbeitet",
];

/// Words that say a date is the publication's, lower-cased.
const PUBLISHED: [&str; 8] = [
    "publish",
    "posted",
    "veröffentlicht",
    "publié",
    "publicado",
    "erschienen",
    "pubdate",
    "created",
];

/// The date candidates of one page.
#[derive(Debug, Clone, Default)]
pub struct DatePage {
    /// Every candidate, in the order found.
    pub cands: Vec<DateCandidate>,
    /// The first declared date string when none reads as a date (kept as written).
    pub raw: Option<String>,
}

/// The features, in the order of a row and of the model file.
pub const FEATURES: [&str; 19] = [
    "source_ld",
    "source_ld_modified",
    "source_ld_other",
    "source_meta",
    "source_meta_modified",
    "source_time_attr",
    "source_time_text",
    "source_url",
    "source_line",
    "source_data",
    "rank",
    "near_headline",
    "label_updated",
    "label_published",
    "comments",
    "agree",
    "latest",
    "earliest",
    "repeats",
];

/// Most candidates kept of one source.
pub const MAX_PER_SOURCE: usize = 40;

impl DatePage {
    /// One feature row per candidate.
    pub fn rows(&self) -> Vec<[f32; FEATURES.len()]> {
        let latest = self.cands.iter().map(|c| c.date.as_str()).max();
        let earliest = self.cands.iter().map(|c| c.date.as_str()).min();
        (self.cands.iter())
            .map(|c| {
                let mut sources: Vec<DateSource> = (self.cands.iter())
                    .filter(|o| o.date == c.date && o.source != c.source)
                    .map(|o| o.source)
                    .collect();
                sources.dedup();
                let same = self.cands.iter().filter(|o| o.date == c.date).count();
                let is = |s: DateSource| f32::from(u8::from(c.source == s));
                let flag = |b: bool| f32::from(u8::from(b));
                [
                    is(DateSource::Ld),
                    is(DateSource::LdModified),
                    is(DateSource::LdOther),
                    is(DateSource::Meta),
                    is(DateSource::MetaModified),
                    is(DateSource::TimeAttr),
                    is(DateSource::TimeText),
                    is(DateSource::Url),
                    is(DateSource::Line),
                    is(DateSource::Data),
                    ((1 + c.rank) as f32).ln() / 4.0,
                    flag(c.near_headline),
                    flag(c.updated),
                    flag(c.published),
                    flag(c.comments),
                    sources.len().min(3) as f32 / 3.0,
                    flag(Some(c.date.as_str()) == latest),
                    flag(Some(c.date.as_str()) == earliest),
                    (same as f32).ln() / 3.0,
                ]
            })
            .collect()
    }

    /// The best candidate's date when `model` finds it more likely right than wrong; else
    /// a declared date that reads as none, as written.
    pub fn choose(&self, model: &DateModel) -> Option<String> {
        (model.best(&self.rows()))
            .map(|i| self.cands[i].date.clone())
            .or_else(|| self.raw.clone())
    }
}

/// The date model: a [`Ranker`] over [`FEATURES`].
pub type DateModel = Ranker<{ FEATURES.len() }>;

/// The model shipped in `stages/models/date.txt`.
pub fn shipped() -> &'static DateModel {
    static M: OnceLock<DateModel> = OnceLock::new();
    Ranker::shipped(&M, include_str!("../../models/date.txt"), "date", &FEATURES)
}

/// Date candidates from the page's lines: every short block that reads as a date (the
/// headline too: some print the date in it), and in a longer one, the date after a
/// "published" label (`Erschienen am: 01.11.2023`, beside an update's date).
pub fn lines(blocks: &[pipeline_core::Block], page: &mut DatePage) {
    let h1 = blocks.iter().position(|b| b.heading == Some(1));
    let mut rank = 0;
    for (i, b) in blocks.iter().enumerate() {
        if rank >= MAX_PER_SOURCE {
            break;
        }
        // Counted up to 61: past 60 words a block is read no further.
        let words = b.text.split_whitespace().take(61).count();
        let text = if words <= 12 {
            Some(b.text.as_str())
        } else if words <= 60 {
            after_published_label(&b.text)
        } else {
            None
        };
        if let Some(mut c) = text.and_then(|t| DateCandidate::read(t, DateSource::Line, rank)) {
            c.near_headline = near_headline(h1, i);
            page.cands.push(c.labelled_by(text.unwrap_or_default()));
            rank += 1;
        }
    }
}

/// The text from the first "published" label on (`… Erschienen am: 01.11.2023 …`).
fn after_published_label(t: &str) -> Option<&str> {
    let starts = |i: usize, w: &str| {
        let mut lower = t[i..].chars().flat_map(char::to_lowercase);
        w.chars().all(|c| lower.next() == Some(c))
    };
    // Every label starts with an ASCII letter, so an ASCII character that does not
    // lower-case to one of those letters starts no label (the cheap test most characters
    // fail); any other character takes the whole test.
    let first = |c: char| {
        !c.is_ascii()
            || PUBLISHED
                .iter()
                .any(|w| w.as_bytes()[0] == c.to_ascii_lowercase() as u8)
    };
    t.char_indices()
        .find(|&(i, c)| first(c) && PUBLISHED.iter().any(|w| starts(i, w)))
        .map(|(i, _)| &t[i..])
}

/// Month names and their abbreviations in the languages of the pages (English, German,
/// French, Spanish, Italian, Portuguese, Dutch), lower-cased, by month: news and blog
/// software prints dates in the page's language (`29. Januar 2020`, `3 févr. 2021`).
/// Whole words only, and no abbreviation that is also an English word (`ago`, `set`,
/// `out`, `mag`).
pub(super) const MONTHS: [&[&str]; 12] = [
    &[
        "january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene", "gennaio", "gen",
        "janeiro", "januari",
    ],
    &[
        "february",
        "feb",
        "febr",
        "februar",
        "février",
        "févr",
        "fevrier",
        "febrero",
        "febbraio",
        "fevereiro",
        "fev",
        "februari",
    ],
    &[
        "march", "mar", "märz", "mrz", "mars", "marzo", "março", "maart", "mrt",
    ],
    &["april", "apr", "avril", "avr", "abril", "abr", "aprile"],
    &["may", "mai", "mayo", "maggio", "maio", "mei"],
    &[
        "june", "jun", "juni", "juin", "junio", "giugno", "giu", "junho",
    ],
    &[
        "july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug", "julho",
    ],
    &["august", "aug", "août", "aout", "agosto", "augustus"],
    &[
        "september",
        "sep",
        "sept",
        "septembre",
        "septiembre",
        "settembre",
        "setembro",
    ],
    &[
        "october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott", "outubro",
    ],
    &["november", "nov", "novembre", "noviembre", "novembro"],
    &[
        "december",
        "dec",
        "dezember",
        "dez",
        "décembre",
        "déc",
        "decembre",
        "diciembre",
        "dic",
        "dicembre",
        "dezembro",
    ],
];

/// The month a word names (any case, a trailing dot allowed), `1..=12`.
fn month_of(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    (1..=12u32).find(|&m| MONTHS[m as usize - 1].contains(&w))
}

/// A date as `YYYY-MM-DD`: ISO (`2025-09-04T…`), `2025/09/04`, `04.09.2025`,
/// `September 4, 2025`, `4 September 2025`; `None` when no such date is in it.
pub fn iso_date(s: &str) -> Option<String> {
    let ok = |y: u32, m: u32, d: u32| {
        ((1990..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
            .then(|| format!("{y:04}-{m:02}-{d:02}"))
    };
    let nums: Vec<(usize, &str)> = s
        .match_indices(|c: char| c.is_ascii_digit())
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || !s.as_bytes()[i - 1].is_ascii_digit())
        .map(|i| {
            let end = s[i..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(s.len(), |e| i + e);
            (i, &s[i..end])
        })
        .collect();
    let num = |t: &str| t.parse::<u32>().ok();
    // Numeric: Y-M-D or Y/M/D, then D.M.Y.
    for w in nums.windows(3) {
        let [(_, a), (_, b), (_, c)] = [w[0], w[1], w[2]];
        if a.len() == 4 {
            if let Some(d) = ok(num(a)?, num(b)?, num(c)?) {
                return Some(d);
            }
        }
        if c.len() == 4 && s[w[0].0..w[2].0].contains('.') {
            if let Some(d) = ok(num(c)?, num(b)?, num(a)?) {
                return Some(d);
            }
        }
        // D/M/Y or M/D/Y with slashes: only where the day tells (above 12).
        if c.len() == 4 && s[w[0].0..w[2].0].contains('/') {
            let (x, y) = (num(a)?, num(b)?);
            let (m, d) = match (x > 12, y > 12) {
                (true, false) => (y, x),
                (false, true) => (x, y),
                _ => continue,
            };
            if let Some(d) = ok(num(c)?, m, d) {
                return Some(d);
            }
        }
    }
    // A month's name with a day and a year around it.
    for word in s.split(|c: char| !c.is_alphabetic() && c != '.') {
        let here = word.as_ptr() as usize - s.as_ptr() as usize;
        let Some(m) = month_of(word) else {
            continue;
        };
        let year = nums.iter().find(|(_, t)| t.len() == 4)?;
        let day = nums
            .iter()
            .filter(|(_, t)| t.len() <= 2)
            .min_by_key(|(i, _)| i.abs_diff(here))?;
        return ok(num(year.1)?, m, num(day.1)?);
    }
    None
}

/// The date in a URL's path (`/2025/09/04/…`).
pub fn url_date(url: &str) -> Option<String> {
    let path = url.split_once("://").map_or(url, |(_, r)| r);
    let segs: Vec<&str> = path.split('/').collect();
    segs.windows(3).find_map(|w| {
        (w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2)
            .then(|| iso_date(&format!("{}-{}-{}", w[0], w[1], w[2])))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_label_is_found_in_any_case_after_any_text() {
        // after_published_label's cheap test holds only while every label starts so.
        assert!(PUBLISHED
            .iter()
            .all(|w| w.as_bytes()[0].is_ascii_lowercase()));
        let t = "Über uns · Zürich — VERÖFFENTLICHT am 3. Mai 2021 von Anna";
        assert_eq!(
            after_published_label(t),
            Some("VERÖFFENTLICHT am 3. Mai 2021 von Anna")
        );
        assert_eq!(
            after_published_label("Müller, Posted: Jan 3"),
            Some("Posted: Jan 3")
        );
        assert_eq!(after_published_label("Geändert am 3. Mai 2021"), None);
    }

    #[test]
    fn the_shipped_model_reads_and_round_trips() {
        let m = shipped();
        let text = m.to_text("date", &FEATURES);
        assert_eq!(text, include_str!("../../models/date.txt"));
    }

    #[test]
    fn a_published_label_picks_its_date_among_others() {
        let t = "Letzte Änderung: 31.10.2023 - 14:49:39 Erschienen am: 01.11.2023 Lesungen: 61";
        let after = after_published_label(t).unwrap();
        assert_eq!(iso_date(after).as_deref(), Some("2023-11-01"));
        assert_eq!(after_published_label("Updated 31.10.2023"), None);
    }

    #[test]
    fn labels_and_agreement_describe_a_date() {
        let c = DateCandidate::read("Updated May 4, 2025", DateSource::Line, 0)
            .unwrap()
            .labelled_by("Updated May 4, 2025");
        assert_eq!(c.date, "2025-05-04");
        assert!(c.updated && !c.published);
        let page = DatePage {
            cands: vec![
                DateCandidate::read("2025-05-01", DateSource::Ld, 0).unwrap(),
                DateCandidate::read("2025-05-01T10:00", DateSource::TimeAttr, 0).unwrap(),
                c,
            ],
            raw: None,
        };
        let rows = page.rows();
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        assert_eq!(rows[0][col("agree")], 1.0 / 3.0);
        assert_eq!(rows[2][col("latest")], 1.0);
        assert_eq!(rows[0][col("earliest")], 1.0);
    }

    #[test]
    fn dates_read_in_their_common_forms() {
        for (s, want) in [
            ("2025-09-04T10:00:00+00:00", Some("2025-09-04")),
            ("2025/9/4", Some("2025-09-04")),
            ("04.09.2025", Some("2025-09-04")),
            ("Posted on the 15/12/2025 at 19:00", Some("2025-12-15")),
            ("12/15/2025", Some("2025-12-15")),
            ("04/09/2025", None),
            ("September 4, 2025", Some("2025-09-04")),
            ("4 Sep 2025", Some("2025-09-04")),
            ("Updated 12 hours ago", None),
            // In the page's language; whole words only.
            (
                "Diese Seite wurde zuletzt am 29. Januar 2020 bearbeitet",
                Some("2020-01-29"),
            ),
            ("publié le 3 févr. 2021", Some("2021-02-03")),
            ("12 de marzo de 2019", Some("2019-03-12")),
            ("7 ottobre 2022", Some("2022-10-07")),
            ("Set of 12 cups, 2024 edition", None),
            ("Junior league 2024, round 3", None),
        ] {
            assert_eq!(iso_date(s).as_deref(), want, "{s}");
        }
        assert_eq!(
            url_date("https://x.com/2025/09/04/top-trends").as_deref(),
            Some("2025-09-04")
        );
    }
}
