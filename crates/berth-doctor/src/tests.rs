#![allow(clippy::unwrap_used)]

use super::*;
use berth_iam::{NewRole, NewUser};
use berth_kms::NewKey;
use berth_secrets::{NewSecret, NewVersion};
use berth_store::SqliteStore;

const A: &str = "000000000000";
const B: &str = "111111111111";
const R: &str = "us-east-1";
const NOW: u64 = 1_780_000_000;
const ROLE: &str = "arn:aws:iam::000000000000:role/exec";

struct Env {
    store: SqliteStore,
    key: RootKey,
}

fn trust() -> String {
    recommended_trust_policy(A, R).to_string()
}

fn allow(action: &str, resource: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
        .to_string()
}

impl Env {
    fn new() -> Env {
        let env = Env {
            store: SqliteStore::in_memory().unwrap(),
            key: RootKey::generate(),
        };
        let iam = env.iam();
        iam.create_account(A, NOW).unwrap();
        iam.create_account(B, NOW).unwrap();
        iam.create_role(A, NewRole::new("exec", &trust()), NOW)
            .unwrap();
        env
    }

    fn iam(&self) -> Iam<'_> {
        Iam::new(&self.store, &self.key)
    }

    fn kms(&self) -> Kms<'_> {
        Kms::new(&self.store, &self.key)
    }

    fn custom_key(&self, account: &str, policy: Option<String>) -> Key {
        self.kms()
            .create_key(
                account,
                R,
                NOW,
                NewKey {
                    key_id: None,
                    description: String::new(),
                    policy,
                    tags: Vec::new(),
                    ..NewKey::default()
                },
            )
            .unwrap()
    }

    /// A secret with `value`, under `key` (the AWS managed key when `None`).
    fn secret(&self, account: &str, name: &str, value: &str, key: Option<&Key>) -> Secret {
        let key = match key {
            Some(k) => k.clone(),
            None => self.kms().secrets_manager_key(account, R, NOW).unwrap(),
        };
        let arn = berth_secrets::new_arn(account, R, name);
        let vid = "00000000-0000-0000-0000-000000000001";
        let ctx = berth_control::secretsmanager::encryption_context(&arn, vid);
        let (dk, blob) = self.kms().generate_data_key(&key, 32, &ctx).unwrap();
        let sealed = berth_secrets::seal_value(
            &dk,
            &blob,
            &arn,
            vid,
            &SecretValue::String(value.to_string().into()),
        )
        .unwrap();
        Secrets::new(&self.store)
            .create(
                NewSecret {
                    arn,
                    name: name.into(),
                    account: account.into(),
                    region: R.into(),
                    description: None,
                    kms_key_id: (key.manager == KeyManager::Customer).then(|| key.arn.clone()),
                    tags: Vec::new(),
                },
                Some(NewVersion {
                    id: vid.into(),
                    kms_key_arn: key.arn.clone(),
                    sealed,
                }),
                NOW,
            )
            .unwrap()
    }

    fn run(&self, doc: Value) -> Report {
        self.run_with(doc, None)
    }

    fn run_with(&self, doc: Value, caller: Option<&str>) -> Report {
        diagnose(
            &self.store,
            &self.key,
            &Options {
                account: A.into(),
                region: R.into(),
                source: Source::Document(doc),
                caller_arn: caller.map(str::to_string),
                cluster: None,
                registry_check: false,
                ca_file: None,
                now: NOW,
            },
        )
        .unwrap()
    }
}

const GOOD: &str = r#"{"username": "u", "password": "p"}"#;

fn taskdef(credentials: &str) -> Value {
    json!({
        "family": "app",
        "executionRoleArn": "exec",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "127.0.0.1:5000/app:1",
            "repositoryCredentials": {"credentialsParameter": credentials}}]
    })
}

fn get(r: &Report, kind: CheckKind) -> &CheckResult {
    r.checks.iter().find(|c| c.check == kind).unwrap()
}

#[test]
fn happy_path_with_the_managed_key() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &allow("secretsmanager:GetSecretValue", &s.arn),
        )
        .unwrap();
    let r = env.run(taskdef("creds"));
    assert!(r.passed(), "{r:#?}");
    assert!(
        get(&r, CheckKind::KmsDecrypt)
            .reason
            .contains("no kms permission is needed")
    );
    assert!(get(&r, CheckKind::Placement).reason.contains("FARGATE"));
}

#[test]
fn missing_get_secret_value_names_the_statement() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    let r = env.run(taskdef(&s.arn));
    let c = get(&r, CheckKind::GetSecretValue);
    assert!(!c.ok);
    let fix = c.fix.as_deref().unwrap();
    assert!(
        fix.contains("\"Action\": \"secretsmanager:GetSecretValue\""),
        "{fix}"
    );
    assert!(fix.contains(&s.arn));
    assert!(!r.passed());
}

#[test]
fn custom_key_without_decrypt_names_the_identity_statement() {
    let env = Env::new();
    let key = env.custom_key(A, None);
    let s = env.secret(A, "creds", GOOD, Some(&key));
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &allow("secretsmanager:GetSecretValue", &s.arn),
        )
        .unwrap();
    let r = env.run(taskdef("creds"));
    let c = get(&r, CheckKind::KmsDecrypt);
    assert!(!c.ok, "{r:#?}");
    let fix = c.fix.as_deref().unwrap();
    assert!(fix.contains("\"Action\": \"kms:Decrypt\""), "{fix}");
    assert!(
        fix.contains(
            "aws iam put-role-policy --role-name exec --policy-name berth-doctor-Decrypt-"
        ),
        "{fix}"
    );
    assert!(!fix.contains("put-key-policy"), "{fix}");
    // With the statement in place, it passes.
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "k",
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn}]}).to_string(),
        )
        .unwrap();
    assert!(env.run(taskdef("creds")).passed());
}

#[test]
fn key_policy_that_does_not_delegate_names_the_key_statement() {
    let env = Env::new();
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::000000000000:user/admin"}, "Action": "kms:*", "Resource": "*"}]});
    let key = env.custom_key(A, Some(policy.to_string()));
    let s = env.secret(A, "creds", GOOD, Some(&key));
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": s.arn},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn}]})
            .to_string(),
        )
        .unwrap();
    let r = env.run(taskdef("creds"));
    let c = get(&r, CheckKind::KmsDecrypt);
    assert!(!c.ok);
    let fix = c.fix.as_deref().unwrap();
    assert!(fix.contains("key policy"), "{fix}");
    assert!(fix.contains("kms:ViaService"), "{fix}");
}

#[test]
fn cross_account_needs_the_resource_policy_and_full_arn() {
    let env = Env::new();
    let key = env.custom_key(B, None);
    let s = env.secret(B, "shared", GOOD, Some(&key));
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": s.arn},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn}]})
            .to_string(),
        )
        .unwrap();
    // A partial ARN across accounts does not resolve.
    let partial = format!("arn:aws:secretsmanager:{R}:{B}:secret:shared");
    let r = env.run(taskdef(&partial));
    let c = get(&r, CheckKind::Secret);
    assert!(!c.ok);
    assert!(
        c.reason
            .contains("cross-account secrets must be referenced by full ARN")
    );
    assert!(c.fix.as_deref().unwrap().contains(&s.arn));
    // By full ARN: the resource policy is missing.
    let r = env.run(taskdef(&s.arn));
    let c = get(&r, CheckKind::GetSecretValue);
    assert!(!c.ok, "{r:#?}");
    let fix = c.fix.as_deref().unwrap();
    assert!(fix.contains("resource policy"), "{fix}");
    assert!(fix.contains(ROLE), "{fix}");
    Secrets::new(&env.store)
        .set_policy(
            &s,
            Some(&json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": ROLE}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}).to_string()),
            NOW,
        )
        .unwrap();
    let r = env.run(taskdef(&s.arn));
    assert!(get(&r, CheckKind::GetSecretValue).ok, "{r:#?}");
    // The owner's default key policy delegates to account B only: the key policy must name the role.
    let c = get(&r, CheckKind::KmsDecrypt);
    assert!(!c.ok);
    let fix = c.fix.as_deref().unwrap();
    assert!(fix.contains("key policy"), "{fix}");
    assert!(!fix.contains("put-role-policy"), "{fix}");
    // The key policy the command puts (the current one with the statement added) is enough.
    let start = fix.find("--policy '").unwrap() + "--policy '".len();
    let policy: Value =
        serde_json::from_str(fix[start..].trim_end().trim_end_matches('\'')).unwrap();
    let before: Value = serde_json::from_str(&key.policy).unwrap();
    assert_eq!(
        policy["Statement"].as_array().unwrap().len(),
        before["Statement"].as_array().unwrap().len() + 1
    );
    env.kms()
        .put_policy(&key, &policy.to_string(), NOW)
        .unwrap();
    let r = env.run(taskdef(&s.arn));
    assert!(r.passed(), "{r:#?}");
}

#[test]
fn malformed_secret_names_the_field() {
    let env = Env::new();
    let s = env.secret(A, "creds", r#"{"USERNAME": "u"}"#, None);
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &allow("secretsmanager:GetSecretValue", &s.arn),
        )
        .unwrap();
    let r = env.run(taskdef("creds"));
    let c = get(&r, CheckKind::SecretValue);
    assert!(!c.ok);
    assert!(c.reason.contains("\"password\""), "{}", c.reason);
    assert!(!c.reason.contains("\"u\""));
    assert!(c.fix.as_deref().unwrap().contains("\"password\""));
}

#[test]
fn role_missing_and_trust_policy() {
    let env = Env::new();
    let mut doc = taskdef("creds");
    doc["executionRoleArn"] = json!("nosuch");
    let c = get(&env.run(doc), CheckKind::ExecutionRole).clone();
    assert!(!c.ok);
    assert!(c.reason.contains("does not exist"));
    assert!(c.fix.unwrap().contains("ecs-tasks.amazonaws.com"));
    let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": B}}}]});
    env.iam()
        .create_role(A, NewRole::new("wrongtrust", &other.to_string()), NOW)
        .unwrap();
    let mut doc = taskdef("creds");
    doc["executionRoleArn"] = json!("wrongtrust");
    let c = get(&env.run(doc), CheckKind::ExecutionRole).clone();
    assert!(!c.ok);
    assert!(c.fix.unwrap().contains("aws:SourceAccount"));
}

#[test]
fn pass_role_for_a_user() {
    let env = Env::new();
    env.iam()
        .create_user(A, NewUser::named("dev"), NOW)
        .unwrap();
    let caller = "arn:aws:iam::000000000000:user/dev";
    let c = get(
        &env.run_with(taskdef("creds"), Some(caller)),
        CheckKind::PassRole,
    )
    .clone();
    assert!(!c.ok);
    assert!(c.fix.unwrap().contains("iam:PassRole"));
    env.iam()
        .put_user_policy(A, "dev", "p", &allow("iam:PassRole", ROLE))
        .unwrap();
    assert!(
        get(
            &env.run_with(taskdef("creds"), Some(caller)),
            CheckKind::PassRole
        )
        .ok
    );
}

#[test]
fn missing_and_deleted_secrets() {
    let env = Env::new();
    let c = get(&env.run(taskdef("nosuch")), CheckKind::Secret).clone();
    assert!(!c.ok);
    assert!(c.reason.contains("no secret nosuch"));
    let s = env.secret(A, "creds", GOOD, None);
    let bad_suffix = format!("{}zzzzzz", &s.arn[..s.arn.len() - 6]);
    let c = get(&env.run(taskdef(&bad_suffix)), CheckKind::Secret).clone();
    assert!(!c.ok);
    assert!(c.reason.contains("suffix differs"), "{}", c.reason);
    assert!(c.fix.unwrap().contains(&s.arn));
    Secrets::new(&env.store)
        // Secrets Manager's records keep milliseconds.
        .delete(&s, Some(7), false, NOW * 1000)
        .unwrap();
    let c = get(&env.run(taskdef("creds")), CheckKind::Secret).clone();
    assert!(!c.ok);
    assert!(c.reason.contains("scheduled for deletion"));
    assert!(c.fix.unwrap().contains("restore-secret"));
}

#[test]
fn placement_without_fargate_needs_an_instance() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &allow("secretsmanager:GetSecretValue", &s.arn),
        )
        .unwrap();
    let mut doc = taskdef("creds");
    doc.as_object_mut()
        .unwrap()
        .remove("requiresCompatibilities");
    doc["networkMode"] = json!("bridge");
    let r = env.run(doc.clone());
    let c = get(&r, CheckKind::Placement);
    assert!(!c.ok);
    assert!(c.reason.contains("no ACTIVE container instance"));
    let ecs = berth_ecs::Ecs::new(&env.store, A, R);
    ecs.register_container_instance(
        berth_ecs::RegisterContainerInstanceInput {
            cluster: None,
            instance_identity_document: None,
            total_resources: vec![
                berth_ecs::Resource::integer("CPU", 1024),
                berth_ecs::Resource::integer("MEMORY", 1024),
            ],
            version_info: None,
            container_instance_arn: None,
            attributes: vec![berth_ecs::Attribute::named(
                taskdef::PRIVATE_REGISTRY_CAPABILITY,
            )],
            tags: Vec::new(),
        },
        &berth_ecs::Caller {
            identity: "arn:aws:iam::000000000000:root",
            root: true,
        },
        NOW,
    )
    .unwrap();
    let r = env.run(doc);
    assert!(get(&r, CheckKind::Placement).ok, "{r:#?}");
    assert!(r.passed());
}

#[test]
fn registered_task_definition_and_unknown_one() {
    let env = Env::new();
    let r = diagnose(
        &env.store,
        &env.key,
        &Options {
            account: A.into(),
            region: R.into(),
            source: Source::Registered("nosuch:1".into()),
            caller_arn: None,
            cluster: None,
            registry_check: false,
            ca_file: None,
            now: NOW,
        },
    )
    .unwrap();
    assert!(!r.passed());
    assert_eq!(r.checks[0].check, CheckKind::TaskDefinition);
}

#[test]
fn statements_are_appended_to_resource_policies() {
    let stmt = json!({"Effect": "Allow"});
    let p = with_statement(
        Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny"}}"#),
        &stmt,
    )
    .unwrap();
    let v: Value = serde_json::from_str(&p).unwrap();
    assert_eq!(v["Statement"].as_array().unwrap().len(), 2);
    let p = with_statement(None, &stmt).unwrap();
    let v: Value = serde_json::from_str(&p).unwrap();
    assert_eq!(v["Statement"].as_array().unwrap().len(), 1);
}

#[test]
fn the_value_is_checked_even_without_permissions() {
    let env = Env::new();
    env.secret(A, "creds", r#"{"username": "u", "password": 7}"#, None);
    let r = env.run(taskdef("creds"));
    assert!(!get(&r, CheckKind::GetSecretValue).ok);
    let c = get(&r, CheckKind::SecretValue);
    assert!(!c.ok);
    assert!(
        c.reason.contains("not a JSON object of strings"),
        "{}",
        c.reason
    );
}

#[test]
fn explicit_deny_asks_to_remove_it() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}]})
            .to_string(),
        )
        .unwrap();
    let r = env.run(taskdef(&s.arn));
    let c = get(&r, CheckKind::GetSecretValue);
    assert!(!c.ok);
    assert!(
        c.reason
            .contains("an explicit deny in the inline policy p of role exec refuses it"),
        "{}",
        c.reason
    );
    let fix = c.fix.as_deref().unwrap();
    assert!(
        fix.contains("aws iam put-role-policy --role-name exec --policy-name p --policy-document"),
        "{fix}"
    );
    assert!(fix.contains("\"Statement\": []"), "{fix}");
}

#[test]
fn a_missing_role_names_itself_and_the_checks_it_holds_back() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    let mut def = taskdef(&s.arn);
    def["executionRoleArn"] = json!("arn:aws:iam::000000000000:role/team/missing-role");
    let r = env.run(def);
    let c = get(&r, CheckKind::ExecutionRole);
    let fix = c.fix.as_deref().unwrap();
    assert!(
        fix.contains("aws iam create-role --role-name missing-role --path /team/ --assume-role-policy-document '"),
        "{fix}"
    );
    let g = get(&r, CheckKind::GetSecretValue);
    assert!(
        g.skipped() && g.reason == "not checked: needs execution-role",
        "{g:?}"
    );
    // The value is still checked.
    assert!(get(&r, CheckKind::SecretValue).ok, "{r:#?}");
}

#[test]
fn a_wrong_suffix_still_checks_the_secret_it_meant() {
    let env = Env::new();
    let s = env.secret(A, "creds", GOOD, None);
    let bad = format!("{}zzzzzz", &s.arn[..s.arn.len() - 6]);
    let r = env.run(taskdef(&bad));
    assert!(!get(&r, CheckKind::Secret).ok);
    // The role's missing permission shows in the same run, on the secret meant.
    let g = get(&r, CheckKind::GetSecretValue);
    assert!(!g.ok && !g.skipped() && g.reason.contains(&s.arn), "{g:?}");
}

fn secrets_taskdef(secrets: Value) -> Value {
    json!({
        "family": "app",
        "executionRoleArn": "exec",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox", "secrets": secrets}]
    })
}

fn for_secret<'r>(r: &'r Report, kind: CheckKind, var: &str) -> Vec<&'r CheckResult> {
    r.checks
        .iter()
        .filter(|c| c.check == kind && c.reason.contains(&format!("secret {var}:")))
        .collect()
}

#[test]
fn secrets_are_checked_like_registry_credentials() {
    let env = Env::new();
    let key = env.custom_key(A, None);
    let s = env.secret(
        A,
        "db",
        r#"{"password": "hunter2-xyz", "n": 1}"#,
        Some(&key),
    );
    let doc = secrets_taskdef(json!([
        {"name": "WHOLE", "valueFrom": s.arn},
        {"name": "PASS", "valueFrom": format!("{}:password::", s.arn)},
        {"name": "NOPE", "valueFrom": format!("{}:nope::", s.arn)},
        {"name": "OLD", "valueFrom": format!("{}::AWSPREVIOUS:", s.arn)},
        {"name": "BAD", "valueFrom": format!("{}:password", s.arn)},
        {"name": "P", "valueFrom": "/app/p"},
    ]));
    // No permission yet: GetSecretValue and kms:Decrypt fail with their fixes.
    let r = env.run(doc.clone());
    assert!(!r.passed());
    let gsv = for_secret(&r, CheckKind::GetSecretValue, "WHOLE");
    assert!(
        !gsv[0].ok && gsv[0].fix.as_deref().unwrap().contains(&s.arn),
        "{r:#?}"
    );
    let kms = for_secret(&r, CheckKind::KmsDecrypt, "PASS");
    assert!(
        !kms[0].ok && kms[0].fix.as_deref().unwrap().contains("kms:Decrypt"),
        "{r:#?}"
    );
    // Allowed: what is left is the data's own problems.
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": s.arn},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn}]})
            .to_string(),
        )
        .unwrap();
    let r = env.run(doc);
    for var in ["WHOLE", "PASS"] {
        for c in r
            .checks
            .iter()
            .filter(|c| c.reason.contains(&format!("secret {var}:")))
        {
            assert!(c.ok, "{c:?}");
        }
    }
    let nope = for_secret(&r, CheckKind::SecretValue, "NOPE");
    assert!(!nope[0].ok);
    assert!(
        nope[0]
            .reason
            .contains("retrieved secret from Secrets Manager did not contain json key nope"),
        "{:?}",
        nope[0]
    );
    let old = for_secret(&r, CheckKind::SecretValue, "OLD");
    assert!(
        !old[0].ok && old[0].reason.contains("staging label AWSPREVIOUS"),
        "{old:?}"
    );
    let bad = for_secret(&r, CheckKind::Secret, "BAD");
    assert!(
        !bad[0].ok && bad[0].reason.contains("an invalid ARN format"),
        "{bad:?}"
    );
    let ssm = for_secret(&r, CheckKind::Secret, "P");
    assert!(
        !ssm[0].ok && ssm[0].reason.contains("invalid parameters: /app/p"),
        "{ssm:?}"
    );
    // The report never shows a value.
    let shown = serde_json::to_string(&r).unwrap();
    assert!(!shown.contains("hunter2-xyz"));
}

#[test]
fn secrets_without_a_role_get_registrations_words() {
    let env = Env::new();
    let s = env.secret(A, "db", "v", None);
    let mut doc = secrets_taskdef(json!([{"name": "A", "valueFrom": s.arn}]));
    doc.as_object_mut().unwrap().remove("executionRoleArn");
    let r = env.run(doc);
    let c = get(&r, CheckKind::ExecutionRole);
    assert!(!c.ok);
    assert_eq!(c.reason, berth_ecs::secrets::SECRETS_NEED_ROLE);
}

fn parameter(env: &Env, name: &str, kind: berth_ssm::ParamType, key: Option<&Key>) {
    berth_ssm::Ssm::new(&env.store)
        .put(berth_ssm::NewVersion {
            account: A.into(),
            region: R.into(),
            name: name.into(),
            version: berth_ssm::Version {
                version: 1,
                kind,
                value: "stored".into(),
                key_id: key.map(|k| k.arn.clone()),
                description: None,
                allowed_pattern: None,
                tier: "Standard".into(),
                data_type: "text".into(),
                modified: NOW,
                modified_user: "root".into(),
            },
            overwrite: false,
            tags: Vec::new(),
        })
        .unwrap();
}

#[test]
fn parameter_store_secrets_are_checked_as_the_agent_fetches_them() {
    let env = Env::new();
    let key = env.custom_key(A, None);
    parameter(&env, "/app/plain", berth_ssm::ParamType::String, None);
    parameter(
        &env,
        "/app/secure",
        berth_ssm::ParamType::SecureString,
        Some(&key),
    );
    let secure_arn = berth_ssm::arn(A, R, "/app/secure");
    let doc = secrets_taskdef(json!([
        {"name": "PLAIN", "valueFrom": "/app/plain"},
        {"name": "SECURE", "valueFrom": secure_arn},
        {"name": "GONE", "valueFrom": "/app/gone"},
    ]));
    let r = env.run(doc.clone());
    let gone = for_secret(&r, CheckKind::Secret, "GONE");
    assert!(!gone[0].ok, "{gone:?}");
    assert!(
        gone[0].reason.contains("invalid parameters: /app/gone"),
        "{gone:?}"
    );
    let denied = for_secret(&r, CheckKind::GetSecretValue, "PLAIN");
    assert!(!denied[0].ok && denied[0].reason.contains("may not ssm:GetParameters"));
    assert!(
        denied[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("\"ssm:GetParameters\"")
    );
    let kms = for_secret(&r, CheckKind::KmsDecrypt, "SECURE");
    assert!(
        !kms[0].ok && kms[0].reason.contains("via Parameter Store"),
        "{kms:?}"
    );
    // The plain parameter needs no key.
    assert!(for_secret(&r, CheckKind::KmsDecrypt, "PLAIN").is_empty());

    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "arn:aws:ssm:us-east-1:000000000000:parameter/app/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn}]})
            .to_string(),
        )
        .unwrap();
    let r = env.run(doc);
    for var in ["PLAIN", "SECURE"] {
        for c in r
            .checks
            .iter()
            .filter(|c| c.reason.contains(&format!("secret {var}:")))
        {
            assert!(c.ok, "{c:?}");
        }
    }
}

fn awslogs_taskdef(role: Option<&str>, create_group: bool) -> Value {
    let mut options =
        json!({"awslogs-group": "/ecs/app", "awslogs-region": R, "awslogs-stream-prefix": "web"});
    if create_group {
        options["awslogs-create-group"] = json!("true");
    }
    let mut doc = json!({
        "family": "app",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
            "logConfiguration": {"logDriver": "awslogs", "options": options}}]
    });
    if let Some(r) = role {
        doc["executionRoleArn"] = json!(r);
    }
    doc
}

#[test]
fn awslogs_names_each_missing_logs_permission() {
    let env = Env::new();
    env.iam()
        .put_role_policy(
            A,
            "exec",
            "p",
            &allow(
                "logs:CreateLogStream",
                "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/app:*",
            ),
        )
        .unwrap();
    let r = env.run(awslogs_taskdef(Some("exec"), true));
    let logs: Vec<&CheckResult> = r
        .checks
        .iter()
        .filter(|c| c.check == CheckKind::Awslogs)
        .collect();
    assert_eq!(logs.len(), 3, "{r:#?}");
    let failed: Vec<&str> = logs
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.reason.as_str())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].contains("may not logs:CreateLogGroup"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains("may not logs:PutLogEvents"),
        "{failed:?}"
    );
    assert!(failed[1].contains("log-stream:web/app/"), "{failed:?}");
    let fix = logs[2].fix.as_deref().unwrap();
    assert!(fix.contains("\"Action\": \"logs:PutLogEvents\""), "{fix}");
    assert!(logs[1].ok && logs[1].reason.contains("may logs:CreateLogStream"));
    // Without an execution role (EC2), the agent's own credentials ship the output.
    let r = env.run(awslogs_taskdef(None, false));
    let c = get(&r, CheckKind::Awslogs);
    assert!(c.ok && c.reason.contains("no execution role"), "{r:#?}");
}
