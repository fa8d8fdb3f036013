//! Exit statuses and the one place that decides them from an error.
//!
//! 0 the command did its work, 1 an operation failed (a registry refused, an
//! image is missing, a build failed), 2 the input or usage was wrong. Input
//! errors are recognised by type anywhere in an error's chain, so a module
//! only has to return its own `Error` and the classification follows.

use thiserror::Error;

/// The process exit status, mapped in exactly one place ([`ExitStatus::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Usage = 2,
}

/// A usage error that no module owns: a command that is not built yet, a
/// flag combination that makes no sense.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl ExitStatus {
    /// Bad input (vars, references, usage) is exit 2; everything else is 1.
    pub fn of(err: &anyhow::Error) -> ExitStatus {
        let bad_input = err.chain().any(|cause| {
            cause.is::<UsageError>()
                || cause.is::<crate::zuul::Error>()
                || cause.is::<crate::reference::Error>()
                || cause.is::<crate::host::Error>()
                || cause.is::<crate::server::config::Error>()
        });
        if bad_input {
            ExitStatus::Usage
        } else {
            ExitStatus::Failure
        }
    }
}
