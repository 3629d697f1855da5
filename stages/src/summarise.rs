//! Stage `summarise`: extractive summaries. Sentences are TF-IDF vectors of stemmed content
//! words; a cosine-similarity graph is ranked with PageRank (TextRank/LexRank); the rank is
//! blended with a lead-position prior (news put the main fact first) and with overlap with
//! the title and keywords when present; MMR picks sentences so the summary does not repeat
//! itself. Chosen sentences are returned in document order.

use std::sync::Arc;

use pipeline_core::{
    BuildContext, Document, OptionsError, Outcome, PreparedStage, Span, Stage, StageError, Summary,
    TypedFactory,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::segment::Segmenter;

pipeline_core::options! {
    /// Options of the `summarise` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct SummariseOptions {
        /// Number of sentences (when ratio and max_chars are 0).
        pub sentences: usize = 3,
        /// Share of the document's sentences, e.g. 0.2 (0: off).
        pub ratio: f32 = 0.0,
        /// Longest summary in characters, e.g. 600 (0: off).
        pub max_chars: usize = 0,
        /// Weight of the lead-position prior (0: centrality only, 1: lead-N).
        pub position_weight: f32 = 0.4,
        /// Weight of overlap with the title (meta.title) and keywords.
        pub title_weight: f32 = 0.2,
        /// MMR: relevance (1) versus novelty (0).
        pub mmr_lambda: f32 = 0.7,
        /// Preference for informative (longer) sentences, saturating at 25 words.
        pub length_weight: f32 = 0.7,
        /// Sentences with fewer words are not chosen.
        pub min_words: usize = 8,
        /// Stem words (Snowball, de/en by the document's language).
        pub stem: bool = true,
        /// Most sentences ranked; a longer document's are this many spread evenly over it (time and
        /// memory grow with its square).
        pub max_candidates: usize = 2000,
    }
}

/// The `summarise` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "summarise",
        "extractive summary: TextRank over TF-IDF sentence vectors, lead prior, title/keyword overlap, MMR",
        |o: SummariseOptions, _ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            if !(0.0..=1.0).contains(&o.ratio) {
                return Err(OptionsError::at("ratio", "must be between 0 and 1"));
            }
            if o.max_candidates == 0 || o.max_candidates > 20_000 {
                return Err(OptionsError::at(
                    "max_candidates",
                    "must be between 1 and 20000 (the ranking graph holds its square)",
                ));
            }
            if o.sentences == 0 && o.ratio == 0.0 && o.max_chars == 0 {
                return Err(OptionsError::at("sentences", "set sentences, ratio or max_chars"));
            }
            let s = Summariser { o, seg: Segmenter::new() };
            Ok(Arc::new(move || Ok(Box::new(s.clone()) as Box<dyn Stage>)))
        },
    )
    .with_needs(&["sentences"])
}

/// The summariser, usable outside a pipeline.
#[derive(Clone)]
pub struct Summariser {
    o: SummariseOptions,
    seg: Segmenter,
}

type Vector = Vec<(u32, f32)>;

fn dot(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// The cosine similarity of every pair of sentence vectors, as an `n × n` matrix. Only
/// pairs that share a term are touched: each term's sentences (its postings) add their
/// products, terms in increasing id, so every pair's sum is the one [`dot`] makes, bit for
/// bit, at a cost of Σ postings² instead of n² merges.
fn similarities(vecs: &[Vector], terms: usize) -> Vec<f32> {
    let n = vecs.len();
    let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); terms];
    for (i, v) in vecs.iter().enumerate() {
        for &(t, w) in v {
            postings[t as usize].push((i as u32, w));
        }
    }
    let mut sim = vec![0f32; n * n];
    for p in &postings {
        for (a, &(i, wi)) in p.iter().enumerate() {
            let row = i as usize * n;
            for &(j, wj) in &p[a + 1..] {
                sim[row + j as usize] += wi * wj;
            }
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            sim[j * n + i] = sim[i * n + j];
        }
    }
    sim
}

/// Term ids of one document: each distinct stem (or lower-cased word) its id in order of
/// first sight, and each surface word's id (`None` for a stop word). Over a `base`, it
/// reads the base's ids and gives new terms the ids after them, leaving the base as it is.
#[derive(Default)]
struct Terms<'b> {
    base: Option<&'b Terms<'b>>,
    terms: FxHashMap<String, u32>,
    words: FxHashMap<String, Option<u32>>,
    /// Ids given before this table's own (the base's terms).
    offset: u32,
}

impl<'b> Terms<'b> {
    fn over(base: &'b Terms<'b>) -> Self {
        Terms {
            base: Some(base),
            offset: base.len() as u32,
            ..Terms::default()
        }
    }

    /// Number of ids given, the base's included.
    fn len(&self) -> usize {
        self.offset as usize + self.terms.len()
    }

    fn word(&self, w: &str) -> Option<Option<u32>> {
        (self.words.get(w).copied()).or_else(|| self.base.and_then(|b| b.word(w)))
    }

    fn add_word(&mut self, w: &str, id: Option<u32>) {
        self.words.insert(w.to_string(), id);
    }

    /// The id of a term, a new one if neither this table nor the base has it.
    fn term(&mut self, t: &str) -> u32 {
        if let Some(&id) = self.terms.get(t) {
            return id;
        }
        if let Some(id) = self.base.and_then(|b| b.terms.get(t).copied()) {
            return id;
        }
        let id = self.len() as u32;
        self.terms.insert(t.to_string(), id);
        id
    }
}

impl Summariser {
    /// A summariser with the given options.
    pub fn new(o: SummariseOptions) -> Self {
        Summariser {
            o,
            seg: Segmenter::new(),
        }
    }

    /// Content-word term ids of a text (lower-cased, stemmed, stop words removed). `words`
    /// caches each distinct surface word's id, so each word is lower-cased and stemmed once;
    /// `ids` gives a term its id, new terms the next ones.
    fn terms(
        &self,
        text: &str,
        ids: &mut Terms<'_>,
        stemmer: Option<&rust_stemmers::Stemmer>,
    ) -> Vec<u32> {
        let stop = crate::text::stopwords::stopwords();
        let mut out = Vec::new();
        for w in text.split(|c: char| !c.is_alphanumeric()) {
            if w.len() < 2 || !w.chars().any(char::is_alphabetic) {
                continue;
            }
            if let Some(id) = ids.word(w) {
                out.extend(id);
                continue;
            }
            let lw = w.to_lowercase();
            let id = (!stop.contains(&lw)).then(|| match stemmer {
                Some(s) => ids.term(&s.stem(&lw)),
                None => ids.term(&lw),
            });
            ids.add_word(w, id);
            out.extend(id);
        }
        out
    }

    /// Indices of the chosen sentences (document order) for `sentences` of `text`.
    pub fn choose(
        &self,
        text: &str,
        sentences: &[Span],
        title: Option<&str>,
        keywords: &[String],
        lang: Option<&str>,
    ) -> Vec<usize> {
        let n = sentences.len();
        let want = if self.o.ratio > 0.0 {
            ((n as f32 * self.o.ratio).ceil() as usize).max(1)
        } else if self.o.max_chars > 0 {
            n
        } else {
            self.o.sentences
        };
        if n <= want && self.o.max_chars == 0 {
            return (0..n).collect();
        }
        // Every sentence, or `max_candidates` of them spread evenly over the document.
        let m = n.min(self.o.max_candidates.max(1));
        let picked: Vec<usize> = (0..m).map(|k| k * n / m).collect();
        let spans: Vec<Span> = picked.iter().map(|&i| sentences[i]).collect();
        (self
            .rank(text, &spans, &picked, want, title, keywords, lang)
            .into_iter())
        .map(|i| picked[i])
        .collect()
    }

    /// [`Summariser::choose`] over candidate `sentences` whose places in the document are
    /// `places`: indices into `sentences`.
    ///
    /// Long because its steps (vectors, similarities, PageRank, scores, MMR) share the same
    /// vectors; each step is commented.
    #[allow(clippy::too_many_arguments)]
    fn rank(
        &self,
        text: &str,
        sentences: &[Span],
        places: &[usize],
        want: usize,
        title: Option<&str>,
        keywords: &[String],
        lang: Option<&str>,
    ) -> Vec<usize> {
        let n = sentences.len();
        let stemmer = self.o.stem.then(|| {
            rust_stemmers::Stemmer::create(if lang == Some("en") {
                rust_stemmers::Algorithm::English
            } else {
                rust_stemmers::Algorithm::German
            })
        });
        let mut doc_terms = Terms::default();
        let sent_terms: Vec<Vec<u32>> = sentences
            .iter()
            .map(|s| self.terms(&text[s.start..s.end], &mut doc_terms, stemmer.as_ref()))
            .collect();
        let vocab_len = doc_terms.len();
        // Document frequency over sentences.
        let mut df = vec![0u32; vocab_len];
        for t in &sent_terms {
            let mut seen: Vec<u32> = t.clone();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                df[id as usize] += 1;
            }
        }
        let to_vec = |terms: &[u32]| -> Vector {
            // Term frequencies: the sorted ids counted in runs.
            let mut sorted = terms.to_vec();
            sorted.sort_unstable();
            let mut tf: Vec<(u32, f32)> = Vec::new();
            for t in sorted {
                match tf.last_mut() {
                    Some(last) if last.0 == t => last.1 += 1.0,
                    _ => tf.push((t, 1.0)),
                }
            }
            let mut v: Vector = tf
                .into_iter()
                .map(|(t, f)| {
                    let d = df.get(t as usize).copied().unwrap_or(0) as f32;
                    (
                        t,
                        (1.0 + f.ln()) * ((n as f32 + 1.0) / (d + 1.0)).ln().max(0.0) + 1e-6,
                    )
                })
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            let norm = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt().max(1e-9);
            for x in &mut v {
                x.1 /= norm;
            }
            v
        };
        let vecs: Vec<Vector> = sent_terms.iter().map(|t| to_vec(t)).collect();
        // PageRank over the cosine-similarity graph.
        let sim = similarities(&vecs, vocab_len);
        let out_sum: Vec<f32> = (0..n)
            .map(|i| sim[i * n..(i + 1) * n].iter().sum())
            .collect();
        let mut rank = vec![1.0 / n as f32; n];
        for _ in 0..30 {
            let mut next = vec![0.15 / n as f32; n];
            for j in 0..n {
                if out_sum[j] <= 0.0 {
                    continue;
                }
                let share = 0.85 * rank[j] / out_sum[j];
                // Zipped slices: no bounds checks, so the loop vectorises (each `next[i]`
                // still adds its terms in the order of `j`).
                for (x, &s) in next.iter_mut().zip(&sim[j * n..(j + 1) * n]) {
                    *x += share * s;
                }
            }
            rank = next;
        }
        let max_rank = rank.iter().cloned().fold(f32::MIN, f32::max).max(1e-9);
        // Title and keyword overlap.
        let mut anchor_terms = String::new();
        if let Some(t) = title {
            anchor_terms.push_str(t);
        }
        for k in keywords {
            anchor_terms.push(' ');
            anchor_terms.push_str(k);
        }
        let anchor = (!anchor_terms.trim().is_empty()).then(|| {
            // The anchor's new words get ids after the sentences' but stay out of their table.
            let mut ids = Terms::over(&doc_terms);
            to_vec(&self.terms(&anchor_terms, &mut ids, stemmer.as_ref()))
        });
        let nwords: Vec<usize> = (sentences.iter())
            .map(|s| crate::text::words::words(&text[s.start..s.end]).count())
            .collect();
        let words = |i: usize| nwords[i];
        let score: Vec<f32> = (0..n)
            .map(|i| {
                let centrality = rank[i] / max_rank;
                let position = 1.0 / (1.0 + places[i] as f32);
                let overlap = anchor.as_ref().map_or(0.0, |a| dot(a, &vecs[i]));
                let w = self.o.position_weight;
                let length = (words(i) as f32 / 25.0).min(1.0);
                (1.0 - w) * centrality
                    + w * position
                    + self.o.title_weight * overlap
                    + self.o.length_weight * length
            })
            .collect();
        // MMR selection; each candidate's greatest similarity to a chosen sentence is kept
        // up to date, so a pick costs one pass over the pool.
        let mut chosen: Vec<usize> = Vec::new();
        let mut chars = 0usize;
        let eligible: Vec<usize> = (0..n).filter(|&i| words(i) >= self.o.min_words).collect();
        let pool = if eligible.is_empty() {
            (0..n).collect()
        } else {
            eligible
        };
        let mut redundancy = vec![0f32; n];
        let mut taken = vec![false; n];
        while chosen.len() < want.min(pool.len()) {
            let best = pool
                .iter()
                .filter(|&&i| !taken[i])
                // Never repeat: a near-copy of a chosen sentence is not a candidate.
                .filter(|&&i| redundancy[i] <= 0.8)
                .map(|&i| {
                    (
                        i,
                        self.o.mmr_lambda * score[i] - (1.0 - self.o.mmr_lambda) * redundancy[i],
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((i, _)) = best else { break };
            if self.o.max_chars > 0 {
                let len = text[sentences[i].start..sentences[i].end].chars().count();
                if chars + len > self.o.max_chars && !chosen.is_empty() {
                    break;
                }
                chars += len + 1;
            }
            chosen.push(i);
            taken[i] = true;
            for &j in &pool {
                redundancy[j] = redundancy[j].max(sim[j * n + i]);
            }
        }
        chosen.sort_unstable();
        chosen
    }
}

impl Stage for Summariser {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        if doc.sentences.is_empty() && !doc.text.trim().is_empty() {
            // Works without a segment stage before it: segment here.
            let (p, s, _) = self.seg.segment(&doc.text);
            doc.paragraphs = p;
            doc.sentences = s;
        }
        let title = doc
            .meta
            .get("title")
            .and_then(|t| t.as_str())
            .map(String::from);
        let keywords: Vec<String> = doc
            .keywords
            .iter()
            .take(10)
            .map(|k| k.text.clone())
            .collect();
        let idx = self.choose(
            &doc.text,
            &doc.sentences,
            title.as_deref(),
            &keywords,
            doc.lang.as_deref(),
        );
        let spans: Vec<Span> = idx.iter().map(|&i| doc.sentences[i]).collect();
        let text = spans
            .iter()
            .map(|s| &doc.text[s.start..s.end])
            .collect::<Vec<_>>()
            .join(" ");
        doc.summary = Some(Summary {
            text,
            sentences: idx,
            spans,
        });
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_documents_return_all_sentences_and_summaries_do_not_repeat() {
        let mut s = Summariser::new(SummariseOptions::default());
        let mut d = Document::from_text(
            "a",
            "Erster Satz mit vielen Wörtern hier. Zweiter Satz mit anderen Wörtern da.",
        );
        s.process(&mut d).unwrap();
        assert_eq!(d.summary.as_ref().unwrap().sentences, vec![0, 1]);

        let text = "Minsk und Moskau vertiefen die Zusammenarbeit im Handel deutlich. \
                    Minsk und Moskau vertiefen die Zusammenarbeit im Handel deutlich. \
                    Das Wetter in Brest war am Montag sonnig und warm. \
                    Der Handel zwischen Belarus und Russland stieg um vierzig Prozent. \
                    Lukaschenko und Putin trafen sich zu Gesprächen über Energie.";
        let mut d = Document::from_text("b", text);
        s.process(&mut d).unwrap();
        let sum = d.summary.unwrap();
        assert_eq!(sum.sentences.len(), 3);
        assert!(
            !(sum.sentences.contains(&0) && sum.sentences.contains(&1)),
            "MMR avoids the repeated sentence: {:?}",
            sum.sentences
        );
        assert!(
            sum.sentences.windows(2).all(|w| w[0] < w[1]),
            "document order"
        );
        assert_eq!(sum.spans.len(), 3);
    }

    #[test]
    fn max_chars_limits_length() {
        let mut s = Summariser::new(SummariseOptions {
            max_chars: 80,
            ..Default::default()
        });
        let text = "Der erste Satz ist ziemlich lang und handelt von Belarus und Russland. Der zweite Satz handelt auch von Belarus. Der dritte Satz spricht über Russland und Minsk.";
        let mut d = Document::from_text("c", text);
        s.process(&mut d).unwrap();
        assert!(d.summary.unwrap().text.chars().count() <= 80);
    }

    #[test]
    fn a_long_document_is_ranked_over_candidates_spread_evenly() {
        let s = Summariser::new(SummariseOptions {
            max_candidates: 10,
            ..Default::default()
        });
        let names = [
            "Minsk", "Moskau", "Brest", "Gomel", "Witebsk", "Grodno", "Mogiljow", "Pinsk",
            "Orscha", "Lida",
        ];
        let text: String = (0..100)
            .map(|i| {
                format!(
                    "Die Delegation aus {} traf am Morgen Vertreter aus {} zu Gesprächen. ",
                    names[i % 10],
                    names[(i / 10) % 10]
                )
            })
            .collect();
        let mut d = Document::from_text("long", &text);
        let mut stage = s.clone();
        stage.process(&mut d).unwrap();
        let chosen = d.summary.unwrap().sentences;
        assert_eq!(chosen.len(), 3);
        // The candidates are sentences 0, 10, 20, … 90.
        assert!(chosen.iter().all(|i| i % 10 == 0), "{chosen:?}");
    }
}
