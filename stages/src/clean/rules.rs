//! The rules' verdict over a page: context keeps headlines followed by article text and
//! short text between kept blocks, the main container keeps its short lines, and the
//! article ends at a comment form, share box or footer after most of the kept text. The
//! content model reads this verdict as some of its features.

use super::classify::{Class, View};
use super::Cleaner;

impl Cleaner {
    /// The block where the article ends (see pass 3 of [`Cleaner::decide`]), if any.
    pub(super) fn article_end(
        &self,
        blocks: &[View<'_>],
        classes: &[Class],
        keep: &[bool],
    ) -> Option<usize> {
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

    /// The rules' verdict: each block's class, whether it is kept, and the reason if not.
    ///
    /// One function because its passes share the class and keep vectors, each reading what the
    /// one before decided.
    pub(super) fn rules(
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
            let words = super::words(text).count();
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

/// A good paragraph outside the main container after its end is kept from this length on.
pub(super) const SPLIT_ARTICLE_BYTES: usize = 250;

/// Share of the kept text that the main container must hold.
pub(super) const MAIN_SHARE: usize = 70;

/// The main container (HTML): the deepest region element holding [`MAIN_SHARE`] percent of
/// the kept text. Containers holding over half of it nest, so the deepest is well defined.
pub(super) fn main_container(blocks: &[View<'_>], keep: &[bool]) -> Option<u32> {
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

pub(super) fn keep_prev_or_next(prev: Option<bool>, next: Option<bool>) -> bool {
    prev == Some(true) || next == Some(true)
}
