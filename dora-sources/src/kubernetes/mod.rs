//! The Kubernetes source (cargo feature `kubernetes`): rollouts of apps/v1
//! Deployments and Argo Rollouts, read from the cluster's own objects.
//!
//! - [`health`]: rollout health as gitops-engine, Argo CD and Argo Rollouts
//!   decide it, checked against their recorded objects.
//! - [`normalize`]: pure mapping from a workload and its ReplicaSets to
//!   deployment events, one per revision.
//! - [`client`]: kube's client lists the objects, page by page (`dora collect`).
//! - [`watch`]: kube-runtime watchers record each revision as it finishes
//!   (`dora watch kubernetes`).

pub mod client;
pub mod health;
pub mod normalize;
pub mod watch;

pub use client::{ClusterConfig, KubernetesConfig, KubernetesSource, ServiceRepository};
