//! Tokenizer: words (hyphenated compounds whole), numbers (`38,6`, `1.000`, `40%`),
//! abbreviations with their dot (`Mrd.`, `z.B.`, `U.S.`, initials), URLs and e-mail addresses
//! whole, punctuation one token each (quotes split off; `...`, `?!` and `,,` kept together).
//!
//! Hand-written because it must cooperate with the sentence splitter (abbreviation lists,
//! exact byte offsets) and run at >100 MB/s; unicode-segmentation's word bounds split
//! `LKW-Hersteller`, `38,6` and `z.B.` in ways we would have to undo.

use pipeline_core::Span;

use super::Abbreviations;

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Letters (and digits, hyphens, inner apostrophes).
    Word,
    /// Digits with inner `.`/`,`, optional `%`.
    Number,
    /// Punctuation.
    Punct,
    /// Other symbols (`€`, `§`, `°`).
    Symbol,
    /// `http://…`, `www.…`.
    Url,
    /// `name@example.org`.
    Email,
    /// A word with its final dot (`Dr.`, `z.B.`, `W.`).
    Abbrev,
}

impl Kind {
    /// Name used in the document's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Word => "word",
            Kind::Number => "number",
            Kind::Punct => "punct",
            Kind::Symbol => "symbol",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Abbrev => "abbrev",
        }
    }
}

/// A token: byte span and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    /// Byte span into the text.
    pub span: Span,
    /// Kind.
    pub kind: Kind,
}

#[inline]
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    if crate::text::lower::is_latin1_letter(c) {
        return true;
    }
    c.is_alphanumeric() || matches!(c, '\u{300}'..='\u{36F}')
}

fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

fn url_len(rest: &str) -> Option<usize> {
    let lower_prefix = |p: &str| {
        rest.len() >= p.len() && rest.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    if !(lower_prefix("http://")
        || lower_prefix("https://")
        || lower_prefix("ftp://")
        || lower_prefix("www."))
    {
        return None;
    }
    let mut end = rest
        .char_indices()
        .find(|(_, c)| {
            c.is_whitespace() || matches!(c, '<' | '>' | '"' | '“' | '”' | '„' | '»' | '«')
        })
        .map_or(rest.len(), |(i, _)| i);
    // Trailing punctuation belongs to the sentence; a ')' only if the URL has no '('.
    while let Some(c) = rest[..end].chars().next_back() {
        let strip = matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '’' | ']' | '}'
        ) || (c == ')' && !rest[..end].contains('('));
        if !strip {
            break;
        }
        end -= c.len_utf8();
    }
    (end > 4).then_some(end)
}

fn email_len(rest: &str) -> Option<usize> {
    let at =
        rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')))?;
    if at == 0 || rest.as_bytes().get(at) != Some(&b'@') {
        return None;
    }
    let domain = &rest[at + 1..];
    let mut end = domain
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '-')))
        .unwrap_or(domain.len());
    while domain[..end].ends_with(['.', '-']) {
        end -= 1;
    }
    let d = &domain[..end];
    (d.contains('.')
        && !d.starts_with('.')
        && d.rsplit('.').next().is_some_and(|tld| tld.len() >= 2))
    .then_some(at + 1 + end)
}

/// Tokenizes `text[range]`, appending to `out`.
pub fn tokenize(text: &str, start: usize, end: usize, abbr: &Abbreviations, out: &mut Vec<Tok>) {
    // Most paragraphs hold no e-mail address: look for one only where an '@' is.
    let has_at = memchr::memchr(b'@', &text.as_bytes()[start..end]).is_some();
    let mut i = start;
    while i < end {
        let Some(c) = char_at(text, i) else { break };
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let rest = &text[i..end];
        if matches!(c, 'h' | 'H' | 'f' | 'F' | 'w' | 'W') {
            if let Some(n) = url_len(rest) {
                out.push(Tok {
                    span: Span::new(i, i + n),
                    kind: Kind::Url,
                });
                i += n;
                continue;
            }
        }
        if has_at && c.is_alphanumeric() {
            if let Some(n) = email_len(rest) {
                out.push(Tok {
                    span: Span::new(i, i + n),
                    kind: Kind::Email,
                });
                i += n;
                continue;
            }
        }
        if c.is_ascii_digit() {
            let (n, kind) = number_or_word(rest);
            out.push(Tok {
                span: Span::new(i, i + n),
                kind,
            });
            i += n;
            continue;
        }
        if is_word_char(c) {
            let (n, kind) = word(rest, abbr);
            out.push(Tok {
                span: Span::new(i, i + n),
                kind,
            });
            i += n;
            continue;
        }
        // Punctuation and symbols.
        let spaced = spaced_ellipsis(rest);
        let n = if spaced > 0 {
            spaced
        } else if rest.starts_with("...") {
            rest.bytes().take_while(|b| *b == b'.').count()
        } else if c == '!' || c == '?' {
            rest.chars()
                .take_while(|c| matches!(c, '!' | '?'))
                .map(char::len_utf8)
                .sum()
        } else if rest.starts_with(",,") || rest.starts_with("''") || rest.starts_with("``") {
            2
        } else {
            c.len_utf8()
        };
        let kind = if c.is_ascii_punctuation()
            || matches!(
                c,
                '\u{2010}'
                    ..='\u{2027}' | '«' | '»' | '¡' | '¿' | '´' | '．' | '。' | '！' | '？' | '⁃'
            ) {
            Kind::Punct
        } else {
            Kind::Symbol
        };
        out.push(Tok {
            span: Span::new(i, i + n),
            kind,
        });
        i += n;
    }
}

/// Length of a spaced ellipsis (`. . .`, `. . . .`) at the start of `rest`, or 0.
fn spaced_ellipsis(rest: &str) -> usize {
    let b = rest.as_bytes();
    let mut n = 0;
    let mut dots = 0;
    while n < b.len() && b[n] == b'.' {
        dots += 1;
        n += 1;
        if n + 1 < b.len() && b[n] == b' ' && b[n + 1] == b'.' {
            n += 1;
        } else {
            break;
        }
    }
    if dots >= 3 {
        n
    } else {
        0
    }
}

/// A token starting with a digit: a number (`38,6`, `1.000.000`, `40%`) or, when letters or a
/// hyphen follow, a word (`2020er`, `20-jährigen`, `2022-2023`).
fn number_or_word(rest: &str) -> (usize, Kind) {
    let b = rest.as_bytes();
    let mut n = 0;
    while n < b.len() && b[n].is_ascii_digit() {
        n += 1;
    }
    while n + 1 < b.len() && matches!(b[n], b'.' | b',' | b':') && b[n + 1].is_ascii_digit() {
        n += 1;
        while n < b.len() && b[n].is_ascii_digit() {
            n += 1;
        }
    }
    if n < b.len() && b[n] == b'%' {
        return (n + 1, Kind::Number);
    }
    match char_at(rest, n) {
        Some(c) if is_word_char(c) => {
            let (m, _) = word_run(&rest[n..]);
            (n + m, Kind::Word)
        }
        Some('-') if char_at(rest, n + 1).is_some_and(is_word_char) => {
            let (m, _) = word_run(&rest[n..]);
            (n + m, Kind::Word)
        }
        _ => (n, Kind::Number),
    }
}

/// Letters/digits joined by inner hyphens and apostrophes; returns (len, had_inner_dot=false).
fn word_run(rest: &str) -> (usize, bool) {
    let b = rest.as_bytes();
    let mut n = 0; // end of the run so far
    let mut i = 0; // next byte to read, always on a char boundary
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            i += 1;
            n = i;
            continue;
        }
        let Some(c) = rest[i..].chars().next() else {
            break;
        };
        let len = c.len_utf8();
        if is_word_char(c) {
            i += len;
            n = i;
            continue;
        }
        let joins = matches!(c, '-' | '\'' | '’' | '´' | '\u{2011}')
            && n == i
            && rest[i + len..].chars().next().is_some_and(is_word_char);
        if !joins {
            break;
        }
        i += len;
    }
    (n, false)
}

/// A word, possibly an abbreviation with its dot (inner-dot forms `z.B.`, `U.S.`, `e.g.` too).
fn word(rest: &str, abbr: &Abbreviations) -> (usize, Kind) {
    let (n, _) = word_run(rest);
    // Inner-dot abbreviations: short letter groups separated by dots, ending in a dot.
    let b = rest.as_bytes();
    if n <= 3 && b.get(n) == Some(&b'.') {
        let mut m = n;
        let mut groups = 1;
        loop {
            let after = &rest[m + 1..];
            let g = after
                .chars()
                .take_while(|c| c.is_alphabetic())
                .map(char::len_utf8)
                .sum::<usize>();
            let gchars = after[..g].chars().count();
            if g == 0 || gchars > 3 || after.as_bytes().get(g) != Some(&b'.') {
                break;
            }
            m += 1 + g;
            groups += 1;
        }
        if groups >= 2 {
            return (m + 1, Kind::Abbrev);
        }
    }
    if b.get(n) == Some(&b'.') {
        let w = &rest[..n];
        let single_letter = w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
        if single_letter || abbr.contains(w) {
            return (n + 1, Kind::Abbrev);
        }
    }
    (n, Kind::Word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<(&str, Kind)> {
        let abbr = Abbreviations::builtin();
        let mut v = Vec::new();
        tokenize(text, 0, text.len(), &abbr, &mut v);
        v.iter()
            .map(|t| (&text[t.span.start..t.span.end], t.kind))
            .collect()
    }

    #[test]
    fn numbers_compounds_abbreviations() {
        let t = toks(
            "um fast 40% auf 38,6 Mrd. USD, 1.000 LKW-Hersteller, E-Mail-Adresse z.B. W.Putin",
        );
        let words: Vec<&str> = t.iter().map(|x| x.0).collect();
        assert_eq!(
            words,
            [
                "um",
                "fast",
                "40%",
                "auf",
                "38,6",
                "Mrd.",
                "USD",
                ",",
                "1.000",
                "LKW-Hersteller",
                ",",
                "E-Mail-Adresse",
                "z.B.",
                "W.",
                "Putin"
            ]
        );
        assert_eq!(t[2].1, Kind::Number);
        assert_eq!(t[5].1, Kind::Abbrev);
        assert_eq!(t[12].1, Kind::Abbrev);
    }

    #[test]
    fn urls_emails_quotes() {
        let t = toks(
            "„Siehe https://www.belta.by/politics/view/x-123.html.“ Mail: info@belta.by. (U.S.)",
        );
        let words: Vec<&str> = t.iter().map(|x| x.0).collect();
        assert_eq!(
            words,
            [
                "„",
                "Siehe",
                "https://www.belta.by/politics/view/x-123.html",
                ".",
                "“",
                "Mail",
                ":",
                "info@belta.by",
                ".",
                "(",
                "U.S.",
                ")"
            ]
        );
        assert_eq!(t[2].1, Kind::Url);
        assert_eq!(t[7].1, Kind::Email);
    }

    #[test]
    fn latin1_letters_but_not_signs() {
        let words: Vec<&str> = toks("Maße×Größe ÷ Zoë’s Ŝaŭ, info@belta.by")
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(
            words,
            [
                "Maße",
                "×",
                "Größe",
                "÷",
                "Zoë’s",
                "Ŝaŭ",
                ",",
                "info@belta.by"
            ]
        );
    }

    #[test]
    fn punctuation_runs() {
        let words: Vec<&str> = toks("Was?! Nun... ,,Ja''").iter().map(|x| x.0).collect();
        assert_eq!(words, ["Was", "?!", "Nun", "...", ",,", "Ja", "''"]);
    }
}
