//! `berth_ecs` errors on the wire: ECS's JSON codes, all 400 but the store's failures.

use berth_control::error::EcsError;

use crate::error::WireError;

impl From<EcsError> for WireError {
    fn from(e: EcsError) -> WireError {
        let code = match &e {
            EcsError::Client(_) => "ClientException",
            EcsError::InvalidParameter(_) => "InvalidParameterException",
            EcsError::ClusterNotFound => "ClusterNotFoundException",
            EcsError::ClusterContainsInstances => "ClusterContainsContainerInstancesException",
            EcsError::ClusterContainsTasks => "ClusterContainsTasksException",
            EcsError::PlatformUnknown => "PlatformUnknownException",
            EcsError::PlatformIncompatible => "PlatformTaskDefinitionIncompatibilityException",
            EcsError::TargetNotFound(_) => "TargetNotFoundException",
            EcsError::AttributeLimit(_) => "AttributeLimitExceededException",
            EcsError::NotPlacedHere(_) => "AccessDeniedException",
            EcsError::Store(_) => return WireError::internal(&e),
        };
        WireError::client(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let cases = [
            (EcsError::Client("x".into()), "ClientException", "x"),
            (
                EcsError::ClusterNotFound,
                "ClusterNotFoundException",
                "Cluster not found.",
            ),
            (
                EcsError::PlatformUnknown,
                "PlatformUnknownException",
                "The specified platform does not exist.",
            ),
            (
                EcsError::PlatformIncompatible,
                "PlatformTaskDefinitionIncompatibilityException",
                "One or more of the requested capabilities are not supported.",
            ),
        ];
        for (e, code, msg) in cases {
            let w = WireError::from(e);
            assert_eq!(w.code, code);
            assert_eq!(w.status.as_u16(), 400);
            assert_eq!(w.message.as_deref(), Some(msg));
        }
    }
}
