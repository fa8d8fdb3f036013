//! Everything the user sees goes through here: data on stdout, messages and
//! progress on stderr, the final error report, and tracing set-up.
//!
//! stdout carries only data (the return-data envelope, a completion script).
//! On a terminal, long operations draw progress bars; in Zuul's logs (not a
//! terminal) each finished step is one plain line. This module must not
//! decide what a message says about secrets: callers pass `Secret`s, which
//! print as `REDACTED`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::ValueEnum;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Color {
    // Only when stderr is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether stderr gets ANSI colour codes: `auto` only on a terminal
    /// and without `NO_COLOR` (no-color.org: set and not empty), so pipes,
    /// files and Zuul's logs get plain text.
    /// `no_color`: `NO_COLOR` is set and not empty ([`crate::zuul::inputs::Env`]).
    pub fn enabled(self, no_color: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stderr().is_terminal() && !no_color,
        }
    }
}

/// How much to say on stderr, and how.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    color: bool,
    terminal: bool,
}

impl Printer {
    /// `no_color`: `NO_COLOR` is set (it turns `--color auto` off).
    pub fn new(quiet: bool, color: Color, no_color: bool) -> Printer {
        Printer {
            quiet,
            color: color.enabled(no_color),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Print data on stdout. A closed pipe (`| head`) is not an error.
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        let result = out
            .write_all(text.as_bytes())
            .and_then(|()| {
                if text.ends_with('\n') {
                    Ok(())
                } else {
                    out.write_all(b"\n")
                }
            })
            .and_then(|()| out.flush());
        match result {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// One line of progress or status on stderr, unless `-q`.
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// A warning on stderr; shown even with `-q`.
    pub fn warn(&self, message: impl AsRef<str>) {
        let label = self.paint("warning", "33");
        eprintln!("{label}: {}", message.as_ref());
    }

    /// A progress bar for `total` bytes on a terminal; hidden otherwise and
    /// with `-q`, where callers print one [`Printer::status`] line per
    /// finished step instead.
    pub fn progress(&self, total: u64, label: &str) -> indicatif::ProgressBar {
        if self.quiet || !self.terminal {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:40!} {bytes:>10}/{total_bytes:10} {binary_bytes_per_sec:>12} {wide_bar}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Whether progress bars are drawn.
    pub fn is_terminal(&self) -> bool {
        self.terminal && !self.quiet
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// A hint for the user, attached to an error with
/// `err.context(Hint("…".into()))`; printed after the causes.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// Print a failure once: `error: …`, then `Caused by:` lines, then `hint:`.
pub fn fatal(err: &anyhow::Error) {
    // A `Hint` attached with `.context(Hint(..))` sits in the chain as a
    // context layer; anyhow finds it by type, and it is printed last.
    let hint = err.downcast_ref::<Hint>().map(|hint| hint.0.clone());
    let mut messages = err
        .chain()
        .map(|cause| cause.to_string())
        .filter(|message| Some(message) != hint.as_ref());
    let mut report = format!("error: {}\n", messages.next().unwrap_or_default());
    let rest: Vec<String> = messages.collect();
    if !rest.is_empty() {
        report.push_str("\nCaused by:\n");
        for cause in rest {
            report.push_str(&format!("    {cause}\n"));
        }
    }
    if let Some(hint) = hint {
        report.push_str(&format!("hint: {hint}\n"));
    }
    eprint!("{report}");
}

/// Print clap's own usage error or help text and return its exit status.
pub fn clap_error(err: &clap::Error) -> crate::exit::ExitStatus {
    // clap prints help/version on stdout and errors on stderr itself.
    let _ = err.print();
    if err.use_stderr() {
        crate::exit::ExitStatus::Usage
    } else {
        crate::exit::ExitStatus::Success
    }
}

/// Route `tracing` to stderr: warnings by default, `-v` debug, `-vv` trace;
/// `ZUUL_IMAGE_LOG` (an `EnvFilter` directive) overrides both. Coloured
/// only as `color` says (tracing's own default colours pipes and files).
pub fn init_tracing(verbose: u8, quiet: bool, color: Color, no_color: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "zuul_image=debug,info",
        (false, _) => "zuul_image=trace,debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZUUL_IMAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color.enabled(no_color))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_found_through_context_layers() {
        let err = anyhow::anyhow!("connection refused")
            .context(Hint("is the registry running?".into()))
            .context("failed to reach `reg:5000`");
        assert_eq!(
            err.downcast_ref::<Hint>().map(|h| h.0.as_str()),
            Some("is the registry running?")
        );
        let messages: Vec<String> = err.chain().map(|c| c.to_string()).collect();
        assert_eq!(messages[0], "failed to reach `reg:5000`");
    }
}
