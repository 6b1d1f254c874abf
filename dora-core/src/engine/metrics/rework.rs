//! Deployment rework rate (METRICS.md section 3): successful production
//! deployments of type `rollback` or `hotfix`, over all successful
//! production deployments.

use crate::event::DeploymentRec;

/// Whether a successful production deployment is rework.
pub(crate) fn is_rework(dep: &DeploymentRec) -> bool {
    dep.deployment_type.is_rework()
}
