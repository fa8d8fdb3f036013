//! `upload-image`'s input: the images and their final registries
//! ([`Publish`]), which tags go up (`<prefix><tag>` while promotion is on,
//! else the final tags), and where the images come from: the buildset
//! registry when one is known (the variable or this job's results file),
//! else the engine's local storage (`container_command` for the container
//! family, docker for the docker family).

use super::publish::{ImageFlags, Publish};
use super::{DockerTarget, Sources, ZuulVars, buildset_registry_var};
use crate::engine::docker::DockerHost;
use crate::zuul::Error;
use crate::zuul::de::{opt_bool, opt_string};
use crate::zuul::inputs::family::Family;
use crate::zuul::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use crate::zuul::results;
use serde::Deserialize;

const UPLOAD: &str = "upload-image";

/// `upload-image`'s flags.
#[derive(Debug, Clone, Default)]
pub struct UploadFlags {
    pub images: ImageFlags,
    /// `--docker-host`.
    pub docker_host: Option<String>,
}

/// Which CLI holds the images when there is no buildset registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerCommand {
    Docker,
    Podman,
    Buildah,
}

/// What `upload-image` does.
#[derive(Debug)]
pub enum Upload {
    /// Nothing to upload, and why.
    Skip(&'static str),
    Push(Box<UploadPush>),
}

/// The images to push and from where.
#[derive(Debug)]
pub struct UploadPush {
    pub publish: Publish,
    /// Put before every tag: `change_<N>_` / `<pipeline>_` while promotion
    /// is on, empty when the final tags are pushed.
    pub prefix: String,
    pub source: UploadSource,
}

/// Where the built images are.
#[derive(Debug)]
pub enum UploadSource {
    /// `<repository without docker.io/>:<tag>`, the whole index.
    Buildset(BuildsetRegistry),
    /// `<local name>:<prefix><tag>` in the engine's storage.
    Engine {
        command: ContainerCommand,
        /// `--docker-host`; `None`: the default socket.
        docker: Option<DockerHost>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DockerVars {
    #[serde(deserialize_with = "opt_bool")]
    upload_docker_image_promote: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerVars {
    #[serde(deserialize_with = "opt_bool")]
    upload_container_image_promote: Option<bool>,
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_method: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    container_command: Option<String>,
}

impl Upload {
    pub fn resolve(sources: &Sources, flags: &UploadFlags) -> Result<Upload, Error> {
        let vars = sources.vars;
        let publish = Publish::resolve(vars, &flags.images, UPLOAD)?;
        let (promote, command) = match publish.family {
            Family::Docker => {
                let section = vars.section::<DockerVars>()?;
                (
                    section.upload_docker_image_promote.unwrap_or(true),
                    ContainerCommand::Docker,
                )
            }
            Family::Container => {
                let section = vars.section::<ContainerVars>()?;
                let promote = section.upload_container_image_promote.unwrap_or(true);
                let method = section.promote_container_image_method.as_deref();
                match method.unwrap_or("tag") {
                    "tag" => {}
                    "intermediate-registry" if promote => {
                        return Ok(Upload::Skip(
                            "promote_container_image_method is `intermediate-registry`: the images reach the final registry when they are promoted, nothing is uploaded now",
                        ));
                    }
                    "intermediate-registry" => {}
                    other => {
                        return Err(vars.invalid(
                            "promote_container_image_method",
                            "promote_container_image_method",
                            format!("`{other}` is neither `tag` nor `intermediate-registry`"),
                        ));
                    }
                }
                let command =
                    container_command(vars, section.container_command.as_deref(), sources.env)?;
                (promote, command)
            }
        };
        let prefix = if promote {
            publish.prefix()?
        } else {
            String::new()
        };
        let docker = DockerTarget::new(flags.docker_host.as_deref(), "")?.api;
        let zuul = ZuulVars::from_vars(vars)?;
        let source = match known_buildset_registry(sources, &zuul)? {
            Some(registry) => UploadSource::Buildset(registry),
            None => {
                if command == ContainerCommand::Docker {
                    if let Some(image) = publish.any_multi_platform() {
                        let var = image.key.split('[').next().unwrap_or_default().to_owned();
                        return Err(vars.invalid(
                            &var,
                            &format!("{}.arch", image.key),
                            "a multi-platform image is uploaded from the buildset registry, which holds its whole index (the docker daemon keeps only its own platform): run build-image and upload-image with a `buildset_registry`",
                        ));
                    }
                }
                UploadSource::Engine { command, docker }
            }
        };
        Ok(Upload::Push(Box::new(UploadPush {
            publish,
            prefix,
            source,
        })))
    }
}

/// `buildset_registry` from the variable, else from this job's results
/// file when it holds one; `None` when neither does (no file, an empty
/// one, or no `secret_data.buildset_registry`): the build roles' rule.
fn known_buildset_registry(
    sources: &Sources,
    zuul: &ZuulVars,
) -> Result<Option<BuildsetRegistry>, Error> {
    if let Some(registry) = buildset_registry_var(sources.vars)? {
        return Ok(Some(registry));
    }
    let Some(file) = sources.results_file(zuul) else {
        return Ok(None);
    };
    let returned = results::read(&file)?;
    match returned.secret_data.get(BUILDSET_REGISTRY) {
        None => Ok(None),
        Some(value) => BuildsetRegistry::from_value(
            &format!("secret_data.{BUILDSET_REGISTRY}"),
            value,
            Some(file.display().to_string()),
        )
        .map(Some),
    }
}

/// `container_command` (default `docker`); `podman` is served by buildah
/// where podman is not installed.
fn container_command(
    vars: &crate::zuul::vars::Vars,
    given: Option<&str>,
    env: &super::Env,
) -> Result<ContainerCommand, Error> {
    match given.map(str::trim).unwrap_or("docker") {
        "docker" => Ok(ContainerCommand::Docker),
        "podman" if !env.on_path("podman") && env.on_path("buildah") => {
            Ok(ContainerCommand::Buildah)
        }
        "podman" => Ok(ContainerCommand::Podman),
        "buildah" => Ok(ContainerCommand::Buildah),
        other => Err(vars.invalid(
            "container_command",
            "container_command",
            format!("`{other}` is not `docker`, `podman` or `buildah`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::super::tests::{input_error, with_sources};
    use super::*;
    use serde_json::{Value, json};
    use std::path::PathBuf;

    fn upload(given: Value, env: &Env) -> Result<Upload, Error> {
        with_sources(given, env, |sources| {
            Upload::resolve(sources, &UploadFlags::default())
        })
    }

    fn push(given: Value) -> UploadPush {
        match upload(given, &Env::default()).unwrap() {
            Upload::Push(push) => *push,
            Upload::Skip(why) => panic!("skipped: {why}"),
        }
    }

    fn container(extra: Value) -> Value {
        let mut given = json!({
            "zuul": {"change": "7", "pipeline": "gate"},
            "container_images": [{"repository": "quay.io/org/app", "registry": "quay.io"}],
        });
        for (key, value) in extra.as_object().unwrap() {
            given[key] = value.clone();
        }
        given
    }

    #[test]
    fn tags_follow_the_promote_switch() {
        assert_eq!(push(container(json!({}))).prefix, "change_7_");
        for off in [json!(false), json!("no"), json!("False")] {
            let given = container(json!({"upload_container_image_promote": off}));
            assert_eq!(push(given).prefix, "");
        }
        let docker = json!({"zuul": {"pipeline": "release"}, "docker_images": [{"repository": "org/app"}],
                            "upload_docker_image_promote": true});
        assert_eq!(push(docker).prefix, "release_");
        // Without promotion no prefix is needed, so no change or pipeline either.
        let bare = json!({"docker_images": [{"repository": "org/app"}], "upload_docker_image_promote": false});
        assert_eq!(push(bare).prefix, "");
    }

    #[test]
    fn intermediate_registry_method_uploads_nothing_while_promoting() {
        let given = container(json!({"promote_container_image_method": "intermediate-registry"}));
        assert!(matches!(
            upload(given, &Env::default()).unwrap(),
            Upload::Skip(_)
        ));
        let given = container(
            json!({"promote_container_image_method": "intermediate-registry",
                                     "upload_container_image_promote": false}),
        );
        assert_eq!(push(given).prefix, "");
        let err = input_error(upload(
            container(json!({"promote_container_image_method": "copy"})),
            &Env::default(),
        ));
        assert!(err.starts_with("`promote_container_image_method`"), "{err}");
    }

    #[test]
    fn source_is_the_buildset_registry_when_one_is_known() {
        let registry = json!({"host": "10.0.0.1", "port": 5000, "password": "pw"});
        let given = container(json!({"buildset_registry": registry}));
        assert!(matches!(push(given).source, UploadSource::Buildset(_)));
        // From the results file of this job.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.json");
        std::fs::write(
            &file,
            json!({"secret_data": {"buildset_registry": registry}}).to_string(),
        )
        .unwrap();
        let given =
            container(json!({"zuul": {"change": "7", "executor": {"result_data_file": file}}}));
        assert!(matches!(push(given).source, UploadSource::Buildset(_)));
        // A results file without it, or none at all: the engine.
        std::fs::write(&file, "{}").unwrap();
        let given =
            container(json!({"zuul": {"change": "7", "executor": {"result_data_file": file}}}));
        assert!(matches!(
            push(given).source,
            UploadSource::Engine {
                command: ContainerCommand::Docker,
                ..
            }
        ));
        let missing = dir.path().join("none.json");
        let given =
            container(json!({"zuul": {"change": "7", "executor": {"result_data_file": missing}}}));
        assert!(matches!(push(given).source, UploadSource::Engine { .. }));
    }

    #[test]
    fn container_command_and_buildah_where_podman_is_absent() {
        let bin = tempfile::tempdir().unwrap();
        std::fs::write(bin.path().join("buildah"), "").unwrap();
        let only_buildah = Env {
            path: vec![PathBuf::from(bin.path())],
            ..Env::default()
        };
        let command = |value: &str, env: &Env| match upload(
            container(json!({"container_command": value})),
            env,
        ) {
            Ok(Upload::Push(push)) => match push.source {
                UploadSource::Engine { command, .. } => command,
                UploadSource::Buildset(_) => panic!("no buildset registry was given"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(command("podman", &only_buildah), ContainerCommand::Buildah);
        assert_eq!(command("podman", &Env::default()), ContainerCommand::Podman);
        assert_eq!(
            command("buildah", &Env::default()),
            ContainerCommand::Buildah
        );
        assert_eq!(command("docker", &only_buildah), ContainerCommand::Docker);
        let err = input_error(upload(
            container(json!({"container_command": "nerdctl"})),
            &Env::default(),
        ));
        assert!(err.starts_with("`container_command`"), "{err}");
    }

    #[test]
    fn docker_multi_platform_needs_the_buildset_registry() {
        let given = json!({"zuul": {"change": "1"},
            "docker_images": [{"repository": "org/app", "arch": ["linux/amd64", "linux/arm64"]}]});
        let err = input_error(upload(given.clone(), &Env::default()));
        assert!(err.starts_with("`docker_images[0].arch`"), "{err}");
        let mut with_registry = given;
        with_registry["buildset_registry"] = json!({"host": "10.0.0.1", "port": 5000});
        assert!(matches!(
            push(with_registry).source,
            UploadSource::Buildset(_)
        ));
        // podman pushes a local manifest list whole.
        let podman = container(json!({"container_command": "podman",
            "container_images": [{"repository": "quay.io/org/app", "arch": ["linux/arm64"]}]}));
        assert!(matches!(
            push(podman).source,
            UploadSource::Engine {
                command: ContainerCommand::Podman,
                ..
            }
        ));
    }
}
