//! Zuul's side of the contract: job variables in (vars files, `-e`), typed
//! and validated views of them, each command's typed inputs (`inputs`:
//! variables + flags + the captured environment), the naming rules of the
//! zuul-jobs roles, artifacts, and return data merged the way `zuul_return`
//! merges it.
//!
//! Everything here is pure apart from reading vars files and the results
//! file; nothing here talks to a registry, an engine or the host.

pub mod artifacts;
pub mod builds;
mod de;
pub mod images;
pub mod inputs;
pub mod job;
pub mod naming;
pub mod registries;
pub mod results;
pub mod vars;

use thiserror::Error;

/// Bad job input: every variant but [`Error::Io`] is an input error (exit
/// 2) and names the file, the variable's key path or the flag.
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
    /// `-e a.b=value`: `-e` sets top-level variables only.
    #[error(
        "`-e {key}=…`: `-e` sets top-level variables, not keys inside them; give the whole mapping, `-e '{example}'` (it replaces all of `{top}`), or put `{key}` in a file for `--vars FILE`"
    )]
    NestedExtraVar {
        key: String,
        top: String,
        example: String,
    },
    #[error("missing variable `{name}` (needed by `{command}`)")]
    Missing { name: String, command: String },
    /// `buildset_registry` is neither a variable nor in the results file.
    #[error(
        "missing variable `buildset_registry` (needed by `{command}`): it is not among the variables{looked}; pass it in a private file with `--vars FILE` (`buildset_registry: {{host, port, username, password, cert}}`, what `run-buildset-registry` returns), or run `run-buildset-registry --results FILE` earlier in the job and give this command the same `--results FILE`"
    )]
    NoBuildsetRegistry { command: String, looked: String },
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
    /// A flag's value cannot be used (`--tag`, `--docker-host`).
    #[error("`{flag}`: {message}")]
    Flag { flag: String, message: String },
    /// A repository the credentials' `repository` pattern does not permit
    /// (the roles' `<repo> not permitted by <regex>`).
    #[error("`{repository}` not permitted by `{regex}` (`{var}.repository`)")]
    NotPermitted {
        repository: String,
        regex: String,
        var: String,
    },
    /// `container_registry_credentials` is defined without an entry for an
    /// image's registry (the roles' `<registry> credentials not found`).
    #[error(
        "`{registry}` credentials not found in `container_registry_credentials` (needed by `{image}`)"
    )]
    CredentialsNotFound { registry: String, image: String },
    /// A default comes from `HOME`, which is not set.
    #[error("HOME is not set, so there is no default {what}: {hint}")]
    HomeUnset { what: String, hint: String },
    /// The buildset registry's host defaults to this node's address, which
    /// cannot be told.
    #[error(
        "cannot tell this node's primary IP address: pass `--host` or set `buildset_registry_host`"
    )]
    NoPrimaryIp,
    /// The results file exists but cannot be read or written: not the
    /// user's input, an operation failure (exit 1).
    #[error(transparent)]
    Io(#[from] crate::fs::Error),
}

impl crate::exit::Classify for Error {
    fn is_input(&self) -> bool {
        !matches!(self, Error::Io(_))
    }
}
