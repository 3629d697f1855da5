//! `eval metadata`: decode's page title, author and date against the benchmarks' gold
//! (WCXB and trafilatura's pages), on the pages whose gold has the field. Exact after
//! lower-casing and collapsing white space; authors compared as sets of names; dates by
//! their `YYYY-MM-DD`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;

use textpipe_stages::decode::ranker::Ranker;
use textpipe_stages::decode::{author, date, title};
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

/// One page's candidates for a field (author or date), their feature rows and whether
/// each matches the gold.
pub struct Picks<const N: usize> {
    /// The page's id.
    pub id: String,
    /// The page's site: folds never split one.
    pub domain: String,
    /// WCXB or trafilatura's pages.
    pub bench: &'static str,
    /// Each candidate's value (a name, a `YYYY-MM-DD`).
    pub values: Vec<String>,
    /// One row per candidate.
    pub rows: Vec<[f32; N]>,
    /// Per candidate: it matches the gold.
    pub labels: Vec<bool>,
    /// What decode gives when no candidate is chosen (a date as written, the title by the
    /// old order of sources).
    pub fallback: Option<String>,
    /// The gold value.
    pub gold: String,
}

impl<const N: usize> Picks<N> {
    /// What decode gives the page with `model`.
    pub fn choose(&self, model: &Ranker<N>) -> String {
        (model.best(&self.rows))
            .map(|i| self.values[i].clone())
            .or_else(|| self.fallback.clone())
            .unwrap_or_default()
    }
}

/// The author, date and title candidates of the pages whose gold has each.
pub type MetaPicks = (
    Vec<Picks<{ author::FEATURES.len() }>>,
    Vec<Picks<{ date::FEATURES.len() }>>,
    Vec<Picks<{ title::FEATURES.len() }>>,
);

/// One page's [`Picks`] for field `k` (1 author, 2 date).
fn picks<const N: usize>(
    p: &Page,
    bench: &'static str,
    values: Vec<String>,
    rows: Vec<[f32; N]>,
    fallback: Option<String>,
    gold: &str,
    k: usize,
) -> Picks<N> {
    Picks {
        id: p.id.clone(),
        domain: p.domain.clone(),
        bench,
        labels: values.iter().map(|v| matches(k, v, gold)).collect(),
        values,
        rows,
        fallback,
        gold: gold.to_string(),
    }
}

/// Each page's author and date candidates, where its gold has the field.
pub fn meta_picks(pages: &[Page]) -> MetaPicks {
    let dec = Decoder::new(DecodeOptions::default());
    let (mut authors, mut dates, mut titles) = (Vec::new(), Vec::new(), Vec::new());
    for p in pages {
        let Some(c) = dec.meta_candidates(&p.raw, p.url.as_deref()) else {
            continue;
        };
        let (a, d, t) = (c.authors, c.dates, c.titles);
        let bench = if p.page_type == "page" {
            "trafilatura"
        } else {
            "wcxb"
        };
        if let Some(g) = &p.meta[0] {
            let values = t.cands.iter().map(|c| c.text.clone()).collect();
            titles.push(picks(p, bench, values, t.rows(), t.fallback.clone(), g, 0));
        }
        if let Some(g) = &p.meta[1] {
            let values = a.cands.iter().map(|c| c.name.clone()).collect();
            authors.push(picks(p, bench, values, a.rows(), None, g, 1));
        }
        if let Some(g) = &p.meta[2] {
            let values = d.cands.iter().map(|c| c.date.clone()).collect();
            dates.push(picks(p, bench, values, d.rows(), d.raw.clone(), g, 2));
        }
    }
    (authors, dates, titles)
}

/// A ranker fitted to the candidates of the pages `keep` admits.
pub fn train_picks<const N: usize>(
    pages: &[Picks<N>],
    keep: impl Fn(&Picks<N>) -> bool,
) -> Ranker<N> {
    let kept: Vec<_> = (pages.iter())
        .filter(|p| keep(p))
        .map(|p| (p.rows.as_slice(), p.labels.as_slice()))
        .collect();
    Ranker::train(&kept)
}

/// The model file `textpipe train FIELD` writes for `field` (`title`, `author` or `date`)
/// and the number of pages with its gold: trained on them all but the set-aside tenth of
/// the sites, so that `eval metadata` can report that tenth apart. `None` for another
/// field.
pub fn model_text(picks: &MetaPicks, field: &str) -> Option<(String, usize)> {
    let keep = |d: &str| !crate::lang::held_out(d);
    let (authors, dates, titles) = picks;
    Some(match field {
        "author" => (
            train_picks(authors, |p| keep(&p.domain)).to_text(field, &author::FEATURES),
            authors.len(),
        ),
        "date" => (
            train_picks(dates, |p| keep(&p.domain)).to_text(field, &date::FEATURES),
            dates.len(),
        ),
        "title" => (
            train_picks(titles, |p| keep(&p.domain)).to_text(field, &title::FEATURES),
            titles.len(),
        ),
        _ => return None,
    })
}

/// (bench, set-aside) → (right, of, pages where a candidate is right).
type Tallies = std::collections::BTreeMap<(&'static str, bool), (usize, usize, usize)>;

/// Cross-validates one field's ranker: trained on K−1 folds of the sites (never the
/// set-aside tenth), scored on the held-out fold; the set-aside sites scored by a model
/// trained on all the others. `k` is the field's index in [`FIELDS`]; misses of the tuned
/// part go to `misses`.
fn cv_field<const N: usize>(
    picks: &[Picks<N>],
    folds: usize,
    k: usize,
    misses: &mut Vec<serde_json::Value>,
) -> Tallies {
    let held = |p: &Picks<N>| crate::lang::held_out(&p.domain);
    let fold = |p: &Picks<N>| crate::lang::fold_of(&p.domain, folds);
    let mut counts = Tallies::new();
    let mut tally = |p: &Picks<N>, m: &Ranker<N>| {
        let got = p.choose(m);
        let c = counts.entry((p.bench, held(p))).or_default();
        let ok = matches(k, &got, &p.gold);
        if !ok && !held(p) {
            misses.push(
                json!({"id": p.id, "field": FIELDS[k], "got": got, "want": p.gold,
                "candidate_right": p.labels.contains(&true), "candidates": p.values}),
            );
        }
        c.0 += usize::from(ok);
        c.1 += 1;
        c.2 += usize::from(p.labels.contains(&true));
    };
    for f in 0..folds {
        let m = train_picks(picks, |p| !held(p) && fold(p) != f);
        for p in picks.iter().filter(|p| !held(p) && fold(p) == f) {
            tally(p, &m);
        }
    }
    let m = train_picks(picks, |p| !held(p));
    for p in picks.iter().filter(|p| held(p)) {
        tally(p, &m);
    }
    counts
}

/// `eval metadata --folds K`: the author, date and title models cross-validated by site
/// ([`cv_field`]).
pub fn metadata_cv(golds: &[PathBuf], folds: usize) -> Result<Report, EvalError> {
    let pages = read_pages(golds)?;
    let (authors, dates, titles) = meta_picks(&pages);
    if (titles.is_empty() && authors.is_empty() && dates.is_empty()) || folds < 2 {
        return Err(EvalError::Gold {
            path: format!("{golds:?}"),
            message: "no page has title, author or date gold, or fewer than 2 folds".into(),
        });
    }
    let mut misses = Vec::new();
    let mut text = format!(
        "author, date and title models ({folds} folds by site; oracle: a candidate is right):\n"
    );
    let mut figures = serde_json::Map::new();
    for (field, counts) in [
        ("author", cv_field(&authors, folds, 1, &mut misses)),
        ("date", cv_field(&dates, folds, 2, &mut misses)),
        ("title", cv_field(&titles, folds, 0, &mut misses)),
    ] {
        for ((bench, aside), (right, of, oracle)) in &counts {
            let name = format!("{bench}{}", if *aside { ", set-aside" } else { ", cv" });
            let rate = *right as f64 / *of as f64;
            text.push_str(&format!(
                "  {name:<22} {field:<7} {right:>5}/{of:<5} {rate:.3}   oracle {:.3}\n",
                *oracle as f64 / *of as f64
            ));
            figures.insert(
                format!("{name}.{field}"),
                json!({"right": right, "of": of, "rate": rate, "oracle": oracle}),
            );
        }
    }
    Ok(Report {
        json: json!({"task": "metadata-cv", "figures": figures, "misses": misses}),
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
