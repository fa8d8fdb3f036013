//! The command line: global options shared by every command and the enum
//! of commands. Each command's own flags live in its file under `commands/`.

use crate::commands::{
    build_image, completions, ensure_docker, pause, promote_image, pull_from_intermediate,
    push_to_intermediate, registry, run_buildset_registry, upload_image, use_buildset_registry,
};
use crate::output::Color;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Speculative container images for Zuul CI.
///
/// Replaces the zuul-jobs container roles: runs the buildset registry, points
/// container engines at it, moves images to and from the intermediate
/// registry, builds, uploads and promotes images. Reads
/// Zuul's variables as JSON or YAML and returns data the way `zuul_return`
/// does.
#[derive(Debug, Parser)]
#[command(
    name = "zuul-image",
    // `0.1.0 (1a2b3c4)`: the git commit it was built from (build.rs).
    version = env!("ZUUL_IMAGE_VERSION"),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Variables as a JSON or YAML mapping (repeatable; later files win per
    /// top-level key; `-` reads stdin).
    #[arg(long = "vars", value_name = "FILE", global = true)]
    pub vars: Vec<PathBuf>,
    /// One variable; VALUE is parsed as JSON when it parses, else kept as a
    /// string. Wins over --vars.
    #[arg(
        short = 'e',
        long = "extra-var",
        value_name = "KEY=VALUE",
        global = true
    )]
    pub extra: Vec<String>,
    /// Merge the return data into FILE with zuul_return's rules (atomic,
    /// mode 0600) instead of printing it on stdout.
    #[arg(long, value_name = "FILE", global = true)]
    pub results: Option<PathBuf>,
    /// Print only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More diagnostics on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Colour on stderr; `auto`: only when stderr is a terminal and
    /// `NO_COLOR` is not set.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
}

/// Options of the commands that configure the host. Not global: in the
/// registry commands `--root` names a buildset registry's root.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// Treat DIR as the machine's `/` for every host file read or written
    /// (tests, image builds); host commands such as `systemctl` run only
    /// when it is `/`.
    #[arg(long, value_name = "DIR", default_value = "/", value_parser = dir_arg)]
    pub root: PathBuf,
}

/// The value of a directory flag (`--root`, `--storage`): a directory, or a
/// path that does not exist yet (the commands that need it to exist say
/// so), never a file — a usage error (exit 2) before anything happens.
pub fn dir_arg(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match std::fs::metadata(&path) {
        Ok(meta) if !meta.is_dir() => Err(format!("`{text}` is not a directory")),
        _ => Ok(path),
    }
}

impl HostArgs {
    /// The machine the command acts on.
    pub fn host(&self) -> crate::host::Host {
        crate::host::Host::new(&self.root)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install (if missing), configure and start Docker.
    EnsureDocker(ensure_docker::Args),
    /// Start the embedded buildset registry and return its connection data.
    RunBuildsetRegistry(run_buildset_registry::Args),
    /// Point docker, podman/buildah/cri-o, containerd and buildkit at the
    /// buildset registry.
    UseBuildsetRegistry(use_buildset_registry::Args),
    /// Copy the artifact images of the changes ahead into the buildset
    /// registry.
    PullFromIntermediate(pull_from_intermediate::Args),
    /// Copy this buildset's images to the intermediate registry and return
    /// them as artifacts.
    PushToIntermediate(push_to_intermediate::Args),
    /// Build images (docker/buildx, podman or buildah), tag them and push
    /// them to the buildset registry.
    BuildImage(build_image::Args),
    /// Push images to the final registry under the temporary tag.
    UploadImage(upload_image::Args),
    /// Move the temporary tag to the real tag and delete temporary tags.
    PromoteImage(promote_image::Args),
    /// Return `zuul.pause` when this job runs the buildset registry.
    Pause(pause::Args),
    /// The embedded OCI registry.
    Registry(registry::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
