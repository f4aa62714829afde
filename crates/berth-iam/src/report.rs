//! The account's credential report: one CSV row for the root user and one for each IAM user,
//! with the columns AWS documents. berth does not record when a password or an access key was
//! last used: those columns say `no_information` (a password) and `N/A` (a key), as AWS says
//! for credentials never used.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::keys::{self, AccessKeyRecord, KeyOwner, KeyStatus};
use crate::{Account, Iam, IamError, User, certs, entity, login, mfa};

/// Store table of the newest report of each account, keyed by account.
const REPORTS: &str = "iam_credential_reports";
/// A report younger than this is kept; GenerateCredentialReport makes a new one after.
pub const REPORT_FRESH_SECS: u64 = 4 * 3600;

/// The CSV header, as AWS documents the report's columns.
const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A generated report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialReport {
    pub csv: String,
    pub generated_at: u64,
}

/// What GenerateCredentialReport did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    /// A new report was made (berth makes it at once).
    Generated,
    /// The newest report is less than four hours old and stays.
    Fresh,
}

/// A time as the report writes it: ISO 8601 with `+00:00`.
fn when(secs: u64) -> String {
    let t = berth_core::time::iso8601(secs);
    let t = t
        .split('.')
        .next()
        .unwrap_or(&t)
        .trim_end_matches('Z')
        .to_string();
    format!("{t}+00:00")
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The access key columns (two keys, oldest first).
fn key_columns(row: &mut Vec<String>, mut keys: Vec<AccessKeyRecord>) {
    keys.sort_by_key(|k| k.created_at);
    for i in 0..2 {
        match keys.get(i) {
            Some(k) => {
                row.push(bool_text(k.status == KeyStatus::Active).into());
                row.push(when(k.created_at));
            }
            None => {
                row.push("false".into());
                row.push("N/A".into());
            }
        }
        row.extend(["N/A", "N/A", "N/A"].map(String::from));
    }
}

fn cert_columns(row: &mut Vec<String>, certs: &[(bool, u64)]) {
    for i in 0..2 {
        match certs.get(i) {
            Some((active, at)) => {
                row.push(bool_text(*active).into());
                row.push(when(*at));
            }
            None => {
                row.push("false".into());
                row.push("N/A".into());
            }
        }
    }
}

fn build(tx: &dyn Tx, account: &str) -> Result<String, IamError> {
    let created = get_json::<Account>(tx, crate::ACCOUNTS, account)?
        .map(|a| a.created_at)
        .unwrap_or(0);
    let all_keys: Vec<AccessKeyRecord> = scan_json::<AccessKeyRecord>(tx, keys::TABLE, "")?
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| k.account_id == account && k.expires_at.is_none())
        .collect();
    let max_age = login::policy_of(tx, account)?.and_then(|p| p.max_password_age);
    let mut lines = vec![HEADER.to_string()];
    let mut root: Vec<String> = vec![
        "<root_account>".into(),
        format!("arn:aws:iam::{account}:root"),
        when(created),
        "not_supported".into(),
        "no_information".into(),
        "not_supported".into(),
        "not_supported".into(),
        "false".into(),
    ];
    key_columns(
        &mut root,
        all_keys
            .iter()
            .filter(|k| k.owner == KeyOwner::Root)
            .cloned()
            .collect(),
    );
    cert_columns(&mut root, &[]);
    lines.push(root.join(","));
    let mut users: Vec<User> =
        scan_json::<User>(tx, entity::USERS, &entity::account_prefix(account))?
            .into_iter()
            .map(|(_, u)| u)
            .collect();
    users.sort_by_key(|u| u.name.to_ascii_lowercase());
    for u in users {
        let changed = login::password_changed_at(tx, account, &u)?;
        let mut row = vec![
            u.name.clone(),
            u.arn(),
            when(u.created_at),
            bool_text(changed.is_some()).into(),
            if changed.is_some() {
                "no_information"
            } else {
                "N/A"
            }
            .into(),
            changed.map(when).unwrap_or_else(|| "N/A".into()),
            match (changed, max_age) {
                (Some(c), Some(days)) => when(c + u64::from(days) * 86_400),
                _ => "N/A".into(),
            },
            bool_text(mfa::has_device(tx, account, &u)?).into(),
        ];
        let owner = KeyOwner::User {
            name: u.name.clone(),
        };
        key_columns(
            &mut row,
            all_keys
                .iter()
                .filter(|k| k.owner == owner)
                .cloned()
                .collect(),
        );
        cert_columns(&mut row, &certs::signing_certificates_of(tx, account, &u)?);
        lines.push(row.join(","));
    }
    Ok(lines.join("\n"))
}

impl Iam<'_> {
    /// Makes the account's credential report, unless the newest is less than four hours old.
    pub fn generate_credential_report(
        &self,
        account: &str,
        now: u64,
    ) -> Result<ReportState, IamError> {
        self.store.write(|tx| {
            let old: Option<CredentialReport> = get_json(tx, REPORTS, account)?;
            if old.is_some_and(|r| now < r.generated_at + REPORT_FRESH_SECS) {
                return Ok(ReportState::Fresh);
            }
            let report = CredentialReport {
                csv: build(tx, account)?,
                generated_at: now,
            };
            put_json(tx, REPORTS, account, &report)?;
            Ok(ReportState::Generated)
        })
    }

    /// The newest credential report.
    pub fn credential_report(&self, account: &str) -> Result<CredentialReport, IamError> {
        self.store.read(|tx| {
            get_json(tx, REPORTS, account)?.ok_or_else(|| crate::CredError::ReportNotPresent.into())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{KeyHolder, NewUser};
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";

    #[test]
    fn a_row_per_user_with_the_documented_columns() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_account(A, 0).unwrap();
        iam.create_user(A, NewUser::named("zed"), 10).unwrap();
        iam.create_user(A, NewUser::named("amy"), 20).unwrap();
        iam.create_access_key(A, KeyHolder::User("amy"), 30)
            .unwrap();
        iam.create_login_profile(A, "amy", "Passw0rd!", false, 40)
            .unwrap();
        assert!(matches!(
            iam.credential_report(A),
            Err(IamError::Cred(crate::CredError::ReportNotPresent))
        ));
        assert_eq!(
            iam.generate_credential_report(A, 100).unwrap(),
            ReportState::Generated
        );
        assert_eq!(
            iam.generate_credential_report(A, 200).unwrap(),
            ReportState::Fresh
        );
        let r = iam.credential_report(A).unwrap();
        assert_eq!(r.generated_at, 100);
        let lines: Vec<&str> = r.csv.lines().collect();
        assert_eq!(lines.len(), 4);
        let cols = HEADER.split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert!(lines[1].starts_with(&format!("<root_account>,arn:aws:iam::{A}:root,")));
        let amy: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(
            &amy[..4],
            &[
                "amy",
                &format!("arn:aws:iam::{A}:user/amy"),
                "1970-01-01T00:00:20+00:00",
                "true"
            ]
        );
        assert_eq!(amy[8], "true");
        assert!(lines[3].starts_with("zed,"));
    }
}
