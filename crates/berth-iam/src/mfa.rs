//! Virtual MFA devices: their seeds (sealed under the root key), assignment to users with two
//! consecutive TOTP codes (RFC 6238: HMAC-SHA1, 30-second steps, six digits), resync, tags.

use base64::Engine;
use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::cred_error::CredError;
use crate::entity::{self, ListOptions, Page, Tag, paginate};
use crate::policies;
use crate::{Iam, IamError, User};

/// Store table of virtual MFA devices, keyed by `{account}/{path}{name}` as the serial
/// number's resource (lowercased: names are unique without regard to case).
pub(crate) const VIRTUAL_MFA: &str = "iam_virtual_mfa";
/// The most MFA devices a user has.
pub const MFA_DEVICES_PER_USER: usize = 8;
/// The seed's length: 40 bytes, 64 base32 characters (as AWS's seeds are).
const SEED_LEN: usize = 40;
/// TOTP's time step.
const STEP_SECS: u64 = 30;
/// How many steps either side of now EnableMFADevice accepts (AWS's window is not documented).
const ENABLE_WINDOW: u64 = 10;
/// How many steps either side of now ResyncMFADevice searches (AWS's is not documented).
const RESYNC_WINDOW: u64 = 120;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDevice {
    account: String,
    path: String,
    name: String,
    /// base64 of the seed sealed under the root key, the serial number as context.
    sealed_seed: String,
    created_at: u64,
    /// The user's id and when the device was enabled for it.
    user_id: Option<String>,
    enable_date: Option<u64>,
    #[serde(default)]
    tags: Vec<Tag>,
    /// The last time step whose code opened a session: a code opens one session only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_step: Option<u64>,
}

impl StoredDevice {
    fn serial(&self) -> String {
        entity::iam_arn(&self.account, "mfa", &self.path, &self.name)
    }
}

/// A virtual MFA device as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMfaDevice {
    pub serial_number: String,
    pub user: Option<User>,
    pub enable_date: Option<u64>,
    pub tags: Vec<Tag>,
}

/// A device just made: the only time its seed is shown.
pub struct NewVirtualMfa {
    pub device: VirtualMfaDevice,
    /// The seed in base32 (RFC 4648, no padding), as authenticator apps take it.
    pub base32_seed: zeroize::Zeroizing<String>,
    /// A PNG of the QR code of `otpauth://totp/NAME@ACCOUNT?secret=SEED`.
    pub qr_code_png: Vec<u8>,
}

/// How many steps either side of now a session's code may be from (AWS's window is not
/// documented).
const SESSION_WINDOW: u64 = 1;

/// The outcome of checking a session's MFA code ([`Iam::check_session_mfa`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMfa {
    /// The code is the device's for now, not used before: the session has MFA.
    Passed,
    /// The serial number names no device of the user's.
    NotTheUsers,
    /// The code is not the device's for now, or was already used.
    WrongCode,
}

/// An MFA device assigned to a user (ListMFADevices, GetMFADevice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDevice {
    pub user_name: String,
    pub serial_number: String,
    pub enable_date: u64,
}

fn seal_context(serial: &str) -> Vec<u8> {
    format!("berth:mfa-seed:{serial}").into_bytes()
}

/// RFC 4648 base32, no padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The six-digit TOTP code of `seed` for time step `counter` (RFC 6238 over RFC 4226).
pub fn totp(seed: &[u8], counter: u64) -> String {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(seed) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h.get(19).copied().unwrap_or(0) & 0x0f);
    let word = h
        .get(offset..offset + 4)
        .map(|w| u32::from_be_bytes([w[0] & 0x7f, w[1], w[2], w[3]]))
        .unwrap_or(0);
    format!("{:06}", word % 1_000_000)
}

/// Whether `code1`, `code2` are the codes of two consecutive steps within `window` steps of
/// `now`.
fn consecutive(seed: &[u8], code1: &str, code2: &str, now: u64, window: u64) -> bool {
    let center = now / STEP_SECS;
    (center.saturating_sub(window)..=center + window)
        .any(|t| totp(seed, t) == code1 && totp(seed, t + 1) == code2)
}

/// The store key of a device from its serial number (its ARN), when the serial number is a
/// virtual device's of `account`.
fn device_key(account: &str, serial: &str) -> Result<String, IamError> {
    let rest = serial
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_prefix(account))
        .and_then(|r| r.strip_prefix(":mfa/"))
        .filter(|r| !r.is_empty());
    match rest {
        Some(r) => Ok(format!("{account}//{}", r.to_ascii_lowercase())),
        None => Err(CredError::NoSuchVirtualMfa(serial.to_string()).into()),
    }
}

fn load_device(tx: &dyn Tx, account: &str, serial: &str) -> Result<StoredDevice, IamError> {
    get_json(tx, VIRTUAL_MFA, &device_key(account, serial)?)?
        .ok_or_else(|| CredError::NoSuchVirtualMfa(serial.to_string()).into())
}

fn store_device(tx: &dyn Tx, d: &StoredDevice) -> Result<(), IamError> {
    put_json(tx, VIRTUAL_MFA, &device_key(&d.account, &d.serial())?, d)?;
    Ok(())
}

fn devices(tx: &dyn Tx, account: &str) -> Result<Vec<StoredDevice>, IamError> {
    Ok(
        scan_json::<StoredDevice>(tx, VIRTUAL_MFA, &format!("{account}//"))?
            .into_iter()
            .map(|(_, d)| d)
            .collect(),
    )
}

fn users_by_id(tx: &dyn Tx, account: &str) -> Result<Vec<User>, IamError> {
    Ok(
        scan_json::<User>(tx, entity::USERS, &entity::account_prefix(account))?
            .into_iter()
            .map(|(_, u)| u)
            .collect(),
    )
}

/// Whether the user has an MFA device (for the credential report).
pub(crate) fn has_device(tx: &dyn Tx, account: &str, user: &User) -> Result<bool, IamError> {
    Ok(devices(tx, account)?
        .iter()
        .any(|d| d.user_id.as_deref() == Some(user.id.as_str())))
}

/// Refuses to delete a user that still has an MFA device.
pub(crate) fn check_none_left(tx: &dyn Tx, account: &str, user: &User) -> Result<(), IamError> {
    if devices(tx, account)?
        .iter()
        .any(|d| d.user_id.as_deref() == Some(user.id.as_str()))
    {
        return Err(CredError::MfaLeft.into());
    }
    Ok(())
}

/// A QR code of `text` as a PNG: black modules on white, 4 pixels a module, a 4-module margin.
fn qr_png(text: &str) -> Vec<u8> {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return Vec::new();
    };
    let width = code.width();
    let colors = code.to_colors();
    let (scale, margin) = (4usize, 4usize);
    let side = (width + 2 * margin) * scale;
    let mut raw = Vec::with_capacity((side + 1) * side);
    for y in 0..side {
        raw.push(0u8); // filter: none
        for x in 0..side {
            let (mx, my) = (x / scale, y / scale);
            let dark = mx >= margin
                && my >= margin
                && mx < width + margin
                && my < width + margin
                && colors.get((my - margin) * width + (mx - margin)) == Some(&qrcode::Color::Dark);
            raw.push(if dark { 0 } else { 255 });
        }
    }
    png_gray(side as u32, side as u32, &raw)
}

/// An 8-bit greyscale PNG of `raw` (rows, each led by its filter byte), zlib with stored blocks.
fn png_gray(width: u32, height: u32, raw: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

impl Iam<'_> {
    fn open_seed(&self, d: &StoredDevice) -> Result<zeroize::Zeroizing<Vec<u8>>, IamError> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&d.sealed_seed)
            .map_err(|_| berth_core::SealError::BadFormat)?;
        Ok(self.root_key.open(&seal_context(&d.serial()), &sealed)?)
    }

    fn view(&self, tx: &dyn Tx, d: StoredDevice) -> Result<VirtualMfaDevice, IamError> {
        let user = match &d.user_id {
            Some(id) => users_by_id(tx, &d.account)?
                .into_iter()
                .find(|u| &u.id == id),
            None => None,
        };
        Ok(VirtualMfaDevice {
            serial_number: d.serial(),
            user,
            enable_date: d.enable_date,
            tags: d.tags,
        })
    }

    /// Makes a virtual MFA device with a new seed.
    pub fn create_virtual_mfa_device(
        &self,
        account: &str,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
        now: u64,
    ) -> Result<NewVirtualMfa, IamError> {
        let path = path.unwrap_or("/");
        entity::check_entity_path(path)?;
        entity::check_distinct_tags(&tags)?;
        let mut seed = zeroize::Zeroizing::new(vec![0u8; SEED_LEN]);
        berth_core::ids::random_bytes(&mut seed);
        let serial = entity::iam_arn(account, "mfa", path, name);
        let sealed = self.root_key.seal(&seal_context(&serial), &seed);
        let d = StoredDevice {
            account: account.to_string(),
            path: path.to_string(),
            name: name.to_string(),
            sealed_seed: base64::engine::general_purpose::STANDARD.encode(sealed),
            created_at: now,
            user_id: None,
            enable_date: None,
            tags,
            last_used_step: None,
        };
        self.store.write(|tx| {
            if get_json::<StoredDevice>(tx, VIRTUAL_MFA, &device_key(account, &serial)?)?.is_some()
            {
                return Err(CredError::VirtualMfaExists.into());
            }
            store_device(tx, &d)
        })?;
        let base32_seed = zeroize::Zeroizing::new(base32(&seed));
        let qr_code_png = qr_png(&format!(
            "otpauth://totp/{name}@{account}?secret={}",
            base32_seed.as_str()
        ));
        Ok(NewVirtualMfa {
            device: VirtualMfaDevice {
                serial_number: serial,
                user: None,
                enable_date: None,
                tags: d.tags,
            },
            base32_seed,
            qr_code_png,
        })
    }

    /// Assigns a virtual device to a user after checking two consecutive codes.
    pub fn enable_mfa_device(
        &self,
        account: &str,
        user_name: &str,
        serial: &str,
        code1: &str,
        code2: &str,
        now: u64,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let mut d = load_device(tx, account, serial)?;
            if d.user_id.is_some() {
                return Err(CredError::MfaInUse.into());
            }
            let held = devices(tx, account)?
                .iter()
                .filter(|x| x.user_id.as_deref() == Some(user.id.as_str()))
                .count();
            if held >= MFA_DEVICES_PER_USER {
                return Err(CredError::MfaQuota.into());
            }
            let seed = self.open_seed(&d)?;
            if !consecutive(&seed, code1, code2, now, ENABLE_WINDOW) {
                return Err(CredError::InvalidAuthenticationCode.into());
            }
            d.user_id = Some(user.id);
            d.enable_date = Some(now);
            store_device(tx, &d)
        })
    }

    /// Checks one code of the user's device for a session (GetSessionToken, AssumeRole): the
    /// code of the current time step or one either side, and of a later step than the last
    /// code that opened a session (a code is used once).
    pub fn check_session_mfa(
        &self,
        account: &str,
        user_name: &str,
        serial: &str,
        code: &str,
        now: u64,
    ) -> Result<SessionMfa, IamError> {
        self.store.write(|tx| {
            let Some(user) = get_json::<User>(tx, entity::USERS, &entity::key(account, user_name))?
            else {
                return Ok(SessionMfa::NotTheUsers);
            };
            let Ok(mut d) = self.assigned(tx, account, &user, serial) else {
                return Ok(SessionMfa::NotTheUsers);
            };
            let seed = self.open_seed(&d)?;
            let center = now / STEP_SECS;
            let step = (center.saturating_sub(SESSION_WINDOW)..=center + SESSION_WINDOW)
                .find(|t| totp(&seed, *t) == code);
            match step {
                Some(t) if d.last_used_step.is_none_or(|last| t > last) => {
                    d.last_used_step = Some(t);
                    store_device(tx, &d)?;
                    Ok(SessionMfa::Passed)
                }
                _ => Ok(SessionMfa::WrongCode),
            }
        })
    }

    /// Checks two consecutive codes against a user's device over a wide window (the device's
    /// clock may have drifted); berth keeps no per-device offset, so nothing else changes.
    pub fn resync_mfa_device(
        &self,
        account: &str,
        user_name: &str,
        serial: &str,
        code1: &str,
        code2: &str,
        now: u64,
    ) -> Result<(), IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let d = self.assigned(tx, account, &user, serial)?;
            let seed = self.open_seed(&d)?;
            if !consecutive(&seed, code1, code2, now, RESYNC_WINDOW) {
                return Err(CredError::InvalidAuthenticationCode.into());
            }
            Ok(())
        })
    }

    fn assigned(
        &self,
        tx: &dyn Tx,
        account: &str,
        user: &User,
        serial: &str,
    ) -> Result<StoredDevice, IamError> {
        let not_found = || IamError::from(CredError::NoSuchMfa(serial.to_string()));
        let d = load_device(tx, account, serial).map_err(|_| not_found())?;
        if d.user_id.as_deref() != Some(user.id.as_str()) {
            return Err(not_found());
        }
        Ok(d)
    }

    /// Takes a device from its user; the device remains, unassigned.
    pub fn deactivate_mfa_device(
        &self,
        account: &str,
        user_name: Option<&str>,
        serial: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut d = match user_name {
                Some(name) => {
                    let user: User = policies::load(tx, account, name)?;
                    self.assigned(tx, account, &user, serial)?
                }
                None => load_device(tx, account, serial)
                    .ok()
                    .filter(|d| d.user_id.is_some())
                    .ok_or_else(|| CredError::NoSuchMfa(serial.to_string()))?,
            };
            d.user_id = None;
            d.enable_date = None;
            store_device(tx, &d)
        })
    }

    /// Deletes an unassigned virtual device.
    pub fn delete_virtual_mfa_device(&self, account: &str, serial: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let d = load_device(tx, account, serial)?;
            if d.user_id.is_some() {
                return Err(CredError::MfaStillAssigned.into());
            }
            tx.delete(VIRTUAL_MFA, &device_key(account, serial)?)?;
            Ok(())
        })
    }

    /// One device: its user (when assigned) and tags.
    pub fn virtual_mfa_device(
        &self,
        account: &str,
        serial: &str,
    ) -> Result<VirtualMfaDevice, IamError> {
        self.store.read(|tx| {
            let d = load_device(tx, account, serial)?;
            self.view(tx, d)
        })
    }

    /// The devices of a user, by serial number.
    pub fn list_mfa_devices(
        &self,
        account: &str,
        user_name: &str,
        opts: ListOptions<'_>,
    ) -> Result<Page<MfaDevice>, IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let items = devices(tx, account)?
                .into_iter()
                .filter(|d| d.user_id.as_deref() == Some(user.id.as_str()))
                .map(|d| {
                    let serial = d.serial();
                    (
                        serial.clone(),
                        MfaDevice {
                            user_name: user.name.clone(),
                            serial_number: serial,
                            enable_date: d.enable_date.unwrap_or(d.created_at),
                        },
                    )
                })
                .collect();
            Ok(paginate(items, opts))
        })
    }

    /// The account's virtual devices, by serial number; `assigned`: only those assigned
    /// (`Some(true)`) or not (`Some(false)`).
    pub fn list_virtual_mfa_devices(
        &self,
        account: &str,
        assigned: Option<bool>,
        opts: ListOptions<'_>,
    ) -> Result<Page<VirtualMfaDevice>, IamError> {
        self.store.read(|tx| {
            let mut items = Vec::new();
            for d in devices(tx, account)? {
                if assigned.is_some_and(|a| a != d.user_id.is_some()) {
                    continue;
                }
                let serial = d.serial();
                items.push((serial, self.view(tx, d)?));
            }
            Ok(paginate(items, opts))
        })
    }

    pub fn tag_mfa_device(
        &self,
        account: &str,
        serial: &str,
        tags: Vec<Tag>,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut d = load_device(tx, account, serial)?;
            entity::merge_tags(&mut d.tags, tags)?;
            store_device(tx, &d)
        })
    }

    pub fn untag_mfa_device(
        &self,
        account: &str,
        serial: &str,
        keys: &[String],
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let mut d = load_device(tx, account, serial)?;
            entity::remove_tags(&mut d.tags, keys);
            store_device(tx, &d)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewUser;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits → last 6 here.
        let seed = b"12345678901234567890";
        assert_eq!(totp(seed, 59 / 30), "287082");
        assert_eq!(totp(seed, 1_111_111_109 / 30), "081804");
        assert_eq!(totp(seed, 2_000_000_000 / 30), "279037");
    }

    #[test]
    fn base32_of_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(&[0u8; 40]).len(), 64);
    }

    #[test]
    fn png_is_well_formed() {
        let png = qr_png("otpauth://totp/x@1?secret=ABC");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&crc32(b"IEND").to_be_bytes()));
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn devices_enable_with_two_consecutive_codes() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("ann"), 1).unwrap();
        let d = iam
            .create_virtual_mfa_device(A, "ann-phone", None, vec![], 1)
            .unwrap();
        assert_eq!(
            d.device.serial_number,
            format!("arn:aws:iam::{A}:mfa/ann-phone")
        );
        assert_eq!(d.base32_seed.len(), 64);
        assert!(matches!(
            iam.create_virtual_mfa_device(A, "ANN-phone", None, vec![], 1),
            Err(IamError::Cred(CredError::VirtualMfaExists))
        ));
        let seed = store
            .read(|tx| load_device(tx, A, &d.device.serial_number))
            .unwrap();
        assert!(!seed.sealed_seed.contains(d.base32_seed.as_str()));
        let seed = iam.open_seed(&seed).unwrap();
        let now = 1_700_000_000;
        let t = now / 30;
        let serial = d.device.serial_number.clone();
        assert!(matches!(
            iam.enable_mfa_device(A, "ann", &serial, &totp(&seed, t), &totp(&seed, t + 2), now),
            Err(IamError::Cred(CredError::InvalidAuthenticationCode))
        ));
        iam.enable_mfa_device(A, "ann", &serial, &totp(&seed, t), &totp(&seed, t + 1), now)
            .unwrap();
        assert!(matches!(
            iam.delete_virtual_mfa_device(A, &serial),
            Err(IamError::Cred(CredError::MfaStillAssigned))
        ));
        assert!(matches!(
            iam.delete_user(A, "ann"),
            Err(IamError::Cred(CredError::MfaLeft))
        ));
        let listed = iam
            .list_mfa_devices(A, "ann", ListOptions::default())
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        iam.resync_mfa_device(
            A,
            "ann",
            &serial,
            &totp(&seed, t + 50),
            &totp(&seed, t + 51),
            now,
        )
        .unwrap();
        assert_eq!(
            iam.list_virtual_mfa_devices(A, Some(false), ListOptions::default())
                .unwrap()
                .items
                .len(),
            0
        );
        iam.deactivate_mfa_device(A, Some("ann"), &serial).unwrap();
        iam.delete_virtual_mfa_device(A, &serial).unwrap();
        iam.delete_user(A, "ann").unwrap();
    }

    #[test]
    fn a_session_code_is_the_users_device_code_of_now_used_once() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user(A, NewUser::named("ann"), 1).unwrap();
        iam.create_user(A, NewUser::named("bob"), 1).unwrap();
        let d = iam
            .create_virtual_mfa_device(A, "ann-phone", None, vec![], 1)
            .unwrap();
        let serial = d.device.serial_number.clone();
        let seed = store.read(|tx| load_device(tx, A, &serial)).unwrap();
        let seed = iam.open_seed(&seed).unwrap();
        let now = 1_700_000_000;
        let t = now / 30;
        let check = |user: &str, code: &str| iam.check_session_mfa(A, user, &serial, code, now);
        // Not assigned yet: not the user's.
        assert_eq!(
            check("ann", &totp(&seed, t)).unwrap(),
            SessionMfa::NotTheUsers
        );
        iam.enable_mfa_device(
            A,
            "ann",
            &serial,
            &totp(&seed, t - 5),
            &totp(&seed, t - 4),
            now,
        )
        .unwrap();
        assert_eq!(
            check("bob", &totp(&seed, t)).unwrap(),
            SessionMfa::NotTheUsers
        );
        assert_eq!(
            check("nobody", &totp(&seed, t)).unwrap(),
            SessionMfa::NotTheUsers
        );
        assert_eq!(
            check("ann", &totp(&seed, t + 2)).unwrap(),
            SessionMfa::WrongCode
        );
        assert_eq!(check("ann", &totp(&seed, t)).unwrap(), SessionMfa::Passed);
        // Used once; an earlier step is no longer accepted, a later one is.
        assert_eq!(
            check("ann", &totp(&seed, t)).unwrap(),
            SessionMfa::WrongCode
        );
        assert_eq!(
            check("ann", &totp(&seed, t - 1)).unwrap(),
            SessionMfa::WrongCode
        );
        assert_eq!(
            check("ann", &totp(&seed, t + 1)).unwrap(),
            SessionMfa::Passed
        );
    }
}
