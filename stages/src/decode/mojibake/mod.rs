//! Mojibake repair: UTF-8 that was decoded with a single-byte code page (Windows-1250…1254
//! and 1257, Latin-1, ISO-8859-2/15, MacRoman, CP437, KOI8-R), possibly more than once, in
//! the whole text or in some of its words.
//!
//! Written here because no maintained Rust crate does this. The method:
//! 1. Score the text's *weirdness*: adjacent pairs that look like a UTF-8 lead byte followed
//!    by a continuation byte in one of the code pages (`Ã©`, `â€`, `Ð¿`), C1 controls, and
//!    characters that are rare in real text. Typical punctuation after a capital letter
//!    (`É’s`, `Å—`, `Õ…`) is not counted. Text that scores 0 is left alone (the fast path).
//! 2. Re-encode the whole text with each code page and decode as UTF-8 (tolerating a lost
//!    NBSP after `Ã`/`Â` and `?` or `�` standing for a lost byte). Of the results that are
//!    valid and less weird, the one the character model ([`super::chars`]) finds most
//!    likely wins. Repeat, for text encoded wrongly twice.
//! 3. Word by word, for mojibake mixed with correct text: each word's readings through the
//!    code pages are scored by the character model in the language the text is most likely
//!    in, and the best replaces the word when it is clearly more likely (`words.rs`).
//! 4. C1 controls left as Windows-1252 punctuation; unambiguous 3- and 4-byte sequences
//!    (`â€œ` → `“`, `ðŸ˜€` → `😀`) whose result is a plausible character.
//!
//! Correct text is never changed unless it scores as weird *and* re-decodes validly into
//! something the character model finds far more likely, which correct text practically
//! never does.

mod words;

use words::{fix_words, strong_pairs};

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::chars::{self, CharModel};

/// A single-byte code page: char → byte for the upper half (0x80–0xFF).
struct Charmap {
    to_byte: FxHashMap<char, u8>,
    /// `to_byte` for characters below [`DENSE`], 0 where there is none.
    dense: Vec<u8>,
}

impl Charmap {
    fn from_encoding(enc: &'static encoding_rs::Encoding, add_c1: bool) -> Self {
        let mut to_byte = FxHashMap::default();
        for b in 0x80u8..=0xFF {
            let byte = [b];
            let (s, _) = enc.decode_without_bom_handling(&byte);
            if let Some(c) = s.chars().next().filter(|c| *c != '\u{FFFD}') {
                to_byte.entry(c).or_insert(b);
            }
        }
        if add_c1 {
            // Latin-1 mojibake leaves C1 controls where Windows-1252 has punctuation.
            for b in 0x80u8..=0x9F {
                to_byte.entry(char::from(b)).or_insert(b);
            }
            for b in 0xA0u8..=0xFF {
                to_byte.entry(char::from(b)).or_insert(b);
            }
        }
        Charmap::new(to_byte)
    }

    fn new(to_byte: FxHashMap<char, u8>) -> Self {
        let mut dense = vec![0u8; DENSE];
        for (&c, &b) in &to_byte {
            if let Some(d) = dense.get_mut(c as usize) {
                *d = b;
            }
        }
        Charmap { to_byte, dense }
    }

    fn from_table(upper: &str) -> Self {
        let to_byte = upper
            .chars()
            .zip(0x80u8..=0xFF)
            .collect::<FxHashMap<char, u8>>();
        Charmap::new(to_byte)
    }

    fn byte(&self, c: char) -> Option<u8> {
        if c.is_ascii() {
            Some(c as u8)
        } else if let Some(&b) = self.dense.get(c as usize) {
            (b != 0).then_some(b)
        } else {
            self.to_byte.get(&c).copied()
        }
    }

    /// The text's bytes in this code page, or `None` where a character has none or the
    /// bytes cannot be UTF-8 even to [`utf8_tolerant`]: a continuation byte with no lead
    /// before it, a lead where a continuation must come, or a byte no UTF-8 has. Checked
    /// as it goes, so correct text fails at its first such byte instead of at its end.
    fn encode(&self, text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len());
        let mut expect = 0u8;
        for c in text.chars() {
            let b = match self.byte(c) {
                Some(b) => b,
                // A replacement character stands for a byte lost earlier.
                None if c == '\u{FFFD}' => 0x1A,
                None => return None,
            };
            match b {
                0..=0x7F => expect = 0,
                0x80..=0xBF if expect == 0 => return None,
                0x80..=0xBF => expect -= 1,
                0xC2..=0xF4 if expect == 0 => {
                    expect = match b {
                        0xC2..=0xDF => 1,
                        0xE0..=0xEF => 2,
                        _ => 3,
                    }
                }
                _ => return None,
            }
            out.push(b);
        }
        Some(out)
    }
}

/// CP437's upper half (not in encoding_rs, which follows the WHATWG encoding standard).
pub const CP437: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}";

/// Index of Windows-1257 in [`charmaps`]: rare, so its repairs must explain themselves.
const BALTIC: usize = 4;

fn charmaps() -> &'static [Charmap] {
    static MAPS: OnceLock<Vec<Charmap>> = OnceLock::new();
    MAPS.get_or_init(|| {
        vec![
            Charmap::from_encoding(encoding_rs::WINDOWS_1252, true),
            Charmap::from_encoding(encoding_rs::WINDOWS_1251, false),
            Charmap::from_encoding(encoding_rs::WINDOWS_1250, false),
            Charmap::from_encoding(encoding_rs::ISO_8859_2, false),
            Charmap::from_encoding(encoding_rs::WINDOWS_1257, false),
            Charmap::from_encoding(encoding_rs::MACINTOSH, false),
            Charmap::from_table(CP437),
            Charmap::from_encoding(encoding_rs::WINDOWS_1254, false),
            Charmap::from_encoding(encoding_rs::ISO_8859_15, false),
            Charmap::from_encoding(encoding_rs::WINDOWS_1253, false),
            Charmap::from_encoding(encoding_rs::KOI8_R, false),
        ]
    })
}

/// Per character, the code pages (bits, in [`charmaps`] order) where it stands for a UTF-8
/// lead byte and those where it stands for a continuation byte. A space, `?` and U+FFFD
/// count as continuations everywhere (a lost NBSP or byte). Only pages where some lead
/// is followed by a continuation can re-decode a text: the others are not tried.
fn page_masks() -> &'static PageMasks {
    static MASKS: OnceLock<PageMasks> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut m = PageMasks {
            dense: vec![(0, 0); DENSE],
            rest: FxHashMap::default(),
        };
        for (i, map) in charmaps().iter().enumerate() {
            for (&c, &b) in &map.to_byte {
                let e = m.entry(c);
                if is_lead(b) {
                    e.0 |= 1 << i;
                }
                if is_cont(b) {
                    e.1 |= 1 << i;
                }
            }
        }
        for c in [' ', '?', '\u{FFFD}'] {
            m.entry(c).1 = u16::MAX;
        }
        m
    })
}

/// Characters below this (Latin, Greek, Cyrillic, punctuation, box drawing) are looked up
/// in an array, the rest in a hash map.
const DENSE: usize = 0x2600;

/// [`page_masks`]' table.
struct PageMasks {
    dense: Vec<(u16, u16)>,
    rest: FxHashMap<char, (u16, u16)>,
}

impl PageMasks {
    fn entry(&mut self, c: char) -> &mut (u16, u16) {
        match self.dense.get_mut(c as usize) {
            Some(e) => e,
            None => self.rest.entry(c).or_default(),
        }
    }

    /// (lead pages, continuation pages) of `c`.
    fn get(&self, c: char) -> (u16, u16) {
        match self.dense.get(c as usize) {
            Some(&e) => e,
            None => self.rest.get(&c).copied().unwrap_or_default(),
        }
    }
}

/// The pages ([`page_masks`]) under which `text` holds a lead followed by a continuation.
fn pair_pages(text: &str) -> u16 {
    let masks = page_masks();
    let bytes = text.as_bytes();
    let mut pages = 0;
    let mut lead = 0u16;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii() {
            // No ASCII character is a lead: only the first of a run can follow one.
            pages |= lead & masks.get(char::from(bytes[i])).1;
            lead = 0;
            i = next_non_ascii(bytes, i + 1);
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let (l, k) = masks.get(c);
        pages |= lead & k;
        lead = l;
        i += c.len_utf8();
    }
    pages
}

/// Index of the first non-ASCII byte at or after `i` (the length if none), 8 bytes at a
/// time.
fn next_non_ascii(bytes: &[u8], mut i: usize) -> usize {
    while i + 8 <= bytes.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        let m = u64::from_le_bytes(w) & 0x8080_8080_8080_8080;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| !b.is_ascii()))
        .map_or(bytes.len(), |p| i + p)
}

fn is_lead(b: u8) -> bool {
    (0xC2..=0xF4).contains(&b)
}

fn is_cont(b: u8) -> bool {
    (0x80..=0xBF).contains(&b)
}

/// Punctuation that legitimately follows a capital letter (`É’s`, `Å—`, `Õ…`).
fn benign_after(a: char, b: char) -> bool {
    match a {
        'Â' | 'Ã' => matches!(b, '’' | '‘' | '“' | '”' | '…'),
        _ => matches!(b, '’' | '‘' | '“' | '”' | '…' | '–' | '—' | '™' | '•' | '´'),
    }
}

/// How much the text looks like mojibake (0: not at all). Skips ASCII 8 bytes at a time and
/// allocates nothing, so clean text costs little more than one pass over its bytes.
pub fn weirdness(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut score = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = next_non_ascii(bytes, i);
        if i >= bytes.len() {
            break;
        }
        if bytes[i] < 0xC0 {
            i += 1; // ASCII tail byte or a continuation byte
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let next_at = i + c.len_utf8();
        let next = text[next_at..].chars().next();
        let prev = text[..i].chars().next_back();
        i = next_at;
        if ('\u{80}'..='\u{9F}').contains(&c) {
            score += 1;
        }
        if c == 'ſ' {
            score += 2;
        }
        // A private-use character, or a rare Latin Extended-B/IPA letter standing alone, is
        // what a wrong re-decoding produces, not what people write.
        if ('\u{E000}'..='\u{F8FF}').contains(&c) {
            score += 3;
        }
        if ('\u{180}'..='\u{2AF}').contains(&c) {
            let prev_letter = prev.is_some_and(char::is_alphabetic);
            let next_letter = next.is_some_and(char::is_alphabetic);
            if !prev_letter && !next_letter {
                score += 2;
            }
        }
        if ('\u{334}'..='\u{338}').contains(&c) {
            score += 1;
        }
        // "voilÃ le", "jusqu'Ã nos": an à whose NBSP byte was lost.
        if c == 'Ã' && next == Some(' ') && prev.is_some_and(|p| p.is_lowercase() || p == '\'') {
            score += 1;
        }
        let Some(next) = next else { continue };
        // Letters of different scripts touching each other ("РDr"): wrong re-decoding.
        // (Script ranges first: `is_alphabetic` on non-ASCII needs a table lookup.)
        if script(c) != script(next) && c.is_alphabetic() && next.is_alphabetic() {
            score += 1;
        }
        // Punctuation after a capital is benign where a capital ends a word ("É’s", "OLÉ…"),
        // not inside one: after a lower-case letter (`stojÄ…`, `s√•`) or before one (`Ã…ret`).
        // (An apostrophe before a letter is English: "a lot of Ã’s".)
        let inside_word = prev.is_some_and(char::is_lowercase)
            || (!matches!(next, '’' | '‘')
                && text[next_at + next.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic));
        // A brand name in capitals with its mark (`NESTLÉ®`): `Ă©` is Windows-1250 for
        // `é` (`NĂ©` for `Né`), but after two more capitals it ends a word in capitals.
        let brand_mark = matches!(next, '®' | '©') && c.is_uppercase() && {
            let mut before = text[..next_at - c.len_utf8()].chars().rev();
            before.next().is_some_and(char::is_uppercase)
                && before.next().is_some_and(char::is_uppercase)
        };
        if next.is_ascii()
            || ((benign_after(c, next) || brand_mark) && !inside_word)
            || matches!(c, '„' | '“' | '”' | '‘' | '’' | '–' | '—' | '…')
        {
            continue;
        }
        let masks = page_masks();
        let pair = masks.get(c).0 & masks.get(next).1 != 0;
        if !pair {
            continue;
        }
        // × and ÷ before a currency sign or digit are maths, unless the pattern repeats.
        if matches!(c, '×' | '÷') {
            let after = text[next_at + next.len_utf8()..].chars().next();
            if !after.is_some_and(|n2| matches!(n2, '×' | '÷')) {
                continue;
            }
        }
        score += 1;
    }
    score
}

/// A coarse script class for letters: 0 Latin or Greek (mixed freely in science and
/// maths), 2 Cyrillic, 3 Hebrew/Arabic, 4 other.
fn script(c: char) -> u8 {
    match c as u32 {
        0..=0x24F | 0x1E00..=0x1EFF => 0,
        0x370..=0x3FF | 0x1F00..=0x1FFF => 0,
        0x400..=0x52F => 2,
        0x590..=0x6FF => 3,
        _ => 4,
    }
}

/// Letters only Windows-1257 mojibake can explain (Baltic).
fn has_baltic_letters(s: &str) -> bool {
    s.chars()
        .any(|c| "āčēģīķļņšūžąęėįųĀČĒĢĪĶĻŅŠŪŽĄĘĖĮŲ".contains(c))
}

/// Decodes bytes as UTF-8, tolerating a space that stood for NBSP after `Ã`/`Â`, and `?` or
/// a lost-byte marker (0x1A) in place of a missing continuation byte (becomes U+FFFD).
fn utf8_sloppy(bytes: &[u8]) -> Option<String> {
    utf8_tolerant(bytes, true)
}

/// [`utf8_sloppy`], with `lost_marks` whether `?` and 0x1A may stand for a lost byte (not
/// inside one word of otherwise correct text, where `víš?` is a Czech word and a question
/// mark).
fn utf8_tolerant(bytes: &[u8], lost_marks: bool) -> Option<String> {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if b == 0x1A {
                out.push('\u{FFFD}');
            } else {
                out.push(b as char);
            }
            i += 1;
            continue;
        }
        let need = match b {
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => return None,
        };
        // CESU-8: a surrogate pair encoded as two 3-byte sequences.
        if b == 0xED && i + 6 <= bytes.len() {
            let s = &bytes[i..i + 6];
            if (0xA0..=0xAF).contains(&s[1])
                && is_cont(s[2])
                && s[3] == 0xED
                && (0xB0..=0xBF).contains(&s[4])
                && is_cont(s[5])
            {
                let hi = 0xD800 + (((s[1] as u32) & 0x0F) << 6) + ((s[2] as u32) & 0x3F);
                let lo = 0xDC00 + (((s[4] as u32) & 0x0F) << 6) + ((s[5] as u32) & 0x3F);
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                out.push(char::from_u32(cp)?);
                i += 6;
                continue;
            }
        }
        // "Ã " is an à whose NBSP byte was lost (the space is real); after other leads the
        // space stands for the NBSP byte itself ("Å veices" → "Šveices").
        if b == 0xC3 && bytes.get(i + 1) == Some(&0x20) {
            out.push('à');
            i += 1;
            continue;
        }
        let mut buf = [b, 0, 0, 0];
        let mut lost = false;
        let mut k = 1;
        while k <= need {
            match bytes.get(i + k).copied() {
                Some(c) if is_cont(c) => buf[k] = c,
                Some(0x20) if k == 1 && need == 1 => buf[k] = 0xA0,
                Some(b'?') | Some(0x1A)
                    if lost_marks && k >= 1 && (need == 1 || k >= 2 || b == 0xE2) =>
                {
                    lost = true;
                    break;
                }
                _ => return None,
            }
            k += 1;
        }
        if lost {
            out.push('\u{FFFD}');
            i += k + 1;
            continue;
        }
        let s = std::str::from_utf8(&buf[..=need]).ok()?;
        out.push_str(s);
        i += need + 1;
    }
    Some(out)
}

/// A character people write (or U+FFFD for a byte lost earlier): not a C1 control, a
/// private-use or noncharacter, or one of the scripts a wrong re-decoding lands in but text rarely uses
/// (Ogham, Runic, Syriac to N'Ko, phonetic extensions, Yi, Glagolitic, Tifinagh, …).
fn plausible(c: char) -> bool {
    !matches!(c as u32,
        0x80..=0x9F
        | 0x0700..=0x08FF
        | 0x1680..=0x18AF
        | 0x1AB0..=0x1DBF
        | 0x2C00..=0x2DFF
        | 0xA000..=0xABFF
        | 0xD800..=0xF8FF
        | 0xFFF0..=0xFFFC
        | 0xFFFE..=0xFFFF)
}

/// An IPA letter (U+0250–U+02AF): written in pronunciation guides, not in running words,
/// while a capital's accent and a sign read as one UTF-8 sequence often make one
/// (`NESTLÉ®` read back is `NESTLɮ`). No repair makes one.
fn is_ipa(c: char) -> bool {
    ('\u{250}'..='\u{2AF}').contains(&c)
}

/// A character a 3- or 4-byte mojibake sequence may plausibly stand for.
fn plausible_wide(c: char) -> bool {
    let u = c as u32;
    match u {
        0x0800..=0xFFFF => {
            !(0x1D00..=0x1DBF).contains(&u)
                && !(0xD800..=0xF8FF).contains(&u)
                && !(0xFFF0..=0xFFFC).contains(&u)
        }
        0x1F000..=0x1FAFF | 0x20000..=0x2FFFF => true,
        _ => false,
    }
}

/// Repairs only unambiguous 3- and 4-byte sequences read as Windows-1252/Latin-1.
fn fix_wide_sequences(text: &str) -> Option<String> {
    let m = &charmaps()[0];
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let need = match m.byte(c) {
            Some(0xE0..=0xEF) if !c.is_ascii() => 2,
            Some(0xF0..=0xF4) if !c.is_ascii() => 3,
            _ => 0,
        };
        if need > 0 && i + need < chars.len() {
            let mut buf = vec![m.byte(c).unwrap_or(0)];
            for &n in &chars[i + 1..=i + need] {
                match m.byte(n) {
                    Some(b) if is_cont(b) && !n.is_ascii() => buf.push(b),
                    _ => break,
                }
            }
            if buf.len() == need + 1 {
                if let Some(d) = std::str::from_utf8(&buf)
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    if plausible_wide(d) {
                        out.push(d);
                        changed = true;
                        i += need + 1;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// Latin-1-decoded Windows-1252 punctuation: C1 controls that stand for `„“”–…` and friends.
fn fix_c1_punctuation(text: &str) -> Option<String> {
    if !text.chars().any(|c| ('\u{80}'..='\u{9F}').contains(&c)) {
        return None;
    }
    let mut changed = false;
    let out: String = text
        .chars()
        .map(|c| {
            if ('\u{80}'..='\u{9F}').contains(&c) {
                let byte = [c as u8];
                let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                if let Some(d) = s
                    .chars()
                    .next()
                    .filter(|d| !('\u{80}'..='\u{9F}').contains(d))
                {
                    changed = true;
                    return d;
                }
            }
            c
        })
        .collect();
    changed.then_some(out)
}

/// Repairs mojibake in `text` with the shipped character model; returns the repaired
/// text, or `None` if nothing was changed.
pub fn fix(text: &str) -> Option<String> {
    fix_with(text, chars::shipped()?)
}

/// [`fix`] with a given character model.
pub fn fix_with(text: &str, model: &CharModel) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let mut current = text.to_string();
    let mut score = weirdness(&current);
    if score == 0 {
        return None;
    }
    let mut changed = false;
    for _ in 0..3 {
        // Every page that reads the text back as valid, less weird UTF-8 is a candidate,
        // as several pages often decode one mojibake validly.
        let lost = |t: &str| t.matches('\u{FFFD}').count();
        // Characters a reading must not add: implausible ones, and IPA letters (see
        // [`is_ipa`]; word by word, the other words are still repaired).
        let odd = |t: &str| {
            t.chars()
                .filter(|&c| !c.is_ascii() && (!plausible(c) || is_ipa(c)))
                .count()
        };
        // Of the text as it stands, once a page has read it back.
        let lost_now = std::cell::OnceCell::new();
        let lost_now = || *lost_now.get_or_init(|| lost(&current));
        let odd_now = std::cell::OnceCell::new();
        let odd_now = || *odd_now.get_or_init(|| odd(&current));
        let evidence = std::cell::OnceCell::new();
        let evidence = || *evidence.get_or_init(|| strong_pairs(&current));
        let pages = pair_pages(&current);
        let mut found: Vec<String> = Vec::new();
        for (idx, m) in charmaps().iter().enumerate() {
            if pages & (1 << idx) == 0 {
                continue;
            }
            let Some(bytes) = m.encode(&current) else {
                continue;
            };
            let Some(fixed) = utf8_sloppy(&bytes) else {
                continue;
            };
            // A `?` read as a lost byte needs other evidence: `víš?` is a Czech word and a
            // question mark.
            let guessed = (lost(&fixed) > lost_now() && evidence() == 0) || odd(&fixed) > odd_now();
            // Windows-1257 readings of a whole text must give Baltic letters: only a
            // Baltic text is likely to have been written in it. (Word by word, the
            // character model decides.)
            if fixed == current || guessed || (idx == BALTIC && !has_baltic_letters(&fixed)) {
                continue;
            }
            if weirdness(&fixed) < score && !found.contains(&fixed) {
                found.push(fixed);
            }
        }
        // The most likely reading wins (`tĂŠ`: `tÊ` by Windows-1250, `té` by ISO-8859-2).
        // Every reading keeps the text's ASCII: its part of the likelihood is computed once.
        let best = if found.len() > 1 {
            let ascii = model.ascii_part(&current);
            found
                .into_iter()
                .map(|f| (model.score_best(&ascii, &f), f))
                .fold(None, |b: Option<(f32, String)>, x| match b {
                    Some(b) if b.0 >= x.0 => Some(b),
                    _ => Some(x),
                })
        } else {
            found.pop().map(|f| (0.0, f))
        };
        let Some((_, fixed)) = best else { break };
        score = weirdness(&fixed);
        current = fixed;
        changed = true;
        if score == 0 {
            break;
        }
    }
    // Word by word before the C1 controls, which may be bytes of a mis-read word (`Ń\x83`
    // is Windows-1250 for `у`). The character model has judged each word; the text as a
    // whole may stay as weird where correct words count (`Сі` is a pair in Windows-1251).
    if score > 0 {
        if let Some(f) = fix_words(&current, model) {
            // Not weirder than before: the long s of `ôaſaſa` is worse than box drawing.
            let s = weirdness(&f);
            if s <= score {
                score = s;
                current = f;
                changed = true;
            }
        }
    }
    if score > 0 {
        if let Some(f) = fix_c1_punctuation(&current) {
            if weirdness(&f) < score {
                score = weirdness(&f);
                current = f;
                changed = true;
            }
        }
    }
    if score > 0 {
        if let Some(f) = fix_wide_sequences(&current) {
            // A partial repair must remove most of the weirdness, or the text is beyond help.
            if weirdness(&f) * 3 <= score {
                current = f;
                changed = true;
            }
        }
    }
    changed.then_some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_mojibake_mixed_with_correct_text_word_by_word() {
        // One correct "ß" used to make the whole text look fine.
        assert_eq!(
            fix("Die GrÃ¼nen in KÃ¶ln kommen auf dreißig Prozent").as_deref(),
            Some("Die Grünen in Köln kommen auf dreißig Prozent")
        );
        // A broken sentence after a correct one, quotes and all.
        assert_eq!(
            fix("Daly jsme se do řeči. Jestli si pÅ™edstavujete, Å¾e mluvila").as_deref(),
            Some("Daly jsme se do řeči. Jestli si představujete, že mluvila")
        );
        // One mis-read letter, in a text whose alphabet (ö) says what it stands for.
        assert_eq!(
            fix("Die GrÃ¼nen in Köln").as_deref(),
            Some("Die Grünen in Köln")
        );
        assert_eq!(
            fix("dans l’humanitÃ©, l’Ã©galitÃ© et la fraternitÃ©").as_deref(),
            Some("dans l’humanité, l’égalité et la fraternité")
        );
    }

    #[test]
    fn repairs_words_whose_mojibake_holds_quotes_dashes_or_nel() {
        // Windows-1251: `»` is the second byte of `л`; MacRoman: `–` is the first of `Т`.
        assert_eq!(
            fix("Начальный ролик РќР°С‡Р°Р»СЊРЅС‹Р№ ролик").as_deref(),
            Some("Начальный ролик Начальный ролик")
        );
        assert_eq!(
            fix("–¢–∞, як це часто буває").as_deref(),
            Some("Та, як це часто буває")
        );
        // Latin-1: U+0085 (NEL) is the second byte of `ą`, not a space between words.
        assert_eq!(
            fix("zamykajÄ\u{85} za sobÄ\u{85} drzwi i odjeżdżają").as_deref(),
            Some("zamykają za sobą drzwi i odjeżdżają")
        );
        // One mis-read letter of a Latin alphabet the text writes elsewhere (ą, ł).
        assert_eq!(
            fix("są ktĂłrym byłoby").as_deref(),
            Some("są którym byłoby")
        );
    }

    #[test]
    fn the_character_model_picks_the_language_of_the_text() {
        // ISO-8859-2 reads `ĂĄ` as `á`, Windows-1250 as `å`: the rest is Danish.
        assert_eq!(
            fix("Og hvor de tidligere mĂĄske kĂ¸bte Kim Larsen").as_deref(),
            Some("Og hvor de tidligere måske købte Kim Larsen")
        );
    }

    #[test]
    fn leaves_correct_words_that_look_like_mojibake_alone() {
        for t in [
            // Accented letters side by side, and a question mark that is one.
            "Když se zhroutí optimista, bývá to obzvlášť smutné.",
            "\"A od koho to víš?\"",
            "Наш час неспроможний дати автора, який почуває, мислить і діє.",
            // One odd pair is not enough evidence, unless the letter it would give is one
            // the text uses elsewhere.
            "Bremer/Mccoy – DrÃ¥ber",
            // Box drawing that CP437 would read as `ôaſaſa`: the long s is weirder.
            "├┤a┼┐a┼┐a┼┐a┼┐a",
            "Connect with Āø on Facebook",
            // Brand names in capitals with their marks (a shop page's blocks): `É®` is
            // one UTF-8 sequence, the IPA letter `ɮ`.
            "NESCAFÉ®",
            "NESTLÉ® NIDO® Kinder 1+",
            "Recipes with NESCAFÉ® Gold – a café classic, and MAGGI®’s sauces.",
        ] {
            assert_eq!(fix(t), None, "{t}");
        }
        // Beside mojibake that is repaired, no word becomes an IPA letter.
        assert_eq!(
            fix("Die GrÃ¼nen in KÃ¶ln trinken NESCAFÉ® und NESTLÉ®.").as_deref(),
            Some("Die Grünen in Köln trinken NESCAFÉ® und NESTLÉ®.")
        );
        // The same pair after one capital is `Né` read as Windows-1250, and is repaired.
        assert_eq!(
            fix("NĂ© en 1729, le prince était issu d'une famille princière.").as_deref(),
            Some("Né en 1729, le prince était issu d'une famille princière.")
        );
    }

    #[test]
    fn fixes_common_german_mojibake_also_twice() {
        assert_eq!(fix("GrÃ¼ÃŸe").as_deref(), Some("Grüße"));
        assert_eq!(fix("â€žZitatâ€œ").as_deref(), Some("„Zitat“"));
        let twice = "GrÃƒÂ¼ÃƒÅ¸e";
        assert_eq!(fix(twice).as_deref(), Some("Grüße"));
    }

    #[test]
    fn leaves_correct_text_alone() {
        for t in [
            "Grüße aus Minsk – „Zitat“ … Fuß“",
            "SÖÄ£ ÑÝÄ",
            "Offering 5×£35 pin ups",
            "ZZAJÉ’s Official Fan List",
            "C O N C L U S Ã O",
            "Ελληνικά ¨ανατροφή¨",
            "приятности",
        ] {
            assert_eq!(fix(t), None, "{t}");
        }
    }
}
