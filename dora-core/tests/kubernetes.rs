//! The Kubernetes source against a local fake API server.
