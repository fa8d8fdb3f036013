//! Exit statuses and the one place that decides them from an error.
//!
//! 0 the command did its work, 1 an operation failed (a registry refused, an
//! image is missing, a build failed), 2 the input or usage was wrong.
//!
//! How an error says it is an input error: a module's `Error` implements
//! [`Classify`] and answers [`Classify::is_input`] per variant (a results
//! file that is malformed JSON is input; one that cannot be read for
//! permissions is not). The command layer registers each such type once
//! with [`probe`] in the list it hands to [`ExitStatus::of`]
//! (`commands::ERRORS`), which walks the error's chain — through any
//! `anyhow` context — and asks every cause it recognises. This module knows
//! no concrete error type: a new module implements `Classify` and adds one
//! line to that list.

/// The process exit status, mapped in exactly one place ([`ExitStatus::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Usage = 2,
}

/// An error type that knows which of its variants mean bad input or usage.
pub trait Classify: std::error::Error + 'static {
    /// Whether this error means the input (variables, files the user gave,
    /// flags) was wrong: exit 2. Operation failures answer `false`.
    fn is_input(&self) -> bool;
}

/// Asks one cause of an error chain whether it is an input error; `None`
/// when the cause is not of the probe's type.
pub type Probe = fn(&(dyn std::error::Error + 'static)) -> Option<bool>;

/// The [`Probe`] for error type `E`.
pub fn probe<E: Classify>(cause: &(dyn std::error::Error + 'static)) -> Option<bool> {
    cause.downcast_ref::<E>().map(Classify::is_input)
}

impl ExitStatus {
    /// Exit 2 when any cause in the chain is an input error by one of
    /// `probes`; everything else is 1.
    pub fn of(err: &anyhow::Error, probes: &[Probe]) -> ExitStatus {
        let bad_input = err
            .chain()
            .any(|cause| probes.iter().any(|probe| probe(cause) == Some(true)));
        if bad_input {
            ExitStatus::Usage
        } else {
            ExitStatus::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("bad value")]
        Bad,
        #[error("refused")]
        Refused,
    }

    impl Classify for Sample {
        fn is_input(&self) -> bool {
            matches!(self, Sample::Bad)
        }
    }

    #[test]
    fn classification_follows_the_variant_through_contexts() {
        let probes: &[Probe] = &[probe::<Sample>];
        let bad = anyhow::Error::new(Sample::Bad).context("failed to read the variables");
        assert_eq!(ExitStatus::of(&bad, probes), ExitStatus::Usage);
        let refused: anyhow::Result<()> = Err(Sample::Refused.into());
        let refused = refused.context("failed to push").unwrap_err();
        assert_eq!(ExitStatus::of(&refused, probes), ExitStatus::Failure);
        // An unregistered type is an operation failure.
        assert_eq!(ExitStatus::of(&bad, &[]), ExitStatus::Failure);
        let plain = anyhow::anyhow!("connection refused");
        assert_eq!(ExitStatus::of(&plain, probes), ExitStatus::Failure);
    }
}
