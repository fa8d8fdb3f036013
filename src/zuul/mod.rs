//! Zuul's side of the contract: job variables in (vars files, `-e`), typed
//! and validated views of them, the naming rules of the zuul-jobs roles,
//! artifacts, and return data merged the way `zuul_return` merges it.
//!
//! Everything here is pure apart from reading vars files and the results
//! file; nothing here talks to a registry, an engine or the host.

pub mod artifacts;
mod de;
pub mod images;
pub mod job;
pub mod naming;
pub mod registries;
pub mod results;
pub mod vars;

use thiserror::Error;

/// Bad job input. Every variant is an input error (exit 2) and names the
/// file or the variable's key path.
#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to parse `{file}`{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Parse {
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error("`{file}` must hold a mapping of variable names to values, not {found}")]
    NotMapping { file: String, found: String },
    #[error("`-e {0}` is not KEY=VALUE")]
    ExtraVar(String),
    #[error("missing variable `{name}` (needed by `{command}`)")]
    Missing { name: String, command: String },
    #[error("`{path}`{}: {message}", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default())]
    Invalid {
        path: String,
        origin: Option<String>,
        message: String,
    },
    #[error("results file `{file}`: {message}")]
    Results { file: String, message: String },
    #[error("return data is invalid: `{path}` {message}")]
    Schema { path: String, message: String },
}
