//! What can go wrong in the control plane; `berth-api` maps each to AWS's code.

use berth_store::StoreError;

/// AWS's text for a cluster that does not exist.
pub const CLUSTER_NOT_FOUND: &str = "Cluster not found.";

/// What can go wrong; `berth-api` maps each to AWS's code.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    /// `ClientException`.
    #[error("{0}")]
    Client(String),
    /// `InvalidParameterException`.
    #[error("{0}")]
    InvalidParameter(String),
    /// `ClusterNotFoundException`.
    #[error("Cluster not found.")]
    ClusterNotFound,
    #[error("The Cluster cannot be deleted while Container Instances are active or draining.")]
    ClusterContainsInstances,
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    /// `PlatformUnknownException`.
    #[error("The specified platform does not exist.")]
    PlatformUnknown,
    /// `PlatformTaskDefinitionIncompatibilityException`.
    #[error("One or more of the requested capabilities are not supported.")]
    PlatformIncompatible,
    /// `TargetNotFoundException`.
    #[error("{0}")]
    TargetNotFound(String),
    /// `AttributeLimitExceededException`.
    #[error("{0}")]
    AttributeLimit(String),
    /// An agent reported on a task that is not placed on its container instance
    /// (`AccessDeniedException`).
    #[error("{0}")]
    NotPlacedHere(String),
    /// `SerializationException`: a member of the wrong JSON type inside a definition berth
    /// keeps as JSON (the text is AWS's JSON protocol's, e.g. `STRING_VALUE cannot be converted
    /// to Integer`).
    #[error("{0}")]
    Serialization(String),
    #[error("The Cluster cannot be deleted while Services are active.")]
    ClusterContainsServices,
    /// `ServiceNotFoundException`.
    #[error("Service not found.")]
    ServiceNotFound,
    /// `ServiceNotActiveException`.
    #[error("Service was not ACTIVE.")]
    ServiceNotActive,
    /// `ResourceNotFoundException` (TagResource and UntagResource).
    #[error("{0}")]
    ResourceNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
