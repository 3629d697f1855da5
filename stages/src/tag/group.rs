//! Grouping of entity mentions: surface variants of one entity (`W. Putin`, `Wladimir Putin`,
//! `Putin`; `Russland`, `Russlands`) get the same group index, with mention counts.

use pipeline_core::Entity;
use serde::Serialize;

/// One entity of a document and its mentions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The longest surface form.
    pub name: String,
    /// The label of most mentions.
    pub label: String,
    /// Number of mentions.
    pub mentions: usize,
    /// Distinct surface forms.
    pub variants: Vec<String>,
}

/// The key a mention is grouped by: its label, then for persons the last name (initials
/// and first names dropped), otherwise the whole name; lower-cased, with a German genitive
/// `s` removed. Written into `out`.
fn key(e: &Entity, out: &mut String) {
    let base = if e.label == "PER" {
        e.text.split_whitespace().next_back().unwrap_or("")
    } else {
        &e.text
    };
    out.clear();
    out.push_str(&e.label);
    out.push('\u{1f}');
    let label_len = out.len();
    crate::text::lower::push_lowercase(out, base.trim_matches(|c: char| !c.is_alphanumeric()));
    let stem = &out[label_len..];
    if let Some(s) = stem.strip_suffix('s') {
        if s.chars().count() >= 4 && !s.ends_with('s') {
            out.pop();
        }
    }
}

/// Assigns `group` on each entity and returns the groups (in order of first mention).
pub fn group(entities: &mut [Entity]) -> Vec<Group> {
    // Key (label and name) → group index.
    let mut keys: rustc_hash::FxHashMap<String, usize> = Default::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut k = String::new();
    for e in entities.iter_mut() {
        key(e, &mut k);
        let idx = match keys.get(k.as_str()) {
            Some(&i) => i,
            None => {
                keys.insert(k.clone(), groups.len());
                groups.push(Group {
                    name: e.text.clone(),
                    label: e.label.clone(),
                    mentions: 0,
                    variants: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[idx];
        g.mentions += 1;
        if !g.variants.contains(&e.text) {
            g.variants.push(e.text.clone());
        }
        if e.text.chars().count() > g.name.chars().count() && !e.text.contains(". ") {
            g.name = e.text.clone();
        }
        e.group = Some(idx);
    }
    groups
}

/// The groups as JSON (as serde would write them), moving their strings instead of copying.
pub fn into_json(groups: Vec<Group>) -> serde_json::Value {
    groups
        .into_iter()
        .map(|g| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), g.name.into());
            m.insert("label".into(), g.label.into());
            m.insert("mentions".into(), g.mentions.into());
            m.insert("variants".into(), g.variants.into());
            serde_json::Value::Object(m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_core::Span;

    fn ent(text: &str, label: &str) -> Entity {
        Entity {
            span: Span::new(0, text.len()),
            label: label.into(),
            text: text.into(),
            group: None,
        }
    }

    #[test]
    fn person_variants_and_genitives_group() {
        let mut es = vec![
            ent("W. Putin", "PER"),
            ent("Wladimir Putin", "PER"),
            ent("Putin", "PER"),
            ent("Russland", "LOC"),
            ent("Russlands", "LOC"),
            ent("Lukaschenko", "PER"),
        ];
        let g = group(&mut es);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].name, "Wladimir Putin");
        assert_eq!(g[0].mentions, 3);
        assert_eq!(g[1].variants, ["Russland", "Russlands"]);
        assert_eq!(es[2].group, Some(0));
        assert_eq!(es[5].group, Some(2));
    }
}
