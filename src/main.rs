//! The `zuul-image` binary: builds the runtime, hands the command line to
//! [`zuul_image::run`] and maps its outcome to the process exit status. Nothing
//! else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            zuul_image::output::fatal(
                &anyhow::Error::new(err).context("failed to start the async runtime"),
            );
            return ExitCode::from(zuul_image::exit::ExitStatus::Failure as u8);
        }
    };
    let status = runtime.block_on(zuul_image::run(std::env::args_os()));
    // Detached helpers (progress bars, servers) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(status as u8)
}
