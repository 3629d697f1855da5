//! The document model: what flows through a pipeline.
//!
//! Invariant: every [`Span`] on a document is a pair of **byte** offsets into
//! [`Document::text`], on `char` boundaries, with `start <= end`. A stage that
//! rewrites `text` must rebuild or clear the spans it invalidates
//! ([`Document::set_text`] clears all of them).

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A half-open byte range `[start, end)` into a document's text; serialised as `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    /// True when the span covers no byte.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// The text this span covers, or `None` if it is out of range or not on char boundaries.
    pub fn slice<'t>(&self, text: &'t str) -> Option<&'t str> {
        text.get(self.start..self.end)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.start, self.end).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (start, end) = <(usize, usize)>::deserialize(d)?;
        Ok(Span { start, end })
    }
}

/// Metadata declared by whoever delivered the bytes (HTTP headers, crawl records).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Declared {
    /// Charset from a `Content-Type` header or the source record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// The URL the document was fetched from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Publication or crawl date as given by the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// MIME type as given by the source (e.g. `text/html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Language as given by the source (a `lang` field, `Content-Language`), e.g. `de-AT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl Declared {
    fn is_empty(&self) -> bool {
        *self == Declared::default()
    }
}

/// A structural block of the input (an HTML element or a line of plain text), kept for `clean`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Block {
    /// The block's visible text; a line break inside it (`<br>`) is `\n`.
    pub text: String,
    /// Tag name of the block element (`p`, `h2`, `li`, …); `line` for plain text.
    pub tag: String,
    /// Heading level 1–6, if the block is a heading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<u8>,
    /// True when the block sits inside a list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_list: bool,
    /// Share of the block's characters that are inside links (0–1).
    #[serde(skip_serializing_if = "is_zero")]
    pub link_ratio: f32,
    /// Lower-cased class/id names and tag names of the block's ancestors (`nav`, `footer`, `comment`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Ids of the region elements (`div`, `section`, `article`, `nav`, …) enclosing the block,
    /// outermost first; unique within one document, so two blocks share a region when their
    /// paths share an id. Empty for plain text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<u32>,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

/// A block that `clean` dropped, with the reason, kept for auditing when asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// The dropped text.
    pub text: String,
    /// Why it was dropped (a short machine-readable reason such as `cookie-notice`).
    pub reason: String,
}

/// A token: a span plus optional normalised forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Byte span into the text.
    pub span: Span,
    /// Coarse kind: `word`, `number`, `punct`, `url`, `email`, `abbrev`, `symbol`. Borrowed
    /// from a static name when a stage sets it, so tokens cost no allocation for their kind.
    pub kind: Cow<'static, str>,
    /// Lower-cased form, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<String>,
    /// Stem, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem: Option<String>,
}

/// A named entity mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Byte span into the text.
    pub span: Span,
    /// `PER`, `LOC`, `ORG`, `MISC` or a plugin's own label.
    pub label: String,
    /// The mention's text (a copy, for readers that do not slice).
    pub text: String,
    /// Index of the entity group (surface variants of one entity) within the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
}

/// A keyword or key phrase with its score (higher is more relevant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyword {
    /// The phrase.
    pub text: String,
    /// Relevance score.
    pub score: f32,
}

/// An extractive summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The chosen sentences joined by a space.
    pub text: String,
    /// Indices into [`Document::sentences`], in document order.
    pub sentences: Vec<usize>,
    /// Spans of the chosen sentences.
    pub spans: Vec<Span>,
}

/// A labelled span added by a stage or plugin (e.g. `redacted:email`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Byte span into the text.
    pub span: Span,
    /// Free-form label.
    pub label: String,
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was repaired or guessed; the document is fine.
    Info,
    /// The document went on, but part of it may be wrong.
    Warning,
    /// A stage failed on this document.
    Error,
}

/// A note a stage left on a document: which stage, how serious, what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Name of the stage (as in the config) that wrote it.
    pub stage: String,
    /// Severity.
    pub severity: Severity,
    /// Human-readable message.
    pub message: String,
}

/// One document and everything the stages learnt about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Document {
    /// Identifier, unique within a run (file stem, JSONL id field, or line number).
    pub id: String,
    /// Where it came from: a path or URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The input bytes as read. Serialised as `raw` (UTF-8) or `raw_base64`; sinks usually omit it.
    #[serde(
        flatten,
        serialize_with = "raw_ser",
        deserialize_with = "raw_de",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub raw: Vec<u8>,
    /// Metadata declared by the source.
    #[serde(skip_serializing_if = "Declared::is_empty")]
    pub declared: Declared,
    /// The current text. Every span is a byte range into it.
    pub text: String,
    /// ISO 639-1 language code, `und` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Structural blocks from `decode`, consumed by `clean`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// Blocks `clean` dropped (only with `keep_dropped`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<Dropped>,
    /// Paragraph spans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paragraphs: Vec<Span>,
    /// Sentence spans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sentences: Vec<Span>,
    /// Tokens.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Token>,
    /// Named entities.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// Keywords, best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<Keyword>,
    /// Other labelled spans (plugins, redaction).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Extractive summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Free-form metadata (title, author, encoding, scores…).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, serde_json::Value>,
    /// What stages noted about this document.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

impl Document {
    /// A document with an id and raw bytes; everything else empty.
    pub fn from_bytes(id: impl Into<String>, raw: Vec<u8>) -> Self {
        Document {
            id: id.into(),
            raw,
            ..Default::default()
        }
    }

    /// A document whose text is already known (the raw bytes are the text's UTF-8).
    pub fn from_text(id: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        Document {
            id: id.into(),
            raw: text.as_bytes().to_vec(),
            text,
            ..Default::default()
        }
    }

    /// Replaces the text and clears every span-bearing annotation, which the new text invalidates.
    pub fn set_text(&mut self, text: String) {
        self.text = text;
        self.paragraphs.clear();
        self.sentences.clear();
        self.tokens.clear();
        self.entities.clear();
        self.annotations.clear();
        self.summary = None;
    }

    /// Adds a diagnostic from `stage`.
    pub fn diagnose(&mut self, stage: &str, severity: Severity, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            stage: stage.to_string(),
            severity,
            message: message.into(),
        });
    }

    /// Checks the span invariant for every span on the document; returns the first violation.
    pub fn check_spans(&self) -> Result<(), String> {
        let text = &self.text;
        let check = |what: &str, s: &Span| -> Result<(), String> {
            if s.start > s.end || s.slice(text).is_none() {
                Err(format!(
                    "{what} span [{}, {}] is not a char-aligned range of the {}-byte text",
                    s.start,
                    s.end,
                    text.len()
                ))
            } else {
                Ok(())
            }
        };
        for s in &self.paragraphs {
            check("paragraph", s)?;
        }
        for s in &self.sentences {
            check("sentence", s)?;
        }
        for t in &self.tokens {
            check("token", &t.span)?;
        }
        for e in &self.entities {
            check("entity", &e.span)?;
        }
        for a in &self.annotations {
            check("annotation", &a.span)?;
        }
        if let Some(sum) = &self.summary {
            for s in &sum.spans {
                check("summary", s)?;
            }
        }
        Ok(())
    }

    /// Appends the document to `out` as one JSON object (no newline), exactly as serde
    /// prints it (fields in declaration order, `f32`s at their shortest), keeping only the
    /// top-level keys `fields` names (if any), and the raw bytes only with `include_raw`.
    /// A selection prints each kept key byte for byte as the whole object would, so outputs
    /// with and without `fields` (a single run and a sharded one) agree.
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        fields: &[String],
        include_raw: bool,
    ) -> serde_json::Result<()> {
        let start = out.len();
        if include_raw || self.raw.is_empty() {
            serde_json::to_writer(&mut *out, self)?;
        } else {
            // Cloning the document less its raw bytes is cheaper than a Value round trip.
            let shallow = Document {
                raw: Vec::new(),
                ..self.clone()
            };
            serde_json::to_writer(&mut *out, &shallow)?;
        }
        if fields.is_empty() {
            return Ok(());
        }
        let whole = out.split_off(start);
        let entries: RawEntries<'_> = serde_json::from_slice(&whole)?;
        out.push(b'{');
        let mut first = true;
        for (k, v) in entries.0 {
            if fields.contains(&k) {
                if !first {
                    out.push(b',');
                }
                first = false;
                serde_json::to_writer(&mut *out, &k)?;
                out.push(b':');
                out.extend_from_slice(v.get().as_bytes());
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// The document as one JSON object; `fields` (if non-empty) selects top-level keys.
    pub fn to_json(&self, fields: &[String], include_raw: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            if !include_raw {
                map.remove("raw");
                map.remove("raw_base64");
            }
            if !fields.is_empty() {
                map.retain(|k, _| fields.iter().any(|f| f == k));
            }
        }
        v
    }
}

/// The top-level entries of a JSON object in their order, values as their raw text.
struct RawEntries<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl<'de> Deserialize<'de> for RawEntries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawEntries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = m.next_entry()? {
                    v.push(e);
                }
                Ok(RawEntries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Serialises raw bytes as `{"raw": "<utf-8>"}` or `{"raw_base64": "..."}`.
fn raw_ser<S: Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(1))?;
    match std::str::from_utf8(raw) {
        Ok(t) => m.serialize_entry("raw", t)?,
        Err(_) => m.serialize_entry(
            "raw_base64",
            &base64::engine::general_purpose::STANDARD.encode(raw),
        )?,
    }
    m.end()
}

fn raw_de<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    #[derive(Deserialize)]
    struct Raw {
        raw: Option<String>,
        raw_base64: Option<String>,
    }
    let r = Raw::deserialize(d)?;
    if let Some(t) = r.raw {
        return Ok(t.into_bytes());
    }
    if let Some(b) = r.raw_base64 {
        return base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(serde::de::Error::custom);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_binary_raw_and_spans() {
        let mut d = Document::from_bytes("a", vec![0xff, 0x00, b'x']);
        d.text = "Grüße aus Minsk.".into();
        d.sentences.push(Span::new(0, d.text.len()));
        d.meta.insert("title".into(), "T".into());
        let s = serde_json::to_string(&d).unwrap();
        assert!(s.contains("\"raw_base64\""), "{s}");
        assert!(s.contains("\"sentences\":[[0,18]]"), "{s}");
        let back: Document = serde_json::from_str(&s).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn utf8_raw_is_plain_and_field_selection_works() {
        let d = Document::from_text("x", "Hallo");
        let v = d.to_json(&["id".into(), "text".into()], false);
        assert_eq!(v.to_string(), r#"{"id":"x","text":"Hallo"}"#);
        let full = serde_json::to_string(&d).unwrap();
        assert!(full.contains(r#""raw":"Hallo""#), "{full}");
    }

    #[test]
    fn a_selection_prints_each_key_as_the_whole_object_does() {
        let mut d = Document::from_text("x", "Hallo Minsk");
        d.keywords.push(crate::Keyword {
            text: "Minsk".into(),
            score: 75.31715,
        });
        d.meta.insert("b".into(), 1.into());
        d.meta.insert("a".into(), 2.into());
        let mut whole = Vec::new();
        d.write_json(&mut whole, &[], false).unwrap();
        let whole = String::from_utf8(whole).unwrap();
        assert!(
            whole.contains(r#"{"text":"Minsk","score":75.31715}"#),
            "{whole}"
        );
        assert!(!whole.contains("\"raw\""), "{whole}");
        let mut some = Vec::new();
        let fields = ["id".to_string(), "keywords".into(), "meta".into()];
        d.write_json(&mut some, &fields, false).unwrap();
        let some = String::from_utf8(some).unwrap();
        // Every kept key as in the whole object, in the same order (a Value sorted the
        // keys and printed the score as 75.31714630126953).
        for k in [
            "\"keywords\":[{\"text\":\"Minsk\",\"score\":75.31715}]",
            "\"id\":\"x\"",
        ] {
            assert!(whole.contains(k) && some.contains(k), "{k}: {some}");
        }
        assert!(some.starts_with(r#"{"id":"x","#), "{some}");
        assert!(!some.contains("text\":\"Hallo"), "{some}");
    }

    #[test]
    fn check_spans_rejects_split_char() {
        let mut d = Document::from_text("x", "Grüße");
        d.tokens.push(Token {
            span: Span::new(0, 3),
            kind: "word".into(),
            lower: None,
            stem: None,
        });
        assert!(d.check_spans().is_err());
        d.tokens[0].span = Span::new(0, 4);
        assert!(d.check_spans().is_ok());
    }
}
