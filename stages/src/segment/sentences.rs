//! Where sentences end: terminal punctuation weighed against abbreviations, ordinals and
//! dates, initials, quotations, ellipses, list bullets, headlines and line breaks, and the
//! words that start (or never end) a sentence.

use pipeline_core::Span;

use super::tokenize::{Kind, Tok};
use super::Segmenter;

pub(super) const MONTHS: &[&str] = &[
    "januar",
    "jänner",
    "februar",
    "märz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "jan",
    "feb",
    "febr",
    "mär",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "okt",
    "nov",
    "dez",
];

/// Words before a number that make `N.` an ordinal (German).
pub(super) const ORDINAL_BEFORE: &[&str] = &[
    "am", "im", "vom", "zum", "zur", "bis", "ab", "seit", "der", "die", "das", "dem", "den", "des",
    "dieses", "diesem", "beim", "vor", "nach", "um", "ins", "ans", "an", "in", "jeden", "jedes",
    "jeder", "jedem", "ihr", "ihrem", "ihren", "sein", "seinem", "seinen", "zu", "und", "bzw",
    "oder", "seinen", "seiner", "ihrer", "mit", "für", "über", "unter", "von",
];

/// Nouns after `N.` that make it an ordinal (German).
pub(super) const ORDINAL_NOUNS: &[&str] = &[
    "jahrhundert",
    "jahrhunderts",
    "jahrtausend",
    "jahrestag",
    "jahrestages",
    "geburtstag",
    "lebensjahr",
    "mal",
    "stock",
    "stockwerk",
    "klasse",
    "runde",
    "spieltag",
    "kapitel",
    "auflage",
    "sitzung",
    "tagung",
    "legislaturperiode",
    "parteitag",
    "bundesliga",
    "liga",
    "platz",
    "rang",
    "etage",
    "woche",
    "quartal",
    "halbjahr",
    "jahrgang",
];

/// Words that typically open a sentence; an abbreviation followed by one ends its sentence.
pub(super) const STARTERS: &[&str] = &[
    "I",
    "It",
    "The",
    "They",
    "We",
    "He",
    "She",
    "You",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "How",
    "What",
    "Why",
    "When",
    "Where",
    "Who",
    "In",
    "On",
    "At",
    "As",
    "But",
    "And",
    "So",
    "If",
    "My",
    "Our",
    "Your",
    "His",
    "Her",
    "Their",
    "Its",
    "A",
    "An",
    "Did",
    "Do",
    "Does",
    "Is",
    "Are",
    "Was",
    "Were",
    "Let",
    "Please",
    "Thanks",
    "Then",
    "Yes",
    "No",
    "Der",
    "Die",
    "Das",
    "Er",
    "Es",
    "Wir",
    "Ich",
    "Man",
    "Dies",
    "Diese",
    "Dieser",
    "Dieses",
    "Ein",
    "Eine",
    "Einer",
    "Am",
    "Im",
    "Auf",
    "Aber",
    "Und",
    "Doch",
    "Dann",
    "Auch",
    "Nach",
    "Bei",
    "Mit",
    "Wie",
    "Was",
    "Wer",
    "Wo",
    "Warum",
    "Ihr",
    "Sein",
    "Seine",
    "Unser",
    "Unsere",
    "Damit",
    "Deshalb",
    "Außerdem",
    "Zudem",
    "Hier",
    "Dort",
    "Heute",
];

/// Words after which "I." is the English pronoun ("you and I."), not an initial.
pub(super) const PRONOUN_I_AFTER: &[&str] = &[
    "and", "or", "nor", "than", "as", "but", "am", "do", "did", "can", "could", "will", "would",
    "should", "shall", "have",
];
/// Abbreviations that never end a sentence (titles, and those that precede a number or name).
pub(super) const NEVER_END: &[&str] = &[
    "dr", "prof", "mr", "mrs", "ms", "hr", "hrn", "fr", "st", "sen", "rep", "gen", "gov", "capt",
    "col", "lt", "sgt", "rev", "hon", "nr", "no", "nos", "abs", "art", "bd", "kap", "tel", "vgl",
    "z.b", "d.h", "i.e", "e.g", "bzw", "ca", "vs", "adm", "maj", "brig", "cmdr", "messrs", "pvt",
    "supt", "fig", "figs", "pp", "dipl", "med", "phil", "rer", "nat", "jur", "inkl", "zzgl", "ggf",
    "evtl", "sog", "geb", "gest", "mio", "mrd", "tsd",
];

pub(super) const BULLETS: &[&str] = &["•", "⁃", "▪", "◦", "‣", "●", "○", "■", "□", "–"];

pub(super) const QUOTES: &[&str] = &[
    "„", "“", "”", "\"", "'", "‘", "’", "»", "«", ",,", "``", "''", "`",
];
pub(super) const OPENING_ONLY: &[&str] = &["„", ",,", "``", "`"];
pub(super) const CLOSING_ONLY: &[&str] = &["''"];

pub(super) const CLOSERS: &[&str] = &[
    "”", "“", "\"", "'", "’", "‘", "»", "«", ")", "]", "}", "''", "›", "‹",
];
pub(super) const OPENERS: &[&str] = &[
    "„", "“", "\"", "'", "‘", "»", "«", "(", "[", ",,", "``", "›", "‹",
];

impl Segmenter {
    /// Where sentences end in `text` (its tokens `toks`), appended to `out`. One scan with the
    /// state every rule reads (quotes, line starts, list markers), so it stays one function.
    pub(super) fn sentences(&self, text: &str, toks: &[Tok], out: &mut Vec<Span>) {
        let s = |t: &Tok| &text[t.span.start..t.span.end];
        let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
            return;
        };
        let para = &text[first.span.start..last.span.end];
        // Decided only when a sentence end meets a lower-case word (rare), as it reads the
        // whole paragraph.
        let style = std::cell::OnceCell::new();
        let lower_style = || *style.get_or_init(|| lower_style(para));
        // List markers seen in this paragraph ("1." / "1)" / "a."), to split before the next one.
        let marker = |k: usize| -> Option<(bool, u32)> {
            let t = toks.get(k)?;
            let after = toks.get(k + 1).map(s)?;
            let attached = toks[k + 1].span.start == t.span.end;
            match t.kind {
                Kind::Number if attached && matches!(after, "." | ")") => {
                    s(t).parse().ok().map(|n| (true, n))
                }
                // "a) The first item b) The second item"
                Kind::Word => letter_marker(text, toks, k).map(|n| (false, n)),
                Kind::Abbrev
                    if s(t).chars().count() == 2
                        && s(t).starts_with(|c: char| c.is_ascii_lowercase()) =>
                {
                    s(t).chars()
                        .next()
                        .map(|c| (false, c as u32 - 'a' as u32 + 1))
                }
                _ => None,
            }
        };
        let quotes = short_quotes(text, toks, self.o.quote_max_bytes);
        let mut next_quote = 0usize;
        let mut last_marker: Option<(bool, u32)> = None;
        let mut start: Option<usize> = None;
        let mut in_quote = false;
        let mut start_tok = 0usize;
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            let ts = s(t);
            if t.kind == Kind::Punct && QUOTES.contains(&ts) {
                let attached_before = i > 0 && toks[i - 1].span.end == t.span.start;
                let attached_after = toks.get(i + 1).is_some_and(|n| n.span.start == t.span.end);
                if attached_before && !OPENING_ONLY.contains(&ts) {
                    in_quote = false;
                } else if attached_after && !CLOSING_ONLY.contains(&ts) {
                    in_quote = true;
                }
            }
            if start.is_none() {
                start = Some(t.span.start);
                start_tok = i;
                if let Some(m) =
                    marker(i).or_else(|| BULLETS.contains(&s(t)).then(|| marker(i + 1)).flatten())
                {
                    last_marker = Some(m);
                }
            }
            let mut end_here = None;
            // Line break after this token?
            if let Some(next) = toks.get(i + 1) {
                let gap = &text[t.span.end..next.span.start];
                let ends_line = gap.contains('\n') && {
                    let line_start = text[..t.span.end].rfind('\n').map_or(0, |p| p + 1);
                    let line_len = text[line_start..t.span.end].chars().count();
                    self.line_break_ends(s(t), s(next), line_len)
                        && !vertical_letters(text, t, next, line_start)
                };
                if ends_line {
                    end_here = Some(i);
                }
                // A bullet, or the next list marker, inside a line starts a new sentence.
                let next_item = || {
                    last_marker.is_some_and(|l| {
                        marker(i + 1).is_some_and(|m| l.0 == m.0 && l.1 + 1 == m.1)
                    }) || (!matches!(next.kind, Kind::Word | Kind::Number)
                        && s(next) != "–"
                        && BULLETS.contains(&s(next)))
                };
                if end_here.is_none() && !self.is_terminal(t, s(t)) && next_item() {
                    end_here = Some(i);
                }
            }
            // A clock time closes an e-mail header line: "04/26/2001 07:17 AM Will you …".
            if end_here.is_none()
                && matches!(ts, "AM" | "PM")
                && i.checked_sub(1)
                    .is_some_and(|p| toks[p].kind == Kind::Number && s(&toks[p]).contains(':'))
                && toks
                    .get(i + 1)
                    .is_some_and(|n| n.kind == Kind::Word && s(n).starts_with(char::is_uppercase))
            {
                end_here = Some(i);
            }
            // "!" and "?" inside a quotation do not end the sentence ('… stairs! How brave …').
            let exclaim_in_quote = in_quote && ts.chars().all(|c| c == '!' || c == '?');
            if end_here.is_none()
                && self.is_terminal(t, ts)
                && (!exclaim_in_quote || toks.get(i + 1).is_some_and(|n| QUOTES.contains(&s(n))))
            {
                // Absorb further terminals and closing quotes/brackets.
                let mut j = i + 1;
                while let Some(n) = toks.get(j) {
                    let nt = s(n);
                    let attached = n.span.start == toks[j - 1].span.end;
                    let more_terminal = attached
                        && (nt == "." || nt == "…" || nt.chars().all(|c| c == '!' || c == '?'));
                    // A footnote mark glued to the end: "… martyr.[1]", "… large.[7][8]".
                    let footnote = attached
                        && nt == "["
                        && toks.get(j + 1).is_some_and(|d| d.kind == Kind::Number)
                        && toks.get(j + 2).is_some_and(|c| s(c) == "]");
                    // A footnote number glued to a full stop after a word or bracket, then
                    // a new sentence: "… a consultation.11 Take …", "… (1987).1 According".
                    let footnote_number = attached
                        && j == i + 1
                        && ts == "."
                        && n.kind == Kind::Number
                        && nt.len() <= 4
                        && nt.bytes().all(|b| b.is_ascii_digit())
                        && i.checked_sub(1).is_some_and(|p| {
                            let w = s(&toks[p]);
                            toks[p].span.end == t.span.start
                                && (w == ")"
                                    || (toks[p].kind == Kind::Word
                                        && w.chars().count() >= 3
                                        && w.chars().all(char::is_lowercase)))
                        })
                        && toks.get(j + 1).is_some_and(|w| {
                            w.kind == Kind::Word
                                && w.span.start == n.span.end + 1
                                && s(w).starts_with(char::is_uppercase)
                        });
                    if footnote {
                        j += 3;
                    } else if (CLOSERS.contains(&nt) && (attached || !OPENERS.contains(&nt)))
                        || more_terminal
                        || footnote_number
                    {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let sent_start = start_tok;
                while quotes.get(next_quote).is_some_and(|q| q.1 < i) {
                    next_quote += 1;
                }
                // Inside a short quotation, short of its closing quote: the utterance goes on.
                let inside_quote = quotes.get(next_quote).is_some_and(|q| q.0 < i && j <= q.1);
                if !inside_quote && self.boundary_after(text, toks, i, j, sent_start, &lower_style)
                {
                    end_here = Some(j - 1);
                }
            }
            if let Some(e) = end_here {
                in_quote = false; // an unmatched quote must not outlive its sentence
                if let Some(st) = start.take() {
                    out.push(Span::new(st, toks[e].span.end));
                }
                i = e + 1;
                continue;
            }
            i += 1;
        }
        if let (Some(st), Some(last)) = (start, toks.last()) {
            out.push(Span::new(st, last.span.end));
        }
    }

    pub(super) fn is_terminal(&self, t: &Tok, w: &str) -> bool {
        match t.kind {
            Kind::Punct => {
                matches!(w, "." | "…" | "．" | "。" | "！" | "？")
                    || w.starts_with("...")
                    || w.starts_with(". .")
                    || (!w.is_empty() && w.chars().all(|c| c == '!' || c == '?'))
            }
            Kind::Abbrev => true,
            _ => false,
        }
    }

    /// Does a single line break between `a` and `b` end a sentence?
    /// A lower-case next line continues the sentence, unless this line is short (a list
    /// item, a word in an exercise) rather than a wrapped line of running text.
    pub(super) fn line_break_ends(&self, a: &str, b: &str, line_len: usize) -> bool {
        if matches!(
            a,
            "," | ";" | "-" | "–" | "(" | "&" | "/" | "„" | "“" | "\""
        ) {
            return false;
        }
        let first = b.chars().next().unwrap_or(' ');
        if first.is_lowercase() {
            return line_len < 30;
        }
        true
    }

    /// Decides whether the sentence ends after tokens `i..j` (terminal plus closers).
    ///
    /// One decision with many cases, each a few commented lines; split, each would take the
    /// same eight arguments.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn boundary_after(
        &self,
        text: &str,
        toks: &[Tok],
        i: usize,
        j: usize,
        sent_start: usize,
        lower_style: &dyn Fn() -> bool,
    ) -> bool {
        let s = |t: &Tok| &text[t.span.start..t.span.end];
        let term = s(&toks[i]);
        let Some(next) = toks.get(j) else { return true };
        let next_s = s(next);
        // What the next sentence would start with, past opening quotes and brackets.
        let mut k = j;
        while k < toks.len() && OPENERS.contains(&s(&toks[k])) && k + 1 < toks.len() {
            k += 1;
        }
        let first_word = s(&toks[k]);
        let first_char = first_word.chars().next().unwrap_or(' ');
        let closed_quote = j > i + 1;
        // A word or number glued to the terminal is not a new sentence: "Jane.Doe",
        // "$.50", "Yahoo!J", "!Kung".
        if !closed_quote
            && next.span.start == toks[j - 1].span.end
            && matches!(next.kind, Kind::Word | Kind::Number | Kind::Abbrev)
        {
            // … except after a full-width stop, which needs no space: "period．Does it";
            if matches!(term, "．" | "。" | "！" | "？") {
                return true;
            }
            // and a missing space between sentences, "Hello world.Today is …": a full stop
            // after a lower-case word, or after a number that cannot be a day or an ordinal
            // ("bought 1,000.That is", "seit 1998.Die"; not "am 1.Juni"), then a capitalised
            // word.
            let prev_plain = i.checked_sub(1).is_some_and(|p| {
                let w = s(&toks[p]);
                match toks[p].kind {
                    Kind::Word => w.chars().all(char::is_lowercase),
                    Kind::Number => w.len() > 3 || !w.bytes().all(|b| b.is_ascii_digit()),
                    _ => false,
                }
            });
            let mut nc = next_s.chars();
            let titlecase = nc.next().is_some_and(char::is_uppercase)
                && nc.clone().next().is_some()
                && nc.all(char::is_lowercase);
            return term == "." && prev_plain && titlecase;
        }
        // A letter list marker after a full stop starts the next item: "… world. (b) Hello",
        // "… the store. w) hello" (not numbers: "(Nr. 2)", "(Art. 33)").
        let item = |k: usize| letter_marker(text, toks, k).is_some();
        if toks[i].kind == Kind::Punct && ((next_s == "(" && item(j + 1)) || item(j)) {
            return true;
        }
        // A comma, semicolon or colon right after: the sentence goes on (quote-then-attribution).
        if matches!(next_s, "," | ";" | ":" | "-" | "–" | "—") {
            return false;
        }
        // "…!' (Which was very likely true.)": a parenthesis after a closing quote goes on.
        if closed_quote && next_s == "(" {
            return false;
        }
        if first_char.is_lowercase() {
            // In text written all in lower case (chat, e-mail), a full stop before a
            // lower-case word still ends the sentence, unless it belongs to an abbreviation.
            let plain_stop = matches!(toks[i].kind, Kind::Punct)
                && !matches!(
                    toks.get(i.wrapping_sub(1)).map(|t| t.kind),
                    Some(Kind::Number)
                );
            // "… the weather this weekend? is it …": a question or exclamation mark before a
            // lower-case word ends the sentence in text that does not care for capitals; so
            // does a full stop after a long plain word ("… are not toys. maybe …").
            // Not after a short word, which may be an abbreviation nobody listed ("engl.",
            // "ggfs."), nor after a Roman numeral ("Christian VIII. förderte").
            let after_word = i.checked_sub(1).is_some_and(|p| {
                let w = s(&toks[p]);
                toks[p].kind == Kind::Word
                    && toks[p].span.end == toks[i].span.start
                    && w.chars().count() >= 7
                    && w.chars().all(char::is_alphabetic)
                    && w.chars().skip(1).all(char::is_lowercase)
            });
            // A question mark counts before a plain word only, not after dots ("Wetten,
            // dass..? präsentiert") nor before an abbreviation ("? bzw. …").
            let question = term == "?"
                && next.kind == Kind::Word
                && i.checked_sub(1)
                    .is_none_or(|p| toks[p].span.end < toks[i].span.start || s(&toks[p]) != ".");
            let sloppy = !closed_quote && (question || (term == "." && after_word));
            if !(plain_stop && (sloppy || lower_style())) {
                return false;
            }
        }
        if toks[i].kind == Kind::Abbrev {
            // "Company A Inc. (“Company A”)": a parenthesis after an abbreviation goes on.
            if next_s == "(" && !closed_quote {
                return false;
            }
            let w = term.trim_end_matches('.');
            let single = w.chars().count() == 1;
            // "you and I.", "better than I.": the English pronoun, not an initial or a
            // Roman numeral ("Wilhelm I.").
            let pronoun_i = w == "I"
                && i.checked_sub(1)
                    .is_some_and(|p| PRONOUN_I_AFTER.contains(&s(&toks[p])));
            if single && first_char.is_uppercase() && !pronoun_i {
                return false; // an initial: "W. Putin", "z. B. Wasser"
            }
            if closed_quote {
                return true;
            }
            let key = w.to_lowercase();
            if NEVER_END.contains(&key.as_str()) {
                return false;
            }
            // "at 6 p.m. Travelers who …", "you and I. Did you …": a time of day or the
            // pronoun, then a capitalised word.
            if pronoun_i || matches!(key.as_str(), "a.m" | "p.m") {
                return first_char.is_uppercase();
            }
            // "usw. Dann", "Co. It closed", "E.U. How about": a typical sentence opener follows.
            let starter = STARTERS.contains(&first_word)
                || first_word.starts_with("I'")
                || first_word.starts_with("I’");
            return starter
                || (self.abbr.may_end(term) && first_char.is_uppercase() && !w.contains('.'));
        }
        if term == "." {
            if let Some(prev) = i.checked_sub(1).map(|p| &toks[p]) {
                let attached = prev.span.end == toks[i].span.start;
                let paren_only = j == i + 2 && s(&toks[i + 1]) == ")";
                if attached && prev.kind == Kind::Number && (!closed_quote || paren_only) {
                    // A number opening its sentence is a list marker ("10. Interessierte …").
                    let opens = i - 1 == sent_start
                        || (i - 1 == sent_start + 1 && BULLETS.contains(&s(&toks[sent_start])));
                    if opens && text[prev.span.start..prev.span.end].len() <= 3 {
                        return false;
                    }
                    return !self.is_ordinal(text, toks, i - 1, first_word);
                }
                // Digits glued to a word ("Epoch Times4. November"): a date when a month follows.
                let pw = s(prev);
                let digits = pw.len() - pw.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                if attached
                    && prev.kind == Kind::Word
                    && (1..=2).contains(&digits)
                    && MONTHS.contains(&first_word.to_lowercase().as_str())
                {
                    return false;
                }
            }
        }
        if term.starts_with("...") || term == "…" || term.starts_with(". .") {
            // An ellipsis ends a sentence only before a capitalised word (not "I") or after a
            // closing quote; four dots are an ellipsis plus a full stop.
            let four = term.matches('.').count() >= 4;
            return (first_char.is_uppercase()
                && (first_word != "I" || four)
                && !OPENERS.contains(&next_s))
                || closed_quote;
        }
        true
    }

    /// Is the number at token `n` (followed by '.') an ordinal or list marker rather than a sentence end?
    pub(super) fn is_ordinal(&self, text: &str, toks: &[Tok], n: usize, next_word: &str) -> bool {
        let num = &text[toks[n].span.start..toks[n].span.end];
        if !num.bytes().all(|b| b.is_ascii_digit()) || num.len() > 3 {
            return false; // "seit 1998. Die", "1.000."
        }
        let lower = next_word.to_lowercase();
        if MONTHS.contains(&lower.as_str()) || ORDINAL_NOUNS.contains(&lower.as_str()) {
            return true;
        }
        // A list marker: the number starts its line ("1. Dies ist …", "• 3. Seien Sie …").
        let line_start = text[..toks[n].span.start].rfind('\n').map_or(0, |p| p + 1);
        let before = text[line_start..toks[n].span.start].trim();
        if before.is_empty() || matches!(before, "•" | "-" | "*" | "–" | "·") {
            return true;
        }
        match n
            .checked_sub(1)
            .map(|p| &text[toks[p].span.start..toks[p].span.end])
        {
            Some(w) => ORDINAL_BEFORE.contains(&w.to_lowercase().as_str()),
            None => true,
        }
    }
}

/// Double quotations in a paragraph's tokens at most `max` bytes long, as (opening quote,
/// closing quote) token indices, in order. An opening quote is glued to the word after it, a
/// closing one to the token before it; a second opening quote before any closing one starts
/// over (the first was unmatched).
pub(super) fn short_quotes(text: &str, toks: &[Tok], max: usize) -> Vec<(usize, usize)> {
    const OPEN: &[&str] = &["\"", "“", "„", "»", "«", ",,", "``"];
    const CLOSE: &[&str] = &["\"", "”", "“", "«", "»", "''"];
    let mut out = Vec::new();
    if max == 0 {
        return out;
    }
    let mut open: Option<usize> = None;
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Kind::Punct {
            continue;
        }
        let w = &text[t.span.start..t.span.end];
        let glued_before = k > 0 && toks[k - 1].span.end == t.span.start;
        let glued_after = toks.get(k + 1).is_some_and(|n| n.span.start == t.span.end);
        match open {
            Some(o) if glued_before && CLOSE.contains(&w) => {
                if t.span.end - toks[o].span.start <= max {
                    out.push((o, k));
                }
                open = None;
            }
            _ if glued_after && !glued_before && OPEN.contains(&w) => open = Some(k),
            _ => {}
        }
    }
    out
}

/// A word set vertically, a letter or two per line ("W\nA\nRN\nI\nNG", text from a PDF
/// or a narrow table column): this line and the next are each one or two capitals.
pub(super) fn vertical_letters(text: &str, t: &Tok, next: &Tok, line_start: usize) -> bool {
    let short_caps =
        |w: &str| (1..=2).contains(&w.chars().count()) && w.chars().all(|c| c.is_uppercase());
    let next_line_end = text[next.span.end..]
        .find('\n')
        .map_or(text.len(), |p| next.span.end + p);
    short_caps(text[line_start..t.span.end].trim())
        && short_caps(text[next.span.start..next_line_end].trim())
}

/// Is `para` written in lower case (chat, e-mail)? Few capitals, and sentences that start in
/// lower case more often than like prose (or never visibly start at all). Prose with much
/// dialogue can have few capitals too ('"Oh!" said the mouse. "Go on!" She …').
pub(super) fn lower_style(para: &str) -> bool {
    let (upper, letters) = para
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0, 0), |(u, l), c| {
            (u + usize::from(c.is_uppercase()), l + 1)
        });
    letters >= 40 && upper * 50 < letters && {
        let (prose, chat) = starts_after_stops(para);
        chat > prose || prose == 0
    }
}

/// How sentences in `para` go on after ".", "!" or "?" and a space: (like prose, like chat).
/// Prose starts the next sentence with a capitalised word ('… minute!" She'), or goes on
/// after a quotation with a lower-case attribution ('… that!" said Alice'); chat starts it in
/// lower case ("… tonight. plus we can …").
pub(super) fn starts_after_stops(para: &str) -> (usize, usize) {
    let is_quote = |q: char| QUOTES.iter().any(|x| x.starts_with(q));
    let (mut prose, mut chat) = (0, 0);
    let mut chars = para.chars().peekable();
    while let Some(c) = chars.next() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let mut quoted = false;
        while chars.next_if(|&q| is_quote(q)).is_some() {
            quoted = true;
        }
        if chars.next_if(|q| q.is_whitespace()).is_none() {
            continue;
        }
        while chars
            .next_if(|&q| q.is_whitespace() || is_quote(q))
            .is_some()
        {}
        match chars.next_if(|q| q.is_alphabetic()) {
            // A capitalised word ("She"), not the pronoun "I" nor an acronym.
            Some(f) if f.is_uppercase() && chars.peek().is_some_and(|q| q.is_lowercase()) => {
                prose += 1
            }
            Some(f) if f.is_lowercase() && quoted => prose += 1,
            Some(f) if f.is_lowercase() => chat += 1,
            _ => {}
        }
    }
    (prose, chat)
}

/// The number of a letter list marker at token `k` ("a)" → 1, "b)" → 2): one lower-case
/// ASCII letter with ")" glued to it.
pub(super) fn letter_marker(text: &str, toks: &[Tok], k: usize) -> Option<u32> {
    let t = toks.get(k)?;
    let close = toks.get(k + 1)?;
    let w = &text[t.span.start..t.span.end];
    let c = w.chars().next()?;
    (t.kind == Kind::Word
        && w.len() == 1
        && c.is_ascii_lowercase()
        && &text[close.span.start..close.span.end] == ")"
        && close.span.start == t.span.end)
        .then(|| c as u32 - 'a' as u32 + 1)
}

pub(super) fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<Span>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if start + lead < end - trail {
        out.push(Span::new(start + lead, end - trail));
    }
}
