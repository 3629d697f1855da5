//! Redactor plugin: replaces e-mail addresses, phone numbers and IBANs with placeholders and
//! marks each replacement with an annotation `redacted:<kind>`.
//!
//! Options (all optional):
//! - `kinds = ["email", "phone", "iban"]`: what to redact.
//! - `placeholder = "[{KIND}]"`: the replacement; `{KIND}` becomes `EMAIL`, `PHONE` or `IBAN`.
//!
//! IBANs must pass the ISO 13616 mod-97 check and phone numbers must have 7–15 digits, so
//! dates ("26.11.2020"), amounts ("1.000.000") and ordinary numbers stay.

use regex::Regex;
use textpipe_plugin::{export_plugin, serde_json, Doc, Plugin, Verdict};

/// What can be redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// E-mail address.
    Email,
    /// Telephone number (international, German national, North American).
    Phone,
    /// International bank account number, checksum-validated.
    Iban,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Iban => "iban",
        }
    }
}

/// A found span: start and end byte, and what it is.
pub type Hit = (usize, usize, Kind);

/// The redactor: compiled patterns and placeholders.
pub struct Redactor {
    email: Option<Regex>,
    phone: Option<Regex>,
    iban: Option<Regex>,
    placeholders: [String; 3],
}

impl Redactor {
    /// A redactor for `kinds`, with `placeholder` (`{KIND}` is filled in).
    pub fn with(kinds: &[Kind], placeholder: &str) -> Self {
        let on = |k| kinds.contains(&k);
        let re = |p: &str| Regex::new(p).expect("the built-in patterns compile");
        let ph = |k: Kind| placeholder.replace("{KIND}", &k.name().to_uppercase());
        Redactor {
            email: on(Kind::Email)
                .then(|| re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")),
            phone: on(Kind::Phone).then(|| {
                re(concat!(
                    // international: +49 30 1234567, 0049 (0)30 123-45-67
                    r"(?:\+|\b00)\d{1,3}(?:[ \-/.]?\(0\))?(?:[ \-/.]?\d{1,6}){2,6}",
                    // national with trunk prefix: 030 1234567, (030) 123 45 67, 0171/1234567
                    r"|(?:\(0\d{2,5}\)|\b0\d{2,5})[ \-/]?\d{2,8}(?:[ \-]\d{2,8}){0,3}",
                    // North American: (555) 123-4567, 555-123-4567
                    r"|(?:\(\d{3}\)\s?|\b\d{3}[\-.])\d{3}[\-.]\d{4}\b",
                ))
            }),
            iban: on(Kind::Iban)
                .then(|| re(r"\b[A-Z]{2}\d{2}(?:(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?|[A-Z0-9]{11,30})\b")),
            placeholders: [ph(Kind::Email), ph(Kind::Phone), ph(Kind::Iban)],
        }
    }

    /// Finds what to redact: sorted, non-overlapping `(start, end, kind)` byte ranges.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        // IBANs first: their digit runs would otherwise look like phone numbers. An
        // IBAN-shaped string that fails the checksum is not redacted, nor read as a phone.
        let mut iban_shaped = Vec::new();
        if let Some(re) = &self.iban {
            for m in re.find_iter(text) {
                iban_shaped.push((m.start(), m.end()));
                if let Some(end) = valid_iban_prefix(m.as_str()) {
                    hits.push((m.start(), m.start() + end, Kind::Iban));
                }
            }
        }
        if let Some(re) = &self.email {
            hits.extend(
                re.find_iter(text)
                    .map(|m| (m.start(), m.end(), Kind::Email)),
            );
        }
        if let Some(re) = &self.phone {
            for m in re.find_iter(text) {
                let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
                let in_iban = iban_shaped
                    .iter()
                    .any(|&(s, e)| m.start() < e && s < m.end());
                if (7..=15).contains(&digits) && !in_iban {
                    hits.push((m.start(), m.end(), Kind::Phone));
                }
            }
        }
        // On overlap the earlier start wins; at the same start IBAN, then e-mail, then phone
        // (the order they were pushed in; the sort is stable).
        hits.sort_by_key(|h| h.0);
        let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits {
            if out.last().is_none_or(|last| h.0 >= last.1) {
                out.push(h);
            }
        }
        out
    }

    /// The redacted text and the placeholder spans in it; `None` if there is nothing to redact.
    pub fn redact(&self, text: &str) -> Option<(String, Vec<Hit>)> {
        let hits = self.find(text);
        if hits.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut spans = Vec::with_capacity(hits.len());
        let mut at = 0;
        for (s, e, k) in hits {
            out.push_str(&text[at..s]);
            let ph = &self.placeholders[k as usize];
            spans.push((out.len(), out.len() + ph.len(), k));
            out.push_str(ph);
            at = e;
        }
        out.push_str(&text[at..]);
        Some((out, spans))
    }
}

/// Length of the longest prefix of `s` (cut at group boundaries) that is a valid IBAN.
fn valid_iban_prefix(s: &str) -> Option<usize> {
    let mut end = s.len();
    loop {
        if iban_checksum_ok(&s[..end]) {
            return Some(end);
        }
        // Drop the last space-separated group and try again (a following word in capitals).
        end = s[..end].rfind(' ')?;
    }
}

/// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1.
fn iban_checksum_ok(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = match b {
            b'0'..=b'9' => (b - b'0') as u32,
            b'A'..=b'Z' => (b - b'A') as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

impl Plugin for Redactor {
    const NAME: &'static str = "redact";
    const ABOUT: &'static str =
        "replaces e-mail addresses, phone numbers and IBANs with placeholders";

    fn new(options: &serde_json::Value) -> Result<Self, String> {
        let obj = options.as_object().ok_or("options must be a table")?;
        let mut kinds = vec![Kind::Email, Kind::Phone, Kind::Iban];
        let mut placeholder = "[{KIND}]".to_string();
        for (key, value) in obj {
            match key.as_str() {
                "kinds" => {
                    let list = value
                        .as_array()
                        .ok_or("`kinds` must be a list of strings")?;
                    kinds = list
                        .iter()
                        .map(|v| match v.as_str() {
                            Some("email") => Ok(Kind::Email),
                            Some("phone") => Ok(Kind::Phone),
                            Some("iban") => Ok(Kind::Iban),
                            _ => Err(format!(
                                "`kinds`: unknown kind {v}; known: \"email\", \"phone\", \"iban\""
                            )),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "placeholder" => {
                    placeholder = value
                        .as_str()
                        .ok_or("`placeholder` must be a string")?
                        .to_string();
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}`; known: `kinds`, `placeholder`"
                    ))
                }
            }
        }
        Ok(Redactor::with(&kinds, &placeholder))
    }

    fn process(&mut self, doc: &mut Doc<'_>) -> Result<Verdict, String> {
        // Untouched documents keep their text and every span on it.
        let Some((text, spans)) = self.redact(doc.text()) else {
            return Ok(Verdict::Keep);
        };
        let n = spans.len();
        doc.set_text(text);
        for (s, e, k) in spans {
            doc.add_annotation(s, e, &format!("redacted:{}", k.name()));
        }
        doc.set_meta("redactions", serde_json::Value::from(n));
        Ok(Verdict::Keep)
    }
}

export_plugin!(Redactor);

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Redactor {
        Redactor::with(&[Kind::Email, Kind::Phone, Kind::Iban], "[{KIND}]")
    }

    #[test]
    fn redacts_each_kind_and_marks_spans() {
        let text = "Kontakt: presse@belta.by, Tel. +375 17 287-17-11 oder 030 2260-1234. \
                    Spenden: DE89 3704 0044 0532 0130 00 (Sparkasse).";
        let (out, spans) = all().redact(text).unwrap();
        assert_eq!(
            out,
            "Kontakt: [EMAIL], Tel. [PHONE] oder [PHONE]. Spenden: [IBAN] (Sparkasse)."
        );
        for (s, e, k) in spans {
            assert_eq!(&out[s..e], format!("[{}]", k.name().to_uppercase()));
        }
    }

    #[test]
    fn leaves_dates_amounts_and_invalid_ibans() {
        let text = "Am 26.11.2020 flossen 1.000.000 Euro, 38,6 Mrd. USD; im Jahr 2019 \
                    waren es 12 345 Tonnen. DE89 3704 0044 0532 0130 01 ist falsch.";
        assert_eq!(all().find(text), vec![]);
    }

    #[test]
    fn iban_followed_by_capitals_is_cut_to_the_valid_part() {
        let (out, _) = all()
            .redact("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFF")
            .unwrap();
        assert_eq!(out, "IBAN [IBAN] BIC COBADEFF");
        assert!(iban_checksum_ok("GB82WEST12345698765432"));
    }

    #[test]
    fn english_phone_numbers() {
        let (out, _) = all()
            .redact("Call (555) 123-4567 or +1 202 555 0143.")
            .unwrap();
        assert_eq!(out, "Call [PHONE] or [PHONE].");
    }

    #[test]
    fn options_are_checked() {
        let o = serde_json::json!({"kinds": ["email"], "placeholder": "<{KIND}>"});
        let r = Redactor::new(&o).unwrap();
        assert_eq!(
            r.redact("a@b.de 030 1234567").unwrap().0,
            "<EMAIL> 030 1234567"
        );
        let bad = serde_json::json!({"kind": ["email"]});
        assert!(Redactor::new(&bad)
            .err()
            .unwrap()
            .contains("unknown option `kind`"));
        let bad = serde_json::json!({"kinds": ["fax"]});
        assert!(Redactor::new(&bad).err().unwrap().contains("unknown kind"));
    }
}
