//! Text normalisation in one pass: line endings, control and zero-width characters, soft
//! hyphens, exotic spaces, NFC. A fast scan skips text that needs none of it (most text).

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Which normalisations to apply.
#[derive(Debug, Clone, Copy)]
pub struct Norm {
    /// Line endings to `\n`.
    pub line_endings: bool,
    /// Remove control and zero-width characters.
    pub controls: bool,
    /// Remove soft hyphens.
    pub soft_hyphens: bool,
    /// Exotic spaces to U+0020.
    pub spaces: bool,
    /// NFC.
    pub nfc: bool,
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}'
    )
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Characters at or above U+0300 that can never change under NFC in common scripts.
fn nfc_safe(c: char) -> bool {
    matches!(c, '\u{370}'..='\u{482}' | '\u{48A}'..='\u{52F}' | '\u{2000}'..='\u{2BFF}' | '\u{3000}'..='\u{303F}' | '\u{4E00}'..='\u{9FFF}' | '\u{1F000}'..='\u{1FAFF}')
}

/// True if any ASCII byte in the chunk is a control (other than `\n`, `\t`) or any byte is non-ASCII.
#[inline]
fn chunk_interesting(chunk: &[u8]) -> bool {
    chunk.iter().fold(0u8, |acc, &b| {
        acc | (b & 0x80) | u8::from(b < 0x20 && b != b'\n' && b != b'\t') | u8::from(b == 0x7F)
    }) != 0
}

fn char_needs(c: char, n: &Norm, nfc_check: &mut bool) -> bool {
    match c {
        '\r' => n.line_endings,
        '\n' | '\t' => false,
        c if c < ' ' || c == '\u{7F}' || ('\u{80}'..='\u{9F}').contains(&c) => n.controls,
        '\u{2028}' | '\u{2029}' => n.line_endings,
        '\u{AD}' => n.soft_hyphens,
        c if is_zero_width(c) => n.controls,
        c if is_space(c) => n.spaces,
        c => {
            if n.nfc && c >= '\u{300}' && !nfc_safe(c) {
                *nfc_check = true;
            }
            false
        }
    }
}

/// Normalises `text`; returns `None` when nothing changes (the common, allocation-free case).
pub fn normalize(text: &str, n: &Norm) -> Option<String> {
    let bytes = text.as_bytes();
    let mut first = None;
    let mut nfc_check = false;
    let mut i = 0;
    while i < bytes.len() {
        let end = (i + 32).min(bytes.len());
        if !chunk_interesting(&bytes[i..end]) {
            i = end;
            continue;
        }
        // Look at this chunk byte by byte; decode a char only at lead bytes.
        while i < end {
            let b = bytes[i];
            if b < 0x80 {
                if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F {
                    let needs = if b == b'\r' {
                        n.line_endings
                    } else {
                        n.controls
                    };
                    if needs {
                        first = Some(i);
                        break;
                    }
                }
                i += 1;
            } else if b >= 0xC0 {
                let Some(c) = text[i..].chars().next() else {
                    break;
                };
                if char_needs(c, n, &mut nfc_check) {
                    first = Some(i);
                    break;
                }
                i += c.len_utf8();
            } else {
                i += 1;
            }
        }
        // A multi-byte char may straddle the chunk end; `i` is past it, which is fine.
        if first.is_some() {
            break;
        }
    }
    let rewritten = first.map(|start| {
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..start]);
        let mut chars = text[start..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if n.line_endings => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    out.push('\n');
                }
                '\u{2028}' | '\u{2029}' if n.line_endings => out.push('\n'),
                '\n' | '\t' => out.push(c),
                c if n.controls
                    && (c < ' '
                        || c == '\u{7F}'
                        || ('\u{80}'..='\u{9F}').contains(&c)
                        || is_zero_width(c)) => {}
                '\u{AD}' if n.soft_hyphens => {}
                c if n.spaces && is_space(c) => out.push(' '),
                c => {
                    if n.nfc && c >= '\u{300}' && !nfc_safe(c) {
                        nfc_check = true;
                    }
                    out.push(c);
                }
            }
        }
        out
    });
    if nfc_check && n.nfc {
        let s = rewritten.as_deref().unwrap_or(text);
        if is_nfc_quick(s.chars()) != IsNormalized::Yes {
            let nfc: String = s.nfc().collect();
            if nfc != s {
                return Some(nfc);
            }
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Norm = Norm {
        line_endings: true,
        controls: true,
        soft_hyphens: true,
        spaces: true,
        nfc: true,
    };

    #[test]
    fn normalises_each_class() {
        assert_eq!(normalize("a\r\nb\rc", &ALL).as_deref(), Some("a\nb\nc"));
        assert_eq!(
            normalize("Zu\u{AD}sam\u{AD}men\u{200B}arbeit", &ALL).as_deref(),
            Some("Zusammenarbeit")
        );
        assert_eq!(
            normalize("38,6\u{A0}Mrd.\u{202F}USD", &ALL).as_deref(),
            Some("38,6 Mrd. USD")
        );
        assert_eq!(
            normalize("Gru\u{308}ße\u{1}", &ALL).as_deref(),
            Some("Grüße")
        );
        assert_eq!(normalize("tab\tand\nnewline stay", &ALL), None);
        assert_eq!(normalize("Grüße „aus“ Minsk – 40 %", &ALL), None);
    }

    #[test]
    fn options_switch_classes_off() {
        let none = Norm {
            line_endings: false,
            controls: false,
            soft_hyphens: false,
            spaces: false,
            nfc: false,
        };
        assert_eq!(normalize("a\r\n\u{A0}\u{AD}Gru\u{308}ße", &none), None);
    }
}
