//! The content model's second look: each block's features beside what the first model
//! thought of its neighbours, its regions, its siblings and the whole page ("auto-context",
//! stacked learning). A list item the first model was unsure of is kept when the other
//! items of its list look like content; a lone paragraph inside a sidebar is dropped when
//! the rest of the sidebar does not.

use rustc_hash::FxHashMap;

use super::View;

/// Names of the context features, in order (for reading the model).
pub const NAMES: &[&str] = &[
    "p",
    "p_prev",
    "p_next",
    "p_prev2",
    "p_next2",
    "region1_mean",
    "region1_max",
    "region2_mean",
    "region2_max",
    "region3_mean",
    "region3_max",
    "siblings_mean",
    "siblings_log_n",
    "page_mean",
    "page_share_likely",
    "page_max",
    "p_over_max",
    "share_above",
    "likely_before",
    "template_mean",
    "template_max",
];

/// Number of context features.
pub const WIDTH: usize = NAMES.len();

/// What the context features read of a page's blocks: each block's words, tag and
/// enclosing regions (owned, so a training page keeps it without its blocks).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    words: Vec<u32>,
    tags: Vec<u64>,
    templates: Vec<u64>,
    /// Region ids of all blocks, outermost first, block `i` at `ends[i-1]..ends[i]`.
    paths: Vec<u32>,
    ends: Vec<u32>,
}

impl Layout {
    /// The layout of a page's blocks.
    pub fn of(blocks: &[View<'_>]) -> Self {
        let mut l = Layout::default();
        for b in blocks {
            l.words.push(super::words(b.text).count() as u32);
            l.tags.push(pipeline_core::stable_hash(b.tag.as_bytes()));
            l.templates.push(b.template());
            l.paths.extend_from_slice(b.path);
            l.ends.push(l.paths.len() as u32);
        }
        l
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Each block's number of words.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Each block's [`View::template`].
    pub fn templates(&self) -> &[u64] {
        &self.templates
    }

    /// True for a page without blocks.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn path(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.paths[start..self.ends[i] as usize]
    }
}

/// Weighted probability sums of a group of blocks, with its two highest probabilities (so
/// each member can be given the group's figures without itself).
#[derive(Clone, Copy)]
struct Group {
    pw: f32,
    w: f32,
    n: u32,
    max: f32,
    arg: usize,
    second: f32,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            pw: 0.0,
            w: 0.0,
            n: 0,
            max: -1.0,
            arg: usize::MAX,
            second: -1.0,
        }
    }
}

impl Group {
    fn add(&mut self, i: usize, p: f32, w: f32) {
        self.pw += p * w;
        self.w += w;
        self.n += 1;
        if p > self.max {
            self.second = self.max;
            self.max = p;
            self.arg = i;
        } else if p > self.second {
            self.second = p;
        }
    }

    /// Mean and maximum over the group without block `i` (−1 when it is alone).
    fn without(&self, i: usize, p: f32, w: f32) -> (f32, f32) {
        let rest = self.w - w;
        if self.n <= 1 || rest <= 0.0 {
            return (-1.0, -1.0);
        }
        let max = if self.arg == i { self.second } else { self.max };
        ((self.pw - p * w) / rest, max)
    }
}

/// Likely content: what the share and position features count.
const LIKELY: f32 = 0.5;

/// The context features of every block (row-major, [`WIDTH`] per block) given the first
/// model's probability `p` of each.
pub fn features(layout: &Layout, p: &[f32]) -> Vec<f32> {
    let n = layout.len().min(p.len());
    // Each block weighs its words, at least one.
    let w: Vec<f32> = layout.words.iter().map(|&n| n.max(1) as f32).collect();
    let mut regions: FxHashMap<u32, Group> = FxHashMap::default();
    let mut siblings: FxHashMap<(u32, u64), Group> = FxHashMap::default();
    let mut templates: FxHashMap<u64, Group> = FxHashMap::default();
    let (mut page, mut likely, mut total) = (Group::default(), 0f32, 0f32);
    for i in 0..n {
        for &r in layout.path(i) {
            regions.entry(r).or_default().add(i, p[i], w[i]);
        }
        let inner = layout.path(i).last().copied().unwrap_or(u32::MAX);
        siblings
            .entry((inner, layout.tags[i]))
            .or_default()
            .add(i, p[i], w[i]);
        templates
            .entry(layout.templates[i])
            .or_default()
            .add(i, p[i], w[i]);
        page.add(i, p[i], w[i]);
        total += w[i];
        if p[i] >= LIKELY {
            likely += w[i];
        }
    }
    // Words of blocks more likely than each block: sort once, sum in order.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut above = vec![0f32; n];
    let mut acc = 0f32;
    let mut k = 0;
    while k < n {
        // Ties share the words strictly above them.
        let mut end = k;
        while end < n && p[order[end]] == p[order[k]] {
            end += 1;
        }
        for &i in &order[k..end] {
            above[i] = acc;
        }
        for &i in &order[k..end] {
            acc += w[i];
        }
        k = end;
    }
    let total = total.max(1.0);
    let page_mean = page.pw / page.w.max(1.0);
    let mut out = vec![0f32; n * WIDTH];
    let mut likely_before = 0f32;
    for i in 0..n {
        let f = &mut out[i * WIDTH..(i + 1) * WIDTH];
        let at = |j: Option<usize>| j.filter(|&j| j < n).map_or(-1.0, |j| p[j]);
        f[0] = p[i];
        f[1] = at(i.checked_sub(1));
        f[2] = at(Some(i + 1));
        f[3] = at(i.checked_sub(2));
        f[4] = at(Some(i + 2));
        let path = layout.path(i);
        for d in 0..3 {
            let (mean, max) = match path.len().checked_sub(d + 1) {
                Some(k) => regions[&path[k]].without(i, p[i], w[i]),
                None => (-1.0, -1.0),
            };
            f[5 + 2 * d] = mean;
            f[6 + 2 * d] = max;
        }
        let inner = path.last().copied().unwrap_or(u32::MAX);
        let sib = siblings[&(inner, layout.tags[i])];
        f[11] = sib.without(i, p[i], w[i]).0;
        f[12] = (sib.n as f32).ln();
        f[13] = page_mean;
        f[14] = likely / total;
        f[15] = page.max;
        f[16] = p[i] / page.max.max(1e-6);
        f[17] = above[i] / total;
        f[18] = if likely > 0.0 {
            likely_before / likely
        } else {
            -1.0
        };
        if p[i] >= LIKELY {
            likely_before += w[i];
        }
        let (mean, max) = templates[&layout.templates[i]].without(i, p[i], w[i]);
        f[19] = mean;
        f[20] = max;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(text: &'a str, tag: &'a str, path: &'a [u32]) -> View<'a> {
        View {
            text,
            heading: None,
            hints: &[],
            link_ratio: 0.0,
            path,
            pre: false,
            tag,
            in_list: tag == "li",
        }
    }

    #[test]
    fn siblings_and_regions_exclude_the_block_itself() {
        let (nav, list) = ([1u32, 2], [1u32, 3]);
        let blocks = [
            view("Home News Sport", "li", &nav),
            view("First item of the list with words", "li", &list),
            view("Second item of the list", "li", &list),
            view("Third item", "li", &list),
        ];
        let layout = Layout::of(&blocks);
        let p = [0.1, 0.9, 0.3, 0.6];
        let f = features(&layout, &p);
        let row = |i: usize| &f[i * WIDTH..(i + 1) * WIDTH];
        // The second item: its siblings are the first (0.9, 7 words) and third (0.6, 2).
        let want = (0.9 * 7.0 + 0.6 * 2.0) / 9.0;
        assert!((row(2)[11] - want).abs() < 1e-5, "{}", row(2)[11]);
        assert_eq!(row(2)[6], 0.9, "innermost region's best other block");
        assert_eq!(row(1)[6], 0.6, "without itself, the best is the third");
        // The nav item has no siblings and is alone in its region.
        assert_eq!((row(0)[11], row(0)[5]), (-1.0, -1.0));
        // Neighbours, page maximum, words above.
        assert_eq!((row(0)[1], row(0)[2], row(3)[2]), (-1.0, 0.9, -1.0));
        assert_eq!(row(0)[15], 0.9);
        assert_eq!(row(1)[17], 0.0, "nothing is likelier than the likeliest");
        assert!(
            row(0)[17] > 0.8,
            "almost every word is likelier than the nav"
        );
        // Likely content before: the last item comes after the first (7 of 9 likely words).
        assert!((row(3)[18] - 7.0 / 9.0).abs() < 1e-5, "{}", row(3)[18]);
    }

    #[test]
    fn records_of_one_template_share_it_whatever_their_ids() {
        let hints = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (a, b, c) = (
            hints(&["post", "post-1234", "topic-body"]),
            hints(&["post", "post-99", "topic-body"]),
            hints(&["sidebar", "widget"]),
        );
        let blocks = [
            View {
                hints: &a,
                ..view("First post of the thread, long enough", "p", &[1, 2])
            },
            View {
                hints: &b,
                ..view("A reply that agrees", "p", &[1, 3])
            },
            View {
                hints: &c,
                ..view("Popular this week", "p", &[1, 4])
            },
        ];
        assert_eq!(blocks[0].template(), blocks[1].template());
        assert_ne!(blocks[0].template(), blocks[2].template());
        let f = features(&Layout::of(&blocks), &[0.9, 0.4, 0.2]);
        let row = |i: usize| &f[i * WIDTH..(i + 1) * WIDTH];
        // The reply's other record is the first post; the widget has none.
        assert_eq!((row(1)[19], row(1)[20]), (0.9, 0.9));
        assert_eq!((row(2)[19], row(2)[20]), (-1.0, -1.0));
    }
}
