//! IAM's service last accessed data (GenerateServiceLastAccessedDetails and its Get calls,
//! ListPoliciesGrantingServiceAccess) and the record of attempts it reads.
//!
//! Every authorisation question of a user or a role session is an attempt on its action
//! ([`AccessLog::record`], called by `authz::authorize` before it decides: AWS counts denied
//! attempts too). The latest time of each (entity, action, region) is kept in memory and written
//! to the store at most once a minute each, so an authorised call costs a map lookup under a
//! read lock; a report reads the store and the memory together. With several servers on one store a server's
//! attempts reach another's reports within a minute.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_iam::access::AccessRecord;

// The domain's records, as the outputs carry them.
pub use berth_iam::access::{AccessEntity, AccessJob, NamedPolicy, ServiceAccess};
use berth_iam::{CredError, IamError, Principal};

use super::Paging;
use crate::{Ctx, Error};

/// How often an (entity, action, region) latest attempt is written to the store, at most.
const FLUSH_SECS: u64 = 60;
/// Entries kept in memory before the map is emptied (each already written once).
const MAX_ENTRIES: usize = 100_000;

/// The latest attempt of one entity on one action in one region.
struct Seen {
    account: String,
    entity_arn: String,
    action: String,
    region: String,
    /// Seconds since the epoch.
    time: AtomicU64,
    /// When it was last written to the store (0: never).
    stored: AtomicU64,
}

impl Seen {
    fn record(&self) -> AccessRecord {
        AccessRecord {
            entity_arn: self.entity_arn.clone(),
            action: self.action.clone(),
            time: self.time.load(Ordering::Relaxed),
            region: self.region.clone(),
        }
    }

    /// Notes an attempt at `now`; the record to write to the store when this call is the one
    /// that claims the minute's write.
    fn seen_at(&self, now: u64) -> Option<(String, AccessRecord)> {
        self.time.fetch_max(now, Ordering::Relaxed);
        let stored = self.stored.load(Ordering::Relaxed);
        (now >= stored.saturating_add(FLUSH_SECS)
            && self
                .stored
                .compare_exchange(stored, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok())
        .then(|| (self.account.clone(), self.record()))
    }
}

/// Entity id → action → region → the latest attempt.
type Entries = HashMap<String, HashMap<String, HashMap<String, Seen>>>;

/// The latest attempts of the server's callers. A known (entity, action, region) is noted
/// under the read lock with atomics; only a new one takes the write lock.
#[derive(Default)]
pub struct AccessLog {
    seen: RwLock<(Entries, usize)>,
}

impl AccessLog {
    /// Notes the caller's attempt on `action` (a user's or a role session's; the root user and
    /// federated users are not reported on).
    pub fn record(&self, ctx: &Ctx<'_>, action: &str) {
        let (account, id) = match &ctx.caller.principal {
            Principal::User { account, id, .. } if !id.is_empty() => (account, id),
            Principal::AssumedRole {
                account, role_id, ..
            } => (account, role_id),
            _ => return,
        };
        let now = ctx.now_secs();
        let region = ctx.caller.region.as_str();
        let known = {
            let guard = self.seen.read().unwrap_or_else(|e| e.into_inner());
            guard
                .0
                .get(id.as_str())
                .and_then(|a| a.get(action))
                .and_then(|r| r.get(region))
                .map(|s| s.seen_at(now))
        };
        let flush = match known {
            Some(flush) => flush,
            None => {
                let mut guard = self.seen.write().unwrap_or_else(|e| e.into_inner());
                let (entries, count) = &mut *guard;
                if *count >= MAX_ENTRIES {
                    entries.clear();
                    *count = 0;
                }
                let by_region = entries
                    .entry(id.clone())
                    .or_default()
                    .entry(action.to_string())
                    .or_default();
                let seen = by_region.entry(region.to_string()).or_insert_with(|| {
                    *count += 1;
                    Seen {
                        account: account.clone(),
                        entity_arn: entity_arn(&ctx.caller.principal),
                        action: action.to_string(),
                        region: region.to_string(),
                        time: AtomicU64::new(now),
                        stored: AtomicU64::new(0),
                    }
                });
                seen.seen_at(now)
            }
        };
        if let Some((account, record)) = flush
            && let Err(e) = ctx.control.iam().record_access(&account, id, &record)
        {
            tracing::warn!(error = %e, "the last accessed record was not stored");
        }
    }

    /// The attempts of entity `id` held in memory.
    fn fresh(&self, id: &str) -> Vec<AccessRecord> {
        let guard = self.seen.read().unwrap_or_else(|e| e.into_inner());
        guard
            .0
            .get(id)
            .map(|actions| {
                actions
                    .values()
                    .flat_map(HashMap::values)
                    .map(Seen::record)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A user's ARN, or the role's of a role session.
fn entity_arn(p: &Principal) -> String {
    match p {
        Principal::AssumedRole {
            account,
            role_name,
            role_path,
            ..
        } => format!("arn:aws:iam::{account}:role{role_path}{role_name}"),
        other => other.arn(),
    }
}

/// The stored and the in-memory attempts of an entity, the latest per action.
fn attempts(ctx: &Ctx<'_>, account: &str, id: &str) -> Result<Vec<AccessRecord>, Error> {
    let mut by_action: HashMap<String, AccessRecord> = HashMap::new();
    let stored = ctx.control.iam().accesses(account, id)?;
    for r in stored.into_iter().chain(ctx.control.access.fresh(id)) {
        let key = r.action.to_ascii_lowercase();
        match by_action.get(&key) {
            Some(old) if old.time >= r.time => {}
            _ => {
                by_action.insert(key, r);
            }
        }
    }
    Ok(by_action.into_values().collect())
}

#[derive(Debug, Clone, Default)]
pub struct GenerateServiceLastAccessedDetailsInput {
    pub arn: String,
    /// `ACTION_LEVEL`; otherwise `SERVICE_LEVEL`.
    pub action_level: bool,
}

#[derive(Debug, Clone)]
pub struct GenerateServiceLastAccessedDetailsOutput {
    pub job_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetServiceLastAccessedDetailsInput {
    pub job_id: String,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct GetServiceLastAccessedDetailsOutput {
    pub job: AccessJob,
    /// This page of the job's services.
    pub services: Vec<ServiceAccess>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GetServiceLastAccessedDetailsWithEntitiesInput {
    pub job_id: String,
    pub service_namespace: String,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct GetServiceLastAccessedDetailsWithEntitiesOutput {
    pub job: AccessJob,
    /// This page of the entities, each with its latest attempt in the service.
    pub entities: Vec<(AccessEntity, Option<u64>)>,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListPoliciesGrantingServiceAccessInput {
    pub marker: Option<String>,
    pub arn: String,
    pub service_namespaces: Vec<String>,
}

/// One namespace and the policies that allow an action of it.
#[derive(Debug, Clone)]
pub struct PoliciesGrantingServiceAccess {
    pub namespace: String,
    pub policies: Vec<NamedPolicy>,
}

#[derive(Debug, Clone)]
pub struct ListPoliciesGrantingServiceAccessOutput {
    pub entries: Vec<PoliciesGrantingServiceAccess>,
}

/// The page of `items` from `marker` (an index a previous page gave), `max` long.
fn page<T: Clone>(items: &[T], paging: &Paging) -> Result<(Vec<T>, Option<String>), Error> {
    let start = match &paging.marker {
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            // AWS's words for a marker it did not give are not known.
            .ok_or_else(|| Error::InvalidInput("the marker is not valid".into()))?,
        None => 0,
    };
    let max = paging.max_items.unwrap_or(100).max(1);
    let rest = items.get(start..).unwrap_or_default();
    let taken = rest.iter().take(max).cloned().collect();
    let marker = (rest.len() > max).then(|| (start + max).to_string());
    Ok((taken, marker))
}

/// An ARN the service last accessed operations do not take (AWS's words are not known).
fn invalid_arn(arn: &str) -> Error {
    Error::InvalidInput(format!(
        "{} is not the ARN of an IAM user, group, role or policy",
        arn.chars().take(2048).collect::<String>()
    ))
}

pub fn generate_service_last_accessed_details(
    ctx: &Ctx<'_>,
    input: GenerateServiceLastAccessedDetailsInput,
) -> Result<GenerateServiceLastAccessedDetailsOutput, Error> {
    ctx.authorize("iam:GenerateServiceLastAccessedDetails", &input.arn)?;
    let account = ctx.account();
    let (documents, entities) = match ctx.control.iam().access_scope(account, &input.arn) {
        Err(IamError::InvalidArn(_)) => return Err(invalid_arn(&input.arn)),
        other => other?,
    };
    let mut attempted = Vec::with_capacity(entities.len());
    for e in entities {
        let records = attempts(ctx, account, &e.id)?;
        attempted.push((e, records));
    }
    let services = berth_iam::access::build_report(&documents, &attempted, input.action_level);
    let job = AccessJob {
        id: berth_core::ids::request_id(),
        arn: input.arn,
        action_level: input.action_level,
        created: ctx.now_secs(),
        services,
    };
    ctx.control.iam().put_access_job(account, &job)?;
    Ok(GenerateServiceLastAccessedDetailsOutput { job_id: job.id })
}

fn job(ctx: &Ctx<'_>, id: &str) -> Result<AccessJob, Error> {
    ctx.control
        .iam()
        .access_job(ctx.account(), id)?
        .ok_or_else(|| IamError::from(CredError::NoSuchAccessJob(id.to_string())).into())
}

pub fn get_service_last_accessed_details(
    ctx: &Ctx<'_>,
    input: GetServiceLastAccessedDetailsInput,
) -> Result<GetServiceLastAccessedDetailsOutput, Error> {
    ctx.authorize("iam:GetServiceLastAccessedDetails", "*")?;
    let job = job(ctx, &input.job_id)?;
    let (services, marker) = page(&job.services, &input.paging)?;
    Ok(GetServiceLastAccessedDetailsOutput {
        job,
        services,
        marker,
    })
}

pub fn get_service_last_accessed_details_with_entities(
    ctx: &Ctx<'_>,
    input: GetServiceLastAccessedDetailsWithEntitiesInput,
) -> Result<GetServiceLastAccessedDetailsWithEntitiesOutput, Error> {
    ctx.authorize("iam:GetServiceLastAccessedDetailsWithEntities", "*")?;
    let job = job(ctx, &input.job_id)?;
    let namespace = input.service_namespace.to_ascii_lowercase();
    let all: Vec<(AccessEntity, Option<u64>)> = job
        .services
        .iter()
        .find(|s| s.namespace == namespace)
        .map(|s| s.entities.clone())
        .unwrap_or_default();
    let (entities, marker) = page(&all, &input.paging)?;
    Ok(GetServiceLastAccessedDetailsWithEntitiesOutput {
        job,
        entities,
        marker,
    })
}

pub fn list_policies_granting_service_access(
    ctx: &Ctx<'_>,
    input: ListPoliciesGrantingServiceAccessInput,
) -> Result<ListPoliciesGrantingServiceAccessOutput, Error> {
    ctx.authorize("iam:ListPoliciesGrantingServiceAccess", &input.arn)?;
    let Some((berth_iam::access::AccessSubject::Entity(kind), name)) =
        berth_iam::access::access_subject(&input.arn)
    else {
        return Err(invalid_arn(&input.arn));
    };
    let not_found = || {
        Error::Iam(match kind {
            berth_iam::EntityKind::User => IamError::NoSuchUser(name.clone()),
            berth_iam::EntityKind::Role => IamError::NoSuchRole(name.clone()),
            berth_iam::EntityKind::Group => IamError::NoSuchGroup(name.clone()),
        })
    };
    if berth_core::Arn::parse(&input.arn).is_ok_and(|a| a.account != ctx.account()) {
        return Err(not_found());
    }
    let (arn, policies) = ctx
        .control
        .iam()
        .named_policies(ctx.account(), kind, &name)?;
    if arn != input.arn {
        return Err(not_found());
    }
    // One page holds every namespace (at most 200, the model's limit): no marker is given.
    let entries = input
        .service_namespaces
        .iter()
        .map(|ns| {
            let lower = ns.to_ascii_lowercase();
            PoliciesGrantingServiceAccess {
                namespace: ns.clone(),
                policies: policies
                    .iter()
                    .filter(|p| berth_iam::access::allows_namespace(&p.document, &lower))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    Ok(ListPoliciesGrantingServiceAccessOutput { entries })
}

// --- the STS preferences ---------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct SetSecurityTokenServicePreferencesInput {
    /// `v1Token` or `v2Token`.
    pub global_endpoint_token_version: String,
}

/// Sets the version of the tokens STS's global endpoint gives; GetAccountSummary's
/// `GlobalEndpointTokenVersion` shows it (1 or 2). berth's tokens are the same either way: it
/// has one endpoint for every region.
pub fn set_security_token_service_preferences(
    ctx: &Ctx<'_>,
    input: SetSecurityTokenServicePreferencesInput,
) -> Result<(), Error> {
    ctx.authorize("iam:SetSecurityTokenServicePreferences", "*")?;
    ctx.control
        .iam()
        .set_global_endpoint_token_version(ctx.account(), &input.global_endpoint_token_version)?;
    Ok(())
}

// --- what a berth account does not have ------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct GenerateOrganizationsAccessReportInput {
    pub entity_path: String,
}

/// GenerateOrganizationsAccessReport: a berth account is in no organization.
pub fn generate_organizations_access_report(
    ctx: &Ctx<'_>,
    _input: GenerateOrganizationsAccessReportInput,
) -> Result<(), Error> {
    ctx.authorize("iam:GenerateOrganizationsAccessReport", "*")?;
    Err(IamError::from(CredError::OrganizationNotFound).into())
}

#[derive(Debug, Clone, Default)]
pub struct GetOrganizationsAccessReportInput {
    pub job_id: String,
}

/// GetOrganizationsAccessReport: no such job (GenerateOrganizationsAccessReport gives none).
pub fn get_organizations_access_report(
    ctx: &Ctx<'_>,
    input: GetOrganizationsAccessReportInput,
) -> Result<(), Error> {
    ctx.authorize("iam:GetOrganizationsAccessReport", "*")?;
    Err(IamError::from(CredError::NoSuchAccessJob(input.job_id)).into())
}

#[derive(Debug, Clone, Default)]
pub struct PutAccountPropertiesInput {
    pub properties: Vec<(String, String)>,
}

/// PutAccountProperties: the properties' namespaces are not documented, and berth knows none
/// (GetAccountProperties answers none).
pub fn put_account_properties(
    ctx: &Ctx<'_>,
    input: PutAccountPropertiesInput,
) -> Result<(), Error> {
    ctx.authorize("iam:PutAccountProperties", "*")?;
    let namespace = |k: &str| k.split_once('/').map_or(k, |(ns, _)| ns).to_string();
    let mut namespaces: Vec<String> = input.properties.iter().map(|(k, _)| namespace(k)).collect();
    namespaces.sort();
    namespaces.dedup();
    if namespaces.len() > 1 {
        return Err(Error::InvalidInput(
            "all properties of one request must be in the same namespace".into(),
        ));
    }
    Err(IamError::from(CredError::NotInBerth(format!(
        "account properties: berth knows no property of namespace {}",
        namespaces.first().map_or("", String::as_str)
    )))
    .into())
}

/// EnableOutboundWebIdentityFederation: berth issues no web identity tokens, so it has no
/// issuer URL to give.
pub fn enable_outbound_web_identity_federation(
    ctx: &Ctx<'_>,
    _input: super::NoInput,
) -> Result<(), Error> {
    ctx.authorize("iam:EnableOutboundWebIdentityFederation", "*")?;
    Err(IamError::from(CredError::NotInBerth(
        "outbound web identity federation: berth issues no web identity tokens".into(),
    ))
    .into())
}

#[derive(Debug, Clone, Default)]
pub struct AcquireRoleInput {
    pub template_arn: String,
}

/// AcquireRole: berth has no role templates.
pub fn acquire_role(ctx: &Ctx<'_>, input: AcquireRoleInput) -> Result<(), Error> {
    ctx.authorize("iam:AcquireRole", &input.template_arn)?;
    Err(IamError::from(CredError::NoSuchRoleTemplate(input.template_arn)).into())
}

#[derive(Debug, Clone, Default)]
pub struct CreateDelegationRequestInput {
    pub owner_account_id: Option<String>,
}

/// CreateDelegationRequest: an operation for onboarded partners, which berth has none of.
pub fn create_delegation_request(
    ctx: &Ctx<'_>,
    _input: CreateDelegationRequestInput,
) -> Result<(), Error> {
    ctx.authorize("iam:CreateDelegationRequest", "*")?;
    Err(IamError::from(CredError::NotInBerth(
        "delegation requests: berth has no onboarded partners to make them".into(),
    ))
    .into())
}

#[derive(Debug, Clone, Default)]
pub struct UpdateOpenIdConnectProviderInput {
    pub open_id_connect_provider_arn: String,
    pub context_provider: bool,
    pub identity_center_instance_arn: Option<String>,
    pub remove_context_provider: bool,
    pub remove_identity_center_instance: bool,
}

/// UpdateOpenIDConnectProvider: berth's providers have no context provider and no IAM Identity
/// Center instance, and berth can give them neither; removing them changes nothing.
pub fn update_open_id_connect_provider(
    ctx: &Ctx<'_>,
    input: UpdateOpenIdConnectProviderInput,
) -> Result<(), Error> {
    let arn = &input.open_id_connect_provider_arn;
    ctx.authorize("iam:UpdateOpenIDConnectProvider", arn)?;
    ctx.control.iam().get_oidc_provider(ctx.account(), arn)?;
    // The model's documentation's rules; AWS's words for breaking them are not known.
    if input.context_provider && input.remove_context_provider {
        return Err(Error::InvalidInput(
            "ContextProvider and RemoveContextProvider cannot both be given".into(),
        ));
    }
    if input.identity_center_instance_arn.is_some() && input.remove_identity_center_instance {
        return Err(Error::InvalidInput(
            "IdentityCenterInstanceArn and RemoveIdentityCenterInstance cannot both be given"
                .into(),
        ));
    }
    let context = input.context_provider || input.remove_context_provider;
    let center =
        input.identity_center_instance_arn.is_some() || input.remove_identity_center_instance;
    if context && center {
        return Err(Error::InvalidInput(
            "one request changes either the context provider or the IAM Identity Center association, not both"
                .into(),
        ));
    }
    if input.context_provider {
        return Err(IamError::from(CredError::NotInBerth(
            "trusted identity propagation: berth has no context providers".into(),
        ))
        .into());
    }
    if input.identity_center_instance_arn.is_some() {
        return Err(IamError::from(CredError::NotInBerth(
            "IAM Identity Center: berth has no Identity Center instances".into(),
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::{Duration, UNIX_EPOCH};

    use berth_iam::NewUser;

    use super::*;
    use crate::testing::caller;

    const ACCOUNT: &str = "111122223333";

    #[test]
    fn attempts_reach_the_store_at_most_once_a_minute() {
        let control = crate::testing::control();
        let user = control
            .iam()
            .create_user(ACCOUNT, NewUser::named("ann"), 0)
            .unwrap();
        let ann = crate::testing::user_caller(&user);
        let at = |secs: u64| {
            let mut ctx = control.ctx(&ann, "r");
            ctx.now = UNIX_EPOCH + Duration::from_secs(secs);
            control.access.record(&ctx, "iam:ListUsers");
        };
        let stored = || {
            let r = control.iam().accesses(ACCOUNT, &user.id).unwrap();
            r.iter().map(|r| r.time).collect::<Vec<_>>()
        };
        at(1_000);
        assert_eq!(stored(), [1_000]);
        at(1_030);
        assert_eq!(stored(), [1_000]);
        let ctx = control.ctx(&ann, "r");
        let seen = attempts(&ctx, ACCOUNT, &user.id).unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].time, 1_030);
        assert_eq!(
            seen[0].entity_arn,
            format!("arn:aws:iam::{ACCOUNT}:user/ann")
        );
        at(1_060);
        assert_eq!(stored(), [1_060]);

        // Another region is its own entry; the report takes the latest attempt.
        let mut ann_eu = ann.clone();
        ann_eu.region = "eu-west-1".into();
        let mut ctx = control.ctx(&ann_eu, "r");
        ctx.now = UNIX_EPOCH + Duration::from_secs(1_070);
        control.access.record(&ctx, "iam:ListUsers");
        let seen = attempts(&ctx, ACCOUNT, &user.id).unwrap();
        assert_eq!(
            seen.iter()
                .map(|r| (r.time, r.region.as_str()))
                .collect::<Vec<_>>(),
            [(1_070, "eu-west-1")]
        );

        // The root user is not reported on.
        let root = caller(Principal::Root {
            account: ACCOUNT.into(),
        });
        control
            .access
            .record(&control.ctx(&root, "r"), "iam:GetUser");
        let entries = control.access.seen.read().unwrap();
        assert_eq!(entries.1, 2);
        assert_eq!(entries.0.len(), 1);
    }
}
