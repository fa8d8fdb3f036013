//! Content digests (`sha256:` and `sha512:`) and the incremental hasher that
//! blobs and manifests are fed through as their bytes stream by. Both the
//! registry client and the embedded registry use these types. Pure: no I/O,
//! and no knowledge of HTTP; a malformed digest is an input error
//! ([`reference::Error::Digest`], exit 2) that callers map to their own
//! error where they need one.

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

    /// The algorithm named by `digest`'s prefix (`sha256:…` or `sha512:…`),
    /// whether or not the hex after it is valid.
    pub fn of(digest: &str) -> Option<Algorithm> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
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
    pub fn parse(text: &str) -> Result<Digest, reference::Error> {
        reference::validate_digest(text)?;
        let invalid = || reference::Error::Digest(text.to_owned());
        let algorithm = Algorithm::of(text).ok_or_else(invalid)?;
        let (_, hex) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Digest::of(self.algorithm, bytes) == *self
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

    #[test]
    fn parse_errors_are_input_errors_naming_the_text() {
        for bad in ["sha256:", "md5:00", "sha256:E3B0", "sha256"] {
            assert_eq!(
                Digest::parse(bad),
                Err(reference::Error::Digest(bad.to_owned()))
            );
        }
    }

    #[test]
    fn algorithm_from_prefix() {
        assert_eq!(Algorithm::of("sha256:"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::of("sha512:abc"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::of("md5:abc"), None);
        assert_eq!(Algorithm::of("sha256"), None);
        assert_eq!(Algorithm::of(""), None);
    }

    #[test]
    fn incremental_hashing_matches_one_shot() {
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let mut hasher = Hasher::new(algorithm);
            assert_eq!(hasher.algorithm(), algorithm);
            hasher.update(b"hello ");
            let mut whole = Hasher::new(algorithm);
            whole.update(b"hello ");
            assert_eq!(hasher.peek(), whole.finish(), "peek leaves it usable");
            hasher.update(b"world");
            let mut whole = Hasher::new(algorithm);
            whole.update(b"hello world");
            let digest = hasher.finish();
            assert_eq!(digest, whole.finish());
            assert_eq!(digest.algorithm, algorithm);
            assert!(digest.matches(b"hello world"));
        }
        let mut sha512 = Hasher::new(Algorithm::Sha512);
        sha512.update(b"abc");
        assert_eq!(
            sha512.finish().to_string(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }
}
