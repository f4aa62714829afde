//! Parsing and validation: each rule, as data (document, kind, expected
//! `MalformedPolicyDocument` message).
#![allow(clippy::unwrap_used)]

use berth_policy::{Effect, ParseOptions, PolicyErrorKind, PolicyKind, parse, parse_with};

use PolicyKind::{Boundary, Identity, Resource, Session, Trust};

const S3: &str = r#""Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket""#;

fn stmt(body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{{{body}}}}}"#)
}

fn check_errors(cases: &[(&str, &str, PolicyKind, &str)]) {
    let mut failures = Vec::new();
    for (name, doc, kind, want) in cases {
        match parse(doc, *kind) {
            Ok(_) => failures.push(format!("{name}: accepted, expected {want:?}")),
            Err(e) if e.message() != *want => {
                failures.push(format!(
                    "{name}: got {:?} ({}), expected {want:?}",
                    e.message(),
                    e.diagnostic()
                ));
            }
            Err(e) => assert_eq!(e.to_string(), *want, "{name}: Display is the AWS message"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syntax_errors() {
    let s = "Syntax errors in policy.";
    let cases: Vec<(&str, String, PolicyKind, &str)> = vec![
        (
            "not json",
            "This is not a json document".into(),
            Identity,
            s,
        ),
        ("not an object", r#"["Version"]"#.into(), Identity, s),
        (
            "trailing garbage",
            format!("{} x", stmt(&format!(r#""Effect":"Allow",{S3}"#))),
            Identity,
            s,
        ),
        (
            "unknown version",
            format!(r#"{{"Version":"2013-10-17","Statement":{{"Effect":"Allow",{S3}}}}}"#),
            Identity,
            s,
        ),
        (
            "version not a string",
            format!(r#"{{"Version":2012,"Statement":{{"Effect":"Allow",{S3}}}}}"#),
            Identity,
            s,
        ),
        (
            "no statement",
            r#"{"Version":"2012-10-17"}"#.into(),
            Identity,
            s,
        ),
        (
            "statement not an object",
            r#"{"Version":"2012-10-17","Statement":["afd"]}"#.into(),
            Identity,
            s,
        ),
        (
            "empty statement list",
            r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
            Identity,
            s,
        ),
        (
            "statement a string",
            r#"{"Version":"2012-10-17","Statement":"x"}"#.into(),
            Identity,
            s,
        ),
        (
            "unknown top-level field",
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",{S3}}},"Extra field":"value"}}"#
            ),
            Identity,
            s,
        ),
        (
            "unknown statement field",
            stmt(&format!(r#""Effect":"Allow",{S3},"Extra field":"value""#)),
            Identity,
            s,
        ),
        (
            "field names are case-sensitive",
            stmt(&format!(r#""effect":"Allow",{S3}"#)),
            Identity,
            s,
        ),
        (
            "duplicate key in a statement",
            stmt(&format!(r#""Effect":"Allow","Effect":"Deny",{S3}"#)),
            Identity,
            s,
        ),
        (
            "duplicate top-level key",
            format!(
                r#"{{"Version":"2012-10-17","Version":"2012-10-17","Statement":{{"Effect":"Allow",{S3}}}}}"#
            ),
            Identity,
            s,
        ),
        (
            "id a list",
            format!(
                r#"{{"Version":"2012-10-17","Id":["x"],"Statement":{{"Effect":"Allow",{S3}}}}}"#
            ),
            Identity,
            s,
        ),
        (
            "id an object",
            format!(
                r#"{{"Version":"2012-10-17","Id":{{}},"Statement":{{"Effect":"Allow",{S3}}}}}"#
            ),
            Identity,
            s,
        ),
        (
            "sid an object",
            stmt(&format!(r#""Sid":{{}},"Effect":"Allow",{S3}"#)),
            Identity,
            s,
        ),
        (
            "effect invalid",
            stmt(&format!(r#""Effect":"invalid",{S3}"#)),
            Identity,
            s,
        ),
        ("effect missing", stmt(S3), Identity, s),
        (
            "effect not a string",
            stmt(&format!(r#""Effect":true,{S3}"#)),
            Identity,
            s,
        ),
        (
            "resource an object",
            stmt(
                r#""Effect":"Allow","Action":"s3:ListBucket","Resource":{"a":"arn:aws:s3:::example_bucket"}"#,
            ),
            Identity,
            s,
        ),
        (
            "resource list with an object",
            stmt(r#""Effect":"Deny","Action":"s3:ListBucket","Resource":["adfdf",{}]"#),
            Identity,
            s,
        ),
        (
            "Resource and NotResource",
            stmt(
                r#""Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws:s3:::b","NotResource":[]"#,
            ),
            Identity,
            s,
        ),
        (
            "nested action list",
            stmt(r#""Effect":"Deny","Action":[[]],"Resource":"arn:aws:s3:::b""#),
            Identity,
            s,
        ),
        (
            "Action and NotAction",
            stmt(
                r#""Effect":"Allow","NotAction":"s3s:ListBucket","Action":[],"Resource":"arn:aws:s3:::b""#,
            ),
            Identity,
            s,
        ),
        (
            "action an object",
            stmt(r#""Effect":"Allow","Action":{},"Resource":"arn:aws:s3:::b""#),
            Identity,
            s,
        ),
        (
            "condition a list",
            stmt(&format!(r#""Effect":"Allow",{S3},"Condition":[]"#)),
            Identity,
            s,
        ),
        (
            "condition a string",
            stmt(&format!(r#""Effect":"Allow",{S3},"Condition":"a""#)),
            Identity,
            s,
        ),
        (
            "condition operator maps to a string",
            stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"a":"b"}}"#)),
            Identity,
            s,
        ),
        (
            "condition block a string",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"DateGreaterThan":"b"}}"#
            )),
            Identity,
            s,
        ),
        (
            "condition block a list",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"DateGreaterThan":[]}}"#
            )),
            Identity,
            s,
        ),
        (
            "condition value an object",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"DateGreaterThan":{{"a":{{}}}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "condition value null",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"StringEquals":{{"a":null}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "condition value nested list",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"StringEquals":{{"a":[["x"]]}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "unknown condition operator",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"x":{{"a":"1"}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "misspelt condition operator",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"StringEqualz":{{"a":"1"}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "condition key without operator",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"servicecatalog:accountLevel":"self"}}"#
            )),
            Identity,
            s,
        ),
        (
            "double colon qualifier",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"ForAnyValue::StringEqualsIfExists":{{"a":"asf"}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "NullIfExists",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"NullIfExists":{{"a":"true"}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "duplicate condition key",
            stmt(&format!(
                r#""Effect":"Allow",{S3},"Condition":{{"StringEquals":{{"a":"1","a":"2"}}}}"#
            )),
            Identity,
            s,
        ),
        (
            "principal a non-* string",
            stmt(r#""Effect":"Allow","Principal":"xyz","Action":"s3:*","Resource":"*""#),
            Resource,
            s,
        ),
        (
            "principal unknown type",
            stmt(
                r#""Effect":"Allow","Principal":{"service":"ec2.amazonaws.com"},"Action":"s3:*","Resource":"*""#,
            ),
            Resource,
            s,
        ),
        (
            "principal empty map",
            stmt(r#""Effect":"Allow","Principal":{},"Action":"s3:*","Resource":"*""#),
            Resource,
            s,
        ),
        (
            "principal empty list",
            stmt(r#""Effect":"Allow","Principal":{"AWS":[]},"Action":"s3:*","Resource":"*""#),
            Resource,
            s,
        ),
        (
            "Principal and NotPrincipal",
            stmt(
                r#""Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*""#,
            ),
            Resource,
            s,
        ),
    ];
    let refs: Vec<(&str, &str, PolicyKind, &str)> = cases
        .iter()
        .map(|(n, d, k, m)| (*n, d.as_str(), *k, *m))
        .collect();
    check_errors(&refs);
}

#[test]
fn trust_policy_invalid_json() {
    check_errors(&[(
        "not json",
        "{\"Version\":",
        Trust,
        "This policy contains invalid Json",
    )]);
    let e = parse("{", Trust).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::Syntax);
    assert!(e.detail().unwrap().starts_with("invalid json"));
}

#[test]
fn version_requirement() {
    let no_version = format!(r#"{{"Statement":{{"Effect":"Allow",{S3}}}}}"#);
    let old = format!(r#"{{"Version":"2008-10-17","Statement":{{"Effect":"Allow",{S3}}}}}"#);
    let strict = ParseOptions {
        require_version_2012: true,
    };
    for doc in [&no_version, &old] {
        assert!(parse(doc, Identity).is_ok());
        let e = parse_with(doc, Identity, &strict).unwrap_err();
        assert_eq!(
            e.message(),
            "Policy document must be version 2012-10-17 or greater."
        );
        assert_eq!(e.kind(), PolicyErrorKind::VersionTooOld);
    }
    assert!(
        parse_with(
            &stmt(&format!(r#""Effect":"Allow",{S3}"#)),
            Identity,
            &strict
        )
        .is_ok()
    );
}

#[test]
fn validation_errors() {
    let legacy = "The policy failed legacy parsing";
    let cases: Vec<(&str, String, PolicyKind, &str)> = vec![
        // Effect spelling.
        ("effect lowercase", stmt(&format!(r#""Effect":"allow",{S3}"#)), Identity, legacy),
        ("effect mixed case", stmt(&format!(r#""Effect":"denY",{S3}"#)), Identity, legacy),
        // Dates.
        ("bad date", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"DateGreaterThan":{{"a":"sdfdsf"}}}}"#)), Identity, legacy),
        ("bad month", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"DateLessThanEquals":{{"a":"234-13"}}}}"#)), Identity, legacy),
        ("one-digit zone", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.593194+1"}}}}"#)), Identity, legacy),
        ("ten-digit fraction", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.1999999999+10:59"}}}}"#)), Identity, legacy),
        ("epoch overflow", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"DateLessThan":{{"a":"9223372036854775808"}}}}"#)), Identity, legacy),
        ("bad date in IfExists", stmt(&format!(r#""Effect":"Allow",{S3},"Condition":{{"ForAnyValue:DateEqualsIfExists":{{"a":["x"]}}}}"#)), Identity, legacy),
        ("legacy before missing actions", stmt(r#""Effect":"Allow","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}"#), Identity, legacy),
        // Resource shape.
        ("ARN with too few colons", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3::example_bucket""#), Identity, legacy),
        ("ARN with an empty service", stmt(r#""Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket""#), Identity, legacy),
        ("ARN with empty service, short", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws::fdsasf""#), Identity, legacy),
        ("NotResource too few colons", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","NotResource":"arn:aws:s3::example_bucket""#), Identity, legacy),
        ("legacy before missing actions (resource)", stmt(r#""Effect":"Allow","Resource":"arn:aws:s3::example_bucket""#), Identity, legacy),
        // Sids.
        ("duplicate sid", r#"{"Version":"2012-10-17","Statement":[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"},{"Sid":"sdf","Effect":"Allow"}]}"#.into(),
            Identity, "Statement IDs (SID) in a single policy must be unique."),
        ("sid with a space", stmt(&format!(r#""Sid":"my sid","Effect":"Allow",{S3}"#)), Identity,
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
        // Actions.
        ("no action", stmt(r#""Effect":"Allow","Resource":"arn:aws:s3:::b""#), Identity, "Policy statement must contain actions."),
        ("empty action list", stmt(r#""Effect":"Allow","Action":[],"Resource":"arn:aws:s3:::b""#), Identity, "Policy statement must contain actions."),
        ("effect only", stmt(r#""Effect":"Allow""#), Identity, "Policy statement must contain actions."),
        ("second statement has no action", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}"#.into(),
            Identity, "Policy statement must contain actions."),
        ("no vendor", stmt(r#""Effect":"Allow","Action":"invalid","Resource":"arn:aws:s3:::b""#), Identity,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        ("empty NotAction", stmt(r#""Effect":"Allow","NotAction":"","Resource":"arn:aws:s3:::b""#), Identity,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        ("bad vendor", stmt(r#""Effect":"Allow","Action":"a a:ListBucket","Resource":"arn:aws:s3:::b""#), Identity, "Vendor a a is not valid"),
        ("two colons", stmt(r#""Effect":"Allow","Action":"s3:List:Bucket","Resource":"arn:aws:s3:::b""#), Identity,
            "Actions/Condition can contain only one colon."),
        ("two colons in the second statement", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3s:ListBucket","Resource":"arn:aws:s3:::b"},{"Effect":"Allow","Action":"s:3s:ListBucket","Resource":"arn:aws:s3:::b"}]}"#.into(),
            Identity, "Actions/Condition can contain only one colon."),
        ("resources missing before action format", stmt(r#""Effect":"Allow","Action":"invalid""#), Identity,
            "Policy statement must contain resources."),
        // Resources.
        ("no resource", stmt(r#""Effect":"Allow","Action":"s3:ListBucket""#), Identity, "Policy statement must contain resources."),
        ("empty resource list", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":[]"#), Identity, "Policy statement must contain resources."),
        ("no resource in a boundary", stmt(r#""Effect":"Allow","Action":"s3:ListBucket""#), Boundary, "Policy statement must contain resources."),
        ("no resource in a session policy", stmt(r#""Effect":"Allow","Action":"s3:ListBucket""#), Session, "Policy statement must contain resources."),
        ("resource not an ARN", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"invalid resource""#), Identity,
            r#"Resource invalid resource must be in ARN format or "*"."#),
        ("empty resource string", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"""#), Identity,
            r#"Resource  must be in ARN format or "*"."#),
        ("resource in a list", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":["adf"]"#), Identity,
            r#"Resource adf must be in ARN format or "*"."#),
        ("resource format reported before action format", stmt(r#""Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf""#), Identity,
            r#"Resource sdfsadf must be in ARN format or "*"."#),
        ("bad partition", stmt(r#""Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad""#), Identity,
            r#"Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*"."#),
        ("bad partition, long", stmt(r#""Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h""#), Identity,
            r#"Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h"."#),
        ("missing arn prefix", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"aws:s3:::example_bucket""#), Identity,
            r#"Partition "s3" is not valid for resource "arn:s3:::example_bucket:*"."#),
        ("partition error", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:error:s3:::example_bucket","arn:error:s3::example_bucket"]"#), Identity,
            r#"Partition "error" is not valid for resource "arn:error:s3:::example_bucket"."#),
        ("vendor missing", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws""#), Identity,
            "Resource vendor must be fully qualified and cannot contain regexes."),
        ("iam with region", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:us-east-1::example_bucket""#), Identity,
            "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."),
        ("s3 with region", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:us-east-1::example_bucket""#), Identity,
            "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."),
        ("iam resource type", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket""#), Identity,
            r#"IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."#),
        // Principals.
        ("principal in an identity policy", stmt(r#""Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*""#), Identity,
            "Policy document should not specify a principal."),
        ("NotPrincipal in an identity policy", stmt(r#""Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*""#), Identity,
            "Policy document should not specify a principal."),
        ("principal in a boundary", stmt(r#""Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*""#), Boundary,
            "Policy document should not specify a principal."),
        ("principal in a session policy", stmt(r#""Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*""#), Session,
            "Policy document should not specify a principal."),
        ("resource policy without principal", stmt(r#""Effect":"Allow","Action":"s3:*","Resource":"*""#), Resource,
            "Missing required field Principal"),
        ("trust policy without principal", stmt(r#""Effect":"Allow","Action":"sts:AssumeRole""#), Trust,
            "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"),
        ("invalid AWS principal", stmt(r#""Effect":"Allow","Principal":{"AWS":"xyz"},"Action":"s3:*","Resource":"*""#), Resource,
            r#"Invalid principal in policy: "AWS":"xyz""#),
        ("wildcard in a principal ARN", stmt(r#""Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"sts:AssumeRole""#), Trust,
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*""#),
        ("invalid service principal", stmt(r#""Effect":"Allow","Principal":{"Service":"amazonaws.com"},"Action":"sts:AssumeRole""#), Trust,
            r#"Invalid principal in policy: "SERVICE":"amazonaws.com""#),
        ("invalid principal in a list", stmt(r#""Effect":"Allow","Principal":{"AWS":["111122223333","12"]},"Action":"s3:*","Resource":"*""#), Resource,
            r#"Invalid principal in policy: "AWS":"12""#),
        // Trust policies.
        ("trust policy with Resource", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["route53:ChangeResourceRecordSets"],"Resource":["arn:aws:route53:::hostedzone/*"]}]}"#.into(), Trust,
            "Has prohibited field Resource"),
        ("trust policy with NotResource", stmt(r#""Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","NotResource":"*""#), Trust,
            "Has prohibited field NotResource"),
        ("trust policy with NotPrincipal", stmt(r#""Effect":"Deny","NotPrincipal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole""#), Trust,
            "Has prohibited field NotPrincipal"),
        ("trust policy with a non-STS action", stmt(r#""Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole","s3:GetObject"]"#), Trust,
            "AssumeRole policy may only specify STS AssumeRole actions."),
        ("trust policy with no action", stmt(r#""Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"}"#), Trust,
            "Policy statement must contain actions."),
    ];
    let refs: Vec<(&str, &str, PolicyKind, &str)> = cases
        .iter()
        .map(|(n, d, k, m)| (*n, d.as_str(), *k, *m))
        .collect();
    check_errors(&refs);
}

#[test]
fn error_locations() {
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
        {"Effect":"Permit","Action":"s3:GetObject","Resource":"*"}]}"#;
    let e = parse(doc, Identity).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::Syntax);
    assert_eq!(e.statement(), Some(1));
    assert_eq!(e.field(), Some("Effect"));
    assert_eq!(
        e.diagnostic(),
        r#"Syntax errors in policy. (statement 1, field Effect: effect "Permit" is neither Allow nor Deny)"#
    );

    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
        {"Effect":"Allow","NotAction":"s3:Get:Object","Resource":"*"}]}"#;
    let e = parse(doc, Identity).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::InvalidAction);
    assert_eq!((e.statement(), e.field()), (Some(2), Some("NotAction")));

    let e = parse(
        &stmt(r#""Effect":"Allow","Action":"s3:*","Resource":"*","Bogus":1"#),
        Identity,
    )
    .unwrap_err();
    assert_eq!((e.statement(), e.field()), (Some(0), Some("Bogus")));
    assert!(e.detail().unwrap().contains("unknown statement field"));

    let e = parse(
        &stmt(r#""Effect":"Allow","Principal":{"AWS":"xyz"},"Action":"s3:*","Resource":"*""#),
        Resource,
    )
    .unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::InvalidPrincipal);
    assert_eq!(e.field(), Some("Principal"));

    let e = parse("nope", Identity).unwrap_err();
    assert_eq!(e.statement(), None);
    assert!(
        e.diagnostic()
            .starts_with("Syntax errors in policy. (invalid json")
    );
}

#[test]
fn invalid_principal_constructor() {
    let e =
        berth_policy::PolicyError::invalid_principal("AWS", "arn:aws:iam::111122223333:role/gone");
    assert_eq!(
        e.message(),
        r#"Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:role/gone""#
    );
    assert_eq!(e.kind(), PolicyErrorKind::InvalidPrincipal);
    let e = berth_policy::PolicyError::invalid_principal("Service", "tagging.amazonaws.com");
    assert_eq!(
        e.message(),
        r#"Invalid principal in policy: "SERVICE":"tagging.amazonaws.com""#
    );
}

#[test]
fn valid_documents() {
    let cases: Vec<(&str, String, PolicyKind)> = vec![
        ("resource list", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket"]"#), Identity),
        ("odd action name", stmt(r#""Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"arn:aws:s3:::b""#), Identity),
        ("resource list with *", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::b","*"]"#), Identity),
        ("action *", stmt(r#""Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b""#), Identity),
        ("statement array", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}"#.into(), Identity),
        ("no version", r#"{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}"#.into(), Identity),
        ("2008 version", r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}"#.into(), Identity),
        ("date window", stmt(r#""Effect":"Allow","Action":"service-prefix:action-name","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}"#), Identity),
        ("unknown service in an ARN", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:us-east-1::example_bucket""#), Identity),
        ("short ARN", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf""#), Identity),
        ("iam user ARN", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::user/example_bucket""#), Identity),
        ("empty condition", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{}"#), Identity),
        ("unknown operator with empty block", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"x":{},"y":{}}"#), Identity),
        ("empty condition value list", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"DateGreaterThan":{"a":[]}}"#), Identity),
        ("set qualifier with IfExists", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"ForAnyValue:StringEqualsIfExists":{"a":"asf"}}"#), Identity),
        ("odd but valid dates", stmt(r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"DateGreaterThan":{"a":["01T","2016-12-13T21:20:37.593194+00:00","2016-12-13t2:00:00.593194+23","-292275054"]}}"#), Identity),
        ("bool, number and list values", stmt(r#""Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10},"StringEquals":{"a":["x",1,false]}}"#), Identity),
        ("NotAction with NotResource", stmt(r#""Effect":"Allow","NotAction":"s3:ListBucket","NotResource":"*""#), Identity),
        ("empty sid and repeated empty sids", r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(), Identity),
        ("variables", stmt(r#""Effect":"Allow","Action":"iam:ChangePassword","Resource":"arn:aws:iam::*:user/${aws:username}""#), Identity),
        ("principal star", stmt(r#""Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*""#), Resource),
        ("principal forms", stmt(r#""Effect":"Allow","Principal":{"AWS":["*","111122223333","arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/a","arn:aws:iam::111122223333:role/p/r","arn:aws:sts::111122223333:assumed-role/r/s","arn:aws:sts::111122223333:federated-user/f","AROAEXAMPLEID1234567"],"Service":["ecs-tasks.amazonaws.com","s3.amazonaws.com.cn"],"Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:*","Resource":"*""#), Resource),
        ("NotPrincipal deny", stmt(r#""Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]},"Action":"s3:*","Resource":["arn:aws:s3:::BUCKETNAME","arn:aws:s3:::BUCKETNAME/*"]"#), Resource),
        ("resource policy without Resource", stmt(r#""Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue""#), Resource),
        ("resource policy sids are free-form and may repeat", r#"{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}"#.into(), Resource),
        ("ECS trust policy", r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111122223333:*"},"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}"#.into(), Trust),
        ("trust: AWS * and sts actions", stmt(r#""Effect":"Allow","Principal":{"AWS":"*"},"Action":["sts:AssumeRole","sts:TagSession","STS:SetSourceIdentity"]"#), Trust),
        ("trust: SAML federation", stmt(r#""Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/idp"},"Action":"sts:AssumeRoleWithSAML""#), Trust),
    ];
    let mut failures = Vec::new();
    for (name, doc, kind) in &cases {
        if let Err(e) = parse(doc, *kind) {
            failures.push(format!("{name}: {}", e.diagnostic()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parsed_policy_accessors() {
    let text = "{\n  \"Version\": \"2012-10-17\", \"Id\": \"p1\",\n  \"Statement\": {\"Sid\": \"One\", \"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}\n}\n";
    let p = parse(text, Identity).unwrap();
    assert_eq!(p.text(), text, "the document is kept verbatim");
    assert_eq!(p.kind(), Identity);
    assert_eq!(p.version(), Some("2012-10-17"));
    assert!(p.supports_variables());
    assert_eq!(p.id(), Some("p1"));
    assert_eq!(p.statements().len(), 1);
    assert_eq!(p.statements()[0].sid(), Some("One"));
    assert_eq!(p.statements()[0].effect(), Effect::Deny);

    let p = parse(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        Identity,
    )
    .unwrap();
    assert_eq!(p.version(), None);
    assert!(!p.supports_variables());

    let trust = parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","111122223333","arn:aws:iam::111122223333:role/R","*"],"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/u"},"Action":"sts:AssumeRole"}]}"#,
        Trust,
    )
    .unwrap();
    assert_eq!(
        trust.principal_arns(),
        vec![
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:iam::444455556666:user/u"
        ]
    );
}
