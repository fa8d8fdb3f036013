//! A recording fake [`Engine`] for unit tests of the commands that drive
//! an engine: it keeps local images in memory (built, tagged, given), logs
//! the output lines it is told to, fails the builds and pushes it is told
//! to, and records every call in order. Pushes record the registry and user
//! of their credentials, never the password. It keeps manifest lists like
//! podman, or, [`Recording::without_lists`], only one platform like docker.
//! [`Script`] is a recording [`Runner`] of CLI commands with canned
//! answers. Test-only: real engines are tested against the real programs
//! (tests/engine.rs).

use super::cli::Runner;
use super::{Answer, BuildLog, BuildSpec, Built, Engine, Error, ImageInfo, RegistryAuth};
use crate::host::services;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Build(BuildSpec),
    Tag {
        source: String,
        target: String,
    },
    /// `auth`: the registry and user name of the credentials given.
    Push {
        image: String,
        auth: Option<(String, String)>,
    },
    Inspect(String),
    Exists(String),
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    images: BTreeMap<String, ImageInfo>,
    pushed: Vec<String>,
    output: Vec<String>,
    failing_builds: BTreeMap<String, Vec<String>>,
    failing_pushes: BTreeSet<String>,
    /// Pushes that fail this many more times before they work.
    flaky_pushes: BTreeMap<String, usize>,
    built: usize,
    no_lists: bool,
}

/// The fake engine; see the module documentation.
#[derive(Debug, Default)]
pub struct Recording {
    state: Mutex<State>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A local image that exists before the test starts.
    pub fn with_image(self, name: &str, info: ImageInfo) -> Recording {
        self.state().images.insert(name.to_owned(), info);
        self
    }

    /// Lines every build prints.
    pub fn with_build_output(self, lines: &[&str]) -> Recording {
        self.state().output = lines.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    /// A build with the tag `tag` fails, its output ending in `tail`.
    pub fn failing_build(self, tag: &str, tail: &[&str]) -> Recording {
        let tail = tail.iter().map(|l| (*l).to_owned()).collect();
        self.state().failing_builds.insert(tag.to_owned(), tail);
        self
    }

    /// A push of `image` fails.
    pub fn failing_push(self, image: &str) -> Recording {
        self.state().failing_pushes.insert(image.to_owned());
        self
    }

    /// The first `times` pushes of `image` fail, later ones work.
    pub fn flaky_push(self, image: &str, times: usize) -> Recording {
        self.state().flaky_pushes.insert(image.to_owned(), times);
        self
    }

    /// Keep one platform of a multi-platform build, as docker does.
    pub fn without_lists(self) -> Recording {
        self.state().no_lists = true;
        self
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The images pushed so far, in order.
    pub fn pushed(&self) -> Vec<String> {
        self.state().pushed.clone()
    }

    /// The local image `name`.
    pub fn image(&self, name: &str) -> Option<ImageInfo> {
        self.state().images.get(name).cloned()
    }

    fn push_now(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<(), Error> {
        let mut state = self.state();
        state.calls.push(Call::Push {
            image: image.to_owned(),
            auth: auth.map(|a| (a.registry.clone(), a.username.clone())),
        });
        if state.failing_pushes.contains(image) || !state.images.contains_key(image) {
            return Err(failed("fake push", format!("cannot push `{image}`")));
        }
        if let Some(left) = state.flaky_pushes.get_mut(image).filter(|left| **left > 0) {
            *left -= 1;
            return Err(failed(
                "fake push",
                format!("connection reset pushing `{image}`"),
            ));
        }
        state.pushed.push(image.to_owned());
        Ok(())
    }
}

fn failed(command: &str, stderr: String) -> Error {
    Error::Command(services::Error::Failed {
        command: command.to_owned(),
        status: "exit status: 1".into(),
        stderr,
    })
}

fn labels(spec: &BuildSpec) -> BTreeMap<String, String> {
    spec.labels
        .iter()
        .map(|label| match label.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (label.clone(), String::new()),
        })
        .collect()
}

impl Engine for Recording {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn build<'a>(&'a self, spec: &'a BuildSpec, log: &'a dyn BuildLog) -> Answer<'a, Built> {
        Box::pin(async move {
            let (output, failing) = {
                let mut state = self.state();
                state.calls.push(Call::Build(spec.clone()));
                let failing = spec
                    .tags
                    .iter()
                    .find_map(|tag| state.failing_builds.get(tag).cloned());
                (state.output.clone(), failing)
            };
            for line in output.iter().chain(failing.iter().flatten()) {
                log.line(line);
            }
            if let Some(tail) = failing {
                return Err(Error::BuildFailed {
                    command: "fake build".into(),
                    status: "exit status: 1".into(),
                    tail: tail.join("\n"),
                });
            }
            let id = {
                let mut state = self.state();
                state.built += 1;
                let id = format!("sha256:{:064x}", state.built);
                let info = ImageInfo {
                    id: id.clone(),
                    labels: labels(spec),
                    platforms: spec.platforms.clone(),
                    ..ImageInfo::default()
                };
                for tag in &spec.tags {
                    state.images.insert(tag.clone(), info.clone());
                }
                id
            };
            if spec.push {
                for tag in &spec.tags {
                    self.push_now(tag, super::auth_for(&spec.auths, tag))?;
                }
            }
            Ok(Built { id: Some(id) })
        })
    }

    fn tag<'a>(&'a self, source: &'a str, target: &'a str) -> Answer<'a, ()> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push(Call::Tag {
                source: source.to_owned(),
                target: target.to_owned(),
            });
            let Some(info) = state.images.get(source).cloned() else {
                return Err(failed("fake tag", format!("no image `{source}`")));
            };
            state.images.insert(target.to_owned(), info);
            Ok(())
        })
    }

    fn push<'a>(&'a self, image: &'a str, auth: Option<&'a RegistryAuth>) -> Answer<'a, ()> {
        Box::pin(async move { self.push_now(image, auth) })
    }

    fn inspect<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push(Call::Inspect(image.to_owned()));
            Ok(state.images.get(image).cloned())
        })
    }

    fn exists<'a>(&'a self, image: &'a str) -> Answer<'a, bool> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push(Call::Exists(image.to_owned()));
            Ok(state.images.contains_key(image))
        })
    }

    fn keeps_manifest_lists(&self) -> bool {
        !self.state().no_lists
    }
}

/// A recording [`Runner`]: every command line is kept (arguments joined
/// by spaces); a command starting with a given prefix answers its canned
/// stdout, or fails when told to; any other answers nothing.
#[derive(Debug, Default)]
pub struct Script {
    answers: Vec<(Vec<String>, String)>,
    failing: Vec<Vec<String>>,
    commands: Mutex<Vec<String>>,
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// Commands starting with `prefix` print `stdout`.
    pub fn answer(mut self, prefix: &[&str], stdout: &str) -> Script {
        self.answers.push((owned(prefix), stdout.to_owned()));
        self
    }

    /// Commands starting with `prefix` fail.
    pub fn failing(mut self, prefix: &[&str]) -> Script {
        self.failing.push(owned(prefix));
        self
    }

    /// Every command so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Runner for Script {
    fn run<'a>(&'a self, args: &'a [String]) -> Answer<'a, String> {
        Box::pin(async move {
            let line = args.join(" ");
            self.commands
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.clone());
            if self.failing.iter().any(|prefix| args.starts_with(prefix)) {
                return Err(failed(&format!("fake {line}"), "told to fail".into()));
            }
            Ok(self
                .answers
                .iter()
                .find(|(prefix, _)| args.starts_with(prefix))
                .map(|(_, stdout)| stdout.clone())
                .unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[tokio::test]
    async fn records_builds_tags_and_pushes() {
        let engine = Recording::new().with_build_output(&["Step 1/2", "done"]);
        let seen = Mutex::new(Vec::new());
        let log = |line: &str| seen.lock().unwrap().push(line.to_owned());
        let spec = BuildSpec {
            context: "/ctx".into(),
            labels: vec!["org.zuul-ci.change=7".into()],
            tags: vec!["org/app:1".into()],
            ..BuildSpec::default()
        };
        let built = engine.build(&spec, &log).await.unwrap();
        assert!(built.id.is_some());
        assert_eq!(seen.into_inner().unwrap(), ["Step 1/2", "done"]);
        let info = engine.inspect("org/app:1").await.unwrap().unwrap();
        assert_eq!(info.labels["org.zuul-ci.change"], "7");
        engine.tag("org/app:1", "reg:5000/org/app:1").await.unwrap();
        let auth = RegistryAuth {
            registry: "reg:5000".into(),
            username: "zuul".into(),
            password: Secret::new("pw"),
        };
        engine
            .push("reg:5000/org/app:1", Some(&auth))
            .await
            .unwrap();
        assert!(engine.push("reg:5000/missing:1", None).await.is_err());
        assert!(!engine.exists("org/other:1").await.unwrap());
        assert_eq!(engine.pushed(), ["reg:5000/org/app:1"]);
        let calls = engine.calls();
        assert_eq!(calls[0], Call::Build(spec));
        assert_eq!(
            calls[3],
            Call::Push {
                image: "reg:5000/org/app:1".into(),
                auth: Some(("reg:5000".into(), "zuul".into())),
            }
        );
        assert!(!format!("{calls:?}").contains("pw\""));
    }

    #[tokio::test]
    async fn fails_what_it_is_told_to() {
        let engine = Recording::new().failing_build("org/bad:1", &["COPY failed: no such file"]);
        let spec = BuildSpec {
            tags: vec!["org/bad:1".into()],
            ..BuildSpec::default()
        };
        let quiet = |_: &str| {};
        let err = engine.build(&spec, &quiet).await.unwrap_err();
        assert!(err.to_string().contains("COPY failed"), "{err}");
        assert!(!engine.exists("org/bad:1").await.unwrap());
    }
}
