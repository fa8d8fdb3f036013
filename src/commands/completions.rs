//! `completions`: print a shell completion script generated from the CLI
//! definition. The scripts are also committed under `completions/`.

use super::context::Context;
use anyhow::Context as _;
use clap_complete::Shell;

/// Print a completion script for SHELL on stdout.
///
/// Example: `zuul-image completions bash > /etc/bash_completion.d/zuul-image`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    ctx.printer
        .data(&script(args.shell))
        .context("failed to write the completion script on stdout")
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    crate::completion::script(shell)
}
