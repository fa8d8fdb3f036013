//! zuul-image: speculative container images for Zuul CI in one binary.
//!
//! The library holds everything; `main.rs` only builds the runtime. Data
//! flows one way through every command: vars → typed job context (`zuul`)
//! → effects (`registry`, `server`, engines, host files) → return data.

pub mod build;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod digest;
pub mod engine;
pub mod exit;
pub mod fs;
pub mod host;
pub mod output;
pub mod reference;
pub mod registry;
pub mod secret;
pub mod server;
pub mod zuul;

use clap::Parser;
use exit::ExitStatus;
use std::ffi::OsString;

/// Parse the command line, run the command, report any error once, and
/// return the exit status.
pub async fn run(args: impl IntoIterator<Item = OsString>) -> ExitStatus {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return output::clap_error(&err),
    };
    // The environment is read once, here; everything below gets it passed.
    let env = zuul::inputs::Env::capture();
    output::init_tracing(
        cli.global.verbose,
        cli.global.quiet,
        cli.global.color,
        env.no_color,
    );
    match commands::run(cli, env).await {
        Ok(()) => ExitStatus::Success,
        Err(err) => {
            output::fatal(&err);
            ExitStatus::of(&err, commands::ERRORS)
        }
    }
}
