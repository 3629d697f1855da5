//! Lower-casing words fast: ASCII in bulk, Latin-1 capitals by offset, the rest by the
//! Unicode table; the same answer as `char::to_lowercase`.

/// A Latin-1 letter (U+00C0..=U+00FF but × and ÷: ä, ö, ü, ß, é, …), known without a Unicode
/// table lookup.
#[inline]
pub fn is_latin1_letter(c: char) -> bool {
    ('\u{C0}'..='\u{FF}').contains(&c) && c != '×' && c != '÷'
}

/// Appends `w` lower-cased to `buf`, character by character (`char::to_lowercase`): runs of
/// ASCII in bulk, Latin-1 capitals (Ä, Ö, Ü, É, …) by offset, the rest by the Unicode table.
pub fn push_lowercase(buf: &mut String, w: &str) {
    // Fast path: copy, lower-case ASCII in bulk, then fix the non-ASCII characters in place
    // where that keeps their length: Latin-1 capitals (À..Þ → à..þ: second byte + 0x20);
    // the rest of Latin-1 and the general punctuation block (U+2000–U+203F: dashes,
    // quotes) have no case. Anything else takes the general path below.
    let start = buf.len();
    buf.push_str(w);
    // SAFETY: only ASCII bytes and the second byte of two-byte sequences C3 80..9E change,
    // each to a byte of the same class (ASCII, continuation byte 0xA0..0xBE), so the
    // buffer stays UTF-8.
    let bytes = unsafe { buf.as_bytes_mut() };
    let bytes = &mut bytes[start..];
    bytes.make_ascii_lowercase();
    let mut i = 0;
    let mut exact = true;
    while i < bytes.len() {
        // Skip ASCII eight bytes at a time.
        if let Some(c) = bytes.get(i..i + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            if u64::from_le_bytes(a) & 0x8080_8080_8080_8080 == 0 {
                i += 8;
                continue;
            }
        }
        let x = bytes[i];
        if x < 0x80 {
            i += 1;
            continue;
        }
        match (x, bytes.get(i + 1).copied().unwrap_or(0)) {
            (0xC3, y) => {
                if (0x80..=0x9E).contains(&y) && y != 0x97 {
                    bytes[i + 1] = y + 0x20;
                }
                i += 2;
            }
            (0xC2, _) => i += 2,
            (0xE2, 0x80) => i += 3,
            _ => {
                exact = false;
                break;
            }
        }
    }
    if exact {
        return;
    }
    // Bytes before `i` are done (`i` starts a character: the scan moves whole characters);
    // the general path takes the rest.
    buf.truncate(start + i);
    let mut rest = &w[i..];
    while !rest.is_empty() {
        let ascii = rest.bytes().position(|b| b >= 0x80).unwrap_or(rest.len());
        let start = buf.len();
        buf.push_str(&rest[..ascii]);
        buf[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        match c {
            // À..Þ but ×: the lower-case letter is 0x20 further on.
            '\u{C0}'..='\u{DE}' if c != '\u{D7}' => {
                buf.push(char::from_u32(c as u32 + 0x20).unwrap_or(c));
            }
            '\u{80}'..='\u{FF}' => buf.push(c),
            _ => buf.extend(c.to_lowercase()),
        }
        rest = &rest[c.len_utf8()..];
    }
}

#[cfg(test)]
mod lower_tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn push_lowercase_is_char_to_lowercase(text in "[a-zA-Z0-9 äöüÄÖÜßÀ-ÿ×÷„“–…ŁŚİẞΣЖ]{0,40}") {
            let mut buf = String::new();
            super::push_lowercase(&mut buf, &text);
            let want: String = text.chars().flat_map(char::to_lowercase).collect();
            prop_assert_eq!(buf, want);
        }
    }

    #[test]
    fn push_lowercase_matches_char_to_lowercase() {
        for text in [
            "ÄÖÜ äöü ß ẞ ÀÞ × ÷ Ÿ İstanbul ΣΑΣ КИЇВ Straße LKW-Hersteller 40%",
            "„ÜBER“ – ÀÉÎÕÜÞ × ÷ ß ¿Qué? «Zürich» … ÆØÅ",
            "Ende mit Ä",
        ] {
            let mut buf = String::from(">");
            super::push_lowercase(&mut buf, text);
            let want: String = text.chars().flat_map(char::to_lowercase).collect();
            assert_eq!(buf, format!(">{want}"));
        }
    }
}
