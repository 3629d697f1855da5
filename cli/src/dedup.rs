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
//! 3. `textpipe dedup apply DIR [--rank R]` ([`apply`]) drops them from each rank's output
//!    (atomically; applying twice changes nothing) and lists them in
//!    `dedup/{rank:05}.removed.txt`.
//!
//! The index holds every signature in memory (about 400 bytes per document).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
/// its last `:` (`corpus.jsonl:17`), else the whole source and 0; the id breaks ties.
fn order_key(source: &str, id: &str) -> (String, u64, String) {
    match source.rsplit_once(':') {
        Some((file, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (file.to_string(), n.parse().unwrap_or(0), id.to_string())
        }
        _ => (source.to_string(), 0, id.to_string()),
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

fn world_size(dir: &Path) -> Result<usize> {
    let job = dir.join("job.json");
    let text = std::fs::read_to_string(&job).with_context(|| {
        format!(
            "{} is not a sharded job's directory (no job.json)",
            dir.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", job.display()))?;
    v["world_size"]
        .as_u64()
        .map(|w| w as usize)
        .with_context(|| format!("{}: no world_size", job.display()))
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

/// A document in the index: its place in the job's input, and its signature cut to 32 bits
/// a value (two different values agree by chance once in 4 billion: the estimate does not
/// change, the memory halves).
struct Entry {
    key: (String, u64, String),
    rank: u32,
    exact: u64,
    sig: [u32; HASHES],
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

/// `textpipe dedup index DIR`.
pub fn index(dir: &Path, threshold: f32) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&threshold) {
        bail!("--threshold must be between 0 and 1");
    }
    let world = world_size(dir)?;
    let mut docs: Vec<Entry> = Vec::new();
    for rank in 0..world {
        let done = dir.join("completions").join(format!("{rank:05}"));
        if !done.exists() {
            bail!("rank {rank} has not completed: run every rank before `dedup index` (see `textpipe status`)");
        }
        let path = dir.join("signatures").join(format!("{rank:05}.jsonl"));
        let f = std::fs::File::open(&path).with_context(|| {
            format!(
                "cannot read {} (written by the tasks of a sharded run)",
                path.display()
            )
        })?;
        for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line.with_context(|| format!("{}: cannot read", path.display()))?;
            let r: SigRecord = serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not a signature record", path.display(), n + 1))?;
            if r.minhash.len() != HASHES {
                bail!(
                    "{}:{}: a signature has {HASHES} values",
                    path.display(),
                    n + 1
                );
            }
            let mut sig = [0u32; HASHES];
            for (s, v) in sig.iter_mut().zip(&r.minhash) {
                *s = *v as u32;
            }
            docs.push(Entry {
                key: order_key(&r.source, &r.id),
                rank: rank as u32,
                exact: r.exact,
                sig,
            });
        }
    }
    // The job's input order.
    docs.sort_by(|a, b| a.key.cmp(&b.key).then(a.rank.cmp(&b.rank)));
    let n = docs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut exact_first: HashMap<u64, usize> = HashMap::with_capacity(n);
    for (i, d) in docs.iter().enumerate() {
        match exact_first.get(&d.exact) {
            Some(&first) => union(&mut parent, first, i),
            None => {
                exact_first.insert(d.exact, i);
            }
        }
    }
    drop(exact_first);
    // Per band, (bucket, document) pairs sorted: a bucket's documents are a run, in input
    // order.
    let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(n);
    for band in 0..BANDS {
        pairs.clear();
        pairs.extend(
            docs.iter()
                .enumerate()
                .map(|(i, d)| (band_of(&d.sig, band), i as u32)),
        );
        pairs.sort_unstable();
        for run in pairs.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for (k, &(_, i)) in run.iter().enumerate().skip(1) {
                let i = i as usize;
                for &(_, j) in run[..k].iter().rev().take(MAX_COMPARED) {
                    let j = j as usize;
                    if find(&mut parent, i) == find(&mut parent, j) {
                        break;
                    }
                    if agree(&docs[i].sig, &docs[j].sig) >= threshold {
                        union(&mut parent, i, j);
                        break;
                    }
                }
            }
        }
    }
    let out_dir = dir.join("dedup");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut lines = Vec::new();
    let (mut exact, mut near) = (0u64, 0u64);
    for i in 0..n {
        let root = find(&mut parent, i);
        if root == i {
            continue;
        }
        let kind = if docs[i].exact == docs[root].exact {
            exact += 1;
            "exact"
        } else {
            near += 1;
            "near"
        };
        let r = Removed {
            rank: docs[i].rank as usize,
            id: docs[i].key.2.clone(),
            duplicate_of: docs[root].key.2.clone(),
            kind: kind.into(),
        };
        serde_json::to_writer(&mut lines, &r)?;
        lines.push(b'\n');
    }
    write_atomic(&out_dir.join("removed.jsonl"), &lines)?;
    let summary = serde_json::json!({
        "documents": n, "removed": exact + near, "exact": exact, "near": near,
        "threshold": threshold, "ranks": world,
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

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = pipeline_core::atomic::AtomicFile::create(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.commit()
        .with_context(|| format!("cannot write {}", path.display()))
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

/// `textpipe dedup apply DIR [--rank R]`.
pub fn apply(dir: &Path, only: Option<usize>) -> Result<ExitCode> {
    let world = world_size(dir)?;
    let removed_path = dir.join("dedup").join("removed.jsonl");
    let text = std::fs::read_to_string(&removed_path).with_context(|| {
        format!(
            "cannot read {}: run `textpipe dedup index` first",
            removed_path.display()
        )
    })?;
    let mut by_rank: HashMap<usize, HashSet<String>> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let r: Removed = serde_json::from_str(line).with_context(|| {
            format!("{}:{}: not a removal record", removed_path.display(), n + 1)
        })?;
        by_rank.entry(r.rank).or_default().insert(r.id);
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
            if gone.contains(&id.id) {
                dropped.push(id.id);
            } else {
                kept.extend_from_slice(line);
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
        total += dropped.len();
        eprintln!("rank {rank}: {} duplicates dropped", dropped.len());
    }
    println!("{total} duplicates dropped");
    Ok(ExitCode::SUCCESS)
}
