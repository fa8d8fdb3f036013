//! Inputs of the commands that move images between the buildset registry
//! and the intermediate registry: `push-to-intermediate` (which images,
//! `zuul_success`, `zuul.build`) and `pull-from-intermediate` (which
//! artifacts).

use super::{Sources, ZuulVars, buildset_registry_var};
use crate::reference;
use crate::zuul::Error;
use crate::zuul::artifacts::{self, ContainerImageArtifact};
use crate::zuul::de::opt_bool;
use crate::zuul::images::{ImageSpec, Images};
use crate::zuul::naming;
use crate::zuul::registries::{BuildsetRegistry, IntermediateRegistry};
use crate::zuul::vars::Vars;
use serde::Deserialize;
use serde_json::json;

const PUSH: &str = "push-to-intermediate";
const PULL: &str = "pull-from-intermediate";

/// `push-to-intermediate`'s flags.
#[derive(Debug, Clone, Default)]
pub struct PushFlags {
    /// `--repository`: push it instead of the image list in the variables.
    pub repository: Option<String>,
    /// `--tag` (repeatable; default `latest`).
    pub tags: Vec<String>,
    /// `--build`: wins over `zuul.build`.
    pub build: Option<String>,
}

/// What `push-to-intermediate` does.
#[derive(Debug)]
pub enum Push {
    /// Nothing to push, and why.
    Skip(&'static str),
    Copy(Box<PushCopy>),
}

/// The images to push and where.
#[derive(Debug)]
pub struct PushCopy {
    pub images: Vec<ImageSpec>,
    pub intermediate: IntermediateRegistry,
    pub buildset: BuildsetRegistry,
    /// `zuul.build`, valid inside a tag.
    pub build: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PushVars {
    /// As Ansible's `bool` filter reads it; absent means true.
    #[serde(deserialize_with = "opt_bool")]
    zuul_success: Option<bool>,
}

fn intermediate_var(vars: &Vars) -> Result<Option<IntermediateRegistry>, Error> {
    if vars.contains("intermediate_registry") {
        IntermediateRegistry::from_vars(vars, "").map(Some)
    } else {
        Ok(None)
    }
}

impl Push {
    /// Every variable it reads is checked first; then a failed run phase
    /// or a missing image list skips the push, and only then are the
    /// registries and the build id required.
    pub fn resolve(sources: &Sources, flags: &PushFlags) -> Result<Push, Error> {
        let vars = sources.vars;
        let success = vars.section::<PushVars>()?.zuul_success.unwrap_or(true);
        let zuul = ZuulVars::from_vars(vars)?;
        let images = match &flags.repository {
            Some(repository) => Some(vec![flag_image(repository, &flags.tags)?]),
            None => Images::from_vars(vars)?.map(|images| images.images),
        };
        let intermediate = intermediate_var(vars)?;
        buildset_registry_var(vars)?;
        if !success {
            return Ok(Push::Skip(
                "zuul_success is false: the run phase failed, nothing is pushed",
            ));
        }
        let Some(images) = images else {
            return Ok(Push::Skip(
                "neither `docker_images` nor `container_images` is defined: nothing to push",
            ));
        };
        let intermediate = intermediate.ok_or_else(|| Error::Missing {
            name: "intermediate_registry".into(),
            command: PUSH.into(),
        })?;
        let buildset = sources.require_buildset_registry(&zuul, PUSH)?;
        let build = match &flags.build {
            Some(build) => build.clone(),
            None => zuul.build.clone().ok_or_else(|| Error::Missing {
                name: "zuul.build".into(),
                command: PUSH.into(),
            })?,
        };
        reference::validate_tag(&naming::intermediate_tag(&build, "x")).map_err(|_| {
            let message = format!("`{build}` cannot be part of a tag");
            match &flags.build {
                Some(_) => Error::Flag {
                    flag: "--build".into(),
                    message,
                },
                None => vars.invalid("zuul", "zuul.build", message),
            }
        })?;
        Ok(Push::Copy(Box::new(PushCopy {
            images,
            intermediate,
            buildset,
            build,
        })))
    }
}

/// The image `--repository` and `--tag` name.
pub(super) fn flag_image(repository: &str, tags: &[String]) -> Result<ImageSpec, Error> {
    ImageSpec::from_flags(json!({"repository": repository, "tags": tags}))
}

/// `pull-from-intermediate`'s input.
#[derive(Debug)]
pub struct Pull {
    /// The `container_image` artifacts, in Zuul's order.
    pub images: Vec<ContainerImageArtifact>,
    /// Where they came from: `zuul_artifacts` or `zuul.artifacts`.
    pub var: &'static str,
    pub buildset: BuildsetRegistry,
    pub intermediate: IntermediateRegistry,
}

impl Pull {
    pub fn resolve(sources: &Sources) -> Result<Pull, Error> {
        let vars = sources.vars;
        let list = artifacts::from_vars(vars)?;
        let var = if vars.contains("zuul_artifacts") {
            "zuul_artifacts"
        } else {
            "zuul.artifacts"
        };
        let images = artifacts::container_images(&list, var)?;
        let zuul = ZuulVars::from_vars(vars)?;
        let buildset = sources.require_buildset_registry(&zuul, PULL)?;
        let intermediate = IntermediateRegistry::from_vars(vars, PULL)?;
        Ok(Pull {
            images,
            var,
            buildset,
            intermediate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::super::tests::{input_error, with_sources};
    use super::*;
    use serde_json::Value;

    const BUILD: &str = "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b";

    fn push_vars() -> Value {
        json!({
            "zuul": {"build": BUILD},
            "docker_images": [{"repository": "example/app", "tags": ["latest", "1.0"]}],
            "buildset_registry": {"host": "10.0.0.1", "port": 5000},
            "intermediate_registry": {"host": "ireg.example", "port": "5000"},
        })
    }

    fn push(given: Value, flags: &PushFlags) -> Result<Push, Error> {
        with_sources(given, &Env::default(), |sources| {
            Push::resolve(sources, flags)
        })
    }

    fn to_copy(given: Value, flags: &PushFlags) -> PushCopy {
        match push(given, flags).unwrap() {
            Push::Copy(copy) => *copy,
            Push::Skip(why) => panic!("skipped: {why}"),
        }
    }

    fn with(key: &str, value: Value) -> Value {
        let mut given = push_vars();
        given[key] = value;
        given
    }

    fn without(key: &str) -> Value {
        let mut given = push_vars();
        given.as_object_mut().unwrap().remove(key);
        given
    }

    #[test]
    fn push_from_variables_and_flags() {
        let none = PushFlags::default();
        let copy = to_copy(push_vars(), &none);
        assert_eq!(copy.images[0].tags, ["latest", "1.0"]);
        assert_eq!(
            (copy.build.as_str(), copy.intermediate.address()),
            (BUILD, "ireg.example:5000".to_owned())
        );
        assert_eq!(copy.buildset.address(), "10.0.0.1:5000");

        // Flags win: the image list in the variables is not even read.
        let flags = PushFlags {
            repository: Some("quay.io/org/tool".into()),
            tags: vec![],
            build: Some("b1".into()),
        };
        let copy = to_copy(with("docker_images", json!("not read")), &flags);
        assert_eq!(copy.images[0].repository, "quay.io/org/tool");
        assert_eq!(copy.images[0].tags, ["latest"]);
        assert_eq!(copy.build, "b1");
    }

    #[test]
    fn push_skips() {
        let none = PushFlags::default();
        for value in [
            json!(false),
            json!("false"),
            json!("no"),
            json!("False"),
            json!(0),
        ] {
            let skipped = push(with("zuul_success", value.clone()), &none).unwrap();
            assert!(
                matches!(skipped, Push::Skip(why) if why.contains("zuul_success is false")),
                "{value}"
            );
        }
        assert!(matches!(
            copy_or_skip(with("zuul_success", json!("yes"))),
            Push::Copy(_)
        ));
        // No image list: nothing else is required.
        let bare = json!({"zuul": {}});
        assert!(
            matches!(push(bare, &none).unwrap(), Push::Skip(why) if why.contains("nothing to push"))
        );
    }

    fn copy_or_skip(given: Value) -> Push {
        push(given, &PushFlags::default()).unwrap()
    }

    #[test]
    fn push_bad_inputs_name_the_key_path() {
        let none = PushFlags::default();
        for (given, want) in [
            (
                with("zuul_success", json!("perhaps")),
                "`zuul_success` (from vars.yaml): expected true or false",
            ),
            (
                with("docker_images", json!({"repository": "a/b"})),
                "`docker_images`",
            ),
            (
                with(
                    "docker_images",
                    json!([{"repository": "a/b", "tags": ["bad tag"]}]),
                ),
                "`docker_images[0].tags[0]`",
            ),
            (
                with("intermediate_registry", json!({"host": "bad host"})),
                "`intermediate_registry.host`",
            ),
            (
                with("buildset_registry", json!({"host": "h", "port": "http"})),
                "`buildset_registry.port`",
            ),
            (
                without("intermediate_registry"),
                "missing variable `intermediate_registry` (needed by `push-to-intermediate`)",
            ),
            (
                without("buildset_registry"),
                "missing variable `buildset_registry` (needed by `push-to-intermediate`)",
            ),
            (with("zuul", json!({})), "missing variable `zuul.build`"),
            (
                with("zuul", json!({"build": "no/slashes"})),
                "`zuul.build` (from vars.yaml): `no/slashes` cannot be part of a tag",
            ),
            (with("zuul", json!({"build": [1]})), "`zuul.build`"),
        ] {
            let err = input_error(push(given.clone(), &none));
            assert!(err.starts_with(want), "{given}: {err}");
        }
        // Checked before the skip: a malformed variable it reads is never ignored.
        let mut failed = with("zuul_success", json!(false));
        failed["buildset_registry"] = json!({"host": "h", "port": "http", "password": "hunter2"});
        let err = input_error(push(failed, &none));
        assert!(
            err.starts_with("`buildset_registry.port`") && !err.contains("hunter2"),
            "{err}"
        );

        for (flags, want) in [
            (
                PushFlags {
                    repository: Some("Bad/Repo".into()),
                    ..PushFlags::default()
                },
                "`--repository`",
            ),
            (
                PushFlags {
                    repository: Some("a/b".into()),
                    tags: vec!["bad tag".into()],
                    build: None,
                },
                "`--tag`",
            ),
            (
                PushFlags {
                    build: Some("a b".into()),
                    ..PushFlags::default()
                },
                "`--build`: `a b` cannot be part of a tag",
            ),
        ] {
            let err = input_error(push(push_vars(), &flags));
            assert!(err.starts_with(want), "{flags:?}: {err}");
        }
    }

    fn pull(given: Value) -> Result<Pull, Error> {
        with_sources(given, &Env::default(), Pull::resolve)
    }

    #[test]
    fn pull_artifacts_and_registries() {
        let artifact = json!({"name": "example/app:latest", "url": "docker://ireg:5000/example/app:b_latest",
            "metadata": {"type": "container_image", "repository": "example/app", "tag": "latest"}});
        let registries = json!({
            "buildset_registry": {"host": "10.0.0.1", "port": 5000},
            "intermediate_registry": {"host": "ireg", "port": 5000},
            "docker_images": "not read by pull",
        });
        let mut given = registries.clone();
        given["zuul"] = json!({"artifacts": [artifact.clone()]});
        let inputs = pull(given.clone()).unwrap();
        assert_eq!((inputs.var, inputs.images.len()), ("zuul.artifacts", 1));
        // zuul_artifacts wins over zuul.artifacts.
        given["zuul_artifacts"] = json!([]);
        let inputs = pull(given).unwrap();
        assert_eq!((inputs.var, inputs.images.len()), ("zuul_artifacts", 0));

        let mut bad = registries.clone();
        bad["zuul"] = json!({"artifacts": [{"name": "x", "url": "docker://r/a:b",
            "metadata": {"type": "container_image", "repository": "a"}}]});
        let err = input_error(pull(bad));
        assert!(err.starts_with("`zuul.artifacts[0].metadata.tag`"), "{err}");
        let mut missing = registries;
        missing
            .as_object_mut()
            .unwrap()
            .remove("intermediate_registry");
        let err = input_error(pull(missing));
        assert_eq!(
            err,
            "missing variable `intermediate_registry` (needed by `pull-from-intermediate`)"
        );
    }
}
