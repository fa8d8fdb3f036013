//! Tags through the distribution API: point a tag at a manifest that is
//! already in the repository (PUT of its exact bytes, then a HEAD that
//! proves the tag holds that digest), and delete a tag by its name
//! (`DELETE /v2/<name>/manifests/<tag>`, which OCI registries may refuse).
//!
//! Never deletes by digest: a digest DELETE removes the manifest, and with
//! it every other tag that points at it (the final tag of a promotion).

use super::Error;
use super::auth::Scopes;
use super::client::Registry;
use super::manifests::Manifest;
use reqwest::{Method, StatusCode};

impl Registry {
    /// Tag `manifest` (fetched from the same repository) as `tag` and check
    /// that the registry now answers `tag` with its digest. Moves no blob:
    /// the manifest's children are in the repository already.
    pub async fn retag(
        &self,
        repository: &str,
        manifest: &Manifest,
        tag: &str,
    ) -> Result<(), Error> {
        let scopes = Scopes::push(repository);
        self.put_manifest(repository, tag, manifest, &scopes)
            .await?;
        let stored = self.manifest_digest(repository, tag, &scopes).await?;
        match stored {
            Some(digest) if digest == manifest.digest => Ok(()),
            other => Err(Error::DigestMismatch {
                what: format!("{}/{repository}:{tag} after retagging", self.address()),
                expected: manifest.digest.to_string(),
                actual: other.map_or_else(|| "no digest".to_owned(), |d| d.to_string()),
            }),
        }
    }

    /// Delete the tag `tag` (not the manifest it points at).
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), Error> {
        debug_assert!(!tag.contains(':'), "a tag, never a digest");
        let url = self.url(&format!("{repository}/manifests/{tag}"));
        let response = self
            .send(Method::DELETE, &url, &Scopes::delete(repository), |r| r)
            .await?;
        self.expect(
            &Method::DELETE,
            &url,
            response,
            &[StatusCode::ACCEPTED, StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
        .map(drop)
    }
}
