//! `eval metadata`: decode's page title, author and date against the benchmarks' gold
//! (WCXB and trafilatura's pages), on the pages whose gold has the field. Exact after
//! lower-casing and collapsing white space; authors compared as sets of names; dates by
//! their `YYYY-MM-DD`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;

use textpipe_stages::decode::author::{AuthorModel, AuthorPage, FEATURES};
use textpipe_stages::decode::ranker::Ranker;
use textpipe_stages::decode::{DecodeOptions, Decoder};

use crate::clean::{decode_pages, read_pages, Page};
use crate::{EvalError, Report};

/// The fields scored, in the order of [`crate::clean::Page::meta`].
const FIELDS: [&str; 3] = ["title", "author", "date"];

/// Lower-cased, white space collapsed, typographic quotes and dashes made plain.
fn norm(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '’' | '‘' => '\'',
            '“' | '”' => '"',
            '–' | '—' => '-',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names of an author field: split at commas, semicolons, "and", "&" and "|".
fn names(s: &str) -> BTreeSet<String> {
    let s = norm(s).replace(" and ", ",").replace(" & ", ",");
    s.split([',', ';', '|'])
        .map(|n| n.trim().trim_start_matches("by ").trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The first `YYYY-MM-DD` in `s`.
fn ymd(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && w[4] == b'-' && digits(5..7) && w[7] == b'-' && digits(8..10))
            .then(|| s[i..i + 10].to_string())
    })
}

/// Whether `got` matches `want` for field `k` (0 title, 1 author, 2 date).
pub fn matches(k: usize, got: &str, want: &str) -> bool {
    match k {
        0 => norm(got) == norm(want),
        1 => names(got) == names(want),
        _ => ymd(got).is_some() && ymd(got) == ymd(want),
    }
}

/// Scores decode's metadata on the pages of `golds` (clean benchmark JSONL files).
pub fn metadata(golds: &[PathBuf]) -> Result<Report, EvalError> {
    let pages = read_pages(golds)?;
    let decoded = decode_pages(&pages);
    // Per benchmark (WCXB when the page has a type, else trafilatura) and field: (right, of).
    let mut counts: std::collections::BTreeMap<(&str, usize), (usize, usize)> = Default::default();
    let mut misses = Vec::new();
    for d in &decoded {
        // The set-aside tenth of the sites (as for clean) is reported apart: the rules were
        // written looking at the other pages' misses only.
        let held = crate::lang::held_out(&d.page.domain);
        let bench = match (d.page.page_type == "page", held) {
            (true, false) => "trafilatura",
            (true, true) => "trafilatura, set-aside",
            (false, false) => "wcxb",
            (false, true) => "wcxb, set-aside",
        };
        for (k, want) in d.page.meta.iter().enumerate() {
            let Some(want) = want else { continue };
            let got = d
                .doc
                .meta
                .get(FIELDS[k])
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let ok = matches(k, got, want);
            let c = counts.entry((bench, k)).or_default();
            c.0 += usize::from(ok);
            c.1 += 1;
            if !ok && !held {
                misses.push(json!({"id": d.page.id, "field": FIELDS[k], "got": got, "want": want}));
            }
        }
    }
    if counts.is_empty() {
        return Err(EvalError::Gold {
            path: format!("{golds:?}"),
            message: "no page has title, author or date gold".into(),
        });
    }
    let mut text = String::from(
        "metadata (exact after lower-casing; authors as name sets; dates as YYYY-MM-DD):\n",
    );
    let mut figures = serde_json::Map::new();
    for ((bench, k), (right, of)) in &counts {
        let rate = *right as f64 / *of as f64;
        text.push_str(&format!(
            "  {bench:<22} {:<7} {right:>5}/{of:<5} {rate:.3}\n",
            FIELDS[*k]
        ));
        figures.insert(
            format!("{bench}.{}", FIELDS[*k]),
            json!({"right": right, "of": of, "rate": rate}),
        );
    }
    Ok(Report {
        json: json!({"task": "metadata", "figures": figures, "misses": misses}),
        text,
    })
}

/// One page's author candidates, their feature rows and whether each is the gold author.
pub struct AuthorRows {
    /// The page's id.
    pub id: String,
    /// The page's site: folds never split one.
    pub domain: String,
    /// WCXB or trafilatura's pages.
    pub bench: &'static str,
    /// The candidates (their names and what the model reads).
    pub page: AuthorPage,
    /// One row per candidate.
    pub rows: Vec<[f32; FEATURES.len()]>,
    /// Per candidate: it matches the gold author.
    pub labels: Vec<bool>,
    /// The gold author.
    pub gold: String,
}

/// The author candidates of the pages whose gold names an author.
pub fn author_rows(pages: &[Page]) -> Vec<AuthorRows> {
    let dec = Decoder::new(DecodeOptions::default());
    pages
        .iter()
        .filter_map(|p| {
            let gold = p.meta[1].clone()?;
            let page = dec.author_page(&p.raw, p.url.as_deref())?;
            let rows = page.rows();
            let labels = page
                .cands
                .iter()
                .map(|c| matches(1, &c.name, &gold))
                .collect();
            Some(AuthorRows {
                id: p.id.clone(),
                domain: p.domain.clone(),
                bench: if p.page_type == "page" {
                    "trafilatura"
                } else {
                    "wcxb"
                },
                page,
                rows,
                labels,
                gold,
            })
        })
        .collect()
}

/// The author model fitted to the candidates of the pages `keep` admits.
pub fn train_author(pages: &[AuthorRows], keep: impl Fn(&AuthorRows) -> bool) -> AuthorModel {
    let kept: Vec<_> = (pages.iter())
        .filter(|p| keep(p))
        .map(|p| (p.rows.as_slice(), p.labels.as_slice()))
        .collect();
    Ranker::train(&kept)
}

/// `eval metadata --folds K`: the author model trained on K−1 folds of the sites (the
/// set-aside tenth never among them) and scored on the held-out fold; the set-aside
/// sites scored by a model trained on all the others. Title and date have no model.
pub fn author_cv(golds: &[PathBuf], folds: usize) -> Result<Report, EvalError> {
    let pages = read_pages(golds)?;
    let rows = author_rows(&pages);
    if rows.is_empty() || folds < 2 {
        return Err(EvalError::Gold {
            path: format!("{golds:?}"),
            message: "no page has author gold, or fewer than 2 folds".into(),
        });
    }
    let held = |p: &AuthorRows| crate::lang::held_out(&p.domain);
    let fold = |p: &AuthorRows| crate::lang::fold_of(&p.domain, folds);
    // (bench, set-aside) → (right, of, with a candidate right)
    let mut counts: std::collections::BTreeMap<(&str, bool), (usize, usize, usize)> =
        Default::default();
    let mut misses = Vec::new();
    let mut tally = |p: &AuthorRows, m: &AuthorModel| {
        let got = p.page.choose(m).unwrap_or_default();
        let c = counts.entry((p.bench, held(p))).or_default();
        let ok = matches(1, &got, &p.gold);
        if !ok && !held(p) {
            let right: Vec<&str> = (p.page.cands.iter().zip(&p.labels))
                .filter(|(_, &l)| l)
                .map(|(c, _)| c.name.as_str())
                .collect();
            misses.push(
                json!({"id": p.id, "got": got, "want": p.gold, "candidate_right": !right.is_empty()}),
            );
        }
        c.0 += usize::from(ok);
        c.1 += 1;
        c.2 += usize::from(p.labels.iter().any(|&l| l));
    };
    for f in 0..folds {
        let m = train_author(&rows, |p| !held(p) && fold(p) != f);
        for p in rows.iter().filter(|p| !held(p) && fold(p) == f) {
            tally(p, &m);
        }
    }
    let m = train_author(&rows, |p| !held(p));
    for p in rows.iter().filter(|p| held(p)) {
        tally(p, &m);
    }
    let mut text = format!("author ({folds} folds by site; `oracle`: a candidate is right):\n");
    let mut figures = serde_json::Map::new();
    for ((bench, aside), (right, of, oracle)) in &counts {
        let name = format!("{bench}{}", if *aside { ", set-aside" } else { ", cv" });
        let rate = *right as f64 / *of as f64;
        text.push_str(&format!(
            "  {name:<22} {right:>5}/{of:<5} {rate:.3}   oracle {:.3}\n",
            *oracle as f64 / *of as f64
        ));
        figures.insert(
            name,
            json!({"right": right, "of": of, "rate": rate, "oracle": oracle}),
        );
    }
    Ok(Report {
        json: json!({"task": "metadata-author-cv", "figures": figures, "misses": misses}),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_compare_as_the_benchmark_reads_them() {
        assert!(matches(0, "Top 10  Health Trends", "top 10 health trends"));
        assert!(matches(1, "Jane Doe and John Roe", "John Roe, Jane Doe"));
        assert!(!matches(1, "admin", "Jane Doe"));
        assert!(matches(2, "2025-09-04T10:00:00+00:00", "2025-09-04"));
        assert!(!matches(2, "", "2025-09-04"));
    }
}
