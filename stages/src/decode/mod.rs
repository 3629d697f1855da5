//! Stage `decode`: raw bytes in any common encoding, plain text or HTML, to correct Unicode
//! text — BOM, charset detection, HTML → blocks, entities, mojibake repair, normalisation.

pub mod author;
pub mod chars;
pub mod charset;
pub mod date;
pub mod html;
pub mod metadata;
pub mod mojibake;
pub mod normalize;
pub mod ranker;
pub mod title;

use std::sync::{Arc, OnceLock};

use pipeline_core::{
    BuildContext, Document, OptionsError, Outcome, PreparedStage, Severity, Stage, StageError,
    TypedFactory,
};
use serde::{Deserialize, Serialize};

/// When to treat input as HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HtmlMode {
    /// Detect from the content (or a declared `text/html` type).
    #[default]
    Auto,
    /// Always parse as HTML.
    Always,
    /// Never parse as HTML.
    Never,
}

pipeline_core::options! {
    /// Options of the `decode` stage.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    pub struct DecodeOptions {
        /// "auto" (detect), "always" or "never" parse the input as HTML.
        pub html: HtmlMode = HtmlMode::Auto,
        /// Guess the charset (chardetng, URL's TLD as hint) when not UTF-8 and none is declared.
        pub detect: bool = true,
        /// Encoding used when detection is off and nothing is declared.
        pub fallback_encoding: String = "windows-1252".into(),
        /// Unescape HTML entities that leaked into plain text.
        pub unescape_entities: bool = true,
        /// Repair UTF-8 decoded with a legacy code page ("GrÃ¼ÃŸe" → "Grüße"), also twice.
        pub fix_mojibake: bool = true,
        /// Normalise to Unicode NFC.
        pub nfc: bool = true,
        /// \r\n, \r, U+2028/2029 → \n.
        pub line_endings: bool = true,
        /// Remove control and zero-width characters except \n and \t.
        pub remove_controls: bool = true,
        /// Remove soft hyphens (U+00AD).
        pub remove_soft_hyphens: bool = true,
        /// U+00A0 and other space characters → plain space.
        pub normalize_spaces: bool = true,
        /// Keep HTML blocks on the document (the clean stage uses them).
        pub keep_blocks: bool = true,
    }
}

impl DecodeOptions {
    /// Plain text, encoding repair only: no entity unescaping and no normalisation. This is
    /// what ftfy's `fixed_encoding` expects (used by `textpipe eval decode`).
    pub fn repair_only() -> Self {
        DecodeOptions {
            html: HtmlMode::Never,
            unescape_entities: false,
            nfc: false,
            line_endings: false,
            remove_controls: false,
            remove_soft_hyphens: false,
            normalize_spaces: false,
            ..Default::default()
        }
    }
}

/// The `decode` stage factory.
pub fn factory() -> impl pipeline_core::StageFactory {
    TypedFactory::new(
        "decode",
        "bytes → text: BOM, charset detection, HTML → blocks, entities, mojibake repair, normalisation",
        |o: DecodeOptions, ctx: &BuildContext| -> Result<Arc<dyn PreparedStage>, OptionsError> {
            let fallback = encoding_rs::Encoding::for_label(o.fallback_encoding.as_bytes()).ok_or_else(|| {
                OptionsError::at("fallback_encoding", format!("unknown encoding `{}`", o.fallback_encoding))
                    .with_help("use a WHATWG label such as \"windows-1252\", \"iso-8859-2\", \"koi8-r\"")
            })?;
            let d = Decoder { o, fallback, name: ctx.stage_name.clone(), chars: None };
            Ok(Arc::new(move || Ok(Box::new(d.clone()) as Box<dyn Stage>)))
        },
    )
    .with_provides(&["text"])
}

/// The decode logic, usable outside a pipeline (eval, benches).
#[derive(Clone)]
pub struct Decoder {
    o: DecodeOptions,
    fallback: &'static encoding_rs::Encoding,
    name: String,
    /// The character model mojibake repair asks; `None`: the shipped one.
    chars: Option<Arc<chars::CharModel>>,
}

impl Decoder {
    /// A decoder with the given options (an unknown fallback label falls back to Windows-1252).
    pub fn new(o: DecodeOptions) -> Self {
        let fallback = encoding_rs::Encoding::for_label(o.fallback_encoding.as_bytes())
            .unwrap_or(encoding_rs::WINDOWS_1252);
        Decoder {
            o,
            fallback,
            name: "decode".into(),
            chars: None,
        }
    }

    /// This decoder with its own character model for mojibake repair (eval folds).
    pub fn with_char_model(mut self, m: Arc<chars::CharModel>) -> Self {
        self.chars = Some(m);
        self
    }

    fn norm(&self) -> normalize::Norm {
        normalize::Norm {
            line_endings: self.o.line_endings,
            controls: self.o.remove_controls,
            soft_hyphens: self.o.remove_soft_hyphens,
            spaces: self.o.normalize_spaces,
            nfc: self.o.nfc,
        }
    }

    /// The author's, date's and title's candidates of an HTML page, decoded as
    /// [`Stage::process`] decodes it (for training their models); `None` when the bytes
    /// are not HTML text.
    #[cfg(feature = "train")]
    pub fn meta_candidates(&self, raw: &[u8], url: Option<&str>) -> Option<html::Candidates> {
        let d = charset::decode(raw, None, url, Some(self.fallback), self.o.detect);
        html::looks_like_html(&d.text).then(|| html::parse(&d.text, url).2)
    }

    /// Entities, mojibake and normalisation on one piece of text; counts mojibake repairs.
    pub fn repair_text(&self, text: String, plain: bool, repaired: &mut usize) -> String {
        let mut text = text;
        if plain && self.o.unescape_entities {
            if let Some(t) = unescape_leaked_entities(&text) {
                text = t;
            }
        }
        let norm = self.norm();
        let mut sc = normalize::scan(&text, &norm);
        if self.o.fix_mojibake && sc.suspect {
            let fixed = match &self.chars {
                Some(m) => mojibake::fix_with(&text, m),
                None => mojibake::fix(&text),
            };
            if let Some(t) = fixed {
                *repaired += 1;
                text = t;
                sc = normalize::scan(&text, &norm);
            }
        }
        match normalize::apply(&text, &norm, &sc) {
            Some(t) => t,
            None => text,
        }
    }
}

/// The control bytes in `head` other than tab, line breaks, form feed and escape: bytes
/// under 0x20, plus DEL, less the allowed ones, each counted by plain comparisons into `u8`
/// sums over chunks of 255 bytes, which the compiler vectorises (the filtered count it
/// replaces took a fifth of decoding valid UTF-8).
fn count_controls(head: &[u8]) -> usize {
    head.chunks(255)
        .map(|c| {
            let (mut low, mut del, mut allowed) = (0u8, 0u8, 0u8);
            for &b in c {
                low += u8::from(b < 0x20);
                del += u8::from(b == 0x7f);
                allowed += u8::from(b == b'\t')
                    + u8::from(b == b'\n')
                    + u8::from(b == b'\r')
                    + u8::from(b == 0x0c)
                    + u8::from(b == 0x1b);
            }
            usize::from(low) + usize::from(del) - usize::from(allowed)
        })
        .sum()
}

/// Unescapes entities in plain text, only where a complete entity (`&name;`, `&#123;`, `&#x1F;`) stands.
pub(crate) fn unescape_leaked_entities(text: &str) -> Option<String> {
    memchr::memchr(b'&', text.as_bytes())?;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
            .expect("static regex")
    });
    let mut changed = false;
    let out = re.replace_all(text, |c: &regex::Captures| {
        let m = &c[0];
        let u = htmlize::unescape(m);
        if u != m {
            changed = true;
        }
        u.into_owned()
    });
    changed.then(|| out.into_owned())
}

impl Stage for Decoder {
    fn process(&mut self, doc: &mut Document) -> Result<Outcome, StageError> {
        if doc.raw.is_empty() {
            return Err(StageError::new("empty input"));
        }
        if let Some(kind) = charset::binary_kind(&doc.raw) {
            return Err(StageError::new(format!("binary input ({kind}), not text")));
        }
        let d = charset::decode(
            &doc.raw,
            doc.declared.charset.as_deref(),
            doc.declared.url.as_deref(),
            Some(self.fallback),
            self.o.detect,
        );
        // Binary data shows control bytes early (random bytes: one in nine; text: none but
        // tab, line breaks, form feed and the escape of terminal colours); the first 8 KB
        // decide.
        let head = &d.text.as_bytes()[..d.text.len().min(8192)];
        let controls = count_controls(head);
        if controls * 100 > head.len().max(1) {
            return Err(StageError::new(
                "binary input (control bytes such as NUL), not text",
            ));
        }
        doc.meta.insert("encoding".into(), d.encoding.name().into());
        doc.meta
            .insert("encoding_source".into(), d.source.as_str().into());
        if d.replaced > 0 {
            doc.diagnose(
                &self.name,
                Severity::Warning,
                format!(
                    "{} undecodable byte sequence(s) in {} replaced by U+FFFD",
                    d.replaced,
                    d.encoding.name()
                ),
            );
        }
        let is_html = match self.o.html {
            HtmlMode::Always => true,
            HtmlMode::Never => false,
            HtmlMode::Auto => {
                doc.declared
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.contains("html"))
                    || html::looks_like_html(&d.text)
            }
        };
        let mut repaired = 0usize;
        let text = if is_html {
            let (mut blocks, meta) = html::to_blocks(&d.text, doc.declared.url.as_deref());
            for b in &mut blocks {
                b.text = self.repair_text(std::mem::take(&mut b.text), false, &mut repaired);
            }
            blocks.retain(|b| !b.text.trim().is_empty());
            for (k, v) in [
                ("title", meta.title),
                ("description", meta.description),
                ("author", meta.author),
                ("date", meta.date),
                ("html_lang", meta.lang),
                ("canonical_url", meta.url),
                ("site_name", meta.site_name),
            ] {
                if let Some(v) = v {
                    let v = self.repair_text(v, false, &mut repaired);
                    doc.meta.insert(k.into(), v.into());
                }
            }
            if !meta.tags.is_empty() {
                doc.meta.insert("tags".into(), meta.tags.into());
            }
            if !meta.types.is_empty() {
                doc.meta.insert("types".into(), meta.types.into());
            }
            let text = blocks
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n");
            doc.meta.insert("format".into(), "html".into());
            if self.o.keep_blocks {
                doc.blocks = blocks;
            }
            text
        } else {
            self.repair_text(d.text, true, &mut repaired)
        };
        if repaired > 0 {
            doc.meta.insert("mojibake_repaired".into(), repaired.into());
            doc.diagnose(
                &self.name,
                Severity::Info,
                "repaired mojibake (UTF-8 decoded with a legacy code page)",
            );
        }
        if text.trim().is_empty() {
            doc.set_text(text);
            return Err(StageError::new("no text after decoding"));
        }
        doc.set_text(text);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &[u8]) -> Result<Document, StageError> {
        let mut d = Document::from_bytes("t", raw.to_vec());
        let mut s = Decoder::new(DecodeOptions::default());
        s.process(&mut d).map(|_| d)
    }

    #[test]
    fn control_bytes_are_counted_as_the_definition_says() {
        let naive = |h: &[u8]| {
            h.iter()
                .filter(|&&b| {
                    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || b == 0x7f
                })
                .count()
        };
        let all: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        assert_eq!(count_controls(&all), naive(&all));
        let seed = include_bytes!("../../../seeds/000_c5a5ed7731ad6cab.txt");
        assert_eq!(count_controls(seed), 0);
        assert_eq!(count_controls(&[0u8; 600]), 600);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(run(b"").unwrap_err().message, "empty input");
        assert!(run(b"%PDF-1.4\n%\xe2\xe3")
            .unwrap_err()
            .message
            .contains("PDF"));
        assert!(run(b"\x89PNG\r\n\x1a\n\0\0")
            .unwrap_err()
            .message
            .contains("PNG"));
        assert!(run(b"   \n\t ").unwrap_err().message.contains("no text"));
        // Random bytes (few NULs, but one byte in nine a control) are binary; text with
        // terminal colours and a form feed is not.
        let mut x = 12345u32;
        let noise: Vec<u8> = (0..3000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        assert!(run(&noise).unwrap_err().message.contains("binary"));
        let log = b"\x1b[31mFehler\x1b[0m: Minsk antwortet nicht.\x0cSeite 2: Moskau auch nicht.\n";
        assert!(run(log).unwrap().text.contains("Minsk"));
    }

    #[test]
    fn legacy_and_declared_encodings() {
        let d = run(b"Gr\xfc\xdfe aus Minsk, sagte er \x84heute\x93.").unwrap();
        assert_eq!(d.text, "Grüße aus Minsk, sagte er „heute“.");
        assert_eq!(d.meta["encoding_source"], "detected");
        let mut doc = Document::from_bytes("t", b"\xc1\xe5\xeb\xe0\xf0\xf3\xf1\xfc".to_vec());
        doc.declared.charset = Some("windows-1251".into());
        Decoder::new(DecodeOptions::default())
            .process(&mut doc)
            .unwrap();
        assert_eq!(doc.text, "Беларусь");
        assert_eq!(doc.meta["encoding_source"], "declared-source");
    }

    #[test]
    fn leaked_entities_in_plain_text() {
        let d = run(b"AT&amp;T und &#8222;Zitat&#8220; &unknownentity; & Co").unwrap();
        assert_eq!(d.text, "AT&T und „Zitat“ &unknownentity; & Co");
    }

    #[test]
    fn invalid_utf8_bytes_get_a_diagnostic() {
        let mut doc = Document::from_bytes("t", b"Gr\xc3\xbc\xc3e \xff\xfe\xfd ok".to_vec());
        doc.declared.charset = Some("utf-8".into());
        Decoder::new(DecodeOptions::default())
            .process(&mut doc)
            .unwrap();
        assert!(doc.text.contains('\u{FFFD}'), "{}", doc.text);
        assert!(doc
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning));
    }
}
