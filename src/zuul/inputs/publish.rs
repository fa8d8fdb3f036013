//! What `upload-image` and `promote-image` share: each image of the
//! family's list with its final registry (address, repository path,
//! credentials, trust, kind), the credentials' `repository` permission
//! check for every image before anything happens, and the temporary tag
//! prefix.
//!
//! The docker family publishes `[<docker_registry>/]<repository>` with
//! `docker_credentials`; the container family publishes `<repository>`
//! (which names its registry) with `container_registry_credentials`
//! keyed by the image's `registry`. A `repository` pattern is a regular
//! expression with search semantics (Python's `re.search`, as the roles
//! use it): `^` anchors it, nothing else does.

use super::family::{Family, FamilyImages};
use crate::reference::{self, Reference};
use crate::secret::Secret;
use crate::zuul::Error;
use crate::zuul::de::opt_string;
use crate::zuul::images::ImageSpec;
use crate::zuul::job::Zuul;
use crate::zuul::naming;
use crate::zuul::registries::{ContainerRegistryCredentials, DockerCredentials, RegistryKind};
use crate::zuul::vars::Vars;
use serde::Deserialize;

/// A user name and password for a final registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: Secret,
}

/// One final registry and how to reach it.
#[derive(Debug, Clone)]
pub struct FinalRegistry {
    /// `host[:port]` as in image references; `docker.io` for Docker Hub.
    pub address: String,
    pub kind: RegistryKind,
    pub login: Option<Login>,
    /// Quay's API token (tag deletion).
    pub api_token: Option<Secret>,
    /// The credentials' `api_url` (a Quay installation's base URL).
    pub api_url: Option<String>,
    /// A certificate to trust, with the key path it came from.
    pub cert: Option<(String, String)>,
    /// The variable holding its credentials (`docker_credentials`,
    /// `container_registry_credentials.quay.io`), for messages.
    pub credentials_var: Option<String>,
}

/// One image to publish.
#[derive(Debug, Clone)]
pub struct FinalImage {
    pub spec: ImageSpec,
    /// Where it was given (`docker_images[0]`, `--repository`).
    pub key: String,
    /// Its registry: an index into [`Publish::registries`].
    pub registry: usize,
    /// The repository path inside the final registry (`org/app`).
    pub path: String,
    /// Its name in the engine's local storage, without a tag:
    /// `[<docker_registry>/]<repository>` (docker), `<repository>`
    /// (container).
    pub local: String,
}

/// The images of an upload or promotion and their registries.
#[derive(Debug, Clone)]
pub struct Publish {
    pub family: Family,
    pub images: Vec<FinalImage>,
    pub registries: Vec<FinalRegistry>,
    pub zuul: Zuul,
}

/// `--repository` and `--tag`: one image by hand instead of the list.
#[derive(Debug, Clone, Default)]
pub struct ImageFlags {
    pub family: Option<Family>,
    pub repository: Option<String>,
    pub tags: Vec<String>,
}

/// The parts of `zuul` these commands read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ZuulItem {
    #[serde(deserialize_with = "opt_string")]
    change: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    patchset: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pipeline: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ZuulSection {
    zuul: ZuulItem,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DockerVars {
    #[serde(deserialize_with = "opt_string")]
    docker_registry: Option<String>,
    docker_credentials: Option<DockerCredentials>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerVars {
    container_registry_credentials: Option<ContainerRegistryCredentials>,
}

impl Publish {
    /// The images (the family's list, or the flags), each with its
    /// registry, every permission pattern checked against every
    /// repository. `command` names the command in "missing" errors.
    pub fn resolve(vars: &Vars, flags: &ImageFlags, command: &str) -> Result<Publish, Error> {
        let item = vars.section::<ZuulSection>()?.zuul;
        let zuul = Zuul {
            change: item.change,
            patchset: item.patchset,
            pipeline: item.pipeline,
            ..Zuul::default()
        };
        let (family, specs) = match &flags.repository {
            Some(repository) => {
                let spec = super::intermediate::flag_image(repository, &flags.tags)?;
                let family = flags.family.unwrap_or(Family::Docker);
                (family, vec![("--repository".to_owned(), spec)])
            }
            None => {
                let found = FamilyImages::resolve(vars, flags.family)?;
                let Some(FamilyImages { family, images }) = found else {
                    return Err(Error::Missing {
                        name: match flags.family {
                            Some(family) => family.source().var().to_owned(),
                            None => "docker_images` or `container_images".to_owned(),
                        },
                        command: command.to_owned(),
                    });
                };
                let var = family.source().var();
                let keyed = images
                    .into_iter()
                    .enumerate()
                    .map(|(index, spec)| (format!("{var}[{index}]"), spec))
                    .collect();
                (family, keyed)
            }
        };
        let mut publish = Publish {
            family,
            images: Vec::new(),
            registries: Vec::new(),
            zuul,
        };
        match family {
            Family::Docker => publish.add_docker(vars, specs)?,
            Family::Container => publish.add_container(vars, specs)?,
        }
        Ok(publish)
    }

    /// `change_<N>_` or `<pipeline>_`.
    pub fn prefix(&self) -> Result<String, Error> {
        naming::temp_tag_prefix(&self.zuul)
    }

    /// The registry of `image`.
    pub fn registry_of(&self, image: &FinalImage) -> &FinalRegistry {
        &self.registries[image.registry]
    }

    /// Whether any image is built for several platforms (`arch`).
    pub fn any_multi_platform(&self) -> Option<&FinalImage> {
        self.images
            .iter()
            .find(|image| image.spec.arch.as_ref().is_some_and(|a| !a.is_empty()))
    }

    fn add_docker(&mut self, vars: &Vars, specs: Vec<(String, ImageSpec)>) -> Result<(), Error> {
        let section = vars.section::<DockerVars>()?;
        let prefix = section.docker_registry.unwrap_or_default();
        let prefix = prefix.trim().trim_end_matches('/').to_owned();
        if !prefix.is_empty() {
            reference::validate_host(&prefix).map_err(|err| {
                vars.invalid("docker_registry", "docker_registry", err.to_string())
            })?;
        }
        let credentials = section.docker_credentials;
        const VAR: &str = "docker_credentials";
        let (login, pattern, kind, cert) = match &credentials {
            Some(given) => (
                Some(Login {
                    username: given.username.clone(),
                    password: given.password.clone(),
                }),
                given.repository.as_deref(),
                given.kind.as_deref(),
                given.cert.clone(),
            ),
            None => (None, None, None, None),
        };
        let pattern = compile(vars, VAR, VAR, pattern)?;
        check_cert(vars, VAR, VAR, cert.as_deref())?;
        let kind = RegistryKind::of(kind, &prefix)
            .map_err(|message| vars.invalid(VAR, &format!("{VAR}.type"), message))?;
        for (key, spec) in specs {
            let local = if prefix.is_empty() {
                spec.repository.clone()
            } else {
                format!("{prefix}/{}", spec.repository)
            };
            let parsed = parse(vars, &key, &local)?;
            permit(&pattern, &spec.repository, VAR)?;
            let registry = self.registry(FinalRegistry {
                address: parsed.registry.clone(),
                kind,
                login: login.clone(),
                api_token: None,
                api_url: None,
                cert: cert.clone().map(|pem| (format!("{VAR}.cert"), pem)),
                credentials_var: credentials.as_ref().map(|_| VAR.to_owned()),
            });
            self.images.push(FinalImage {
                spec,
                key,
                registry,
                path: parsed.path,
                local,
            });
        }
        Ok(())
    }

    fn add_container(&mut self, vars: &Vars, specs: Vec<(String, ImageSpec)>) -> Result<(), Error> {
        const VAR: &str = "container_registry_credentials";
        let all = vars
            .section::<ContainerVars>()?
            .container_registry_credentials;
        for (key, spec) in specs {
            let parsed = parse(vars, &key, &spec.repository)?;
            let name = spec
                .registry
                .clone()
                .unwrap_or_else(|| parsed.registry.clone());
            let entry = match &all {
                None => None,
                Some(all) => Some(all.get(&name).ok_or_else(|| Error::CredentialsNotFound {
                    registry: name.clone(),
                    image: key.clone(),
                })?),
            };
            let var = format!("{VAR}.{name}");
            let login = match entry.map(|e| (&e.username, &e.password)) {
                Some((Some(username), Some(password))) => Some(Login {
                    username: username.clone(),
                    password: password.clone(),
                }),
                Some((Some(_), None)) => {
                    return Err(vars.invalid(
                        VAR,
                        &format!("{var}.password"),
                        "a `username` needs a `password`",
                    ));
                }
                _ => None,
            };
            let pattern = compile(vars, VAR, &var, entry.and_then(|e| e.repository.as_deref()))?;
            permit(&pattern, &spec.repository, &var)?;
            let cert = entry.and_then(|e| e.cert.clone());
            check_cert(vars, VAR, &var, cert.as_deref())?;
            let kind = RegistryKind::of(entry.and_then(|e| e.kind.as_deref()), &name)
                .map_err(|message| vars.invalid(VAR, &format!("{var}.type"), message))?;
            let registry = self.registry(FinalRegistry {
                address: parsed.registry.clone(),
                kind,
                login,
                api_token: entry.and_then(|e| e.api_token.clone()),
                api_url: entry.and_then(|e| e.api_url.clone()),
                cert: cert.map(|pem| (format!("{var}.cert"), pem)),
                credentials_var: entry.map(|_| var.clone()),
            });
            self.images.push(FinalImage {
                local: spec.repository.clone(),
                spec,
                key,
                registry,
                path: parsed.path,
            });
        }
        Ok(())
    }

    /// The index of `registry`, added unless one with its address is there.
    fn registry(&mut self, registry: FinalRegistry) -> usize {
        if let Some(index) = self
            .registries
            .iter()
            .position(|known| known.address == registry.address)
        {
            return index;
        }
        self.registries.push(registry);
        self.registries.len() - 1
    }
}

/// The registry and path `name` (a repository, no tag) stands for.
fn parse(vars: &Vars, key: &str, name: &str) -> Result<Reference, Error> {
    let var = key.split('[').next().unwrap_or(key);
    Reference::parse(name).map_err(|err| {
        if key.starts_with("--") {
            Error::Flag {
                flag: key.to_owned(),
                message: err.to_string(),
            }
        } else {
            vars.invalid(var, &format!("{key}.repository"), err.to_string())
        }
    })
}

/// A permission pattern, compiled; `None` when there is none.
fn compile(
    vars: &Vars,
    name: &str,
    var: &str,
    pattern: Option<&str>,
) -> Result<Option<(String, regex::Regex)>, Error> {
    pattern
        .map(|text| {
            regex::Regex::new(text)
                .map(|compiled| (text.to_owned(), compiled))
                .map_err(|err| {
                    let reason = err.to_string();
                    let reason = reason.lines().last().unwrap_or_default().trim();
                    vars.invalid(
                        name,
                        &format!("{var}.repository"),
                        format!("`{text}` is not a valid regular expression: {reason}"),
                    )
                })
        })
        .transpose()
}

/// `repository` matches the pattern somewhere (search semantics).
fn permit(
    pattern: &Option<(String, regex::Regex)>,
    repository: &str,
    var: &str,
) -> Result<(), Error> {
    match pattern {
        Some((text, compiled)) if !compiled.is_match(repository) => Err(Error::NotPermitted {
            repository: repository.to_owned(),
            regex: text.clone(),
            var: var.to_owned(),
        }),
        _ => Ok(()),
    }
}

fn check_cert(vars: &Vars, name: &str, var: &str, cert: Option<&str>) -> Result<(), Error> {
    match cert {
        Some(pem) if !pem.contains("-----BEGIN CERTIFICATE-----") => Err(vars.invalid(
            name,
            &format!("{var}.cert"),
            "expected a PEM certificate (`-----BEGIN CERTIFICATE-----`)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{PEM, input_error, vars};
    use super::*;
    use serde_json::{Value, json};

    fn resolve(given: Value, family: Option<Family>) -> Result<Publish, Error> {
        let flags = ImageFlags {
            family,
            ..ImageFlags::default()
        };
        Publish::resolve(&vars(given), &flags, "upload-image")
    }

    #[test]
    fn docker_family_targets() {
        let given = json!({
            "zuul": {"change": 42, "pipeline": "gate"},
            "docker_images": [{"repository": "org/app"}, {"repository": "tool"}],
            "docker_credentials": {"username": "bot", "password": "pw", "repository": "^(org/|tool)"},
        });
        let publish = resolve(given.clone(), None).unwrap();
        assert_eq!(publish.family, Family::Docker);
        assert_eq!(publish.prefix().unwrap(), "change_42_");
        assert_eq!(publish.registries.len(), 1);
        let hub = &publish.registries[0];
        assert_eq!(
            (hub.address.as_str(), hub.kind),
            ("docker.io", RegistryKind::DockerHub)
        );
        assert_eq!(hub.login.as_ref().unwrap().username, "bot");
        assert_eq!(publish.images[0].path, "org/app");
        assert_eq!(publish.images[1].path, "library/tool");
        assert_eq!(publish.images[1].local, "tool");

        let mut private = given;
        private["docker_registry"] = json!("127.0.0.1:5000/");
        let publish = resolve(private, None).unwrap();
        let registry = &publish.registries[0];
        assert_eq!(
            (registry.address.as_str(), registry.kind),
            ("127.0.0.1:5000", RegistryKind::Oci)
        );
        assert_eq!(publish.images[0].local, "127.0.0.1:5000/org/app");
        assert_eq!(publish.images[0].path, "org/app");
        assert_eq!(publish.images[1].path, "tool");
    }

    #[test]
    fn container_family_targets() {
        let given = json!({
            "zuul": {"pipeline": "periodic"},
            "container_images": [
                {"repository": "quay.io/org/app", "registry": "quay.io"},
                {"repository": "127.0.0.1:5000/org/tool", "tags": ["1"]},
            ],
            "container_registry_credentials": {
                "quay.io": {"username": "u", "password": "p", "api_token": "t", "repository": "org/"},
                "127.0.0.1:5000": {"username": "u", "password": "p", "type": "quay", "cert": PEM},
            },
        });
        let publish = resolve(given, None).unwrap();
        assert_eq!(publish.prefix().unwrap(), "periodic_");
        let quay = publish.registry_of(&publish.images[0]);
        assert_eq!(quay.kind, RegistryKind::Quay);
        assert!(quay.api_token.is_some());
        assert_eq!(publish.images[0].path, "org/app");
        let other = publish.registry_of(&publish.images[1]);
        assert_eq!(
            (other.address.as_str(), other.kind),
            ("127.0.0.1:5000", RegistryKind::Quay)
        );
        assert_eq!(
            other.cert.as_ref().unwrap().0,
            "container_registry_credentials.127.0.0.1:5000.cert"
        );
        assert_eq!(publish.images[1].local, "127.0.0.1:5000/org/tool");
    }

    #[test]
    fn patterns_search_the_repository() {
        for (pattern, repository, permitted) in [
            ("org/", "quay.io/org/app", true),
            ("^org/", "quay.io/org/app", false),
            ("^quay.io/org/.*", "quay.io/org/app", true),
            ("app$", "quay.io/org/app", true),
            ("^quay.io/other", "quay.io/org/app", false),
        ] {
            let given = json!({
                "container_images": [{"repository": repository, "registry": "quay.io"}],
                "container_registry_credentials": {"quay.io": {"repository": pattern}},
            });
            let result = resolve(given, None);
            assert_eq!(result.is_ok(), permitted, "{pattern} {repository}");
            if !permitted {
                assert_eq!(
                    input_error(result),
                    format!(
                        "`{repository}` not permitted by `{pattern}` (`container_registry_credentials.quay.io.repository`)"
                    )
                );
            }
        }
    }

    #[test]
    fn bad_input_names_the_variable() {
        let docker = |credentials: Value| json!({"docker_images": [{"repository": "org/app"}], "docker_credentials": credentials});
        for (given, want) in [
            (
                docker(json!({"username": "u", "password": "p", "repository": "^org/(app"})),
                "`docker_credentials.repository` (from vars.yaml): `^org/(app` is not a valid regular expression",
            ),
            (
                docker(json!({"username": "u", "password": "p", "repository": "^other/"})),
                "`org/app` not permitted by `^other/` (`docker_credentials.repository`)",
            ),
            (
                docker(json!({"username": "u", "password": "p", "cert": "nope"})),
                "`docker_credentials.cert`",
            ),
            (docker(json!({"username": "u"})), "`docker_credentials`"),
            (
                json!({"container_images": [{"repository": "quay.io/org/app", "registry": "quay.io"}],
                       "container_registry_credentials": {"docker.io": {}}}),
                "`quay.io` credentials not found in `container_registry_credentials` (needed by `container_images[0]`)",
            ),
            (
                json!({"container_images": [{"repository": "quay.io/org/app"}],
                       "container_registry_credentials": {"quay.io": {"username": "u"}}}),
                "`container_registry_credentials.quay.io.password`",
            ),
            (
                json!({"container_images": [{"repository": "quay.io/org/app"}],
                       "container_registry_credentials": {"quay.io": {"type": "gcr"}}}),
                "`container_registry_credentials.quay.io.type`",
            ),
            (
                json!({"docker_images": [{"repository": "org/app"}], "docker_registry": "bad host"}),
                "`docker_registry`",
            ),
            (
                json!({}),
                "missing variable `docker_images` or `container_images`",
            ),
        ] {
            let err = input_error(resolve(given.clone(), None));
            assert!(err.starts_with(want), "{given}: {err}");
            assert!(!err.contains("\"p\""), "{err}");
        }
        let err = input_error(resolve(json!({}), Some(Family::Container)));
        assert_eq!(
            err,
            "missing variable `container_images` (needed by `upload-image`)"
        );
    }

    #[test]
    fn the_other_familys_variables_are_not_read() {
        let given = json!({
            "container_images": [{"repository": "quay.io/org/app"}],
            "docker_credentials": "not read",
            "docker_registry": ["not", "read"],
        });
        assert!(resolve(given, None).is_ok());
    }

    #[test]
    fn one_image_by_flags() {
        let flags = ImageFlags {
            family: None,
            repository: Some("127.0.0.1:5000/org/app".into()),
            tags: vec!["v1".into()],
        };
        let publish = Publish::resolve(&vars(json!({})), &flags, "promote-image").unwrap();
        assert_eq!(publish.images[0].key, "--repository");
        assert_eq!(publish.images[0].spec.tags, ["v1"]);
        assert_eq!(publish.registries[0].address, "127.0.0.1:5000");
    }
}
