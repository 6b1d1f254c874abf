//! The GitLab source (cargo feature `gitlab`).
