//! Test support: the SeaweedFS bucket that `tests/run-all.sh` starts and
//! names in `ZUUL_IMAGE_TEST_S3_*`. A test that needs it and finds it
//! missing fails and says so; it is never skipped.

use super::S3Store;
use super::settings::S3Settings;
use crate::secret::Secret;
use crate::server::uploads::new_id;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("`{name}` is not set: the S3 tests need the SeaweedFS that tests/run-all.sh starts")
    })
}

/// The test bucket's settings, with key prefix `prefix`.
pub fn settings(prefix: &str) -> S3Settings {
    S3Settings {
        endpoint: var("ZUUL_IMAGE_TEST_S3_ENDPOINT"),
        bucket: var("ZUUL_IMAGE_TEST_S3_BUCKET"),
        region: "us-east-1".into(),
        prefix: prefix.to_owned(),
        access_key: Secret::new(var("ZUUL_IMAGE_TEST_S3_ACCESS_KEY")),
        secret_key: Secret::new(var("ZUUL_IMAGE_TEST_S3_SECRET_KEY")),
    }
}

/// A store on a fresh prefix of the test bucket.
pub async fn test_store() -> S3Store {
    S3Store::connect(&settings(&format!("test/{}", new_id())))
        .await
        .unwrap()
}
