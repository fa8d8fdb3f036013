//! `promote-image`'s input: the images and their final registries
//! ([`Publish`]), the temporary tag prefix, and the method:
//!
//! - `tag` (default): retag `<prefix><tag>` to `<tag>` in the final
//!   registry, delete the temporary tag, then delete temporary tags
//!   (`remove_registry_tag_regex`, default `^change_.*$|^<pipeline>_.*$`)
//!   older than `remove_registry_tag_age` (default 86400 s). Deleting on
//!   Docker Hub needs a user name and password, on Quay an `api_token`:
//!   both are checked here, before anything changes.
//! - `intermediate-registry` (container family, or `--method`): copy each
//!   image from the intermediate registry, as the gate build's artifacts
//!   name it in Zuul's builds API.

use super::Sources;
use super::publish::{ImageFlags, Publish};
use crate::zuul::Error;
use crate::zuul::builds;
use crate::zuul::de::opt_string;
use crate::zuul::inputs::family::Family;
use crate::zuul::registries::{IntermediateRegistry, RegistryKind};
use serde::Deserialize;
use std::time::Duration;

const PROMOTE: &str = "promote-image";

/// How to promote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Retag the temporary tag in the final registry.
    Tag,
    /// Copy from the intermediate registry, as Zuul's builds API says.
    IntermediateRegistry,
}

/// `promote-image`'s flags.
#[derive(Debug, Clone, Default)]
pub struct PromoteFlags {
    pub images: ImageFlags,
    /// `--method`: wins over `promote_container_image_method`.
    pub method: Option<Method>,
    /// `--api-url`: wins over `remove_registry_tag_api_url`.
    pub api_url: Option<String>,
}

/// What `promote-image` does.
#[derive(Debug)]
pub struct Promote {
    pub publish: Publish,
    pub method: PromoteMethod,
}

#[derive(Debug)]
pub enum PromoteMethod {
    Tag(TagMethod),
    Intermediate(IntermediateMethod),
}

/// The `tag` method's settings.
#[derive(Debug, Clone)]
pub struct TagMethod {
    /// `change_<N>_` or `<pipeline>_`.
    pub prefix: String,
    /// Temporary tags to clean up, and their pattern as given.
    pub cleanup: (String, regex::Regex),
    /// Only tags older than this are cleaned up.
    pub max_age: Duration,
    /// The base URL of the registry's own API (Hub: `…/v2`, Quay:
    /// `…/api/v1`) instead of the default; `None`: the default.
    pub api_url: Option<String>,
}

/// The `intermediate-registry` method's settings.
#[derive(Debug, Clone)]
pub struct IntermediateMethod {
    /// `<promote_container_image_api>/builds?<query>`.
    pub builds_url: String,
    /// `intermediate_registry` when given: its CA and credentials are used
    /// for the artifacts that point at it.
    pub intermediate: Option<IntermediateRegistry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MethodVar {
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CleanupVars {
    #[serde(deserialize_with = "opt_string")]
    remove_registry_tag_regex: Option<String>,
    remove_registry_tag_age: Option<serde_json::Value>,
    #[serde(deserialize_with = "opt_string")]
    remove_registry_tag_api_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ApiVars {
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_api: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_pipeline: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_job: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    promote_container_image_query: Option<String>,
}

impl Promote {
    pub fn resolve(sources: &Sources, flags: &PromoteFlags) -> Result<Promote, Error> {
        let vars = sources.vars;
        let publish = Publish::resolve(vars, &flags.images, PROMOTE)?;
        let method = match (flags.method, publish.family) {
            (Some(method), _) => method,
            (None, Family::Docker) => Method::Tag,
            (None, Family::Container) => {
                match vars
                    .section::<MethodVar>()?
                    .promote_container_image_method
                    .as_deref()
                    .unwrap_or("tag")
                {
                    "tag" => Method::Tag,
                    "intermediate-registry" => Method::IntermediateRegistry,
                    other => {
                        return Err(vars.invalid(
                            "promote_container_image_method",
                            "promote_container_image_method",
                            format!("`{other}` is neither `tag` nor `intermediate-registry`"),
                        ));
                    }
                }
            }
        };
        let method = match method {
            Method::Tag => PromoteMethod::Tag(tag_method(sources, flags, &publish)?),
            Method::IntermediateRegistry => {
                PromoteMethod::Intermediate(intermediate_method(sources, &publish)?)
            }
        };
        Ok(Promote { publish, method })
    }
}

fn tag_method(
    sources: &Sources,
    flags: &PromoteFlags,
    publish: &Publish,
) -> Result<TagMethod, Error> {
    let vars = sources.vars;
    let prefix = publish.prefix()?;
    let section = vars.section::<CleanupVars>()?;
    let pattern = match section.remove_registry_tag_regex {
        Some(pattern) => pattern,
        None => crate::zuul::naming::cleanup_pattern(
            publish.zuul.pipeline.as_deref().unwrap_or_default(),
        ),
    };
    let compiled = regex::Regex::new(&pattern).map_err(|err| {
        vars.invalid(
            "remove_registry_tag_regex",
            "remove_registry_tag_regex",
            format!(
                "`{pattern}` is not a valid regular expression: {}",
                err.to_string().lines().last().unwrap_or_default().trim()
            ),
        )
    })?;
    let max_age = match &section.remove_registry_tag_age {
        None => Duration::from_secs(86400),
        Some(value) => {
            let seconds = match value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(text) => text.trim().parse::<u64>().ok(),
                _ => None,
            };
            Duration::from_secs(seconds.ok_or_else(|| {
                vars.invalid(
                    "remove_registry_tag_age",
                    "remove_registry_tag_age",
                    format!("expected a whole number of seconds, found `{value}`"),
                )
            })?)
        }
    };
    let api_url = match (&flags.api_url, section.remove_registry_tag_api_url) {
        (Some(flag), _) => Some(check_url(flag).map_err(|message| Error::Flag {
            flag: "--api-url".into(),
            message,
        })?),
        (None, Some(var)) => Some(check_url(&var).map_err(|message| {
            vars.invalid(
                "remove_registry_tag_api_url",
                "remove_registry_tag_api_url",
                message,
            )
        })?),
        (None, None) => None,
    };
    for registry in &publish.registries {
        let var = registry
            .credentials_var
            .clone()
            .unwrap_or_else(|| match publish.family {
                Family::Docker => "docker_credentials".to_owned(),
                Family::Container => format!("container_registry_credentials.{}", registry.address),
            });
        match registry.kind {
            RegistryKind::DockerHub if registry.login.is_none() => {
                // Docker Hub deletes tags only through its web API, which
                // takes a user name and password.
                return Err(Error::Missing {
                    name: var,
                    command: PROMOTE.into(),
                });
            }
            RegistryKind::Quay if registry.api_token.is_none() => {
                return Err(Error::Missing {
                    name: format!("{var}.api_token"),
                    command: PROMOTE.into(),
                });
            }
            _ => {}
        }
    }
    Ok(TagMethod {
        prefix,
        cleanup: (pattern, compiled),
        max_age,
        api_url,
    })
}

fn check_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|err| format!("`{text}` is not a URL: {err}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!("`{text}` is not an http(s) URL"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn intermediate_method(sources: &Sources, publish: &Publish) -> Result<IntermediateMethod, Error> {
    let vars = sources.vars;
    let section = vars.section::<ApiVars>()?;
    let missing = |name: &str| Error::Missing {
        name: name.to_owned(),
        command: format!("{PROMOTE} --method intermediate-registry"),
    };
    let api = section
        .promote_container_image_api
        .ok_or_else(|| missing("promote_container_image_api"))?;
    check_url(&api).map_err(|message| {
        vars.invalid(
            "promote_container_image_api",
            "promote_container_image_api",
            message,
        )
    })?;
    let query = match section.promote_container_image_query {
        Some(query) => query,
        None => {
            let zuul = &publish.zuul;
            builds::default_query(
                zuul.change
                    .as_deref()
                    .ok_or_else(|| missing("zuul.change"))?,
                zuul.patchset
                    .as_deref()
                    .ok_or_else(|| missing("zuul.patchset"))?,
                &section
                    .promote_container_image_pipeline
                    .ok_or_else(|| missing("promote_container_image_pipeline"))?,
                &section
                    .promote_container_image_job
                    .ok_or_else(|| missing("promote_container_image_job"))?,
            )
        }
    };
    let intermediate = if vars.contains("intermediate_registry") {
        Some(IntermediateRegistry::from_vars(vars, PROMOTE)?)
    } else {
        None
    };
    Ok(IntermediateMethod {
        builds_url: builds::builds_url(&api, &query),
        intermediate,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::super::tests::{input_error, with_sources};
    use super::*;
    use serde_json::{Value, json};

    fn promote(given: Value, flags: &PromoteFlags) -> Result<Promote, Error> {
        with_sources(given, &Env::default(), |sources| {
            Promote::resolve(sources, flags)
        })
    }

    fn tag(given: Value) -> TagMethod {
        match promote(given, &PromoteFlags::default()).unwrap().method {
            PromoteMethod::Tag(tag) => tag,
            other => panic!("{other:?}"),
        }
    }

    fn hub() -> Value {
        json!({
            "zuul": {"change": "1003", "pipeline": "promote"},
            "docker_images": [{"repository": "org/app"}],
            "docker_credentials": {"username": "bot", "password": "pw"},
        })
    }

    #[test]
    fn tag_method_defaults() {
        let method = tag(hub());
        assert_eq!(method.prefix, "change_1003_");
        assert_eq!(method.cleanup.0, "^change_.*$|^promote_.*$");
        assert!(method.cleanup.1.is_match("change_1_latest"));
        assert!(method.cleanup.1.is_match("promote_latest"));
        assert!(!method.cleanup.1.is_match("latest"));
        assert!(!method.cleanup.1.is_match("gate_latest"));
        assert_eq!(method.max_age, Duration::from_secs(86400));
        assert_eq!(method.api_url, None);

        let mut given = hub();
        given["remove_registry_tag_regex"] = json!("^tmp-");
        given["remove_registry_tag_age"] = json!("3600");
        given["remove_registry_tag_api_url"] = json!("http://127.0.0.1:8080/v2/");
        let method = tag(given.clone());
        assert_eq!(method.cleanup.0, "^tmp-");
        assert_eq!(method.max_age, Duration::from_secs(3600));
        assert_eq!(method.api_url.as_deref(), Some("http://127.0.0.1:8080/v2"));
        let flags = PromoteFlags {
            api_url: Some("https://hub.example.org/v2".into()),
            ..PromoteFlags::default()
        };
        match promote(given, &flags).unwrap().method {
            PromoteMethod::Tag(method) => {
                assert_eq!(
                    method.api_url.as_deref(),
                    Some("https://hub.example.org/v2")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deleting_needs_the_registrys_api_credentials() {
        let mut given = hub();
        given.as_object_mut().unwrap().remove("docker_credentials");
        let err = input_error(promote(given, &PromoteFlags::default()));
        assert!(
            err.starts_with("missing variable `docker_credentials`"),
            "{err}"
        );
        let quay = json!({"zuul": {"change": "1"},
            "container_images": [{"repository": "quay.io/org/app", "registry": "quay.io"}],
            "container_registry_credentials": {"quay.io": {"username": "u", "password": "p"}}});
        let err = input_error(promote(quay, &PromoteFlags::default()));
        assert_eq!(
            err,
            "missing variable `container_registry_credentials.quay.io.api_token` (needed by `promote-image`)"
        );
        // A plain registry deletes through the distribution API.
        let oci = json!({"zuul": {"change": "1"},
            "container_images": [{"repository": "127.0.0.1:5000/org/app"}]});
        assert!(promote(oci, &PromoteFlags::default()).is_ok());
    }

    #[test]
    fn bad_cleanup_settings() {
        for (key, value, want) in [
            (
                "remove_registry_tag_regex",
                json!("^(change"),
                "`remove_registry_tag_regex`",
            ),
            (
                "remove_registry_tag_age",
                json!("a day"),
                "`remove_registry_tag_age`",
            ),
            (
                "remove_registry_tag_age",
                json!(-1),
                "`remove_registry_tag_age`",
            ),
            (
                "remove_registry_tag_api_url",
                json!("hub.docker.com"),
                "`remove_registry_tag_api_url`",
            ),
        ] {
            let mut given = hub();
            given[key] = value;
            let err = input_error(promote(given, &PromoteFlags::default()));
            assert!(err.starts_with(want), "{err}");
        }
        let mut given = hub();
        given["zuul"] = json!({});
        let err = input_error(promote(given, &PromoteFlags::default()));
        assert!(err.contains("temporary tag prefix"), "{err}");
    }

    #[test]
    fn intermediate_registry_method() {
        let given = json!({
            "zuul": {"change": 1003, "patchset": 2, "pipeline": "promote"},
            "container_images": [{"repository": "quay.io/example/app"}],
            "promote_container_image_method": "intermediate-registry",
            "promote_container_image_api": "https://zuul.example.org/api/tenant/example",
            "promote_container_image_pipeline": "gate",
            "promote_container_image_job": "upload-image",
            "intermediate_registry": {"host": "ireg.example.org", "port": 5000},
        });
        let method = match promote(given.clone(), &PromoteFlags::default())
            .unwrap()
            .method
        {
            PromoteMethod::Intermediate(method) => method,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            method.builds_url,
            "https://zuul.example.org/api/tenant/example/builds?change=1003&patchset=2&pipeline=gate&job_name=upload-image"
        );
        assert_eq!(
            method.intermediate.unwrap().address(),
            "ireg.example.org:5000"
        );
        // A query of one's own replaces the default and what it needs.
        let mut custom = given.clone();
        custom["promote_container_image_query"] = json!("ref=refs/tags/1.0&job_name=release");
        custom
            .as_object_mut()
            .unwrap()
            .remove("promote_container_image_job");
        match promote(custom, &PromoteFlags::default()).unwrap().method {
            PromoteMethod::Intermediate(method) => assert!(
                method
                    .builds_url
                    .ends_with("/builds?ref=refs/tags/1.0&job_name=release")
            ),
            other => panic!("{other:?}"),
        }
        let mut missing = given.clone();
        missing
            .as_object_mut()
            .unwrap()
            .remove("promote_container_image_job");
        let err = input_error(promote(missing, &PromoteFlags::default()));
        assert!(
            err.starts_with("missing variable `promote_container_image_job`"),
            "{err}"
        );
        // No credentials are needed to copy (the final registry's come from the variables or auth files).
        let mut flagged = given;
        flagged["promote_container_image_method"] = json!("tag");
        let flags = PromoteFlags {
            method: Some(Method::IntermediateRegistry),
            ..PromoteFlags::default()
        };
        assert!(matches!(
            promote(flagged, &flags).unwrap().method,
            PromoteMethod::Intermediate(_)
        ));
    }
}
