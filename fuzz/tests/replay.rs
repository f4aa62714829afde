//! Stable-toolchain fallback for the fuzz targets: replays every file in `seeds/<target>/`
//! (committed starting inputs), `corpus/<target>/` (what libFuzzer found; not committed) and
//! `regressions/<target>/` (inputs that once failed), then runs a bounded random-input loop
//! (seeded mutations of those files and of built-in seeds) for `BERTH_FUZZ_SECONDS` seconds
//! per target (default 2).
//! `cargo test --release` in `fuzz/`; a panic is a finding, printed with its input in hex.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

fn seeds(target: &str, builtin: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = builtin.iter().map(|s| s.to_vec()).collect();
    for dir in ["seeds", "corpus", "regressions"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        if let Ok(entries) = std::fs::read_dir(&d) {
            let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                if let Ok(data) = std::fs::read(&f) {
                    out.push(data);
                }
            }
        }
    }
    out
}

/// xorshift64*: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"",
    b"\0",
    b"=",
    b"&",
    b",",
    b"/",
    b"*",
    b"?",
    b"%",
    b"%zz",
    b"%00",
    b"..",
    b"\xff",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"-1",
    b"4294967296",
    b"1e999",
    b"${",
    b"}",
    b".member.",
    b".member.0",
    b".member.4294967295.",
    b"AWS4-HMAC-SHA256 ",
    b"Credential=",
    b"SignedHeaders=",
    b"Signature=",
    b"aws4_request",
    b"\xc3\xa9",
    b" ",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                let j = (i + rng.below(16)).min(v.len());
                v.drain(i..j);
            }
            2 => {
                let i = rng.below(v.len() + 1);
                let ins = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(i..i, ins.iter().copied());
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                let j = (i + rng.below(32)).min(v.len());
                let chunk = v[i..j].to_vec();
                let k = rng.below(v.len() + 1);
                v.splice(k..k, chunk);
            }
            4 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            _ => {}
        }
    }
    v.truncate(64 * 1024);
    v
}

fn budget() -> Duration {
    let secs = std::env::var("BERTH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

fn run(target: &str, builtin: &[&[u8]], f: fn(&[u8])) {
    let seeds = seeds(target, builtin);
    for s in &seeds {
        check(target, f, s);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget() {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        check(target, f, &input);
        n += 1;
    }
    eprintln!(
        "{target}: {} seeds replayed, {n} random inputs in {:.1}s ({:.0}/s)",
        seeds.len(),
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64().max(1e-9)
    );
}

fn check(target: &str, f: fn(&[u8]), input: &[u8]) {
    let owned = input.to_vec();
    let result = std::panic::catch_unwind(move || f(&owned));
    if result.is_err() {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!("{target} panicked on input (hex) {hex}");
    }
}

#[test]
fn sigv4() {
    run(
        "sigv4",
        &[
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\x0020150830T123600Z\x00/\x00Param2=value2&Param1=value1\x00\x00\x00",
            b"AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/sts/aws4_request,SignedHeaders=host;x-amz-date;my-header,Signature=00\x0020261129T000000Z\x00/a/../b//c/%2F\x00a=%20&b\x00My-Header\x00  x   y  \x00body",
        ],
        berth_fuzz::sigv4,
    );
}

#[test]
fn query_params() {
    run(
        "query_params",
        &[
            b"Action=CreateRole&Version=2010-05-08&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c",
            b"Action=GetCallerIdentity&Version=2011-06-15&PolicyArns.member.2=x&PolicyArns.member.1=y&PolicyArns.member.0=z",
        ],
        berth_fuzz::query_params,
    );
}

#[test]
fn json_router() {
    run(
        "json_router",
        &[
            b"\x00{\"Name\":\"a\",\"SecretString\":\"v\"}",
            b"\x01{\"SecretId\":\"a\"}",
            b"\x14{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\",\"memory\":64}]}",
            b"\x0b{}",
            b"\x0c{\"KeyId\":\"alias/x\",\"Plaintext\":\"aGVsbG8=\"}",
            b"\x19{\"taskDefinition\":\"f\"}",
        ],
        berth_fuzz::json_router,
    );
}

#[test]
fn policy() {
    run(
        "policy",
        &[
            br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"arn:aws:secretsmanager:*:111122223333:secret:db-??????","Condition":{"StringLike":{"aws:username":"${aws:username}"}}}]}"#,
            br#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":["iam:*"],"NotResource":"*","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}}"#,
        ],
        berth_fuzz::policy,
    );
}

#[test]
fn query_router() {
    run(
        "query_router",
        &[
            b"\x00Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=a&Tags.member.1.Value=b",
            b"\x01Action=GetCallerIdentity&Version=2011-06-15",
        ],
        berth_fuzz::query_router,
    );
}

#[test]
fn console_signin() {
    run(
        "console_signin",
        &[b"berth_console_signin=t\x00\x00signin=t&access_key_id=AKIAFUZZROOT00000001&secret=x&region=us-east-1"],
        berth_fuzz::console_signin,
    );
}

#[test]
fn console_forms() {
    run(
        "console_forms",
        &[b"berth_console=a; b=c\x00http://h\x00h\x00same-origin\x00a=1&b=%20"],
        berth_fuzz::console_forms,
    );
}

#[test]
fn asm_secret() {
    run(
        "asm_secret",
        &[br#"{"username":"u","password":"p"}"#],
        berth_fuzz::asm_secret,
    );
}

#[test]
fn engine_auth() {
    run(
        "engine_auth",
        &[b"docker\x00{\"reg.example.com\":{\"username\":\"u\",\"password\":\"p\"}}\x00reg.example.com/app"],
        berth_fuzz::engine_auth,
    );
}
