//! Reading the shipped model files (`ner-*.bin`, `lang.bin`, `clean.bin`, `chars.bin`): little-endian
//! numbers from a byte slice, a short file an error rather than a panic.

/// The file ended before the field being read.
pub(crate) struct Truncated;

/// A cursor over a model file's bytes.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b, at: 0 }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(Truncated)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Truncated> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub(crate) fn f32(&mut self) -> Result<f32, Truncated> {
        Ok(f32::from_bits(self.u32()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Truncated> {
        let lo = u64::from(self.u32()?);
        let hi = u64::from(self.u32()?);
        Ok(lo | hi << 32)
    }

    /// Whether every byte was read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.b.len()
    }
}

/// A shipped model as parsed, or `None` with an error logged naming `what`: an unreadable
/// model file turns its feature off instead of stopping the run.
pub(crate) fn shipped<T, E: std::fmt::Display>(what: &str, parsed: Result<T, E>) -> Option<T> {
    parsed
        .map_err(|e| tracing::error!("shipped {what} is unreadable: {e}"))
        .ok()
}
