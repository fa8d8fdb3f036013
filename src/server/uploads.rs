//! What every store's uploads share: the `Content-Range` of a PATCH, new
//! upload ids, and the hashing of whole files and byte streams. The
//! sessions themselves live with each store (`storage::fs::uploads`,
//! `storage::s3::uploads`), because where their state lives is what
//! differs. Pure apart from reading files for [`hash_file`].

use super::error::{Error, Result};
use crate::digest::{Algorithm, Digest, Hasher};
use std::io::Read;

/// Bytes read at a time when hashing a file.
const CHUNK: usize = 1 << 20;

/// A `Content-Range: <start>-<end>` of a PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub start: u64,
    pub end: u64,
}

impl ChunkRange {
    pub fn parse(text: &str) -> Result<ChunkRange> {
        let bad = || Error::UploadInvalid(format!("malformed Content-Range `{text}`"));
        let text = text.trim();
        let text = text
            .strip_prefix("bytes=")
            .or_else(|| text.strip_prefix("bytes "))
            .unwrap_or(text);
        let text = text.split('/').next().unwrap_or(text);
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let start = start.trim().parse::<u64>().map_err(|_| bad())?;
        let end = end.trim().parse::<u64>().map_err(|_| bad())?;
        if end < start {
            return Err(bad());
        }
        Ok(ChunkRange { start, end })
    }

    /// How many bytes the range announces.
    pub fn announced(&self) -> u64 {
        self.end - self.start + 1
    }

    /// The error for a body of `written` bytes that is not [`Self::len`].
    pub fn mismatch(&self, written: u64) -> Error {
        Error::UploadInvalid(format!(
            "Content-Range `{}-{}` announced {} bytes but the body held {written}",
            self.start,
            self.end,
            self.announced()
        ))
    }
}

/// A fresh upload id: 32 lower-case hex digits (what `path` accepts).
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// The digest of everything `reader` yields, with `algorithm`.
pub fn hash_reader(mut reader: impl Read, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut hasher = Hasher::new(algorithm);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

/// The digest of a whole file with `algorithm`.
pub fn hash_file(path: &std::path::Path, algorithm: Algorithm) -> std::io::Result<Digest> {
    hash_reader(std::fs::File::open(path)?, algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            ChunkRange::parse("0-9").unwrap(),
            ChunkRange { start: 0, end: 9 }
        );
        assert_eq!(
            ChunkRange::parse("bytes=10-19").unwrap(),
            ChunkRange { start: 10, end: 19 }
        );
        assert_eq!(ChunkRange::parse("bytes 0-4/5").unwrap().announced(), 5);
        assert!(ChunkRange::parse("9-0").is_err());
        assert!(ChunkRange::parse("x").is_err());
    }

    #[test]
    fn ids_are_what_the_path_parser_takes() {
        let id = new_id();
        assert!(crate::server::path::valid_upload_id(&id), "{id}");
        assert_ne!(id, new_id());
    }
}
