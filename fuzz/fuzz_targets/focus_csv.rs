//! FOCUS cost exports, CSV (`dora costs import`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dora_fuzz::focus_csv(data);
});
