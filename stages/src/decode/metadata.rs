//! Page metadata from a parsed HTML page: title (the headline, not the `<title>` with the
//! site's name), authors, publication date (ISO 8601 `YYYY-MM-DD`), canonical URL, site
//! name, description and tags. Sources, in order of trust: JSON-LD (schema.org articles,
//! products and pages), OpenGraph and Twitter cards, other `<meta>` tags, microdata
//! (`itemprop`), bylines (`rel="author"`, author/byline classes), `<time datetime>`, the
//! URL's date. Junk authors (URLs, handles, "admin", "publisher", the site's name) are
//! rejected.

use std::sync::OnceLock;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

/// Metadata found in a page.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageMeta {
    /// The page's headline: its `h1` where `<title>` or a card names it, else JSON-LD's
    /// headline or the card or `<title>` without the site's name.
    pub title: Option<String>,
    /// Description (meta, card or JSON-LD).
    pub description: Option<String>,
    /// Author names, joined with ", ".
    pub author: Option<String>,
    /// Publication date, `YYYY-MM-DD` where it can be read as a date.
    pub date: Option<String>,
    /// `<html lang>` or a language meta tag.
    pub lang: Option<String>,
    /// Canonical URL (`<link rel=canonical>`, `og:url`).
    pub url: Option<String>,
    /// Site name (`og:site_name`, JSON-LD publisher, `application-name`).
    pub site_name: Option<String>,
    /// Tags and sections (`article:tag`, `article:section`, JSON-LD `keywords`).
    pub tags: Vec<String>,
    /// What the page says it is: the schema.org types of its JSON-LD nodes (`Product`,
    /// `NewsArticle`, `BreadcrumbList`, …) and its OpenGraph type as `og:TYPE`, in the
    /// order first seen, each once.
    pub types: Vec<String>,
}

/// Candidates gathered from one page, before the choice.
#[derive(Default)]
struct Found {
    types: Vec<String>,
    ld_headline: Option<String>,
    ld_name: Option<String>,
    ld_authors: Vec<String>,
    ld_date: Option<String>,
    /// `datePublished` of a node of another type (a `WebPage`, an `ItemPage`).
    ld_other_date: Option<String>,
    ld_publisher: Option<String>,
    ld_description: Option<String>,
    card_title: Option<String>,
    html_title: Option<String>,
    meta_authors: Vec<String>,
    meta_dates: Vec<String>,
    byline_authors: Vec<String>,
    time_dates: Vec<String>,
}

fn sel(s: &'static str) -> Selector {
    Selector::parse(s).unwrap_or_else(|_| panic!("static selector {s} parses"))
}

struct Selectors {
    title: Selector,
    meta: Selector,
    ld: Selector,
    canonical: Selector,
    html: Selector,
    byline: Selector,
    time: Selector,
    h1: Selector,
}

fn selectors() -> &'static Selectors {
    static S: OnceLock<Selectors> = OnceLock::new();
    S.get_or_init(|| Selectors {
        title: sel("title"),
        meta: sel("meta"),
        ld: sel(r#"script[type="application/ld+json"]"#),
        canonical: sel(r#"link[rel="canonical"]"#),
        html: sel("html"),
        byline: sel(
            r#"[rel="author"], [itemprop="author"], [class*="author"], [class*="byline"], a[href*="/author/"], .vcard .fn, [class*="username"], [class*="user-name"]"#,
        ),
        time: sel(
            r#"time, [itemprop="datePublished"], [class*="publish"], [class*="date"], [class*="posted"]"#,
        ),
        h1: sel("h1"),
    })
}

/// White space collapsed and entities a CMS escaped twice (`&amp;amp;` in a `content`
/// attribute reads as `&amp;`) unescaped; `None` when empty.
fn clean(t: &str) -> Option<String> {
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = super::unescape_leaked_entities(&t).unwrap_or(t);
    (!t.is_empty()).then_some(t)
}

/// An element's text as a reader sees it: a line break (`<br>`) parts words like a space
/// (display headings set "Data Analytics<br>Agency"), and the permalink glyph that
/// documentation generators (Sphinx, MkDocs) put after each heading is not part of it.
fn text_of(e: ElementRef<'_>) -> Option<String> {
    let mut t = String::new();
    for n in e.descendants() {
        match n.value() {
            scraper::Node::Text(x) => t.push_str(x),
            scraper::Node::Element(el) if el.name() == "br" => t.push(' '),
            _ => {}
        }
    }
    clean(t.trim_end().trim_end_matches('¶'))
}

/// schema.org types whose `headline`/`name` is the page's title.
fn is_main_type(t: &str) -> bool {
    t.ends_with("Article")
        || matches!(
            t,
            "BlogPosting"
                | "NewsArticle"
                | "Report"
                | "Product"
                | "Recipe"
                | "QAPage"
                | "Question"
                | "DiscussionForumPosting"
                | "Event"
                | "Course"
                | "HowTo"
                | "VideoObject"
                | "Review"
                | "SocialMediaPosting"
                | "LiveBlogPosting"
        )
}

fn types(v: &Value) -> Vec<&str> {
    match &v["@type"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The names of a JSON-LD `author` (a string, a Person or Organization, or a list).
/// An author given only as `{"@id": …}` is looked up among the nodes (`ids`: a node's
/// `@id` and its `name`), as Yoast's `@graph` writes it.
fn ld_names(v: &Value, ids: &[(&str, &str)], out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(clean(s)),
        Value::Array(a) => a.iter().for_each(|x| ld_names(x, ids, out)),
        Value::Object(_) => {
            let by_id = || {
                let id = v["@id"].as_str()?;
                ids.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
            };
            if let Some(n) = v["name"].as_str().or_else(by_id) {
                out.extend(clean(n));
            }
        }
        _ => {}
    }
}

/// Every object of a JSON-LD value (top level, arrays, `@graph`), depth-first.
fn ld_nodes<'a>(v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| ld_nodes(x, out, depth + 1)),
        Value::Object(m) => {
            out.push(v);
            if let Some(g) = m.get("@graph") {
                ld_nodes(g, out, depth + 1);
            }
            if let Some(e) = m.get("mainEntity") {
                ld_nodes(e, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Most page types kept: a page listing hundreds of offers says what it is in the first.
const MAX_TYPES: usize = 16;

fn read_ld(json: &str, f: &mut Found) {
    let Ok(v) = serde_json::from_str::<Value>(json.trim()) else {
        return;
    };
    let mut nodes = Vec::new();
    ld_nodes(&v, &mut nodes, 0);
    let ids: Vec<(&str, &str)> = (nodes.iter())
        .filter_map(|n| Some((n["@id"].as_str()?, n["name"].as_str()?)))
        .collect();
    for &n in &nodes {
        let ts = types(n);
        for t in &ts {
            if f.types.len() < MAX_TYPES && !f.types.iter().any(|x| x == t) {
                f.types.push(t.to_string());
            }
        }
        let main = ts.iter().any(|t| is_main_type(t));
        let s = |k: &str| n[k].as_str().and_then(clean);
        if main {
            if f.ld_headline.is_none() {
                f.ld_headline = s("headline");
            }
            if f.ld_name.is_none() {
                f.ld_name = s("name");
            }
            if f.ld_authors.is_empty() {
                ld_names(&n["author"], &ids, &mut f.ld_authors);
            }
            if f.ld_date.is_none() {
                f.ld_date = s("datePublished").or_else(|| s("dateCreated"));
            }
            if f.ld_description.is_none() {
                f.ld_description = s("description");
            }
        } else if f.ld_other_date.is_none() {
            f.ld_other_date = s("datePublished");
        }
        if f.ld_publisher.is_none() {
            f.ld_publisher = n["publisher"]["name"].as_str().and_then(clean).or_else(|| {
                ts.iter()
                    .any(|t| *t == "WebSite" || *t == "Organization")
                    .then(|| s("name"))
                    .flatten()
            });
        }
    }
}

/// Parts of a title around the separators sites put between headline and site name.
fn title_parts(t: &str) -> Vec<&str> {
    let mut parts = vec![t];
    for sep in [
        " | ", " - ", " – ", " — ", " :: ", " · ", " » ", " • ", " / ",
    ] {
        parts = parts.iter().flat_map(|p| p.split(sep)).collect();
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Lower-case letters and digits only: what two titles must share to be the same.
fn key(t: &str) -> String {
    t.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A title without the site's name: the longest part between separators that is not the
/// site (a title of one part stays whole).
fn strip_site(t: &str, site: Option<&str>, host: &str) -> String {
    let parts = title_parts(t);
    if parts.len() < 2 {
        return t.to_string();
    }
    let is_site = |p: &str| {
        let k = key(p);
        site.is_some_and(|s| key(s) == k) || (!k.is_empty() && host.contains(&k))
    };
    let rest: Vec<&str> = parts.iter().copied().filter(|p| !is_site(p)).collect();
    if rest.len() == parts.len() {
        // No part names the site: the first is the headline ("Headline - Site Name").
        return parts[0].to_string();
    }
    rest.first()
        .map_or_else(|| t.to_string(), |p| p.to_string())
}

/// An author field without the byline's label or quotes a CMS copied into it
/// (`By: Jane Doe`, `Written By: Jane Doe`, `"Jane Doe"`).
fn author_field(t: &str) -> &str {
    let mut t = t.trim().trim_matches(['"', '“', '”']).trim();
    let lower = t.to_ascii_lowercase();
    for label in ["written by", "posted by", "by"] {
        if lower.starts_with(label) {
            let rest = &t[label.len()..];
            if rest.starts_with([':', ' ']) {
                t = rest.trim_start_matches([':', ' ']);
                break;
            }
        }
    }
    t.trim_start_matches([',', ' ']).trim()
}

/// Whether `name` is no person's name: a URL, a handle, an e-mail, a role word, the site.
fn junk_author(name: &str, site: Option<&str>, host: &str) -> bool {
    let l = name.to_lowercase();
    let k = key(name);
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
        || k.is_empty()
        || site.is_some_and(|s| key(s) == k)
        || (k.len() >= 4 && host.replace('.', "").contains(&k))
}

/// The author's name in a byline's text (`By Jane Doe | Updated May 4`), or `None` when
/// it does not read as one: at most six words, cut before a date, a role or a count.
fn byline_name(t: &str) -> Option<String> {
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
    if let Some(i) = lower
        .find("by ")
        .filter(|&i| i < 16 && (i == 0 || lower[..i].ends_with(' ')))
    {
        t = t[i + 3..].trim();
    }
    t = t.trim_start_matches([':', ' ']);
    for p in [
        "Von ",
        "von ",
        "Par ",
        "par ",
        "Author: ",
        "Autor: ",
        "Auteur : ",
    ] {
        t = t.strip_prefix(p).unwrap_or(t).trim();
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
    let name = t[..end].trim().trim_end_matches([':', '.']).trim();
    let words = name.split_whitespace().count();
    ((1..=6).contains(&words) && name.chars().any(char::is_alphabetic)).then(|| name.to_string())
}

/// A date printed near the headline (a byline's date in a plain `div`): the first short
/// block that reads as a date among the three before the first `h1` block and the ten
/// after.
pub fn date_near_headline(blocks: &[pipeline_core::Block]) -> Option<String> {
    let h1 = blocks.iter().position(|b| b.heading == Some(1))?;
    let near = &blocks[h1.saturating_sub(3)..(h1 + 11).min(blocks.len())];
    near.iter()
        .filter(|b| b.heading != Some(1) && b.text.split_whitespace().count() <= 12)
        .find_map(|b| iso_date(&b.text))
}

/// Month names and their abbreviations in the languages of the pages (English, German,
/// French, Spanish, Italian, Portuguese, Dutch), lower-cased, by month: news and blog
/// software prints dates in the page's language (`29. Januar 2020`, `3 févr. 2021`).
/// Whole words only, and no abbreviation that is also an English word (`ago`, `set`,
/// `out`, `mag`).
const MONTHS: [&[&str]; 12] = [
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
fn url_date(url: &str) -> Option<String> {
    let path = url.split_once("://").map_or(url, |(_, r)| r);
    let segs: Vec<&str> = path.split('/').collect();
    segs.windows(3).find_map(|w| {
        (w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2)
            .then(|| iso_date(&format!("{}-{}-{}", w[0], w[1], w[2])))
            .flatten()
    })
}

/// The metadata of a parsed page; `url` is the page's address when known (its host tells
/// the site's name in titles and its path may hold the date).
///
/// One function because each field's sources are tried in priority order and later sources read
/// what earlier ones found.
pub fn extract(doc: &Html, url: Option<&str>) -> PageMeta {
    let s = selectors();
    let mut meta = PageMeta::default();
    let mut f = Found {
        html_title: doc.select(&s.title).next().and_then(text_of),
        ..Found::default()
    };
    for script in doc.select(&s.ld) {
        read_ld(&script.text().collect::<String>(), &mut f);
    }
    let mut card_site = None;
    for m in doc.select(&s.meta) {
        let e = m.value();
        let k = e
            .attr("name")
            .or_else(|| e.attr("property"))
            .or_else(|| e.attr("itemprop"))
            .or_else(|| e.attr("http-equiv"))
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(content) = e.attr("content").and_then(clean) else {
            continue;
        };
        match k.as_str() {
            "og:title" | "twitter:title" | "headline" if f.card_title.is_none() => {
                f.card_title = Some(content)
            }
            "description" | "og:description" | "twitter:description"
                if meta.description.is_none() =>
            {
                meta.description = Some(content)
            }
            "author" | "article:author" | "dc.creator" | "sailthru.author" | "parsely-author"
            | "byl" | "citation_author" => f.meta_authors.push(content),
            "date" | "pubdate" | "dc.date" | "dc.date.issued" | "dcterms.date"
            | "dcterms.created" | "parsely-pub-date" | "sailthru.date" | "release_date" => {
                f.meta_dates.push(content)
            }
            // `article:published_time`, `published-date`, `citation_publication_date`, …
            _ if (k.contains("publish") || k.contains("publication"))
                && (k.contains("date") || k.contains("time") || k.ends_with("published"))
                && !k.contains("modif")
                && !k.contains("updat") =>
            {
                f.meta_dates.push(content)
            }
            "og:site_name" | "application-name" if card_site.is_none() => card_site = Some(content),
            "og:url" if meta.url.is_none() => meta.url = Some(content),
            "og:type" if f.types.len() < MAX_TYPES => {
                let t = format!("og:{}", content.to_lowercase());
                if !f.types.contains(&t) {
                    f.types.push(t);
                }
            }
            "article:tag" | "article:section" | "news_keywords" => meta.tags.extend(
                content
                    .split(',')
                    .filter_map(clean)
                    .filter(|t| !meta.tags.contains(t))
                    .collect::<Vec<_>>(),
            ),
            // An `<html lang>` wins over it (below).
            "content-language" | "dc.language" | "og:locale" if meta.lang.is_none() => {
                meta.lang = Some(content)
            }
            _ => {}
        }
    }
    if let Some(c) = doc
        .select(&s.canonical)
        .next()
        .and_then(|l| l.value().attr("href"))
        .and_then(clean)
    {
        meta.url = Some(c);
    }
    if let Some(l) = (doc.select(&s.html).next())
        .and_then(|h| h.value().attr("lang"))
        .and_then(clean)
    {
        meta.lang = Some(l);
    }
    let page_url = url.or(meta.url.as_deref()).unwrap_or("");
    let host = page_url
        .split_once("://")
        .map_or(page_url, |(_, r)| r)
        .split('/')
        .next()
        .unwrap_or("")
        .trim_start_matches("www.")
        .to_lowercase();
    let host = host
        .rsplit_once('.')
        .map_or(host.as_str(), |(h, _)| h)
        .to_string();
    meta.site_name = card_site.or_else(|| f.ld_publisher.clone());
    let site = meta.site_name.as_deref();
    let real = |c: &String| !junk_author(c, site, &host);

    // Bylines, when JSON-LD and the meta tags name no one: the first that reads as a name
    // (the page's author comes before the comments' and the sidebar's), cut where a date
    // or a role begins. (Each of these passes walks the whole page: only when needed.)
    if !f.ld_authors.iter().chain(&f.meta_authors).any(real) {
        for e in doc.select(&s.byline).take(40) {
            let t = (e.value().attr("content").and_then(clean))
                .or_else(|| clean(&e.text().collect::<Vec<_>>().join(" ")));
            if let Some(name) = t.as_deref().and_then(byline_name).filter(|n| real(n)) {
                f.byline_authors.push(name);
                break;
            }
        }
    }
    // Dates of `datetime` attributes, then of the text of date-like elements, when
    // JSON-LD and the meta tags give none.
    let dated = (f.ld_date.iter())
        .chain(&f.meta_dates)
        .chain(&f.ld_other_date)
        .any(|d| iso_date(d).is_some());
    if !dated {
        for t in doc.select(&s.time).take(40) {
            let v = t.value();
            let d = (v.attr("datetime").or_else(|| v.attr("content")))
                .and_then(clean)
                .or_else(|| text_of(t).filter(|x| x.len() <= 80));
            if let Some(d) = d.filter(|d| iso_date(d).is_some()) {
                f.time_dates.push(d);
                break;
            }
        }
    }

    // Title: the first h1 when a title or card names it; else JSON-LD's headline; else the
    // card or <title> without the site's name.
    let named: Vec<String> = [&f.ld_headline, &f.card_title, &f.html_title, &f.ld_name]
        .into_iter()
        .flatten()
        .map(|t| key(t))
        .collect();
    let h1 = doc.select(&s.h1).take(3).filter_map(text_of).find(|h| {
        let k = key(h);
        k.len() >= 4 && named.iter().any(|n| n.contains(&k))
    });
    meta.title = h1
        .or_else(|| f.ld_headline.clone())
        .or_else(|| f.card_title.as_deref().map(|t| strip_site(t, site, &host)))
        .or_else(|| f.html_title.as_deref().map(|t| strip_site(t, site, &host)))
        .or_else(|| f.ld_name.clone());

    // Authors: JSON-LD, then meta tags, then bylines; the first source with a real name.
    // JSON-LD's author is declared, so an organisation writing as itself (the site's own
    // name) is the author there; elsewhere the site's name is a label, not a byline.
    for (declared, cands) in [
        (true, &f.ld_authors),
        (false, &f.meta_authors),
        (false, &f.byline_authors),
    ] {
        let mut names: Vec<&str> = Vec::new();
        for c in cands.iter().map(|c| author_field(c)) {
            let ok = if declared {
                !junk_author(c, None, "")
            } else {
                !junk_author(c, site, &host)
            };
            if ok && !names.contains(&c) {
                names.push(c);
            }
        }
        if !names.is_empty() {
            meta.author = Some(names.join(", "));
            break;
        }
    }

    // Date: the first source that reads as a date.
    let dates = (f.ld_date.iter())
        .chain(&f.meta_dates)
        .chain(&f.ld_other_date)
        .chain(&f.time_dates)
        .map(String::as_str);
    meta.date = dates
        .clone()
        .find_map(iso_date)
        .or_else(|| url_date(page_url))
        .or_else(|| dates.clone().next().map(String::from));
    meta.description = meta.description.or(f.ld_description);
    meta.types = f.types;
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_headline_author_and_date_come_from_the_most_trusted_source() {
        let html = r#"<html lang="en"><head><title>Top Trends for Fall | Scratch Culinary</title>
            <meta property="og:site_name" content="Scratch Culinary">
            <meta name="author" content="admin"><meta property="og:type" content="Article">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[
              {"@type":"WebSite","name":"Scratch Culinary"},
              {"@type":"BlogPosting","headline":"Top Trends for Fall","datePublished":"2025-09-04T08:00:00Z",
               "author":[{"@type":"Person","name":"Andrew King"},{"@type":"Person","name":"Jo Lee"}]}]}</script>
            <link rel="canonical" href="https://scratchculinary.com/top-trends"></head>
            <body><h1>Top Trends for Fall</h1><p>Text.</p></body></html>"#;
        let m = extract(&Html::parse_document(html), None);
        assert_eq!(m.title.as_deref(), Some("Top Trends for Fall"));
        assert_eq!(m.author.as_deref(), Some("Andrew King, Jo Lee"));
        assert_eq!(m.date.as_deref(), Some("2025-09-04"));
        assert_eq!(
            m.url.as_deref(),
            Some("https://scratchculinary.com/top-trends")
        );
        assert_eq!(m.site_name.as_deref(), Some("Scratch Culinary"));
        assert_eq!(m.lang.as_deref(), Some("en"));
        assert_eq!(m.types, ["WebSite", "BlogPosting", "og:article"]);
    }

    #[test]
    fn the_site_name_leaves_the_title_and_junk_authors_are_refused() {
        let html = r#"<html><head><title>Extra Thick Yoga Mat – ProsourceFit</title>
            <meta name="author" content="https://www.facebook.com/prosourcefit">
            <meta property="article:author" content="Mia Park"></head><body><p>x</p></body></html>"#;
        let m = extract(
            &Html::parse_document(html),
            Some("https://prosourcefit.com/p/mat"),
        );
        assert_eq!(m.title.as_deref(), Some("Extra Thick Yoga Mat"));
        assert_eq!(m.author.as_deref(), Some("Mia Park"));
        // A comment form's required-field label is not a name.
        for label in ["Name *", "Name*"] {
            assert!(junk_author(label, None, "example"), "{label}");
        }
        assert!(!junk_author("Heiko Meier", None, "example"));
    }

    #[test]
    fn headings_read_as_a_reader_sees_them() {
        // A display heading broken by <br>, a Sphinx permalink, a twice-escaped card title.
        let page = |h1: &str, card: &str| {
            let html = format!(
                r#"<html><head><title>{card} | Site</title><meta property="og:title" content="{card}">
                </head><body><h1>{h1}</h1></body></html>"#
            );
            extract(&Html::parse_document(&html), Some("https://site.example/a"))
                .title
                .unwrap_or_default()
        };
        assert_eq!(
            page(
                "Data Analytics<span><br>Agency</span>",
                "Data Analytics Agency"
            ),
            "Data Analytics Agency"
        );
        assert_eq!(
            page(
                r##"Quickstart<a class="headerlink" href="#q">¶</a>"##,
                "Quickstart"
            ),
            "Quickstart"
        );
        assert_eq!(page("", "Tips &amp;amp; Upgrades"), "Tips & Upgrades");
    }

    #[test]
    fn author_fields_lose_their_labels_and_a_declared_organisation_stays() {
        for (field, want) in [
            ("By: Benjamin Johnson", "Benjamin Johnson"),
            ("Written By: Cazzy Magennis", "Cazzy Magennis"),
            ("\"David Kim\"", "David Kim"),
            ("Bylander", "Bylander"),
        ] {
            assert_eq!(author_field(field), want);
        }
        assert!(junk_author("5 min read", None, "example"));
        // JSON-LD names the organisation as the author: that is the page's author, though
        // the same name in a byline or a meta tag would be the site's label.
        let html = r#"<html><head><meta property="og:site_name" content="WRAL">
            <script type="application/ld+json">{"@type":"NewsArticle","headline":"Rain",
            "author":{"@type":"Organization","name":"WRAL"}}</script></head>
            <body><h1>Rain</h1></body></html>"#;
        let m = extract(
            &Html::parse_document(html),
            Some("https://www.wral.com/rain"),
        );
        assert_eq!(m.author.as_deref(), Some("WRAL"));
    }
}
