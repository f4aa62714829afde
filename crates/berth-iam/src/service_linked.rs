//! Service-linked roles: roles an AWS service owns in the account, named and placed as AWS
//! names and places them (`AWSServiceRoleFor…` under `/aws-service-role/<service>/`). Only AWS
//! changes them; deleting one goes through a deletion task.

use berth_store::{StoreExt, get_json, put_json};
use serde::{Deserialize, Serialize};

use crate::entity::{self, NameField, ROLES, check_new_name};
use crate::policies;
use crate::roles::DEFAULT_MAX_SESSION_DURATION;
use crate::{Iam, IamError, Role};

/// The path prefix of every service-linked role.
pub const PATH_PREFIX: &str = "/aws-service-role/";

/// Store table of service-linked role deletion tasks, keyed by `{account}/{task id}`.
const DELETIONS: &str = "iam_slr_deletions";

/// A service berth can make a service-linked role for: its role's name, and whether AWS takes
/// a `CustomSuffix` for it.
struct LinkedService {
    service: &'static str,
    role_name: &'static str,
    suffix_allowed: bool,
}

const fn linked(service: &'static str, role_name: &'static str) -> LinkedService {
    LinkedService {
        service,
        role_name,
        suffix_allowed: false,
    }
}

/// The services berth knows, with the names AWS gives their roles. Auto Scaling is the one
/// here that AWS documents as taking a custom suffix.
const SERVICES: &[LinkedService] = &[
    linked("ecs.amazonaws.com", "AWSServiceRoleForECS"),
    LinkedService {
        service: "autoscaling.amazonaws.com",
        role_name: "AWSServiceRoleForAutoScaling",
        suffix_allowed: true,
    },
    linked(
        "ecs.application-autoscaling.amazonaws.com",
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
    ),
    linked(
        "elasticloadbalancing.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing",
    ),
    linked("spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
    linked("rds.amazonaws.com", "AWSServiceRoleForRDS"),
    linked("elasticache.amazonaws.com", "AWSServiceRoleForElastiCache"),
    linked("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS"),
    linked(
        "eks-nodegroup.amazonaws.com",
        "AWSServiceRoleForAmazonEKSNodegroup",
    ),
    linked("ssm.amazonaws.com", "AWSServiceRoleForAmazonSSM"),
    linked(
        "organizations.amazonaws.com",
        "AWSServiceRoleForOrganizations",
    ),
    linked("config.amazonaws.com", "AWSServiceRoleForConfig"),
    linked(
        "es.amazonaws.com",
        "AWSServiceRoleForAmazonElasticsearchService",
    ),
];

/// The state of a service-linked role's deletion. berth deletes the role at once, so a task
/// it hands out has succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionStatus {
    Succeeded,
}

impl DeletionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::Succeeded => "SUCCEEDED",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeletionTask {
    id: String,
    status: DeletionStatus,
}

/// The name AWS gives the service-linked role of `service` (before any custom suffix), if
/// berth knows the service.
pub fn linked_role_name(service: &str) -> Option<&'static str> {
    SERVICES
        .iter()
        .find(|s| s.service == service)
        .map(|s| s.role_name)
}

/// The service a service-linked role belongs to, from its path.
fn service_of(role: &Role) -> Option<&str> {
    role.path
        .strip_prefix(PATH_PREFIX)
        .and_then(|rest| rest.strip_suffix('/'))
}

impl Iam<'_> {
    /// Creates the service-linked role of `service`, named as AWS names it (with `_suffix`
    /// where the service takes one).
    pub fn create_service_linked_role(
        &self,
        account: &str,
        service: &str,
        description: Option<&str>,
        custom_suffix: Option<&str>,
        now: u64,
    ) -> Result<Role, IamError> {
        let known = SERVICES
            .iter()
            .find(|s| s.service == service)
            .ok_or_else(|| IamError::UnknownLinkedService(service.to_string()))?;
        let name = match custom_suffix {
            Some(_) if !known.suffix_allowed => {
                return Err(IamError::CustomSuffixNotAllowed(service.to_string()));
            }
            Some(suffix) => format!("{}_{suffix}", known.role_name),
            None => known.role_name.to_string(),
        };
        check_new_name(NameField::RoleName, &name)?;
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":["{service}"]}},"Action":["sts:AssumeRole"]}}]}}"#
        );
        self.store.write(|tx| {
            let key = entity::key(account, &name);
            if get_json::<Role>(tx, ROLES, &key)?.is_some() {
                return Err(IamError::ServiceRoleNameTaken(name.clone()));
            }
            let role = Role {
                account: account.to_string(),
                name: name.clone(),
                id: entity::unique_id("AROA"),
                path: format!("{PATH_PREFIX}{service}/"),
                created_at: now,
                description: description.map(str::to_string),
                max_session_duration: DEFAULT_MAX_SESSION_DURATION,
                assume_role_policy: trust.clone(),
                permissions_boundary: None,
                tags: Vec::new(),
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
            };
            put_json(tx, ROLES, &key, &role)?;
            Ok(role)
        })
    }

    /// Deletes a service-linked role and returns the id of its deletion task.
    pub fn delete_service_linked_role(
        &self,
        account: &str,
        name: &str,
    ) -> Result<String, IamError> {
        self.store.write(|tx| {
            let role: Role = policies::load(tx, account, name)?;
            let Some(service) = service_of(&role) else {
                return Err(IamError::NotServiceLinked(role.name));
            };
            let id = format!(
                "task{PATH_PREFIX}{service}/{}/{}",
                role.name,
                berth_core::ids::request_id()
            );
            tx.delete(ROLES, &entity::key(account, &role.name))?;
            put_json(
                tx,
                DELETIONS,
                &format!("{account}/{id}"),
                &DeletionTask {
                    id: id.clone(),
                    status: DeletionStatus::Succeeded,
                },
            )?;
            Ok(id)
        })
    }

    pub fn service_linked_role_deletion_status(
        &self,
        account: &str,
        task_id: &str,
    ) -> Result<DeletionStatus, IamError> {
        let task: Option<DeletionTask> = self.store.read(|tx| {
            Ok::<_, IamError>(get_json(tx, DELETIONS, &format!("{account}/{task_id}"))?)
        })?;
        task.map(|t| t.status)
            .ok_or_else(|| IamError::NoSuchDeletionTask(task_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ECS_TASK_EXECUTION_ROLE_POLICY_ARN, NewRole};
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

    #[test]
    fn service_linked_roles_are_named_by_aws_and_protected() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let r = iam
            .create_service_linked_role(A, "ecs.amazonaws.com", None, None, 1)
            .unwrap();
        assert_eq!(r.name, "AWSServiceRoleForECS");
        assert_eq!(
            r.arn(),
            format!(
                "arn:aws:iam::{A}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
            )
        );
        assert!(r.is_service_linked());
        assert!(matches!(
            iam.create_service_linked_role(A, "ecs.amazonaws.com", None, None, 1),
            Err(IamError::ServiceRoleNameTaken(n)) if n == "AWSServiceRoleForECS"
        ));
        assert!(matches!(
            iam.create_service_linked_role(A, "ecs.amazonaws.com", None, Some("x"), 1),
            Err(IamError::CustomSuffixNotAllowed(s)) if s == "ecs.amazonaws.com"
        ));
        assert!(matches!(
            iam.create_service_linked_role(A, "nope.amazonaws.com", None, None, 1),
            Err(IamError::UnknownLinkedService(_))
        ));
        let asg = iam
            .create_service_linked_role(A, "autoscaling.amazonaws.com", None, Some("web"), 1)
            .unwrap();
        assert_eq!(asg.name, "AWSServiceRoleForAutoScaling_web");
        for refused in [
            iam.delete_role(A, "AWSServiceRoleForECS"),
            iam.put_role_policy(A, "AWSServiceRoleForECS", "p", DOC),
            iam.attach_policy(
                crate::EntityKind::Role,
                A,
                "AWSServiceRoleForECS",
                ECS_TASK_EXECUTION_ROLE_POLICY_ARN,
            ),
            iam.update_assume_role_policy(A, "AWSServiceRoleForECS", &r.assume_role_policy),
        ] {
            assert!(
                matches!(&refused, Err(IamError::ProtectedRole(n)) if n == "AWSServiceRoleForECS"),
                "{refused:?}"
            );
        }
        iam.create_role(A, NewRole::new("plain", &r.assume_role_policy), 1)
            .unwrap();
        assert!(matches!(
            iam.delete_service_linked_role(A, "plain"),
            Err(IamError::NotServiceLinked(_))
        ));
        let task = iam
            .delete_service_linked_role(A, "awsserviceroleforecs")
            .unwrap();
        assert!(task.starts_with("task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/"));
        assert_eq!(
            iam.service_linked_role_deletion_status(A, &task).unwrap(),
            DeletionStatus::Succeeded
        );
        assert!(iam.role(A, "AWSServiceRoleForECS").unwrap().is_none());
        assert!(matches!(
            iam.service_linked_role_deletion_status("999988887777", &task),
            Err(IamError::NoSuchDeletionTask(_))
        ));
    }
}
