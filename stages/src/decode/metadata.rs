//! Page metadata from a parsed HTML page: title (the headline, not the `<title>` with the
//! site's name), canonical URL, site name, description, tags and declared types, from
//! JSON-LD (schema.org articles, products and pages), OpenGraph and Twitter cards and
//! other `<meta>` tags. The author's and the date's candidates are gathered here and
//! chosen by their models ([`super::author`], [`super::date`]).

use std::sync::OnceLock;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use super::author::{self, author_field, byline_name, junk_author, AuthorPage, Candidate, Source};
use super::date::{self, url_date, DateCandidate, DatePage, DateSource};
use super::title::{TitlePage, TitleSource};

/// Metadata found in a page.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageMeta {
    /// The page's headline, chosen by [`super::title`]'s model among its `h1`s, JSON-LD,
    /// the card and `<title>`.
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
    ld_modified: Option<String>,
    /// `datePublished` of a node of another type (a `WebPage`, an `ItemPage`).
    ld_other_date: Option<String>,
    ld_publisher: Option<String>,
    ld_description: Option<String>,
    card_title: Option<String>,
    html_title: Option<String>,
    meta_authors: Vec<String>,
    meta_dates: Vec<String>,
    /// The author in JSON-LD is an `Organization`.
    ld_org: bool,
    /// Twitter card `twitter:labelN` (lower-cased) and `twitter:dataN` by their `N`.
    card_labels: Vec<(String, String)>,
    card_data: Vec<(String, String)>,
    /// `twitter:creator`: the author's handle, or the site's.
    card_creator: Option<String>,
    meta_modified: Vec<String>,
    /// Authors and publication dates in the data scripts render the page from.
    script_authors: Vec<String>,
    script_dates: Vec<String>,
}

fn sel(s: &'static str) -> Selector {
    Selector::parse(s).unwrap_or_else(|_| panic!("static selector {s} parses"))
}

/// Keep `byline` and `time` in step with [`prefilters`]: an element these match must pass
/// its prefilter.
struct Selectors {
    title: Selector,
    meta: Selector,
    ld: Selector,
    canonical: Selector,
    html: Selector,
    byline: Selector,
    time: Selector,
    h1: Selector,
    h2: Selector,
    script: Selector,
    preloaded: Selector,
    img: Selector,
    name_prop: Selector,
}

/// A cheap necessary condition for a selector list of tag names, attribute presence and
/// class substrings: an element it refuses cannot match, so the selector's costly matching
/// (a substring test of the class for each `[class*=…]`, per element) runs on few
/// elements. Class words are found ignoring ASCII case, a superset of what the selector
/// matches (`.fn` in quirks mode too).
struct Could {
    tags: &'static [&'static str],
    /// A link whose `href` holds this (ignoring ASCII case) passes too.
    href: Option<&'static str>,
    attrs: &'static [&'static str],
    class_words: aho_corasick::AhoCorasick,
}

impl Could {
    fn new(
        tags: &'static [&'static str],
        href: Option<&'static str>,
        attrs: &'static [&'static str],
        words: &[&str],
    ) -> Self {
        let class_words = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap_or_else(|_| panic!("static class words {words:?} build"));
        Could {
            tags,
            href,
            attrs,
            class_words,
        }
    }

    /// One pass over the element's attributes, their names compared as text (`attr(name)`
    /// makes an interned name of its argument on every call).
    fn admits(&self, e: &ElementRef<'_>) -> bool {
        let v = e.value();
        if self.tags.contains(&v.name()) {
            return true;
        }
        let link = self.href.filter(|_| v.name() == "a");
        v.attrs().any(|(name, value)| {
            self.attrs.contains(&name)
                || (name == "class" && self.class_words.is_match(value))
                || link.is_some_and(|h| {
                    name == "href"
                        && (value.as_bytes().windows(h.len()))
                            .any(|w| w.eq_ignore_ascii_case(h.as_bytes()))
                })
        })
    }
}

/// The elements `sel` matches, in the order [`Html::select`] gives them (the tree's nodes
/// in the order they were made), testing only those `could` admits.
fn select_could<'a>(
    doc: &'a Html,
    sel: &'a Selector,
    could: &'a Could,
) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    (doc.tree.nodes())
        .filter_map(ElementRef::wrap)
        .filter(move |e| e.parent().is_some() && could.admits(e) && sel.matches(e))
}

/// What an element must have to be a byline or a date element (see [`Selectors`]).
struct Prefilters {
    byline: Could,
    time: Could,
}

fn prefilters() -> &'static Prefilters {
    static P: OnceLock<Prefilters> = OnceLock::new();
    P.get_or_init(|| Prefilters {
        byline: Could::new(
            &["address"],
            Some("/author/"),
            &["rel", "itemprop"],
            &["author", "byline", "username", "user-name", "fn"],
        ),
        time: Could::new(
            &["time"],
            None,
            &["itemprop"],
            &["publish", "date", "posted"],
        ),
    })
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
            r#"[rel="author"], [itemprop="author"], [class*="author"], [class*="byline"], a[href*="/author/"], .vcard .fn, [class*="username"], [class*="user-name"], address"#,
        ),
        time: sel(
            r#"time, [itemprop="datePublished"], [class*="publish"], [class*="date"], [class*="posted"]"#,
        ),
        h1: sel("h1"),
        h2: sel("h2"),
        script: sel(r#"script:not([type="application/ld+json"])"#),
        preloaded: sel("#data-preloaded"),
        img: sel("img[alt]"),
        name_prop: sel(r#"[itemprop="name"]"#),
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
                // An author given as an organisation (itself, or one of a list).
                let org = |v: &Value| {
                    (types(v).iter())
                        .any(|t| matches!(*t, "Organization" | "NewsMediaOrganization"))
                };
                let a = &n["author"];
                f.ld_org = org(a) || a.as_array().is_some_and(|l| l.iter().any(org));
            }
            if f.ld_date.is_none() {
                f.ld_date = s("datePublished").or_else(|| s("dateCreated"));
            }
            if f.ld_modified.is_none() {
                f.ld_modified = s("dateModified");
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

/// Whether block `i` is among the three blocks before the first `h1` (at `h1`) and the ten
/// after: where bylines and dates are printed.
pub(super) fn near_headline(h1: Option<usize>, i: usize) -> bool {
    h1.is_some_and(|h| i + 3 >= h && i <= h + 10)
}

/// Lower-case letters and digits only: what two titles must share to be the same.
pub(super) fn key(t: &str) -> String {
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

/// Inline scripts (not JSON-LD), read once: a `dataLayer`'s or a plugin's author, a JSON
/// state's publication date.
fn read_scripts(doc: &Html, f: &mut Found) {
    for script in doc.select(&selectors().script).take(40) {
        let text: String = script.text().collect();
        for k in ["'author", "\"author", "PostAuthor"] {
            author::script_names(&text, k, &mut f.script_authors);
        }
        for k in [
            "\"datePublished",
            "\"publishedDate",
            "\"publishDate",
            "\"published_at",
        ] {
            author::script_names(&text, k, &mut f.script_dates);
        }
    }
}

/// The candidates a page offers for its author, date and title, before the choice.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// The author's.
    pub authors: AuthorPage,
    /// The date's.
    pub dates: DatePage,
    /// The title's.
    pub titles: TitlePage,
}

/// The title's candidates: the first `h1`s and `h2`, JSON-LD's headline and name, the
/// card's title and `<title>` (whole and without the site's name), `<title>`'s parts.
fn title_candidates(doc: &Html, f: &Found, site: Option<&str>, host: &str) -> TitlePage {
    let s = selectors();
    let mut t = TitlePage {
        site: site.map(String::from),
        host: host.to_string(),
        cands: Vec::new(),
        fallback: None,
    };
    for (i, h) in doc.select(&s.h1).take(3).filter_map(text_of).enumerate() {
        t.push(h, TitleSource::H1, i);
    }
    if let Some(h) = doc.select(&s.h2).next().and_then(text_of) {
        t.push(h, TitleSource::H2, 0);
    }
    for (v, src) in [
        (&f.ld_headline, TitleSource::LdHeadline),
        (&f.ld_name, TitleSource::LdName),
    ] {
        if let Some(v) = v {
            t.push(v.clone(), src, 0);
        }
    }
    for (v, whole, stripped) in [
        (&f.card_title, TitleSource::Card, TitleSource::CardStripped),
        (&f.html_title, TitleSource::Html, TitleSource::HtmlStripped),
    ] {
        if let Some(v) = v {
            t.push(v.clone(), whole, 0);
            t.push(strip_site(v, site, host), stripped, 0);
        }
    }
    if let Some(v) = &f.html_title {
        for (i, p) in title_parts(v).into_iter().enumerate() {
            t.push(p.to_string(), TitleSource::TitlePart, i);
        }
    }
    // When the model finds no candidate likely: the first h1 a title or card names, else
    // JSON-LD's headline, else the card or <title> without the site's name.
    let named: Vec<String> = [&f.ld_headline, &f.card_title, &f.html_title, &f.ld_name]
        .into_iter()
        .flatten()
        .map(|t| key(t))
        .collect();
    let h1 = doc.select(&s.h1).take(3).filter_map(text_of).find(|h| {
        let k = key(h);
        k.len() >= 4 && named.iter().any(|n| n.contains(&k))
    });
    t.fallback = h1
        .or_else(|| f.ld_headline.clone())
        .or_else(|| f.card_title.as_deref().map(|t| strip_site(t, site, host)))
        .or_else(|| f.html_title.as_deref().map(|t| strip_site(t, site, host)))
        .or_else(|| f.ld_name.clone());
    t
}

/// The author's candidates the page's head and DOM offer (the blocks add their lines
/// later): declared names, a card's "Written by" and creator, script data, byline
/// elements, the site's name and `<title>`'s parts after the headline.
fn author_candidates(doc: &Html, f: &Found, site: Option<String>, host: String) -> AuthorPage {
    let s = selectors();
    let mut site_names: Vec<String> = site.iter().cloned().collect();
    let mut authors = AuthorPage {
        site,
        host,
        title_key: f.html_title.as_deref().map(key).unwrap_or_default(),
        cands: Vec::new(),
    };
    // Declared authors: each source's real names, joined.
    for (source, list) in [(Source::Ld, &f.ld_authors), (Source::Meta, &f.meta_authors)] {
        let mut names: Vec<&str> = Vec::new();
        for c in list.iter().map(|c| author_field(c)) {
            if !junk_author(c, None, "") && !names.contains(&c) {
                names.push(c);
            }
        }
        if !names.is_empty() {
            let mut c = Candidate::new(names.join(", "), source, 0);
            c.org = source == Source::Ld && f.ld_org;
            authors.push(c);
        }
    }
    // A card's "Written by" (Yoast, Ghost): `twitter:label1` names what `twitter:data1` is.
    for (n, label) in &f.card_labels {
        if ["written by", "interview by", "words by", "author", "autor"]
            .iter()
            .any(|l| label.contains(l))
        {
            let data = f.card_data.iter().find(|(m, _)| m == n);
            if let Some((_, d)) = data {
                authors.push(Candidate::new(author_field(d).to_string(), Source::Card, 0));
            }
        }
    }
    if let Some(c) = &f.card_creator {
        let name = c.trim_start_matches('@').to_string();
        authors.push(Candidate::new(name, Source::Card, 1));
    }
    // What scripts render the page from: Discourse's first post's user, an analytics
    // `dataLayer`'s or a plugin's author.
    let mut data = Vec::new();
    if let Some(p) = doc.select(&s.preloaded).next() {
        if let Some(v) = p.value().attr("data-preloaded") {
            author::script_names(v, "\"username", &mut data);
        }
    }
    data.extend(f.script_authors.iter().cloned());
    for (i, n) in data.into_iter().take(author::MAX_PER_SOURCE).enumerate() {
        authors.push(Candidate::new(
            author_field(&n).to_string(),
            Source::Data,
            i,
        ));
    }
    // Byline elements, in page order (the page's author comes before the comments' and
    // the sidebar's).
    let mut rank = 0;
    for e in select_could(doc, &s.byline, &prefilters().byline).take(author::MAX_PER_SOURCE) {
        // Its `content`, its text, a microdata name inside it, or its picture's `alt`.
        let t = (e.value().attr("content").and_then(clean))
            .or_else(|| clean(&e.text().collect::<Vec<_>>().join(" ")))
            .or_else(|| {
                let n = e.select(&s.name_prop).next()?;
                n.value().attr("content").and_then(clean)
            })
            .or_else(|| {
                let img = e.select(&s.img).next()?;
                img.value().attr("alt").and_then(clean)
            });
        let Some(t) = t else { continue };
        if let Some(name) = byline_name(&t) {
            let mut c = Candidate::new(name, Source::Byline, rank);
            rank += 1;
            c.strong = author::declares_author(e);
            c.comments = author::in_comments(e);
            c.labelled = author::has_label(&t);
            authors.push(c);
        }
    }
    // The site's name, and what `<title>` says after the headline (a personal blog's
    // owner, an organisation writing as itself).
    if let Some(t) = &f.html_title {
        site_names.extend(title_parts(t).into_iter().skip(1).map(String::from));
    }
    for (i, n) in site_names.into_iter().enumerate() {
        let n = author_field(&n).to_string();
        if n.split_whitespace().count() <= 6
            && !(authors.cands.iter()).any(|c| c.source == Source::Site && key(&c.name) == key(&n))
        {
            authors.push(Candidate::new(n, Source::Site, i));
        }
    }
    authors
}

/// The date's candidates the page's head and DOM offer (the blocks add their lines
/// later): declared dates, `<time>` and date-like elements, the URL's date.
fn date_candidates(doc: &Html, f: &Found, page_url: &str) -> DatePage {
    let s = selectors();
    // Dates: every one the page states, for the date model to choose from.
    let mut dates = DatePage::default();
    let declared = [
        (DateSource::Ld, &f.ld_date),
        (DateSource::LdModified, &f.ld_modified),
        (DateSource::LdOther, &f.ld_other_date),
    ];
    for (source, d) in declared {
        dates
            .cands
            .extend(d.as_deref().and_then(|d| DateCandidate::read(d, source, 0)));
    }
    for (source, list) in [
        (DateSource::Meta, &f.meta_dates),
        (DateSource::MetaModified, &f.meta_modified),
    ] {
        for (i, d) in list.iter().enumerate() {
            dates.cands.extend(DateCandidate::read(d, source, i));
        }
    }
    if dates.cands.is_empty() {
        dates.raw = (f.ld_date.iter())
            .chain(&f.meta_dates)
            .chain(&f.ld_other_date)
            .next()
            .cloned();
    }
    // `<time>` and date-like elements: their `datetime` and their text, each a candidate,
    // labelled by the element's class, `itemprop` and text.
    let (mut attrs, mut texts) = (0, 0);
    for e in select_could(doc, &s.time, &prefilters().time).take(date::MAX_PER_SOURCE) {
        let v = e.value();
        let label = [v.attr("class"), v.attr("itemprop"), v.attr("id")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let text = text_of(e).filter(|x| x.len() <= 80);
        let label = format!("{label} {}", text.as_deref().unwrap_or(""));
        let comments = author::in_comments(e);
        // `datetime`, microdata's `content`, or hAtom's `title` (`<span class="updated"
        // title="2013-04-04T18:52:11+00:00">`).
        let attr = (v.attr("datetime").or_else(|| v.attr("content")))
            .or_else(|| v.attr("title"))
            .and_then(clean);
        if let Some(c) = attr.and_then(|d| DateCandidate::read(&d, DateSource::TimeAttr, attrs)) {
            attrs += 1;
            dates.cands.push(DateCandidate {
                comments,
                ..c.labelled_by(&label)
            });
        }
        if let Some(c) = text.and_then(|t| DateCandidate::read(&t, DateSource::TimeText, texts)) {
            texts += 1;
            dates.cands.push(DateCandidate {
                comments,
                ..c.labelled_by(&label)
            });
        }
    }
    // What scripts render the page from: a JSON state's publication date.
    for (i, d) in f.script_dates.iter().take(date::MAX_PER_SOURCE).enumerate() {
        dates
            .cands
            .extend(DateCandidate::read(d, DateSource::Data, i));
    }
    dates
        .cands
        .extend(url_date(page_url).and_then(|d| DateCandidate::read(&d, DateSource::Url, 0)));

    dates
}

/// The metadata of a parsed page but its title, author and date, and their candidates
/// (chosen once the blocks add theirs, [`super::html::to_blocks`]); `url` is the page's
/// address when known (its host tells the site's name in titles and its path may hold
/// the date).
///
/// A little over a hundred lines because one `match` names every `<meta>` tag read; the
/// candidates are gathered by the functions above.
pub(super) fn extract(doc: &Html, url: Option<&str>) -> (PageMeta, Candidates) {
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
            | "byl" | "citation_author" | "cxenseparse:author" => f.meta_authors.push(content),
            "twitter:creator" => f.card_creator = Some(content),
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
            // `article:modified_time`, `og:updated_time`, `last-modified`, …
            _ if (k.contains("modif") || k.contains("updat"))
                && (k.contains("date") || k.contains("time")) =>
            {
                f.meta_modified.push(content)
            }
            "og:site_name" | "application-name" if card_site.is_none() => card_site = Some(content),
            _ if k.starts_with("twitter:label") => f.card_labels.push((
                k["twitter:label".len()..].to_string(),
                content.to_lowercase(),
            )),
            _ if k.starts_with("twitter:data") => f
                .card_data
                .push((k["twitter:data".len()..].to_string(), content)),
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
    read_scripts(doc, &mut f);
    let authors = author_candidates(doc, &f, meta.site_name.clone(), host.clone());
    let dates = date_candidates(doc, &f, page_url);

    // Title: chosen by the model among the candidates ([`super::html::to_blocks`]).
    let titles = title_candidates(doc, &f, site, &host);

    meta.description = meta.description.or(f.ld_description);
    meta.types = f.types;
    (
        meta,
        Candidates {
            authors,
            dates,
            titles,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilters_let_through_every_element_the_selectors_match() {
        let html = r#"<html><body>
            <p>plain</p><a href="/about">about</a>
            <a href="/Author/jane">Jane</a><span rel="author">R</span>
            <span itemprop="author">I</span><div class="post-Author x">C</div>
            <div class="BYLINE">B</div><div class="vcard"><b class="fn">V</b></div>
            <span class="user-name">U</span><span class="usernameX">N</span>
            <address>A</address>
            <time>T</time><span itemprop="datePublished">D</span>
            <p class="published-on">P</p><p class="entry-date">E</p><p class="posted">O</p>
            <p class="Date">Q</p><p class="other">no</p>
        </body></html>"#;
        for quirks in ["", "<!DOCTYPE html>"] {
            let doc = Html::parse_document(&format!("{quirks}{html}"));
            let (s, p) = (selectors(), prefilters());
            for (sel, could, least) in [(&s.byline, &p.byline, 6), (&s.time, &p.time, 5)] {
                let all: Vec<_> = doc.select(sel).map(|e| e.id()).collect();
                let fast: Vec<_> = select_could(&doc, sel, could).map(|e| e.id()).collect();
                assert_eq!(fast, all);
                assert!(all.len() >= least, "{} matched", all.len());
            }
        }
    }

    /// The metadata decode gives a page, its author chosen by the shipped model.
    fn page_meta(html: &str, url: Option<&str>) -> PageMeta {
        super::super::html::to_blocks(html, url).1
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
        let m = page_meta(html, None);
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
        let m = page_meta(html, Some("https://prosourcefit.com/p/mat"));
        assert_eq!(m.title.as_deref(), Some("Extra Thick Yoga Mat"));
        assert_eq!(m.author.as_deref(), Some("Mia Park"));
    }

    #[test]
    fn headings_read_as_a_reader_sees_them() {
        // A display heading broken by <br>, a Sphinx permalink, a twice-escaped card title.
        let page = |h1: &str, card: &str| {
            let html = format!(
                r#"<html><head><title>{card} | Site</title><meta property="og:title" content="{card}">
                </head><body><h1>{h1}</h1></body></html>"#
            );
            page_meta(&html, Some("https://site.example/a"))
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
        // JSON-LD names the organisation as the author: that is the page's author, though
        // the same name in a byline or a meta tag would be the site's label.
        let html = r#"<html><head><meta property="og:site_name" content="WRAL">
            <script type="application/ld+json">{"@type":"NewsArticle","headline":"Rain",
            "author":{"@type":"Organization","name":"WRAL"}}</script></head>
            <body><h1>Rain</h1></body></html>"#;
        let m = page_meta(html, Some("https://www.wral.com/rain"));
        assert_eq!(m.author.as_deref(), Some("WRAL"));
    }
}
