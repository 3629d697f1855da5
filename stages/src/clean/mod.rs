//! Stage `clean`: keep the article, drop the boilerplate — for plain text (one block per
//! line) and HTML (decode's blocks with tag, link ratio and class/id hints).
//!
//! In the spirit of jusText, but our own: each block is classified by its boilerplate cues
//! (data files, aho-corasick), HTML hints and link ratio, date-only and teaser patterns, then
//! by length and stop-word density into good, near-good, short or bad; context resolves the
//! uncertain ones (a near-good block next to good text is kept, a headline is kept only when
//! article text follows it closely, short text between good blocks is kept).

pub mod context;
pub mod dedup;
mod features;
mod gbdt;
pub mod model;

pub use features::PageKind;

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use pipeline_core::{
    Block, BuildContext, Document, Dropped, OptionsError, Outcome, PreparedStage, Severity, Stage,
    StageError, TypedFactory,
};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

/// What to do with a document (too short, duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Leave it in the output, unmarked.
    Keep,
    /// Leave it in the output with a flag in `meta`.
    Flag,
    /// Remove it from the output (counted in the report).
    Drop,
}

pipeline_core::options! {
    /// Options of the `clean` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct CleanOptions {
        /// Keep every dropped block and its reason in `dropped` (audit).
        pub keep_dropped: bool = false,
        /// Collapse runs of white space and trim paragraphs.
        pub collapse_whitespace: bool = true,
        /// Rejoin words hyphenated across line breaks.
        pub rejoin_hyphenated: bool = true,
        /// Blocks shorter than this are kept only by context (headlines, between good text).
        pub short_chars: usize = 70,
        /// Blocks this long with enough stop words are good on their own.
        pub long_chars: usize = 150,
        /// Stop-word density for a long block to be good.
        pub good_density: f32 = 0.28,
        /// Stop-word density for a block to be near-good (kept next to good text).
        pub near_good_density: f32 = 0.20,
        /// HTML blocks with more link text than this are boilerplate.
        pub max_link_ratio: f32 = 0.35,
        /// Documents with fewer characters after cleaning are too short.
        pub min_chars: usize = 0,
        /// Documents with fewer words after cleaning are too short.
        pub min_words: usize = 0,
        /// "keep", "flag" (meta.too_short) or "drop" too-short documents.
        pub too_short: Policy = Policy::Flag,
        /// "keep", "flag" (meta.empty and a warning, counted in the run's report) or "drop"
        /// documents of which cleaning kept nothing.
        pub empty: Policy = Policy::Flag,
        /// "keep", "flag" (meta.duplicate_of) or "drop" exact and near-duplicate documents.
        pub duplicates: Policy = Policy::Flag,
        /// MinHash Jaccard similarity (5-word shingles) for near-duplicates.
        pub near_duplicate_threshold: f32 = 0.8,
        /// Drop lines seen in this many earlier documents of the same source (0: off).
        pub repeated_line_min_docs: usize = 0,
        /// More stop words (any language).
        pub stopwords: Vec<String> = Vec::new(),
        /// More boilerplate cues as "category:phrase".
        pub cues: Vec<String> = Vec::new(),
        /// Tenths of the kept text that must come before a comment form, share buttons, related
        /// links or a footer for everything after it to be dropped (10 = never).
        pub article_end_share: usize = 6,
        /// Decide HTML blocks with this content model: "shipped", "none" (rules alone) or the path
        /// of a `textpipe train clean` model.
        pub content_model: String = "shipped".into(),
    }
}

/// Stop words and boilerplate cues, built once per pipeline.
pub struct Lexicon {
    /// Stop words of at most [`STOP_MAX`] bytes, packed by [`pack`].
    stop: FxHashSet<u128>,
    cues: AhoCorasick,
    cue_cat: Vec<String>,
    cue_len: Vec<usize>,
    /// The strong cues alone (cookie, comments, subscribe), the only ones that count in long
    /// blocks: few enough patterns for aho-corasick's SIMD prefilter.
    strong: AhoCorasick,
    strong_ids: Vec<usize>,
}

/// Cue categories that mark a block of any length as boilerplate.
const STRONG_CUES: &[&str] = &["cookie", "comments", "subscribe"];

/// Longer words are never stop words (the shipped lists' longest are shorter).
const STOP_MAX: usize = 12;

/// A word of at most 16 bytes as one integer, zero-padded, so a stop-word lookup hashes and
/// compares one integer (a set of `String`s cost a pointer chase and a `memcmp` per word).
/// Words never contain NUL (a separator), so the padding is unambiguous.
#[inline(always)]
fn pack(w: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..w.len()].copy_from_slice(w);
    u128::from_le_bytes(b)
}

/// Bytes of a long block whose stop-word density stands for the whole block.
const DENSITY_SAMPLE: usize = 768;

/// Blocks shorter than this (in characters) are boilerplate on any cue.
const CUE_MAX_CHARS: usize = 200;

impl Lexicon {
    /// The shipped German and English lists plus `extra_stop` and `extra_cues` (`category:phrase`).
    pub fn new(extra_stop: &[String], extra_cues: &[String]) -> Result<Self, String> {
        let stop = (crate::lexicon::stopwords().iter().cloned())
            .chain(extra_stop.iter().map(|s| s.to_lowercase()))
            .filter(|w| w.len() <= STOP_MAX)
            .map(|w| pack(w.as_bytes()))
            .collect();
        let mut pats = Vec::new();
        let mut cats = Vec::new();
        for list in [
            include_str!("../../data/boilerplate-de.txt"),
            include_str!("../../data/boilerplate-en.txt"),
            include_str!("../../data/boilerplate-xx.txt"),
        ] {
            for line in list
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            {
                if let Some((cat, phrase)) = line.split_once('\t') {
                    cats.push(cat.to_string());
                    pats.push(phrase.to_lowercase());
                }
            }
        }
        for c in extra_cues {
            let (cat, phrase) = c
                .split_once(':')
                .ok_or_else(|| format!("cue `{c}` is not `category:phrase`"))?;
            cats.push(cat.trim().to_string());
            pats.push(phrase.trim().to_lowercase());
        }
        let cue_len = pats.iter().map(String::len).collect();
        let build = |pats: &[&String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(pats)
                .map_err(|e| e.to_string())
        };
        let cues = build(&pats.iter().collect::<Vec<_>>())?;
        let strong_ids: Vec<usize> = (0..pats.len())
            .filter(|&k| STRONG_CUES.contains(&cats[k].as_str()))
            .collect();
        let strong = build(&strong_ids.iter().map(|&k| &pats[k]).collect::<Vec<_>>())?;
        Ok(Lexicon {
            stop,
            cues,
            cue_cat: cats,
            cue_len,
            strong,
            strong_ids,
        })
    }

    /// [`Lexicon::new`], built once per process for the shipped lists alone (the automata
    /// take a few milliseconds to build, and every cleaner without extras shares them).
    pub fn shared(extra_stop: &[String], extra_cues: &[String]) -> Result<Arc<Self>, String> {
        static SHIPPED: std::sync::OnceLock<Arc<Lexicon>> = std::sync::OnceLock::new();
        if extra_stop.is_empty() && extra_cues.is_empty() {
            if let Some(l) = SHIPPED.get() {
                return Ok(l.clone());
            }
            let l = Arc::new(Self::new(&[], &[])?);
            return Ok(SHIPPED.get_or_init(|| l).clone());
        }
        Self::new(extra_stop, extra_cues).map(Arc::new)
    }

    /// The first boilerplate cue category found in `lower` (a lower-cased block), at word
    /// boundaries; only strong cues if `strong_only`.
    fn cue(&self, lower: &str, strong_only: bool) -> Option<&str> {
        let (ac, ids) = if strong_only {
            (&self.strong, Some(&self.strong_ids))
        } else {
            (&self.cues, None)
        };
        for m in ac.find_iter(lower) {
            let id = ids.map_or(m.pattern().as_usize(), |ids| ids[m.pattern().as_usize()]);
            let (s, e) = (m.start(), m.start() + self.cue_len[id]);
            let before = lower[..s].chars().next_back();
            let after = lower[e..].chars().next();
            let pat_starts_alnum = lower[s..].chars().next().is_some_and(char::is_alphanumeric);
            let pat_ends_alnum = lower[..e]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let ok_before = !pat_starts_alnum || !before.is_some_and(char::is_alphanumeric);
            let ok_after = !pat_ends_alnum || !after.is_some_and(char::is_alphanumeric);
            if ok_before && ok_after {
                return Some(&self.cue_cat[id]);
            }
        }
        None
    }

    /// Share of words that are stop words, and the word count, in a lower-cased block. Words
    /// are runs of letters, digits and apostrophes holding at least one letter; ASCII is read
    /// a byte at a time.
    fn density(&self, lower: &str) -> (f32, usize) {
        let b = lower.as_bytes();
        let (mut words, mut stops) = (0usize, 0usize);
        let mut start = 0;
        let mut letter = false;
        let mut i = 0;
        loop {
            // (part of a word, a letter, byte length) of the char at `i`; the end is a separator.
            let (part, alpha, len) = match b.get(i) {
                None => (false, false, 0),
                Some(&x) if x < 0x80 => {
                    let k = ASCII_WORD[x as usize];
                    (k != 0, k == 2, 1)
                }
                Some(_) => lower[i..].chars().next().map_or((false, false, 1), |c| {
                    // Latin-1 letters and general punctuation (quotes, dashes) need no
                    // Unicode table.
                    let (alnum, alpha) = match c {
                        _ if crate::lexicon::is_latin1_letter(c) => (true, true),
                        '×' | '÷' | '\u{2000}'..='\u{206F}' => (false, false),
                        _ => (c.is_alphanumeric(), c.is_alphabetic()),
                    };
                    (alnum || c == '’', alpha, c.len_utf8())
                }),
            };
            if part {
                letter |= alpha;
            } else {
                if letter {
                    words += 1;
                    // Stop words are short.
                    if i - start <= STOP_MAX && self.stop.contains(&pack(&b[start..i])) {
                        stops += 1;
                    }
                }
                letter = false;
                start = i + len;
            }
            if len == 0 {
                break;
            }
            i += len;
        }
        if words == 0 {
            (0.0, 0)
        } else {
            (stops as f32 / words as f32, words)
        }
    }
}

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
    fn in_article(&self) -> bool {
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
enum Class<'a> {
    Good,
    NearGood,
    Short,
    Bad(&'static str),
    /// A cue's category (borrowed from the lexicon, so classifying allocates nothing).
    Cue(&'a str),
}

/// HTML class/id/tag hints that mark boilerplate.
const BAD_HINTS: &[&str] = &[
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
const ARTICLE_HINTS: &[&str] = &[
    "more", "meta", "credit", "byline", "search", "teaser", "ads", "widget", "aside", "sidebar",
    "menu",
];

const MONTHS: &[&str] = &[
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
const WEEKDAYS: &[&str] = &[
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
fn is_date_line(text: &str) -> bool {
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
fn is_code_list(text: &str) -> bool {
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
fn is_numbered_caption(lower: &str) -> bool {
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
fn has_year(t: &str) -> bool {
    t.split(|c: char| !c.is_ascii_digit())
        .any(|n| n.len() == 4 && (n.starts_with("19") || n.starts_with("20")))
}

fn ends_sentence(t: &str) -> bool {
    let t = t.trim_end_matches(['"', '“', '”', '»', '«', '\'', '’', ')', ' ', '」', '』']);
    t.ends_with(['.', '!', '?', ':', '。', '！', '？', '：'])
}

/// True if most of `t` is in a script written without spaces between words: Chinese,
/// Japanese kana, Thai, Lao, Khmer, Myanmar.
fn spaceless(t: &str) -> bool {
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

fn is_teaser(t: &str) -> bool {
    let t = t.trim_end();
    (t.ends_with("...") || t.ends_with('…')) && t.chars().count() < 160
}

/// The clean stage.
#[derive(Clone)]
pub struct Cleaner {
    o: CleanOptions,
    lex: Arc<Lexicon>,
    dedup: Arc<dedup::Dedup>,
    name: String,
    /// Decides HTML blocks over the rules (none: the rules alone).
    model: Option<Arc<model::ContentModel>>,
}

impl Cleaner {
    /// A cleaner with default options and the shipped lists.
    pub fn new() -> Self {
        Self::with_options(CleanOptions::default())
    }

    /// A cleaner with the given options and the shipped lists (plus the options' extras).
    /// Extra lists that fail to build, or a content model that cannot be read, fall back to
    /// the shipped ones (the stage factory reports them instead).
    pub fn with_options(o: CleanOptions) -> Self {
        let model = load_model(&o.content_model).unwrap_or_else(|_| shipped_model());
        Self::with_model(o, model)
    }

    /// A cleaner with the given options and content model (`None`: the rules alone).
    pub fn with_model(o: CleanOptions, model: Option<Arc<model::ContentModel>>) -> Self {
        let lex = Lexicon::shared(&o.stopwords, &o.cues)
            .unwrap_or_else(|_| Lexicon::shared(&[], &[]).expect("shipped lists are valid"));
        Cleaner {
            model,
            dedup: Arc::new(dedup::Dedup::new(
                o.near_duplicate_threshold,
                o.repeated_line_min_docs,
            )),
            o,
            lex,
            name: "clean".into(),
        }
    }

    /// `lower` is a buffer for the block lower-cased, reused from block to block.
    fn classify(&self, b: &View<'_>, html: bool, lower: &mut String) -> Class<'_> {
        let text = b.text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Class::Bad("empty");
        }
        lower.clear();
        crate::lexicon::push_lowercase(lower, text);
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

    /// The block where the article ends (see pass 3 of [`Cleaner::decide`]), if any.
    fn article_end(&self, blocks: &[View<'_>], classes: &[Class], keep: &[bool]) -> Option<usize> {
        const END_CUES: &[&str] = &[
            "comments",
            "form",
            "share",
            "nav",
            "teaser",
            "subscribe",
            "copyright",
            "cookie",
        ];
        let len = |i: usize| if keep[i] { blocks[i].text.len() } else { 0 };
        let total: usize = (0..blocks.len()).map(len).sum();
        let mut before = 0;
        for (i, c) in classes.iter().enumerate() {
            if let Class::Cue(cat) = c {
                if END_CUES.contains(cat)
                    && before >= 300
                    && before * 10 >= total * self.o.article_end_share
                {
                    return Some(i);
                }
            }
            before += len(i);
        }
        None
    }

    /// Decides keep/drop for each block; returns the reason for dropped ones. HTML blocks
    /// are decided by the content model (when there is one) over the rules' verdict.
    pub fn decide(&self, blocks: &[View<'_>], html: bool, kind: &PageKind) -> Vec<Option<&str>> {
        let (classes, keep, mut reasons) = self.rules(blocks, html);
        if !html {
            return reasons;
        }
        if let Some(model) = &self.model {
            let feats =
                features::page_features(blocks, &classes, &keep, &self.lex, &model.words, kind);
            let layout = context::Layout::of(blocks);
            let p = model.predict(&feats, &layout);
            let keep = expected_f1_keep(layout.words(), &p, model.threshold);
            for (r, k) in reasons.iter_mut().zip(keep) {
                if k {
                    *r = None;
                } else if r.is_none() {
                    *r = Some("model");
                }
            }
        }
        drop_repeats(blocks, &mut reasons);
        reasons
    }

    /// The content model's training view of a decoded page: each block's features
    /// (row-major) for a model with the class/id `words`, and the page's layout.
    pub fn training_features(
        &self,
        doc: &Document,
        words: &[String],
    ) -> (Vec<f32>, context::Layout) {
        let views: Vec<View<'_>> = doc.blocks.iter().map(View::of).collect();
        let (classes, keep, _) = self.rules(&views, true);
        let kind = page_kind(doc);
        let f = features::page_features(&views, &classes, &keep, &self.lex, words, &kind);
        (f, context::Layout::of(&views))
    }

    /// The rules' verdict: each block's class, whether it is kept, and the reason if not.
    fn rules(
        &self,
        blocks: &[View<'_>],
        html: bool,
    ) -> (Vec<Class<'_>>, Vec<bool>, Vec<Option<&str>>) {
        let mut lower = String::new();
        let mut classes: Vec<Class> = blocks
            .iter()
            .map(|b| self.classify(b, html, &mut lower))
            .collect();
        // A page in a language without a stop-word list: long text with few (known) stop
        // words outweighs the good text. It is judged by length and the other cues alone.
        let size = |f: &dyn Fn(&Class) -> bool| -> usize {
            (blocks.iter().zip(&classes))
                .filter(|(_, c)| f(c))
                .map(|(b, _)| b.text.len())
                .sum()
        };
        let few = |c: &Class| *c == Class::Bad("few-stopwords");
        if size(&few) > size(&|c| *c == Class::Good) {
            for c in classes.iter_mut().filter(|c| few(c)) {
                *c = Class::Good;
            }
        }
        let n = classes.len();
        let good = |c: &Class| matches!(c, Class::Good);
        let goodish = |c: &Class| matches!(c, Class::Good | Class::NearGood);
        // The nearest block before and after each that is not short (classes do not change
        // in passes 1 and 2), so those passes stay linear in the blocks.
        let mut prev_long = vec![None; n];
        let mut next_long = vec![None; n];
        for i in 1..n {
            prev_long[i] = if classes[i - 1] == Class::Short {
                prev_long[i - 1]
            } else {
                Some(i - 1)
            };
        }
        for i in (0..n.saturating_sub(1)).rev() {
            next_long[i] = if classes[i + 1] == Class::Short {
                next_long[i + 1]
            } else {
                Some(i + 1)
            };
        }
        // Pass 1: near-good blocks next to good text become good.
        let mut keep: Vec<bool> = classes.iter().map(good).collect();
        for _ in 0..2 {
            for i in 0..n {
                if matches!(classes[i], Class::NearGood) && !keep[i] {
                    let prev = prev_long[i].map(|j| keep[j] || goodish(&classes[j]));
                    let next = next_long[i].map(|j| keep[j] || good(&classes[j]));
                    let near_kept =
                        (i.saturating_sub(3)..(i + 4).min(n)).any(|j| j != i && keep[j]);
                    if keep_prev_or_next(prev, next) || near_kept {
                        keep[i] = true;
                    }
                }
            }
        }
        // Near-good text inside an `article` or `main` element is the article's, even
        // where no good text stands next to it (a standfirst in the header, a short paragraph
        // between pictures).
        for i in 0..n {
            if classes[i] == Class::NearGood && blocks[i].in_article() {
                keep[i] = true;
            }
        }
        // Pass 1b: inside the main container (HTML), from its first block to its last kept one,
        // short text, near-good text and text with few (known) stop words belong to the
        // article: list items of a recipe, a one-line paragraph, a paragraph in another language.
        if let Some(main) = main_container(blocks, &keep) {
            let inside = |i: usize| blocks[i].path.contains(&main);
            let first = (0..n).find(|&i| inside(i));
            let mut last = (0..n).rev().find(|&i| keep[i] && inside(i));
            // Closing lines of the article (a greeting, a last step) end a sentence; labels
            // of what follows it ("Teilen mit:") do not.
            if let Some(l) = last {
                let mut j = l + 1;
                while j < n
                    && inside(j)
                    && matches!(classes[j], Class::Short | Class::NearGood)
                    && blocks[j].text.trim_end().ends_with(['.', '!', '?'])
                {
                    last = Some(j);
                    j += 1;
                }
            }
            if let (Some(first), Some(last)) = (first, last) {
                for i in first..=last {
                    if !keep[i]
                        && inside(i)
                        && matches!(
                            classes[i],
                            Class::Short | Class::NearGood | Class::Bad("few-stopwords")
                        )
                    {
                        keep[i] = true;
                    }
                }
            }
        }
        // Pass 1c (HTML): nothing is good, but a page holds an article of short lines (a
        // dialogue, a poem, a one-line post). Its main container is found over the short and
        // near-good text outside links; what it holds is kept.
        if html && !keep.contains(&true) {
            let lines: Vec<bool> = (blocks.iter().zip(&classes))
                .map(|(b, c)| matches!(c, Class::Short | Class::NearGood) && b.link_ratio < 0.5)
                .collect();
            if let Some(main) = main_container(blocks, &lines) {
                for i in 0..n {
                    keep[i] = lines[i] && blocks[i].path.contains(&main);
                }
            }
        }
        // Pass 2: short blocks — headlines before article text, or text between kept blocks.
        for i in 0..n {
            if !matches!(classes[i], Class::Short) {
                continue;
            }
            let b = &blocks[i];
            let text = b.text.trim();
            let words = text.split_whitespace().count();
            // The article may start a few blocks later, after a dateline, a language switcher
            // or a photo caption; nothing kept may stand in between.
            let next_kept = (i + 1..(i + 7).min(n)).find(|&j| keep[j]);
            let next_is_near = match next_kept {
                Some(k) if k <= i + 2 => true,
                Some(k) => {
                    words >= 4
                        && (i + 1..k).all(|j| !matches!(classes[j], Class::Good | Class::NearGood))
                }
                None => false,
            };
            let headline_like = (words >= 3 || b.heading.is_some())
                && text.chars().next().is_some_and(|c| {
                    c.is_uppercase() || c.is_ascii_digit() || "„\"«»'".contains(c)
                })
                && !text.ends_with([',', ';'])
                && !text.ends_with(':');
            let prev_kept = prev_long[i].is_some_and(|j| keep[j]);
            let next_kept_any = next_long[i].is_some_and(|j| keep[j] || good(&classes[j]));
            if (headline_like && next_is_near) || (prev_kept && next_kept_any && words >= 2) {
                keep[i] = true;
            }
        }
        // Pass 3: the article ends where the page's own furniture starts after it: a comment
        // form, share buttons, related links, a newsletter box or a copyright footer, once
        // most of the kept text lies before it. What follows (comments, teasers of other
        // articles, author boxes) goes too.
        let end = self.article_end(blocks, &classes, &keep);
        // Pass 3b (HTML): after the main container's last kept block, what stands outside it
        // is the page's: an author box, a newsletter pitch, teasers in a side column. Only a
        // long good paragraph goes on: an article split over sibling boxes.
        if let Some(main) = main_container(blocks, &keep) {
            let inside = |i: usize| blocks[i].path.contains(&main);
            if let Some(last) = (0..n).rev().find(|&i| keep[i] && inside(i)) {
                for j in last + 1..n {
                    if keep[j]
                        && !inside(j)
                        && !(classes[j] == Class::Good
                            && blocks[j].text.len() >= SPLIT_ARTICLE_BYTES)
                    {
                        keep[j] = false;
                        classes[j] = Class::Bad("after-main");
                    }
                }
            }
        }
        if let Some(e) = end {
            keep[e..].iter_mut().for_each(|k| *k = false);
        }
        let reasons = classes
            .iter()
            .zip(&keep)
            .enumerate()
            .map(|(i, (c, k))| {
                if *k {
                    None
                } else if end.is_some_and(|e| i > e) && !matches!(c, Class::Bad(_) | Class::Cue(_))
                {
                    Some("after-article")
                } else {
                    Some(match *c {
                        Class::Bad(r) => r,
                        Class::Cue(cat) => cat,
                        Class::Short => "short",
                        Class::NearGood => "isolated",
                        Class::Good => "good",
                    })
                }
            })
            .collect();
        (classes, keep, reasons)
    }
}

/// A kept block of at least this many words whose text an earlier kept block of the page
/// already has is dropped (cross-validated on WCXB: 1 word 0.841, 5 words 0.841, 10 words
/// 0.840; none 0.837). Shorter repeats ("Reply", "Add to cart") are left alone.
const REPEAT_WORDS: usize = 5;

/// Which blocks to keep given the model's probability `p` of each being content: those that
/// make the page's expected word F1 largest (WCXB scores every page by its word F1).
/// Taking blocks from the likeliest down, keeping the first k makes it
/// `2·Σ(p·w) / (Σw + Σ_page(p·w))` (w: a block's `words`); the best k is kept, and never a
/// block under `floor`, so a page the model finds no content on stays empty. Unlike one
/// fixed threshold, a page the model is unsure of keeps its likelier half instead of
/// nothing (listings, collections). Cross-validated against thresholds of 0.3–0.6 (0.5
/// before): see the README.
fn expected_f1_keep(words: &[u32], p: &[f32], floor: f32) -> Vec<bool> {
    let w: Vec<f64> = words.iter().map(|&n| f64::from(n)).collect();
    let total: f64 = p.iter().zip(&w).map(|(&q, &w)| f64::from(q) * w).sum();
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i] >= floor).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let (mut sp, mut sw) = (0.0, 0.0);
    let (mut best, mut best_k) = (0.0, 0);
    for (k, &i) in order.iter().enumerate() {
        sp += f64::from(p[i]) * w[i];
        sw += w[i];
        let f = 2.0 * sp / (sw + total).max(1e-9);
        if f > best {
            best = f;
            best_k = k + 1;
        }
    }
    let mut keep = vec![false; p.len()];
    for &i in &order[..best_k] {
        keep[i] = true;
    }
    keep
}

/// Drops kept blocks that repeat an earlier kept block word for word: responsive pages
/// carry the same text twice (a desktop and a mobile copy, a carousel's cloned slides), and
/// a reader sees it once.
fn drop_repeats(blocks: &[View<'_>], reasons: &mut [Option<&str>]) {
    let mut seen = rustc_hash::FxHashSet::default();
    for (b, r) in blocks.iter().zip(reasons.iter_mut()) {
        if r.is_some() || words(b.text).take(REPEAT_WORDS).count() < REPEAT_WORDS {
            continue;
        }
        let key: String = words(b.text).collect::<Vec<_>>().join(" ");
        if !seen.insert(key) {
            *r = Some("repeated-on-page");
        }
    }
}

/// What decode found the page to be: its URL (the source's, else the canonical one) and
/// declared types.
fn page_kind(doc: &Document) -> PageKind {
    let url = (doc.declared.url.as_deref())
        .or_else(|| doc.meta.get("canonical_url").and_then(|v| v.as_str()));
    let types = doc.meta.get("types").and_then(|v| v.as_array());
    PageKind::of(url, types.into_iter().flatten().filter_map(|t| t.as_str()))
}

/// The shipped content model (`models/clean.bin`, from `textpipe train clean`), read once.
pub fn shipped_model() -> Option<Arc<model::ContentModel>> {
    static M: std::sync::OnceLock<Option<Arc<model::ContentModel>>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        model::ContentModel::from_bytes(include_bytes!("../../models/clean.bin"))
            .ok()
            .map(Arc::new)
    })
    .clone()
}

/// The content model an option names: `shipped`, `none` or a file.
fn load_model(name: &str) -> Result<Option<Arc<model::ContentModel>>, String> {
    match name {
        "shipped" => Ok(shipped_model()),
        "none" => Ok(None),
        path => {
            let b = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            model::ContentModel::from_bytes(&b)
                .map(|m| Some(Arc::new(m)))
                .map_err(|e| format!("`{path}`: {e}"))
        }
    }
}

/// A good paragraph outside the main container after its end is kept from this length on.
const SPLIT_ARTICLE_BYTES: usize = 250;

/// Share of the kept text that the main container must hold.
const MAIN_SHARE: usize = 70;

/// The main container (HTML): the deepest region element holding [`MAIN_SHARE`] percent of
/// the kept text. Containers holding over half of it nest, so the deepest is well defined.
fn main_container(blocks: &[View<'_>], keep: &[bool]) -> Option<u32> {
    // id → (kept bytes inside, depth)
    let mut sums: rustc_hash::FxHashMap<u32, (usize, usize)> = Default::default();
    let mut total = 0;
    for (b, _) in blocks.iter().zip(keep).filter(|(_, &k)| k) {
        total += b.text.len();
        for (depth, &id) in b.path.iter().enumerate() {
            sums.entry(id).or_insert((0, depth)).0 += b.text.len();
        }
    }
    sums.into_iter()
        .filter(|&(_, (sum, _))| total > 0 && sum * 100 >= total * MAIN_SHARE)
        .max_by_key(|&(_, (_, depth))| depth)
        .map(|(id, _)| id)
}

fn keep_prev_or_next(prev: Option<bool>, next: Option<bool>) -> bool {
    prev == Some(true) || next == Some(true)
}

impl Default for Cleaner {
    fn default() -> Self {
        Self::new()
    }
}

/// The words of `s` between runs of white space, as `split_whitespace` gives them, reading
/// ASCII a byte at a time.
pub(crate) fn words(s: &str) -> Words<'_> {
    Words { s, i: 0 }
}

/// Iterator of [`words`].
pub(crate) struct Words<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = self.i;
        while i < b.len() {
            match space_at(self.s, i) {
                0 => break,
                len => i += len,
            }
        }
        if i >= b.len() {
            self.i = i;
            return None;
        }
        let start = i;
        loop {
            // Eight printable ASCII bytes at a time (SWAR): stop at the first byte below
            // 0x21 or above 0x7F (only those can start white space).
            while let Some(chunk) = b.get(i..i + 8) {
                let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                const ONES: u64 = 0x0101_0101_0101_0101;
                let stop = (x.wrapping_sub(ONES * 0x21) & !x | x) & (ONES * 0x80);
                if stop != 0 {
                    i += (stop.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            // Bytes that cannot start white space, in a tight loop.
            while i < b.len() && SPACE_BYTE[b[i] as usize] == 0 {
                i += 1;
            }
            if i >= b.len() || space_at(self.s, i) > 0 {
                break;
            }
            i += 1;
        }
        self.i = i;
        Some(&self.s[start..i])
    }
}

/// For ASCII bytes in the stop-word density: 2 for a letter, 1 for a digit or an
/// apostrophe (part of a word), 0 for a separator.
static ASCII_WORD: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() {
            2
        } else if b.is_ascii_digit() || b == b'\'' {
            1
        } else {
            0
        };
        c += 1;
    }
    t
};

/// 1 for ASCII white space, 2 for the lead bytes of non-ASCII white space, else 0.
static SPACE_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = 1;
    let mut c = b'\t';
    while c <= b'\r' {
        t[c as usize] = 1;
        c += 1;
    }
    t[0xC2] = 2;
    t[0xE1] = 2;
    t[0xE2] = 2;
    t[0xE3] = 2;
    t
};

/// The byte length of the white-space character at byte `i` of `s`, or 0 if there is none.
/// Only the lead bytes 0xC2, 0xE1, 0xE2 and 0xE3 start non-ASCII white space (U+0085,
/// U+00A0, U+1680, U+2000–U+205F, U+3000); any other byte, continuation bytes included, is 0.
#[inline(always)]
fn space_at(s: &str, i: usize) -> usize {
    match SPACE_BYTE[s.as_bytes()[i] as usize] {
        0 => 0,
        1 => 1,
        _ => s
            .get(i..)
            .and_then(|r| r.chars().next())
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
    }
}

/// Plain text to blocks: one per non-empty line, trimmed, words hyphenated across lines
/// rejoined (only joined lines are copied).
fn line_texts(text: &str, rejoin: bool) -> Vec<Cow<'_, str>> {
    let hyphen = |j: &str| {
        rejoin
            && j.ends_with('-')
            && j.chars().rev().nth(1).is_some_and(char::is_alphabetic)
            && !j.ends_with(" -")
    };
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            if let Some(p) = pending.take() {
                out.push(Cow::Owned(p));
            }
            continue;
        }
        match pending.take() {
            Some(mut p) => {
                p.push_str(t);
                if hyphen(&p) {
                    p.pop();
                    pending = Some(p);
                } else {
                    out.push(Cow::Owned(p));
                }
            }
            None if hyphen(t) => pending = Some(t[..t.len() - 1].to_string()),
            None => out.push(Cow::Borrowed(t)),
        }
    }
    if let Some(p) = pending {
        out.push(Cow::Owned(p));
    }
    out
}

impl Cleaner {
    /// A document-level policy for a document found `key` (`empty`, `too_short`): `drop`
    /// gives the outcome (reason `key` with `-` for `_`); `flag` sets `meta[key]` and
    /// leaves `note` as a diagnostic; `keep` does nothing.
    fn apply(
        &self,
        policy: Policy,
        doc: &mut Document,
        key: &str,
        note: (Severity, String),
    ) -> Option<Outcome> {
        match policy {
            Policy::Drop => Some(Outcome::Drop {
                reason: key.replace('_', "-"),
            }),
            Policy::Flag => {
                doc.meta.insert(key.into(), true.into());
                doc.diagnose(&self.name, note.0, note.1);
                None
            }
            Policy::Keep => None,
        }
    }
}

impl Stage for Cleaner {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let html = !doc.blocks.is_empty();
        let blocks = std::mem::take(&mut doc.blocks);
        let lines = if html {
            Vec::new()
        } else {
            line_texts(&doc.text, self.o.rejoin_hyphenated)
        };
        let views: Vec<View<'_>> = if html {
            blocks.iter().map(View::of).collect()
        } else {
            lines.iter().map(|l| View::line(l)).collect()
        };
        let mut decisions = self.decide(&views, html, &page_kind(doc));
        // Corpus-level repeated lines (same source).
        if self.o.repeated_line_min_docs > 0 {
            let source = dedup::source_key(doc);
            let repeated = self
                .dedup
                .repeated_lines(&source, views.iter().map(|v| v.text));
            for (d, r) in decisions.iter_mut().zip(repeated) {
                if d.is_none() && r {
                    *d = Some("repeated-line");
                }
            }
        }
        // One pass over the kept words: the text, and their hashes for the duplicate check.
        let size = views.iter().map(|v| v.text.len() + 2).sum();
        let mut hashes =
            (self.o.duplicates != Policy::Keep).then(|| dedup::WordHashes::with_capacity(size));
        let mut text = String::with_capacity(size);
        let (mut kept, mut dropped) = (0usize, Vec::new());
        for (v, d) in views.iter().zip(&decisions) {
            if let Some(reason) = d {
                if self.o.keep_dropped {
                    dropped.push(Dropped {
                        text: v.text.to_string(),
                        reason: reason.to_string(),
                    });
                }
                continue;
            }
            if kept > 0 {
                text.push_str("\n\n");
            }
            kept += 1;
            if self.o.collapse_whitespace {
                // Most lines already have their words one space apart: hash the words and
                // copy the line whole, not word by word.
                let t = v.text;
                let mut end = None;
                let mut tidy = true;
                for w in words(t) {
                    let start = w.as_ptr() as usize - t.as_ptr() as usize;
                    tidy &= match end {
                        None => start == 0,
                        Some(e) => start == e + 1 && t.as_bytes()[e] == b' ',
                    };
                    end = Some(start + w.len());
                    if let Some(h) = hashes.as_mut() {
                        h.add(w);
                    }
                }
                if tidy && end == Some(t.len()) {
                    text.push_str(t);
                } else {
                    for (n, w) in words(t).enumerate() {
                        if n > 0 {
                            text.push(' ');
                        }
                        text.push_str(w);
                    }
                }
            } else {
                text.push_str(v.text);
                if let Some(h) = hashes.as_mut() {
                    words(v.text).for_each(|w| h.add(w));
                }
            }
        }
        let dropped_n = views.len() - kept;
        drop(views);
        drop(lines);
        doc.meta.insert("clean_kept_blocks".into(), kept.into());
        doc.meta
            .insert("clean_dropped_blocks".into(), dropped_n.into());
        if self.o.keep_dropped {
            doc.dropped = dropped;
        }
        if html {
            doc.blocks = blocks
                .into_iter()
                .zip(&decisions)
                .filter(|(_, d)| d.is_none())
                .map(|(b, _)| b)
                .collect();
        }
        doc.set_text(text);
        // Nothing kept: never written silently as an empty text.
        if doc.text.is_empty() {
            let note = (
                Severity::Warning,
                format!("cleaning kept nothing ({dropped_n} blocks or lines dropped)"),
            );
            if let Some(drop) = self.apply(self.o.empty, doc, "empty", note) {
                return Ok(drop);
            }
        }
        // Too little text (counted only when a minimum is set).
        let words = if self.o.min_chars > 0 || self.o.min_words > 0 {
            doc.text.split_whitespace().count()
        } else {
            usize::MAX
        };
        if words < self.o.min_words
            || (self.o.min_chars > 0 && doc.text.chars().count() < self.o.min_chars)
        {
            let note = (
                Severity::Info,
                format!("too short after cleaning ({words} words)"),
            );
            if let Some(drop) = self.apply(self.o.too_short, doc, "too_short", note) {
                return Ok(drop);
            }
        }
        // Duplicates.
        if let Some(hashes) = hashes.filter(|_| !doc.text.is_empty()) {
            if let Some((kind, of)) = self.dedup.check_words(&doc.id, hashes) {
                match self.o.duplicates {
                    Policy::Drop => {
                        return Ok(Outcome::Drop {
                            reason: format!("{kind}-duplicate"),
                        })
                    }
                    _ => {
                        doc.meta.insert("duplicate_of".into(), of.into());
                        doc.meta.insert("duplicate".into(), kind.into());
                    }
                }
            }
        }
        Ok(Outcome::Keep)
    }

    /// Duplicates and repeated lines are found among the documents before.
    fn remembers(&self) -> bool {
        self.o.duplicates != Policy::Keep || self.o.repeated_line_min_docs > 0
    }
}

/// The `clean` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "clean",
        "drop boilerplate (navigation, cookie notices, teasers, comment policies, bylines, dates), flag or drop duplicates and too-short documents",
        |o: CleanOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            if !(0.0..=1.0).contains(&o.near_duplicate_threshold) {
                return Err(OptionsError::at("near_duplicate_threshold", "must be between 0 and 1"));
            }
            let lex = Lexicon::shared(&o.stopwords, &o.cues).map_err(|e| OptionsError::at("cues", e))?;
            let model = load_model(&o.content_model).map_err(|e| OptionsError::at("content_model", e))?;
            let c = Cleaner {
                model,
                dedup: Arc::new(dedup::Dedup::new(o.near_duplicate_threshold, o.repeated_line_min_docs)),
                o,
                lex,
                name: ctx.stage_name.clone(),
            };
            // Shared state (duplicates, repeated lines) lives behind the Arcs: all workers see it.
            Ok(Arc::new(move || Ok(Box::new(c.clone()) as Box<dyn Stage>)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> String {
        let mut d = Document::from_text("t", text);
        Cleaner::new().process(&mut d).unwrap();
        d.text
    }

    #[test]
    fn drops_navigation_dates_teasers_and_cookie_notices() {
        let text = "Projekte\nAlle Nachrichten\n22 Juni 2022, 14:36\n\nBelarus und Russland bauen Zusammenarbeit aus\n\nMOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen konsequent ihre Zusammenarbeit in allen Bereichen aus. Das sagte die Pressesprecherin des russischen Außenministeriums heute bei einem Briefing.\n\nAnti-Siko 2020: Rede von Sevim Dagdelen (MdB ...\nDiese Webseite verwendet Cookies. Wenn Sie fortfahren, stimmen Sie zu.";
        let out = clean(text);
        assert_eq!(
            out,
            "Belarus und Russland bauen Zusammenarbeit aus\n\nMOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen konsequent ihre Zusammenarbeit in allen Bereichen aus. Das sagte die Pressesprecherin des russischen Außenministeriums heute bei einem Briefing."
        );
    }

    #[test]
    fn an_unsure_page_keeps_its_likelier_blocks_and_a_sure_one_only_its_content() {
        // Seeds paragraphs of 30–40 words, as blocks the model scored.
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../seeds/000_c5a5ed7731ad6cab.txt"
        ))
        .unwrap();
        let paras: Vec<&str> = seed
            .split("\n\n")
            .filter(|p| words(p).count() >= 20)
            .collect();
        assert!(paras.len() >= 3, "the seed has paragraphs");
        let views: Vec<View<'_>> = paras[..3].iter().map(|p| View::line(p)).collect();
        let layout = context::Layout::of(&views);
        let words = layout.words();
        // Unsure of all three: no block reaches 0.5, yet the likelier two make the page's
        // expected F1 largest (a threshold of 0.5 kept none).
        let keep = expected_f1_keep(words, &[0.45, 0.4, 0.1], 0.2);
        assert_eq!(keep, [true, true, false]);
        // Sure: every block at 0.5 or more is kept, one far below is not.
        let keep = expected_f1_keep(words, &[0.95, 0.5, 0.3], 0.2);
        assert_eq!(keep, [true, true, false]);
        // Nothing reaches the floor: nothing is kept.
        assert_eq!(expected_f1_keep(words, &[0.15, 0.1, 0.05], 0.2), [false; 3]);
    }

    #[test]
    fn a_million_short_lines_around_an_article_are_decided_in_one_pass() {
        // Each short line once looked for the nearest long line on both sides: 10⁶ lines
        // took minutes. The article between them is kept, the lines are not.
        let article = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        let mut text: String = (0..500_000).map(|i| format!("Zeile {i}\n")).collect();
        text.push_str(article);
        text.push('\n');
        text.extend((0..500_000).map(|i| format!("Zeile {i}\n")));
        assert_eq!(clean(&text), article);
    }

    #[test]
    fn the_article_ends_at_the_comment_form() {
        let article = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        let comment = "Ich finde es richtig, dass die beiden Länder ihre Zusammenarbeit ausbauen, aber man sollte auch an die Menschen denken, die unter den Sanktionen leiden und für die sich im Alltag nichts ändert.";
        let page = format!(
            "{article}\n{article} Das ist ein zweiter Absatz.\nSchreibe einen Kommentar\n{comment}"
        );
        assert_eq!(
            clean(&page),
            format!("{article}\n\n{article} Das ist ein zweiter Absatz.")
        );
        // Nor does a link to another article inside it ("Lesen Sie auch: …").
        let inline = format!("{article}\n{article} Das ist ein zweiter Absatz.\nLesen Sie auch: Neue Abkommen\n{comment}");
        assert!(clean(&inline).contains(comment));
        // A comment form before most of the text does not end the article.
        let early = format!("{article}\nSchreibe einen Kommentar\n{comment}\n{comment}");
        assert!(clean(&early).contains(comment));
    }

    fn clean_html(html: &str) -> String {
        use crate::decode::{DecodeOptions, Decoder};
        let mut d = Document::from_bytes("t", html.as_bytes().to_vec());
        Decoder::new(DecodeOptions::default())
            .process(&mut d)
            .unwrap();
        // These tests hold the rules; the content model is tested on benchmark pages.
        Cleaner::with_model(CleanOptions::default(), None)
            .process(&mut d)
            .unwrap();
        d.text
    }

    #[test]
    fn the_shipped_content_model_loads_and_round_trips() {
        let bytes = include_bytes!("../../models/clean.bin");
        let m = model::ContentModel::from_bytes(bytes).unwrap();
        assert_eq!(m.to_bytes(), bytes);
        assert!(shipped_model().is_some());
        assert!(!m.words.is_empty());
        // Cut anywhere, or with a byte flipped in the magic, it is an error, not a panic.
        for cut in [0, 7, 8, 12, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                model::ContentModel::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.to_vec();
        bad[0] ^= 1;
        assert!(matches!(
            model::ContentModel::from_bytes(&bad),
            Err(model::ModelError::Magic)
        ));
        // A model over another feature list is refused with a message that says so.
        let mut other = bytes.to_vec();
        other[8] ^= 1;
        let e = model::ContentModel::from_bytes(&other).unwrap_err();
        assert!(e.to_string().contains("retrain"), "{e}");
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(model::ContentModel::from_bytes(&longer).is_err());
        let o = CleanOptions {
            content_model: "/no/such/model.bin".into(),
            ..CleanOptions::default()
        };
        assert!(load_model(&o.content_model)
            .unwrap_err()
            .contains("/no/such/model.bin"));
    }

    const STEP_1: &str = "Alle Zutaten in eine Schüssel geben und mit den Knethaken des Handrührgeräts zu einem glatten Teig verarbeiten, der nicht mehr an den Fingern klebt.";
    const STEP_2: &str = "Den Teig auf einer bemehlten Arbeitsfläche ausrollen, beliebige Figuren ausstechen und die Plätzchen mit etwas Abstand auf das Blech legen.";
    const MINSK: &str = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen.";

    #[test]
    fn a_paragraph_repeated_on_the_page_is_kept_once() {
        // A responsive page: the same article text in a desktop and a mobile copy.
        let p = "Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide regeln.";
        let html = format!(
            "<html><body><div class=\"desktop\"><p>{p}</p><p>Kurz.</p></div>\
             <div class=\"mobile\"><p>{p}</p><p>Kurz.</p></div></body></html>"
        );
        let out = clean_html(&html);
        assert_eq!(out.matches("Minsk").count(), 1, "{out}");
    }

    #[test]
    fn short_lines_inside_the_main_container_are_kept() {
        let html = format!(
            "<html><body><nav><ul><li><a href=/>Start</a></li><li><a href=/r>Rezepte</a></li></ul></nav>\
             <div class=post><p><a href=/d>8. Dezember 2012</a></p><h1>Mandelplätzchen</h1>\
             <p>Zutaten:</p><p>300 g Mehl</p><p>1 TL Backpulver</p><p>200 g Zucker</p><p>1 Ei</p>\
             <p>Zubereitung:</p><ol><li>{STEP_1}</li><li>{STEP_2}</li><li>Im Ofen 15 Minuten backen.</li></ol></div>\
             <div class=sidebar><h3>Archiv</h3><ul><li>Dezember 2012</li><li>Oktober 2012</li></ul></div></body></html>"
        );
        let out = clean_html(&html);
        for kept in [
            "Mandelplätzchen",
            "300 g Mehl",
            "200 g Zucker",
            "1 Ei",
            "Im Ofen 15 Minuten backen.",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        for dropped in ["Start", "8. Dezember", "Archiv", "Oktober 2012"] {
            assert!(!out.contains(dropped), "{dropped} kept: {out}");
        }
    }

    #[test]
    fn near_good_text_in_an_article_is_kept_far_from_good_text() {
        let standfirst = "Die Bundesregierung will die Regeln für den Bau von Wärmepumpen bis zum Sommer lockern.";
        let html = format!(
            "<html><body><article><header><h1>Wärmepumpen boomen</h1><p>{standfirst}</p></header>\
             <div class=gallery><p><a href=/1>Bild 1</a></p><p><a href=/2>Bild 2</a></p><p><a href=/3>Bild 3</a></p><p><a href=/4>Bild 4</a></p></div>\
             <div class=body><p>{STEP_1}</p><p>{STEP_2}</p></div></article></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.contains(standfirst), "{out}");
        assert!(!out.contains("Bild 3"), "{out}");
    }

    #[test]
    fn layout_class_names_do_not_drop_article_text() {
        // `teaser` on the lead and `has-ads` on the body section are layout names; an
        // author box inside the article is not article text.
        let html = format!(
            "<html><body><article><p class=article-teaser>{STEP_1}</p>\
             <section class=has-ads><p>{STEP_2}</p></section>\
             <div class=author-bio><p>Anna Beispiel schreibt seit vielen Jahren über das Backen und hat drei Kochbücher über Weihnachtsgebäck aus aller Welt veröffentlicht.</p></div>\
             </article><aside class=sidebar><p>{STEP_1} Mehr davon gibt es im Archiv.</p></aside></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.starts_with(STEP_1), "{out}");
        assert!(out.contains(STEP_2), "{out}");
        assert!(!out.contains("Anna Beispiel"), "{out}");
        assert!(!out.contains("im Archiv"), "{out}");
    }

    #[test]
    fn pages_in_languages_without_stop_word_lists_keep_their_long_text() {
        let text = "Strona główna\nPolityka\nSport\n\nRząd przyjął w środę projekt ustawy, który ma uprościć procedury budowlane dla domów jednorodzinnych oraz skrócić czas oczekiwania na decyzje urzędników w całym kraju.\n\nZdaniem ekspertów zmiany mogą przyspieszyć inwestycje, jednak samorządy obawiają się utraty kontroli nad planowaniem przestrzennym i chaosu w mniejszych miejscowościach.\n\nPolityka prywatności";
        let out = clean(text);
        assert!(out.starts_with("Rząd przyjął"), "{out}");
        assert!(out.ends_with("miejscowościach."), "{out}");
    }

    #[test]
    fn text_without_spaces_between_words_is_measured_by_its_characters() {
        // Two Japanese paragraphs: under `long_chars` characters each, with no spaces, yet
        // each is a few sentences of article text.
        let text = "ホーム\nニュース\n\n東京の図書館は今年の四月から日曜日と祝日にも開くことになりました。多くの家族や学生が本を借りに来ていて、休みの日には席が足りなくなることもあります。\n\n市は来年、駅の近くに新しい図書館を作る計画です。子どもが自由に遊べる部屋や、夜まで勉強できる部屋も作ると話しています。\n\nお問い合わせ";
        let out = clean(text);
        assert!(out.starts_with("東京の図書館"), "{out}");
        assert!(out.ends_with("話しています。"), "{out}");
    }

    #[test]
    fn code_in_an_article_is_kept() {
        let html = "<html><body><nav><a href=/>Start</a> <a href=/n>Netzwerk</a></nav><article>\
            <h1>TCP-Autotuning unter Windows abschalten</h1>\
            <p>Wenn die Verbindung trotz schneller Leitung langsam ist, kann das automatische Anpassen des Empfangsfensters schuld sein. Man schaltet es in einer Eingabeaufforderung mit Administratorrechten ab.</p>\
            <pre>netsh interface tcp set global autotuninglevel=disabled</pre>\
            <p>Die Versionsnummer des Pakets folgt dem Muster, das auch in der Liste der Pakete steht:</p>\
            <pre>0.0.0-20200101120000-abcdef</pre></article>\
            <footer><a href=/i>Impressum</a></footer></body></html>";
        let out = clean_html(html);
        assert!(
            out.contains("\n\nnetsh interface tcp set global autotuninglevel=disabled\n\n"),
            "{out}"
        );
        assert!(out.ends_with("0.0.0-20200101120000-abcdef"), "{out}");
        assert!(!out.contains("Impressum"), "{out}");
    }

    #[test]
    fn text_after_the_main_container_and_outside_it_is_the_pages() {
        let p = MINSK;
        let html = |more: &str| {
            format!(
                "<html><body><div class=content><h1>Neue Abkommen</h1><p>{p}</p><p>{p}</p><p>{p}</p><p>{p}</p><p>{p}</p></div>\
                 <div class=x><p>{more}</p></div></body></html>"
            )
        };
        // An author's box after the article, in its own element: a good paragraph, but short.
        let bio = "Anna Beispiel ist seit dem Jahr 2015 Korrespondentin in Warschau und berichtet für uns über Polen, die Ukraine und die Lage in Belarus.";
        let out = clean_html(&html(bio));
        assert!(out.ends_with("gelten sollen."), "{out}");
        // The article going on in a sibling element: a long good paragraph.
        let part = "Nach Angaben des Ministeriums sollen die Lieferungen schon im Frühjahr beginnen und über die Häfen an der Ostsee abgewickelt werden, weil die Strecken über Litauen und Polen seit dem vergangenen Jahr für Transporte aus Belarus gesperrt sind und die Bahn keine anderen Wege hat.";
        let out = clean_html(&html(part));
        assert!(out.ends_with("keine anderen Wege hat."), "{out}");
    }

    #[test]
    fn a_page_without_good_text_keeps_the_short_lines_of_its_post() {
        let html = "<html><body><div class=header><ul><li><a href=/>Start</a></li><li><a href=/a>Archiv</a></li></ul></div>\
            <div class=site><div class=post><h2>Möglichkeit</h2>\
            <p>„Ich weiß, ich bin müde und sollte das jetzt vielleicht nicht sagen …“</p>\
            <p>– „Dann sag es nicht.“</p><p>– „Gut.“</p></div>\
            <div class=sharing><h3>Teilen Sie dies mit:</h3><ul><li><a href=/t>Twitter</a></li></ul></div></div></body></html>";
        let out = clean_html(html);
        assert!(out.contains("„Ich weiß, ich bin müde"), "{out}");
        assert!(out.contains("– „Gut.“"), "{out}");
        assert!(!out.contains("Teilen"), "{out}");
        assert!(!out.contains("Archiv"), "{out}");
    }

    #[test]
    fn an_embedded_tweet_is_not_article_text() {
        let p = MINSK;
        let tweet = "Neue Abkommen mit Moskau: Handel mit Getreide und Düngemitteln für zehn Jahre geregelt, sagt der Minister nach dem Treffen in Minsk.";
        let html = format!(
            "<html><body><article><p>{p}</p><blockquote class=\"twitter-tweet\"><p>{tweet}</p></blockquote><p>{p}</p></article></body></html>"
        );
        let out = clean_html(&html);
        assert!(out.starts_with("Die Regierung"), "{out}");
        assert!(!out.contains("sagt der Minister"), "{out}");
    }

    #[test]
    fn a_photo_credit_does_not_end_the_article() {
        let p = MINSK;
        let last = "Beide Seiten wollen die Verträge im Herbst bei einem Treffen in Sotschi um weitere Vereinbarungen über die Energiepreise ergänzen, hieß es aus dem Ministerium.";
        let text = format!("{p}\n\n{p}\n\n{p}\n\n© AFP / Marco Bertorello\n\n{last}\n\n© 2024 Beispiel Verlag\n\n{last} Ende.");
        let out = clean(&text);
        assert!(out.contains(last), "{out}");
        assert!(!out.contains("Bertorello"), "{out}");
        assert!(!out.ends_with("Ende."), "{out}");
    }

    #[test]
    fn long_blocks_are_judged_by_their_head() {
        let c = Cleaner::new();
        let class = |t: &str| c.classify(&View::line(t), false, &mut String::new());
        // Umlauts all along, so the sample's end falls inside a character at some offsets.
        let prose = "Die Bürger in Minsk und Moskau müssen sich auf höhere Preise für Gas und Öl einstellen, weil die Lieferverträge über das nächste Jahr hinaus verlängert werden. ".repeat(12);
        let list = "Ölpreis Gaspreis Düngemittel Kalisalz Getreide Zölle Hafengebühren Frachtraten Währungsreserven Staatsanleihen ".repeat(20);
        for shift in 0..4 {
            let p = format!("{}{prose}", "ä".repeat(shift));
            assert!(p.len() > DENSITY_SAMPLE);
            assert_eq!(class(&p), Class::Good);
            let l = format!("{}{list}", "ü".repeat(shift));
            assert_eq!(class(&l), Class::Bad("few-stopwords"));
        }
    }

    #[test]
    fn long_blocks_count_strong_cues_only() {
        let c = Cleaner::new();
        let class = |t: &str| c.classify(&View::line(t), false, &mut String::new());
        // A weak cue (a photo credit) early in a long paragraph does not hide the cookie
        // notice after it, and does not make article text boilerplate.
        let notice = format!("{} Diese Webseite verwendet Cookies, um Ihnen das beste Erlebnis zu bieten, und teilt Informationen mit Partnern für Analyse und Werbung.", "Foto: dpa. Wir bitten um Ihr Einverständnis für die Verarbeitung Ihrer Daten auf dieser Seite und in unseren Angeboten.");
        assert!(notice.chars().count() >= CUE_MAX_CHARS);
        assert_eq!(class(&notice), Class::Cue("cookie"));
        let article = "Foto: dpa. Die Regierung in Minsk hat am Montag neue Abkommen mit Moskau unterzeichnet, die den Handel mit Getreide und Düngemitteln regeln und für die nächsten zehn Jahre gelten sollen, wie die Agentur BelTA meldete.";
        assert!(article.chars().count() >= CUE_MAX_CHARS);
        assert!(!matches!(class(article), Class::Cue(_)));
        assert_eq!(class("Foto: dpa"), Class::Cue("photo"));
    }

    #[test]
    fn words_split_like_split_whitespace() {
        for t in [
            "",
            "  ",
            " a  b\t\nc ",
            "Maße\u{a0}\u{a0}und\u{2003}Gewichte ",
            "x\u{85}y\u{3000}",
            "ä",
            "„Zitat“ – ok\u{2028}z\u{1680}",
        ] {
            assert_eq!(
                words(t).collect::<Vec<_>>(),
                t.split_whitespace().collect::<Vec<_>>()
            );
        }
    }

    proptest::proptest! {
        // Long runs cross the eight-byte chunks of the ASCII fast path at every offset.
        #[test]
        fn words_split_like_split_whitespace_anywhere(
            text in "([a-zA-Z0-9.,!~\x7f]{0,20}[ \t\n\r\x0b\x0c\u{85}\u{a0}\u{2003}\u{3000}äé„–]{0,3}){0,8}"
        ) {
            proptest::prop_assert_eq!(
                words(&text).collect::<Vec<_>>(),
                text.split_whitespace().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn numbered_figure_captions() {
        assert!(is_numbered_caption(
            "abbildung 4: klassische schwachschicht."
        ));
        assert!(is_numbered_caption("fig. 12. the pipeline"));
        assert!(is_numbered_caption("abb. 3: aufbau der methode"));
        assert!(!is_numbered_caption(
            "abbildungen zeigen, dass 4: 2 gewonnen wurde"
        ));
        assert!(!is_numbered_caption("bilder: 3.5 millionen"));
        assert!(!is_numbered_caption("figure 2.5 shows the curve"));
        assert!(!is_numbered_caption("die abbildung 4: oben"));
        // On a page: the caption goes, the paragraphs around it stay.
        let p = MINSK;
        let out = clean(&format!(
            "{p}\n\nAbbildung 2: Getreidelager bei Minsk im Herbst.\n\n{p}"
        ));
        assert!(!out.contains("Abbildung"), "{out}");
        assert!(
            out.starts_with("Die Regierung") && out.ends_with("gelten sollen."),
            "{out}"
        );
    }

    #[test]
    fn date_and_code_lines() {
        for t in [
            "23 | 02 | 2020",
            "22 Juni 2022, 14:36",
            "26 November 202018:51",
            "2065-26-11-2020",
            "flag Freitag, 29 März 2024",
            "Epoch Times4. November 2021",
        ] {
            assert!(is_date_line(&t.to_lowercase()), "{t}");
        }
        assert!(!is_date_line(
            "am 31. mai und 1.juni 2012 fand der offizielle besuch statt"
        ));
        assert!(!is_date_line("treffen am 4. november 2021 in minsk"));
        // Figures in a table are not dates.
        for t in ["20,2 mio.", "32,23", "3,5 kg", "14,90 euro"] {
            assert!(!is_date_line(t), "{t}");
        }
        assert!(is_code_list("• de-DE1 en-GB1 es-ES1 ru-RU1 fr-FR1"));
        assert!(!is_code_list("Die EU und die NATO"));
    }

    #[test]
    fn hyphenated_line_breaks_are_rejoined() {
        let b = line_texts("Die Zusam-\nmenarbeit wächst.\nLKW-\nHersteller", true);
        assert_eq!(b[0], "Die Zusammenarbeit wächst.");
    }
}
