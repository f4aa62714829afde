//! berth-secrets
