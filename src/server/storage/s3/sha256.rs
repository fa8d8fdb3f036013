//! A SHA-256 whose state can be written down and picked up again by
//! another process: the eight state words, the length so far and the
//! bytes of an unfinished block. An upload's state object carries it, so
//! that whichever replica receives the next PATCH continues the hash where
//! the last one stopped, without reading back what was stored. `sha2` keeps
//! its own state private, but exposes the compression function (with the
//! CPU's SHA extensions), which is all a resumable hasher needs. Pure.

use crate::digest::{Algorithm, Digest};
use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::GenericArray;

const INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const BLOCK: usize = 64;

/// A resumable SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha256 {
    state: [u32; 8],
    /// Bytes hashed so far, the unfinished block included.
    len: u64,
    /// The unfinished block (fewer than 64 bytes).
    tail: Vec<u8>,
}

/// The written-down form: hex words and tail, so it reads in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    state: String,
    len: u64,
    tail: String,
}

impl Default for Sha256 {
    fn default() -> Sha256 {
        Sha256::new()
    }
}

impl Sha256 {
    pub fn new() -> Sha256 {
        Sha256 {
            state: INITIAL,
            len: 0,
            tail: Vec::with_capacity(BLOCK),
        }
    }

    /// Bytes hashed so far.
    pub fn hashed(&self) -> u64 {
        self.len
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if !self.tail.is_empty() {
            let take = (BLOCK - self.tail.len()).min(bytes.len());
            self.tail.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.tail.len() < BLOCK {
                return;
            }
            let block = *GenericArray::from_slice(&self.tail);
            sha2::compress256(&mut self.state, &[block]);
            self.tail.clear();
        }
        let whole = bytes.len() / BLOCK * BLOCK;
        if whole > 0 {
            let blocks: Vec<GenericArray<u8, _>> = bytes[..whole]
                .chunks_exact(BLOCK)
                .map(|chunk| *GenericArray::from_slice(chunk))
                .collect();
            sha2::compress256(&mut self.state, &blocks);
        }
        self.tail.extend_from_slice(&bytes[whole..]);
    }

    /// The digest of everything hashed so far.
    pub fn finish(&self) -> Digest {
        let mut state = self.state;
        let mut last = self.tail.clone();
        last.push(0x80);
        while last.len() % BLOCK != BLOCK - 8 {
            last.push(0);
        }
        last.extend_from_slice(&(self.len * 8).to_be_bytes());
        let blocks: Vec<GenericArray<u8, _>> = last
            .chunks_exact(BLOCK)
            .map(|chunk| *GenericArray::from_slice(chunk))
            .collect();
        sha2::compress256(&mut state, &blocks);
        let bytes: Vec<u8> = state.iter().flat_map(|word| word.to_be_bytes()).collect();
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(bytes),
        }
    }

    pub fn save(&self) -> Saved {
        let words: Vec<u8> = self
            .state
            .iter()
            .flat_map(|word| word.to_be_bytes())
            .collect();
        Saved {
            state: hex::encode(words),
            len: self.len,
            tail: hex::encode(&self.tail),
        }
    }

    /// Pick a saved state up again; `None` when it is not one.
    pub fn resume(saved: &Saved) -> Option<Sha256> {
        let words = hex::decode(&saved.state).ok()?;
        let tail = hex::decode(&saved.tail).ok()?;
        if words.len() != 32 || tail.len() >= BLOCK || saved.len % BLOCK as u64 != tail.len() as u64
        {
            return None;
        }
        let mut state = [0u32; 8];
        for (word, bytes) in state.iter_mut().zip(words.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Some(Sha256 {
            state,
            len: saved.len,
            tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sha2_across_saves_at_every_boundary() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 500, 999, 1000] {
            let mut first = Sha256::new();
            first.update(&data[..split]);
            let saved = serde_json::to_string(&first.save()).unwrap();
            let mut second = Sha256::resume(&serde_json::from_str(&saved).unwrap()).unwrap();
            for chunk in data[split..].chunks(37) {
                second.update(chunk);
            }
            assert_eq!(
                second.finish(),
                Digest::sha256_of(&data),
                "split at {split}"
            );
            assert_eq!(second.hashed(), 1000);
        }
        assert_eq!(Sha256::new().finish(), Digest::sha256_of(b""));
    }

    #[test]
    fn damaged_states_are_refused() {
        let mut hasher = Sha256::new();
        hasher.update(b"abc");
        let mut saved = hasher.save();
        saved.len = 4;
        assert!(Sha256::resume(&saved).is_none());
        saved.len = 3;
        saved.state.pop();
        assert!(Sha256::resume(&saved).is_none());
    }
}
