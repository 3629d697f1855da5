//! Words of a text between runs of white space, as `split_whitespace` gives them but
//! reading ASCII a byte at a time; the byte tables the stop-word density shares.

/// The words of `s` between runs of white space, as `split_whitespace` gives them, reading
/// ASCII a byte at a time.
pub(crate) fn words(s: &str) -> Words<'_> {
    Words { s, i: 0 }
}

/// Iterator of [`words`].
pub(crate) struct Words<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = self.i;
        while i < b.len() {
            match space_at(self.s, i) {
                0 => break,
                len => i += len,
            }
        }
        if i >= b.len() {
            self.i = i;
            return None;
        }
        let start = i;
        loop {
            // Eight printable ASCII bytes at a time (SWAR): stop at the first byte below
            // 0x21 or above 0x7F (only those can start white space).
            while let Some(chunk) = b.get(i..i + 8) {
                let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                const ONES: u64 = 0x0101_0101_0101_0101;
                let stop = (x.wrapping_sub(ONES * 0x21) & !x | x) & (ONES * 0x80);
                if stop != 0 {
                    i += (stop.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            // Bytes that cannot start white space, in a tight loop.
            while i < b.len() && SPACE_BYTE[b[i] as usize] == 0 {
                i += 1;
            }
            if i >= b.len() || space_at(self.s, i) > 0 {
                break;
            }
            i += 1;
        }
        self.i = i;
        Some(&self.s[start..i])
    }
}

/// For ASCII bytes in the stop-word density: 2 for a letter, 1 for a digit or an
/// apostrophe (part of a word), 0 for a separator.
pub(crate) static ASCII_WORD: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() {
            2
        } else if b.is_ascii_digit() || b == b'\'' {
            1
        } else {
            0
        };
        c += 1;
    }
    t
};

/// 1 for ASCII white space, 2 for the lead bytes of non-ASCII white space, else 0.
pub(crate) static SPACE_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = 1;
    let mut c = b'\t';
    while c <= b'\r' {
        t[c as usize] = 1;
        c += 1;
    }
    t[0xC2] = 2;
    t[0xE1] = 2;
    t[0xE2] = 2;
    t[0xE3] = 2;
    t
};

/// The byte length of the white-space character at byte `i` of `s`, or 0 if there is none.
/// Only the lead bytes 0xC2, 0xE1, 0xE2 and 0xE3 start non-ASCII white space (U+0085,
/// U+00A0, U+1680, U+2000–U+205F, U+3000); any other byte, continuation bytes included, is 0.
#[inline(always)]
pub(crate) fn space_at(s: &str, i: usize) -> usize {
    match SPACE_BYTE[s.as_bytes()[i] as usize] {
        0 => 0,
        1 => 1,
        _ => s
            .get(i..)
            .and_then(|r| r.chars().next())
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_split_whitespace() {
        for t in [
            "",
            "  ",
            " a  b\t\nc ",
            "Maße\u{a0}\u{a0}und\u{2003}Gewichte ",
            "x\u{85}y\u{3000}",
            "ä",
            "„Zitat“ – ok\u{2028}z\u{1680}",
        ] {
            assert_eq!(
                words(t).collect::<Vec<_>>(),
                t.split_whitespace().collect::<Vec<_>>()
            );
        }
    }
}
