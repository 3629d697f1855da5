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

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit mask (high bit of each byte) of the bytes of `w` that are non-ASCII, below 0x20, or
/// 0x7F. Exact for "non-ASCII"; the control test may also flag bytes after a flagged one,
/// which only costs a closer look.
#[inline]
fn interesting_mask(w: u64) -> u64 {
    let high = w & HI;
    let ctrl = w.wrapping_sub(LO * 0x20) & !w & HI;
    let del = (w ^ (LO * 0x7F)).wrapping_sub(LO) & !(w ^ (LO * 0x7F)) & HI;
    high | ctrl | del
}

/// Index of the next byte at or after `i` that is non-ASCII, a control or DEL (8 bytes at a time).
#[inline]
pub(crate) fn next_interesting(bytes: &[u8], mut i: usize) -> Option<usize> {
    // Two words per step while both are clean (most of any text).
    while i + 16 <= bytes.len() {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&bytes[i..i + 8]);
        b.copy_from_slice(&bytes[i + 8..i + 16]);
        if interesting_mask(u64::from_le_bytes(a)) | interesting_mask(u64::from_le_bytes(b)) != 0 {
            break;
        }
        i += 16;
    }
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let m = interesting_mask(u64::from_le_bytes(word));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..bytes.len()).find(|&j| bytes[j] >= 0x80 || bytes[j] < 0x20 || bytes[j] == 0x7F)
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

/// What one pass over a text found: where normalisation must start, whether NFC must be
/// checked, and whether the text could be mojibake at all (so the costlier analysis in
/// `mojibake` runs only then).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scan {
    /// Byte offset of the first character that normalisation changes.
    pub first: Option<usize>,
    /// A character that NFC might change was seen.
    pub nfc_check: bool,
    /// Something that can make `mojibake::weirdness` non-zero was seen.
    pub suspect: bool,
}

/// Could this non-ASCII character (followed by a non-ASCII one, or not) take part in mojibake?
#[inline]
fn suspect_char(c: char, next_non_ascii: bool) -> bool {
    let u = c as u32;
    next_non_ascii
        || (0x80..=0x9F).contains(&u)
        || (0x180..=0x2AF).contains(&u)
        || (0x334..=0x338).contains(&u)
        || (0xE000..=0xF8FF).contains(&u)
        || c == 'Ã'
        || c == 'ſ'
        // A letter outside Latin and Greek next to ASCII ("РDr").
        || (u > 0x3FF && !(0x1E00..=0x1FFF).contains(&u) && !(0x2000..=0x2BFF).contains(&u) && c.is_alphabetic())
}

/// One pass over `text` (8 bytes at a time between interesting bytes).
pub fn scan(text: &str, n: &Norm) -> Scan {
    let bytes = text.as_bytes();
    let mut sc = Scan::default();
    let mut i = 0;
    while let Some(j) = next_interesting(bytes, i) {
        let b = bytes[j];
        if b < 0x80 {
            let needs = match b {
                b'\n' | b'\t' => false,
                b'\r' => n.line_endings,
                _ => n.controls,
            };
            if needs && sc.first.is_none() {
                sc.first = Some(j);
            }
            i = j + 1;
        } else if b >= 0xC0 {
            let Some(c) = text[j..].chars().next() else {
                break;
            };
            let end = j + c.len_utf8();
            if char_needs(c, n, &mut sc.nfc_check) && sc.first.is_none() {
                sc.first = Some(j);
            }
            if !sc.suspect && suspect_char(c, bytes.get(end).is_some_and(|b| *b >= 0x80)) {
                sc.suspect = true;
            }
            i = end;
        } else {
            i = j + 1;
        }
        if sc.first.is_some() && sc.suspect {
            break;
        }
    }
    sc
}

/// Normalises `text`; returns `None` when nothing changes (the common, allocation-free case).
pub fn normalize(text: &str, n: &Norm) -> Option<String> {
    apply(text, n, &scan(text, n))
}

/// Normalises `text` given its [`scan`]. Clean runs are copied in bulk; only the
/// interesting characters are looked at one by one.
pub fn apply(text: &str, n: &Norm, sc: &Scan) -> Option<String> {
    let mut nfc_check = sc.nfc_check;
    let rewritten = sc.first.map(|start| {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..start]);
        let mut i = start;
        while i < bytes.len() {
            let j = next_interesting(bytes, i).unwrap_or(bytes.len());
            out.push_str(&text[i..j]);
            if j >= bytes.len() {
                break;
            }
            let b = bytes[j];
            if b < 0x80 {
                match b {
                    b'\r' if n.line_endings => {
                        out.push('\n');
                        i = j + if bytes.get(j + 1) == Some(&b'\n') {
                            2
                        } else {
                            1
                        };
                        continue;
                    }
                    b'\n' | b'\t' | b'\r' => out.push(b as char),
                    _ if n.controls => {}
                    _ => out.push(b as char),
                }
                i = j + 1;
                continue;
            }
            let Some(c) = text[j..].chars().next() else {
                break;
            };
            i = j + c.len_utf8();
            match c {
                '\u{2028}' | '\u{2029}' if n.line_endings => out.push('\n'),
                c if n.controls && (('\u{80}'..='\u{9F}').contains(&c) || is_zero_width(c)) => {}
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
