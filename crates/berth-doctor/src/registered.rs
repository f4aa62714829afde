//! The doctor as a use case: the diagnosis of a registered task definition for a caller who
//! may read it and simulate its execution role's policies, as the console offers it.

use berth_control::ecs::{self, DescribeTaskDefinitionInput};
use berth_control::{Ctx, Error};

use crate::{DoctorError, Report};

/// The doctor's failures to run at all, as the application's.
impl From<DoctorError> for Error {
    fn from(e: DoctorError) -> Error {
        match e {
            DoctorError::Iam(e) => e.into(),
            DoctorError::Secrets(e) => e.into(),
            DoctorError::Kms(e) => e.into(),
            DoctorError::Ecs(e) => e.into(),
        }
    }
}

/// The doctor's report on the registered task definition `reference`, for a caller allowed
/// `ecs:DescribeTaskDefinition` and, when it names an execution role,
/// `iam:SimulatePrincipalPolicy` on that role. Runs nothing and contacts no registry.
pub fn diagnose_registered(ctx: &Ctx<'_>, reference: &str) -> Result<Report, Error> {
    let def = ecs::describe_task_definition(
        ctx,
        DescribeTaskDefinitionInput {
            task_definition: Some(reference.to_string()),
            ..Default::default()
        },
    )?
    .task_definition;
    if let Some(role) = &def.execution_role_arn {
        ctx.authorize("iam:SimulatePrincipalPolicy", role)?;
    }
    let control = ctx.control;
    let report = crate::diagnose(
        control.store.as_ref(),
        &control.root_key,
        &crate::Options {
            account: ctx.account().to_string(),
            region: ctx.caller.region.clone(),
            source: crate::Source::Registered(def.task_definition_arn),
            caller_arn: Some(ctx.caller.principal.arn()),
            cluster: None,
            registry_check: false,
            ca_file: None,
            now: ctx.now_secs(),
        },
    )?;
    Ok(report)
}
