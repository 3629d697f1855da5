//! Word-by-word repair, for mojibake mixed with correct text: each word's readings through
//! the code pages are scored by the character model in the language the text is most
//! likely in, and the best replaces the word when it is clearly more likely.

use super::*;

/// How much more likely, in nats, a word's repair must be than the word as it stands
/// (the character model's log-likelihoods, with the characters around it). Chosen by
/// `textpipe eval mojibake --folds 5`: at 3, two clean sentences of 12,262 changed; at 10,
/// one sentence of two broken fell from 0.990 to 0.985.
pub(super) const WORD_GAIN: f32 = 6.0;

/// The most likely reading of `word` (between the characters `before` and `after`) when it
/// is [`WORD_GAIN`] more likely than the word itself: the word re-encoded with each code
/// page and decoded as UTF-8, up to three times (mojibake of mojibake).
pub(super) fn repair_word(
    model: &CharModel,
    table: usize,
    before: char,
    word: &str,
    after: char,
) -> Option<String> {
    let like = |t: &str| model.score_in(table, before, t, after);
    let start = like(word);
    let mut current = word.to_string();
    let mut score = start;
    for _ in 0..3 {
        let mut best: Option<(f32, String)> = None;
        // Several pages often give the same reading: each is scored once.
        let mut seen: Vec<String> = Vec::new();
        let pages = pair_pages(&current);
        for (i, m) in charmaps().iter().enumerate() {
            if pages & (1 << i) == 0 {
                continue;
            }
            let Some(fixed) = m
                .encode(&current)
                .and_then(|b| utf8_tolerant(&b, false))
                .filter(|f| f.chars().all(|c| plausible(c) && !is_ipa(c)))
            else {
                continue;
            };
            if fixed == current || seen.contains(&fixed) {
                continue;
            }
            let s = like(&fixed);
            if s > score && best.as_ref().is_none_or(|(r, _)| s > *r) {
                best = Some((s, fixed.clone()));
            }
            seen.push(fixed);
        }
        let Some((s, fixed)) = best else { break };
        current = fixed;
        score = s;
    }
    (score - start >= WORD_GAIN).then_some(current)
}

/// Repairs mojibake word by word, for text where it is mixed with correct text (one
/// word, one sentence, a quoted name), with [`repair_word`]. A word is a run of characters
/// between white space, with the space after it when it ends in a lead character whose
/// NBSP was lost (`Ã s` → `às`). A word with no repair is tried again in pieces split at
/// quotes and dashes: correctly encoded, they make the re-encoded word invalid
/// (`l’humanitÃ©`), while in Windows-1251 and MacRoman mojibake they are part of a letter
/// (`Р»` is `л`, `–æ` is `о`).
pub(super) fn fix_words(text: &str, model: &CharModel) -> Option<String> {
    // One odd pair is a name or a typo as often as mojibake: the evidence must recur, or
    // the letters the repair gives must be of an alphabet the text already uses (`GrÃ¼nen`
    // in a text with "ö" elsewhere; not `DrÃ¥ber` beside a dash).
    let evidence = || strong_pairs(text);
    // The words are read in the language the text as a whole is most likely in (found
    // when the first word could be mojibake).
    let table = std::cell::OnceCell::new();
    let table = || *table.get_or_init(|| model.best_table(text));
    // "Already uses": a non-ASCII letter of the same script stands outside the word.
    let own_letters = |fixed: &str, at: usize, len: usize| {
        let elsewhere = || text[..at].chars().chain(text[at + len..].chars());
        fixed.chars().filter(|c| !c.is_ascii()).all(|c| {
            elsewhere().any(|t| !t.is_ascii() && t.is_alphabetic() && script(t) == script(c))
        })
    };
    let lead_before_space = |w: &str| {
        w.chars().next_back().is_some_and(|c| {
            charmaps()
                .iter()
                .any(|m| matches!(m.byte(c), Some(0xC2..=0xDF)))
        })
    };
    let mut out = String::with_capacity(text.len());
    // Each repair: where it is in `out`, its length there, and where it was in `text`.
    let mut repaired: Vec<(usize, usize, usize, usize)> = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < text.len() {
        // ASCII words have no repair: copy them up to the word of the next non-ASCII byte.
        let next = next_non_ascii(bytes, at);
        if let Some(sp) = bytes[at..next].iter().rposition(u8::is_ascii_whitespace) {
            out.push_str(&text[at..at + sp + 1]);
            at += sp + 1;
        }
        let rest = &text[at..];
        let start = rest.find(|c: char| !is_space(c)).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        at += start;
        let rest = &text[at..];
        if rest.is_empty() {
            break;
        }
        let mut end = rest.find(is_space).unwrap_or(rest.len());
        // The space or NBSP after a lead may be its continuation byte (`Ã\u{A0}` is `à`).
        if let Some(sp) = rest[end..]
            .chars()
            .next()
            .filter(|&c| c == ' ' || c == '\u{A0}')
        {
            if lead_before_space(&rest[..end]) {
                end += sp.len_utf8();
            }
        }
        let word = &rest[..end];
        if pair_pages(word) == 0 {
            out.push_str(word);
            at += end;
            continue;
        }
        let before = out.chars().next_back().unwrap_or(' ');
        let after = rest[end..].chars().next().unwrap_or(' ');
        if let Some(fixed) = repair_word(model, table(), before, word, after) {
            repaired.push((out.len(), fixed.len(), at, end));
            out.push_str(&fixed);
            at += end;
            continue;
        }
        // In pieces between quotes and dashes.
        let mut p = 0;
        while p < word.len() {
            let piece_rest = &word[p..];
            let split = piece_rest
                .find(|c: char| !splits_word(c))
                .unwrap_or(piece_rest.len());
            out.push_str(&piece_rest[..split]);
            p += split;
            let piece_rest = &word[p..];
            if piece_rest.is_empty() {
                break;
            }
            let e = piece_rest.find(splits_word).unwrap_or(piece_rest.len());
            let piece = &piece_rest[..e];
            let b = out.chars().next_back().unwrap_or(' ');
            let a = piece_rest[e..]
                .chars()
                .next()
                .or_else(|| rest[end..].chars().next())
                .unwrap_or(' ');
            match (!piece.is_ascii())
                .then(|| repair_word(model, table(), b, piece, a))
                .flatten()
            {
                Some(fixed) => {
                    repaired.push((out.len(), fixed.len(), at + p, e));
                    out.push_str(&fixed);
                }
                None => out.push_str(piece),
            }
            p += e;
        }
        at += end;
    }
    if repaired.is_empty() {
        return None;
    }
    // A lone repair with little evidence stands only in the text's own alphabet.
    if let [(out_at, out_len, at, len)] = repaired[..] {
        if evidence() < 2 && !own_letters(&out[out_at..out_at + out_len], at, len) {
            return None;
        }
    }
    Some(out)
}

/// How many pairs `text` holds that UTF-8 read with a wrong code page makes and words
/// hardly ever have (overlapping ones counted once): a non-ASCII letter followed by a
/// non-ASCII symbol or control (`Ã©`, `Å™`, `Ä›`, `â€`, `Ð¾`), or `Ã`/`Â` followed by
/// anything non-ASCII; `√`, `≈` or `¬` before a non-ASCII character; an ASCII letter
/// touching a Cyrillic one; box drawing before a non-ASCII character; an accented capital
/// after a lower-case letter. Two accented letters side by side (`ášť`, `Рі`) are words of
/// many languages, not evidence.
pub(super) fn strong_pairs(text: &str) -> usize {
    let mut prev: Option<char> = None;
    let mut last_hit = false;
    let mut n = 0;
    for c in text.chars() {
        // Two ASCII characters are never a pair (and cost no Unicode lookups).
        if c.is_ascii() && prev.is_none_or(|p| p.is_ascii()) {
            last_hit = false;
            prev = Some(c);
            continue;
        }
        if let Some(p) = prev {
            let strong = !p.is_ascii()
                && !c.is_ascii()
                && p.is_alphabetic()
                && (matches!(p, 'Ã' | 'Â') || !c.is_alphabetic())
                && !is_split_punct(c);
            // MacRoman's reading of UTF-8 Latin letters (`√©`, `√∂`), and a Cyrillic or
            // Greek letter inside a Latin word (`kamarГЎdkou`): Windows-1251/1253 readings.
            let macroman = matches!(p, '√' | '≈' | '¬') && !c.is_ascii() && !is_split_punct(c);
            let mixed = p.is_alphabetic()
                && c.is_alphabetic()
                && (p.is_ascii() || c.is_ascii())
                && script(p) != script(c);
            // CP437's box drawing before a non-ASCII character (`├¡`, `┼╛`), an accented
            // capital right after a lower-case letter (`kdyĹľ`, `stojÄ…`), and a Latin-1
            // capital before one of Windows-1252's letters in 0x80–0x9F (`ÄŒechy`).
            let boxed = ('\u{2500}'..='\u{257F}').contains(&p) && !c.is_ascii();
            let capital = (p.is_lowercase() && !c.is_ascii() && c.is_uppercase())
                || (matches!(p, 'À'..='Þ')
                    && matches!(c, 'Š' | 'Œ' | 'Ž' | 'Ÿ' | 'š' | 'œ' | 'ž' | 'ƒ'));
            // Pairs in a row are one piece of evidence (`rÃ¥`: one mis-read letter).
            let hit = strong || macroman || mixed || boxed || capital;
            n += usize::from(hit && !last_hit);
            last_hit = hit;
        }
        prev = Some(c);
    }
    n
}

/// White space between words for [`fix_words`]: not NEL (U+0085), which is Latin-1's
/// reading of a continuation byte (`Ä\u{85}` is `ą`).
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() && c != '\u{85}'
}

/// Where [`fix_words`] splits a word it could not repair whole: quotes, dashes and ASCII
/// punctuation (`Kıbrıs'ın` broken only before its apostrophe).
pub(super) fn splits_word(c: char) -> bool {
    is_split_punct(c) || c.is_ascii_punctuation()
}

/// Quotes and dashes that end a word for [`fix_words`]: correctly encoded, they would make
/// the re-encoded word invalid UTF-8 (`l’humanitÃ©`).
pub(super) fn is_split_punct(c: char) -> bool {
    matches!(c, '’' | '‘' | '“' | '”' | '„' | '–' | '—' | '…' | '«' | '»')
}
