//! Helpers shared by the adapter tests (each test file is a binary of its
//! own and uses what it needs).
#![allow(dead_code)]

use std::path::PathBuf;

use wiremock::{Mock, MockServer, Request};

/// A local HTTP server standing in for an API, with the runtime it runs on
/// (the sources under test start their own).
pub struct MockApi {
    pub server: MockServer,
    pub rt: tokio::runtime::Runtime,
}

impl MockApi {
    pub fn new() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        Self { server, rt }
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Request> {
        self.rt.block_on(self.server.received_requests()).unwrap_or_default()
    }

    /// How many requests were received so far.
    pub fn requests(&self) -> usize {
        self.received().len()
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }
}

/// The text of `../shared/fixtures/peer/<rel>` (read from there, never
/// copied), or `None` with a note when it is absent.
pub fn peer_text(rel: &str) -> Option<String> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/peer").join(rel);
    match std::fs::read_to_string(&full) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("note: {} is absent; this check is skipped", full.display());
            None
        }
    }
}
