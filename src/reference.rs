//! Image references and the pieces they are made of: registry hosts (with
//! ports and IPv6 literals), repository paths, tags and digests, docker.io
//! normalisation and the buildset-registry storage path.
//!
//! Pure functions only: no I/O, no knowledge of Zuul variables. Errors here
//! are input errors (exit 2) and name the offending text.

use std::fmt;
use thiserror::Error;

/// The registry docker assumes for names without a host.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("invalid image reference `{reference}`: {reason}")]
    Reference { reference: String, reason: String },
    #[error("invalid repository `{repository}`: {reason}")]
    Repository { repository: String, reason: String },
    #[error(
        "invalid tag `{0}`: a tag is 1 to 128 characters of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
    )]
    Tag(String),
    #[error(
        "invalid digest `{0}`: expected `sha256:` and 64 lower-case hex digits, or `sha512:` and 128"
    )]
    Digest(String),
    #[error("invalid registry host `{0}`: expected a name or IP address, optionally with `:port`")]
    Host(String),
}

impl crate::exit::Classify for Error {
    /// References come from the user (variables, artifacts, flags).
    fn is_input(&self) -> bool {
        true
    }
}

/// Whether a first path segment names a registry host (docker's rule).
pub fn is_registry_host(segment: &str) -> bool {
    segment.contains('.') || segment.contains(':') || segment == "localhost"
}

/// Check one repository path (`org/app`, `quay.io/org/app` without the host
/// is checked by the caller). Components are lower-case alphanumerics joined
/// by `.`, `_`, `__` or runs of `-`, as in the distribution spec.
pub fn validate_path(path: &str) -> Result<(), Error> {
    let fail = |reason: &str| Error::Repository {
        repository: path.to_owned(),
        reason: reason.to_owned(),
    };
    if path.is_empty() {
        return Err(fail("it is empty"));
    }
    if path.len() > 255 {
        return Err(fail("it is longer than 255 characters"));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(fail("it has an empty path segment"));
        }
        if !valid_component(component) {
            return Err(fail(&format!(
                "segment `{component}` must be lower-case letters and digits, separated by `.`, `_`, `__` or `-`"
            )));
        }
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let dashes = sep.bytes().all(|b| b == b'-');
        if !(sep == "." || sep == "_" || sep == "__" || dashes) {
            return false;
        }
    }
    true
}

/// Check a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), Error> {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Tag(tag.to_owned()))
    }
}

/// Check a digest: `sha256:<64 hex>` or `sha512:<128 hex>`, lower case.
pub fn validate_digest(digest: &str) -> Result<(), Error> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| Error::Digest(digest.to_owned()))?;
    let len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(Error::Digest(digest.to_owned())),
    };
    let ok = hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Digest(digest.to_owned()))
    }
}

/// Check a registry host: a DNS name, an IPv4 address or a bracketed IPv6
/// literal, with an optional port.
pub fn validate_host(host: &str) -> Result<(), Error> {
    let fail = || Error::Host(host.to_owned());
    let (name, port) = split_host_port(host).ok_or_else(fail)?;
    if let Some(port) = port {
        port.parse::<u16>().map_err(|_| fail())?;
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let dns_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if dns_ok { Ok(()) } else { Err(fail()) }
}

/// Split `host:port`, `[v6]:port`, `[v6]` or `host`; IPv6 brackets removed.
fn split_host_port(host: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = host.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((inner, None)),
            _ => Some((inner, Some(after.strip_prefix(':')?))),
        };
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some((host, None));
    }
    match host.rsplit_once(':') {
        Some((name, port)) => Some((name, Some(port))),
        None => Some((host, None)),
    }
}

/// Wrap an IPv6 address in brackets; anything else is returned unchanged
/// (the roles' `ipwrap`).
pub fn ipwrap(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `host:port` with IPv6 literals bracketed.
pub fn host_port(host: &str, port: u16) -> String {
    format!("{}:{port}", ipwrap(host))
}

/// Whether a host (without port) is an IP address, v4 or v6, bracketed or not.
pub fn is_ip(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok()
}

/// Where a repository lives in the buildset registry: a leading `docker.io/`
/// is dropped, a one-segment docker.io name gets `library/`, and any other
/// registry keeps its host as the first segment (`quay.io/org/img`).
pub fn buildset_path(repository: &str) -> String {
    let repository = repository
        .strip_prefix("docker.io/")
        .or_else(|| repository.strip_prefix("index.docker.io/"))
        .or_else(|| repository.strip_prefix("registry-1.docker.io/"))
        .unwrap_or(repository);
    match repository.split_once('/') {
        None => format!("library/{repository}"),
        Some(_) => repository.to_owned(),
    }
}

/// A parsed image reference: `[host[:port]/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host as written (`quay.io`, `127.0.0.1:5000`,
    /// `[::1]:5000`); `docker.io` when the name has none.
    pub registry: String,
    /// The repository path inside the registry (`library/busybox` for a
    /// one-segment docker.io name).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Parse a reference; a `docker://` prefix (artifact URLs, skopeo
    /// transports) is accepted and dropped.
    pub fn parse(text: &str) -> Result<Reference, Error> {
        let fail = |reason: &str| Error::Reference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        let input = text.strip_prefix("docker://").unwrap_or(text);
        if input.is_empty() {
            return Err(fail("it is empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest).map_err(|err| fail(&err.to_string()))?;
                (rest, Some(digest.to_owned()))
            }
            None => (input, None),
        };
        // The tag follows the last `:` after the last `/` (a port is before it).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                let tag = &rest[at + 1..];
                validate_tag(tag).map_err(|err| fail(&err.to_string()))?;
                (&rest[..at], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, path)) if is_registry_host(first) || first.starts_with('[') => {
                validate_host(first).map_err(|err| fail(&err.to_string()))?;
                (first.to_owned(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        validate_path(&path).map_err(|err| fail(&err.to_string()))?;
        Ok(Reference {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// The tag or digest to ask a registry for: digest first, then tag,
    /// then `latest`.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildset_paths() {
        for (repository, want) in [
            ("example/base", "example/base"),
            ("docker.io/example/base", "example/base"),
            ("docker.io/busybox", "library/busybox"),
            ("busybox", "library/busybox"),
            ("library/busybox", "library/busybox"),
            ("quay.io/org/img", "quay.io/org/img"),
            ("localhost:5000/org/img", "localhost:5000/org/img"),
            ("registry.k8s.io/pause", "registry.k8s.io/pause"),
        ] {
            assert_eq!(buildset_path(repository), want, "{repository}");
        }
    }

    #[test]
    fn parses_references() {
        let cases = [
            ("busybox", "docker.io", "library/busybox", None, None),
            ("org/app:v1", "docker.io", "org/app", Some("v1"), None),
            (
                "quay.io/org/img:3.12",
                "quay.io",
                "org/img",
                Some("3.12"),
                None,
            ),
            ("localhost/img", "localhost", "img", None, None),
            (
                "127.0.0.1:5000/a/b/c:t",
                "127.0.0.1:5000",
                "a/b/c",
                Some("t"),
                None,
            ),
            (
                "[::1]:5000/org/img:t",
                "[::1]:5000",
                "org/img",
                Some("t"),
                None,
            ),
            (
                "docker://reg.example.org:5000/example/base:abc_latest",
                "reg.example.org:5000",
                "example/base",
                Some("abc_latest"),
                None,
            ),
        ];
        for (text, registry, path, tag, digest) in cases {
            let parsed = Reference::parse(text).unwrap();
            assert_eq!(parsed.registry, registry, "{text}");
            assert_eq!(parsed.path, path, "{text}");
            assert_eq!(parsed.tag.as_deref(), tag, "{text}");
            assert_eq!(parsed.digest.as_deref(), digest, "{text}");
        }
        let digest = format!("sha256:{}", "a".repeat(64));
        let parsed = Reference::parse(&format!("org/app@{digest}")).unwrap();
        assert_eq!(parsed.manifest_ref(), digest);
    }

    #[test]
    fn rejects_bad_references() {
        for text in [
            "",
            "Org/App",
            "org//app",
            "org/app:",
            "org/app:-bad",
            "org/app@sha256:abc",
            "org/../app",
            "reg:99999/org/app",
        ] {
            assert!(Reference::parse(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn tags_and_digests() {
        for tag in ["latest", "v1.2.3", "change_1003_latest", "_x", "A-b.C"] {
            assert!(validate_tag(tag).is_ok(), "{tag}");
        }
        for tag in ["", ".x", "-x", "a b", "a/b", &"x".repeat(129)] {
            assert!(validate_tag(tag).is_err(), "{tag}");
        }
        assert!(validate_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        assert!(validate_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(validate_digest("md5:abc").is_err());
    }

    #[test]
    fn hosts_and_ipwrap() {
        assert_eq!(ipwrap("fd00::1"), "[fd00::1]");
        assert_eq!(ipwrap("10.0.0.1"), "10.0.0.1");
        assert_eq!(host_port("::1", 5000), "[::1]:5000");
        assert!(is_ip("203.0.113.10") && is_ip("fd00::1") && is_ip("[::1]"));
        assert!(!is_ip("registry.example.org"));
        for host in [
            "reg.example.org",
            "reg:5000",
            "[::1]:5000",
            "10.0.0.1",
            "fd00::1",
        ] {
            assert!(validate_host(host).is_ok(), "{host}");
        }
        for host in ["", "bad host", "-x.org", "reg:port", "[zz]:1"] {
            assert!(validate_host(host).is_err(), "{host}");
        }
    }
}
