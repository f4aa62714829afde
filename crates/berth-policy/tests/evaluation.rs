//! Evaluation logic, as data: policies + request + expected decision.
//!
//! Sources: AWS IAM User Guide, "Policy evaluation logic" (single account,
//! resource-based policies and implicit denies), "Cross-account policy
//! evaluation logic", "Permissions boundaries for IAM entities", "NotPrincipal",
//! "NotAction", "NotResource", "Policy variables"; the KMS and Secrets Manager
//! developer guides for key policies.
#![allow(clippy::unwrap_used)]

mod common;

use berth_policy::{Decision, Mode, PolicyType};
use common::*;

const SM_SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name-AbCdEf";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/key_id";

// --- "Policy evaluation logic": example identity-based and resource-based policy evaluation.

const CARLOS_IDENTITY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowS3ListRead", "Effect": "Allow",
         "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
         "Resource": "arn:aws:s3:::*"},
        {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}
    ]
}"#;

const CARLOS_BUCKET: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/carlossalazar"},
         "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]}
    ]
}"#;

fn carlos() -> berth_policy::Principal {
    berth_policy::Principal::user(
        "123456789012",
        "arn:aws:iam::123456789012:user/carlossalazar",
    )
}

#[test]
fn single_account_worked_example() {
    check(&[
        Case::new(
            "logs bucket: explicit deny in the identity policy",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar-logs",
        )
        .identity(CARLOS_IDENTITY)
        .expect(explicit(PolicyType::Identity)),
        Case::new(
            "own bucket: both allow",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/notes.txt",
        )
        .identity(CARLOS_IDENTITY)
        .resource_policy(CARLOS_BUCKET)
        .expect(ALLOWED_RES),
        Case::new(
            "own bucket: the bucket policy alone allows",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/notes.txt",
        )
        .resource_policy(CARLOS_BUCKET)
        .expect(ALLOWED_RES),
        Case::new(
            "own bucket: the identity policy alone allows",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/notes.txt",
        )
        .identity(CARLOS_IDENTITY)
        .expect(ALLOWED_ID),
        Case::new(
            "another bucket: list/read statement",
            carlos(),
            "s3:GetBucketLocation",
            "arn:aws:s3:::other",
        )
        .identity(CARLOS_IDENTITY)
        .expect(ALLOWED_ID),
        Case::new(
            "another bucket: write is implicitly denied",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::other/x",
        )
        .identity(CARLOS_IDENTITY)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "deny in identity beats the bucket policy's allow",
            carlos(),
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/logs",
        )
        .identity(CARLOS_IDENTITY)
        .resource_policy(CARLOS_BUCKET)
        .expect(explicit(PolicyType::Identity)),
    ]);
}

// --- "The difference between explicit and implicit denies".

const GET_LIST_DENY_REPORTS: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
    ]
}"#;

#[test]
fn explicit_and_implicit_denies() {
    check(&[
        Case::new(
            "iam:GetUser allowed",
            alice(),
            "iam:GetUser",
            "arn:aws:iam::111122223333:user/x",
        )
        .identity(GET_LIST_DENY_REPORTS)
        .expect(ALLOWED_ID),
        Case::new(
            "action names are case-insensitive",
            alice(),
            "IAM:listusers",
            "*",
        )
        .identity(GET_LIST_DENY_REPORTS)
        .expect(ALLOWED_ID),
        Case::new(
            "iam:CreatePolicy implicitly denied",
            alice(),
            "iam:CreatePolicy",
            "*",
        )
        .identity(GET_LIST_DENY_REPORTS)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "iam:GetOrganizationsAccessReport explicitly denied",
            alice(),
            "iam:GetOrganizationsAccessReport",
            "*",
        )
        .identity(GET_LIST_DENY_REPORTS)
        .expect(explicit(PolicyType::Identity)),
        Case::new(
            "another policy allowing reports does not help",
            alice(),
            "iam:GenerateCredentialReport",
            "*",
        )
        .identity(GET_LIST_DENY_REPORTS)
        .identity(&allow("iam:GenerateCredentialReport", "*"))
        .expect(explicit(PolicyType::Identity)),
    ]);
}

// --- "Cross-account policy evaluation logic": example.

const CARLOS_X_IDENTITY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowS3ListRead", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Sid": "AllowS3ProductionObjectActions", "Effect": "Allow", "Action": "s3:*Object*", "Resource": "arn:aws:s3:::Production/*"},
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"]}
    ]
}"#;

const PRODUCTION_BUCKET: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow",
         "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ReplicateObject", "s3:RestoreObject"],
         "Principal": {"AWS": "arn:aws:iam::111111111111:user/carlossalazar"},
         "Resource": "arn:aws:s3:::Production/*"}
    ]
}"#;

fn carlos_x() -> berth_policy::Principal {
    berth_policy::Principal::user(
        "111111111111",
        "arn:aws:iam::111111111111:user/carlossalazar",
    )
}

#[test]
fn cross_account_worked_example() {
    check(&[
        Case::new(
            "Production-logs: denied in the trusted account",
            carlos_x(),
            "s3:PutObject",
            "arn:aws:s3:::Production-logs/f",
        )
        .identity(CARLOS_X_IDENTITY)
        .owner("222222222222")
        .expect(explicit(PolicyType::Identity)),
        Case::new(
            "Production: both accounts allow",
            carlos_x(),
            "s3:PutObject",
            "arn:aws:s3:::Production/f",
        )
        .identity(CARLOS_X_IDENTITY)
        .resource_policy(PRODUCTION_BUCKET)
        .owner("222222222222")
        .expect(ALLOWED_BOTH),
        Case::new(
            "Production: delete not in the bucket policy",
            carlos_x(),
            "s3:DeleteObject",
            "arn:aws:s3:::Production/f",
        )
        .identity(CARLOS_X_IDENTITY)
        .resource_policy(PRODUCTION_BUCKET)
        .owner("222222222222")
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "Production: bucket policy alone is not enough across accounts",
            carlos_x(),
            "s3:PutObject",
            "arn:aws:s3:::Production/f",
        )
        .resource_policy(PRODUCTION_BUCKET)
        .owner("222222222222")
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "Production: identity alone is not enough across accounts",
            carlos_x(),
            "s3:PutObject",
            "arn:aws:s3:::Production/f",
        )
        .identity(CARLOS_X_IDENTITY)
        .owner("222222222222")
        .expect(implicit(PolicyType::Resource)),
    ]);
}

// --- Resource-based policies and implicit denies in other policy types (same account).

fn names(principal: &str) -> String {
    res_stmt(
        "Allow",
        &format!(r#"{{"AWS":"{principal}"}}"#),
        "secretsmanager:GetSecretValue",
    )
}

const S3_ONLY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

#[test]
fn resource_policies_and_boundaries() {
    let get = "secretsmanager:GetSecretValue";
    let sm_all = allow("secretsmanager:*", "*");
    check(&[
        Case::new(
            "role ARN named, boundary silent: denied by the boundary",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:role/app/R"))
        .boundary(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new(
            "role ARN named, no boundary, no identity policy",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:role/app/R"))
        .expect(ALLOWED_RES),
        Case::new(
            "role ARN named, session policy silent: denied by the session policy",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:role/app/R"))
        .session_policy(S3_ONLY)
        .expect(implicit(PolicyType::Session)),
        Case::new(
            "session ARN named: boundary does not limit",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:sts::111122223333:assumed-role/R/s1"))
        .boundary(S3_ONLY)
        .expect(ALLOWED_RES),
        Case::new(
            "session ARN named: session policy does not limit",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:sts::111122223333:assumed-role/R/s1"))
        .session_policy(S3_ONLY)
        .expect(ALLOWED_RES),
        Case::new(
            "other session of the same role not named",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:sts::111122223333:assumed-role/R/other"))
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "user ARN named: boundary does not limit",
            alice(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:user/alice"))
        .boundary(S3_ONLY)
        .expect(ALLOWED_RES),
        Case::new(
            "user: identity allows, boundary silent",
            alice(),
            get,
            SM_SECRET,
        )
        .identity(&sm_all)
        .boundary(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new("user: identity and boundary allow", alice(), get, SM_SECRET)
            .identity(&sm_all)
            .boundary(&sm_all)
            .expect(ALLOWED_ID),
        Case::new(
            "user: boundary alone grants nothing",
            alice(),
            get,
            SM_SECRET,
        )
        .boundary(&sm_all)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "session: identity and session policy allow",
            session(),
            get,
            SM_SECRET,
        )
        .identity(&sm_all)
        .session_policy(&sm_all)
        .expect(ALLOWED_ID),
        Case::new("session: session policy silent", session(), get, SM_SECRET)
            .identity(&sm_all)
            .session_policy(S3_ONLY)
            .expect(implicit(PolicyType::Session)),
        Case::new(
            "session: boundary checked before session policy",
            session(),
            get,
            SM_SECRET,
        )
        .identity(&sm_all)
        .boundary(S3_ONLY)
        .session_policy(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new(
            "account named: delegates, identity silent",
            alice(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("111122223333"))
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "account root ARN named: delegates, identity allows",
            alice(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:root"))
        .identity(&sm_all)
        .expect(ALLOWED_ID),
        Case::new("\"*\" principal, same account", alice(), get, SM_SECRET)
            .resource_policy(&res_stmt("Allow", r#""*""#, get))
            .expect(ALLOWED_RES),
        Case::new(
            "{\"AWS\":\"*\"}, same account, boundary silent",
            session(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("*"))
        .boundary(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new(
            "explicit deny in the resource policy",
            alice(),
            get,
            SM_SECRET,
        )
        .identity(&sm_all)
        .resource_policy(&res_stmt("Deny", r#"{"AWS":"111122223333"}"#, get))
        .expect(explicit(PolicyType::Resource)),
        Case::new("explicit deny in the boundary", alice(), get, SM_SECRET)
            .identity(&sm_all)
            .boundary(&deny(get, "*"))
            .expect(explicit(PolicyType::Boundary)),
        Case::new(
            "explicit deny in the session policy",
            session(),
            get,
            SM_SECRET,
        )
        .identity(&sm_all)
        .session_policy(&deny("secretsmanager:*", "*"))
        .expect(explicit(PolicyType::Session)),
        Case::new(
            "explicit deny in the boundary beats a direct resource grant",
            alice(),
            get,
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:user/alice"))
        .boundary(&deny(get, "*"))
        .expect(explicit(PolicyType::Boundary)),
        Case::new(
            "resource policy for another action does not allow",
            alice(),
            "secretsmanager:PutSecretValue",
            SM_SECRET,
        )
        .resource_policy(&names("arn:aws:iam::111122223333:user/alice"))
        .expect(implicit(PolicyType::Identity)),
    ]);
}

#[test]
fn cross_account_with_boundaries_and_delegation() {
    let get = "secretsmanager:GetSecretValue";
    let sm_all = allow("secretsmanager:*", "*");
    check(&[
        Case::new(
            "account B named, B's identity allows",
            bob_b(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names(B))
        .identity(&sm_all)
        .expect(ALLOWED_BOTH),
        Case::new(
            "account B named, B's identity silent",
            bob_b(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names(B))
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "user named directly across accounts still needs identity",
            bob_b(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names("arn:aws:iam::444455556666:user/bob"))
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "across accounts the boundary limits a direct grant",
            bob_b(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names("arn:aws:iam::444455556666:user/bob"))
        .identity(&sm_all)
        .boundary(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new("another account named", bob_b(), get, SM_SECRET)
            .owner(A)
            .resource_policy(&names("999999999999"))
            .identity(&sm_all)
            .expect(implicit(PolicyType::Resource)),
        Case::new(
            "\"*\" across accounts with identity",
            bob_b(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names("*"))
        .identity(&sm_all)
        .expect(ALLOWED_BOTH),
    ]);
}

#[test]
fn root_user() {
    let get = "secretsmanager:GetSecretValue";
    check(&[
        Case::new(
            "root, own account, no policies",
            berth_policy::Principal::root(A),
            get,
            SM_SECRET,
        )
        .owner(A)
        .expect(ALLOWED_ROOT),
        Case::new(
            "root, resource_account unknown",
            berth_policy::Principal::root(A),
            "iam:CreateUser",
            "*",
        )
        .expect(ALLOWED_ROOT),
        Case::new(
            "root, own account, explicit deny",
            berth_policy::Principal::root(A),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&res_stmt("Deny", r#""*""#, get))
        .expect(explicit(PolicyType::Resource)),
        Case::new(
            "root of B, resource policy names B",
            berth_policy::Principal::root(B),
            get,
            SM_SECRET,
        )
        .owner(A)
        .resource_policy(&names(B))
        .expect(ALLOWED_BOTH),
        Case::new(
            "root of B, no resource policy",
            berth_policy::Principal::root(B),
            get,
            SM_SECRET,
        )
        .owner(A)
        .expect(implicit(PolicyType::Resource)),
    ]);
}

// --- NotPrincipal, NotAction, NotResource.

const NOT_BOB: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ["arn:aws:iam::444455556666:user/bob", "arn:aws:iam::444455556666:root"]},
        "Action": "secretsmanager:*", "Resource": "*"
    }, {
        "Effect": "Allow", "Principal": {"AWS": ["111122223333", "444455556666"]},
        "Action": "secretsmanager:*", "Resource": "*"
    }]
}"#;

const NOT_BOB_USER_ONLY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Deny",
        "NotPrincipal": {"AWS": "arn:aws:iam::444455556666:user/bob"},
        "Action": "secretsmanager:*", "Resource": "*"
    }]
}"#;

fn not_session(list: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":[{list}]}},"Action":"*","Resource":"*"}}]}}"#
    )
}

#[test]
fn not_principal_not_action_not_resource() {
    let get = "secretsmanager:GetSecretValue";
    let sm_all = allow("secretsmanager:*", "*");
    let full = r#""arn:aws:sts::111122223333:assumed-role/R/s1","arn:aws:iam::111122223333:role/app/R","arn:aws:iam::111122223333:root""#;
    let no_role =
        r#""arn:aws:sts::111122223333:assumed-role/R/s1","arn:aws:iam::111122223333:root""#;
    check(&[
        Case::new("NotPrincipal deny spares bob (user and account listed)", bob_b(), get, SM_SECRET)
            .owner(A)
            .resource_policy(NOT_BOB)
            .identity(&sm_all)
            .expect(ALLOWED_BOTH),
        Case::new("NotPrincipal deny hits alice", alice(), get, SM_SECRET)
            .owner(A)
            .resource_policy(NOT_BOB)
            .identity(&sm_all)
            .expect(explicit(PolicyType::Resource)),
        Case::new("NotPrincipal without the account ARN denies bob too", bob_b(), get, SM_SECRET)
            .owner(A)
            .resource_policy(NOT_BOB_USER_ONLY)
            .identity(&sm_all)
            .expect(explicit(PolicyType::Resource)),
        Case::new("NotPrincipal with session, role and account spares the session", session(), get, SM_SECRET)
            .resource_policy(&not_session(full))
            .identity(&sm_all)
            .expect(ALLOWED_ID),
        Case::new("NotPrincipal without the role ARN denies the session", session(), get, SM_SECRET)
            .resource_policy(&not_session(no_role))
            .identity(&sm_all)
            .expect(explicit(PolicyType::Resource)),
        Case::new("NotAction allow: other services", alice(), "s3:GetObject", "arn:aws:s3:::b/k")
            .identity(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#)
            .expect(ALLOWED_ID),
        Case::new("NotAction allow: excluded service", alice(), "iam:CreateUser", "*")
            .identity(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#)
            .expect(implicit(PolicyType::Identity)),
        Case::new("NotResource deny: the payroll object is spared", alice(), "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x")
            .identity(r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]}"#)
            .expect(ALLOWED_ID),
        Case::new("NotResource deny: everything else is denied", alice(), "s3:GetObject", "arn:aws:s3:::Other/x")
            .identity(r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]}"#)
            .expect(explicit(PolicyType::Identity)),
    ]);
}

// --- KMS: default key policy (Mode::ResourcePolicyRequired).

fn default_key_policy(accounts: &[&str]) -> String {
    let principals: Vec<String> = accounts
        .iter()
        .map(|a| format!("\"arn:aws:iam::{a}:root\""))
        .collect();
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":[{}]}},"Action":"kms:*","Resource":"*"}}]}}"#,
        principals.join(",")
    )
}

#[test]
fn kms_default_key_policy() {
    let rpr = Mode::ResourcePolicyRequired;
    let key_policy = default_key_policy(&[A]);
    let both = default_key_policy(&[A, B]);
    let decrypt_key = allow("kms:Decrypt", KEY);
    check(&[
        Case::new(
            "same-account user with an identity allow",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .identity(&decrypt_key)
        .expect(ALLOWED_BOTH),
        Case::new(
            "same-account user without identity allow",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "same-account role session with an identity allow",
            session(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .identity(&allow("kms:*", "*"))
        .expect(ALLOWED_BOTH),
        Case::new(
            "other account, key policy names only A",
            bob_b(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .identity(&allow("kms:*", "*"))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "other account named, identity allows",
            bob_b(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&both)
        .identity(&allow("kms:*", "*"))
        .expect(ALLOWED_BOTH),
        Case::new(
            "other account named, identity silent",
            bob_b(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&both)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "no key policy: identity alone is never enough",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .identity(&decrypt_key)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "root of the key's account, key policy delegates",
            berth_policy::Principal::root(A),
            "kms:ScheduleKeyDeletion",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .expect(ALLOWED_BOTH),
        Case::new(
            "root of the key's account, key policy does not name the account",
            berth_policy::Principal::root(A),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&names("arn:aws:iam::111122223333:user/alice"))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "user named in the key policy needs no IAM permission",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&res_stmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
            "kms:Decrypt",
        ))
        .expect(ALLOWED_RES),
        Case::new(
            "role ARN named in the key policy, boundary silent",
            session(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(&res_stmt(
            "Allow",
            r#"{"AWS":"arn:aws:iam::111122223333:role/app/R"}"#,
            "kms:Decrypt",
        ))
        .boundary(S3_ONLY)
        .expect(implicit(PolicyType::Boundary)),
        Case::new("IAM deny still applies", alice(), "kms:Decrypt", KEY)
            .owner(A)
            .mode(rpr)
            .resource_policy(&key_policy)
            .identity(&decrypt_key)
            .identity(&deny("kms:Decrypt", "*"))
            .expect(explicit(PolicyType::Identity)),
    ]);
}

#[test]
fn kms_denial_messages() {
    let rpr = Mode::ResourcePolicyRequired;
    let key_policy = default_key_policy(&[A]);
    let no_identity = Case::new("", alice(), "kms:Decrypt", KEY)
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .decide();
    assert_eq!(
        no_identity.denial_message("arn:aws:iam::111122223333:user/alice", "kms:Decrypt", KEY),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/key_id because no identity-based policy allows the kms:Decrypt action"
    );
    let other_account = Case::new("", bob_b(), "kms:Decrypt", KEY)
        .owner(A)
        .mode(rpr)
        .resource_policy(&key_policy)
        .identity(&allow("kms:*", "*"))
        .decide();
    assert_eq!(
        other_account.denial_message("arn:aws:iam::444455556666:user/bob", "kms:Decrypt", KEY),
        "User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/key_id because no resource-based policy allows the kms:Decrypt action"
    );
}

// --- The AWS-managed key aws/secretsmanager (its key policy as AWS creates it,
// with account A and us-east-1; note the repeated Sid with spaces).

const SM_MANAGED_KEY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "auto-secretsmanager-2",
  "Statement": [
    {
      "Sid": "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:CallerAccount": "111122223333"}}
    },
    {
      "Sid": "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": "kms:GenerateDataKey*",
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}, "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}
    },
    {
      "Sid": "Allow direct access to key metadata to the account",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
      "Resource": "*"
    }
  ]
}"#;

#[test]
fn secretsmanager_managed_key() {
    let rpr = Mode::ResourcePolicyRequired;
    let via = "secretsmanager.us-east-1.amazonaws.com";
    check(&[
        Case::new(
            "same account, via Secrets Manager, no kms permissions",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .ctx("kms:ViaService", via)
        .ctx("kms:CallerAccount", A)
        .expect(ALLOWED_RES),
        Case::new(
            "same account role session, GenerateDataKey via Secrets Manager",
            session(),
            "kms:GenerateDataKey",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .ctx("kms:ViaService", "secretsmanager.eu-west-1.amazonaws.com")
        .ctx("kms:CallerAccount", A)
        .expect(ALLOWED_RES),
        Case::new(
            "same account, called directly (no kms:ViaService)",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .ctx("kms:CallerAccount", A)
        .identity(&allow("kms:*", "*"))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "same account, via another service",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .ctx("kms:ViaService", "s3.us-east-1.amazonaws.com")
        .ctx("kms:CallerAccount", A)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "cross account via Secrets Manager",
            bob_b(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .ctx("kms:ViaService", via)
        .ctx("kms:CallerAccount", B)
        .identity(&allow("kms:*", "*"))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "key metadata: account delegation plus identity",
            alice(),
            "kms:DescribeKey",
            KEY,
        )
        .owner(A)
        .mode(rpr)
        .resource_policy(SM_MANAGED_KEY_POLICY)
        .identity(&allow("kms:DescribeKey", "*"))
        .expect(ALLOWED_BOTH),
    ]);
}

// --- ECS task execution role trust policy.

const ECS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111122223333:*"},"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}"#;
const ROLE: &str = "arn:aws:iam::111122223333:role/ecsTaskExecutionRole";
const TASK: &str = "arn:aws:ecs:us-east-1:111122223333:task/default/0123456789abcdef";

#[test]
fn ecs_trust_policy() {
    check(&[
        Case::new(
            "ecs-tasks with matching source",
            ecs_tasks(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx("aws:SourceArn", TASK)
        .ctx("aws:SourceAccount", A)
        .expect(ALLOWED_RES),
        Case::new(
            "ecs-tasks with a wrong source account",
            ecs_tasks(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx("aws:SourceArn", TASK)
        .ctx("aws:SourceAccount", B)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "ecs-tasks from another region",
            ecs_tasks(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx(
            "aws:SourceArn",
            "arn:aws:ecs:eu-west-1:111122223333:task/default/x",
        )
        .ctx("aws:SourceAccount", A)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "ecs-tasks without aws:SourceArn",
            ecs_tasks(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx("aws:SourceAccount", A)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "service names compare case-insensitively",
            berth_policy::Principal::service("ECS-Tasks.amazonaws.com"),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx("aws:SourceArn", TASK)
        .ctx("aws:SourceAccount", A)
        .expect(ALLOWED_RES),
        Case::new(
            "another service",
            berth_policy::Principal::service("ec2.amazonaws.com"),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .ctx("aws:SourceArn", TASK)
        .ctx("aws:SourceAccount", A)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "a user with sts:AssumeRole in IAM is not trusted",
            alice(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .identity(&allow("sts:AssumeRole", "*"))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "a service in Standard mode: resource policy decides",
            ecs_tasks(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(ECS_TRUST)
        .mode(Mode::Standard)
        .ctx("aws:SourceArn", TASK)
        .ctx("aws:SourceAccount", A)
        .expect(ALLOWED_RES),
    ]);
}

#[test]
fn role_trust_policy_with_aws_principals() {
    let trust_b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}"#;
    let trust_alice = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#;
    let trust_a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}"#;
    check(&[
        Case::new(
            "cross-account: trusted account and identity allow",
            bob_b(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_b)
        .identity(&allow("sts:AssumeRole", ROLE))
        .expect(ALLOWED_BOTH),
        Case::new(
            "cross-account: identity silent",
            bob_b(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_b)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "same account: user named in the trust policy",
            alice(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_alice)
        .expect(ALLOWED_RES),
        Case::new(
            "same account: account trusted, identity silent",
            alice(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_a)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "same account: account trusted, identity allows",
            alice(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_a)
        .identity(&allow("sts:AssumeRole", "arn:aws:iam::111122223333:role/*"))
        .expect(ALLOWED_BOTH),
        Case::new(
            "same account: not trusted, identity allows",
            alice(),
            "sts:AssumeRole",
            ROLE,
        )
        .owner(A)
        .trust_policy(trust_b)
        .identity(&allow("sts:AssumeRole", "*"))
        .expect(implicit(PolicyType::Resource)),
    ]);
}

// --- The seed's inline policy. Secrets Manager appends "-" and six random
// characters to a secret's ARN; a policy ARN without them does not match the
// secret (Secrets Manager User Guide, "Permissions policy examples": "To
// match a secret name, you create the ARN for the secret by putting together
// the Region, Account ID, secret name, and the wildcard (?) to match
// individual random characters").

const SEED_INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","secretsmanager:GetSecretValue"],"Resource":["arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name","arn:aws:kms:us-east-1:111122223333:key/key_id"]}]}"#;

#[test]
fn seed_inline_policy() {
    let get = "secretsmanager:GetSecretValue";
    let q = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name-??????"}]}"#;
    let star = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name-*"}]}"#;
    check(&[
        Case::new(
            "secret ARN without suffix does not match the real ARN",
            session(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .identity(SEED_INLINE)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "the ARN exactly as written matches",
            session(),
            get,
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name",
        )
        .owner(A)
        .identity(SEED_INLINE)
        .expect(ALLOWED_ID),
        Case::new("kms:Decrypt on the key", session(), "kms:Decrypt", KEY)
            .owner(A)
            .identity(SEED_INLINE)
            .expect(ALLOWED_ID),
        Case::new(
            "kms:Decrypt with the default key policy",
            session(),
            "kms:Decrypt",
            KEY,
        )
        .owner(A)
        .mode(Mode::ResourcePolicyRequired)
        .resource_policy(&default_key_policy(&[A]))
        .identity(SEED_INLINE)
        .expect(ALLOWED_BOTH),
        Case::new("kms:Encrypt is not granted", session(), "kms:Encrypt", KEY)
            .owner(A)
            .identity(SEED_INLINE)
            .expect(implicit(PolicyType::Identity)),
        Case::new(
            "-?????? matches the six random characters",
            session(),
            get,
            SM_SECRET,
        )
        .owner(A)
        .identity(q)
        .expect(ALLOWED_ID),
        Case::new(
            "-?????? does not match a longer name",
            session(),
            get,
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name-other-AbCdEf",
        )
        .owner(A)
        .identity(q)
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "-* also matches a longer name (the documented caveat)",
            session(),
            get,
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:secret_name-other-AbCdEf",
        )
        .owner(A)
        .identity(star)
        .expect(ALLOWED_ID),
    ]);
}

#[test]
fn seed_denial_message_names_secret_as_given() {
    let d = Case::new("", alice(), "secretsmanager:GetSecretValue", SM_SECRET)
        .owner(A)
        .identity(SEED_INLINE)
        .decide();
    assert_eq!(
        d.denial_message(
            "arn:aws:iam::111122223333:user/alice",
            "secretsmanager:GetSecretValue",
            "secret_name"
        ),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: secret_name because no identity-based policy allows the secretsmanager:GetSecretValue action"
    );
}

#[test]
fn denial_message_forms() {
    let p = "arn:aws:sts::111122223333:assumed-role/R/s1";
    let m = |d: Decision| {
        d.denial_message(p, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k")
    };
    let head = "User: arn:aws:sts::111122223333:assumed-role/R/s1 is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k";
    assert_eq!(
        m(implicit(PolicyType::Identity)),
        format!("{head} because no identity-based policy allows the kms:Decrypt action")
    );
    assert_eq!(
        m(implicit(PolicyType::Resource)),
        format!("{head} because no resource-based policy allows the kms:Decrypt action")
    );
    assert_eq!(
        m(implicit(PolicyType::Boundary)),
        format!("{head} because no permissions boundary allows the kms:Decrypt action")
    );
    assert_eq!(
        m(implicit(PolicyType::Session)),
        format!("{head} because no session policy allows the kms:Decrypt action")
    );
    assert_eq!(
        m(explicit(PolicyType::Identity)),
        format!("{head} with an explicit deny in an identity-based policy")
    );
    assert_eq!(
        m(explicit(PolicyType::Resource)),
        format!("{head} with an explicit deny in a resource-based policy")
    );
    assert_eq!(
        m(explicit(PolicyType::Boundary)),
        format!("{head} with an explicit deny in a permissions boundary")
    );
    assert_eq!(
        m(explicit(PolicyType::Session)),
        format!("{head} with an explicit deny in a session policy")
    );
    assert_eq!(m(ALLOWED_ID), "");
    // A policy type displays as the phrase the messages use.
    for t in [
        PolicyType::Identity,
        PolicyType::Resource,
        PolicyType::Boundary,
        PolicyType::Session,
    ] {
        assert_eq!(t.to_string(), t.phrase());
    }
    assert_eq!(PolicyType::Boundary.to_string(), "permissions boundary");
    assert!(ALLOWED_ID.is_allowed());
    assert!(!implicit(PolicyType::Identity).is_allowed());
}

// --- Resource matching (IAM User Guide, "IAM JSON policy elements: Resource").

#[test]
fn resource_wildcards_span_slashes() {
    let p = allow("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*");
    let mut cases = Vec::new();
    for key in [
        "DOC-EXAMPLE-BUCKET/1/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test/3/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/3/test/4/object.jpg",
        "DOC-EXAMPLE-BUCKET/1///test///object.jpg",
        "DOC-EXAMPLE-BUCKET/1/test/.jpg",
        "DOC-EXAMPLE-BUCKET//test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/test/",
    ] {
        let arn: &'static str = Box::leak(format!("arn:aws:s3:::{key}").into_boxed_str());
        cases.push(
            Case::new("documented match", alice(), "s3:GetObject", arn)
                .identity(&p)
                .expect(ALLOWED_ID),
        );
    }
    for key in [
        "DOC-EXAMPLE-BUCKET/1-test/object.jpg",
        "DOC-EXAMPLE-BUCKET/test/object.jpg",
        "DOC-EXAMPLE-BUCKET/1/2/test.jpg",
    ] {
        let arn: &'static str = Box::leak(format!("arn:aws:s3:::{key}").into_boxed_str());
        cases.push(Case::new("documented non-match", alice(), "s3:GetObject", arn).identity(&p));
    }
    check(&cases);
}

#[test]
fn resource_matching_rules() {
    check(&[
        Case::new(
            "resources are case-sensitive",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::Bucket/k",
        )
        .identity(&allow("s3:GetObject", "arn:aws:s3:::bucket/*")),
        Case::new(
            "* in the resource segment crosses colons",
            alice(),
            "ecs:DescribeTaskDefinition",
            "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3",
        )
        .identity(&allow(
            "ecs:*",
            "arn:aws:ecs:us-east-1:111122223333:task-definition/*",
        ))
        .expect(ALLOWED_ID),
        Case::new(
            "* in the region segment does not cross colons",
            alice(),
            "ecs:DescribeTasks",
            "arn:aws:ecs:us-east-1:999999999999:task/c/x",
        )
        .identity(&allow("ecs:*", "arn:aws:ecs:*:111122223333:*"))
        .expect(implicit(PolicyType::Identity)),
        Case::new(
            "arn:aws:*:*:*:* matches any ARN",
            alice(),
            "kms:Decrypt",
            KEY,
        )
        .identity(&allow("kms:Decrypt", "arn:aws:*:*:*:*"))
        .expect(ALLOWED_ID),
        Case::new(
            "a specific ARN does not match resource *",
            alice(),
            "secretsmanager:ListSecrets",
            "*",
        )
        .identity(&allow(
            "secretsmanager:ListSecrets",
            "arn:aws:secretsmanager:*:*:secret:*",
        )),
        Case::new(
            "? matches exactly one character",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/ab",
        )
        .identity(&allow("s3:GetObject", "arn:aws:s3:::b/a?"))
        .expect(ALLOWED_ID),
        Case::new(
            "action wildcards: ? and *",
            alice(),
            "secretsmanager:GetSecretValue",
            SM_SECRET,
        )
        .identity(&allow("secretsmanager:?et*Value", "*"))
        .expect(ALLOWED_ID),
        Case::new(
            "service prefix is part of the action",
            alice(),
            "kms:GetKeyPolicy",
            KEY,
        )
        .identity(&allow("secretsmanager:Get*", "*")),
    ]);
}

// --- Policy variables (IAM User Guide, "IAM policy elements: Variables and tags").

#[test]
fn policy_variables() {
    let home = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}]}"#;
    let home_2008 = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}]}"#;
    let home_noversion = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}]}"#;
    let prefix = r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket"],"Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}}]}"#;
    let team = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}"}]}"#;
    let userid = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket-name/home/${aws:userid}/*"}]}"#;
    let not_res = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}]}"#;
    let tag_match = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/AccessProject":"${ aws:PrincipalTag/AccessProject }"}}}]}"#;
    let specials = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${*}${?}${$}"}]}"#;
    check(&[
        Case::new(
            "own home",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/alice/f",
        )
        .identity(home)
        .expect(ALLOWED_ID),
        Case::new(
            "other's home",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/bob/f",
        )
        .identity(home),
        Case::new(
            "role sessions have no aws:username",
            session(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/R/f",
        )
        .identity(home),
        Case::new(
            "aws:username from the context wins",
            session(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/x/f",
        )
        .identity(home)
        .ctx("aws:username", "x")
        .expect(ALLOWED_ID),
        Case::new(
            "2008-10-17: variables are literal",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/alice/f",
        )
        .identity(home_2008),
        Case::new(
            "2008-10-17: the literal text matches",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/${aws:username}/f",
        )
        .identity(home_2008)
        .expect(ALLOWED_ID),
        Case::new(
            "no Version: variables are literal",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::mybucket/alice/f",
        )
        .identity(home_noversion),
        Case::new(
            "variable in a condition",
            alice(),
            "s3:ListBucket",
            "arn:aws:s3:::mybucket",
        )
        .identity(prefix)
        .ctx("s3:prefix", "alice/photos")
        .expect(ALLOWED_ID),
        Case::new(
            "variable in a condition, other prefix",
            alice(),
            "s3:ListBucket",
            "arn:aws:s3:::mybucket",
        )
        .identity(prefix)
        .ctx("s3:prefix", "bob/photos"),
        Case::new(
            "tag variable",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::DOC-EXAMPLE-BUCKET-yellow",
        )
        .identity(team)
        .ctx("aws:PrincipalTag/team", "yellow")
        .expect(ALLOWED_ID),
        Case::new(
            "tag variable default",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide",
        )
        .identity(team)
        .expect(ALLOWED_ID),
        Case::new(
            "tag variable: default not used when tagged",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide",
        )
        .identity(team)
        .ctx("aws:PrincipalTag/team", "yellow"),
        Case::new(
            "aws:userid from the context",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::bucket-name/home/AIDAEXAMPLE/f",
        )
        .identity(userid)
        .ctx("aws:userid", "AIDAEXAMPLE")
        .expect(ALLOWED_ID),
        Case::new(
            "unresolvable variable matches nothing",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::bucket-name/home//f",
        )
        .identity(userid),
        Case::new(
            "unresolvable variable in NotResource: the deny applies",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/red/f",
        )
        .identity(not_res)
        .expect(explicit(PolicyType::Identity)),
        Case::new(
            "resolved variable in NotResource: spared",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/red/f",
        )
        .identity(not_res)
        .ctx("aws:PrincipalTag/team", "red")
        .expect(ALLOWED_ID),
        Case::new(
            "tag equals tag",
            alice(),
            "secretsmanager:GetSecretValue",
            SM_SECRET,
        )
        .identity(tag_match)
        .ctx("aws:ResourceTag/AccessProject", "p1")
        .ctx("aws:PrincipalTag/AccessProject", "p1")
        .expect(ALLOWED_ID),
        Case::new(
            "tag differs",
            alice(),
            "secretsmanager:GetSecretValue",
            SM_SECRET,
        )
        .identity(tag_match)
        .ctx("aws:ResourceTag/AccessProject", "p1")
        .ctx("aws:PrincipalTag/AccessProject", "p2"),
        Case::new(
            "principal tag missing: no match",
            alice(),
            "secretsmanager:GetSecretValue",
            SM_SECRET,
        )
        .identity(tag_match)
        .ctx("aws:ResourceTag/AccessProject", "p1"),
        Case::new(
            "special variables are literal characters",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/*?$",
        )
        .identity(specials)
        .expect(ALLOWED_ID),
        Case::new(
            "special variables are not wildcards",
            alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/xy$",
        )
        .identity(specials),
    ]);
}

#[test]
fn derived_principal_keys() {
    let by_arn = |arn: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"ArnEquals":{{"aws:PrincipalArn":"{arn}"}}}}}}]}}"#
        )
    };
    let by_type = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalType":"AssumedRole","aws:PrincipalAccount":"111122223333"}}}]}"#;
    check(&[
        Case::new(
            "aws:PrincipalArn of a session is the role ARN",
            session(),
            "s3:GetObject",
            "*",
        )
        .identity(&by_arn("arn:aws:iam::111122223333:role/app/R"))
        .expect(ALLOWED_ID),
        Case::new("aws:PrincipalArn of a user", alice(), "s3:GetObject", "*")
            .identity(&by_arn("arn:aws:iam::111122223333:user/*"))
            .expect(ALLOWED_ID),
        Case::new(
            "aws:PrincipalType and aws:PrincipalAccount",
            session(),
            "s3:GetObject",
            "*",
        )
        .identity(by_type)
        .expect(ALLOWED_ID),
        Case::new("aws:PrincipalType of a user", alice(), "s3:GetObject", "*").identity(by_type),
        Case::new("aws:PrincipalType User", alice(), "s3:GetObject", "*")
            .identity(&by_key("StringEquals", "aws:PrincipalType", "User"))
            .expect(ALLOWED_ID),
        // The root user in its own account is allowed unless a Deny matches: the Deny on
        // aws:PrincipalType Account shows the key.
        Case::new("aws:PrincipalType Account (the root user)", berth_policy::Principal::root(A), "s3:GetObject", "*")
            .resource_policy(&deny_root_by_type("StringEquals"))
            .expect(explicit(PolicyType::Resource)),
        Case::new("aws:PrincipalType of a user is not Account", alice(), "s3:GetObject", "*")
            .identity(&allow("s3:*", "*"))
            .resource_policy(&deny_root_by_type("StringEquals"))
            .expect(ALLOWED_ID),
        Case::new("aws:username of a user", alice(), "s3:GetObject", "*")
            .identity(&by_key("StringEquals", "aws:username", "alice"))
            .expect(ALLOWED_ID),
        // A service principal: aws:PrincipalServiceName, and none of the keys of an IAM
        // identity (berth's documented derivation; see Context).
        Case::new("aws:PrincipalServiceName of a service", ecs_tasks(), "sts:AssumeRole", "*")
            .trust_policy(&trust_ecs_if(r#""StringEquals":{"aws:PrincipalServiceName":"ecs-tasks.amazonaws.com"}"#))
            .expect(ALLOWED_RES),
        Case::new("aws:PrincipalServiceName of another service", ecs_tasks(), "sts:AssumeRole", "*")
            .trust_policy(&trust_ecs_if(r#""StringEquals":{"aws:PrincipalServiceName":"ec2.amazonaws.com"}"#))
            .expect(implicit(PolicyType::Resource)),
        Case::new("a service has no aws:PrincipalArn, aws:PrincipalAccount or aws:PrincipalType", ecs_tasks(), "sts:AssumeRole", "*")
            .trust_policy(&trust_ecs_if(r#""Null":{"aws:PrincipalArn":"true","aws:PrincipalAccount":"true","aws:PrincipalType":"true","aws:PrincipalServiceName":"false"}"#))
            .expect(ALLOWED_RES),
        Case::new("a user has no aws:PrincipalServiceName", alice(), "s3:GetObject", "*")
            .identity(&by_key("Null", "aws:PrincipalServiceName", "true"))
            .expect(ALLOWED_ID),
        // A federated user (GetFederationToken): aws:PrincipalType FederatedUser, no
        // aws:username.
        Case::new("aws:PrincipalType FederatedUser", federated_bob(), "s3:GetObject", "*")
            .identity(&by_key("StringEquals", "aws:PrincipalType", "FederatedUser"))
            .expect(ALLOWED_ID),
        Case::new("a federated user is not of type User", federated_bob(), "s3:GetObject", "*")
            .identity(&by_key("StringEquals", "aws:PrincipalType", "User")),
        Case::new("a federated user has no aws:username", federated_bob(), "s3:GetObject", "*")
            .identity(&by_key("Null", "aws:username", "true"))
            .expect(ALLOWED_ID),
    ]);
}

fn federated_bob() -> berth_policy::Principal {
    berth_policy::Principal::federated_user(A, "arn:aws:sts::111122223333:federated-user/bob")
}

#[test]
fn federated_principals_in_trust_policies() {
    const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/issuer.example/realm";
    let trust = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRoleWithWebIdentity"}}]}}"#
        )
    };
    let by_provider = trust(&format!(r#"{{"Federated":"{PROVIDER}"}}"#));
    // Trust policies may not have NotPrincipal; a resource policy may name a provider in one.
    let not_principal = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}},{{"Effect":"Deny","NotPrincipal":{{"Federated":"{PROVIDER}"}},"Action":"s3:GetObject","Resource":"*"}}]}}"#
    );
    check(&[
        Case::new(
            "the provider the trust policy names",
            berth_policy::Principal::federated(PROVIDER),
            "sts:AssumeRoleWithWebIdentity",
            ROLE,
        )
        .owner(A)
        .trust_policy(&by_provider)
        .expect(ALLOWED_RES),
        Case::new(
            "another provider",
            berth_policy::Principal::federated(
                "arn:aws:iam::111122223333:oidc-provider/other.example",
            ),
            "sts:AssumeRoleWithWebIdentity",
            ROLE,
        )
        .owner(A)
        .trust_policy(&by_provider)
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "Principal * trusts any provider",
            berth_policy::Principal::federated(PROVIDER),
            "sts:AssumeRoleWithWebIdentity",
            ROLE,
        )
        .owner(A)
        .trust_policy(&trust(r#""*""#))
        .expect(ALLOWED_RES),
        Case::new(
            "the account's principal does not name a federated caller",
            berth_policy::Principal::federated(PROVIDER),
            "sts:AssumeRoleWithWebIdentity",
            ROLE,
        )
        .owner(A)
        .trust_policy(&trust(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#))
        .expect(implicit(PolicyType::Resource)),
        Case::new(
            "NotPrincipal excludes the provider it lists from a Deny",
            berth_policy::Principal::federated(PROVIDER),
            "s3:GetObject",
            "*",
        )
        .owner(A)
        .resource_policy(&not_principal)
        .expect(ALLOWED_RES),
        Case::new(
            "NotPrincipal's Deny applies to another provider",
            berth_policy::Principal::federated(
                "arn:aws:iam::111122223333:oidc-provider/other.example",
            ),
            "s3:GetObject",
            "*",
        )
        .owner(A)
        .resource_policy(&not_principal)
        .expect(explicit(PolicyType::Resource)),
    ]);
}

/// An identity policy allowing `s3:*` when `key` satisfies `op` with `value`.
fn by_key(op: &str, key: &str, value: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"{key}":"{value}"}}}}}}]}}"#
    )
}

/// A resource policy denying everyone `s3:*` when aws:PrincipalType satisfies `op` with `Account`.
fn deny_root_by_type(op: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"aws:PrincipalType":"Account"}}}}}}]}}"#
    )
}

/// A trust policy letting ecs-tasks assume the role when `cond` (the condition block's body) holds.
fn trust_ecs_if(cond: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"ecs-tasks.amazonaws.com"}},"Action":"sts:AssumeRole","Condition":{{{cond}}}}}]}}"#
    )
}

/// `NotPrincipal: {"AWS": "*"}` lists every identity: a Deny with it excludes everyone (the
/// account in the chain as well as the user or role ARN), so it denies no one.
#[test]
fn not_principal_aws_star_excludes_everyone() {
    let deny_all_but_star = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}]}"#;
    let deny_all_but_account = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}]}"#;
    check(&[
        Case::new(
            "NotPrincipal AWS * spares a user",
            alice(),
            "s3:GetObject",
            "*",
        )
        .identity(&allow("s3:*", "*"))
        .resource_policy(deny_all_but_star)
        .expect(ALLOWED_ID),
        Case::new(
            "NotPrincipal AWS * spares a role session",
            session(),
            "s3:GetObject",
            "*",
        )
        .identity(&allow("s3:*", "*"))
        .resource_policy(deny_all_but_star)
        .expect(ALLOWED_ID),
        Case::new(
            "NotPrincipal AWS * spares the root user",
            berth_policy::Principal::root(A),
            "s3:GetObject",
            "*",
        )
        .resource_policy(deny_all_but_star)
        .expect(ALLOWED_ROOT),
        // Listing the account alone does not spare a user: its ARN is not listed.
        Case::new(
            "NotPrincipal account only hits a user",
            alice(),
            "s3:GetObject",
            "*",
        )
        .identity(&allow("s3:*", "*"))
        .resource_policy(deny_all_but_account)
        .expect(explicit(PolicyType::Resource)),
        Case::new(
            "NotPrincipal account spares the root user",
            berth_policy::Principal::root(A),
            "s3:GetObject",
            "*",
        )
        .resource_policy(deny_all_but_account)
        .expect(ALLOWED_ROOT),
    ]);
}

#[test]
fn principal_from_arn() {
    use berth_policy::{Principal, PrincipalKind};
    assert_eq!(
        Principal::from_arn("arn:aws:iam::111122223333:root"),
        Some(Principal::root(A))
    );
    assert_eq!(
        Principal::from_arn("arn:aws:iam::111122223333:user/alice"),
        Some(alice())
    );
    let s = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/R/s1").unwrap();
    assert_eq!(s.account, A);
    assert_eq!(
        s.kind,
        PrincipalKind::AssumedRole {
            role_arn: "arn:aws:iam::111122223333:role/R".into()
        }
    );
    assert!(Principal::from_arn("arn:aws:iam::111122223333:role/R").is_none());
    assert!(Principal::from_arn("nope").is_none());
}

#[test]
#[should_panic(expected = "1 of 1 cases failed")]
fn checker_reports_wrong_expectations() {
    check(&[Case::new("deliberately wrong", alice(), "s3:GetObject", "*").expect(ALLOWED_ID)]);
}
