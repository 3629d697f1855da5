//! Job-wide duplicate removal for a sharded job, in steps that run as ordinary tasks:
//!
//! 1. each task of `run --output-dir DIR` writes `signatures/{rank:05}.jsonl` beside its
//!    output ([`signature_line`], kept with the task's checkpoints by `shard.rs`): per
//!    written document its id, source, exact key and MinHash signature (clean's);
//! 2. `textpipe dedup index DIR` ([`index`]) reads every rank's signatures, joins exact
//!    duplicates and near-duplicates (documents sharing an LSH band whose signatures agree
//!    on at least `threshold` of their values) into clusters, and keeps the first document
//!    of each by the job's input order (its `source`: file, then line or offset), so the
//!    choice does not depend on how the job was split; the others go to
//!    `dedup/removed.jsonl`;
//! 3. `textpipe dedup apply DIR [--rank R] [--flag]` ([`apply`]) drops them from each
//!    rank's output, or with `--flag` sets their `meta.duplicate_of` (atomically; applying
//!    twice changes nothing), lists them in `dedup/{rank:05}.removed.txt` and counts them
//!    in the rank's stats.
//!
//! The index never holds the signatures: about 40 bytes a document, plus 12 for the band
//! being bucketed (one scan of the signature files writes every band's bucket keys to
//! scratch files, 16 bytes a document each). Each band can run as a task of its own
//! (`dedup index DIR --band B`, writing `dedup/bands/B.json`); the final `dedup index DIR`
//! joins the bands' pairs, computing those no task wrote.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::shard::{world_of, write_atomic};
use anyhow::{bail, Context, Result};
use pipeline_core::Document;
use serde::{Deserialize, Serialize};
use textpipe_stages::clean::dedup::{exact_key, signature, BANDS, HASHES};

/// One line of `signatures/{rank}.jsonl`.
#[derive(Serialize, Deserialize)]
struct SigRecord {
    id: String,
    #[serde(default)]
    source: String,
    exact: u64,
    minhash: Vec<u64>,
}

/// Appends the signature line of a written document to `out`.
pub fn signature_line(doc: &Document, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let rec = SigRecord {
        id: doc.id.clone(),
        source: doc.source.clone().unwrap_or_default(),
        exact: exact_key(&doc.text),
        minhash: signature(&doc.text).to_vec(),
    };
    serde_json::to_writer(&mut *out, &rec)?;
    out.push(b'\n');
    Ok(())
}

/// A document's place in the job's input: its source's file and the line or offset after
/// its last `:` (`corpus.jsonl:17`), else the whole source (or the id, without one) and 0.
fn order_key(source: &str, id: &str) -> (String, u64) {
    match source.rsplit_once(':') {
        Some((file, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (file.to_string(), n.parse().unwrap_or(0))
        }
        _ if source.is_empty() => (id.to_string(), 0),
        _ => (source.to_string(), 0),
    }
}

/// One removed document (a line of `dedup/removed.jsonl`).
#[derive(Serialize, Deserialize)]
struct Removed {
    rank: usize,
    id: String,
    duplicate_of: String,
    /// `exact` or `near`.
    kind: String,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Joins the clusters of `a` and `b`; the root is the earlier document.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        parent[hi] = lo;
    }
}

/// Most earlier members of a bucket a document is compared with (a bucket of thousands of
/// copies costs this many comparisons per copy, not thousands).
const MAX_COMPARED: usize = 32;

/// What every step keeps of a document (about 40 bytes; its signature stays on disk): its
/// place in the job's input, where its signature line is, and its exact key.
#[derive(Clone, Copy)]
struct Doc {
    /// Rank of its source file's name among the job's file names.
    file: u32,
    line: u64,
    rank: u32,
    /// Byte offset of its line in the rank's signature file.
    offset: u64,
    exact: u64,
}

/// A signature line without the signature (serde skips it).
#[derive(Deserialize)]
struct Head {
    id: String,
    #[serde(default)]
    source: String,
    exact: u64,
}

/// Every document of the job in input order, and for each rank the input position of each
/// of its signature lines.
struct Table {
    docs: Vec<Doc>,
    positions: Vec<Vec<u32>>,
    paths: Vec<PathBuf>,
}

fn sig_path(dir: &Path, rank: usize) -> PathBuf {
    dir.join("signatures").join(format!("{rank:05}.jsonl"))
}

/// Reads every rank's signature file once, keeping [`Doc`]s only; for each of `bands`, the
/// band's bucket key of every document goes to a scratch file (16 bytes a document:
/// key, rank, line), so no band needs the signatures read again.
fn load_table(dir: &Path, world: usize, bands: &[usize]) -> Result<(Table, Vec<PathBuf>)> {
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut docs = Vec::new();
    let mut paths = Vec::new();
    let scratch_dir = dir.join("dedup").join("bands");
    std::fs::create_dir_all(&scratch_dir)
        .with_context(|| format!("cannot create {}", scratch_dir.display()))?;
    let scratch: Vec<PathBuf> = (bands.iter())
        .map(|b| scratch_dir.join(format!(".scan-{b:02}-{}", std::process::id())))
        .collect();
    let mut outs = (scratch.iter())
        .map(|p| Ok(std::io::BufWriter::new(std::fs::File::create(p)?)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot write the bands' scratch files")?;
    for rank in 0..world {
        if !dir.join("completions").join(format!("{rank:05}")).exists() {
            bail!("rank {rank} has not completed: run every rank before `dedup index` (see `textpipe status`)");
        }
        let path = sig_path(dir, rank);
        let f = std::fs::File::open(&path).with_context(|| {
            format!(
                "cannot read {} (written by the tasks of a sharded run)",
                path.display()
            )
        })?;
        let mut r = std::io::BufReader::new(f);
        let (mut offset, mut line, mut n) = (0u64, String::new(), 0usize);
        loop {
            line.clear();
            let len = r
                .read_line(&mut line)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            if len == 0 {
                break;
            }
            n += 1;
            let h: Head = serde_json::from_str(&line)
                .with_context(|| format!("{}:{n}: not a signature record", path.display()))?;
            let (file, at) = order_key(&h.source, &h.id);
            let next = names.len() as u32;
            let file = *names.entry(file).or_insert(next);
            if !bands.is_empty() {
                let sig = minhash_of(&line)
                    .with_context(|| format!("{}:{n}: not a signature record", path.display()))?;
                for (b, out) in bands.iter().zip(&mut outs) {
                    out.write_all(&band_of(&sig, *b).to_le_bytes())?;
                    out.write_all(&(rank as u32).to_le_bytes())?;
                    out.write_all(&((n - 1) as u32).to_le_bytes())?;
                }
            }
            docs.push(Doc {
                file,
                line: at,
                rank: rank as u32,
                offset,
                exact: h.exact,
            });
            offset += len as u64;
        }
        paths.push(path);
    }
    // File names in their sorted order, then lines: the job's input order.
    let mut sorted: Vec<(&String, &u32)> = names.iter().collect();
    sorted.sort();
    let mut file_rank = vec![0u32; names.len()];
    for (k, (_, &id)) in sorted.iter().enumerate() {
        file_rank[id as usize] = k as u32;
    }
    for d in &mut docs {
        d.file = file_rank[d.file as usize];
    }
    docs.sort_by_key(|d| (d.file, d.line, d.rank, d.offset));
    let mut positions: Vec<Vec<(u64, u32)>> = vec![Vec::new(); world];
    for (pos, d) in docs.iter().enumerate() {
        positions[d.rank as usize].push((d.offset, pos as u32));
    }
    let positions = (positions.into_iter())
        .map(|mut v| {
            v.sort_unstable();
            v.into_iter().map(|(_, p)| p).collect()
        })
        .collect();
    for out in &mut outs {
        out.flush()?;
    }
    Ok((
        Table {
            docs,
            positions,
            paths,
        },
        scratch,
    ))
}

/// Reads signature lines at given places (one open file per rank).
struct Reader {
    files: HashMap<u32, std::io::BufReader<std::fs::File>>,
}

impl Reader {
    fn line(&mut self, t: &Table, d: &Doc) -> Result<String> {
        use std::io::Seek;
        let r = match self.files.entry(d.rank) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let p = &t.paths[d.rank as usize];
                let f = std::fs::File::open(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                e.insert(std::io::BufReader::new(f))
            }
        };
        r.seek(std::io::SeekFrom::Start(d.offset))?;
        let mut line = String::new();
        r.read_line(&mut line)?;
        Ok(line)
    }
    fn sig(&mut self, t: &Table, d: &Doc) -> Result<[u32; HASHES]> {
        let r: SigRecord = serde_json::from_str(&self.line(t, d)?)?;
        sig32(&r.minhash)
    }
    fn id(&mut self, t: &Table, d: &Doc) -> Result<String> {
        let h: Head = serde_json::from_str(&self.line(t, d)?)?;
        Ok(h.id)
    }
}

/// The signature of a signature line, read straight from its `"minhash":[…]` (every band
/// reads every line), else through serde.
fn minhash_of(line: &str) -> Result<[u32; HASHES]> {
    const KEY: &str = "\"minhash\"";
    let after = line.find(KEY).map(|i| &line[i + KEY.len()..]);
    let list = after.and_then(|a| {
        a.trim_start()
            .strip_prefix(':')?
            .trim_start()
            .strip_prefix('[')
    });
    if let Some(rest) = list {
        let start = line.len() - rest.len();
        if let Some(end) = line[start..].find(']') {
            let mut sig = [0u32; HASHES];
            let mut n = 0;
            for v in line[start..start + end].split(',') {
                let x: u64 = v
                    .trim()
                    .parse()
                    .context("a signature value is not a number")?;
                *sig.get_mut(n).context("a signature has too many values")? = x as u32;
                n += 1;
            }
            if n == HASHES {
                return Ok(sig);
            }
        }
    }
    let r: SigRecord = serde_json::from_str(line)?;
    sig32(&r.minhash)
}

/// A signature cut to 32 bits a value (two different values agree by chance once in 4
/// billion: the estimate does not change).
fn sig32(v: &[u64]) -> Result<[u32; HASHES]> {
    if v.len() != HASHES {
        bail!("a signature has {HASHES} values, not {}", v.len());
    }
    let mut sig = [0u32; HASHES];
    for (s, x) in sig.iter_mut().zip(v) {
        *s = *x as u32;
    }
    Ok(sig)
}

/// Band `band` of a 32-bit signature as one bucket key.
fn band_of(sig: &[u32; HASHES], band: usize) -> u64 {
    const ROWS: usize = HASHES / BANDS;
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ band as u64;
    for &v in &sig[band * ROWS..(band + 1) * ROWS] {
        h = (h ^ u64::from(v))
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
    }
    h
}

fn agree(a: &[u32; HASHES], b: &[u32; HASHES]) -> f32 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f32 / HASHES as f32
}

/// The near-duplicate edges one band finds, from its scratch file of bucket keys (read,
/// then removed): documents in one bucket, each compared with the ones before it (at most
/// [`MAX_COMPARED`]) until one agrees on `threshold` of the signature (read from its line).
/// Memory: 12 bytes a document and the signatures of one bucket.
fn band_edges(t: &Table, scratch: &Path, threshold: f32) -> Result<Edges> {
    let bytes =
        std::fs::read(scratch).with_context(|| format!("cannot read {}", scratch.display()))?;
    let _ = std::fs::remove_file(scratch);
    let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(t.docs.len());
    for rec in bytes.chunks_exact(16) {
        let word = |a: usize, b: usize| rec[a..b].try_into().unwrap_or_default();
        let key = u64::from_le_bytes(word(0, 8));
        let rank = u32::from_le_bytes(rec[8..12].try_into().unwrap_or_default()) as usize;
        let k = u32::from_le_bytes(rec[12..16].try_into().unwrap_or_default()) as usize;
        let pos = (t.positions.get(rank).and_then(|p| p.get(k)))
            .context("a band's scratch file does not match the signatures")?;
        pairs.push((key, *pos));
    }
    drop(bytes);
    pairs.sort_unstable();
    let mut reader = Reader {
        files: HashMap::new(),
    };
    let mut edges = Vec::new();
    for run in pairs.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        let sigs = (run.iter())
            .map(|&(_, p)| reader.sig(t, &t.docs[p as usize]))
            .collect::<Result<Vec<_>>>()?;
        for k in 1..run.len() {
            let i = run[k].1;
            for m in (0..k).rev().take(MAX_COMPARED) {
                let j = run[m].1;
                // Exact duplicates are joined by their keys.
                if t.docs[i as usize].exact == t.docs[j as usize].exact
                    || agree(&sigs[k], &sigs[m]) >= threshold
                {
                    edges.push((j, i));
                    break;
                }
            }
        }
    }
    Ok(edges)
}

/// Near-duplicate pairs, as input positions (earlier, later).
type Edges = Vec<(u32, u32)>;

/// Where band `band`'s edges are kept by `dedup index --band`.
fn edges_path(dir: &Path, band: usize) -> PathBuf {
    dir.join("dedup")
        .join("bands")
        .join(format!("{band:02}.json"))
}

/// `textpipe dedup index DIR [--band B]`: with a band, that band's edges only (a task of
/// its own, 16 in all); without, the clusters, from the bands' edges (computed here for
/// each band no task has written).
///
/// Long because the band and cluster steps share the signatures, read once.
pub fn index(dir: &Path, threshold: f32, band: Option<usize>) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&threshold) {
        bail!("--threshold must be between 0 and 1");
    }
    if band.is_some_and(|b| b >= BANDS) {
        bail!("--band must be below {BANDS}");
    }
    // The threshold as written (0.8, not 0.800000011920929).
    let threshold_shown: f64 = threshold
        .to_string()
        .parse()
        .unwrap_or(f64::from(threshold));
    // A band's file names the signatures (their total size) and threshold it was made for.
    let world = world_of(dir)?;
    let sig_bytes: u64 = (0..world)
        .map(|r| std::fs::metadata(sig_path(dir, r)).map_or(0, |m| m.len()))
        .sum();
    let saved = |b: usize| -> Option<Edges> {
        let bytes = std::fs::read(edges_path(dir, b)).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let fits =
            v["signature_bytes"] == sig_bytes && v["threshold"].as_f64() == Some(threshold_shown);
        fits.then(|| serde_json::from_value(v["edges"].clone()).ok())
            .flatten()
    };
    let mut bands: Vec<(usize, Option<Edges>)> = match band {
        Some(b) => vec![(b, None)],
        None => (0..BANDS).map(|b| (b, saved(b))).collect(),
    };
    let to_scan: Vec<usize> = (bands.iter())
        .filter(|(_, e)| e.is_none())
        .map(|(b, _)| *b)
        .collect();
    let (t, scratch) = load_table(dir, world, &to_scan)?;
    let n = t.docs.len();
    let mut scratch = to_scan
        .iter()
        .copied()
        .zip(scratch)
        .collect::<HashMap<_, _>>();
    if let Some(b) = band {
        let path = scratch.remove(&b).context("the band was not scanned")?;
        let edges = band_edges(&t, &path, threshold)?;
        let v = serde_json::json!({
            "signature_bytes": sig_bytes, "threshold": threshold_shown, "edges": edges,
        });
        write_atomic(&edges_path(dir, b), v.to_string().as_bytes())?;
        println!(
            "band {b}: {} near-duplicate pairs among {n} documents",
            edges.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut parent: Vec<usize> = (0..n).collect();
    // Exact duplicates: equal keys, joined to the first.
    let mut keys: Vec<(u64, u32)> = (t.docs.iter().enumerate())
        .map(|(p, d)| (d.exact, p as u32))
        .collect();
    keys.sort_unstable();
    for run in keys.chunk_by(|a, b| a.0 == b.0) {
        for &(_, p) in &run[1..] {
            union(&mut parent, run[0].1 as usize, p as usize);
        }
    }
    drop(keys);
    let computed = to_scan.len();
    for (b, edges) in bands.drain(..) {
        let edges = match edges {
            Some(e) => e,
            None => {
                let path = scratch.remove(&b).context("the band was not scanned")?;
                band_edges(&t, &path, threshold)?
            }
        };
        for (a, c) in edges {
            union(&mut parent, a as usize, c as usize);
        }
    }
    let out_dir = dir.join("dedup");
    let mut reader = Reader {
        files: HashMap::new(),
    };
    let mut lines = Vec::new();
    let (mut exact, mut near) = (0u64, 0u64);
    for i in 0..n {
        let root = find(&mut parent, i);
        if root == i {
            continue;
        }
        let (d, r) = (&t.docs[i], &t.docs[root]);
        let kind = if d.exact == r.exact {
            exact += 1;
            "exact"
        } else {
            near += 1;
            "near"
        };
        let rec = Removed {
            rank: d.rank as usize,
            id: reader.id(&t, d)?,
            duplicate_of: reader.id(&t, r)?,
            kind: kind.into(),
        };
        serde_json::to_writer(&mut lines, &rec)?;
        lines.push(b'\n');
    }
    write_atomic(&out_dir.join("removed.jsonl"), &lines)?;
    let summary = serde_json::json!({
        "documents": n, "removed": exact + near, "exact": exact, "near": near,
        "threshold": threshold_shown, "ranks": world, "bands_computed_here": computed,
    });
    write_atomic(
        &out_dir.join("index.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    println!(
        "{n} documents in {world} ranks: {} duplicates ({exact} exact, {near} near, Jaccard ≥ {threshold}) listed in {}",
        exact + near,
        out_dir.join("removed.jsonl").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The id of an output line.
#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// A rank's output file: `{rank}.jsonl` or `{rank}.jsonl.zst`.
fn output_of(dir: &Path, rank: usize) -> Result<(PathBuf, bool)> {
    let plain = dir.join(format!("{rank:05}.jsonl"));
    let zst = dir.join(format!("{rank:05}.jsonl.zst"));
    match (plain.exists(), zst.exists()) {
        (true, _) => Ok((plain, false)),
        (false, true) => Ok((zst, true)),
        _ => bail!("rank {rank} has no output ({} or .zst)", plain.display()),
    }
}

/// Where a JSON object line's top-level `meta` object opens (the byte after its `{`), if
/// it has one: a scan that follows strings and nesting, so a `"meta"` inside a text or a
/// nested object is not taken for it.
fn top_level_meta(line: &[u8]) -> Option<usize> {
    let (mut depth, mut i) = (0usize, 0usize);
    while i < line.len() {
        match line[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < line.len() && line[i] != b'"' {
                    i += if line[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && line.get(start..i) == Some(b"meta") {
                    let rest = &line[i + 1..];
                    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
                    if rest[colon] == b':' {
                        let after = &rest[colon + 1..];
                        let brace = after.iter().position(|b| !b.is_ascii_whitespace())?;
                        if after[brace] == b'{' {
                            return Some(i + 1 + colon + 1 + brace + 1);
                        }
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The line with `meta.duplicate_of` set to `of` (the line as written, the key added into
/// its `meta`, or a `meta` added at its end); the result is checked to read back.
fn flag_line(line: &[u8], of: &str) -> Result<Vec<u8>> {
    let key = format!("\"duplicate_of\":{}", serde_json::to_string(of)?);
    let mut out = Vec::with_capacity(line.len() + key.len() + 12);
    match top_level_meta(line) {
        Some(at) => {
            let empty = line[at..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
            out.extend_from_slice(&line[..at]);
            out.extend_from_slice(key.as_bytes());
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(&line[at..]);
        }
        None => {
            let end = line
                .iter()
                .rposition(|&b| b == b'}')
                .context("not a JSON object")?;
            out.extend_from_slice(&line[..end]);
            out.extend_from_slice(format!(",\"meta\":{{{key}}}").as_bytes());
            out.extend_from_slice(&line[end..]);
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&out).context("flagging broke the line")?;
    if v["meta"]["duplicate_of"] != of {
        bail!("flagging did not reach the line's meta");
    }
    Ok(out)
}

/// Records what `apply` removed or flagged in the rank's stats (`merge-stats` sums it).
fn note_in_stats(dir: &Path, rank: usize, key: &str, n: usize) -> Result<()> {
    let path = dir.join("stats").join(format!("{rank:05}.json"));
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    let mut v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("cannot parse {}", path.display()))?;
    if let Some(m) = v.as_object_mut() {
        m.insert(key.into(), n.into());
    }
    write_atomic(&path, serde_json::to_string_pretty(&v)?.as_bytes())
}

/// `textpipe dedup apply DIR [--rank R]`.
pub fn apply(dir: &Path, only: Option<usize>, flag: bool) -> Result<ExitCode> {
    let world = world_of(dir)?;
    let removed_path = dir.join("dedup").join("removed.jsonl");
    let text = std::fs::read_to_string(&removed_path).with_context(|| {
        format!(
            "cannot read {}: run `textpipe dedup index` first",
            removed_path.display()
        )
    })?;
    let mut by_rank: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let r: Removed = serde_json::from_str(line).with_context(|| {
            format!("{}:{}: not a removal record", removed_path.display(), n + 1)
        })?;
        by_rank
            .entry(r.rank)
            .or_default()
            .insert(r.id, r.duplicate_of);
    }
    let ranks: Vec<usize> = match only {
        Some(r) if r >= world => bail!("--rank {r} is outside the job's {world} ranks"),
        Some(r) => vec![r],
        None => (0..world).collect(),
    };
    let mut total = 0usize;
    for rank in ranks {
        let gone = by_rank.remove(&rank).unwrap_or_default();
        let (path, zst) = output_of(dir, rank)?;
        let raw =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let data = if zst {
            zstd::decode_all(raw.as_slice())
                .with_context(|| format!("{}: not zstd", path.display()))?
        } else {
            raw
        };
        let mut kept = Vec::with_capacity(data.len());
        let mut dropped = Vec::new();
        for (n, line) in data.split_inclusive(|&b| b == b'\n').enumerate() {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            if body.is_empty() {
                continue;
            }
            let id: IdOnly = serde_json::from_slice(body).with_context(|| {
                format!(
                    "{}:{}: no `id` (the sink's fields must keep it)",
                    path.display(),
                    n + 1
                )
            })?;
            match gone.get(&id.id) {
                Some(of) if flag => {
                    if top_level_meta(body).is_some() && {
                        let v: serde_json::Value = serde_json::from_slice(body)?;
                        v["meta"]["duplicate_of"] == of.as_str()
                    } {
                        // Flagged by an earlier apply.
                        kept.extend_from_slice(line);
                        continue;
                    }
                    kept.extend(
                        flag_line(body, of)
                            .with_context(|| format!("{}:{}", path.display(), n + 1))?,
                    );
                    kept.push(b'\n');
                    dropped.push(id.id);
                }
                Some(_) => dropped.push(id.id),
                None => kept.extend_from_slice(line),
            }
        }
        if !dropped.is_empty() {
            let out = if zst {
                zstd::encode_all(kept.as_slice(), 3)?
            } else {
                kept
            };
            write_atomic(&path, &out)?;
        }
        let mut list = dropped.join("\n");
        if !list.is_empty() {
            list.push('\n');
        }
        let listed = dir.join("dedup").join(format!("{rank:05}.removed.txt"));
        // A second apply finds nothing left to drop: the first one's list stays.
        if !dropped.is_empty() || !listed.exists() {
            write_atomic(&listed, list.as_bytes())?;
        }
        let (key, done) = if flag {
            ("docs_flagged_duplicates", "flagged")
        } else {
            ("docs_removed_duplicates", "dropped")
        };
        if !dropped.is_empty() {
            note_in_stats(dir, rank, key, dropped.len())?;
        }
        total += dropped.len();
        eprintln!("rank {rank}: {} duplicates {done}", dropped.len());
    }
    println!(
        "{total} duplicates {}",
        if flag { "flagged" } else { "dropped" }
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_go_into_the_top_level_meta_only() {
        // A `"meta":{` inside the text and inside a nested object are not the document's.
        let line = br#"{"id":"a","text":"x \"meta\":{ y","entities":[{"meta":{}}],"meta":{"k":1}}"#;
        let out = flag_line(line, "b").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["meta"], serde_json::json!({"duplicate_of": "b", "k": 1}));
        assert_eq!(v["entities"][0]["meta"], serde_json::json!({}));
        assert_eq!(v["text"], "x \"meta\":{ y");
        // No meta, and an empty one.
        let v: serde_json::Value =
            serde_json::from_slice(&flag_line(br#"{"id":"a"}"#, "b").unwrap()).unwrap();
        assert_eq!(v["meta"]["duplicate_of"], "b");
        let v: serde_json::Value =
            serde_json::from_slice(&flag_line(br#"{"id":"a","meta":{}}"#, "b").unwrap()).unwrap();
        assert_eq!(v["meta"], serde_json::json!({"duplicate_of": "b"}));
    }

    #[test]
    fn input_order_reads_file_then_line() {
        assert_eq!(order_key("c.jsonl:17", "x"), ("c.jsonl".to_string(), 17));
        assert_eq!(
            order_key("dir/page.html", "x"),
            ("dir/page.html".to_string(), 0)
        );
        assert_eq!(order_key("", "x"), ("x".to_string(), 0));
        assert!(order_key("c.jsonl:9", "x") < order_key("c.jsonl:10", "x"));
    }
}
