//! The Kubernetes source (cargo feature `kubernetes`): rollouts of apps/v1
//! Deployments and Argo Rollouts, read from the cluster's own objects.
//!
//! - [`health`]: rollout health as gitops-engine, Argo CD and Argo Rollouts
//!   decide it, checked against their recorded objects.
//! - [`normalize`]: pure mapping from a workload and its ReplicaSets to
//!   deployment events, one per revision.
//! - [`client`]: the only I/O: kube's client lists the objects, page by page.

pub mod client;
pub mod health;
pub mod normalize;

pub use client::{ClusterConfig, KubernetesConfig, KubernetesSource};
