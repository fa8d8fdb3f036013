//! The naming rules of the zuul-jobs roles, exact: temporary upload tags,
//! intermediate-registry tags and references, and the artifact entry
//! `push-to-intermediate` returns. Pure functions, table-tested.

use super::Error;
use super::artifacts::{Artifact, CONTAINER_IMAGE};
use super::job::Zuul;
use super::registries::IntermediateRegistry;
use serde_json::{Map, json};

/// `change_<N>_` when the item is a change, else `<pipeline>_`.
pub fn temp_tag_prefix(zuul: &Zuul) -> Result<String, Error> {
    match (&zuul.change, &zuul.pipeline) {
        (Some(change), _) => Ok(format!("change_{change}_")),
        (None, Some(pipeline)) => Ok(format!("{pipeline}_")),
        (None, None) => Err(Error::Invalid {
            path: "zuul".into(),
            origin: None,
            message: "neither `zuul.change` nor `zuul.pipeline` is set, so there is no temporary tag prefix".into(),
        }),
    }
}

/// The temporary tag an upload pushes: `<prefix><tag>`.
pub fn temp_tag(zuul: &Zuul, tag: &str) -> Result<String, Error> {
    Ok(format!("{}{tag}", temp_tag_prefix(zuul)?))
}

/// The temporary tags `promote-image` cleans up by default:
/// `^change_.*$|^<pipeline>_.*$` (the pipeline name taken literally).
pub fn cleanup_pattern(pipeline: &str) -> String {
    format!("^change_.*$|^{}_.*$", regex::escape(pipeline))
}

/// The tag in the intermediate registry: `<zuul.build>_<tag>`.
pub fn intermediate_tag(build: &str, tag: &str) -> String {
    format!("{build}_{tag}")
}

/// `host:port/<repository>:<build>_<tag>`; docker.io is *not* stripped.
pub fn intermediate_reference(
    registry: &IntermediateRegistry,
    repository: &str,
    build: &str,
    tag: &str,
) -> String {
    format!(
        "{}/{repository}:{}",
        registry.address(),
        intermediate_tag(build, tag)
    )
}

/// The artifact returned for one pushed tag.
pub fn intermediate_artifact(
    registry: &IntermediateRegistry,
    repository: &str,
    build: &str,
    tag: &str,
) -> Artifact {
    let metadata = json!({"type": CONTAINER_IMAGE, "repository": repository, "tag": tag});
    Artifact {
        name: format!("{repository}:{tag}"),
        url: format!(
            "docker://{}",
            intermediate_reference(registry, repository, build, tag)
        ),
        metadata: metadata.as_object().cloned(),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zuul(change: Option<&str>, pipeline: Option<&str>) -> Zuul {
        Zuul {
            change: change.map(str::to_owned),
            pipeline: pipeline.map(str::to_owned),
            ..Zuul::default()
        }
    }

    #[test]
    fn temporary_tags() {
        for (change, pipeline, tag, want) in [
            (Some("1003"), Some("check"), "latest", "change_1003_latest"),
            (Some("12"), None, "v1", "change_12_v1"),
            (None, Some("periodic"), "latest", "periodic_latest"),
            (None, Some("release"), "1.0", "release_1.0"),
        ] {
            assert_eq!(temp_tag(&zuul(change, pipeline), tag).unwrap(), want);
        }
        assert!(temp_tag(&zuul(None, None), "x").is_err());
    }

    #[test]
    fn cleanup_patterns() {
        assert_eq!(cleanup_pattern("promote"), "^change_.*$|^promote_.*$");
        assert_eq!(cleanup_pattern("a.b"), "^change_.*$|^a\\.b_.*$");
    }

    #[test]
    fn intermediate_names_and_artifacts() {
        let registry = |host: &str, port| IntermediateRegistry {
            host: host.into(),
            port,
            username: None,
            password: None,
            cert: None,
        };
        let build = "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b";
        for (reg, repository, tag, want_url) in [
            (
                registry("insecure-ci-registry.example.org", Some(5000)),
                "example/base",
                "latest",
                "docker://insecure-ci-registry.example.org:5000/example/base:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_latest",
            ),
            (
                registry("fd00::5", Some(5000)),
                "docker.io/example/base",
                "trixie",
                "docker://[fd00::5]:5000/docker.io/example/base:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_trixie",
            ),
            (
                registry("ireg.example.org", None),
                "quay.io/org/img",
                "3.12",
                "docker://ireg.example.org/quay.io/org/img:5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b_3.12",
            ),
        ] {
            let artifact = intermediate_artifact(&reg, repository, build, tag);
            assert_eq!(artifact.url, want_url);
            assert_eq!(artifact.name, format!("{repository}:{tag}"));
            assert_eq!(
                serde_json::to_value(&artifact).unwrap()["metadata"],
                json!({"type": "container_image", "repository": repository, "tag": tag})
            );
        }
    }
}
