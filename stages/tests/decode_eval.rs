//! decode on real data: the ftfy test cases (../shared/eval) and the seeds re-encoded.

mod common;

use pipeline_core::{Document, Stage};
use textpipe_stages::decode::{DecodeOptions, Decoder};

fn shared(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

fn repair_only() -> Decoder {
    Decoder::new(DecodeOptions::repair_only())
}

#[test]
fn ftfy_cases_required_to_pass_are_fixed_and_correct_text_is_untouched() {
    let text =
        std::fs::read_to_string(shared("eval/decode/ftfy-cases.jsonl")).expect("shared eval data");
    let dec = repair_only();
    let (mut pass_total, mut pass_ok, mut neg_altered) = (0, 0, Vec::new());
    let mut misses = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let broken = v["broken"].as_str().unwrap();
        let want = v["fixed_encoding"].as_str().unwrap();
        let mut n = 0;
        let got = dec.repair_text(broken.to_string(), true, &mut n);
        if v["category"] == "negative" && got != broken {
            neg_altered.push(format!("{broken:?} → {got:?}"));
        }
        if v["expect"] == "pass" {
            pass_total += 1;
            if got == want {
                pass_ok += 1;
            } else {
                misses.push(format!("{} {broken:?} → {got:?} (want {want:?})", v["id"]));
            }
        }
    }
    let rate = pass_ok as f64 / pass_total as f64;
    eprintln!(
        "ftfy cases: {pass_ok}/{pass_total} = {rate:.3}\n{}",
        misses.join("\n")
    );
    assert!(
        neg_altered.is_empty(),
        "correct text altered: {neg_altered:#?}"
    );
    assert!(rate >= 0.95, "exact-match rate {rate:.3}");
}

fn seeds() -> Vec<(String, String)> {
    common::seeds()
        .into_iter()
        .map(|(name, raw)| (name, String::from_utf8(raw).expect("seeds are UTF-8")))
        .collect()
}

fn decode(raw: Vec<u8>) -> String {
    let mut d = Document::from_bytes("x", raw);
    Decoder::new(DecodeOptions::default())
        .process(&mut d)
        .unwrap();
    d.text
}

#[test]
fn seeds_reencoded_decode_back_exactly() {
    for (name, text) in seeds() {
        let want = decode(text.as_bytes().to_vec());
        let mut variants: Vec<(&str, Vec<u8>)> = Vec::new();
        for enc in [encoding_rs::WINDOWS_1252, encoding_rs::ISO_8859_15] {
            // Characters the code page lacks become numeric references, as encoders emit them.
            variants.push((enc.name(), enc.encode(&text).0.into_owned()));
        }
        // ISO-8859-1 proper: only U+0000–U+00FF, the rest as numeric references.
        let latin1: Vec<u8> = text
            .chars()
            .flat_map(|c| {
                if (c as u32) < 256 {
                    vec![c as u8]
                } else {
                    format!("&#{};", c as u32).into_bytes()
                }
            })
            .collect();
        variants.push(("ISO-8859-1", latin1));
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        variants.push(("UTF-16LE with BOM", [vec![0xFF, 0xFE], le.clone()].concat()));
        variants.push(("UTF-16BE with BOM", [vec![0xFE, 0xFF], be.clone()].concat()));
        variants.push(("UTF-16LE", le));
        variants.push(("UTF-16BE", be));
        variants.push((
            "UTF-8 with BOM",
            [b"\xEF\xBB\xBF".to_vec(), text.as_bytes().to_vec()].concat(),
        ));
        let (cp, _, _) = encoding_rs::WINDOWS_1252.decode(text.as_bytes());
        variants.push(("double-encoded UTF-8", cp.as_bytes().to_vec()));
        for (label, bytes) in variants {
            assert_eq!(decode(bytes), want, "{name} as {label}");
        }
    }
}
