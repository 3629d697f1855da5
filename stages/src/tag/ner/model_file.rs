//! The entity model's file format: magic, tag count, transitions, the gazetteer,
//! capitalisation buckets and clusters, then the feature rows quantised to `i16`, sorted
//! by key so the same model gives the same bytes.

use rustc_hash::FxHashMap;

use super::{ModelError, NerModel, MAGIC, NT};

impl NerModel {
    /// Serialises the model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.index.len() * (8 + NT * 2));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(NT as u32).to_le_bytes());
        for t in &self.trans {
            out.extend_from_slice(&t.to_le_bytes());
        }
        let put_map = |out: &mut Vec<u8>, m: &FxHashMap<u64, u8>| {
            let mut v: Vec<(&u64, &u8)> = m.iter().collect();
            v.sort();
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for (k, b) in v {
                out.extend_from_slice(&k.to_le_bytes());
                out.push(*b);
            }
        };
        put_map(&mut out, &self.gaz);
        put_map(&mut out, &self.caps);
        let mut cl: Vec<(&u64, &u32)> = self.clusters.iter().collect();
        cl.sort();
        out.extend_from_slice(&(cl.len() as u32).to_le_bytes());
        for (k, c) in cl {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        // Rows: quantised to i16 with one scale, sorted by key so the file is reproducible.
        let max = self.w.iter().fold(0f32, |m, w| m.max(w.abs())).max(1e-9);
        let scale = max / 32767.0;
        out.extend_from_slice(&scale.to_le_bytes());
        let mut rows: Vec<(&u64, &u32)> = self.index.iter().collect();
        rows.sort();
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for (k, r) in rows {
            out.extend_from_slice(&k.to_le_bytes());
            let r = *r as usize * NT;
            for w in &self.w[r..r + NT] {
                out.extend_from_slice(&((w / scale).round() as i16).to_le_bytes());
            }
        }
        out
    }

    /// Reads a model written by [`NerModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<NerModel, ModelError> {
        let mut r = crate::bytes::Reader::new(b);
        if r.take(8)? != MAGIC {
            return Err(ModelError::Format("bad magic"));
        }
        if r.u32()? as usize != NT {
            return Err(ModelError::Format("tag set differs"));
        }
        let mut trans = Vec::with_capacity((NT + 1) * NT);
        for _ in 0..(NT + 1) * NT {
            trans.push(r.f32()?);
        }
        let get_map = |r: &mut crate::bytes::Reader| -> Result<FxHashMap<u64, u8>, ModelError> {
            let n = r.u32()? as usize;
            let mut m = FxHashMap::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let k = r.u64()?;
                m.insert(k, r.take(1)?[0]);
            }
            Ok(m)
        };
        let gaz = get_map(&mut r)?;
        let caps = get_map(&mut r)?;
        let n = r.u32()? as usize;
        let mut clusters = FxHashMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let k = r.u64()?;
            clusters.insert(k, r.u32()?);
        }
        let scale = r.f32()?;
        let n = r.u32()? as usize;
        let mut index = FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut w = Vec::with_capacity(n * NT);
        for i in 0..n {
            index.insert(r.u64()?, i as u32);
            for _ in 0..NT {
                let q = i16::from_le_bytes([r.take(1)?[0], r.take(1)?[0]]);
                w.push(q as f32 * scale);
            }
        }
        let mut m = NerModel {
            index,
            w,
            rows: FxHashMap::default(),
            trans,
            gaz,
            caps,
            clusters,
        };
        m.build_rows();
        Ok(m)
    }

    /// Fills [`NerModel::rows`] from the index and weights.
    pub(super) fn build_rows(&mut self) {
        self.rows = self
            .index
            .iter()
            .map(|(&k, &r)| {
                let mut row = [0f32; NT];
                row.copy_from_slice(&self.w[r as usize * NT..(r as usize + 1) * NT]);
                (k, row)
            })
            .collect();
    }
}

impl From<crate::bytes::Truncated> for ModelError {
    fn from(_: crate::bytes::Truncated) -> Self {
        ModelError::Format("truncated")
    }
}
