//! CDEvents in each form `POST /cdevents` takes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dora_fuzz::cdevents(data);
});
