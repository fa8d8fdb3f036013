//! The /etc/hosts editor: the alias is there afterwards, and adding it
//! again changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::host::etc_hosts;

fuzz_target!(|text: &str| {
    let once = etc_hosts::add_alias(Some(text), "127.0.0.1", "zuul-jobs.buildset-registry");
    let twice = etc_hosts::add_alias(Some(&once), "127.0.0.1", "zuul-jobs.buildset-registry");
    assert_eq!(once, twice, "a second edit changes nothing");
});
