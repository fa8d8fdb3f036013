//! Entries of `docker_images` / `container_images`: what to build and push,
//! with the roles' defaults (`tags: ['latest']`) and validation of the
//! repository and every tag before anything happens.

use super::Error;
use super::de::{opt_string, string_list};
use super::vars::Vars;
use crate::reference;
use serde::Deserialize;

/// One image to build or move.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Build context, relative to `zuul_work_dir`.
    #[serde(default)]
    pub context: Option<String>,
    /// `dockerfile` (docker roles) or `container_filename` (container roles).
    #[serde(default, alias = "container_filename")]
    pub dockerfile: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub repository: String,
    #[serde(default = "default_tags", deserialize_with = "string_list")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub build_args: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub siblings: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub labels: Vec<String>,
    #[serde(default)]
    pub arch: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_string")]
    pub registry: Option<String>,
    // Keys only ensure-quay-repo reads; accepted so the same list works.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub repo_shortname: Option<String>,
    #[serde(default)]
    pub repo_description: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
}

fn default_tags() -> Vec<String> {
    vec!["latest".to_owned()]
}

/// Which variable the images came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    DockerImages,
    ContainerImages,
}

impl ImageSource {
    pub fn var(self) -> &'static str {
        match self {
            ImageSource::DockerImages => "docker_images",
            ImageSource::ContainerImages => "container_images",
        }
    }
}

/// The validated image list of a run.
#[derive(Debug, Clone)]
pub struct Images {
    pub source: ImageSource,
    pub images: Vec<ImageSpec>,
}

impl Images {
    /// Read `docker_images`, else `container_images`; `None` when neither is
    /// defined. Each entry's repository and tags are validated.
    pub fn from_vars(vars: &Vars) -> Result<Option<Images>, Error> {
        let source = if vars.contains("docker_images") {
            ImageSource::DockerImages
        } else if vars.contains("container_images") {
            ImageSource::ContainerImages
        } else {
            return Ok(None);
        };
        Images::from_var(vars, source)
    }

    /// Read one list, `None` when that variable is not defined.
    pub fn from_var(vars: &Vars, source: ImageSource) -> Result<Option<Images>, Error> {
        if !vars.contains(source.var()) {
            return Ok(None);
        }
        let name = source.var();
        let value = vars.get(name).unwrap_or(&serde_json::Value::Null);
        if !value.is_array() {
            return Err(vars.invalid(
                name,
                name,
                format!(
                    "expected a list of images, found {}",
                    super::vars::kind_of(value)
                ),
            ));
        }
        let images: Vec<ImageSpec> = vars.required(name, name)?;
        for (index, image) in images.iter().enumerate() {
            image.validate().map_err(|(field, message)| {
                vars.invalid(name, &format!("{name}[{index}].{field}"), message)
            })?;
        }
        Ok(Some(Images { source, images }))
    }
}

impl ImageSpec {
    /// Check the repository and tags; on failure returns the field and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        reference::Reference::parse(&self.repository)
            .map_err(|err| ("repository".to_owned(), err.to_string()))?;
        if self.repository.contains(':') && !self.repository.contains('/') {
            return Err((
                "repository".into(),
                "a repository must not carry a tag; put tags in `tags`".into(),
            ));
        }
        if self
            .repository
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':') || last.contains('@'))
        {
            return Err((
                "repository".into(),
                "a repository must not carry a tag or digest; put tags in `tags`".into(),
            ));
        }
        if self.tags.is_empty() {
            return Err(("tags".into(), "at least one tag is needed".into()));
        }
        for (index, tag) in self.tags.iter().enumerate() {
            reference::validate_tag(tag)
                .map_err(|err| (format!("tags[{index}]"), err.to_string()))?;
        }
        Ok(())
    }

    /// An image given by flags: `value` holds the list's keys (`repository`,
    /// `tags`, …), `tags` defaulting to `latest` when empty. Errors name
    /// the flag (`--tag` for a tag, else `--repository`).
    pub fn from_flags(mut value: serde_json::Value) -> Result<ImageSpec, Error> {
        if value["tags"].as_array().is_none_or(Vec::is_empty) {
            value["tags"] = serde_json::json!(["latest"]);
        }
        let spec: ImageSpec = serde_json::from_value(value).map_err(|err| Error::Flag {
            flag: "--repository".into(),
            message: err.to_string(),
        })?;
        spec.validate().map_err(|(field, message)| Error::Flag {
            flag: if field.starts_with("tags") {
                "--tag"
            } else {
                "--repository"
            }
            .into(),
            message,
        })?;
        Ok(spec)
    }

    /// Where this image lives in the buildset registry.
    pub fn buildset_path(&self) -> String {
        reference::buildset_path(&self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(value: serde_json::Value) -> Vars {
        Vars::from_map(value.as_object().unwrap().clone())
    }

    #[test]
    fn defaults_and_aliases() {
        let images = Images::from_vars(&vars(json!({
            "container_images": [{"context": ".", "repository": "quay.io/org/img", "container_filename": "Containerfile"}]
        })))
        .unwrap()
        .unwrap();
        assert_eq!(images.source, ImageSource::ContainerImages);
        assert_eq!(images.images[0].tags, vec!["latest"]);
        assert_eq!(
            images.images[0].dockerfile.as_deref(),
            Some("Containerfile")
        );
        assert_eq!(images.images[0].buildset_path(), "quay.io/org/img");
    }

    #[test]
    fn docker_images_win_and_absent_is_none() {
        let both = vars(json!({
            "docker_images": [{"repository": "a/b"}],
            "container_images": [{"repository": "c/d"}],
        }));
        assert_eq!(
            Images::from_vars(&both).unwrap().unwrap().images[0].repository,
            "a/b"
        );
        assert!(Images::from_vars(&vars(json!({}))).unwrap().is_none());
    }

    #[test]
    fn errors_name_the_key_path() {
        for (doc, want) in [
            (
                json!({"docker_images": {"repository": "a/b"}}),
                "`docker_images`",
            ),
            (
                json!({"docker_images": [{"repository": "a/b"}, {"context": "."}]}),
                "`docker_images[1]`",
            ),
            (
                json!({"docker_images": [{"repository": "a/b", "tags": ["ok", "bad tag"]}]}),
                "`docker_images[0].tags[1]`",
            ),
            (
                json!({"docker_images": [{"repository": "Bad/Repo"}]}),
                "`docker_images[0].repository`",
            ),
            (
                json!({"container_images": [{"repository": "a/b:v1"}]}),
                "`container_images[0].repository`",
            ),
            (
                json!({"docker_images": [{"repository": "a/b", "tags": "latest"}]}),
                "`docker_images[0].tags`",
            ),
        ] {
            let err = Images::from_vars(&vars(doc.clone()))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{doc}: {err}");
        }
    }
}
