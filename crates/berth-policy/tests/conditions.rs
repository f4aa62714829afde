//! Condition operators, as data: a condition block + context -> allowed or not.
//!
//! Source: IAM User Guide, "IAM JSON policy elements: Condition operators",
//! "Creating a condition with multiple keys or values", "Policy variables".
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_policy::{ContextValue, PolicyType};
use common::*;

fn policy(effect: &str, cond: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"s3:GetObject","Resource":"*","Condition":{cond}}}]}}"#
    )
}

/// The condition holds: the Allow statement applies.
fn yes(name: &'static str, cond: &str) -> Case {
    Case::new(name, alice(), "s3:GetObject", "*")
        .identity(&policy("Allow", cond))
        .expect(ALLOWED_ID)
}

/// The condition does not hold.
fn no(name: &'static str, cond: &str) -> Case {
    Case::new(name, alice(), "s3:GetObject", "*")
        .identity(&policy("Allow", cond))
        .expect(implicit(PolicyType::Identity))
}

fn at(secs: u64) -> ContextValue {
    ContextValue::Date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn ip(s: &str) -> ContextValue {
    ContextValue::Ip(s.parse::<IpAddr>().unwrap())
}

#[test]
fn string_operators() {
    check(&[
        yes(
            "StringEquals match",
            r#"{"StringEquals":{"aws:PrincipalTag/job":"admin"}}"#,
        )
        .ctx("aws:PrincipalTag/job", "admin"),
        no(
            "StringEquals is case-sensitive",
            r#"{"StringEquals":{"aws:PrincipalTag/job":"admin"}}"#,
        )
        .ctx("aws:PrincipalTag/job", "Admin"),
        no(
            "StringEquals missing key",
            r#"{"StringEquals":{"aws:PrincipalTag/job":"admin"}}"#,
        ),
        no(
            "StringEquals: * is literal",
            r#"{"StringEquals":{"k:k":"a*"}}"#,
        )
        .ctx("k:k", "ab"),
        yes(
            "StringEquals: * literal matches itself",
            r#"{"StringEquals":{"k:k":"a*"}}"#,
        )
        .ctx("k:k", "a*"),
        yes(
            "values are ORed",
            r#"{"StringEquals":{"k:k":["x","y","z"]}}"#,
        )
        .ctx("k:k", "y"),
        yes(
            "key names are case-insensitive",
            r#"{"StringEquals":{"AWS:PRINCIPALTAG/Job":"admin"}}"#,
        )
        .ctx("aws:principaltag/job", "admin"),
        yes(
            "StringNotEquals missing key is true",
            r#"{"StringNotEquals":{"k:k":"a"}}"#,
        ),
        yes(
            "StringNotEquals other value",
            r#"{"StringNotEquals":{"k:k":"a"}}"#,
        )
        .ctx("k:k", "b"),
        no(
            "StringNotEquals same value",
            r#"{"StringNotEquals":{"k:k":"a"}}"#,
        )
        .ctx("k:k", "a"),
        no(
            "StringNotEquals with several values: must match none",
            r#"{"StringNotEquals":{"aws:PrincipalAccount":["111111111111","111122223333"]}}"#,
        ),
        yes(
            "StringNotEquals with several values: matches none",
            r#"{"StringNotEquals":{"aws:PrincipalAccount":["111111111111","999999999999"]}}"#,
        ),
        yes(
            "StringEqualsIgnoreCase",
            r#"{"StringEqualsIgnoreCase":{"k:k":"FiNaNcE"}}"#,
        )
        .ctx("k:k", "finance"),
        no(
            "StringNotEqualsIgnoreCase same value other case",
            r#"{"StringNotEqualsIgnoreCase":{"k:k":"FiNaNcE"}}"#,
        )
        .ctx("k:k", "finance"),
        yes(
            "StringNotEqualsIgnoreCase missing key",
            r#"{"StringNotEqualsIgnoreCase":{"k:k":"a"}}"#,
        ),
        yes(
            "StringLike *",
            r#"{"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#,
        )
        .ctx("ec2:InstanceType", "t2.micro"),
        no(
            "StringLike no match",
            r#"{"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#,
        )
        .ctx("ec2:InstanceType", "c5.large"),
        yes("StringLike ?", r#"{"StringLike":{"k:k":"a?c"}}"#).ctx("k:k", "abc"),
        yes(
            "StringLike empty string value",
            r#"{"StringLike":{"s3:prefix":["","home/"]}}"#,
        )
        .ctx("s3:prefix", ""),
        no("StringLike missing key", r#"{"StringLike":{"k:k":"*"}}"#),
        yes(
            "StringNotLike missing key",
            r#"{"StringNotLike":{"k:k":"a*"}}"#,
        ),
        no("StringNotLike match", r#"{"StringNotLike":{"k:k":"a*"}}"#).ctx("k:k", "abc"),
        yes(
            "string operator on a boolean value",
            r#"{"StringEquals":{"aws:SecureTransport":"true"}}"#,
        )
        .ctx("aws:SecureTransport", true),
        yes(
            "string operator on a number value",
            r#"{"StringEquals":{"s3:max-keys":"10"}}"#,
        )
        .ctx("s3:max-keys", 10.0),
    ]);
}

#[test]
fn numeric_operators() {
    check(&[
        yes(
            "NumericLessThanEquals",
            r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#,
        )
        .ctx("s3:max-keys", "10"),
        no(
            "NumericLessThanEquals over",
            r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#,
        )
        .ctx("s3:max-keys", "11"),
        yes("NumericLessThan", r#"{"NumericLessThan":{"k:n":"10"}}"#).ctx("k:n", 9.5),
        no(
            "NumericLessThan equal",
            r#"{"NumericLessThan":{"k:n":"10"}}"#,
        )
        .ctx("k:n", 10.0),
        yes(
            "NumericGreaterThan",
            r#"{"NumericGreaterThan":{"k:n":"10"}}"#,
        )
        .ctx("k:n", "10.01"),
        no(
            "NumericGreaterThan equal",
            r#"{"NumericGreaterThan":{"k:n":"10"}}"#,
        )
        .ctx("k:n", 10.0),
        yes(
            "NumericGreaterThanEquals",
            r#"{"NumericGreaterThanEquals":{"k:n":10}}"#,
        )
        .ctx("k:n", 10_i64),
        yes(
            "NumericEquals decimal",
            r#"{"NumericEquals":{"k:n":"1.50"}}"#,
        )
        .ctx("k:n", "1.5"),
        no(
            "NumericEquals missing key",
            r#"{"NumericEquals":{"k:n":"1"}}"#,
        ),
        yes(
            "NumericNotEquals missing key",
            r#"{"NumericNotEquals":{"k:n":"1"}}"#,
        ),
        no(
            "NumericNotEquals equal",
            r#"{"NumericNotEquals":{"k:n":"1"}}"#,
        )
        .ctx("k:n", "1"),
        no(
            "non-numeric context value",
            r#"{"NumericEquals":{"k:n":"1"}}"#,
        )
        .ctx("k:n", "one"),
        no(
            "non-numeric policy value",
            r#"{"NumericEquals":{"k:n":"one"}}"#,
        )
        .ctx("k:n", "1"),
        yes(
            "MultiFactorAuthAge",
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}"#,
        )
        .ctx("aws:MultiFactorAuthAge", "120"),
    ]);
}

#[test]
fn date_operators() {
    let y2020 = 1_577_836_800; // 2020-01-01T00:00:00Z
    check(&[
        yes("DateGreaterThan ISO", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#).ctx("aws:TokenIssueTime", at(y2020 + 2)),
        no("DateGreaterThan equal", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#).ctx("aws:TokenIssueTime", at(y2020 + 1)),
        no("DateGreaterThan missing key (long-term keys)", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#),
        yes("DateGreaterThanEquals", r#"{"DateGreaterThanEquals":{"aws:CurrentTime":"2020-01-01"}}"#).ctx("aws:CurrentTime", at(y2020)),
        yes("DateLessThan epoch seconds", r#"{"DateLessThan":{"aws:EpochTime":"1577836800"}}"#).ctx("aws:EpochTime", "1577836799"),
        no("DateLessThan equal", r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#).ctx("aws:CurrentTime", at(y2020)),
        yes("DateLessThanEquals, context ISO string", r#"{"DateLessThanEquals":{"aws:CurrentTime":"2020-01-01T01:00:00+01:00"}}"#).ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"),
        yes("DateEquals across forms", r#"{"DateEquals":{"aws:CurrentTime":"1577836800"}}"#).ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"),
        yes("DateNotEquals missing key", r#"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01"}}"#),
        no("DateNotEquals equal", r#"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01"}}"#).ctx("aws:CurrentTime", at(y2020)),
        yes("window", r#"{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}"#)
            .ctx("aws:CurrentTime", "2017-09-01T12:00:00Z"),
        no("outside window", r#"{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}"#)
            .ctx("aws:CurrentTime", SystemTime::UNIX_EPOCH),
        no("unparseable context date", r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01"}}"#).ctx("aws:CurrentTime", "yesterday"),
        // A numeric context value (`aws:EpochTime` as the request context carries it) is epoch
        // seconds; one that is no finite number is no date.
        yes("DateGreaterThan, context epoch number", r#"{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#).ctx("aws:EpochTime", 1_600_000_000.0),
        no("DateGreaterThan, earlier context epoch number", r#"{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#).ctx("aws:EpochTime", 1_500_000_000.0),
        yes("DateEquals, fractional context epoch number", r#"{"DateEquals":{"aws:EpochTime":"2020-01-01T00:00:00.5Z"}}"#).ctx("aws:EpochTime", 1_577_836_800.5),
        no("DateLessThan, NaN is no date", r#"{"DateLessThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#).ctx("aws:EpochTime", f64::NAN),
        no("DateGreaterThan, infinity is no date", r#"{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#).ctx("aws:EpochTime", f64::INFINITY),
    ]);
}

#[test]
fn bool_binary_ip_operators() {
    check(&[
        yes("Bool true", r#"{"Bool":{"aws:SecureTransport":"true"}}"#)
            .ctx("aws:SecureTransport", true),
        yes(
            "Bool with a JSON boolean",
            r#"{"Bool":{"aws:SecureTransport":true}}"#,
        )
        .ctx("aws:SecureTransport", "true"),
        no(
            "Bool mismatch",
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
        )
        .ctx("aws:SecureTransport", false),
        no(
            "Bool missing key",
            r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
        ),
        yes(
            "BoolIfExists missing key",
            r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
        ),
        no(
            "BoolIfExists present, mismatch",
            r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
        )
        .ctx("aws:MultiFactorAuthPresent", true),
        yes("Bool with a variable", r#"{"Bool":{"k:a":"${k:b}"}}"#)
            .ctx("k:a", true)
            .ctx("k:b", "true"),
        yes(
            "BinaryEquals bytes",
            r#"{"BinaryEquals":{"k:bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
        )
        .ctx("k:bin", b"BinaryValueInBase64".to_vec()),
        yes(
            "BinaryEquals base64 string",
            r#"{"BinaryEquals":{"k:bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
        )
        .ctx("k:bin", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
        no(
            "BinaryEquals mismatch",
            r#"{"BinaryEquals":{"k:bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
        )
        .ctx("k:bin", b"other".to_vec()),
        yes(
            "IpAddress in range",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        )
        .ctx("aws:SourceIp", ip("203.0.113.9")),
        yes(
            "IpAddress string context",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        )
        .ctx("aws:SourceIp", "203.0.113.9"),
        no(
            "IpAddress out of range",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        )
        .ctx("aws:SourceIp", ip("198.51.100.1")),
        no(
            "IpAddress missing key (VPC endpoint)",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        ),
        yes(
            "IpAddress without prefix is /32",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}"#,
        )
        .ctx("aws:SourceIp", ip("203.0.113.7")),
        no(
            "IpAddress without prefix, neighbour",
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}"#,
        )
        .ctx("aws:SourceIp", ip("203.0.113.8")),
        yes(
            "IpAddress IPv6 in a mixed list",
            r#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}"#,
        )
        .ctx("aws:SourceIp", ip("2001:db8:1234:5678::abcd")),
        yes(
            "NotIpAddress missing key",
            r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        ),
        yes(
            "NotIpAddress outside",
            r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        )
        .ctx("aws:SourceIp", ip("10.0.0.1")),
        no(
            "NotIpAddress inside",
            r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        )
        .ctx("aws:SourceIp", ip("203.0.113.1")),
    ]);
}

#[test]
fn arn_operators() {
    let doc_value =
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    check(&[
        yes(
            "documented: StringLike crosses colons",
            r#"{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}"#,
        )
        .ctx("aws:SourceArn", doc_value),
        no(
            "documented: ArnLike does not",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}"#,
        )
        .ctx("aws:SourceArn", doc_value),
        yes(
            "ArnEquals exact",
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic"}}"#,
        )
        .ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic"),
        yes(
            "ArnEquals takes wildcards like ArnLike",
            r#"{"ArnEquals":{"ec2:SourceInstanceARN":"arn:aws:ec2:*:*:instance/i-*"}}"#,
        )
        .ctx(
            "ec2:SourceInstanceARN",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc",
        ),
        yes(
            "ArnLike per segment",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111122223333:*"}}"#,
        )
        .ctx(
            "aws:SourceArn",
            "arn:aws:ecs:us-east-1:111122223333:task/cluster/abc",
        ),
        no(
            "ArnLike is case-sensitive",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111122223333:task/Cluster/*"}}"#,
        )
        .ctx(
            "aws:SourceArn",
            "arn:aws:ecs:us-east-1:111122223333:task/cluster/abc",
        ),
        no(
            "ArnLike missing key",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}"#,
        ),
        yes(
            "ArnNotLike missing key",
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}"#,
        ),
        no(
            "ArnNotEquals match",
            r#"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}"#,
        )
        .ctx(
            "aws:SourceArn",
            "arn:aws:ecs:us-east-1:111122223333:task/c/x",
        ),
        no(
            "ArnLike on a non-ARN value",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}"#,
        )
        .ctx("aws:SourceArn", "ecs"),
    ]);
}

#[test]
fn if_exists_and_null() {
    check(&[
        yes(
            "StringLikeIfExists: key absent",
            r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#,
        ),
        yes(
            "StringLikeIfExists: key present, matching",
            r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#,
        )
        .ctx("ec2:InstanceType", "m3.large"),
        no(
            "StringLikeIfExists: key present, not matching",
            r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#,
        )
        .ctx("ec2:InstanceType", "c5.large"),
        yes(
            "NumericLessThanIfExists absent",
            r#"{"NumericLessThanIfExists":{"k:n":"1"}}"#,
        ),
        yes(
            "StringNotEqualsIfExists absent",
            r#"{"StringNotEqualsIfExists":{"k:k":"a"}}"#,
        ),
        yes(
            "Null true: key absent",
            r#"{"Null":{"aws:TokenIssueTime":"true"}}"#,
        ),
        no(
            "Null true: key present",
            r#"{"Null":{"aws:TokenIssueTime":"true"}}"#,
        )
        .ctx("aws:TokenIssueTime", at(1)),
        yes(
            "Null false: key present",
            r#"{"Null":{"aws:TokenIssueTime":"false"}}"#,
        )
        .ctx("aws:TokenIssueTime", at(1)),
        no(
            "Null false: key absent",
            r#"{"Null":{"aws:TokenIssueTime":"false"}}"#,
        ),
        yes(
            "Null with a JSON boolean",
            r#"{"Null":{"aws:TokenIssueTime":true}}"#,
        ),
        yes(
            "Null: derived keys are present",
            r#"{"Null":{"aws:PrincipalArn":"false"}}"#,
        ),
        yes(
            "Null: an empty multivalued key counts as absent",
            r#"{"Null":{"aws:TagKeys":"true"}}"#,
        )
        .ctx_multi("aws:TagKeys", &[]),
    ]);
    // "If you are using an Effect: Deny element with a negated condition
    // operator like StringNotEqualsIfExists, the request is still denied even
    // if the tag is missing."
    check(&[Case::new(
        "deny with StringNotEqualsIfExists and the key missing",
        alice(),
        "s3:GetObject",
        "*",
    )
    .identity(&allow("s3:*", "*"))
    .identity(&policy(
        "Deny",
        r#"{"StringNotEqualsIfExists":{"aws:ResourceTag/team":"red"}}"#,
    ))
    .expect(explicit(PolicyType::Identity))]);
}

#[test]
fn set_operators() {
    let all = r#"{"ForAllValues:StringEquals":{"dynamodb:Attributes":["PostDateTime","Message","Tags"]}}"#;
    let any = r#"{"ForAnyValue:StringEquals":{"dynamodb:Attributes":["ID","PostDateTime"]}}"#;
    check(&[
        yes("ForAllValues: every value listed", all)
            .ctx_multi("dynamodb:Attributes", &["Message", "Tags"]),
        no("ForAllValues: UserName not listed (documented)", all)
            .ctx_multi("dynamodb:Attributes", &["PostDateTime", "UserName"]),
        yes("ForAllValues: key missing is true", all),
        yes("ForAllValues: empty set is true", all).ctx_multi("dynamodb:Attributes", &[]),
        yes("ForAnyValue: one match (documented)", any).ctx_multi(
            "dynamodb:Attributes",
            &["UserName", "Message", "PostDateTime"],
        ),
        no("ForAnyValue: no match (documented)", any)
            .ctx_multi("dynamodb:Attributes", &["UserName"]),
        no("ForAnyValue: key missing is false", any),
        no("ForAnyValue: empty set is false", any).ctx_multi("dynamodb:Attributes", &[]),
        yes("ForAnyValue on a single value", any).ctx("dynamodb:Attributes", "ID"),
        yes(
            "ForAllValues:StringNotEquals: none forbidden",
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret","owner"]}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env", "team"]),
        no(
            "ForAllValues:StringNotEquals: one forbidden",
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret","owner"]}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env", "owner"]),
        yes(
            "ForAnyValue:StringNotLike: one outside",
            r#"{"ForAnyValue:StringNotLike":{"aws:TagKeys":"env*"}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env1", "team"]),
        no(
            "ForAnyValue:StringNotLike: all inside",
            r#"{"ForAnyValue:StringNotLike":{"aws:TagKeys":"env*"}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env1", "env2"]),
        yes(
            "ForAnyValue:StringEqualsIfExists: key missing",
            r#"{"ForAnyValue:StringEqualsIfExists":{"k:k":"a"}}"#,
        ),
        yes(
            "unqualified positive operator on a multivalued key: any value",
            r#"{"StringEquals":{"aws:TagKeys":"team"}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env", "team"]),
        no(
            "unqualified negated operator on a multivalued key: no value may match",
            r#"{"StringNotEquals":{"aws:TagKeys":"team"}}"#,
        )
        .ctx_multi("aws:TagKeys", &["env", "team"]),
    ]);
}

#[test]
fn blocks_are_anded() {
    let cond = r#"{
        "StringEqualsIgnoreCase": {"aws:PrincipalTag/department": ["finance","hr","legal"], "aws:PrincipalTag/role": ["audit","security"]},
        "StringEquals": {"aws:PrincipalAccount": "111122223333"}
    }"#;
    check(&[
        yes("all conditions hold (documented)", cond)
            .ctx("aws:PrincipalTag/department", "HR")
            .ctx("aws:PrincipalTag/role", "audit"),
        no("one key fails", cond)
            .ctx("aws:PrincipalTag/department", "HR")
            .ctx("aws:PrincipalTag/role", "dev"),
        no("one key missing", cond).ctx("aws:PrincipalTag/department", "HR"),
        yes("empty condition block", "{}"),
        yes(
            "unknown operator with an empty block is ignored",
            r#"{"x":{}}"#,
        ),
        yes(
            "operator with an empty key list",
            r#"{"DateGreaterThan":{}}"#,
        ),
        no(
            "key with an empty value list never matches",
            r#"{"StringEquals":{"k:k":[]}}"#,
        )
        .ctx("k:k", "a"),
    ]);
}

#[test]
fn condition_variables() {
    check(&[
        yes(
            "variable in StringEquals",
            r#"{"StringEquals":{"ec2:ResourceTag/VolumeUser":"${aws:username}"}}"#,
        )
        .ctx("ec2:ResourceTag/VolumeUser", "alice"),
        no(
            "variable in StringEquals, other user",
            r#"{"StringEquals":{"ec2:ResourceTag/VolumeUser":"${aws:username}"}}"#,
        )
        .ctx("ec2:ResourceTag/VolumeUser", "bob"),
        yes(
            "variable in ArnLike",
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:iam::${aws:PrincipalAccount}:user/*"}}"#,
        )
        .ctx("aws:SourceArn", "arn:aws:iam::111122223333:user/x"),
        yes(
            "unresolved variable: negated operator matches",
            r#"{"StringNotEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}"#,
        )
        .ctx("s3:ExistingObjectTag/Team", "red"),
        no(
            "unresolved variable: positive operator does not",
            r#"{"StringEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}"#,
        )
        .ctx("s3:ExistingObjectTag/Team", "red"),
        no(
            "multivalued key is not a variable",
            r#"{"StringEquals":{"k:k":"${aws:TagKeys}"}}"#,
        )
        .ctx("k:k", "a")
        .ctx_multi("aws:TagKeys", &["a", "b"]),
        no(
            "no variables in numeric operators",
            r#"{"NumericEquals":{"k:n":"${k:m}"}}"#,
        )
        .ctx("k:n", "1")
        .ctx("k:m", "1"),
        yes(
            "default value in a condition",
            r#"{"StringEquals":{"k:k":"${k:missing, 'dflt'}"}}"#,
        )
        .ctx("k:k", "dflt"),
    ]);
}
