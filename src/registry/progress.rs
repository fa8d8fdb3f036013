//! Progress hooks of the copy engine, and the implementation commands use:
//! bars on a terminal, one plain line per finished blob and image
//! otherwise (what lands in Zuul's logs).
//!
//! The engine only calls [`Observer`]; how things are shown is decided
//! here, through the one `Printer`. Nothing here carries secrets.

use crate::digest::Digest;
use crate::output::Printer;
use std::sync::Mutex;
use std::time::Duration;

/// How a blob ended up at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The destination had it already.
    Exists,
    /// Mounted from another repository of the same registry.
    Mounted,
    /// Bytes were copied.
    Copied,
}

/// Callbacks from the copy engine. Implementations must be cheap: they are
/// called from the transfer loop.
pub trait Observer: Send + Sync {
    /// A blob transfer starts (or restarts after a failure: `attempt` > 1).
    fn blob_started(&self, image: &str, digest: &Digest, size: u64, attempt: u32);
    /// `bytes` more of `digest` went through.
    fn blob_progress(&self, digest: &Digest, bytes: u64);
    fn blob_finished(
        &self,
        image: &str,
        digest: &Digest,
        size: u64,
        outcome: BlobOutcome,
        elapsed: Duration,
    );
    /// An image's manifests are written, or it was already there.
    fn image_finished(&self, image: &str, destination: &str, skipped: bool, elapsed: Duration);
}

/// An observer that says nothing (tests, `-q`).
pub struct Silent;

impl Observer for Silent {
    fn blob_started(&self, _: &str, _: &Digest, _: u64, _: u32) {}
    fn blob_progress(&self, _: &Digest, _: u64) {}
    fn blob_finished(&self, _: &str, _: &Digest, _: u64, _: BlobOutcome, _: Duration) {}
    fn image_finished(&self, _: &str, _: &str, _: bool, _: Duration) {}
}

/// `1.5 MiB`, `320 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn short(digest: &Digest) -> &str {
    &digest.hex[..digest.hex.len().min(12)]
}

/// The bars on screen, by blob digest.
type Bars = Mutex<Vec<(Digest, indicatif::ProgressBar)>>;

/// Progress through the `Printer`.
pub struct PrinterObserver {
    printer: Printer,
    bars: Option<(indicatif::MultiProgress, Bars)>,
}

impl PrinterObserver {
    pub fn new(printer: &Printer) -> PrinterObserver {
        let bars = printer
            .is_terminal()
            .then(|| (indicatif::MultiProgress::new(), Mutex::new(Vec::new())));
        PrinterObserver {
            printer: printer.clone(),
            bars,
        }
    }

    fn line(&self, message: String) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(message);
            }
            None => self.printer.status(message),
        }
    }

    fn with_bar(&self, digest: &Digest, f: impl FnOnce(&indicatif::ProgressBar)) {
        if let Some((_, bars)) = &self.bars {
            if let Ok(bars) = bars.lock() {
                if let Some((_, bar)) = bars.iter().find(|(d, _)| d == digest) {
                    f(bar);
                }
            }
        }
    }

    fn remove_bar(&self, digest: &Digest) {
        if let Some((multi, bars)) = &self.bars {
            if let Ok(mut bars) = bars.lock() {
                if let Some(index) = bars.iter().position(|(d, _)| d == digest) {
                    let (_, bar) = bars.remove(index);
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
            }
        }
    }
}

impl Observer for PrinterObserver {
    fn blob_started(&self, image: &str, digest: &Digest, size: u64, attempt: u32) {
        if attempt > 1 {
            self.line(format!(
                "retrying blob {} of {image} (attempt {attempt})",
                short(digest)
            ));
        }
        if let Some((multi, bars)) = &self.bars {
            self.remove_bar(digest);
            let bar = multi.add(
                self.printer
                    .progress(size, &format!("{} {image}", short(digest))),
            );
            if let Ok(mut bars) = bars.lock() {
                bars.push((digest.clone(), bar));
            }
        }
    }

    fn blob_progress(&self, digest: &Digest, bytes: u64) {
        self.with_bar(digest, |bar| bar.inc(bytes));
    }

    fn blob_finished(
        &self,
        image: &str,
        digest: &Digest,
        size: u64,
        outcome: BlobOutcome,
        elapsed: Duration,
    ) {
        self.remove_bar(digest);
        let secs = elapsed.as_secs_f64().max(0.001);
        let text = match outcome {
            BlobOutcome::Exists => format!(
                "blob {} {} of {image}: already present",
                short(digest),
                human_bytes(size)
            ),
            BlobOutcome::Mounted => format!(
                "blob {} {} of {image}: mounted",
                short(digest),
                human_bytes(size)
            ),
            BlobOutcome::Copied => format!(
                "blob {} {} of {image}: copied in {secs:.1}s ({}/s)",
                short(digest),
                human_bytes(size),
                human_bytes((size as f64 / secs) as u64)
            ),
        };
        self.line(text);
    }

    fn image_finished(&self, image: &str, destination: &str, skipped: bool, elapsed: Duration) {
        if skipped {
            self.line(format!("{image}: `{destination}` already up to date"));
        } else {
            self.line(format!(
                "{image}: copied to `{destination}` in {:.1}s",
                elapsed.as_secs_f64()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_digests_read_well() {
        assert_eq!(human_bytes(320), "320 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
        assert_eq!(
            short(&Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap()),
            "abababababab"
        );
    }
}
