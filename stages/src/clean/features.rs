//! The content model's features of an HTML block, as numbers: what the block is (tag,
//! heading, list), what its text looks like (length, stop-word density, punctuation, link
//! share), what the rules made of it (class, keep/drop), where it stands (depth, position,
//! inside the main container), the same of its neighbours and enclosing regions, a few
//! page-level figures, and which of the model's class/id words its ancestors carry.

use rustc_hash::FxHashMap;

use super::context::Layout;
use super::vocab::{Vocab, WordOdds};
use super::{Class, Lexicon, View};

/// Names of the features before the class/id words, in order (for reading the model).
pub const NAMES: &[&str] = &[
    "log_chars",
    "log_words",
    "density",
    "link_ratio",
    "ends_sentence",
    "upper_first",
    "digits",
    "punct_per_word",
    "capital_words",
    "words_mean",
    "words_min",
    "words_max",
    "words_known",
    "section_words",
    "heading",
    "in_list",
    "pre",
    "tag_p",
    "tag_li",
    "tag_td",
    "tag_div",
    "tag_dt_dd",
    "tag_other_block",
    "rule_keep",
    "rule_good",
    "rule_near",
    "rule_short",
    "rule_bad",
    "rule_cue",
    "rule_hint",
    "rule_links",
    "depth",
    "position",
    "bytes_before",
    "in_main",
    "in_article",
    "template_log_n",
    "template_share",
    "template_links",
    "template_log_chars",
    "prev_keep",
    "prev_link",
    "prev_log_chars",
    "prev_same_tag",
    "prev2_keep",
    "next_keep",
    "next_link",
    "next_log_chars",
    "next_same_tag",
    "next2_keep",
    "region_kept",
    "region_log_bytes",
    "region_log_blocks",
    "region_links",
    "parent_kept",
    "parent_log_bytes",
    "parent_log_blocks",
    "parent_links",
    "grand_kept",
    "grand_log_bytes",
    "page_kept",
    "page_links",
    "page_density",
    "page_log_blocks",
    "page_li",
    "page_headings",
    "url_product",
    "url_collection",
    "url_forum",
    "url_docs",
    "url_article",
    "url_depth",
    "type_product",
    "type_article",
    "type_discussion",
    "type_list",
    "type_faq",
    "type_count",
];

/// Number of features before the class/id words.
pub const BASE: usize = NAMES.len();

/// What the page as a whole says it is, the same for each of its blocks: words of its URL's
/// path that shop, forum, documentation and news software put there (`/products/`,
/// `/collections/`, `/threads/`, `/docs/`, a year), and the schema.org and OpenGraph types
/// it declares (decode's `types`). The model learns what they mean for its blocks: a
/// review is content on a forum and not on a product page.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageKind([f32; 12]);

impl PageKind {
    /// The kind of a page at `url` declaring `types`.
    pub fn of<'a>(url: Option<&str>, types: impl Iterator<Item = &'a str>) -> Self {
        const PRODUCT: &[&str] = &["product", "products", "p", "dp", "item", "items", "sku"];
        const COLLECTION: &[&str] = &[
            "collections",
            "collection",
            "category",
            "categories",
            "c",
            "shop",
            "store",
            "catalog",
            "search",
            "tag",
            "tags",
            "browse",
            "list",
        ];
        const FORUM: &[&str] = &[
            "forum",
            "forums",
            "thread",
            "threads",
            "topic",
            "topics",
            "t",
            "community",
            "discussion",
            "discussions",
            "questions",
            "viewtopic",
            "showthread",
            "r",
            "comments",
        ];
        const DOCS: &[&str] = &[
            "docs",
            "doc",
            "documentation",
            "api",
            "reference",
            "manual",
            "guide",
            "guides",
            "wiki",
            "learn",
            "tutorial",
            "tutorials",
        ];
        const ARTICLE: &[&str] = &[
            "news", "blog", "blogs", "article", "articles", "post", "posts", "story",
        ];
        let path = url
            .map(|u| u.split_once("://").map_or(u, |(_, r)| r))
            .and_then(|r| r.split_once('/'))
            .map_or("", |(_, p)| p)
            .to_ascii_lowercase();
        let segments = path.split('/').filter(|s| !s.is_empty()).count();
        let words: Vec<&str> = path
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let any = |list: &[&str]| b(words.iter().any(|w| list.contains(w)));
        let year = words.iter().any(|w| {
            w.len() == 4
                && (w.starts_with("19") || w.starts_with("20"))
                && w.bytes().all(|c| c.is_ascii_digit())
        });
        let mut f = [0f32; 12];
        f[0] = any(PRODUCT);
        f[1] = any(COLLECTION);
        f[2] = any(FORUM);
        f[3] = any(DOCS);
        f[4] = b(year) + any(ARTICLE);
        f[5] = segments as f32;
        let mut count = 0usize;
        for t in types {
            count += 1;
            let t = t.strip_prefix("og:").unwrap_or(t).to_ascii_lowercase();
            let k = match t.as_str() {
                "product" | "productgroup" | "offer" | "aggregateoffer" | "product.item" => 6,
                "discussionforumposting"
                | "qapage"
                | "question"
                | "socialmediaposting"
                | "comment" => 8,
                "itemlist" | "collectionpage" | "searchresultspage" | "offercatalog" => 9,
                "faqpage" | "howto" => 10,
                t if t.ends_with("article") || t == "blogposting" || t == "reportage" => 7,
                _ => continue,
            };
            f[k] = 1.0;
        }
        f[11] = ln1(count);
        PageKind(f)
    }
}

/// What the text of one block looks like.
#[derive(Clone, Copy, Default)]
struct TextStats {
    chars: usize,
    words: usize,
    density: f32,
    ends_sentence: bool,
    upper_first: bool,
    digits: f32,
    punct_per_word: f32,
    capital_words: f32,
    odds: WordOdds,
}

fn text_stats(text: &str, lex: &Lexicon, vocab: &Vocab, lower: &mut String) -> TextStats {
    let sample = lower_head(text, lower);
    let text = text.trim();
    let (density, _) = lex.density(sample);
    let odds = vocab.score(sample);
    let (mut chars, mut digits, mut punct) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        chars += 1;
        digits += usize::from(c.is_numeric());
        punct += usize::from(matches!(c, ',' | ';' | '.' | '!' | '?' | ':'));
    }
    let (mut words, mut caps) = (0usize, 0usize);
    for w in super::words(text) {
        words += 1;
        caps += usize::from(w.chars().next().is_some_and(char::is_uppercase));
    }
    let wf = words.max(1) as f32;
    TextStats {
        chars,
        words,
        density,
        ends_sentence: super::ends_sentence(text),
        upper_first: text.chars().next().is_some_and(char::is_uppercase),
        digits: digits as f32 / chars.max(1) as f32,
        punct_per_word: punct as f32 / wf,
        capital_words: caps as f32 / wf,
        odds,
    }
}

/// The head of a block's text that its stop-word density and word odds are read from:
/// trimmed, lower-cased into `lower`, its first [`super::DENSITY_SAMPLE`] bytes cut at a
/// space.
pub(super) fn lower_head<'a>(text: &str, lower: &'a mut String) -> &'a str {
    lower.clear();
    crate::text::lower::push_lowercase(lower, text.trim());
    let lower = lower.as_str();
    match lower.as_bytes().get(..super::DENSITY_SAMPLE) {
        Some(head) => head
            .iter()
            .rposition(|&b| b == b' ')
            .map_or(lower, |cut| &lower[..cut]),
        None => lower,
    }
}

/// Sums over one region element.
#[derive(Clone, Copy, Default)]
struct Region {
    bytes: usize,
    kept: usize,
    links: f32,
    blocks: usize,
}

fn ln1(n: usize) -> f32 {
    (n as f32).ln_1p()
}

fn b(x: bool) -> f32 {
    f32::from(u8::from(x))
}

/// Features of every block of a page, row-major (`BASE + words.len()` per block), and the
/// blocks' [`Layout`] (whose templates the features read, and the context features after
/// them). `classes` and `keep` are the rules' verdict, `words` the model's class/id words.
///
/// Long because it writes each row in the order of [`NAMES`], the model's feature list: split,
/// that list would be split too.
pub(super) fn page_features(
    blocks: &[View<'_>],
    classes: &[Class<'_>],
    keep: &[bool],
    lex: &Lexicon,
    words: &[String],
    vocab: &Vocab,
    kind: &PageKind,
) -> (Vec<f32>, Layout) {
    let main = super::main_container(blocks, keep);
    let n = blocks.len();
    let nf = BASE + words.len();
    let mut lower = String::new();
    let stats: Vec<TextStats> = blocks
        .iter()
        .map(|b| text_stats(b.text, lex, vocab, &mut lower))
        .collect();
    let mut regions: FxHashMap<u32, Region> = FxHashMap::default();
    let layout = Layout::of(blocks);
    let templates = layout.templates();
    let mut groups: FxHashMap<u64, Region> = FxHashMap::default();
    let (mut total, mut kept_total, mut link_total) = (0usize, 0usize, 0f32);
    let (mut dens_sum, mut dens_w) = (0f32, 0f32);
    let (mut lis, mut heads) = (0usize, 0usize);
    for (i, bl) in blocks.iter().enumerate() {
        let len = bl.text.len();
        total += len;
        link_total += bl.link_ratio * len as f32;
        lis += usize::from(bl.tag == "li");
        heads += usize::from(bl.heading.is_some());
        if keep[i] {
            kept_total += len;
        }
        if stats[i].words >= 10 {
            dens_sum += stats[i].density * len as f32;
            dens_w += len as f32;
        }
        let g = groups.entry(templates[i]).or_default();
        g.bytes += len;
        g.blocks += 1;
        g.links += bl.link_ratio * len as f32;
        for id in bl.path {
            let r = regions.entry(*id).or_default();
            r.bytes += len;
            r.blocks += 1;
            r.links += bl.link_ratio * len as f32;
            if keep[i] {
                r.kept += len;
            }
        }
    }
    let totalf = total.max(1) as f32;
    let nn = n.max(1) as f32;
    let page = [
        kept_total as f32 / totalf,
        link_total / totalf,
        if dens_w > 0.0 { dens_sum / dens_w } else { 0.0 },
        ln1(n),
        lis as f32 / nn,
        heads as f32 / nn,
    ];
    let word_ids: FxHashMap<&str, usize> = words
        .iter()
        .enumerate()
        .map(|(k, w)| (w.as_str(), k))
        .collect();
    let mut out = vec![0f32; n * nf];
    let mut before = 0usize;
    let mut section = 0f32;
    for i in 0..n {
        let bl = &blocks[i];
        let st = &stats[i];
        let f = &mut out[i * nf..(i + 1) * nf];
        let mut k = 0;
        let mut put = |v: f32| {
            f[k] = v;
            k += 1;
        };
        put(ln1(st.chars));
        put(ln1(st.words));
        put(st.density);
        put(bl.link_ratio);
        put(b(st.ends_sentence));
        put(b(st.upper_first));
        put(st.digits);
        put(st.punct_per_word);
        put(st.capital_words);
        put(st.odds.mean);
        put(st.odds.min);
        put(st.odds.max);
        put(st.odds.known);
        if bl.heading.is_some() {
            section = st.odds.mean;
        }
        put(section);
        put(bl.heading.map_or(0.0, f32::from));
        put(b(bl.in_list));
        put(b(bl.pre));
        let tag = bl.tag;
        put(b(tag == "p"));
        put(b(tag == "li"));
        put(b(tag == "td" || tag == "th"));
        put(b(tag == "div"));
        put(b(tag == "dt" || tag == "dd"));
        put(b(!matches!(
            tag,
            "p" | "li" | "td" | "th" | "div" | "dt" | "dd"
        ) && bl.heading.is_none()));
        let c = &classes[i];
        put(b(keep[i]));
        put(b(*c == Class::Good));
        put(b(*c == Class::NearGood));
        put(b(*c == Class::Short));
        put(b(matches!(c, Class::Bad(_))));
        put(b(matches!(c, Class::Cue(_))));
        put(b(*c == Class::Bad("html-hint")));
        put(b(*c == Class::Bad("links")));
        put(bl.path.len() as f32);
        put(i as f32 / nn);
        put(before as f32 / totalf);
        before += bl.text.len();
        put(b(main.is_some_and(|m| bl.path.contains(&m))));
        put(b(bl.in_article()));
        // The template's records: how many, their share of the page, links and length.
        let g = groups.get(&templates[i]).copied().unwrap_or_default();
        put(ln1(g.blocks));
        put(g.bytes as f32 / totalf);
        put(g.links / g.bytes.max(1) as f32);
        put(ln1(g.bytes / g.blocks.max(1)));
        // Neighbours.
        for j in [i.checked_sub(1), Some(i + 1)] {
            match j.filter(|&j| j < n) {
                Some(j) => {
                    put(b(keep[j]) + 1.0);
                    put(blocks[j].link_ratio);
                    put(ln1(stats[j].chars));
                    put(b(blocks[j].tag == tag));
                }
                None => {
                    put(0.0);
                    put(-1.0);
                    put(-1.0);
                    put(-1.0);
                }
            }
            let j2 = if j == Some(i + 1) {
                Some(i + 2)
            } else {
                i.checked_sub(2)
            };
            put(j2.filter(|&j| j < n).map_or(0.0, |j| b(keep[j]) + 1.0));
        }
        // The innermost three regions: how much of them the rules kept (without this
        // block), their size and link share.
        let len = bl.text.len();
        for (depth, r) in bl.path.iter().rev().take(3).enumerate() {
            let r = regions.get(r).copied().unwrap_or_default();
            let others = r.bytes.saturating_sub(len);
            let kept_others = r.kept.saturating_sub(if keep[i] { len } else { 0 });
            put(if others == 0 {
                -1.0
            } else {
                kept_others as f32 / others as f32
            });
            put(ln1(r.bytes));
            if depth < 2 {
                put(ln1(r.blocks));
                put(r.links / r.bytes.max(1) as f32);
            }
        }
        // Fewer than three regions: the missing ones stay 0 except their kept share.
        let missing = 3usize.saturating_sub(bl.path.len());
        let filled = 3 - missing;
        let mut at = k;
        for depth in filled..3 {
            f[at] = -1.0;
            at += if depth < 2 { 4 } else { 2 };
        }
        k = at;
        for v in page.into_iter().chain(kind.0) {
            f[k] = v;
            k += 1;
        }
        debug_assert_eq!(k, BASE);
        for h in bl.hints {
            if let Some(&w) = word_ids.get(h.as_str()) {
                f[BASE + w] = 1.0;
            }
        }
    }
    (out, layout)
}
