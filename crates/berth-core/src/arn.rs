//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

use std::fmt;

/// A parsed ARN. The resource part keeps any `/` or `:` it contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("arn must start with 'arn:'")]
    MissingPrefix,
    #[error("arn must have six colon-separated parts")]
    TooFewParts,
    #[error("arn has an empty partition or service")]
    EmptyPart,
}

impl Arn {
    /// Parses `arn:partition:service:region:account:resource`.
    pub fn parse(s: &str) -> Result<Arn, ArnError> {
        let rest = s.strip_prefix("arn:").ok_or(ArnError::MissingPrefix)?;
        let mut parts = rest.splitn(5, ':');
        let mut next = || parts.next().ok_or(ArnError::TooFewParts);
        let partition = next()?.to_string();
        let service = next()?.to_string();
        let region = next()?.to_string();
        let account = next()?.to_string();
        let resource = next()?.to_string();
        if partition.is_empty() || service.is_empty() {
            return Err(ArnError::EmptyPart);
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// Builds an ARN in the `aws` partition.
    pub fn aws(service: &str, region: &str, account: &str, resource: impl Into<String>) -> Arn {
        Arn {
            partition: "aws".into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_colons_in_resource() {
        let s = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db/pass-AbCdEf";
        let arn = Arn::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arn.service, "secretsmanager");
        assert_eq!(arn.account, "111122223333");
        assert_eq!(arn.resource, "secret:db/pass-AbCdEf");
        assert_eq!(arn.to_string(), s);
    }

    #[test]
    fn iam_arn_has_empty_region() {
        let arn = Arn::parse("arn:aws:iam::000000000000:root").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arn.region, "");
        assert_eq!(arn.resource, "root");
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Arn::parse("aws:iam::1:root"), Err(ArnError::MissingPrefix));
        assert_eq!(Arn::parse("arn:aws:iam"), Err(ArnError::TooFewParts));
        assert_eq!(Arn::parse("arn::iam::1:root"), Err(ArnError::EmptyPart));
    }
}
