//! Stage `segment`: paragraphs, sentences and tokens with exact byte offsets, for German and
//! English news (abbreviations, ordinals and dates, initials, quotations, ellipses, URLs).
//!
//! Sentences are decided on tokens: a terminal (`.`, `!`, `?`, `…`, or an abbreviation that
//! may end a sentence) plus any closing quotes and brackets ends a sentence unless what
//! follows says otherwise (a lower-case word, a comma after a quote, a month after an
//! ordinal…). A paragraph break always ends a sentence; a single line break does unless the
//! next line continues the sentence (starts lower-case, or the line ends with a comma).

mod sentences;
pub mod tokenize;

use std::collections::HashSet;
use std::sync::Arc;

use pipeline_core::{
    BuildContext, Document, OptionsError, Outcome, PreparedStage, Span, Stage, StageError, Token,
    TypedFactory,
};
use sentences::push_trimmed;
use serde::{Deserialize, Serialize};
use tokenize::{Kind, Tok};

/// Abbreviations (lower-cased, without final dot and inner spaces) and those that may end a sentence.
#[derive(Debug, Clone, Default)]
pub struct Abbreviations {
    all: HashSet<String>,
    may_end: HashSet<String>,
}

impl Abbreviations {
    fn add_list(&mut self, list: &str) {
        for line in list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (w, end) = match line.strip_suffix('*') {
                Some(w) => (w, true),
                None => (line, false),
            };
            let key = w.trim_end_matches('.').replace(' ', "").to_lowercase();
            if end {
                self.may_end.insert(key.clone());
            }
            self.all.insert(key);
        }
    }

    /// The German and English lists shipped in `stages/data/`.
    pub fn builtin() -> Self {
        let mut a = Abbreviations::default();
        a.add_list(include_str!("../../data/abbrev-de.txt"));
        a.add_list(include_str!("../../data/abbrev-en.txt"));
        a
    }

    /// True if `w` (without its dot) is an abbreviation.
    pub fn contains(&self, w: &str) -> bool {
        self.all.contains(&w.to_lowercase())
    }

    fn may_end(&self, w: &str) -> bool {
        self.may_end
            .contains(&w.trim_end_matches('.').to_lowercase())
    }
}

pipeline_core::options! {
    /// Options of the `segment` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct SegmentOptions {
        /// Produce tokens (paragraphs and sentences are always produced).
        pub tokens: bool = true,
        /// Add the lower-cased form to word tokens.
        pub lowercase: bool = false,
        /// Add a Snowball stem (de/en by the document's language, default de) to word tokens.
        pub stem: bool = false,
        /// Extra abbreviations without the final dot, e.g. ["Bsp", "Ztg*"] (* = may end a
        /// sentence).
        pub abbreviations: Vec<String> = Vec::new(),
        /// Files of extra abbreviations, one per line (same format as stages/data/abbrev-de.txt).
        pub abbreviation_files: Vec<String> = Vec::new(),
        /// A double-quoted passage up to this many bytes stays inside one sentence (dialogue);
        /// longer ones are split; 0 = always split (default 150).
        pub quote_max_bytes: usize = 150,
    }
}

/// The `segment` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "segment",
        "paragraphs, sentences and tokens (byte spans) for German and English",
        |o: SegmentOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            let mut abbr = Abbreviations::builtin();
            abbr.add_list(&o.abbreviations.join("\n"));
            for (i, f) in o.abbreviation_files.iter().enumerate() {
                let p = ctx.resolve(f);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    OptionsError::at(
                        &format!("abbreviation_files.{i}"),
                        format!("cannot read `{}`: {e}", p.display()),
                    )
                })?;
                abbr.add_list(&text);
            }
            let seg = Segmenter {
                abbr: Arc::new(abbr),
                o,
            };
            Ok(Arc::new(
                move || Ok(Box::new(seg.clone()) as Box<dyn Stage>),
            ))
        },
    )
    .with_provides(&["paragraphs", "sentences", "tokens"])
    .with_needs(&["text"])
}

/// The segmentation logic, usable outside a pipeline.
#[derive(Clone)]
pub struct Segmenter {
    abbr: Arc<Abbreviations>,
    o: SegmentOptions,
}

impl Segmenter {
    /// A segmenter with the built-in abbreviation lists and default options.
    pub fn new() -> Self {
        Segmenter {
            abbr: Arc::new(Abbreviations::builtin()),
            o: SegmentOptions::default(),
        }
    }

    /// Paragraph spans (split on blank lines, trimmed).
    pub fn paragraphs(text: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\n' {
                // A blank line: newline, optional spaces/tabs, newline.
                let mut j = i + 1;
                while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j] == b'\n' {
                    push_trimmed(text, start, i, &mut out);
                    while j < bytes.len() && matches!(bytes[j], b'\n' | b' ' | b'\t' | b'\r') {
                        j += 1;
                    }
                    start = j;
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
        push_trimmed(text, start, text.len(), &mut out);
        out
    }

    /// Tokens and sentence spans of `text`.
    pub fn segment(&self, text: &str) -> (Vec<Span>, Vec<Span>, Vec<Tok>) {
        let paragraphs = Self::paragraphs(text);
        let mut sentences = Vec::new();
        let mut toks = Vec::with_capacity(text.len() / 5);
        for p in &paragraphs {
            let first = toks.len();
            tokenize::tokenize(text, p.start, p.end, &self.abbr, &mut toks);
            self.sentences(text, &toks[first..], &mut sentences);
        }
        (paragraphs, sentences, toks)
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Stage for Segmenter {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        let (paragraphs, sentences, toks) = self.segment(&doc.text);
        doc.paragraphs = paragraphs;
        doc.sentences = sentences;
        doc.tokens.clear();
        if self.o.tokens {
            let stemmer = self.o.stem.then(|| {
                let alg = if doc.lang.as_deref() == Some("en") {
                    rust_stemmers::Algorithm::English
                } else {
                    rust_stemmers::Algorithm::German
                };
                rust_stemmers::Stemmer::create(alg)
            });
            doc.tokens = toks
                .iter()
                .map(|t| {
                    let w = &doc.text[t.span.start..t.span.end];
                    let wordy = matches!(t.kind, Kind::Word | Kind::Abbrev);
                    let lower = (self.o.lowercase || stemmer.is_some()) && wordy;
                    let lw = lower.then(|| w.to_lowercase());
                    Token {
                        span: t.span,
                        kind: t.kind.as_str().into(),
                        stem: match (&stemmer, &lw) {
                            (Some(st), Some(l)) if t.kind == Kind::Word => {
                                Some(st.stem(l).into_owned())
                            }
                            _ => None,
                        },
                        lower: if self.o.lowercase { lw } else { None },
                    }
                })
                .collect();
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(text: &str) -> Vec<String> {
        let (_, s, _) = Segmenter::new().segment(text);
        s.iter()
            .map(|sp| text[sp.start..sp.end].to_string())
            .collect()
    }

    #[test]
    fn german_news_cases() {
        assert_eq!(
            sents("Am 31. Mai und 1.Juni 2012 fand der Besuch statt. Allein 2011 stieg der Handel um 40% auf 38,6 Mrd. USD. Das sagte W. Putin."),
            ["Am 31. Mai und 1.Juni 2012 fand der Besuch statt.", "Allein 2011 stieg der Handel um 40% auf 38,6 Mrd. USD.", "Das sagte W. Putin."]
        );
        assert_eq!(
            sents("„Allein die Tatsache zeigt die Art unserer Beziehungen“, unterstrich W. Putin. Der Staatschef A. Lukaschenko sprach."),
            ["„Allein die Tatsache zeigt die Art unserer Beziehungen“, unterstrich W. Putin.", "Der Staatschef A. Lukaschenko sprach."]
        );
        assert_eq!(
            sents("Die Information steht auf Seite 12. Dort kannst du nachlesen."),
            [
                "Die Information steht auf Seite 12.",
                "Dort kannst du nachlesen."
            ]
        );
        assert_eq!(
            sents("Im 20. Jahrhundert, z. B. im Jahr 1999, geschah es."),
            ["Im 20. Jahrhundert, z. B. im Jahr 1999, geschah es."]
        );
        assert_eq!(
            sents("Wir brauchen Getränke, z. B. Wasser, Saft, Bier usw. Dann geht es los."),
            [
                "Wir brauchen Getränke, z. B. Wasser, Saft, Bier usw.",
                "Dann geht es los."
            ]
        );
    }

    #[test]
    fn headlines_and_paragraphs_end_sentences() {
        let text = "Putin sichert Unterstützung zu\n\nRusslands Staatschef hat Hilfe zugesichert. Er sprach lange\nAbkommen zwischen Belarus und Russland\nWährend ihres Treffens unterschrieben sie.";
        assert_eq!(
            sents(text),
            [
                "Putin sichert Unterstützung zu",
                "Russlands Staatschef hat Hilfe zugesichert.",
                "Er sprach lange",
                "Abkommen zwischen Belarus und Russland",
                "Während ihres Treffens unterschrieben sie."
            ]
        );
        assert_eq!(Segmenter::paragraphs(text).len(), 2);
    }

    #[test]
    fn english_cases() {
        assert_eq!(
            sents("Mr. Smith met Dr. Jones at 5 p.m. on Monday. They talked."),
            [
                "Mr. Smith met Dr. Jones at 5 p.m. on Monday.",
                "They talked."
            ]
        );
        assert_eq!(
            sents("He said \"Hello.\" Then he left!"),
            ["He said \"Hello.\"", "Then he left!"]
        );
        assert_eq!(
            sents("Visit www.example.com. It is great, e.g. for news."),
            ["Visit www.example.com.", "It is great, e.g. for news."]
        );
        // A time of day ends a sentence before a capitalised word; "I." after "and" is the
        // pronoun, after a name an initial.
        assert_eq!(
            sents("He left at 6 p.m. Travelers who stayed left at 5 A.M. on Friday."),
            [
                "He left at 6 p.m.",
                "Travelers who stayed left at 5 A.M. on Friday."
            ]
        );
        assert_eq!(
            sents("We make a good team, you and I. Did you see Albert I. Jones?"),
            [
                "We make a good team, you and I.",
                "Did you see Albert I. Jones?"
            ]
        );
        assert_eq!(
            sents("Kay Mann 04/26/2001 07:17 AM Will you send it?"),
            ["Kay Mann 04/26/2001 07:17 AM", "Will you send it?"]
        );
        // Web text that skips capitals after a question or after a full stop that follows
        // a long plain word; not after a Roman numeral or a short word (an abbreviation).
        assert_eq!(
            sents("Is it going to rain? should I stay indoors. maybe it clears up."),
            [
                "Is it going to rain?",
                "should I stay indoors.",
                "maybe it clears up."
            ]
        );
        assert_eq!(
            sents("Christian VIII. förderte das Bad (engl. spa) sehr."),
            ["Christian VIII. förderte das Bad (engl. spa) sehr."]
        );
        assert_eq!(
            sents("Hello world.Today is Tuesday. Am 1.Juni kam sie."),
            ["Hello world.", "Today is Tuesday.", "Am 1.Juni kam sie."]
        );
        // Footnote marks stay with their sentence; a parenthesis after an abbreviation goes
        // on; a letter list marker after a full stop starts an item, a number in brackets
        // after an abbreviation does not.
        assert_eq!(
            sents("He was a saint.[1] The emperor ruled.[7][8] Company A Inc. (CA) sued."),
            [
                "He was a saint.[1]",
                "The emperor ruled.[7][8]",
                "Company A Inc. (CA) sued."
            ]
        );
        assert_eq!(
            sents("(a) Hello world. (b) Hello again. Siehe Abs. 4) oben."),
            [
                "(a) Hello world.",
                "(b) Hello again.",
                "Siehe Abs. 4) oben."
            ]
        );
        // Words glued to a full stop or an exclamation mark do not start a sentence.
        assert_eq!(
            sents("Write to Jane.Doe at work. Yay $.50 and .50! He works at Yahoo! and Y!J."),
            [
                "Write to Jane.Doe at work.",
                "Yay $.50 and .50!",
                "He works at Yahoo! and Y!J."
            ]
        );
        // … but a number that cannot be a day or an ordinal may end a sentence, as may a
        // full-width stop; a footnote number stays with its sentence.
        assert_eq!(
            sents("He bought 1,000.That is a lot. Seit 1998.Die Wahl am 1.Juni. Test．Does it．"),
            [
                "He bought 1,000.",
                "That is a lot.",
                "Seit 1998.",
                "Die Wahl am 1.Juni.",
                "Test．",
                "Does it．"
            ]
        );
        assert_eq!(
            sents("It fits a consultation.11 Take the table (1987).1 According to it, version 2.0 works."),
            ["It fits a consultation.11", "Take the table (1987).1", "According to it, version 2.0 works."]
        );
        // A spaced ellipsis ends a sentence before a capitalised word.
        assert_eq!(
            sents("End it with a period . . . . Next sentence. Wait . . . for it."),
            [
                "End it with a period . . . .",
                "Next sentence.",
                "Wait . . . for it."
            ]
        );
    }

    #[test]
    fn quotations_and_vertical_words() {
        // A short quotation is one utterance; a long quoted statement is split.
        assert_eq!(
            sents("\"I hope they'll remember her saucer. Dinah, my dear, I wish you were here!\" Alice felt sleepy. \"Come, there's no use in crying like that!\" said Alice to herself."),
            [
                "\"I hope they'll remember her saucer. Dinah, my dear, I wish you were here!\"",
                "Alice felt sleepy.",
                "\"Come, there's no use in crying like that!\" said Alice to herself."
            ]
        );
        let long = "Er sagte: „Wir haben die Verhandlungen über die Lieferungen von Öl und Gas heute abgeschlossen. Die Preise für das kommende Jahr stehen fest, und beide Seiten sind mit dem Ergebnis zufrieden.“ Dann ging er.";
        assert_eq!(sents(long).len(), 3, "{:?}", sents(long));
        // Prose with much dialogue and few capitals is not lower-case chat.
        let dialogue = "\"Come, there's no use in crying like that!\" said alice to herself rather sharply. \"i advise you to leave off this minute!\" She generally gave herself very good advice (though she very seldom followed it), and sometimes she scolded herself.";
        assert_eq!(sents(dialogue).len(), 3, "{:?}", sents(dialogue));
        // A word set vertically, a letter or two per line.
        assert_eq!(
            sents("W\nA\nRN\nI\nNG\n\nDo not touch.\nA\nB"),
            ["W\nA\nRN\nI\nNG", "Do not touch.", "A\nB"]
        );
    }

    #[test]
    fn stage_writes_tokens_with_stems() {
        let mut s = Segmenter {
            abbr: Arc::new(Abbreviations::builtin()),
            o: SegmentOptions {
                stem: true,
                lowercase: true,
                ..Default::default()
            },
        };
        let mut d = Document::from_text("x", "Die Beziehungen wachsen.");
        s.process(&mut d).unwrap();
        assert_eq!(d.tokens.len(), 4);
        assert_eq!(d.tokens[1].lower.as_deref(), Some("beziehungen"));
        assert_eq!(d.tokens[1].stem.as_deref(), Some("bezieh"));
        assert_eq!(d.sentences, vec![Span::new(0, d.text.len())]);
    }
}
