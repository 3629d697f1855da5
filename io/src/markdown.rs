//! A document as Markdown, from the blocks decode found and clean kept (headings, list
//! items, code, paragraphs), as trafilatura's Markdown output gives them; a plain-text
//! document is its paragraphs. The title (`meta.title`) opens it unless the first block is
//! that heading already.

use pipeline_core::Document;

/// Backslash before a character that would make a paragraph's start into Markdown syntax.
fn escape_start(t: &str) -> String {
    let starts_syntax = t.starts_with(['#', '-', '*', '+', '>', '|', '`'])
        || t.split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if starts_syntax {
        format!("\\{t}")
    } else {
        t.to_string()
    }
}

/// The document as Markdown (ends with one newline; empty for an empty document).
pub fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    let title = doc
        .meta
        .get("title")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty());
    let first_heading = doc.blocks.first().filter(|b| b.heading.is_some());
    if let Some(t) = title {
        if first_heading.is_none_or(|b| b.text.trim() != t.trim()) {
            out.push_str(&format!("# {t}\n\n"));
        }
    }
    if doc.blocks.is_empty() {
        for p in doc
            .text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            out.push_str(&escape_start(p));
            out.push_str("\n\n");
        }
    }
    let mut prev_list = false;
    for b in &doc.blocks {
        let text = b.text.trim();
        if text.is_empty() {
            continue;
        }
        // List items follow one another without a blank line.
        if prev_list && !(b.in_list && b.heading.is_none()) {
            out.push('\n');
        }
        prev_list = false;
        if let Some(level) = b.heading {
            let level = usize::from(level.clamp(1, 6));
            out.push_str(&"#".repeat(level));
            out.push(' ');
            out.push_str(&text.replace('\n', " "));
            out.push_str("\n\n");
        } else if b.tag == "pre" {
            out.push_str("```\n");
            out.push_str(text);
            out.push_str("\n```\n\n");
        } else if b.in_list {
            out.push_str("- ");
            out.push_str(&escape_start(&text.replace('\n', " ")));
            out.push('\n');
            prev_list = true;
        } else if b.tag == "blockquote" {
            for line in text.lines() {
                out.push_str("> ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        } else {
            // A line break inside a paragraph (`<br>`) stays one: two spaces before it.
            out.push_str(&escape_start(text).replace('\n', "  \n"));
            out.push_str("\n\n");
        }
    }
    let end = out.trim_end().len();
    out.truncate(end);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_core::Block;

    fn block(tag: &str, text: &str, heading: Option<u8>, in_list: bool) -> Block {
        Block {
            text: text.into(),
            tag: tag.into(),
            heading,
            in_list,
            link_ratio: 0.0,
            hints: Vec::new(),
            path: Vec::new(),
        }
    }

    #[test]
    fn headings_lists_code_and_paragraphs_become_markdown() {
        let mut d = Document::from_text("x", "");
        d.meta.insert("title".into(), "Belarus und Russland".into());
        d.blocks = vec![
            block("h1", "Belarus und Russland", Some(1), false),
            block(
                "p",
                "MOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen ihre Zusammenarbeit aus.",
                None,
                false,
            ),
            block("h2", "Die Abkommen", Some(2), false),
            block("li", "Handel mit Getreide", None, true),
            block("li", "1. Düngemittel", None, true),
            block("pre", "cargo run --release", None, false),
            block("p", "Erste Zeile\nzweite Zeile", None, false),
        ];
        assert_eq!(
            to_markdown(&d),
            "# Belarus und Russland\n\nMOSKAU, 22. Juni (BelTA) – Belarus und Russland bauen ihre Zusammenarbeit aus.\n\n## Die Abkommen\n\n- Handel mit Getreide\n- \\1. Düngemittel\n\n```\ncargo run --release\n```\n\nErste Zeile  \nzweite Zeile\n"
        );
        // Plain text: its paragraphs, under the title.
        let mut p = Document::from_text("p", "");
        p.text = "Erster Absatz.\n\nZweiter Absatz.".into();
        p.meta.insert("title".into(), "Titel".into());
        assert_eq!(
            to_markdown(&p),
            "# Titel\n\nErster Absatz.\n\nZweiter Absatz.\n"
        );
    }
}
