//! The documents IAM's policy simulator evaluates for a user, group or role, each labelled as
//! the simulator names it (`SourcePolicyId`, `SourcePolicyType`).

use berth_store::{StoreExt, Tx, get_json};

use crate::entity;
use crate::policies::{EntityKind, ManagedPolicy, find_policy, load};
use crate::{Group, Iam, IamError, InlinePolicy, Role, User};

/// `PolicySourceType`: where a simulated document comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceType {
    User,
    Group,
    Role,
    AwsManaged,
    UserManaged,
    Resource,
    /// A document given in the request (`PolicyInputList`).
    None,
}

impl SourceType {
    /// The model's enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::User => "user",
            SourceType::Group => "group",
            SourceType::Role => "role",
            SourceType::AwsManaged => "aws-managed",
            SourceType::UserManaged => "user-managed",
            SourceType::Resource => "resource",
            SourceType::None => "none",
        }
    }
}

/// One document of a simulation with its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDocument {
    /// An inline policy's name, a managed policy's name, or `PolicyInputList.N`.
    pub id: String,
    pub source_type: SourceType,
    pub document: String,
}

/// What the simulator evaluates for an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationSubject {
    /// The entity's ARN, with its path.
    pub arn: String,
    /// Its identity-based policies: its own inline ones, its attached managed ones, then for a
    /// user each group's inline and attached ones.
    pub documents: Vec<SourceDocument>,
    /// Its permissions boundary (users and roles).
    pub boundary: Option<SourceDocument>,
}

fn inline_docs(policies: Vec<InlinePolicy>, t: SourceType) -> impl Iterator<Item = SourceDocument> {
    policies.into_iter().map(move |p| SourceDocument {
        id: p.name,
        source_type: t,
        document: p.document,
    })
}

fn managed_doc(p: ManagedPolicy) -> SourceDocument {
    SourceDocument {
        source_type: if p.is_aws_managed() {
            SourceType::AwsManaged
        } else {
            SourceType::UserManaged
        },
        id: p.name,
        document: p.document,
    }
}

fn managed_docs(
    tx: &dyn Tx,
    account: &str,
    arns: &[String],
    out: &mut Vec<SourceDocument>,
) -> Result<(), IamError> {
    for arn in arns {
        out.extend(find_policy(tx, account, arn)?.map(managed_doc));
    }
    Ok(())
}

impl Iam<'_> {
    /// The documents the simulator evaluates for the user, group or role `name` of `account`;
    /// `NoSuchEntity` when it does not exist.
    pub fn simulation_subject(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
    ) -> Result<SimulationSubject, IamError> {
        self.store.read(|tx| {
            let mut documents = Vec::new();
            let (arn, boundary) = match kind {
                EntityKind::User => {
                    let mut u: User = load(tx, account, name)?;
                    let arn = u.arn();
                    documents.extend(inline_docs(
                        std::mem::take(&mut u.inline_policies),
                        SourceType::User,
                    ));
                    managed_docs(tx, account, &u.attached_policies, &mut documents)?;
                    for group in &u.groups {
                        let Some(g) = get_json::<PolicyHolderGroup>(
                            tx,
                            entity::GROUPS,
                            &entity::key(account, group),
                        )?
                        else {
                            continue;
                        };
                        documents.extend(inline_docs(g.inline_policies, SourceType::Group));
                        managed_docs(tx, account, &g.attached_policies, &mut documents)?;
                    }
                    (arn, u.permissions_boundary)
                }
                EntityKind::Role => {
                    let r: Role = load(tx, account, name)?;
                    let arn = r.arn();
                    documents.extend(inline_docs(r.inline_policies, SourceType::Role));
                    managed_docs(tx, account, &r.attached_policies, &mut documents)?;
                    (arn, r.permissions_boundary)
                }
                EntityKind::Group => {
                    let g: Group = load(tx, account, name)?;
                    let arn = g.arn();
                    documents.extend(inline_docs(g.inline_policies, SourceType::Group));
                    managed_docs(tx, account, &g.attached_policies, &mut documents)?;
                    (arn, None)
                }
            };
            let boundary = match boundary {
                Some(b) => find_policy(tx, account, &b)?.map(managed_doc),
                None => None,
            };
            Ok(SimulationSubject {
                arn,
                documents,
                boundary,
            })
        })
    }
}

/// A group's policies as stored, with the inline policies' names.
#[derive(serde::Deserialize)]
struct PolicyHolderGroup {
    #[serde(default)]
    inline_policies: Vec<InlinePolicy>,
    #[serde(default)]
    attached_policies: Vec<String>,
}
