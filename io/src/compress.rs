//! Compressed input: gzip (every member), zstd (every frame), bzip2 (every stream) and xz,
//! recognised by their magic bytes rather than the file name, and read as streams, so a
//! file is never held whole in memory.

use std::io::{BufRead, BufReader, Cursor, Read};

/// A compression format the sources read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip (RFC 1952), also several members one after another.
    Gzip,
    /// Zstandard, also several frames.
    Zstd,
    /// bzip2, also several streams.
    Bzip2,
    /// xz, also several streams.
    Xz,
}

/// Bytes enough to tell every format apart.
const HEAD: usize = 10;

/// File name endings of compressed files: a file `page.html.gz` is a `.html` file for the
/// `extensions` filter and has the id `page`.
pub const SUFFIXES: &[&str] = &["gz", "zst", "zstd", "bz2", "xz"];

impl Codec {
    /// The format whose magic bytes `head` starts with, if any.
    pub fn sniff(head: &[u8]) -> Option<Codec> {
        match head {
            [0x1f, 0x8b, 0x08, ..] => Some(Codec::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Codec::Zstd),
            // "BZh", the block size, then the magic of a block (π) or of the end (√π).
            [b'B', b'Z', b'h', b'1'..=b'9', rest @ ..]
                if rest.starts_with(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59])
                    || rest.starts_with(&[0x17, 0x72, 0x45, 0x38, 0x50, 0x90]) =>
            {
                Some(Codec::Bzip2)
            }
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Codec::Xz),
            _ => None,
        }
    }

    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }

    /// `r`'s content, decompressed as it is read.
    fn decoder<'a>(
        self,
        r: impl BufRead + Send + 'a,
    ) -> std::io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
            Codec::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(r)),
            Codec::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(r)),
        })
    }
}

/// `r` as a buffered reader of its content: decompressed when its first bytes are those
/// of a compressed format (which is returned), else as it is.
pub fn wrap<'a>(
    mut r: impl Read + Send + 'a,
) -> std::io::Result<(Box<dyn BufRead + Send + 'a>, Option<Codec>)> {
    // A pipe may give fewer bytes than asked: read until the head is full or input ends.
    let mut head = Vec::with_capacity(HEAD);
    (&mut r).take(HEAD as u64).read_to_end(&mut head)?;
    let codec = Codec::sniff(&head);
    let whole = BufReader::with_capacity(1 << 16, Cursor::new(head).chain(r));
    Ok(match codec {
        Some(c) => (
            Box::new(BufReader::with_capacity(1 << 16, c.decoder(whole)?)),
            Some(c),
        ),
        None => (Box::new(whole), None),
    })
}

/// Opens `path` for reading its content (decompressed if it is compressed).
pub fn open(path: &std::path::Path) -> std::io::Result<(Box<dyn BufRead + Send>, Option<Codec>)> {
    wrap(std::fs::File::open(path)?)
}

/// The compression format of the file at `path`, from its first bytes.
pub fn sniff_file(path: &std::path::Path) -> std::io::Result<Option<Codec>> {
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(&mut head)?;
    Ok(Codec::sniff(&head))
}

/// Reads all of `r` (decompressed if compressed) into memory, at most `max` bytes of content
/// (0: no limit); `Ok(Err(n))` when the content is longer than `max` (`n`: bytes read
/// before stopping, more than `max`).
pub fn read_all(r: impl Read + Send, max: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let (mut content, _) = wrap(r)?;
    let mut buf = Vec::new();
    let limit = if max > 0 { max + 1 } else { u64::MAX };
    (&mut content).take(limit).read_to_end(&mut buf)?;
    if max > 0 && buf.len() as u64 > max {
        return Ok(Err(buf.len() as u64));
    }
    Ok(Ok(buf))
}

/// `path`'s extension, looking through a compression suffix (`page.html.gz` → `html`).
pub fn inner_extension(path: &std::path::Path) -> Option<&str> {
    let ext = path.extension()?.to_str()?;
    if SUFFIXES.contains(&ext) {
        let stem = std::path::Path::new(path.file_stem()?);
        return stem.extension()?.to_str();
    }
    Some(ext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The seeds' first text, compressed by each codec's own encoder.
    fn compressed(text: &[u8]) -> Vec<(Codec, Vec<u8>)> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(text).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(text).unwrap();
        vec![
            (Codec::Gzip, gz.finish().unwrap()),
            (Codec::Zstd, zstd::encode_all(text, 3).unwrap()),
            (Codec::Bzip2, bz.finish().unwrap()),
            (Codec::Xz, xz.finish().unwrap()),
        ]
    }

    fn seed() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../seeds/000_c5a5ed7731ad6cab.txt"
        ))
        .unwrap()
    }

    #[test]
    fn every_codec_is_recognised_by_its_bytes_and_read_back_exactly() {
        let text = seed();
        for (codec, bytes) in compressed(&text) {
            assert_eq!(Codec::sniff(&bytes), Some(codec), "{}", codec.name());
            let (mut r, c) = wrap(&bytes[..]).unwrap();
            assert_eq!(c, Some(codec));
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, text, "{}", codec.name());
            // Two members, frames or streams one after another read as one text.
            let twice = [&bytes[..], &bytes[..]].concat();
            let (mut r, _) = wrap(&twice[..]).unwrap();
            out.clear();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(
                out,
                [text.clone(), text.clone()].concat(),
                "{}",
                codec.name()
            );
        }
    }

    #[test]
    fn text_is_read_as_it_is_even_when_it_starts_like_a_magic() {
        let seed = seed();
        for text in [&b"BZh9 is not bzip2"[..], b"", b"x", &seed] {
            let (mut r, c) = wrap(text).unwrap();
            assert_eq!(c, None);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error_and_the_size_limit_holds_on_the_content() {
        let text = seed();
        for (codec, bytes) in compressed(&text) {
            let cut = &bytes[..bytes.len() / 2];
            assert!(read_all(cut, 0).is_err(), "{}", codec.name());
            assert_eq!(read_all(&bytes[..], 0).unwrap().unwrap(), text);
            let over = read_all(&bytes[..], 100).unwrap();
            assert!(matches!(over, Err(n) if n > 100), "{}", codec.name());
        }
    }

    #[test]
    fn extensions_look_through_compression_suffixes() {
        let ext = |p: &str| inner_extension(std::path::Path::new(p)).map(String::from);
        assert_eq!(ext("a/page.html.gz").as_deref(), Some("html"));
        assert_eq!(ext("x.jsonl.zst").as_deref(), Some("jsonl"));
        assert_eq!(ext("x.txt").as_deref(), Some("txt"));
        assert_eq!(ext("x.gz"), None);
    }
}
