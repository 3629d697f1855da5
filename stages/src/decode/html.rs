//! HTML → blocks (with tag, heading level, list membership, link ratio and ancestor hints)
//! and page metadata, via scraper (html5ever).

use pipeline_core::Block;
use scraper::{node::Node, ElementRef, Html};

pub use super::metadata::Candidates;
pub use super::metadata::PageMeta;

/// True if the text looks like HTML: after leading white space and comments (template
/// markers such as `<!--M_1#s0-->`), it opens with one of the tags that the WHATWG MIME
/// sniffing standard takes for HTML (`<!DOCTYPE HTML`, `<html`, `<script`, `<style`, `<br`
/// — a PHP notice printed before the page —, …), or several common tags come near the start.
/// Plain text without `<` in its first 1 KB costs one `memchr`.
pub fn looks_like_html(text: &str) -> bool {
    let mut t = text.trim_start().as_bytes();
    if memchr::memchr(b'<', &t[..t.len().min(1024)]).is_none() {
        return false;
    }
    while let Some(rest) = t.strip_prefix(b"<!--") {
        match memchr::memmem::find(rest, b"-->") {
            Some(end) if end < 4096 => t = rest[end + 3..].trim_ascii_start(),
            _ => break,
        }
    }
    let head = &t[..t.len().min(1024)];
    let has = |needle: &[u8]| {
        head.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let starts = |p: &[u8]| head.len() >= p.len() && head[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"<?xml") && has(b"<html") {
        return true;
    }
    // The standard's HTML patterns, each followed by a space or `>` (or, as the HTML parser
    // takes it, any white space: `<html\n  xmlns=…>`).
    const OPENERS: [&[u8]; 16] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
    ];
    if OPENERS.iter().any(|o| {
        starts(o)
            && head
                .get(o.len())
                .is_some_and(|&c| c == b'>' || c.is_ascii_whitespace())
    }) {
        return true;
    }
    let tags: [&[u8]; 12] = [
        b"<p>", b"<p ", b"<div", b"<br", b"<body", b"<head", b"<span", b"<a href", b"<meta ",
        b"<title>", b"<li>", b"<table",
    ];
    tags.iter().filter(|t| has(t)).count() >= 2
}

const SKIP: &[&str] = &[
    "script", "style", "template", "svg", "iframe", "object", "embed", "canvas", "head", "select",
    "option", "textarea", "input", "math", "map", "audio", "video", "source", "picture",
    // Ruby annotations (furigana) stand above the text they gloss, not in it.
    "rt", "rp",
];

const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "td",
    "th",
    "ul",
    "caption",
    "summary",
    "center",
    "legend",
    "menu",
    "html",
    "noscript",
];

/// Block elements that divide a page into regions, recorded in `Block::path` (lists, tables
/// and paragraphs structure content instead).
const REGION: &[&str] = &[
    "html", "body", "div", "section", "article", "main", "aside", "header", "footer", "nav",
    "form", "center", "details", "dialog", "fieldset",
];

/// Ancestor tags worth recording as hints.
const HINT_TAGS: &[&str] = &[
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "figure",
    "figcaption",
    "table",
    "blockquote",
    "article",
    "main",
    "menu",
    "button",
    "label",
    "time",
    "noscript",
];

struct Builder {
    blocks: Vec<Block>,
    /// For each block, the container ids of its hints (parallel to `Block::hints`).
    block_hint_ids: Vec<Vec<usize>>,
    buf: String,
    link_chars: usize,
    tag: String,
    heading: Option<u8>,
    in_list: bool,
    hints: Vec<String>,
    hint_ids: Vec<usize>,
    next_container: usize,
    pre: bool,
    /// Ids of the open region elements, outermost first.
    path: Vec<u32>,
    next_path_id: u32,
}

impl Builder {
    fn push_text(&mut self, t: &str, in_link: bool) {
        let before = self.buf.len();
        if self.pre {
            self.buf.push_str(t);
        } else {
            // Text nodes that touch join without a space, as a browser renders them:
            // `<abbr>KI</abbr>-Systeme`, `<strong>Name</strong>,`, a drop cap `<span>s</span>elbst`.
            let mut space = t.starts_with(char::is_whitespace);
            for word in crate::text::words::words(t) {
                if space && !self.buf.is_empty() && !self.buf.ends_with([' ', '\n']) {
                    self.buf.push(' ');
                }
                self.buf.push_str(word);
                space = true;
            }
            if t.ends_with(char::is_whitespace)
                && !self.buf.is_empty()
                && !self.buf.ends_with([' ', '\n'])
            {
                self.buf.push(' ');
            }
        }
        if in_link {
            self.link_chars += self.buf[before..].trim().chars().count();
        }
    }

    /// `<br>`: a new line inside the block; a second one in a row ends the paragraph.
    fn line_break(&mut self) {
        if self.pre {
            self.buf.push('\n');
            return;
        }
        let kept = self.buf.trim_end_matches(' ').len();
        self.buf.truncate(kept);
        if self.buf.ends_with('\n') {
            self.flush();
        } else if !self.buf.is_empty() {
            self.buf.push('\n');
        }
    }

    fn flush(&mut self) {
        let text = if self.pre {
            self.buf.trim_matches('\n').to_string()
        } else {
            self.buf.trim().to_string()
        };
        if !text.is_empty() {
            let n = text.chars().count().max(1);
            self.blocks.push(Block {
                link_ratio: (self.link_chars as f32 / n as f32).min(1.0),
                text,
                tag: self.tag.clone(),
                heading: self.heading,
                in_list: self.in_list,
                hints: self.hints.clone(),
                path: self.path.clone(),
            });
            self.block_hint_ids.push(self.hint_ids.clone());
        }
        self.buf.clear();
        self.link_chars = 0;
    }
}

/// The element's `role`, `class` and `id` (plain attributes, as `attr` reads them), in
/// one pass over its attributes: `attr` hashes a qualified name per call, three per
/// element of every page.
fn role_class_id(el: &scraper::node::Element) -> [Option<&str>; 3] {
    let mut out = [None; 3];
    for (q, v) in &el.attrs {
        if q.prefix.is_some() || !q.ns.is_empty() {
            continue;
        }
        let slot = match &*q.local {
            "role" => 0,
            "class" => 1,
            "id" => 2,
            _ => continue,
        };
        out[slot] = Some(&**v);
    }
    out
}

/// Adds the element's tag (if telling), role, and class/id tokens as hints, each tagged with
/// a fresh container id so that hints of page-wide wrappers can be discarded later.
fn add_hints(el: &scraper::node::Element, b: &mut Builder) {
    let id_here = b.next_container;
    b.next_container += 1;
    let push = |h: String, b: &mut Builder| {
        if !b.hints.contains(&h) && b.hints.len() < 32 {
            b.hints.push(h);
            b.hint_ids.push(id_here);
        }
    };
    let name = el.name();
    if HINT_TAGS.contains(&name) {
        push(name.to_string(), b);
    }
    let [role, classes, id] = role_class_id(el);
    if let Some(role) = role {
        push(role.to_ascii_lowercase(), b);
    }
    let (classes, id) = (classes.unwrap_or(""), id.unwrap_or(""));
    for tok in classes.split_whitespace().chain(std::iter::once(id)) {
        // `has-sidebar`, `with-navigation`, `no-ads` describe the element's neighbours or
        // layout, not what it is.
        let first = tok
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        if tok.len() > first.len()
            && ["has", "with", "no", "without", "hide", "show"]
                .iter()
                .any(|p| first.eq_ignore_ascii_case(p))
        {
            continue;
        }
        // Page builders name every box `elementor-widget-…`, `elementor-element`: only the
        // rest of such a name tells what the box is (`elementor-widget-nav-menu`).
        let builder = first.eq_ignore_ascii_case("elementor");
        for part in tok.split(|c: char| !c.is_ascii_alphanumeric()) {
            if builder && matches!(part, "elementor" | "widget" | "element" | "container") {
                continue;
            }
            if part.len() >= 3 {
                push(part.to_ascii_lowercase(), b);
            }
        }
    }
}

/// Elements nested deeper than this are not walked one by one: their text is taken in
/// document order as one run (a page nested 8,000 `<div>`s deep would otherwise overflow
/// the worker's stack). Real pages stay below it: of the 1,895 shared benchmark pages the
/// deepest nests about 160 elements, half of them 18 or fewer.
const MAX_DEPTH: usize = 256;

fn walk(el: ElementRef<'_>, b: &mut Builder, in_link: bool) {
    walk_at(el, b, in_link, 0);
}

/// The text under `el`, without recursion: what [`walk`] does below [`MAX_DEPTH`].
fn flat_text(el: ElementRef<'_>, b: &mut Builder, in_link: bool) {
    let mut skip_until = None;
    for edge in el.traverse() {
        use ego_tree::iter::Edge;
        match edge {
            Edge::Open(n) if skip_until.is_none() => match n.value() {
                Node::Text(t) => b.push_text(t, in_link),
                Node::Element(e) if SKIP.contains(&e.name()) => skip_until = Some(n.id()),
                Node::Element(e) if e.name() == "br" => b.line_break(),
                _ => {}
            },
            Edge::Close(n) if skip_until == Some(n.id()) => skip_until = None,
            _ => {}
        }
    }
}

fn walk_at(el: ElementRef<'_>, b: &mut Builder, in_link: bool, depth: usize) {
    if depth >= MAX_DEPTH {
        flat_text(el, b, in_link);
        return;
    }
    for child in el.children() {
        match child.value() {
            Node::Text(t) => b.push_text(t, in_link),
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                let Some(child_el) = ElementRef::wrap(child) else {
                    continue;
                };
                if name == "br" {
                    b.line_break();
                    continue;
                }
                if BLOCK.contains(&name) {
                    b.flush();
                    let saved = (b.tag.clone(), b.heading, b.in_list, b.hints.len(), b.pre);
                    b.tag = name.to_string();
                    b.heading = name
                        .strip_prefix('h')
                        .and_then(|l| l.parse().ok())
                        .filter(|l| (1..=6).contains(l));
                    b.in_list |= matches!(name, "li" | "ul" | "ol" | "dl" | "menu");
                    b.pre |= name == "pre";
                    add_hints(e, b);
                    let region = REGION.contains(&name);
                    if region {
                        b.path.push(b.next_path_id);
                        b.next_path_id += 1;
                    }
                    if name == "noscript" {
                        walk_noscript(child_el, b, in_link, depth + 1);
                    } else {
                        walk_at(child_el, b, in_link, depth + 1);
                    }
                    b.flush();
                    if region {
                        b.path.pop();
                    }
                    b.tag = saved.0;
                    b.heading = saved.1;
                    b.in_list = saved.2;
                    b.hints.truncate(saved.3);
                    b.hint_ids.truncate(saved.3);
                    b.pre = saved.4;
                } else {
                    let hint_len = b.hints.len();
                    if matches!(name, "button" | "label" | "time") {
                        add_hints(e, b);
                    }
                    walk_at(child_el, b, in_link || name == "a", depth + 1);
                    b.hints.truncate(hint_len);
                    b.hint_ids.truncate(hint_len);
                }
            }
            _ => {}
        }
    }
}

/// A `<noscript>`: the parser keeps its markup as raw text, which is parsed here as a
/// fragment of its own and walked. Forum software (Discourse) and other script-built pages
/// serve their whole text to crawlers there; elsewhere it holds a tracking pixel or an
/// "enable JavaScript" line, a block with the hint `noscript` for clean to judge. Parsed
/// apart, an unclosed `<iframe/>` inside it swallows only the rest of the `<noscript>`,
/// where parsing the page with scripting off would lose the rest of the page.
fn walk_noscript(el: ElementRef<'_>, b: &mut Builder, in_link: bool, depth: usize) {
    let raw: String = el.text().collect();
    if !raw.contains('<') {
        b.push_text(&raw, in_link);
        return;
    }
    let frag = Html::parse_fragment(&cap_attributes(&raw));
    walk_at(frag.root_element(), b, in_link, depth);
}

/// Attributes kept per start tag: html5ever checks each new attribute against all earlier
/// ones of its tag (quadratic: 10⁵ attributes on one element took 8 s). Real pages use a few
/// dozen; the rest of an element's attributes are cut before parsing.
const MAX_ATTRIBUTES: usize = 256;

/// Elements whose content the tokenizer reads as text, not tags (with scripting on).
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// The HTML with every start tag's attributes beyond [`MAX_ATTRIBUTES`] removed; borrowed
/// when no tag has that many. One linear pass: `<` found by memchr, each tag's attributes
/// walked as the tokenizer reads them ([`attributes`]); comments and raw-text elements
/// skipped, since the tokenizer reads no tags there.
fn cap_attributes(html: &str) -> std::borrow::Cow<'_, str> {
    let b = html.as_bytes();
    let n = b.len();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'<', &b[i..]) {
        let mut j = i + k + 1;
        i = j;
        if b[j..].starts_with(b"!--") {
            i = memchr::memmem::find(&b[j + 3..], b"-->").map_or(n, |e| j + 3 + e + 3);
            continue;
        }
        if !b.get(j).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        while j < n && !b[j].is_ascii_whitespace() && !matches!(b[j], b'>' | b'/') {
            j += 1;
        }
        let name = &b[i..j];
        let raw = RAW_TEXT
            .iter()
            .find(|r| r.as_bytes().eq_ignore_ascii_case(name));
        let (end, cut_from) = attributes(b, j);
        // A cut never spans a `<`: that would be text the scanner misread as a tag.
        if let Some(c) = cut_from.filter(|&c| memchr::memchr(b'<', &b[c..end]).is_none()) {
            cuts.push((c, end));
        }
        i = end;
        if let Some(raw) = raw {
            // To the end tag, in any case: `</script`, `</SCRIPT`.
            let mut at = i;
            i = n;
            while let Some(e) = memchr::memmem::find(&b[at..], b"</") {
                let e = at + e;
                let tag = &b[e + 2..(e + 2 + raw.len()).min(n)];
                if tag.eq_ignore_ascii_case(raw.as_bytes()) {
                    i = e;
                    break;
                }
                at = e + 2;
            }
        }
    }
    if cuts.is_empty() {
        return std::borrow::Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(n);
    let mut at = 0;
    for (from, to) in cuts {
        // Cuts fall on ASCII bytes (a name's start, `>` or the end), so on char boundaries.
        out.push_str(&html[at..from]);
        at = to;
    }
    out.push_str(&html[at..]);
    std::borrow::Cow::Owned(out)
}

/// Walks a start tag's attributes from `j` (just after its name) as the tokenizer reads
/// them: a name (a leading `=` belongs to it), then an optional `=` and a quoted or bare
/// value. Returns where the tag ends (its `>`, or the end of input) and where the attribute
/// past [`MAX_ATTRIBUTES`] starts, if there is one.
fn attributes(b: &[u8], mut j: usize) -> (usize, Option<usize>) {
    let n = b.len();
    let space = |j: usize| j < n && b[j].is_ascii_whitespace();
    let (mut count, mut cut_from) = (0usize, None);
    loop {
        while space(j) || (j < n && b[j] == b'/') {
            j += 1;
        }
        if j >= n || b[j] == b'>' {
            return (j.min(n), cut_from);
        }
        let start = j;
        j += 1;
        while j < n && !b[j].is_ascii_whitespace() && !matches!(b[j], b'>' | b'/' | b'=') {
            j += 1;
        }
        let mut t = j;
        while space(t) {
            t += 1;
        }
        if t < n && b[t] == b'=' {
            t += 1;
            while space(t) {
                t += 1;
            }
            if t < n && matches!(b[t], b'"' | b'\'') {
                t = memchr::memchr(b[t], &b[t + 1..]).map_or(n, |e| t + e + 2);
            } else {
                while t < n && !b[t].is_ascii_whitespace() && b[t] != b'>' {
                    t += 1;
                }
            }
            j = t;
        }
        count += 1;
        if count == MAX_ATTRIBUTES + 1 {
            cut_from = Some(start);
        }
    }
}

/// Parses HTML into blocks and page metadata ([`super::metadata`]), the author chosen by
/// the shipped model ([`super::author`]); `url` is the page's address, when known.
pub fn to_blocks(html: &str, url: Option<&str>) -> (Vec<Block>, PageMeta) {
    let (blocks, mut meta, c) = parse(html, url);
    meta.author = c.authors.choose(super::author::shipped());
    meta.date = c.dates.choose(super::date::shipped());
    meta.title = c.titles.choose(super::title::shipped());
    (blocks, meta)
}

/// [`to_blocks`] before the title, the author and the date are chosen: the blocks, the
/// metadata without them, and their candidates.
pub fn parse(html: &str, url: Option<&str>) -> (Vec<Block>, PageMeta, Candidates) {
    let doc = Html::parse_document(&cap_attributes(html));
    let (meta, mut c) = super::metadata::extract(&doc, url);
    let mut b = Builder {
        blocks: Vec::new(),
        block_hint_ids: Vec::new(),
        buf: String::new(),
        link_chars: 0,
        tag: "body".into(),
        heading: None,
        in_list: false,
        hints: Vec::new(),
        hint_ids: Vec::new(),
        next_container: 0,
        pre: false,
        path: Vec::new(),
        next_path_id: 0,
    };
    walk(doc.root_element(), &mut b, false);
    b.flush();
    drop_wrapper_hints(&mut b);
    super::author::lines(&b.blocks, &mut c.authors);
    super::date::lines(&b.blocks, &mut c.dates);
    (b.blocks, meta, c)
}

/// A container holding more than half of the page's text is a page wrapper, not a
/// boilerplate region, whatever its class says (`<body class="has-sidebar">`): its hints are
/// removed from every block. `article` and `main` are always kept.
fn drop_wrapper_hints(b: &mut Builder) {
    // Text outside links: menus and link lists do not make a region big.
    let weight = |x: &Block| (x.text.len() as f32 * (1.0 - x.link_ratio)) as usize;
    let total: usize = b.blocks.iter().map(weight).sum();
    let mut size = vec![0usize; b.next_container];
    for (blk, ids) in b.blocks.iter().zip(&b.block_hint_ids) {
        let mut seen = Vec::new();
        for &id in ids {
            if !seen.contains(&id) {
                seen.push(id);
                size[id] += weight(blk);
            }
        }
    }
    for (blk, ids) in b.blocks.iter_mut().zip(&b.block_hint_ids) {
        let hints = std::mem::take(&mut blk.hints);
        blk.hints = hints
            .into_iter()
            .zip(ids)
            .filter(|(h, id)| h == "article" || h == "main" || size[**id] * 2 <= total)
            .map(|(h, _)| h)
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_with_100000_attributes_keeps_its_first_ones_and_its_text() {
        let attrs: String = (0..100_000)
            .map(|i| format!(" data-x{i}='a > b'"))
            .collect();
        let html =
            format!("<html><body><p id=k{attrs} class=last>Der Text bleibt.</p></body></html>");
        let capped = cap_attributes(&html);
        // `id` and data-x0 … data-x254 are the first 256.
        assert!(capped.contains(" data-x254='a > b'") && !capped.contains("data-x255"));
        assert!(!capped.contains("class=last"), "attributes past the cap go");
        let (blocks, _) = to_blocks(&html, None);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].text, "Der Text bleibt.");
        // A page of ordinary tags, quoted `>` and bare values is left as it is.
        let page =
            "<div class=\"a\" title='x > y' data-u=/a/b><img src=x alt=\"\"/>Text</div><!-- <p -->";
        assert!(matches!(
            cap_attributes(page),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn declared_language_from_html_lang_or_content_language() {
        let meta_only = r#"<html><head><meta http-equiv="Content-Language" content="fr-CA"></head><body><p>Bonjour</p></body></html>"#;
        assert_eq!(to_blocks(meta_only, None).1.lang.as_deref(), Some("fr-CA"));
        let both = r#"<html lang="de"><head><meta http-equiv="content-language" content="en"></head><body><p>Hallo</p></body></html>"#;
        assert_eq!(to_blocks(both, None).1.lang.as_deref(), Some("de"));
    }

    #[test]
    fn blocks_carry_structure_and_hints() {
        let html = r#"<!DOCTYPE html><html lang="de"><head><title>Titel &amp; mehr</title>
            <meta name="author" content="A. Autor"><meta property="article:published_time" content="2021-11-04">
            <script>var x = "<p>no</p>";</script><style>p{}</style></head>
            <body><nav class="main-nav"><ul><li><a href="/">Start</a></li><li><a href="/p">Politik</a></li></ul></nav>
            <article><h1>Putin sichert Unterstützung zu</h1><p>Russlands Staatschef <b>Wladimir Putin</b> hat
            Lukaschenko <a href="/x">Unterstützung</a> zugesichert.</p><pre>a  b
c</pre></article>
            <footer id="site-footer"><p>© 2021 Epoch Times</p></footer><noscript>Bitte JS</noscript></body></html>"#;
        let (blocks, meta) = to_blocks(html, None);
        // The article's headline, not the `<title>`.
        assert_eq!(
            meta.title.as_deref(),
            Some("Putin sichert Unterstützung zu")
        );
        assert_eq!(meta.author.as_deref(), Some("A. Autor"));
        assert_eq!(meta.date.as_deref(), Some("2021-11-04"));
        assert_eq!(meta.lang.as_deref(), Some("de"));
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Start",
                "Politik",
                "Putin sichert Unterstützung zu",
                "Russlands Staatschef Wladimir Putin hat Lukaschenko Unterstützung zugesichert.",
                "a  b\nc",
                "© 2021 Epoch Times",
                "Bitte JS"
            ]
        );
        assert!(blocks[6].hints.iter().any(|h| h == "noscript"));
        assert!(
            blocks[0].in_list
                && blocks[0].hints.contains(&"nav".to_string())
                && blocks[0].link_ratio == 1.0
        );
        assert_eq!(blocks[2].heading, Some(1));
        assert!(
            blocks[3].link_ratio > 0.1 && blocks[3].link_ratio < 0.25,
            "{}",
            blocks[3].link_ratio
        );
        assert!(blocks[5].hints.iter().any(|h| h == "footer"));
        // Regions: nav, article and footer are separate; the list items share the nav's.
        assert_eq!(blocks[0].path, blocks[1].path);
        assert_eq!(blocks[2].path, blocks[3].path);
        assert_ne!(blocks[0].path.last(), blocks[2].path.last());
        assert_ne!(blocks[2].path.last(), blocks[5].path.last());
        assert_eq!(blocks[0].path[0], blocks[5].path[0]);
    }

    #[test]
    fn noscript_markup_is_walked_and_an_unclosed_iframe_stays_inside_it() {
        // Discourse's crawler view, and a tag-manager `<iframe/>` that HTML does not close.
        let html = r#"<html><body><div id="app"></div>
            <noscript><iframe src="https://gtm.example/ns.html" height="0" /></noscript>
            <noscript data-path="/t/1"><div class="topic-body"><p>My Pi will not boot since
            the update.</p></div><div class="post"><p>Try an older image.</p></div></noscript>
            <p>Visible after.</p></body></html>"#;
        assert_eq!(
            block_texts(html),
            [
                "My Pi will not boot since the update.",
                "Try an older image.",
                "Visible after."
            ]
        );
        // The `<noscript>` holds most of the text, so it is the page's wrapper and its
        // hint is dropped (as `body`'s would be); the second post's class stays.
        let (blocks, _) = to_blocks(html, None);
        assert!(blocks[1].hints.iter().any(|h| h == "post"));
    }

    #[test]
    fn layout_class_names_are_not_hints() {
        let html = r#"<html><body><div class="content has-sidebar with-navigation">
            <div class="elementor-widget elementor-widget-text-editor"><p>Text</p></div>
            <div class="elementor-widget elementor-widget-nav-menu"><p>Menü</p></div>
            <div class="entry no-ads"><p>Mehr</p></div></div>
            <div class=x><p>Viel mehr Text auf der Seite, damit der Inhalt kein Seitenrahmen ist.</p></div></body></html>"#;
        let (blocks, _) = to_blocks(html, None);
        let hints = |i: usize| blocks[i].hints.join(" ");
        assert_eq!(hints(0), "content text editor");
        assert_eq!(hints(1), "content nav menu");
        assert_eq!(hints(2), "content entry");
    }

    fn block_texts(html: &str) -> Vec<String> {
        to_blocks(html, None)
            .0
            .into_iter()
            .map(|b| b.text)
            .collect()
    }

    #[test]
    fn inline_elements_join_as_rendered() {
        // Snippets from the trafilatura benchmark pages (bsi.de, sac-cas.ch, guatemala.com).
        let html = r#"<p>die <abbr title="Künstliche Intelligenz">KI</abbr>-Systeme in Autos</p>
            <li><strong>Beachte Wildruhezonen</strong>: Sie bieten</li>
            <p>für <a href="/x"><strong>Nicole Hacohen</strong></a>, quien <em>tendrá</em> la</p>
            <p><span class="drop">s</span>elbst gemacht,<b> fett </b>und
            weiter</p><p><ruby>災害<rt>さいがい</rt></ruby>に<ruby>気<rp>(</rp><rt>き</rt><rp>)</rp></ruby>をつけて</p>"#;
        assert_eq!(
            block_texts(html),
            [
                "die KI-Systeme in Autos",
                "Beachte Wildruhezonen: Sie bieten",
                "für Nicole Hacohen, quien tendrá la",
                "selbst gemacht, fett und weiter",
                "災害に気をつけて",
            ]
        );
    }

    #[test]
    fn line_breaks_stay_inside_the_paragraph_and_two_end_it() {
        let html = "<div><p>Decorators in Python let you modify<br />\nthe behaviour of a function.<br />\n</p>\
            <p>Adresse:<br> Hauptstraße 1 <br>10115 Berlin<br><br>\nTelefon 030 123</p></div>";
        assert_eq!(
            block_texts(html),
            [
                "Decorators in Python let you modify\nthe behaviour of a function.",
                "Adresse:\nHauptstraße 1\n10115 Berlin",
                "Telefon 030 123",
            ]
        );
    }

    #[test]
    fn detects_html() {
        assert!(looks_like_html("  <!DOCTYPE html><html>"));
        assert!(looks_like_html("<div class=x><p>Hallo</p></div>"));
        assert!(!looks_like_html("Am 31. Mai fand <der> Besuch statt."));
        // Pages of the shared benchmarks whose first tag is not `<html>` or a doctype.
        assert!(looks_like_html(
            "<!--M_96613636#s0-2--><!--M_9^s0-2-1 s0-2 1--><!DOCTYPE html><html lang=\"en\">"
        ));
        assert!(looks_like_html(
            "\n<script type=\"text/javascript\">\n var ucoz_prerollenable = 1;"
        ));
        assert!(looks_like_html("<style>\n  /*NEW STYLE*/\n  .boxes {"));
        assert!(looks_like_html(
            "<html\n  xmlns=\"http://www.w3.org/1999/xhtml\">\n<title>Seite</title>"
        ));
        assert!(looks_like_html(
            "<br />\n<b>Deprecated</b>:  Assigning the return value of new"
        ));
        // Text that only starts like a tag, and an unclosed comment, stay text.
        assert!(!looks_like_html(
            "<bold claims> in the first line of a text"
        ));
        assert!(!looks_like_html("<!-- a note that never ends"));
    }
}
