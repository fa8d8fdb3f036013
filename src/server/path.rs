//! The pure path parser behind the one catch-all `/v2/{*rest}` route:
//! turns the part after `/v2/` into a [`Route`] with a validated repository
//! name of any depth, a digest or a tag. It does no I/O and knows nothing of
//! auth or storage; the router acts on what it returns.
//!
//! Repository names contain slashes, so the parser works from the right: the
//! trailing `manifests/<ref>`, `blobs/<digest>`, `blobs/uploads/[<id>]`,
//! `tags/list` or `referrers/<digest>` decides the route and everything in
//! front of it is the name.

use super::error::Error;
use crate::digest::Digest;
use crate::reference;

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    Tag(String),
    Digest(Digest),
}

impl ManifestRef {
    pub fn parse(text: &str) -> Result<ManifestRef, Error> {
        if text.contains(':') {
            parse_digest(text).map(ManifestRef::Digest)
        } else {
            reference::validate_tag(text)
                .map_err(|_| Error::TagInvalid(text.to_owned()))
                .map(|()| ManifestRef::Tag(text.to_owned()))
        }
    }
}

/// A digest from a request path or query parameter; malformed, it is the
/// spec's `DIGEST_INVALID` naming the text as the client sent it.
pub fn parse_digest(text: &str) -> Result<Digest, Error> {
    Digest::parse(text).map_err(|_| Error::DigestInvalid(text.to_owned()))
}

impl std::fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestRef::Tag(tag) => f.write_str(tag),
            ManifestRef::Digest(digest) => write!(f, "{digest}"),
        }
    }
}

/// What a `/v2/…` path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags { name: String },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        name: String,
        reference: ManifestRef,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: String, digest: Digest },
    /// `/v2/<name>/blobs/uploads/`
    UploadStart { name: String },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: String, id: String },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: String, digest: Digest },
}

impl Route {
    /// The repository the route addresses, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Route::Base | Route::Catalog => None,
            Route::Tags { name }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::UploadStart { name }
            | Route::Upload { name, .. }
            | Route::Referrers { name, .. } => Some(name),
        }
    }

    /// Replace the repository name (for containerd's `ns` parameter).
    pub fn with_name(self, new: String) -> Route {
        match self {
            Route::Base | Route::Catalog => self,
            Route::Tags { .. } => Route::Tags { name: new },
            Route::Manifest { reference, .. } => Route::Manifest {
                name: new,
                reference,
            },
            Route::Blob { digest, .. } => Route::Blob { name: new, digest },
            Route::UploadStart { .. } => Route::UploadStart { name: new },
            Route::Upload { id, .. } => Route::Upload { name: new, id },
            Route::Referrers { digest, .. } => Route::Referrers { name: new, digest },
        }
    }
}

/// Parse the path after `/v2/` (already percent-decoded).
pub fn parse(rest: &str) -> Result<Route, Error> {
    if rest.is_empty() {
        return Ok(Route::Base);
    }
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let name_of = |len: usize| -> Result<String, Error> {
        let name = segments[..len].join("/");
        validate_name(&name)?;
        Ok(name)
    };
    if n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list" {
        return Ok(Route::Tags {
            name: name_of(n - 2)?,
        });
    }
    if n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads" {
        return Ok(Route::UploadStart {
            name: name_of(n - 2)?,
        });
    }
    if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        let name = name_of(n - 3)?;
        let id = segments[n - 1];
        if id.is_empty() {
            return Ok(Route::UploadStart { name });
        }
        if !valid_upload_id(id) {
            return Err(Error::UploadUnknown(id.to_owned()));
        }
        return Ok(Route::Upload {
            name,
            id: id.to_owned(),
        });
    }
    if n >= 3 {
        let last = segments[n - 1];
        match segments[n - 2] {
            "manifests" => {
                let name = name_of(n - 2)?;
                let reference = ManifestRef::parse(last)?;
                return Ok(Route::Manifest { name, reference });
            }
            "blobs" => {
                let name = name_of(n - 2)?;
                return Ok(Route::Blob {
                    name,
                    digest: parse_digest(last)?,
                });
            }
            "referrers" => {
                let name = name_of(n - 2)?;
                return Ok(Route::Referrers {
                    name,
                    digest: parse_digest(last)?,
                });
            }
            _ => {}
        }
    }
    Err(Error::NotFound)
}

/// A repository name as the spec defines it (lower case, no empty or `..`
/// segments, at most 255 characters).
pub fn validate_name(name: &str) -> Result<(), Error> {
    reference::validate_path(name).map_err(|_| Error::NameInvalid(name.to_owned()))
}

/// Upload ids are the 32 lower-case hex digits this server hands out.
pub fn valid_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Decode `%XX` escapes (some clients escape the `:` of a digest).
pub fn percent_decode(path: &str) -> Result<String, Error> {
    if !path.contains('%') {
        return Ok(path.to_owned());
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3).ok_or(Error::NotFound)?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| Error::NotFound)?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn digest() -> Digest {
        Digest::parse(D).unwrap()
    }

    #[test]
    fn routes_of_any_depth() {
        let cases = [
            ("", Route::Base),
            ("_catalog", Route::Catalog),
            ("a/tags/list", Route::Tags { name: "a".into() }),
            (
                "quay.io/org/deep/img/tags/list",
                Route::Tags {
                    name: "quay.io/org/deep/img".into(),
                },
            ),
            (
                "library/busybox/manifests/latest",
                Route::Manifest {
                    name: "library/busybox".into(),
                    reference: ManifestRef::Tag("latest".into()),
                },
            ),
            (
                &format!("a/b/c/d/e/f/g/h/manifests/{D}"),
                Route::Manifest {
                    name: "a/b/c/d/e/f/g/h".into(),
                    reference: ManifestRef::Digest(digest()),
                },
            ),
            (
                &format!("org/blobs/blobs/{D}"),
                Route::Blob {
                    name: "org/blobs".into(),
                    digest: digest(),
                },
            ),
            (
                "org/app/blobs/uploads/",
                Route::UploadStart {
                    name: "org/app".into(),
                },
            ),
            (
                "org/app/blobs/uploads",
                Route::UploadStart {
                    name: "org/app".into(),
                },
            ),
            (
                "org/app/blobs/uploads/0123456789abcdef0123456789abcdef",
                Route::Upload {
                    name: "org/app".into(),
                    id: "0123456789abcdef0123456789abcdef".into(),
                },
            ),
            (
                &format!("org/app/referrers/{D}"),
                Route::Referrers {
                    name: "org/app".into(),
                    digest: digest(),
                },
            ),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn bad_names_are_name_invalid() {
        for path in [
            "../etc/manifests/latest",
            "a/../b/manifests/latest",
            "Org/app/manifests/latest",
            "org//app/manifests/latest",
            "/org/app/tags/list",
            "org/app./manifests/latest",
            "_org/app/tags/list",
        ] {
            assert!(
                matches!(parse(path), Err(Error::NameInvalid(_))),
                "{path}: {:?}",
                parse(path)
            );
        }
    }

    #[test]
    fn bad_references() {
        assert!(matches!(
            parse("a/manifests/sha256:abc"),
            Err(Error::DigestInvalid(_))
        ));
        assert!(matches!(
            parse("a/blobs/latest"),
            Err(Error::DigestInvalid(_))
        ));
        assert!(matches!(
            parse("a/manifests/-bad"),
            Err(Error::TagInvalid(_))
        ));
        assert!(parse("a/blobs/uploads/../../x").is_err());
        assert!(matches!(
            parse("a/../blobs/uploads/0123456789abcdef0123456789abcdef"),
            Err(Error::NameInvalid(_))
        ));
        assert!(matches!(
            parse("a/blobs/uploads/nothex"),
            Err(Error::UploadUnknown(_))
        ));
        assert!(matches!(parse("a"), Err(Error::NotFound)));
        assert!(matches!(parse("a/unknown/x"), Err(Error::NotFound)));
    }

    #[test]
    fn percent_escapes() {
        assert_eq!(
            percent_decode("a/blobs/sha256%3Aab").unwrap(),
            "a/blobs/sha256:ab"
        );
        assert!(percent_decode("a%zz").is_err());
    }
}
