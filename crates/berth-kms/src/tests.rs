#![allow(clippy::unwrap_used)]

use super::*;
use berth_store::SqliteStore;

const A: &str = "000000000000";
const B: &str = "111122223333";
const R: &str = "us-east-1";

fn setup() -> (SqliteStore, RootKey) {
    (SqliteStore::in_memory().unwrap(), RootKey::generate())
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn create_resolve_and_default_policy() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 100, NewKey::default()).unwrap();
    assert_eq!(k.arn, format!("arn:aws:kms:{R}:{A}:key/{}", k.key_id));
    assert_eq!(k.policy, default_key_policy(A));
    assert!(validate_policy(&k.policy).is_ok());
    assert_eq!(kms.resolve(A, R, &k.key_id, 100).unwrap().arn, k.arn);
    assert_eq!(kms.resolve(B, R, &k.arn, 100).unwrap().key_id, k.key_id);
    // A bare id is the caller's own account.
    assert!(matches!(
        kms.resolve(B, R, &k.key_id, 100),
        Err(KmsError::NotFound(m)) if m == format!("Key 'arn:aws:kms:{R}:{B}:key/{}' does not exist", k.key_id)
    ));
    assert!(matches!(
        kms.resolve(A, R, "nonsense", 100),
        Err(KmsError::NotFound(m)) if m == "Invalid keyId 'nonsense'"
    ));
    // Another region's ARN does not resolve here.
    assert!(matches!(
        kms.resolve(A, "eu-west-1", &k.arn, 100),
        Err(KmsError::NotFound(m)) if m == "Invalid arn us-east-1"
    ));
}

#[test]
fn aliases() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    kms.create_alias("alias/app", &k, 1).unwrap();
    assert_eq!(kms.resolve(A, R, "alias/app", 1).unwrap().key_id, k.key_id);
    let alias_arn = format!("arn:aws:kms:{R}:{A}:alias/app");
    assert_eq!(kms.resolve(B, R, &alias_arn, 1).unwrap().key_id, k.key_id);
    assert!(matches!(
        kms.create_alias("alias/app", &k, 1),
        Err(KmsError::AlreadyExists(m)) if m == format!("An alias with the name {alias_arn} already exists")
    ));
    assert!(matches!(
        kms.create_alias("alias/aws/mine", &k, 1),
        Err(KmsError::ReservedAlias)
    ));
    assert!(matches!(
        kms.create_alias("app", &k, 1),
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        kms.create_alias("alias/bad name", &k, 1),
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        kms.resolve(A, R, "alias/none", 1),
        Err(KmsError::NotFound(m)) if m == format!("Alias arn:aws:kms:{R}:{A}:alias/none is not found.")
    ));
    let page = kms.list_aliases(A, R, None, 10, None, 1).unwrap();
    assert_eq!(page.items.len(), 1);
    kms.delete_alias(A, R, "alias/app").unwrap();
    assert!(matches!(
        kms.delete_alias(A, R, "alias/app"),
        Err(KmsError::NotFound(_))
    ));
}

#[test]
fn encrypt_decrypt_and_context_binding() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k1 = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    let k2 = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    let c = ctx(&[("purpose", "test")]);
    let blob = kms.encrypt(&k1, b"attack at dawn", &c).unwrap();
    assert!(!blob.windows(6).any(|w| w == b"attack"));
    let owner = kms.key_of_blob(R, &blob, 1).unwrap();
    assert_eq!(owner.key_id, k1.key_id);
    assert_eq!(
        kms.decrypt(&owner, &blob, &c).unwrap().as_slice(),
        b"attack at dawn"
    );
    assert!(matches!(
        kms.decrypt(&owner, &blob, &EncryptionContext::new()),
        Err(KmsError::InvalidCiphertext)
    ));
    assert!(matches!(
        kms.decrypt(&k2, &blob, &c),
        Err(KmsError::IncorrectKey)
    ));
    assert!(matches!(
        kms.key_of_blob(R, b"not a blob at all, certainly not", 1),
        Err(KmsError::InvalidCiphertext)
    ));
    assert!(matches!(
        kms.encrypt(&k1, &[0u8; 4097], &c),
        Err(KmsError::Validation(_))
    ));
    // The material never appears in the stored record in the clear.
    let stored: Key = s
        .read(|tx| get_json(tx, KEYS, &format!("{A}/{R}/{}", k1.key_id)))
        .unwrap()
        .unwrap();
    assert_ne!(stored.sealed_material, "");
    // A root key other than the one that sealed the material cannot use the key.
    let other_root = RootKey::generate();
    let kms2 = Kms::new(&s, &other_root);
    assert!(matches!(
        kms2.decrypt(&owner, &blob, &c),
        Err(KmsError::Seal(_))
    ));
}

#[test]
fn states() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    let c = EncryptionContext::new();
    let blob = kms.encrypt(&k, b"x", &c).unwrap();
    let k = kms.disable_key(&k, 1).unwrap();
    assert!(matches!(kms.encrypt(&k, b"x", &c), Err(KmsError::Disabled(a)) if a == k.arn));
    assert!(matches!(
        kms.decrypt(&k, &blob, &c),
        Err(KmsError::Disabled(_))
    ));
    let k = kms.enable_key(&k, 1).unwrap();
    assert!(kms.decrypt(&k, &blob, &c).is_ok());
    assert!(matches!(
        kms.schedule_deletion(&k, 6, 1),
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        kms.schedule_deletion(&k, 31, 1),
        Err(KmsError::Validation(_))
    ));
    let k = kms.schedule_deletion(&k, 7, 1).unwrap();
    assert_eq!(k.state, KeyState::PendingDeletion);
    assert_eq!(k.deletion_date, Some(1 + 7 * 86_400));
    assert!(matches!(
        kms.encrypt(&k, b"x", &c),
        Err(KmsError::InvalidState(m)) if m == format!("{} is pending deletion.", k.arn)
    ));
    assert!(matches!(
        kms.enable_key(&k, 1),
        Err(KmsError::InvalidState(_))
    ));
    let k = kms.cancel_deletion(&k, 2).unwrap();
    assert_eq!(k.state, KeyState::Disabled);
    assert!(matches!(
        kms.cancel_deletion(&k, 2),
        Err(KmsError::InvalidState(_))
    ));
    // Past its deletion date a key is gone.
    let k = kms.schedule_deletion(&k, 7, 10).unwrap();
    assert!(kms.resolve(A, R, &k.key_id, 10 + 7 * 86_400).is_err());
    assert!(kms.resolve(A, R, &k.key_id, 10 + 7 * 86_400 - 1).is_ok());
}

#[test]
fn data_keys() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    let c = ctx(&[("SecretARN", "x")]);
    let (plain, blob) = kms.generate_data_key(&k, 32, &c).unwrap();
    assert_eq!(plain.len(), 32);
    assert_eq!(
        kms.decrypt(&k, &blob, &c).unwrap().as_slice(),
        plain.as_slice()
    );
    assert!(kms.generate_data_key(&k, 0, &c).is_err());
    assert!(kms.generate_data_key(&k, 1025, &c).is_err());
    assert!(kms.generate_data_key(&k, 1024, &c).is_ok());
}

#[test]
fn secrets_manager_key_is_made_once() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.resolve(A, R, SECRETS_MANAGER_ALIAS, 1).unwrap();
    assert_eq!(k.manager, KeyManager::Aws);
    assert_eq!(k.description, SECRETS_MANAGER_KEY_DESCRIPTION);
    assert!(validate_policy(&k.policy).is_ok(), "{}", k.policy);
    let again = kms.secrets_manager_key(A, R, 2).unwrap();
    assert_eq!(again.key_id, k.key_id);
    // Another region gets its own.
    let other = kms.secrets_manager_key(A, "eu-west-1", 2).unwrap();
    assert_ne!(other.key_id, k.key_id);
    // Another account cannot make or see this account's by alias ARN before it exists.
    let arn = format!("arn:aws:kms:{R}:{B}:alias/aws/secretsmanager");
    assert!(kms.resolve(A, R, &arn, 1).is_err());
    assert!(matches!(
        kms.delete_alias(A, R, SECRETS_MANAGER_ALIAS),
        Err(KmsError::ReservedAlias)
    ));
}

#[test]
fn policies_and_tags_and_listing() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    assert!(matches!(
        kms.create_key(
            A,
            R,
            1,
            NewKey {
                policy: Some("{not json".into()),
                ..NewKey::default()
            }
        ),
        Err(KmsError::MalformedPolicy(_))
    ));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(kms.create_key(A, R, 1, NewKey::default()).unwrap().key_id);
    }
    ids.sort();
    let p1 = kms.list_keys(A, R, 2, None, 1).unwrap();
    assert_eq!(p1.items.len(), 2);
    let p2 = kms
        .list_keys(A, R, 2, p1.next_marker.as_deref(), 1)
        .unwrap();
    let p3 = kms
        .list_keys(A, R, 2, p2.next_marker.as_deref(), 1)
        .unwrap();
    assert!(p3.next_marker.is_none());
    let got: Vec<String> = p1
        .items
        .iter()
        .chain(&p2.items)
        .chain(&p3.items)
        .map(|k| k.key_id.clone())
        .collect();
    assert_eq!(got, ids);
    assert!(kms.list_keys(B, R, 10, None, 1).unwrap().items.is_empty());
    let k = kms.resolve(A, R, &ids[0], 1).unwrap();
    let k = kms
        .tag_key(
            &k,
            &[Tag {
                key: "team".into(),
                value: "a".into(),
            }],
            1,
        )
        .unwrap();
    let k = kms
        .tag_key(
            &k,
            &[Tag {
                key: "team".into(),
                value: "b".into(),
            }],
            1,
        )
        .unwrap();
    assert_eq!(k.tags.len(), 1);
    assert_eq!(k.tags[0].value, "b");
    let k = kms.put_policy(&k, &default_key_policy(B), 1).unwrap();
    assert_eq!(k.policy, default_key_policy(B));
    assert!(matches!(
        kms.put_policy(&k, "[]", 1),
        Err(KmsError::MalformedPolicy(_))
    ));
}

/// The default key policy of account `A`, padded with white space to `len` bytes.
fn policy_of_len(len: usize) -> String {
    let mut p = default_key_policy(A);
    let pad = len - p.len();
    p.push_str(&" ".repeat(pad));
    p
}

#[test]
fn key_policies_are_held_to_the_32_kb_quota_and_the_model() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 1, NewKey::default()).unwrap();
    // Up to 32,768 bytes: accepted; one more: LimitExceeded.
    let k = kms
        .put_policy(&k, &policy_of_len(MAX_POLICY_BYTES), 2)
        .unwrap();
    assert_eq!(k.policy.len(), MAX_POLICY_BYTES);
    assert!(matches!(
        kms.put_policy(&k, &policy_of_len(MAX_POLICY_BYTES + 1), 3),
        Err(KmsError::PolicyTooLarge)
    ));
    assert!(matches!(
        kms.create_key(
            A,
            R,
            4,
            NewKey {
                policy: Some(policy_of_len(MAX_POLICY_BYTES + 1)),
                ..NewKey::default()
            }
        ),
        Err(KmsError::PolicyTooLarge)
    ));
    // The stored policy is the last one that fit.
    let kept = kms.resolve(A, R, &k.key_id, 5).unwrap();
    assert_eq!(kept.policy.len(), MAX_POLICY_BYTES);
    // Over the model's 131,072 characters: ValidationException, before the quota.
    let e = validate_policy(&policy_of_len(POLICY_MEMBER_MAX + 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 131072"
    );
    let e = validate_policy("").unwrap_err();
    assert!(matches!(e, KmsError::Validation(_)), "{e:?}");
    // Characters past U+00FF are outside the model's pattern.
    let e = check_policy_member(&default_key_policy(A).replace("Enable", "Enable\u{263a}"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
    );
}

#[test]
fn rotation_keeps_older_material_for_decryption() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 100, NewKey::default()).unwrap();
    let before = kms.encrypt(&k, b"old", &ctx(&[("a", "b")])).unwrap();
    assert!(kms.enable_rotation(&k, Some(89), 100).is_err());
    let k = kms.enable_rotation(&k, Some(90), 100).unwrap();
    assert_eq!(k.rotation_period_days, Some(90));
    let r = kms.rotate(&k, "ON_DEMAND", 200).unwrap();
    assert_ne!(r.material_id, k.material_id);
    assert_eq!(r.rotations.len(), 1);
    let after = kms.encrypt(&r, b"new", &ctx(&[])).unwrap();
    assert_eq!(
        kms.decrypt(&r, &before, &ctx(&[("a", "b")]))
            .unwrap()
            .as_slice(),
        b"old"
    );
    assert_eq!(
        kms.decrypt(&r, &after, &ctx(&[])).unwrap().as_slice(),
        b"new"
    );
    assert!(kms.decrypt(&r, &before, &ctx(&[])).is_err());
    // Automatic rotation happens once due.
    let due = r.next_rotation.unwrap();
    assert_eq!(
        kms.rotate_if_due(r.clone(), due - 1)
            .unwrap()
            .rotations
            .len(),
        1
    );
    let auto = kms.rotate_if_due(r, due).unwrap();
    assert_eq!(auto.rotations.last().unwrap().kind, "AUTOMATIC");
    assert!(auto.next_rotation.unwrap() > due);
}

#[test]
fn grants_by_name_token_and_id() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms.create_key(A, R, 100, NewKey::default()).unwrap();
    let new = || NewGrant {
        name: Some("n".into()),
        grantee: format!("arn:aws:iam::{A}:user/bob"),
        operations: vec!["Decrypt".into()],
        ..NewGrant::default()
    };
    let (g1, t1) = kms.create_grant(&k, new(), 100).unwrap();
    let (g2, t2) = kms.create_grant(&k, new(), 101).unwrap();
    assert_eq!(g1.grant_id, g2.grant_id);
    assert_ne!(t1, t2);
    assert_eq!(kms.grant_by_token(&t2).unwrap(), g1);
    assert_eq!(kms.grant(&k, &g1.grant_id).unwrap(), g1);
    assert_eq!(
        kms.list_grants(&k, None, None, 50, None)
            .unwrap()
            .items
            .len(),
        1
    );
    kms.delete_grant(&g1).unwrap();
    assert!(kms.grant_by_token(&t1).is_err());
    assert!(kms.grants_of(&k).unwrap().is_empty());
}

#[test]
fn asymmetric_keys_refuse_symmetric_operations() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let k = kms
        .create_key_of(
            A,
            R,
            100,
            NewKey::default(),
            ("ECC_NIST_P256", "SIGN_VERIFY"),
        )
        .unwrap();
    assert!(matches!(
        kms.encrypt(&k, b"x", &ctx(&[])),
        Err(KmsError::InvalidKeyUsage(m)) if m.ends_with("key usage is SIGN_VERIFY which is not valid for Encrypt.")
    ));
    let what = Signed {
        message: b"m",
        message_type: "RAW",
        algorithm: "ECDSA_SHA_256",
    };
    let sig = kms.sign(&k, what).unwrap();
    assert!(kms.verify(&k, what, &sig).is_ok());
    assert!(matches!(
        kms.verify(
            &k,
            Signed {
                message: b"n",
                ..what
            },
            &sig
        ),
        Err(KmsError::InvalidSignature)
    ));
    assert!(key_spec_and_usage(Some("ECC_NIST_P256"), Some("ENCRYPT_DECRYPT")).is_err());
    assert_eq!(
        key_spec_and_usage(Some("HMAC_256"), None).unwrap(),
        ("HMAC_256".to_string(), "GENERATE_VERIFY_MAC".to_string())
    );
}

#[test]
fn imported_material_expires_and_must_come_back_the_same() {
    use rsa::pkcs8::DecodePublicKey;
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let spec = ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    let new = NewKey {
        external: true,
        ..NewKey::default()
    };
    let k = kms.create_key_of(A, R, 100, new, spec).unwrap();
    assert_eq!(
        (k.state, k.origin.as_str()),
        (KeyState::PendingImport, "EXTERNAL")
    );
    assert!(kms.encrypt(&k, b"x", &ctx(&[])).is_err());
    let wrap = |k: &Key, material: &[u8], now: u64| {
        let p = kms
            .parameters_for_import(k, "RSAES_OAEP_SHA_256", "RSA_2048", now)
            .unwrap();
        let public = rsa::PublicKey::from_public_key_der(&p.public_key).unwrap();
        let c = public.oaep_encrypt::<sha2::Sha256>(material).unwrap();
        (p.token, c)
    };
    let material = [5u8; 32];
    let (token, c) = wrap(&k, &material, 100);
    let expires = Imported {
        valid_to: Some(200),
        expiration_model: Some("KEY_MATERIAL_EXPIRES".into()),
        import_type: None,
    };
    // The token is good for 24 hours.
    let late = Imported {
        valid_to: Some(100 + 86_400 + 100),
        ..expires.clone()
    };
    assert!(matches!(
        kms.import_material(&k, &token, &c, &late, 100 + 86_400),
        Err(KmsError::ExpiredImportToken)
    ));
    let k = kms.import_material(&k, &token, &c, &expires, 150).unwrap();
    assert_eq!(k.state, KeyState::Enabled);
    let blob = kms.encrypt(&k, b"secret", &ctx(&[])).unwrap();
    // At ValidTo the material is gone.
    let later = kms.resolve(A, R, &k.key_id, 200).unwrap();
    assert_eq!(later.state, KeyState::PendingImport);
    assert!(kms.decrypt(&later, &blob, &ctx(&[])).is_err());
    // Other material is refused; the same material brings the ciphertext back.
    let (token, c) = wrap(&later, &[6u8; 32], 300);
    let forever = Imported {
        expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
        ..Imported::default()
    };
    assert!(matches!(
        kms.import_material(&later, &token, &c, &forever, 300),
        Err(KmsError::IncorrectKeyMaterial(_))
    ));
    let (token, c) = wrap(&later, &material, 300);
    let back = kms
        .import_material(&later, &token, &c, &forever, 300)
        .unwrap();
    assert_eq!(back.material_id, k.material_id);
    assert_eq!(
        kms.decrypt(&back, &blob, &ctx(&[])).unwrap().as_slice(),
        b"secret"
    );
}

#[test]
fn a_replica_shares_material_and_follows_rotation() {
    let (s, root) = setup();
    let kms = Kms::new(&s, &root);
    let new = NewKey {
        key_id: Some(new_multi_region_key_id()),
        multi_region: true,
        ..NewKey::default()
    };
    let primary = kms
        .create_key_of(A, R, 100, new, ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"))
        .unwrap();
    assert!(primary.key_id.starts_with("mrk-"));
    let replica = kms
        .replicate(&primary, "us-west-2", NewKey::default(), 100)
        .unwrap();
    assert!(matches!(
        kms.replicate(&primary, "us-west-2", NewKey::default(), 100),
        Err(KmsError::AlreadyExists(_))
    ));
    let set = kms.multi_region_set(&replica, 100).unwrap().unwrap();
    assert_eq!(
        (set.primary.as_str(), set.replicas.clone()),
        (R, vec!["us-west-2".to_string()])
    );
    let blob = kms.encrypt(&primary, b"hi", &ctx(&[])).unwrap();
    let found = kms.key_of_blob("us-west-2", &blob, 100).unwrap();
    assert_eq!(found.arn, replica.arn);
    assert_eq!(
        kms.decrypt(&found, &blob, &ctx(&[])).unwrap().as_slice(),
        b"hi"
    );
    // A rotation of the primary reaches the replica.
    let rotated = kms.rotate(&primary, "ON_DEMAND", 200).unwrap();
    let replica = kms.resolve(A, "us-west-2", &replica.arn, 200).unwrap();
    assert_eq!(replica.material_id, rotated.material_id);
    let blob = kms.encrypt(&rotated, b"after", &ctx(&[])).unwrap();
    assert_eq!(
        kms.decrypt(&replica, &blob, &ctx(&[])).unwrap().as_slice(),
        b"after"
    );
    kms.update_primary(&primary, "us-west-2", 200).unwrap();
    assert!(kms.is_replica(&primary, 200).unwrap());
    assert!(!kms.is_replica(&replica, 200).unwrap());
}
