//! Parameter Store domain errors. Each `Display` text is AWS's message where berth knows it;
//! `berth-control`'s `codes.rs` gives each variant its AWS code.

use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SsmError {
    /// `ParameterNotFound`: AWS answers GetParameter and DeleteParameter of a missing
    /// parameter with an empty message.
    #[error("")]
    NotFound,
    /// `ParameterAlreadyExists`.
    #[error(
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."
    )]
    AlreadyExists,
    /// `ParameterVersionNotFound`.
    #[error(
        "Systems Manager could not find version {version} of {name}. Verify the version and try again."
    )]
    VersionNotFound { name: String, version: String },
    /// `ParameterVersionLabelLimitExceeded` (AWS's exact text is not known to berth).
    #[error(
        "A parameter version can have maximum 10 labels. Move one or more labels to another version and try again."
    )]
    LabelLimit,
    /// `ParameterMaxVersionLimitExceeded`: the oldest of 100 versions carries a label.
    #[error(
        "You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again."
    )]
    MaxVersions { name: String, version: u64 },
    /// `HierarchyLevelLimitExceededException` (the model's words).
    #[error("A hierarchy can have a maximum of 15 levels.")]
    HierarchyLevel,
    /// `HierarchyTypeMismatchException` (the model's words).
    #[error(
        "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter."
    )]
    TypeMismatch,
    /// `ParameterPatternMismatchException`: the value does not match AllowedPattern.
    #[error("Parameter value, cannot be validated against allowedPattern: {0}")]
    PatternMismatch(String),
    /// `InvalidAllowedPatternException`: AllowedPattern is not a regular expression.
    #[error("{0}")]
    InvalidAllowedPattern(String),
    /// `ValidationException`.
    #[error("{0}")]
    Validation(String),
    /// `AccessDeniedException`: a name under the reserved `/aws` hierarchy.
    #[error("No access to reserved parameter name: {0}.")]
    Reserved(String),
    /// `InvalidFilterKey`.
    #[error("{0}")]
    InvalidFilterKey(String),
    /// `InvalidFilterOption`.
    #[error("{0}")]
    InvalidFilterOption(String),
    /// `InvalidFilterValue`.
    #[error("{0}")]
    InvalidFilterValue(String),
    /// `InvalidKeyId`: the KMS key of a SecureString cannot be used (KMS's reason).
    #[error("{0}")]
    InvalidKeyId(String),
    /// `InvalidNextToken`.
    #[error("The specified token isn't valid.")]
    InvalidNextToken,
    /// `TooManyTagsError`: more than 50 tags on a parameter (AWS sends no message).
    #[error("")]
    TooManyTags,
    /// `InvalidResourceId`: no such parameter to tag (AWS sends no message).
    #[error("")]
    InvalidResourceId,
    /// `InvalidResourceType`: a resource type other than `Parameter` (AWS sends no message).
    #[error("")]
    InvalidResourceType,
    #[error(transparent)]
    Store(#[from] StoreError),
}
