//! `berth doctor` as a use case: the diagnosis of a registered task definition for a caller
//! who may read it and simulate its execution role's policies, as the console offers it.

use crate::ecs::{self, DescribeTaskDefinitionInput};
use crate::{Ctx, Error};

pub use berth_doctor::{CheckKind, CheckResult, Report};

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
    let report = berth_doctor::diagnose(
        control.store.as_ref(),
        &control.root_key,
        &berth_doctor::Options {
            account: ctx.account().to_string(),
            region: ctx.caller.region.clone(),
            source: berth_doctor::Source::Registered(def.task_definition_arn),
            caller_arn: Some(ctx.caller.principal.arn()),
            cluster: None,
            registry_check: false,
            now: ctx.now_secs(),
        },
    )?;
    Ok(report)
}
