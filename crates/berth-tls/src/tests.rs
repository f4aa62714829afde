#![allow(clippy::unwrap_used)]

//! Fixtures in `testdata/`: a test CA (P-256) and two leaves it signed for 127.0.0.1 and
//! localhost, valid for a century; the CA's key is not kept.

use std::io::Write;
use std::path::PathBuf;

use rustls::{ClientConnection, ServerConnection};

use super::*;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/testdata")
        .join(name)
}

/// Runs a handshake in memory; `Ok` with the leaf the client saw.
fn handshake(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: &str,
) -> Result<CertificateDer<'static>, rustls::Error> {
    let mut c = ClientConnection::new(client, server_name(name).unwrap())?;
    let mut s = ServerConnection::new(server)?;
    for _ in 0..10 {
        let mut buf = Vec::new();
        c.write_tls(&mut buf).unwrap();
        s.read_tls(&mut buf.as_slice()).unwrap();
        s.process_new_packets()?;
        let mut buf = Vec::new();
        s.write_tls(&mut buf).unwrap();
        c.read_tls(&mut buf.as_slice()).unwrap();
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(c.peer_certificates().unwrap()[0].clone().into_owned());
        }
    }
    panic!("the handshake did not finish");
}

fn copy_to(dir: &Path, from: &str, to: &str) -> PathBuf {
    let path = dir.join(to);
    std::fs::copy(data(from), &path).unwrap();
    path
}

#[test]
fn a_client_trusting_the_ca_file_accepts_the_server_and_checks_its_name() {
    let cert = ServerCert::load(&data("leaf-a.pem"), &data("leaf-a.key")).unwrap();
    let client = client_config(Some(&data("ca.pem"))).unwrap();
    let leaf = handshake(client.clone(), cert.server_config().unwrap(), "127.0.0.1").unwrap();
    assert_eq!(fingerprint(&leaf), cert.fingerprint());
    assert!(handshake(client.clone(), cert.server_config().unwrap(), "localhost").is_ok());
    // A name the certificate does not hold.
    let e = handshake(client, cert.server_config().unwrap(), "127.0.0.2").unwrap_err();
    assert!(matches!(e, rustls::Error::InvalidCertificate(_)), "{e:?}");
}

#[test]
fn a_client_without_the_ca_refuses_the_server() {
    let cert = ServerCert::load(&data("leaf-a.pem"), &data("leaf-a.key")).unwrap();
    // The machine's store alone (if it has one) does not hold the test CA.
    if let Ok(client) = client_config(None) {
        let e = handshake(client, cert.server_config().unwrap(), "127.0.0.1").unwrap_err();
        assert!(matches!(e, rustls::Error::InvalidCertificate(_)), "{e:?}");
    } else {
        assert!(matches!(client_config(None), Err(TlsError::NoRoots)));
    }
}

#[test]
fn reload_swaps_the_pair_and_a_bad_file_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let cert_path = copy_to(dir.path(), "leaf-a.pem", "cert.pem");
    let key_path = copy_to(dir.path(), "leaf-a.key", "key.pem");
    let cert = ServerCert::load(&cert_path, &key_path).unwrap();
    let a = cert.fingerprint();
    let own = cert.self_client_config().unwrap();
    let server = cert.server_config().unwrap();
    assert_eq!(
        fingerprint(&handshake(own.clone(), server.clone(), "x.invalid").unwrap()),
        a
    );

    copy_to(dir.path(), "leaf-b.pem", "cert.pem");
    copy_to(dir.path(), "leaf-b.key", "key.pem");
    let b = cert.reload().unwrap();
    assert_ne!(a, b);
    // The same server configuration serves the new leaf; the self-trusting client follows it.
    assert_eq!(
        fingerprint(&handshake(own.clone(), server.clone(), "127.0.0.1").unwrap()),
        b
    );

    // A key that is not the certificate's: refused, the pair in use stays.
    copy_to(dir.path(), "leaf-a.key", "key.pem");
    let e = cert.reload().unwrap_err();
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("does not belong to the certificate"));
    // Garbage, and a missing file.
    std::fs::File::create(&cert_path)
        .unwrap()
        .write_all(b"not a certificate\n")
        .unwrap();
    let e = cert.reload().unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
    std::fs::remove_file(&cert_path).unwrap();
    assert!(matches!(cert.reload(), Err(TlsError::Read { .. })));
    assert_eq!(cert.fingerprint(), b);
    assert_eq!(
        fingerprint(&handshake(own, server, "127.0.0.1").unwrap()),
        b
    );
}

#[test]
fn the_self_trusting_client_refuses_any_other_certificate() {
    let ours = ServerCert::load(&data("leaf-a.pem"), &data("leaf-a.key")).unwrap();
    let theirs = ServerCert::load(&data("leaf-b.pem"), &data("leaf-b.key")).unwrap();
    let e = handshake(
        ours.self_client_config().unwrap(),
        theirs.server_config().unwrap(),
        "127.0.0.1",
    )
    .unwrap_err();
    assert!(matches!(e, rustls::Error::InvalidCertificate(_)), "{e:?}");
}

#[test]
fn bad_files_at_start_say_what_is_wrong() {
    let e = ServerCert::load(&data("missing.pem"), &data("leaf-a.key")).unwrap_err();
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    // Certificate and key swapped.
    let e = ServerCert::load(&data("leaf-a.key"), &data("leaf-a.pem")).unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
    let e = ServerCert::load(&data("leaf-a.pem"), &data("leaf-a.pem")).unwrap_err();
    assert!(matches!(e, TlsError::NoKey { .. }), "{e}");
    assert!(matches!(
        client_config(Some(&data("leaf-a.key"))),
        Err(TlsError::NoCertificate { .. })
    ));
}

#[test]
fn server_names() {
    assert_eq!(server_name("127.0.0.1:4599").unwrap().to_str(), "127.0.0.1");
    assert_eq!(server_name("[::1]:4599").unwrap().to_str(), "::1");
    assert_eq!(server_name("::1").unwrap().to_str(), "::1");
    assert_eq!(
        server_name("berth.example.com").unwrap().to_str(),
        "berth.example.com"
    );
    assert!(server_name("bad name:1").is_err());
}
