//! Inputs of `build-image`: the images to build (`docker_images` /
//! `container_images` by the role family, or one image from flags), each
//! with its context under the work directory, its build flags, the labels
//! Zuul adds, and every reference it ends up under — local tags
//! (`<repo>:<tag>` and `<repo>:<prefix><tag>`, the docker family with
//! `docker_registry/` in front) and, when a buildset registry is known,
//! `<alias>:<port>/<repo without docker.io/>:<tag>`; which engine builds
//! them (the docker family: docker; the container family:
//! `container_command`, podman by default, buildah where podman is absent)
//! and the builder image of a docker multi-platform build.
//!
//! Pure: paths are resolved against the captured `HOME`, programs looked
//! up on the captured `PATH`; whether a context exists is the build's
//! business (`crate::build`), not this one's.

use super::family::{Family, FamilyImages};
use super::{Sources, ZuulVars};
use crate::reference;
use crate::zuul::Error;
use crate::zuul::de::{StringLike, opt_string};
use crate::zuul::images::ImageSpec;
use crate::zuul::job::Zuul;
use crate::zuul::naming;
use crate::zuul::registries::BuildsetRegistry;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

const COMMAND: &str = "build-image";

/// The builder image of the roles (`docker_builder_image`,
/// `container_builder_image`).
pub const DEFAULT_BUILDER_IMAGE: &str = "quay.io/opendevmirror/buildkit:buildx-stable-1";

/// One image given by flags (`--repository` and the flags beside it).
#[derive(Debug, Clone, Default)]
pub struct ImageFlags {
    pub repository: String,
    pub context: Option<String>,
    /// `--tag` (repeatable; default `latest`).
    pub tags: Vec<String>,
    pub file: Option<String>,
    pub path: Option<String>,
    pub target: Option<String>,
    pub build_args: Vec<String>,
    pub labels: Vec<String>,
    pub siblings: Vec<String>,
    pub arch: Vec<String>,
}

/// `build-image`'s flags; each wins over its variable.
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    pub family: Option<Family>,
    /// Build this image instead of the list in the variables.
    pub image: Option<ImageFlags>,
    /// `--engine`: wins over `container_command`.
    pub engine: Option<String>,
    /// `--work-dir`: wins over `zuul_work_dir`.
    pub work_dir: Option<PathBuf>,
    /// `--builder-image`: wins over `docker_builder_image` /
    /// `container_builder_image`.
    pub builder_image: Option<String>,
}

/// The program that builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
    Buildah,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Buildah => "buildah",
        }
    }
}

/// The engine and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineChoice {
    pub kind: EngineKind,
    /// Set when the engine asked for is not installed and another one
    /// stands in (podman → buildah): what to tell the user.
    pub fallback: Option<String>,
}

/// One tag of an image and every reference it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRefs {
    pub tag: String,
    /// Local names: `<repo>:<tag>` first, then `<repo>:<prefix><tag>`.
    pub local: Vec<String>,
    /// `<alias>:<port>/<repo without docker.io/>:<tag>` when a buildset
    /// registry is known.
    pub buildset: Option<String>,
}

/// One image to build, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBuild {
    /// Where the image was given (`docker_images[1]`, `--repository`),
    /// for messages.
    pub origin: String,
    pub repository: String,
    /// The build context directory (the build runs there).
    pub context: PathBuf,
    /// `-f`, relative to the context.
    pub dockerfile: Option<String>,
    pub path: Option<String>,
    pub target: Option<String>,
    /// The image's build args, then `ZUUL_SIBLINGS=…` when it has siblings.
    pub build_args: Vec<String>,
    /// The image's labels, then `org.zuul-ci.change` and
    /// `org.zuul-ci.change_url` when Zuul defines them.
    pub labels: Vec<String>,
    /// Projects under [`Build::sources`] staged into
    /// `<context>/.zuul-siblings`.
    pub siblings: Vec<String>,
    /// `arch`: a multi-platform build when not empty.
    pub platforms: Vec<String>,
    pub tags: Vec<TagRefs>,
}

impl ImageBuild {
    /// Every local name, in build order.
    pub fn local_tags(&self) -> Vec<String> {
        self.tags.iter().flat_map(|t| t.local.clone()).collect()
    }

    /// Every buildset registry reference.
    pub fn buildset_tags(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.buildset.clone())
            .collect()
    }
}

/// What `build-image` does.
#[derive(Debug, Clone)]
pub struct Build {
    pub family: Family,
    pub engine: EngineChoice,
    pub images: Vec<ImageBuild>,
    pub buildset: Option<BuildsetRegistry>,
    /// The buildx builder image of a docker multi-platform build.
    pub builder_image: String,
    /// `container_build_extra_env`: environment of the build command.
    pub env: Vec<(String, String)>,
    /// `~/src`, where siblings are checked out; `None` without `HOME`.
    pub sources: Option<PathBuf>,
}

impl Build {
    /// Whether any image is built for a platform list.
    pub fn multiarch(&self) -> bool {
        self.images.iter().any(|image| !image.platforms.is_empty())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BuildZuul {
    #[serde(deserialize_with = "opt_string")]
    change: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pipeline: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    change_url: Option<String>,
    project: ProjectDir,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProjectDir {
    #[serde(deserialize_with = "opt_string")]
    src_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CommonVars {
    zuul: BuildZuul,
    #[serde(deserialize_with = "opt_string")]
    zuul_work_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DockerVars {
    #[serde(deserialize_with = "opt_string")]
    docker_dockerfile: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    docker_registry: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    docker_builder_image: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerVars {
    #[serde(deserialize_with = "opt_string")]
    container_command: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    container_filename: Option<String>,
    container_build_extra_env: BTreeMap<String, StringLike>,
    #[serde(deserialize_with = "opt_string")]
    container_builder_image: Option<String>,
}

/// What differs between the families once their variables are read.
struct FamilySettings {
    engine: EngineChoice,
    /// Put in front of every local tag (`docker_registry/`).
    local_prefix: String,
    /// `-f` when an image names none.
    dockerfile: Option<String>,
    builder_image: String,
    env: Vec<(String, String)>,
}

impl Build {
    /// Resolve everything `build-image` needs; see the module docs.
    pub fn resolve(sources: &Sources, flags: &BuildFlags) -> Result<Build, Error> {
        let vars = sources.vars;
        let common = vars.section::<CommonVars>()?;
        let listed = match &flags.image {
            Some(_) => None,
            None => FamilyImages::resolve(vars, flags.family)?,
        };
        let family = match (&listed, flags.family) {
            (Some(listed), _) => listed.family,
            (None, Some(family)) => family,
            (None, None) => Family::resolve(vars, None)?.unwrap_or(
                if flags.engine.is_some() || vars.contains("container_command") {
                    Family::Container
                } else {
                    Family::Docker
                },
            ),
        };
        let specs = match (&flags.image, listed) {
            (Some(image), _) => vec![flag_image(image)?],
            (None, Some(listed)) => listed.images,
            (None, None) => {
                return Err(Error::Missing {
                    name: family.source().var().to_owned(),
                    command: format!("{COMMAND}, or pass `--repository`"),
                });
            }
        };
        let settings = family_settings(sources, flags, family)?;
        let zuul = ZuulVars::from_vars(vars)?;
        let buildset = sources.optional_buildset_registry(&zuul)?;
        let work_dir = work_dir(sources, flags, &common);
        let prefix = temp_prefix(&common.zuul);
        let named = vars_or_flag(sources, flags, family);
        let mut images = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            images.push(image_build(
                spec,
                named.origin(index),
                &work_dir,
                &settings,
                &common.zuul,
                prefix.as_deref(),
                buildset.as_ref(),
                &named,
            )?);
        }
        Ok(Build {
            family,
            engine: settings.engine,
            images,
            buildset,
            builder_image: settings.builder_image,
            env: settings.env,
            sources: sources.env.home.as_ref().map(|home| home.join("src")),
        })
    }
}

/// How an error about a field of an image names where it came from.
enum Named<'a> {
    Var(&'a crate::zuul::vars::Vars, &'static str),
    Flag,
}

fn vars_or_flag<'a>(sources: &Sources<'a>, flags: &BuildFlags, family: Family) -> Named<'a> {
    match flags.image {
        Some(_) => Named::Flag,
        None => Named::Var(sources.vars, family.source().var()),
    }
}

impl Named<'_> {
    /// `docker_images[1]`, or `--repository`.
    fn origin(&self, index: usize) -> String {
        match self {
            Named::Var(_, name) => format!("{name}[{index}]"),
            Named::Flag => "--repository".to_owned(),
        }
    }

    fn invalid(&self, origin: &str, field: &str, flag: &str, message: String) -> Error {
        match self {
            Named::Var(vars, name) => vars.invalid(name, &format!("{origin}.{field}"), message),
            Named::Flag => Error::Flag {
                flag: flag.to_owned(),
                message,
            },
        }
    }
}

/// The image `--repository` and the flags beside it describe.
fn flag_image(image: &ImageFlags) -> Result<ImageSpec, Error> {
    let mut value = json!({
        "repository": image.repository,
        "tags": image.tags,
        "build_args": image.build_args,
        "labels": image.labels,
        "siblings": image.siblings,
    });
    for (key, given) in [
        ("context", &image.context),
        ("dockerfile", &image.file),
        ("path", &image.path),
        ("target", &image.target),
    ] {
        if let Some(given) = given {
            value[key] = json!(given);
        }
    }
    if !image.arch.is_empty() {
        value["arch"] = json!(image.arch);
    }
    ImageSpec::from_flags(value)
}

fn family_settings(
    sources: &Sources,
    flags: &BuildFlags,
    family: Family,
) -> Result<FamilySettings, Error> {
    let vars = sources.vars;
    match family {
        Family::Docker => {
            let given = vars.section::<DockerVars>()?;
            if let Some(engine) = flags.engine.as_deref().filter(|e| *e != "docker") {
                return Err(Error::Flag {
                    flag: "--engine".into(),
                    message: format!(
                        "the docker family builds with docker, not `{engine}`: pass `--family container` to build with {engine}"
                    ),
                });
            }
            let registry = given
                .docker_registry
                .map(|r| r.trim_end_matches('/').to_owned())
                .filter(|r| !r.is_empty());
            if let Some(registry) = &registry {
                reference::Reference::parse(&format!("{registry}/x")).map_err(|err| {
                    vars.invalid("docker_registry", "docker_registry", err.to_string())
                })?;
            }
            Ok(FamilySettings {
                engine: EngineChoice {
                    kind: EngineKind::Docker,
                    fallback: None,
                },
                local_prefix: registry.map(|r| format!("{r}/")).unwrap_or_default(),
                dockerfile: Some(
                    given
                        .docker_dockerfile
                        .unwrap_or_else(|| "Dockerfile".to_owned()),
                ),
                builder_image: flags
                    .builder_image
                    .clone()
                    .or(given.docker_builder_image)
                    .unwrap_or_else(|| DEFAULT_BUILDER_IMAGE.to_owned()),
                env: Vec::new(),
            })
        }
        Family::Container => {
            let given = vars.section::<ContainerVars>()?;
            let engine = match (&flags.engine, &given.container_command) {
                (Some(flag), _) => engine_choice(flag, sources).map_err(|message| Error::Flag {
                    flag: "--engine".into(),
                    message,
                })?,
                (None, Some(var)) => engine_choice(var, sources).map_err(|message| {
                    vars.invalid("container_command", "container_command", message)
                })?,
                (None, None) => engine_choice("podman", sources).map_err(|message| {
                    vars.invalid("container_command", "container_command", message)
                })?,
            };
            Ok(FamilySettings {
                engine,
                local_prefix: String::new(),
                dockerfile: given.container_filename.filter(|f| !f.is_empty()),
                builder_image: flags
                    .builder_image
                    .clone()
                    .or(given.container_builder_image)
                    .unwrap_or_else(|| DEFAULT_BUILDER_IMAGE.to_owned()),
                env: given
                    .container_build_extra_env
                    .into_iter()
                    .map(|(key, value)| (key, value.0))
                    .collect(),
            })
        }
    }
}

/// `container_command` (or `--engine`): podman stands in for itself only
/// where it is installed, else buildah does.
fn engine_choice(name: &str, sources: &Sources) -> Result<EngineChoice, String> {
    let program = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name);
    let kind = match program {
        "docker" => EngineKind::Docker,
        "podman" => EngineKind::Podman,
        "buildah" => EngineKind::Buildah,
        other => {
            return Err(format!(
                "`{other}` is not a container engine build-image knows: use `docker`, `podman` or `buildah`"
            ));
        }
    };
    if kind == EngineKind::Podman
        && !sources.env.on_path("podman")
        && sources.env.on_path("buildah")
    {
        return Ok(EngineChoice {
            kind: EngineKind::Buildah,
            fallback: Some("podman is not installed: building with buildah".into()),
        });
    }
    Ok(EngineChoice {
        kind,
        fallback: None,
    })
}

/// `--work-dir`, else `zuul_work_dir`, else `zuul.project.src_dir` (both
/// relative to `HOME`, as Ansible runs commands there), else the current
/// directory.
fn work_dir(sources: &Sources, flags: &BuildFlags, common: &CommonVars) -> PathBuf {
    if let Some(dir) = &flags.work_dir {
        return dir.clone();
    }
    let given = common
        .zuul_work_dir
        .clone()
        .or_else(|| common.zuul.project.src_dir.clone());
    match (given, &sources.env.home) {
        (Some(dir), _) if dir.starts_with("~/") => sources.env.expand_home(&dir),
        (Some(dir), Some(home)) => home.join(dir),
        (Some(dir), None) => PathBuf::from(dir),
        (None, _) => PathBuf::from("."),
    }
}

/// The temporary tag prefix, `None` when Zuul gives neither a change nor a
/// pipeline (a build by hand).
fn temp_prefix(zuul: &BuildZuul) -> Option<String> {
    let zuul = Zuul {
        change: zuul.change.clone(),
        pipeline: zuul.pipeline.clone(),
        ..Zuul::default()
    };
    naming::temp_tag_prefix(&zuul).ok()
}

/// `linux/amd64`, `linux/arm/v7`: two or three non-empty segments.
fn valid_platform(platform: &str) -> bool {
    let parts: Vec<&str> = platform.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// A sibling path: relative, without `..`.
fn valid_sibling(sibling: &str) -> bool {
    let path = Path::new(sibling);
    !sibling.is_empty()
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
}

#[allow(clippy::too_many_arguments)]
fn image_build(
    spec: &ImageSpec,
    origin: String,
    work_dir: &Path,
    settings: &FamilySettings,
    zuul: &BuildZuul,
    prefix: Option<&str>,
    buildset: Option<&BuildsetRegistry>,
    named: &Named,
) -> Result<ImageBuild, Error> {
    let platforms = spec.arch.clone().unwrap_or_default();
    for (index, platform) in platforms.iter().enumerate() {
        if !valid_platform(platform) {
            return Err(named.invalid(
                &origin,
                &format!("arch[{index}]"),
                "--arch",
                format!("`{platform}` is not a platform such as `linux/amd64`"),
            ));
        }
    }
    for (index, sibling) in spec.siblings.iter().enumerate() {
        if !valid_sibling(sibling) {
            return Err(named.invalid(
                &origin,
                &format!("siblings[{index}]"),
                "--sibling",
                format!("`{sibling}` must be a project path relative to `~/src`, such as `opendev.org/org/lib`"),
            ));
        }
    }
    let context = work_dir.join(spec.context.as_deref().unwrap_or("."));
    let mut build_args = spec.build_args.clone();
    if !spec.siblings.is_empty() {
        build_args.push(format!("ZUUL_SIBLINGS={}", spec.siblings.join(" ")));
    }
    let mut labels = spec.labels.clone();
    if let Some(change) = &zuul.change {
        labels.push(format!("org.zuul-ci.change={change}"));
    }
    if let Some(url) = &zuul.change_url {
        labels.push(format!("org.zuul-ci.change_url={url}"));
    }
    let local_repo = format!("{}{}", settings.local_prefix, spec.repository);
    let tags = spec
        .tags
        .iter()
        .map(|tag| {
            let mut local = vec![format!("{local_repo}:{tag}")];
            if let Some(prefix) = prefix {
                local.push(format!("{local_repo}:{prefix}{tag}"));
            }
            TagRefs {
                tag: tag.clone(),
                local,
                buildset: buildset.map(|registry| {
                    format!(
                        "{}/{}:{tag}",
                        registry.alias_address(),
                        spec.buildset_path()
                    )
                }),
            }
        })
        .collect();
    let dockerfile = spec
        .dockerfile
        .clone()
        .filter(|file| !file.is_empty())
        .or_else(|| settings.dockerfile.clone());
    Ok(ImageBuild {
        origin,
        repository: spec.repository.clone(),
        context,
        dockerfile,
        path: spec.path.clone().filter(|p| !p.is_empty()),
        target: spec.target.clone().filter(|t| !t.is_empty()),
        build_args,
        labels,
        siblings: spec.siblings.clone(),
        platforms,
        tags,
    })
}

#[cfg(test)]
mod tests;
