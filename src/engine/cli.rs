//! Running an engine's CLI from async code: a short command whose stdout
//! is the answer, a command whose exit status is the answer (`podman image
//! exists`), and a build whose output lines stream to a [`BuildLog`] as
//! they come, keeping the last lines for the error when it fails.
//!
//! Arguments are logged at debug level, so none may be a secret: callers
//! pass credentials in files ([`super::authfile`]). Errors name the program
//! and its subcommand, not the whole command line.

use super::{Answer, BuildLog, Error};
use crate::host::services;
use std::collections::VecDeque;
use std::path::Path;
use std::process::{Output, Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How many lines of a failed build's output its error carries.
const TAIL: usize = 25;

/// One engine program with the arguments and environment every call of it
/// gets (`--root` of a private storage, `DOCKER_HOST`, …).
#[derive(Debug, Clone)]
pub struct Cli {
    program: String,
    global: Vec<String>,
    env: Vec<(String, String)>,
}

impl Cli {
    pub fn new(program: impl Into<String>) -> Cli {
        Cli {
            program: program.into(),
            global: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Arguments put before every subcommand (`--storage-driver vfs`).
    pub fn global_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Cli {
        self.global.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for every call.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cli {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    /// `program subcommand` for messages: the first argument that is not
    /// a flag (`podman build`, `docker buildx`).
    fn describe(&self, args: &[String]) -> String {
        match args.iter().find(|arg| !arg.starts_with('-')) {
            Some(sub) => format!("{} {sub}", self.program),
            None => self.program.clone(),
        }
    }

    fn command(&self, args: &[String]) -> Command {
        tracing::debug!(
            "running `{} {} {}`",
            self.program,
            self.global.join(" "),
            args.join(" ")
        );
        let mut command = Command::new(&self.program);
        command
            .args(&self.global)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    fn spawn_error(&self, args: &[String], source: std::io::Error) -> Error {
        Error::Command(services::Error::Spawn {
            command: self.describe(args),
            source,
        })
    }

    /// Run to completion, output captured.
    async fn run(&self, args: &[String]) -> Result<Output, Error> {
        self.command(args)
            .output()
            .await
            .map_err(|err| self.spawn_error(args, err))
    }

    fn failed(&self, args: &[String], output: &Output) -> Error {
        Error::Command(services::Error::Failed {
            command: self.describe(args),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// Run to completion; its stdout on success.
    pub async fn output(&self, args: &[String]) -> Result<String, Error> {
        let output = self.run(args).await?;
        if !output.status.success() {
            return Err(self.failed(args, &output));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Run for its exit status: `Ok(true)` on 0, `Ok(false)` on one of
    /// `no`, an error otherwise.
    pub async fn check(&self, args: &[String], no: &[i32]) -> Result<bool, Error> {
        let output = self.run(args).await?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(code) if no.contains(&code) => Ok(false),
            _ => Err(self.failed(args, &output)),
        }
    }

    /// Run in `dir` with `env` added, every line of stdout and stderr
    /// going to `log` as it comes; on failure [`Error::BuildFailed`] with
    /// the last lines.
    pub async fn stream(
        &self,
        args: &[String],
        dir: &Path,
        env: &[(String, String)],
        log: &dyn BuildLog,
    ) -> Result<(), Error> {
        let mut child = self
            .command(args)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| self.spawn_error(args, err))?;
        let mut tail = VecDeque::with_capacity(TAIL);
        let mut keep = |line: String| {
            log.line(&line);
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        };
        let mut stdout = child.stdout.take().map(|out| BufReader::new(out).lines());
        let mut stderr = child.stderr.take().map(|err| BufReader::new(err).lines());
        while stdout.is_some() || stderr.is_some() {
            tokio::select! {
                line = next_line(&mut stdout) => match line {
                    Some(line) => keep(line),
                    None => stdout = None,
                },
                line = next_line(&mut stderr) => match line {
                    Some(line) => keep(line),
                    None => stderr = None,
                },
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|err| self.spawn_error(args, err))?;
        if status.success() {
            return Ok(());
        }
        Err(Error::BuildFailed {
            command: self.describe(args),
            status: status.to_string(),
            tail: Vec::from(tail).join("\n"),
        })
    }
}

/// Runs commands of one engine program and answers their stdout: the seam
/// through which set-up steps (a buildx builder's creation) are tested
/// with a recording fake.
pub trait Runner: Send + Sync {
    /// Run `args` to completion; its stdout on success.
    fn run<'a>(&'a self, args: &'a [String]) -> Answer<'a, String>;
}

impl Runner for Cli {
    fn run<'a>(&'a self, args: &'a [String]) -> Answer<'a, String> {
        Box::pin(self.output(args))
    }
}

/// The next line of an output pipe; `None` at its end (or when it is
/// closed already, which never resolves so `select!` picks the other).
async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Option<tokio::io::Lines<R>>,
) -> Option<String> {
    match lines {
        Some(lines) => lines.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[tokio::test]
    async fn output_and_failures_name_the_subcommand() {
        let sh = Cli::new("sh");
        let out = sh.output(&strings(&["-c", "echo hi"])).await.unwrap();
        assert_eq!(out, "hi\n");
        let err = sh
            .output(&strings(&["-c", "echo oops >&2; exit 3"]))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`sh echo oops >&2; exit 3` failed (exit status: 3): oops"
        );
        assert!(matches!(
            Cli::new("/nonexistent/engine").output(&[]).await,
            Err(Error::Command(services::Error::Spawn { .. }))
        ));
        assert!(sh.check(&strings(&["-c", "exit 0"]), &[1]).await.unwrap());
        assert!(!sh.check(&strings(&["-c", "exit 1"]), &[1]).await.unwrap());
        assert!(sh.check(&strings(&["-c", "exit 2"]), &[1]).await.is_err());
    }

    #[tokio::test]
    async fn streams_both_pipes_and_keeps_the_tail_of_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let seen = Mutex::new(Vec::new());
        let log = |line: &str| seen.lock().unwrap().push(line.to_owned());
        let script = "echo out; echo err >&2; pwd; echo $EXTRA; \
                      for i in $(seq 1 40); do echo line$i; done; exit 4";
        let err = Cli::new("sh")
            .env("EXTRA", "unused")
            .stream(
                &strings(&["-c", script]),
                dir.path(),
                &[("EXTRA".into(), "extra".into())],
                &log,
            )
            .await
            .unwrap_err();
        let seen = seen.into_inner().unwrap();
        for want in ["out", "err", "extra", "line1", "line40"] {
            assert!(seen.iter().any(|l| l == want), "{want} in {seen:?}");
        }
        let cwd = dir.path().canonicalize().unwrap().display().to_string();
        assert!(seen.contains(&cwd), "runs in the context: {seen:?}");
        match err {
            Error::BuildFailed { status, tail, .. } => {
                assert_eq!(status, "exit status: 4");
                assert_eq!(tail.lines().count(), TAIL);
                assert!(tail.ends_with("line40"), "{tail}");
                assert!(!tail.contains("line15\n"), "{tail}");
            }
            other => panic!("{other:?}"),
        }
        let quiet = |_: &str| {};
        let ok = Cli::new("true").stream(&[], dir.path(), &[], &quiet).await;
        assert!(ok.is_ok());
    }
}
