//! RotateSecret and CancelRotateSecret. berth has no Lambda: a rotation function can never be
//! invoked, so RotateSecret answers as AWS does when Secrets Manager cannot invoke the function
//! (after validating the request and authorising the caller), and stores nothing.

use berth_secrets::{AWSPENDING, Rotation, RotationRules, Secret};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::{SecretVersionRefOutput, find, not_replica, now_ms, secrets};
use crate::kms::required;
use crate::{Ctx, Error};

/// AWS's answer when the rotation function cannot be invoked by Secrets Manager.
pub const CANNOT_INVOKE: &str = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.";
/// AWS's answer to RotateSecret on a secret without a rotation function.
pub const NO_LAMBDA: &str = "No Lambda rotation function ARN is associated with this secret.";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRulesInput {
    pub automatically_after_days: Option<i64>,
    pub duration: Option<String>,
    pub schedule_expression: Option<String>,
}

/// RotationRules as DescribeSecret and ListSecrets show them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRulesOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}

impl RotationRulesOutput {
    pub fn of(r: &RotationRules) -> RotationRulesOutput {
        RotationRulesOutput {
            automatically_after_days: r.automatically_after_days,
            duration: r.duration.clone(),
            schedule_expression: r.schedule_expression.clone(),
        }
    }
}

fn invalid(m: &str) -> Error {
    // berth's words: AWS's texts for these cases are not known to berth.
    Error::InvalidParameter(m.to_string())
}

/// Checks RotationRules: the model's constraints (`ValidationException`), then their sense.
pub fn rules_of(input: RotationRulesInput) -> Result<RotationRules, Error> {
    if let Some(d) = input.automatically_after_days
        && !(1..=1000).contains(&d)
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{d}' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value {}",
            if d < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 1000"
            }
        )));
    }
    if let Some(e) = &input.schedule_expression {
        let pattern_ok = e
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()#?*-/, ".contains(c));
        if e.is_empty() || e.len() > 256 || !pattern_ok {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{e}' at 'rotationRules.scheduleExpression' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+"
            )));
        }
    }
    if let Some(d) = &input.duration {
        let digits = d.strip_suffix('h').unwrap_or("");
        if d.len() < 2
            || d.len() > 3
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{d}' at 'rotationRules.duration' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h"
            )));
        }
    }
    if input.automatically_after_days.is_some() && input.schedule_expression.is_some() {
        return Err(invalid(
            "give either AutomaticallyAfterDays or ScheduleExpression in RotationRules, not both",
        ));
    }
    let window_hours = match &input.schedule_expression {
        Some(e) => Some(check_schedule(e)?),
        None => input.automatically_after_days.map(|d| d as u64 * 24),
    };
    if let Some(d) = &input.duration {
        let hours: u64 = d.trim_end_matches('h').parse().unwrap_or(0);
        if !(1..=24).contains(&hours) {
            return Err(invalid(
                "the rotation window Duration must be between 1h and 24h",
            ));
        }
        if window_hours.is_some_and(|w| hours >= w) {
            return Err(invalid(
                "the rotation window Duration must be shorter than the rotation interval",
            ));
        }
    }
    Ok(RotationRules {
        automatically_after_days: input.automatically_after_days.map(|d| d as u64),
        schedule_expression: input.schedule_expression,
        duration: input.duration,
    })
}

/// Checks a ScheduleExpression; returns its interval in hours (a `cron(…)` counts as a day,
/// its least interval as AWS allows it).
fn check_schedule(e: &str) -> Result<u64, Error> {
    if let Some(body) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = body.split(' ');
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(
                "a rate expression is rate(N days) or rate(N hours)",
            ));
        };
        let n: u64 = n
            .parse()
            .map_err(|_| invalid("a rate expression is rate(N days) or rate(N hours)"))?;
        return match unit {
            "day" | "days" if (1..=1000).contains(&n) && (n == 1) == (unit == "day") => Ok(n * 24),
            "hour" | "hours" if (4..=24).contains(&n) => Ok(n),
            _ => Err(invalid(
                "a rate expression is rate(N days) with N from 1 to 1000, or rate(N hours) with N from 4 to 24",
            )),
        };
    }
    if let Some(body) = e.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        if body.split(' ').filter(|f| !f.is_empty()).count() == 6 {
            return Ok(24);
        }
        return Err(invalid(
            "a cron expression has six fields: cron(minutes hours day-of-month month day-of-week year)",
        ));
    }
    Err(invalid(
        "a ScheduleExpression is a rate(…) or a cron(…) expression",
    ))
}

/// When a rotation configured at `now` (ms) next runs: the interval after `now`, on the day
/// (a `cron(…)` schedule's next time is not computed: `None`).
pub fn next_rotation(rules: &RotationRules, now: u64) -> Option<u64> {
    let hours = match (&rules.automatically_after_days, &rules.schedule_expression) {
        (Some(d), _) => d * 24,
        (None, Some(e)) if e.starts_with("rate(") => check_schedule(e).ok()?,
        _ => return None,
    };
    Some(now.saturating_add(hours.saturating_mul(3_600_000)))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretInput {
    pub secret_id: Option<String>,
    pub client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    pub rotation_lambda_arn: Option<String>,
    pub rotation_rules: Option<RotationRulesInput>,
    pub external_secret_rotation_metadata: Option<IgnoredAny>,
    pub external_secret_rotation_role_arn: Option<String>,
    pub rotate_immediately: Option<bool>,
}

/// The secret, and the version rotation wrote (none when it only configured rotation).
pub type RotateSecretOutput = SecretVersionRefOutput;

pub fn rotate_secret(ctx: &Ctx<'_>, input: RotateSecretInput) -> Result<RotateSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    if let Some(t) = &input.client_request_token {
        berth_secrets::validate_version_id("clientRequestToken", t)?;
    }
    if let Some(a) = &input.rotation_lambda_arn
        && a.len() > 2048
    {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'rotationLambdaARN' failed to satisfy constraint: Member must have length less than or equal to 2048".into(),
        ));
    }
    let rules = input.rotation_rules.map(rules_of).transpose()?;
    let secret = find(ctx, id, "secretsmanager:RotateSecret")?;
    secret.check_not_deleted()?;
    not_replica(&secret)?;
    let lambda = input
        .rotation_lambda_arn
        .filter(|a| !a.is_empty())
        .or_else(|| secret.rotation.as_ref().and_then(|r| r.lambda_arn.clone()));
    match lambda {
        None => Err(Error::InvalidRequest(NO_LAMBDA.into())),
        // berth runs no Lambda functions: Secrets Manager can never invoke one.
        Some(_) => {
            let _ = rules;
            Err(Error::AccessDenied(CANNOT_INVOKE.into()))
        }
    }
}

pub type CancelRotateSecretInput = super::SecretIdInput;
pub type CancelRotateSecretOutput = RotateSecretOutput;

/// The version a cancelled rotation leaves behind: the one labelled AWSPENDING, if any.
fn pending_version(s: &Secret) -> Option<String> {
    s.version_with_stage(AWSPENDING).map(|v| v.id.clone())
}

pub fn cancel_rotate_secret(
    ctx: &Ctx<'_>,
    input: CancelRotateSecretInput,
) -> Result<CancelRotateSecretOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:CancelRotateSecret")?;
    secret.check_not_deleted()?;
    not_replica(&secret)?;
    let version_id = pending_version(&secret);
    let secret = match secret.rotation.clone() {
        Some(r) => secrets(ctx).set_rotation(
            &secret,
            Rotation {
                enabled: false,
                next: None,
                ..r
            },
            now_ms(ctx),
        )?,
        // Not rotating: nothing to cancel (AWS's answer here is not known to berth).
        None => secret,
    };
    Ok(RotateSecretOutput {
        arn: secret.arn,
        name: secret.name,
        version_id,
        replication_status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(days: Option<i64>, expr: Option<&str>, dur: Option<&str>) -> RotationRulesInput {
        RotationRulesInput {
            automatically_after_days: days,
            schedule_expression: expr.map(str::to_string),
            duration: dur.map(str::to_string),
        }
    }

    #[test]
    fn rotation_rules_as_aws_bounds_them() {
        assert!(rules_of(rules(Some(30), None, None)).is_ok());
        assert!(matches!(
            rules_of(rules(Some(0), None, None)),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            rules_of(rules(Some(1001), None, None)),
            Err(Error::Validation(_))
        ));
        assert!(rules_of(rules(None, Some("rate(10 days)"), Some("3h"))).is_ok());
        assert!(rules_of(rules(None, Some("rate(1 day)"), None)).is_ok());
        assert!(rules_of(rules(None, Some("rate(4 hours)"), Some("2h"))).is_ok());
        assert!(rules_of(rules(None, Some("rate(2 hours)"), None)).is_err());
        assert!(rules_of(rules(None, Some("rate(1001 days)"), None)).is_err());
        assert!(rules_of(rules(None, Some("cron(0 16 1,15 * ? *)"), Some("2h"))).is_ok());
        assert!(rules_of(rules(None, Some("cron(0 16 1,15 *)"), None)).is_err());
        assert!(matches!(
            rules_of(rules(None, Some("rate(10 days);"), None)),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            rules_of(rules(None, None, Some("3d"))),
            Err(Error::Validation(_))
        ));
        assert!(rules_of(rules(None, None, Some("25h"))).is_err());
        assert!(rules_of(rules(None, Some("rate(4 hours)"), Some("4h"))).is_err());
        assert!(rules_of(rules(Some(5), Some("rate(5 days)"), None)).is_err());
    }

    #[test]
    fn next_rotation_follows_the_interval() {
        let r = RotationRules {
            automatically_after_days: Some(2),
            ..RotationRules::default()
        };
        assert_eq!(next_rotation(&r, 1_000), Some(1_000 + 2 * 86_400_000));
        let cron = RotationRules {
            schedule_expression: Some("cron(0 16 1,15 * ? *)".into()),
            ..RotationRules::default()
        };
        assert_eq!(next_rotation(&cron, 1_000), None);
    }
}
