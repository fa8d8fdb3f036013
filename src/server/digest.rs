//! Content digests (`sha256:` and `sha512:`) and the incremental hasher that
//! uploads feed as bytes stream through. Pure: no I/O.

use super::error::Error;
use crate::reference;
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// A validated digest: algorithm and lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl Digest {
    pub fn parse(text: &str) -> Result<Digest, Error> {
        reference::validate_digest(text).map_err(|_| Error::DigestInvalid(text.to_owned()))?;
        let (algorithm, hex) = text
            .split_once(':')
            .ok_or_else(|| Error::DigestInvalid(text.to_owned()))?;
        let algorithm = match algorithm {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(Error::DigestInvalid(text.to_owned())),
        };
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut hasher = Hasher::new(self.algorithm);
        hasher.update(bytes);
        hasher.finish() == *self
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

/// An incremental hasher for one algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Box<Sha512>),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Box::new(Sha512::new())),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(hasher) => hasher.update(bytes),
            Hasher::Sha512(hasher) => hasher.update(bytes),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// The digest so far, leaving the hasher usable.
    pub fn peek(&self) -> Digest {
        self.clone().finish()
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(hasher) => (Algorithm::Sha256, hex::encode(hasher.finalize())),
            Hasher::Sha512(hasher) => (Algorithm::Sha512, hex::encode(hasher.finalize())),
        };
        Digest { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_hash() {
        let empty = Digest::sha256_of(b"");
        assert_eq!(
            empty.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(&empty.to_string()).unwrap(), empty);
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"a");
        let d = h.finish();
        assert!(d.matches(b"a"));
        assert!(!d.matches(b"b"));
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        for bad in ["sha256:", "md5:00", "sha256:E3B0", "sha256"] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
