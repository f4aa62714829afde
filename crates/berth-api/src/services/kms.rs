//! AWS Key Management Service (JSON 1.1, target prefix `TrentService`): each operation's
//! typed input is decoded from the body, its use case in `berth_control::kms` runs, and its
//! typed output is encoded.

use berth_control::kms as uc;

use crate::error::WireError;
use crate::services::Ctx;
use crate::services::json::call;

/// Runs one operation on the request body; `None` when there is no such operation.
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, body: &[u8]) -> Option<Result<Vec<u8>, WireError>> {
    Some(match operation {
        "CreateKey" => call(body, |i| uc::create_key(ctx, i)),
        "DescribeKey" => call(body, |i| uc::describe_key(ctx, i)),
        "ListKeys" => call(body, |i| uc::list_keys(ctx, i)),
        "EnableKey" => call(body, |i| uc::enable_key(ctx, i)),
        "DisableKey" => call(body, |i| uc::disable_key(ctx, i)),
        "ScheduleKeyDeletion" => call(body, |i| uc::schedule_key_deletion(ctx, i)),
        "CancelKeyDeletion" => call(body, |i| uc::cancel_key_deletion(ctx, i)),
        "CreateAlias" => call(body, |i| uc::create_alias(ctx, i)),
        "DeleteAlias" => call(body, |i| uc::delete_alias(ctx, i)),
        "ListAliases" => call(body, |i| uc::list_aliases(ctx, i)),
        "GetKeyPolicy" => call(body, |i| uc::get_key_policy(ctx, i)),
        "PutKeyPolicy" => call(body, |i| uc::put_key_policy(ctx, i)),
        "Encrypt" => call(body, |i| uc::encrypt(ctx, i)),
        "Decrypt" => call(body, |i| uc::decrypt(ctx, i)),
        "GenerateDataKey" => call(body, |i| uc::generate_data_key(ctx, i)),
        "GenerateDataKeyWithoutPlaintext" => {
            call(body, |i| uc::generate_data_key_without_plaintext(ctx, i))
        }
        "ReEncrypt" => call(body, |i| uc::re_encrypt(ctx, i)),
        "TagResource" => call(body, |i| uc::tag_resource(ctx, i)),
        "UpdateAlias" => call(body, |i| uc::update_alias(ctx, i)),
        "UpdateKeyDescription" => call(body, |i| uc::update_key_description(ctx, i)),
        "ListKeyPolicies" => call(body, |i| uc::list_key_policies(ctx, i)),
        "ListResourceTags" => call(body, |i| uc::list_resource_tags(ctx, i)),
        "UntagResource" => call(body, |i| uc::untag_resource(ctx, i)),
        "GenerateRandom" => call(body, |i| uc::generate_random(ctx, i)),
        "EnableKeyRotation" => call(body, |i| uc::enable_key_rotation(ctx, i)),
        "DisableKeyRotation" => call(body, |i| uc::disable_key_rotation(ctx, i)),
        "GetKeyRotationStatus" => call(body, |i| uc::get_key_rotation_status(ctx, i)),
        "RotateKeyOnDemand" => call(body, |i| uc::rotate_key_on_demand(ctx, i)),
        "ListKeyRotations" => call(body, |i| uc::list_key_rotations(ctx, i)),
        "DescribeCustomKeyStores" => call(body, |i| uc::describe_custom_key_stores(ctx, i)),
        "ConnectCustomKeyStore" => call(body, |i| uc::connect_custom_key_store(ctx, i)),
        "DisconnectCustomKeyStore" => call(body, |i| uc::disconnect_custom_key_store(ctx, i)),
        "DeleteCustomKeyStore" => call(body, |i| uc::delete_custom_key_store(ctx, i)),
        "UpdateCustomKeyStore" => call(body, |i| uc::update_custom_key_store(ctx, i)),
        "CreateCustomKeyStore" => call(body, |i| uc::create_custom_key_store(ctx, i)),
        "Sign" => call(body, |i| uc::sign(ctx, i)),
        "Verify" => call(body, |i| uc::verify(ctx, i)),
        "GetPublicKey" => call(body, |i| uc::get_public_key(ctx, i)),
        "GenerateMac" => call(body, |i| uc::generate_mac(ctx, i)),
        "VerifyMac" => call(body, |i| uc::verify_mac(ctx, i)),
        "GenerateDataKeyPair" => call(body, |i| uc::generate_data_key_pair(ctx, i)),
        "GenerateDataKeyPairWithoutPlaintext" => call(body, |i| {
            uc::generate_data_key_pair_without_plaintext(ctx, i)
        }),
        "CreateGrant" => call(body, |i| uc::create_grant(ctx, i)),
        "ListGrants" => call(body, |i| uc::list_grants(ctx, i)),
        "ListRetirableGrants" => call(body, |i| uc::list_retirable_grants(ctx, i)),
        "RetireGrant" => call(body, |i| uc::retire_grant(ctx, i)),
        "RevokeGrant" => call(body, |i| uc::revoke_grant(ctx, i)),
        "GetParametersForImport" => call(body, |i| uc::get_parameters_for_import(ctx, i)),
        "ImportKeyMaterial" => call(body, |i| uc::import_key_material(ctx, i)),
        "DeleteImportedKeyMaterial" => call(body, |i| uc::delete_imported_key_material(ctx, i)),
        "ReplicateKey" => call(body, |i| uc::replicate_key(ctx, i)),
        "UpdatePrimaryRegion" => call(body, |i| uc::update_primary_region(ctx, i)),
        "DeriveSharedSecret" => call(body, |i| uc::derive_shared_secret(ctx, i)),
        "Encapsulate" => call(body, |i| uc::encapsulate(ctx, i)),
        "Decapsulate" => call(body, |i| uc::decapsulate(ctx, i)),
        "GetKeyLastUsage" => call(body, |i| uc::get_key_last_usage(ctx, i)),
        _ => return None,
    })
}
