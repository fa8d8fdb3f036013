//! One file per subcommand: its clap `Args` (doc comments are the `--help`
//! text) and a thin `run` that turns arguments into typed inputs
//! (`zuul::inputs`) and domain calls. Protocol, naming, file-editing and
//! host orchestration do not live here. Also the usage errors no module owns
//! ([`Error`]) and the one list of classified error types ([`ERRORS`]).

pub mod build_image;
pub mod completions;
pub mod connect;
pub mod context;
pub mod ensure_docker;
pub mod pause;
pub mod promote;
pub mod promote_image;
pub mod pull_from_intermediate;
pub mod push_to_intermediate;
pub mod registry;
pub mod run_buildset_registry;
pub mod upload_image;
pub mod use_buildset_registry;

use crate::cli::{Cli, Command};
use crate::exit::{Classify, Probe, probe};
use crate::zuul::inputs::Env;
use context::Context;
use std::path::PathBuf;
use thiserror::Error;

/// Usage errors that no module owns (exit 2).
#[derive(Debug, Error)]
pub enum Error {
    #[error("`{flag} {}` is not a directory", path.display())]
    NotADirectory { flag: &'static str, path: PathBuf },
    /// A flag that has a new name.
    #[error("`{old}` is now `{new}`")]
    Renamed { old: String, new: String },
    /// `registry prune` was given a directory without a registry's storage.
    #[error(
        "`{flag} {}` is not a registry's storage: `{}` has no `blobs/`, `repositories/` and `uploads/`; nothing was changed (`--storage` takes a storage directory, `--root` a buildset registry's root)",
        given.display(),
        storage.display()
    )]
    NotStorage {
        flag: &'static str,
        given: PathBuf,
        storage: PathBuf,
    },
}

impl Classify for Error {
    fn is_input(&self) -> bool {
        true
    }
}

/// Every error type a command can return that knows whether it is an
/// input error (see [`crate::exit`]): the one registration list.
pub const ERRORS: &[Probe] = &[
    probe::<Error>,
    probe::<crate::zuul::Error>,
    probe::<crate::reference::Error>,
    probe::<crate::host::Error>,
    probe::<crate::server::config::Error>,
    probe::<crate::server::storage::s3::Error>,
    probe::<crate::build::Error>,
];

/// Resolve the inputs once, then dispatch.
pub async fn run(cli: Cli, env: Env) -> anyhow::Result<()> {
    let ctx = Context::resolve(&cli.global, env)?;
    match cli.command {
        Command::EnsureDocker(args) => ensure_docker::run(args, &ctx).await,
        Command::RunBuildsetRegistry(args) => run_buildset_registry::run(args, &ctx).await,
        Command::UseBuildsetRegistry(args) => use_buildset_registry::run(args, &ctx).await,
        Command::PullFromIntermediate(args) => pull_from_intermediate::run(args, &ctx).await,
        Command::PushToIntermediate(args) => push_to_intermediate::run(args, &ctx).await,
        Command::BuildImage(args) => build_image::run(args, &ctx).await,
        Command::UploadImage(args) => upload_image::run(args, &ctx).await,
        Command::PromoteImage(args) => promote_image::run(args, &ctx).await,
        Command::Pause(args) => pause::run(args, &ctx),
        Command::Registry(args) => registry::run(args, &ctx).await,
        Command::Completions(args) => completions::run(args, &ctx),
    }
}
