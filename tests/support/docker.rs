//! The test run's private dockerd. `tests/run-all.sh` starts one with its
//! own data root, exec root, pidfile, socket and config file, and exports
//! `ZUUL_IMAGE_TEST_DOCKER_HOST` (the socket URL) and
//! `ZUUL_IMAGE_TEST_DOCKER_CONFIG` (its daemon.json). Tests that need
//! docker call [`PrivateDocker::get`], which fails loudly when the run did
//! not provide one: a real-component test never skips silently.

use std::path::PathBuf;
use std::process::Command;

pub struct PrivateDocker {
    /// `unix:///…/docker.sock`
    pub host: String,
    /// The daemon's `--config-file`.
    pub config_file: PathBuf,
    /// The daemon's `--pidfile`.
    pub pidfile: PathBuf,
}

impl PrivateDocker {
    pub fn get() -> PrivateDocker {
        let host = std::env::var("ZUUL_IMAGE_TEST_DOCKER_HOST").expect(
            "ZUUL_IMAGE_TEST_DOCKER_HOST is not set: run the real-component tests with tests/run-all.sh",
        );
        let config_file = std::env::var("ZUUL_IMAGE_TEST_DOCKER_CONFIG")
            .expect("ZUUL_IMAGE_TEST_DOCKER_CONFIG is not set: run tests/run-all.sh")
            .into();
        let pidfile = std::env::var("ZUUL_IMAGE_TEST_DOCKER_PIDFILE")
            .expect("ZUUL_IMAGE_TEST_DOCKER_PIDFILE is not set: run tests/run-all.sh")
            .into();
        PrivateDocker {
            host,
            config_file,
            pidfile,
        }
    }

    /// A `docker` CLI command talking to the private daemon, with a
    /// throw-away client config dir.
    pub fn cli(&self) -> Command {
        let mut command = Command::new("docker");
        command.env("DOCKER_HOST", &self.host);
        command
    }
}
