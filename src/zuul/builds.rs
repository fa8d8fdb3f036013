//! Zuul's builds API as `promote-image --method intermediate-registry`
//! reads it: the query that finds the gate build of this change
//! (`<promote_container_image_api>/builds?<query>`) and, from Zuul's
//! answer (a JSON list of builds, newest first), the map from
//! `<repository>:<tag>` to the `docker://` URL of that build's
//! `container_image` artifacts — `promote-container-image`'s rule.
//!
//! Pure: the request itself is the command's.

use crate::reference::Reference;
use crate::zuul::artifacts::CONTAINER_IMAGE;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why Zuul's answer cannot be used (an operation failure: exit 1).
#[derive(Debug, Error)]
pub enum Error {
    #[error("Zuul's answer to `{url}` is not a list of builds: {message}")]
    NotBuilds { url: String, message: String },
    #[error("no build matched `{url}`: has the gate build of this change reported yet?")]
    NoBuild { url: String },
    #[error(
        "artifact `{name}` of build `{build}` has an image URL `{url}` that is not `docker://<registry>/<repository>:<tag>`: {message}"
    )]
    BadUrl {
        build: String,
        name: String,
        url: String,
        message: String,
    },
    #[error("build `{build}` (`{job}`) has no `container_image` artifact for `{image}`")]
    NoArtifact {
        build: String,
        job: String,
        image: String,
    },
}

/// `promote_container_image_query`'s default:
/// `change=…&patchset=…&pipeline=…&job_name=…`, each value URL-encoded.
pub fn default_query(change: &str, patchset: &str, pipeline: &str, job: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("change", change)
        .append_pair("patchset", patchset)
        .append_pair("pipeline", pipeline)
        .append_pair("job_name", job)
        .finish()
}

/// `<api>/builds?<query>`.
pub fn builds_url(api: &str, query: &str) -> String {
    format!(
        "{}/builds?{}",
        api.trim_end_matches('/'),
        query.trim_start_matches('?')
    )
}

/// One build of the answer, as far as it is read.
#[derive(Debug, Deserialize)]
struct Build {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    job_name: Option<String>,
    #[serde(default)]
    artifacts: Vec<RawArtifact>,
}

#[derive(Debug, Deserialize)]
struct RawArtifact {
    name: String,
    url: String,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

/// The gate build's images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateImages {
    pub build: String,
    pub job: String,
    /// `<repository>:<tag>` → where the image is.
    pub images: BTreeMap<String, Reference>,
}

impl GateImages {
    /// The first (newest) build of Zuul's answer to `url` and its
    /// `container_image` artifacts keyed by `metadata.repository:metadata.tag`.
    /// Artifacts of another type, or without both keys, are not images.
    pub fn from_answer(url: &str, answer: &Value) -> Result<GateImages, Error> {
        let builds: Vec<Build> =
            serde_json::from_value(answer.clone()).map_err(|err| Error::NotBuilds {
                url: url.to_owned(),
                message: err.to_string(),
            })?;
        let first = builds.into_iter().next().ok_or_else(|| Error::NoBuild {
            url: url.to_owned(),
        })?;
        let build = first.uuid.unwrap_or_else(|| "?".to_owned());
        let mut images = BTreeMap::new();
        for artifact in first.artifacts {
            let Some(metadata) = &artifact.metadata else {
                continue;
            };
            let text = |key: &str| metadata.get(key).and_then(Value::as_str);
            if text("type") != Some(CONTAINER_IMAGE) {
                continue;
            }
            let (Some(repository), Some(tag)) = (text("repository"), text("tag")) else {
                continue;
            };
            let bad = |message: String| Error::BadUrl {
                build: build.clone(),
                name: artifact.name.clone(),
                url: artifact.url.clone(),
                message,
            };
            if !artifact.url.starts_with("docker://") {
                return Err(bad("it does not start with `docker://`".into()));
            }
            let source = Reference::parse(&artifact.url).map_err(|err| bad(err.to_string()))?;
            if source.tag.is_none() && source.digest.is_none() {
                return Err(bad("it names no tag".into()));
            }
            images.insert(format!("{repository}:{tag}"), source);
        }
        Ok(GateImages {
            build,
            job: first.job_name.unwrap_or_default(),
            images,
        })
    }

    /// Where `repository:tag` is.
    pub fn source(&self, repository: &str, tag: &str) -> Result<&Reference, Error> {
        let image = format!("{repository}:{tag}");
        self.images.get(&image).ok_or_else(|| Error::NoArtifact {
            build: self.build.clone(),
            job: self.job.clone(),
            image,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An answer of `GET /api/tenant/example/builds?change=1003&patchset=2&pipeline=gate&job_name=upload-image`
    /// in the shape Zuul 14's `buildToDict` gives it: newest build first.
    fn answer() -> Value {
        let artifact = |repository: &str, tag: &str, url: &str| {
            json!({"name": format!("{repository}:{tag}"), "url": url,
                   "metadata": {"type": "container_image", "repository": repository, "tag": tag}})
        };
        json!([
            {
                "_id": 412, "uuid": "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b", "job_name": "upload-image",
                "result": "SUCCESS", "held": false, "start_time": "2025-03-01T10:00:00",
                "end_time": "2025-03-01T10:04:10", "duration": 250.0, "voting": true,
                "log_url": "https://logs.example.org/03/1003/2/gate/upload-image/5e0c1d2/",
                "nodeset": "ubuntu-noble", "error_detail": null, "final": true,
                "artifacts": [
                    {"name": "Zuul Manifest", "url": "https://logs.example.org/03/1003/2/gate/upload-image/5e0c1d2/zuul-manifest.json",
                     "metadata": {"type": "zuul_manifest"}},
                    artifact("quay.io/example/app", "latest",
                             "docker://ireg.example.org:5000/quay.io/example/app:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_latest"),
                    artifact("quay.io/example/app", "3.12",
                             "docker://ireg.example.org:5000/quay.io/example/app:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_3.12"),
                    artifact("example/tool", "latest",
                             "docker://[fd00::5]:5000/example/tool:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_latest"),
                    {"name": "no metadata", "url": "https://example.org/x"},
                ],
                "provides": [{"name": "container-image"}],
                "ref": {"project": "example/app", "branch": "master", "change": 1003, "patchset": "2",
                        "ref": "refs/changes/03/1003/2", "oldrev": null, "newrev": null,
                        "ref_url": "https://review.example.org/1003"},
                "buildset": {"uuid": "a1b2c3"},
            },
            {
                "_id": 377, "uuid": "00000000000000000000000000000001", "job_name": "upload-image",
                "result": "FAILURE", "artifacts": [
                    artifact("quay.io/example/app", "latest", "docker://ireg.example.org:5000/quay.io/example/app:old_latest"),
                ],
            },
        ])
    }

    #[test]
    fn query_and_url() {
        let query = default_query("1003", "2", "gate", "upload image");
        assert_eq!(
            query,
            "change=1003&patchset=2&pipeline=gate&job_name=upload+image"
        );
        assert_eq!(
            builds_url("https://zuul.example.org/api/tenant/example/", &query),
            "https://zuul.example.org/api/tenant/example/builds?change=1003&patchset=2&pipeline=gate&job_name=upload+image"
        );
        assert_eq!(
            builds_url("https://z/api/tenant/t", "?a=1"),
            "https://z/api/tenant/t/builds?a=1"
        );
    }

    #[test]
    fn the_newest_builds_container_images() {
        let gate = GateImages::from_answer("u", &answer()).unwrap();
        assert_eq!(gate.build, "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b");
        assert_eq!(
            gate.images.keys().collect::<Vec<_>>(),
            [
                "example/tool:latest",
                "quay.io/example/app:3.12",
                "quay.io/example/app:latest"
            ]
        );
        let app = gate.source("quay.io/example/app", "latest").unwrap();
        assert_eq!(app.registry, "ireg.example.org:5000");
        assert_eq!(app.path, "quay.io/example/app");
        assert_eq!(
            app.tag.as_deref(),
            Some("5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_latest")
        );
        let tool = gate.source("example/tool", "latest").unwrap();
        assert_eq!(tool.registry, "[fd00::5]:5000");
        let err = gate
            .source("quay.io/example/app", "1.0")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "build `5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b` (`upload-image`) has no `container_image` artifact for `quay.io/example/app:1.0`"
        );
    }

    #[test]
    fn answers_that_cannot_be_used() {
        let err = GateImages::from_answer("u", &json!([])).unwrap_err();
        assert!(matches!(err, Error::NoBuild { .. }), "{err}");
        let err = GateImages::from_answer("u", &json!({"message": "not found"})).unwrap_err();
        assert!(matches!(err, Error::NotBuilds { .. }), "{err}");
        let bad = json!([{"uuid": "b", "artifacts": [{"name": "x", "url": "https://ireg/x:1",
            "metadata": {"type": "container_image", "repository": "x", "tag": "1"}}]}]);
        let err = GateImages::from_answer("u", &bad).unwrap_err().to_string();
        assert!(err.contains("`https://ireg/x:1`"), "{err}");
    }
}
