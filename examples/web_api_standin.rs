//! The Docker Hub web API stand-in of the test support
//! (`tests/support/web_apis.rs`) as a process of its own, so that
//! `tests/zuul/run.sh` can start it inside the real-Zuul test's network
//! namespace, in front of the distribution registry that plays Docker Hub
//! there. Test-only: `cargo test` builds it (all targets), nothing ships it.
//!
//! ```text
//! web_api_standin --listen 127.0.0.1:5445 --storage DIR --username zuul \
//!     --password-file FILE
//! ```
//!
//! `--storage` is the distribution's filesystem root (the stand-in lists
//! and deletes tags there, as Hub's API does for the registry behind it);
//! the account's password is read from a file, never from the command
//! line. It serves until it is killed.

// Its helpers for in-process tests (ages, failures, request logs) are not
// used here.
#[allow(dead_code)]
#[path = "../tests/support/web_apis.rs"]
mod web_apis;

use std::path::PathBuf;
use std::sync::Arc;
use web_apis::{TagStore, WebApi};

fn main() -> Result<(), String> {
    let mut listen = None;
    let mut storage = None;
    let mut username = None;
    let mut password_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?),
            "--storage" => storage = Some(PathBuf::from(value()?)),
            "--username" => username = Some(value()?),
            "--password-file" => password_file = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let missing = |name: &str| format!("`--{name}` is required");
    let listen = listen.ok_or_else(|| missing("listen"))?;
    let storage = storage.ok_or_else(|| missing("storage"))?;
    let username = username.ok_or_else(|| missing("username"))?;
    let password_file = password_file.ok_or_else(|| missing("password-file"))?;
    let password = std::fs::read_to_string(&password_file)
        .map_err(|err| format!("cannot read `{}`: {err}", password_file.display()))?;
    let store = Arc::new(TagStore::new(storage));
    let _api = WebApi::hub_at(&listen, store, &username, password.trim());
    loop {
        std::thread::park();
    }
}
