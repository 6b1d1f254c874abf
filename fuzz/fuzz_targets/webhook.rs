//! GitHub and GitLab webhook deliveries (`POST /webhooks/github`, `/webhooks/gitlab`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dora_fuzz::webhook(data);
});
