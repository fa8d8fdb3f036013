//! Zuul artifacts: the `{name, url, metadata}` entries that carry images
//! between changes, and the container-image view the pull step uses.

use super::Error;
use super::vars::{Vars, deserialize_at};
use crate::reference::{self, Reference};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The artifact type the container roles produce and consume.
pub const CONTAINER_IMAGE: &str = "container_image";

/// One `zuul.artifacts` entry. Zuul adds `project`, `change`, `job`, … on
/// the way to later jobs; those are kept in `extra`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Artifact {
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `container_image` artifact, resolved: where the image is and the
/// `repository:tag` it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImageArtifact {
    pub name: String,
    pub source: Reference,
    pub repository: String,
    pub tag: String,
}

impl ContainerImageArtifact {
    /// Where this image goes in the buildset registry (docker.io stripped).
    pub fn buildset_path(&self) -> String {
        reference::buildset_path(&self.repository)
    }
}

/// The artifacts of a run: `zuul_artifacts` when set (the pull role's
/// override), else `zuul.artifacts`; absent means none.
pub fn from_vars(vars: &Vars) -> Result<Vec<Artifact>, Error> {
    if let Some(value) = vars.get("zuul_artifacts") {
        return deserialize_at(
            "zuul_artifacts",
            value,
            vars.origin("zuul_artifacts").map(str::to_owned),
        );
    }
    match vars.get("zuul").and_then(|zuul| zuul.get("artifacts")) {
        Some(value) if !value.is_null() => deserialize_at(
            "zuul.artifacts",
            value,
            vars.origin("zuul").map(str::to_owned),
        ),
        _ => Ok(Vec::new()),
    }
}

/// The `container_image` artifacts in Zuul's order (furthest change ahead
/// first), so copying them in order lets the nearest change win. `var` names
/// the list in errors.
pub fn container_images(
    artifacts: &[Artifact],
    var: &str,
) -> Result<Vec<ContainerImageArtifact>, Error> {
    let mut images = Vec::new();
    for (index, artifact) in artifacts.iter().enumerate() {
        let Some(metadata) = &artifact.metadata else {
            continue;
        };
        if metadata.get("type").and_then(Value::as_str) != Some(CONTAINER_IMAGE) {
            continue;
        }
        let invalid = |field: &str, message: String| Error::Invalid {
            path: format!("{var}[{index}].{field}"),
            origin: None,
            message,
        };
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(|value| match value {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .ok_or_else(|| invalid(&format!("metadata.{key}"), "expected a string".into()))
        };
        let repository = text("repository")?;
        let tag = text("tag")?;
        Reference::parse(&repository)
            .map_err(|err| invalid("metadata.repository", err.to_string()))?;
        reference::validate_tag(&tag).map_err(|err| invalid("metadata.tag", err.to_string()))?;
        if !artifact.url.starts_with("docker://") {
            return Err(invalid(
                "url",
                format!(
                    "expected `docker://host:port/repository:tag`, found `{}`",
                    artifact.url
                ),
            ));
        }
        let source =
            Reference::parse(&artifact.url).map_err(|err| invalid("url", err.to_string()))?;
        images.push(ContainerImageArtifact {
            name: artifact.name.clone(),
            source,
            repository,
            tag,
        });
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artifact(value: Value) -> Artifact {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn selects_container_images_in_order() {
        let artifacts = vec![
            artifact(
                json!({"name": "docs", "url": "https://logs/docs.tgz", "metadata": {"type": "docs_archive"}}),
            ),
            artifact(json!({"name": "example/base:latest",
                "url": "docker://ireg:5000/example/base:aaaa_latest",
                "metadata": {"type": "container_image", "repository": "example/base", "tag": "latest"},
                "project": "example/base-image", "change": "1001"})),
            artifact(json!({"name": "no-metadata", "url": "https://x"})),
            artifact(json!({"name": "quay.io/org/img:3.12",
                "url": "docker://[fd00::1]:5000/quay.io/org/img:bbbb_3.12",
                "metadata": {"type": "container_image", "repository": "quay.io/org/img", "tag": 3.12}})),
        ];
        let images = container_images(&artifacts, "zuul.artifacts").unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].repository, "example/base");
        assert_eq!(images[0].source.registry, "ireg:5000");
        assert_eq!(images[0].source.tag.as_deref(), Some("aaaa_latest"));
        assert_eq!(images[1].tag, "3.12");
        assert_eq!(images[1].source.registry, "[fd00::1]:5000");
        assert_eq!(images[1].buildset_path(), "quay.io/org/img");
    }

    #[test]
    fn artifact_without_url_is_rejected() {
        let vars = Vars::from_map(
            json!({"zuul": {"artifacts": [{"name": "x", "url": "docker://r/x:t"}, {"name": "y"}]}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let err = from_vars(&vars).unwrap_err().to_string();
        assert!(err.starts_with("`zuul.artifacts[1]`"), "{err}");
        assert!(err.contains("url"), "{err}");
    }

    #[test]
    fn bad_container_image_metadata_is_named() {
        let artifacts = vec![artifact(json!({"name": "x", "url": "https://not-docker/x",
            "metadata": {"type": "container_image", "repository": "a/b", "tag": "t"}}))];
        let err = container_images(&artifacts, "zuul.artifacts")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`zuul.artifacts[0].url`"), "{err}");
        let artifacts = vec![artifact(json!({"name": "x", "url": "docker://r/a/b:t",
            "metadata": {"type": "container_image", "repository": "a/b"}}))];
        let err = container_images(&artifacts, "zuul.artifacts")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`zuul.artifacts[0].metadata.tag`"), "{err}");
    }
}
