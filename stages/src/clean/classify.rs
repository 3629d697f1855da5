//! What each block is before context: the block as the rules see it ([`View`]), its
//! [`Class`] from boilerplate cues, HTML hints, link ratio, date-only, teaser, caption and
//! code-list patterns, then length and stop-word density.

use pipeline_core::Block;

use super::cues::{CUE_MAX_CHARS, DENSITY_SAMPLE};
use super::{words, Cleaner};

/// What classification reads of a block: one of decode's HTML blocks, or a plain-text line
/// (borrowed from the document, so plain text is classified without copying its lines).
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The block's text.
    pub text: &'a str,
    /// Heading level, if a heading.
    pub heading: Option<u8>,
    /// Class/id/tag hints of the block's ancestors.
    pub hints: &'a [String],
    /// Share of the text inside links.
    pub link_ratio: f32,
    /// Ids of the enclosing region elements (HTML), outermost first.
    pub path: &'a [u32],
    /// True for preformatted text (`pre`): code, a command, a log.
    pub pre: bool,
    /// Tag name of the block element (`line` for plain text).
    pub tag: &'a str,
    /// True inside a list.
    pub in_list: bool,
}

impl<'a> View<'a> {
    /// The block's template: its tag, depth and the ancestors' class/id/tag hints without
    /// digits (record ids such as `post-1234` differ between records of one template). The
    /// records a site's template repeats (posts, product cards, list entries, menu items)
    /// share it.
    pub fn template(&self) -> u64 {
        let mut h = pipeline_core::stable_hash(self.tag.as_bytes()) ^ self.path.len() as u64;
        for hint in self.hints {
            if !hint.bytes().any(|c| c.is_ascii_digit()) {
                h = h.rotate_left(5) ^ pipeline_core::stable_hash(hint.as_bytes());
            }
        }
        h
    }

    /// The view of an HTML block.
    pub fn of(b: &'a Block) -> Self {
        View {
            text: &b.text,
            heading: b.heading,
            hints: &b.hints,
            link_ratio: b.link_ratio,
            path: &b.path,
            pre: b.tag == "pre",
            tag: &b.tag,
            in_list: b.in_list,
        }
    }

    /// True inside an `article` or `main` element.
    pub(super) fn in_article(&self) -> bool {
        self.hints.iter().any(|h| h == "article" || h == "main")
    }

    /// The view of a plain-text line.
    pub fn line(text: &'a str) -> Self {
        View {
            text,
            heading: None,
            hints: &[],
            link_ratio: 0.0,
            path: &[],
            pre: false,
            tag: "line",
            in_list: false,
        }
    }
}

/// The class of a block before context is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Class<'a> {
    Good,
    NearGood,
    Short,
    Bad(&'static str),
    /// A cue's category (borrowed from the lexicon, so classifying allocates nothing).
    Cue(&'a str),
}

/// HTML class/id/tag hints that mark boilerplate.
pub(super) const BAD_HINTS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "footer",
    "aside",
    "sidebar",
    "breadcrumb",
    "breadcrumbs",
    "comment",
    "comments",
    "cookie",
    "cookies",
    "consent",
    "share",
    "sharing",
    "social",
    // Embedded posts of social networks (`twitter-tweet`, `tiktok-embed`).
    "tweet",
    "tiktok",
    "related",
    "teaser",
    "teasers",
    "newsletter",
    "subscribe",
    "banner",
    "advert",
    "advertisement",
    "ads",
    "promo",
    "widget",
    "pagination",
    "pager",
    "login",
    "signup",
    "tags",
    "tagcloud",
    "copyright",
    "disclaimer",
    "popup",
    "modal",
    "toolbar",
    "skip",
    "recommended",
    "trending",
    "popular",
    "more",
    "byline",
    "meta",
    "caption",
    "credit",
    "button",
    "form",
    "label",
    "dialog",
    "navigation",
    "complementary",
    "contentinfo",
    "search",
    "author",
    "bio",
    "authorbox",
];

/// Hints that do not overrule an enclosing `article` or `main`: they name the box rather
/// than what it holds (`meta`, `credit`), or news sites and page builders put them on
/// article text too (`teaser` for the lead, `has-ads`-style layout names, `widget`).
pub(super) const ARTICLE_HINTS: &[&str] = &[
    "more", "meta", "credit", "byline", "search", "teaser", "ads", "widget", "aside", "sidebar",
    "menu",
];

pub(super) const MONTHS: &[&str] = &[
    "januar",
    "jänner",
    "februar",
    "märz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "january",
    "february",
    "march",
    "may",
    "june",
    "july",
    "october",
    "december",
    "jan",
    "feb",
    "mär",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "okt",
    "oct",
    "nov",
    "dez",
    "dec",
];
pub(super) const WEEKDAYS: &[&str] = &[
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "uhr",
    "flag",
    "stand",
    "aktualisiert",
    "updated",
    "veröffentlicht",
    "published",
];

/// A date/time line ("22 Juni 2022, 14:36", "23 | 02 | 2020", "2065-26-11-2020", "Epoch Times4. November 2021").
/// `text` is the line lower-cased.
pub(super) fn is_date_line(text: &str) -> bool {
    if text.len() > 100 {
        return false;
    }
    let mut words = [""; 9];
    let mut n = 0;
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if n == words.len() {
            return false;
        }
        words[n] = w;
        n += 1;
    }
    if n == 0 {
        return false;
    }
    let mut datey = 0;
    let mut other = 0;
    for &lw in &words[..n] {
        let trimmed = lw.trim_end_matches(|c: char| c.is_ascii_digit());
        if lw.chars().all(|c| c.is_ascii_digit()) || MONTHS.contains(&lw) || WEEKDAYS.contains(&lw)
        {
            datey += 1;
        } else if trimmed.len() < lw.len() && trimmed.len() <= 2 {
            datey += 1; // "202018" glued digits, "4h"
        } else {
            other += 1;
        }
    }
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    // Something only a date has: a month or weekday name, a year, or three numbers.
    let dated = words[..n].iter().any(|w| {
        MONTHS.contains(w)
            || WEEKDAYS.contains(w)
            || (w.len() >= 4 && w.bytes().all(|b| b.is_ascii_digit()))
    }) || words[..n]
        .iter()
        .filter(|w| w.bytes().any(|b| b.is_ascii_digit()))
        .count()
        >= 3;
    has_digit && dated && datey >= 2 && other <= 2 && datey >= other
}

/// Language switchers and code lists: most words look like `de-DE1`, `en`, `ru-RU`.
pub(super) fn is_code_list(text: &str) -> bool {
    if text.len() > 200 {
        return false;
    }
    let (mut n, mut codes) = (0usize, 0usize);
    for w in words(text).filter(|w| w.chars().any(char::is_alphanumeric)) {
        n += 1;
        let core = w.trim_matches(|c: char| !c.is_alphanumeric());
        let code = core.len() <= 6
            && core.chars().take(2).all(|c| c.is_ascii_lowercase())
            && core.contains(|c: char| c.is_ascii_uppercase() || c == '-' || c.is_ascii_digit());
        codes += usize::from(code);
    }
    n >= 3 && codes * 2 > n
}

/// True for the caption of a numbered figure: "Abbildung 4: …", "Fig. 2. …" (lower case).
pub(super) fn is_numbered_caption(lower: &str) -> bool {
    const LABELS: &[&str] = &[
        "abbildung",
        "abb.",
        "figure",
        "fig.",
        "grafik",
        "foto",
        "photo",
        "bild",
        "image",
    ];
    // Most blocks start with another letter: one byte decides.
    if !matches!(
        lower.as_bytes().first(),
        Some(b'a' | b'f' | b'g' | b'p' | b'b' | b'i')
    ) {
        return false;
    }
    LABELS.iter().any(|l| {
        lower.strip_prefix(l).is_some_and(|rest| {
            let rest = rest.trim_start();
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            (1..=3).contains(&digits)
                && matches!(
                    rest.as_bytes().get(digits..digits + 2),
                    Some([b':' | b'.', b' '])
                )
        })
    })
}

/// True if `t` holds a year from 1900 to 2099 standing alone as a number.
pub(super) fn has_year(t: &str) -> bool {
    t.split(|c: char| !c.is_ascii_digit())
        .any(|n| n.len() == 4 && (n.starts_with("19") || n.starts_with("20")))
}

pub(super) fn ends_sentence(t: &str) -> bool {
    let t = t.trim_end_matches(['"', '“', '”', '»', '«', '\'', '’', ')', ' ', '」', '』']);
    t.ends_with(['.', '!', '?', ':', '。', '！', '？', '：'])
}

/// True if most of `t` is in a script written without spaces between words: Chinese,
/// Japanese kana, Thai, Lao, Khmer, Myanmar.
pub(super) fn spaceless(t: &str) -> bool {
    let (mut n, mut cjk) = (0usize, 0usize);
    for c in t.chars() {
        n += 1;
        cjk += usize::from(matches!(c,
            '\u{0E00}'..='\u{0EFF}' | '\u{1000}'..='\u{109F}' | '\u{1780}'..='\u{17FF}'
            | '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'));
    }
    cjk * 2 > n
}

pub(super) fn is_teaser(t: &str) -> bool {
    let t = t.trim_end();
    (t.ends_with("...") || t.ends_with('…')) && t.chars().count() < 160
}

impl Cleaner {
    /// `lower` is a buffer for the block lower-cased, reused from block to block.
    pub(super) fn classify(&self, b: &View<'_>, html: bool, lower: &mut String) -> Class<'_> {
        let text = b.text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Class::Bad("empty");
        }
        lower.clear();
        crate::text::lower::push_lowercase(lower, text);
        let lower = lower.as_str();
        // Long blocks count strong cues only.
        if let Some(cat) = self.lex.cue(lower, chars >= CUE_MAX_CHARS) {
            // "© AFP / Name" under a picture is a photo credit; a copyright footer names
            // a year ("© 2024 Verlag").
            if cat == "copyright" && chars < 100 && text.contains('©') && !has_year(text) {
                return Class::Cue("photo");
            }
            return Class::Cue(cat);
        }
        if html {
            let in_article = b.in_article();
            let mut hinted = b
                .hints
                .iter()
                .filter(|h| BAD_HINTS.contains(&h.as_str()))
                .peekable();
            if hinted.peek().is_some()
                && !(in_article
                    && (b.heading.is_some() || hinted.all(|h| ARTICLE_HINTS.contains(&h.as_str()))))
            {
                return Class::Bad("html-hint");
            }
            if b.link_ratio > self.o.max_link_ratio {
                return Class::Bad("links");
            }
        }
        // Code in an article is short, has no stop words and may look like a date or a
        // list of codes: it is kept where prose next to it is, or inside an article.
        if b.pre {
            return Class::NearGood;
        }
        if is_date_line(lower) {
            return Class::Bad("date");
        }
        if is_numbered_caption(lower) {
            return Class::Bad("caption");
        }
        if is_teaser(text) {
            return Class::Bad("teaser");
        }
        if is_code_list(text) {
            return Class::Bad("code-list");
        }
        // A long block's stop-word density is read off its first DENSITY_SAMPLE bytes (cut
        // at a space, always a char boundary): prose and boilerplate do not change in the
        // middle of a paragraph, and the whole block is far past the length thresholds.
        let sample = match lower.as_bytes().get(..DENSITY_SAMPLE) {
            Some(head) => head
                .iter()
                .rposition(|&b| b == b' ')
                .filter(|&cut| cut >= DENSITY_SAMPLE / 2)
                .map_or(lower, |cut| &lower[..cut]),
            None => lower,
        };
        let (density, mut words) = self.lex.density(sample);
        let mut chars = chars;
        // Chinese, Japanese and Thai write no spaces between words, and one of their
        // characters carries about as much as three Latin letters; a word is about two of
        // them. (They take three bytes each in UTF-8: that cheap test comes first.)
        if text.len() >= chars * 2 && spaceless(text) {
            words = words.max(chars / 2);
            chars *= 3;
        }
        if chars < self.o.short_chars || words < 4 {
            return Class::Short;
        }
        if chars >= self.o.long_chars && density >= self.o.good_density {
            return Class::Good;
        }
        if density >= self.o.near_good_density && ends_sentence(text) {
            return Class::NearGood;
        }
        if chars >= self.o.long_chars && density >= self.o.near_good_density {
            return Class::NearGood;
        }
        if chars < self.o.long_chars {
            return Class::Short;
        }
        Class::Bad("few-stopwords")
    }
}
