//! Readability plugin: Flesch reading ease per document, stored in `meta.readability`.
//!
//! German uses Amstad's adaptation, `180 − ASL − 58.5 × ASW`; English (and every other
//! language) the original, `206.835 − 1.015 × ASL − 84.6 × ASW`, where ASL is words per
//! sentence and ASW syllables per word. The language is the document's (`tag` sets it), or
//! the `lang` option when the document has none. Sentences come from `segment` when it ran
//! before, otherwise from the final punctuation. Syllables are counted as vowel groups
//! (German diphthongs and English silent final e handled), which is how Flesch tools count.
//!
//! Options: `lang = "de"` (fallback language), `min_words = 1` (fewer words: no score).

use textpipe_plugin::{export_plugin, serde_json, Doc, Plugin, Verdict};

/// Counts behind a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    /// Sentences.
    pub sentences: usize,
    /// Words (tokens with a letter).
    pub words: usize,
    /// Syllables in those words.
    pub syllables: usize,
}

/// Flesch reading ease for `lang` from counts (Amstad for `de`).
pub fn flesch(lang: &str, c: Counts) -> f64 {
    let asl = c.words as f64 / c.sentences.max(1) as f64;
    let asw = c.syllables as f64 / c.words.max(1) as f64;
    if lang == "de" {
        180.0 - asl - 58.5 * asw
    } else {
        206.835 - 1.015 * asl - 84.6 * asw
    }
}

/// Syllables in one word: groups of vowels, with the English silent final `e` removed.
pub fn syllables(word: &str, lang: &str) -> usize {
    let lower = word.to_lowercase();
    let is_vowel = |c: char| "aeiouyäöüàâéèêëîïôûœæ".contains(c);
    let chars: Vec<char> = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let mut groups = 0;
    let mut prev = false;
    for &c in &chars {
        let v = is_vowel(c);
        if v && !prev {
            groups += 1;
        }
        prev = v;
    }
    if lang != "de" && groups > 1 {
        let n = chars.len();
        // "make", "time": a final e after a consonant is silent; "table" (-le) is not.
        if n >= 2
            && chars[n - 1] == 'e'
            && !is_vowel(chars[n - 2])
            && !(chars[n - 2] == 'l' && n >= 3 && !is_vowel(chars[n - 3]))
        {
            groups -= 1;
        }
    }
    groups.max(1)
}

/// Counts sentences, words and syllables in `text`; `sentences` are byte spans if known.
pub fn count(text: &str, sentences: Option<&[(usize, usize)]>, lang: &str) -> Counts {
    let mut words = 0;
    let mut syl = 0;
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'')) {
        if w.chars().any(char::is_alphabetic) {
            words += 1;
            syl += w
                .split('-')
                .filter(|p| !p.is_empty())
                .map(|p| syllables(p, lang))
                .sum::<usize>();
        }
    }
    let sentences = match sentences {
        Some(s) if !s.is_empty() => s.len(),
        _ => {
            // Runs of final punctuation followed by space or the end, plus a last unterminated one.
            let mut n = 0;
            let mut in_end = false;
            let mut tail = false;
            for c in text.chars() {
                if matches!(c, '.' | '!' | '?') {
                    in_end = true;
                } else if c.is_whitespace() {
                    if in_end {
                        n += 1;
                        tail = false;
                    }
                    in_end = false;
                } else {
                    in_end = false;
                    if c.is_alphanumeric() {
                        tail = true;
                    }
                }
            }
            n + usize::from(in_end || tail)
        }
    };
    Counts {
        sentences,
        words,
        syllables: syl,
    }
}

/// The plugin: a fallback language and a minimum word count.
pub struct Readability {
    lang: String,
    min_words: usize,
    spans: Vec<(usize, usize)>,
}

impl Plugin for Readability {
    const NAME: &'static str = "readability";
    const ABOUT: &'static str = "Flesch reading ease (Amstad for German) in meta.readability";

    fn new(options: &serde_json::Value) -> Result<Self, String> {
        let obj = options.as_object().ok_or("options must be a table")?;
        let mut r = Readability {
            lang: "de".into(),
            min_words: 1,
            spans: Vec::new(),
        };
        for (key, value) in obj {
            match key.as_str() {
                "lang" => r.lang = value.as_str().ok_or("`lang` must be a string")?.to_string(),
                "min_words" => {
                    r.min_words = value
                        .as_u64()
                        .ok_or("`min_words` must be a non-negative integer")?
                        as usize
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}`; known: `lang`, `min_words`"
                    ))
                }
            }
        }
        Ok(r)
    }

    fn process(&mut self, doc: &mut Doc<'_>) -> Result<Verdict, String> {
        let lang = match doc.lang() {
            Some(l) if l != "und" => l.to_string(),
            _ => self.lang.clone(),
        };
        self.spans.clear();
        self.spans
            .extend(doc.sentences().iter().map(|s| (s.start, s.end)));
        let c = count(doc.text(), Some(&self.spans), &lang);
        if c.words < self.min_words {
            return Ok(Verdict::Keep);
        }
        let score = (flesch(&lang, c) * 10.0).round() / 10.0;
        doc.set_meta(
            "readability",
            serde_json::json!({
                "flesch": score,
                "formula": if lang == "de" { "amstad" } else { "flesch" },
                "sentences": c.sentences,
                "words": c.words,
                "syllables": c.syllables,
            }),
        );
        Ok(Verdict::Keep)
    }
}

export_plugin!(Readability);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_textbook_example() {
        // 1 sentence, 6 words, 6 syllables: 206.835 − 1.015·6 − 84.6·1 = 116.145
        let c = count("The cat sat on the mat.", None, "en");
        assert_eq!(
            c,
            Counts {
                sentences: 1,
                words: 6,
                syllables: 6
            }
        );
        assert!((flesch("en", c) - 116.145).abs() < 1e-9);
    }

    #[test]
    fn german_syllables_and_amstad() {
        assert_eq!(syllables("Wirtschaftsraum", "de"), 3);
        assert_eq!(syllables("Lukaschenko", "de"), 4);
        assert_eq!(syllables("Einheitlicher", "de"), 4);
        assert_eq!(syllables("make", "en"), 1);
        assert_eq!(syllables("table", "en"), 2);
        let c = count(
            "Putin traf Lukaschenko in Minsk. Sie sprachen lange.",
            None,
            "de",
        );
        assert_eq!(c.sentences, 2);
        assert_eq!(c.words, 8);
        // 2+1+4+1+1 + 1+2+2 = 14 syllables; 180 − 4 − 58.5·1.75 = 73.625
        assert_eq!(c.syllables, 14);
        assert!((flesch("de", c) - 73.625).abs() < 1e-9);
    }

    #[test]
    fn harder_text_scores_lower() {
        let easy = count("Der Hund bellt. Die Katze schläft. Es regnet.", None, "de");
        let hard = count(
            "Die Wirtschaftsintegration im Rahmen des Unionsstaates erfordert \
             weitreichende institutionelle Harmonisierungsmaßnahmen.",
            None,
            "de",
        );
        assert!(flesch("de", easy) > flesch("de", hard) + 50.0);
    }
}
