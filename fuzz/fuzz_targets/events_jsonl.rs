//! `dora.events/v1` JSON Lines (`POST /events`, `dora import`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dora_fuzz::events_jsonl(data);
});
