//! The page's author, chosen by a trained model. Every place a page names someone gives
//! a candidate: JSON-LD, `<meta>` tags, the "Written by" label of a Twitter card, byline
//! elements (`rel="author"`, author and byline classes), a "By …" line by the headline,
//! and the site's name. Each candidate is described by a few general features (where it
//! came from, what it looks like, whether other places agree, whether it sits in the
//! comments) and scored by a logistic regression that `textpipe train author` fits to
//! the benchmarks' author gold. The best candidate is the author when the model finds it
//! more likely right than wrong.
//!
//! Knows nothing of blocks' content decisions; reads the DOM through
//! [`super::metadata`] and the blocks only for the line under the headline.

use std::sync::OnceLock;

use scraper::ElementRef;

use super::date::MONTHS;
use super::metadata::{key, near_headline};
use super::ranker::Ranker;

/// Where a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// JSON-LD `author` of the page's main node.
    Ld,
    /// `<meta name="author">` and its kin.
    Meta,
    /// A Twitter card's `twitter:dataN` labelled "Written by".
    Card,
    /// A byline element.
    Byline,
    /// A short line of the page that starts with a label ("By …", "Autor: …") or a
    /// copyright notice.
    Line,
    /// Data a script renders the page from: a forum's first post's user name
    /// (Discourse's preloaded JSON), an analytics `dataLayer`'s author.
    Data,
    /// The site's name or a part of `<title>` after the headline.
    Site,
}

/// One name a page offers as its author.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The name(s), joined with ", ".
    pub name: String,
    /// Where it came from.
    pub source: Source,
    /// Position among the candidates of its source.
    pub rank: usize,
    /// JSON-LD declares it an `Organization`.
    pub org: bool,
    /// The element declares an author (`rel="author"`, `itemprop="author"`, a link to an
    /// author page).
    pub strong: bool,
    /// The element sits in a comment section or a form.
    pub comments: bool,
    /// A label ("By", "Von", "Written by") stood before the name.
    pub labelled: bool,
    /// A line among the three blocks before the first `h1` and the ten after.
    pub near_headline: bool,
    /// A copyright notice's holder.
    pub copyright: bool,
}

impl Candidate {
    /// A candidate from `source` with no flags set.
    pub fn new(name: String, source: Source, rank: usize) -> Self {
        Candidate {
            name,
            source,
            rank,
            org: false,
            strong: false,
            comments: false,
            labelled: false,
            near_headline: false,
            copyright: false,
        }
    }
}

/// The candidates of one page and what the features compare them with.
#[derive(Debug, Clone, Default)]
pub struct AuthorPage {
    /// Every candidate, in the order found.
    pub cands: Vec<Candidate>,
    /// The site's name, if declared.
    pub site: Option<String>,
    /// The page's host without `www.` and the top-level domain.
    pub host: String,
    /// The page's `<title>`, as a [`key`].
    pub title_key: String,
}

/// The features, in the order of a row and of the model file.
pub const FEATURES: [&str; 25] = [
    "source_ld",
    "source_ld_org",
    "source_meta",
    "source_card",
    "source_byline",
    "source_line",
    "source_data",
    "source_site",
    "rank",
    "words",
    "chars",
    "capitalised",
    "digit",
    "junk",
    "is_site",
    "agree",
    "strong",
    "comments",
    "labelled",
    "page_declares",
    "in_title",
    "near_headline",
    "copyright",
    "core",
    "extends",
];

/// Most candidates kept of one source (bylines: the page's own come first).
pub const MAX_PER_SOURCE: usize = 40;

impl AuthorPage {
    /// Adds a candidate unless its name is empty or a near-duplicate of its source's last.
    pub fn push(&mut self, c: Candidate) {
        if c.name.chars().any(char::is_alphabetic) {
            self.cands.push(c);
        }
    }

    /// One feature row per candidate.
    pub fn rows(&self) -> Vec<[f32; FEATURES.len()]> {
        let keys: Vec<String> = self.cands.iter().map(|c| key(&c.name)).collect();
        let declares = self.cands.iter().any(|c| {
            matches!(c.source, Source::Ld | Source::Meta)
                && !junk_author(&c.name, self.site.as_deref(), &self.host)
        });
        (self.cands.iter().zip(&keys))
            .map(|(c, k)| {
                let words: Vec<&str> = c.name.split_whitespace().collect();
                let caps = words
                    .iter()
                    .filter(|w| w.starts_with(char::is_uppercase))
                    .count();
                let agree = (self.cands.iter().zip(&keys))
                    .filter(|(o, ok)| o.source != c.source && *ok == k)
                    .count();
                // Other candidates that hold this name and more (`Matt Check Head
                // Winemaker` holds `Matt Check`), and whether this one holds another's.
                let core = (keys.iter())
                    .filter(|o| o.len() > k.len() && k.len() >= 4 && o.starts_with(k.as_str()))
                    .count();
                let extends = (keys.iter())
                    .any(|o| k.len() > o.len() && o.len() >= 4 && k.starts_with(o.as_str()));
                let is = |s: Source| f32::from(u8::from(c.source == s));
                let flag = |b: bool| f32::from(u8::from(b));
                [
                    is(Source::Ld) * flag(!c.org),
                    is(Source::Ld) * flag(c.org),
                    is(Source::Meta),
                    is(Source::Card),
                    is(Source::Byline),
                    is(Source::Line),
                    is(Source::Data),
                    is(Source::Site),
                    ((1 + c.rank) as f32).ln() / 4.0,
                    words.len().min(8) as f32 / 8.0,
                    (c.name.chars().count() as f32 / 60.0).min(1.0),
                    caps as f32 / words.len().max(1) as f32,
                    flag(c.name.contains(|ch: char| ch.is_ascii_digit())),
                    flag(junk_author(&c.name, None, "")),
                    flag(is_site(&c.name, self.site.as_deref(), &self.host)),
                    agree.min(3) as f32 / 3.0,
                    flag(c.strong),
                    flag(c.comments),
                    flag(c.labelled),
                    flag(declares),
                    flag(k.len() >= 3 && self.title_key.contains(k.as_str())),
                    flag(c.near_headline),
                    flag(c.copyright),
                    core.min(3) as f32 / 3.0,
                    flag(extends),
                ]
            })
            .collect()
    }

    /// The best candidate's name when `model` finds it more likely right than wrong.
    pub fn choose(&self, model: &AuthorModel) -> Option<String> {
        model.best(&self.rows()).map(|i| self.cands[i].name.clone())
    }
}

/// The author model: a [`Ranker`] over [`FEATURES`].
pub type AuthorModel = Ranker<{ FEATURES.len() }>;

/// The model shipped in `stages/models/author.txt`.
pub fn shipped() -> &'static AuthorModel {
    static M: OnceLock<AuthorModel> = OnceLock::new();
    Ranker::shipped(
        &M,
        include_str!("../../models/author.txt"),
        "author",
        &FEATURES,
    )
}

/// Whether `name` is the site's own name (declared, or the host's name).
fn is_site(name: &str, site: Option<&str>, host: &str) -> bool {
    let k = key(name);
    !k.is_empty() && (site.is_some_and(|s| key(s) == k) || (k.len() >= 4 && host_has(host, &k)))
}

fn host_has(host: &str, k: &str) -> bool {
    host.replace('.', "").contains(k)
}

/// Whether an element sits in a comment section or a form (its own or an ancestor's
/// class or id says "comment"), where names are the commenters'.
pub fn in_comments(e: ElementRef<'_>) -> bool {
    e.ancestors().take(30).any(|n| {
        n.value().as_element().is_some_and(|el| {
            el.name() == "form"
                || [el.attr("class"), el.attr("id")]
                    .into_iter()
                    .flatten()
                    .any(|v| v.to_ascii_lowercase().contains("comment"))
        })
    })
}

/// Whether an element declares its text an author (`rel="author"`, `itemprop="author"`,
/// a link to an author page).
pub fn declares_author(e: ElementRef<'_>) -> bool {
    let v = e.value();
    v.attr("rel").is_some_and(|r| r.contains("author"))
        || v.attr("itemprop").is_some_and(|r| r.contains("author"))
        || v.attr("href").is_some_and(|h| h.contains("/author"))
}

/// Whether a byline's text starts with a label before the name.
pub fn has_label(t: &str) -> bool {
    let l = t.trim_start().to_lowercase();
    l.starts_with("by ") || l.starts_with("by:") || LABELS.iter().any(|p| l.starts_with(p))
}

/// Labels that stand before an author's name, lower-cased (English, German, French,
/// Spanish, Dutch): "Written by", "Autorin:", "Ein Artikel von".
const LABELS: [&str; 20] = [
    "written by",
    "posted by",
    "geschrieben von",
    "ein artikel von",
    "ein beitrag von",
    "text und interview:",
    "text:",
    "interview:",
    "von:",
    "von ",
    "par ",
    "por ",
    "door ",
    "author:",
    "authors:",
    "autor:",
    "autorin:",
    "autoren:",
    "auteur :",
    "auteur:",
];

/// Whether `t` is a label alone, the name in the next element (`Autor`, `Written by:`).
fn is_label(t: &str) -> bool {
    let l = t.trim().trim_end_matches(':').trim().to_lowercase();
    l.len() <= 16
        && (l == "by"
            || l == "authors"
            || l == "author(s)"
            || l == "verfasser"
            || LABELS.iter().any(|p| p.trim_end_matches([':', ' ']) == l))
}

/// The label `t` starts with (any case), if any, as its length in bytes.
fn label_len(t: &str) -> Option<usize> {
    let head: String = t.chars().take(24).flat_map(char::to_lowercase).collect();
    LABELS
        .iter()
        .find(|l| head.starts_with(*l))
        .map(|l| l.len())
        .filter(|&n| t.is_char_boundary(n))
}

/// Author candidates from the page's lines: every short block that starts with a label
/// ("By …", "Autor: …"), and copyright notices (a personal site's owner).
pub fn lines(blocks: &[pipeline_core::Block], page: &mut AuthorPage) {
    let h1 = blocks.iter().position(|b| b.heading == Some(1));
    let mut rank = 0;
    for (i, b) in blocks.iter().enumerate() {
        if rank >= MAX_PER_SOURCE {
            break;
        }
        if b.heading == Some(1) || b.text.split_whitespace().nth(12).is_some() {
            continue;
        }
        let near = near_headline(h1, i);
        // A label alone ("Autor", "Written by:") names the next block.
        let alone = i > 0 && is_label(&blocks[i - 1].text);
        let (name, labelled, copyright) = if alone || has_label(&b.text) {
            (byline_name(&b.text), true, false)
        } else if let Some(holder) = copyright_holder(&b.text) {
            (byline_name(holder), false, true)
        } else {
            continue;
        };
        if let Some(name) = name {
            let mut c = Candidate::new(name, Source::Line, rank);
            c.labelled = labelled;
            c.copyright = copyright;
            c.near_headline = near;
            page.push(c);
            rank += 1;
        }
    }
}

/// The holder in a copyright notice (`© 2025 Toby Hede. All rights reserved.`,
/// `(c) Johannes Wolf • Impressum`), cut at the first sentence or separator.
fn copyright_holder(t: &str) -> Option<&str> {
    const MARKS: [&str; 5] = ["©", "(c)", "(C)", "Copyright", "copyright"];
    let mut rest = MARKS.iter().find_map(|p| t.trim_start().strip_prefix(p))?;
    // "Copyright (c) 2012-", "© 2019 -": further marks, years and dashes.
    loop {
        let r = rest.trim_start_matches(|c: char| {
            c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '–' | ',')
        });
        match MARKS.iter().find_map(|p| r.strip_prefix(p)) {
            Some(after) => rest = after,
            None => {
                rest = r;
                break;
            }
        }
    }
    let rest = rest.strip_prefix("by ").unwrap_or(rest);
    let end = rest.find(['.', '•', '|', '·']).unwrap_or(rest.len());
    Some(rest[..end].trim()).filter(|r| !r.is_empty())
}

/// The string values that follow `key` (and `key` + `s`) in a script's text or a JSON
/// attribute, at most eight: a forum's first post's user name in Discourse's preloaded
/// JSON (`"username":"X"`, escaped inside a string of JSON), the author an analytics
/// `dataLayer` or a WordPress plugin declares (`'author': 'X'`, `"pagePostAuthor":"X"`),
/// a JSON state's date (`"publishedDate":"2016-11-04T20:37:27Z"`).
pub fn script_names(text: &str, key: &str, out: &mut Vec<String>) {
    let finder = memchr::memmem::Finder::new(key.as_bytes());
    for at in finder.find_iter(text.as_bytes()).take(8) {
        let rest = &text[at + key.len()..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        // `"key":"`, `'key' : '`, `\"key\":\"`: quotes, backslashes, a colon, spaces.
        let mut it = rest.char_indices();
        let mut quote_after_colon = None;
        let mut colon = false;
        for (i, c) in it.by_ref() {
            match c {
                '\\' | ' ' => {}
                '"' | '\'' if !colon => {}
                ':' if !colon => colon = true,
                '"' | '\'' if colon => {
                    quote_after_colon = Some(i + 1);
                    break;
                }
                _ => break,
            }
            if i > 8 {
                break;
            }
        }
        let Some(start) = quote_after_colon else {
            continue;
        };
        let value = &rest[start..];
        let end = value.find(['"', '\'', '\\']).unwrap_or(value.len());
        let name = value[..end].trim();
        if (2..=60).contains(&name.len()) && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
}

/// An author field without the byline's label or quotes a CMS copied into it
/// (`By: Jane Doe`, `Written By: Jane Doe`, `Von Jane Doe`, `"Jane Doe"`).
pub fn author_field(t: &str) -> &str {
    let mut t = t.trim().trim_matches(['"', '“', '”', '\'']).trim();
    let lower = t.to_lowercase();
    if lower.starts_with("by ") || lower.starts_with("by:") {
        t = &t[3..];
    } else if let Some(n) = label_len(t) {
        t = &t[n..];
    }
    t.trim_start_matches([',', ' ', ':']).trim()
}

/// Whether `name` is no person's name: a URL, a handle, an e-mail, a role word, the site.
pub fn junk_author(name: &str, site: Option<&str>, host: &str) -> bool {
    let l = name.to_lowercase();
    l.contains("http")
        || l.contains("www.")
        || l.contains('@')
        || l.contains('/')
        // A form's required-field label ("Name *" over a comment form), not a byline.
        || l.contains('*')
        // A reading time beside the byline ("5 min read").
        || (l.ends_with(" read") && l.starts_with(|c: char| c.is_ascii_digit()))
        || name.chars().count() > 80
        || name.split_whitespace().count() > 8
        || matches!(
            l.trim_end_matches([':', 's']),
            "admin"
                | "administrator"
                | "publisher"
                | "staff"
                | "editor"
                | "editorial staff"
                | "guest"
                | "author"
                | "unknown"
                | "anonymous"
                | "null"
                | "none"
                | "team"
                // Labels a byline's element holds around the name.
                | "topic"
                | "posted"
                | "posted on"
                | "top"
                | "auteur"
                | "autor"
                | "autoren"
                | "written by"
                | "by"
                | "share"
                | "more"
                | "home"
                | "post"
                | "reply"
        )
        || key(name).is_empty()
        || is_site(name, site, host)
}

/// The author's name in a byline's text (`By Jane Doe | Updated May 4`), or `None` when
/// it does not read as one: at most six words, cut before a date, a role or a count.
pub fn byline_name(t: &str) -> Option<String> {
    // A byline's parts between separators (`Dec. 19, 2025 · Niko Matsakis`): the first
    // that reads as a name.
    let mut parts = vec![t];
    for sep in [" | ", " · ", " • ", " - ", " – ", " — ", "\n"] {
        parts = parts.iter().flat_map(|p| p.split(sep)).collect();
    }
    parts.into_iter().find_map(byline_part)
}

/// [`byline_name`] of one part of a byline.
fn byline_part(t: &str) -> Option<String> {
    let mut t = t.trim();
    // "By Jane", "Text by Jane", "Written by Jane": the name follows the first "by".
    let lower = t.to_lowercase();
    if let Some(i) = (lower.find("by ").or_else(|| lower.find("by:")))
        .filter(|&i| i < 16 && (i == 0 || lower[..i].ends_with(' ')))
    {
        t = t[i + 3..].trim();
    }
    t = t.trim_start_matches([':', ' ']);
    if let Some(n) = label_len(t) {
        t = t[n..].trim_start_matches([':', ' ']);
    }
    let mut end = t.len();
    for cut in [
        " | ",
        " · ",
        " • ",
        " - ",
        " – ",
        " — ",
        ",",
        " Updated",
        " updated",
        " Published",
        " published",
        " on ",
        " am ",
        " posted",
        " Posted",
        " Last ",
        " last ",
        "\n",
    ] {
        if let Some(i) = t.find(cut) {
            end = end.min(i);
        }
    }
    // A forum rank or a month after the name (`Lutfij Titan Moderator`, `Scott Matton
    // March 4`).
    for w in t.split_whitespace() {
        let l = w.to_lowercase();
        let role = matches!(
            l.as_str(),
            "moderator"
                | "administrator"
                | "admin"
                | "member"
                | "staff"
                | "contributor"
                | "editor"
                | "ambassador"
                | "senior"
                | "junior"
                | "newbie"
                | "participant"
                | "guest"
                | "author"
                | "posts"
                | "joined"
                | "verified"
                // A forum's or a blog's words after the name (`HOSTLAR View Profile`,
                // `Floyd Das Internet behauptet`, `gnaddrig Sagt`, `Mateusz Haberny
                // Founder at Oakywood`).
                | "view"
                | "offline"
                | "online"
                | "since"
                | "wrote"
                | "says"
                | "sagt"
                | "schreibt"
                | "founder"
                | "ceo"
                | "writer"
                | "reviewer"
        );
        // A month's name or its abbreviation (`March`, `Mar.`).
        let stem = l.trim_end_matches('.');
        let month = stem.len() >= 3 && MONTHS.iter().any(|m| m[0].starts_with(stem));
        if role || month {
            let at = w.as_ptr() as usize - t.as_ptr() as usize;
            end = end.min(at);
            break;
        }
    }
    // A count after the name (`KumikoGoingCrAzY 15911 silver badge`).
    if let Some(i) = t.find(|c: char| c.is_ascii_digit()) {
        if t[..i].ends_with(' ') {
            end = end.min(i);
        }
    }
    let name = without_avatar(t[..end].trim().trim_end_matches([':', '.']).trim());
    let words = name.split_whitespace().count();
    ((1..=6).contains(&words) && name.chars().any(char::is_alphabetic)).then(|| name.to_string())
}

/// A name without the avatar a forum draws from it: its initial before or after it
/// (`J julian`, `JosephF J`), or the name twice (`AquaCare AquaCare`).
fn without_avatar(name: &str) -> &str {
    let words: Vec<&str> = name.split_whitespace().collect();
    let initial = |w: &str| w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
    let starts = |w: &str, i: &str| w.to_lowercase().starts_with(&i.to_lowercase());
    match words.as_slice() {
        [i, w, ..] if initial(i) && starts(w, i) => name[i.len()..].trim(),
        [w, .., i] if initial(i) && starts(w, i) => name[..name.len() - i.len()].trim(),
        [a, b] if a == b => a,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_reads_and_round_trips() {
        let m = shipped();
        let text = m.to_text("author", &FEATURES);
        assert_eq!(&Ranker::parse(&text, "author", &FEATURES).unwrap(), m);
        assert_eq!(text, include_str!("../../models/author.txt"));
    }

    #[test]
    fn author_fields_lose_their_labels() {
        for (field, want) in [
            ("By: Benjamin Johnson", "Benjamin Johnson"),
            ("Written By: Cazzy Magennis", "Cazzy Magennis"),
            ("Von Vanessa Franke", "Vanessa Franke"),
            ("VON MORITZ GATHMANN", "MORITZ GATHMANN"),
            ("Interview: Julia Lauter", "Julia Lauter"),
            (
                "'Luana Patriolino, Raphael Felice'",
                "Luana Patriolino, Raphael Felice",
            ),
            ("\"David Kim\"", "David Kim"),
            ("Bylander", "Bylander"),
        ] {
            assert_eq!(author_field(field), want);
        }
        assert!(junk_author("5 min read", None, "example"));
        for label in ["Name *", "Name*"] {
            assert!(junk_author(label, None, "example"), "{label}");
        }
        assert!(!junk_author("Heiko Meier", None, "example"));
    }

    #[test]
    fn script_data_and_copyright_lines_name_authors() {
        let mut names = Vec::new();
        let discourse = r#"{"topic_1":"{\"post_stream\":{\"posts\":[{\"id\":3,\"username\":\"PaulWBryant\",\"x\":1},{\"username\":\"other\"}"#;
        script_names(discourse, "username", &mut names);
        assert_eq!(names, ["PaulWBryant", "other"]);
        names.clear();
        script_names(
            "dataLayer = [{ 'pageCategory': 'news', 'author' : 'Rudolf Fischer, Simon Kohler' }]",
            "author",
            &mut names,
        );
        assert_eq!(names, ["Rudolf Fischer, Simon Kohler"]);
        names.clear();
        script_names(r#"{"author":{"name":"X"}}"#, "author", &mut names);
        assert!(names.is_empty());
        assert_eq!(
            copyright_holder("© 2025 Toby Hede. All rights reserved."),
            Some("Toby Hede")
        );
        assert_eq!(
            copyright_holder("Copyright (c) 2012- Gregory Szorc. All rights"),
            Some("Gregory Szorc")
        );
        assert_eq!(copyright_holder("Made with care"), None);
    }

    #[test]
    fn a_label_alone_names_the_next_line() {
        let block = |t: &str| pipeline_core::Block {
            text: t.into(),
            ..Default::default()
        };
        let mut page = AuthorPage::default();
        lines(
            &[block("Autor"), block("Nikolai Huke"), block("Text.")],
            &mut page,
        );
        assert_eq!(page.cands.len(), 1);
        assert_eq!(page.cands[0].name, "Nikolai Huke");
        assert!(page.cands[0].labelled);
    }

    #[test]
    fn bylines_lose_labels_ranks_and_avatars() {
        for (byline, want) in [
            ("By Jane Doe | Updated May 4", Some("Jane Doe")),
            ("Posted By: Kiersten", Some("Kiersten")),
            ("HOSTLAR View Profile View Forum", Some("HOSTLAR")),
            ("J julian", Some("julian")),
            ("JosephF J", Some("JosephF")),
            ("AquaCare AquaCare", Some("AquaCare")),
            (
                "Mateusz Haberny Founder at Oakywood",
                Some("Mateusz Haberny"),
            ),
            ("Dec. 19, 2025 · Niko Matsakis", Some("Niko Matsakis")),
            (
                "Autorin: Uta Staschewski, Projektleiterin",
                Some("Uta Staschewski"),
            ),
            (
                "Ein Artikel von Pamela Sladky | 27.01.2022",
                Some("Pamela Sladky"),
            ),
        ] {
            assert_eq!(byline_name(byline).as_deref(), want, "{byline}");
        }
    }

    proptest::proptest! {
        // Whatever a page holds, reading bylines, labels, credits and script data never
        // panics (byte offsets stay on character boundaries).
        #[test]
        fn any_text_reads_without_panicking(t in "\\PC{0,80}") {
            let _ = byline_name(&t);
            let _ = author_field(&t);
            let _ = copyright_holder(&t);
            let _ = is_label(&t);
            let mut names = Vec::new();
            script_names(&t, "author", &mut names);
            script_names(&format!("\"author\":\"{t}"), "\"author", &mut names);
            let _ = super::super::date::iso_date(&t);
        }
    }
}
