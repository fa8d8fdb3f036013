//! The results merger: an existing results file and new return data, merged
//! the way Zuul's `zuul_return` does, must give data that validates.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zuul_image::zuul::results::ReturnData;

fuzz_target!(|input: (&str, &str)| {
    let (existing, new) = input;
    let (Ok(existing), Ok(new)) = (
        serde_json::from_str::<serde_json::Value>(existing),
        serde_json::from_str::<serde_json::Value>(new),
    ) else {
        return;
    };
    let (Ok(mut existing), Ok(new)) = (
        ReturnData::from_value("results.json", existing),
        ReturnData::from_value("new", new),
    ) else {
        return;
    };
    existing.merge(&new);
    let _ = existing.validate();
    let round = ReturnData::from_value("again", existing.to_value());
    assert!(round.is_ok(), "a merged envelope reads back");
});
