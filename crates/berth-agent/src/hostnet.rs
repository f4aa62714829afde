//! The address `169.254.170.2` on this host, where task containers reach the task endpoint.
//!
//! berth puts the address on a dummy interface of its own, `berth-ecs0`:
//!
//! ```text
//! ip link add berth-ecs0 type dummy
//! ip addr add 169.254.170.2/32 dev berth-ecs0
//! ip link set berth-ecs0 up
//! ```
//!
//! The address is then local to the host: a container on Docker's default bridge, a
//! user-defined network or a Fargate task's network sends to it through its gateway, and the
//! host delivers the packet to the endpoint's socket with the container's own source address
//! (which the endpoint checks). Nothing leaves the machine, no firewall rule is touched, and
//! undoing it is one `ip link del`. (The ECS agent instead enables `route_localnet` and DNATs
//! the address to `127.0.0.1:51679` with iptables; that rewrites the firewall, and the
//! endpoint would see every caller after NAT.)
//!
//! The `ip` command (iproute2) makes the changes: it is present wherever Docker runs, needs no
//! new dependency, and each step is the one `docs/task-roles.md` shows for doing it by hand.
//! Where the kernel has no dummy interfaces (inside some containers), the address goes on `lo`
//! with the label `lo:berth`. An address already on the host (another berth, or an earlier run
//! killed before it cleaned up) is used as it is. On a clean stop berth removes berth's own
//! (`berth-ecs0`, or the address labelled `lo:berth`) unless another process still listens on
//! the address (a second berth on this host): the last one to stop removes it. An address
//! someone else put there stays.

use std::net::Ipv4Addr;
use std::process::Command;

/// The task endpoint's address.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
/// The dummy interface berth makes for it.
pub const INTERFACE: &str = "berth-ecs0";
/// The label of the address when it goes on `lo` (no dummy interfaces in this kernel).
pub const LO_LABEL: &str = "lo:berth";

/// What berth added to the host's network (removed by [`HostNet::teardown`]).
#[derive(Debug)]
pub struct HostNet {
    /// berth made its interface.
    added_link: bool,
    /// berth put the address on this device.
    added_address: Option<String>,
}

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running `ip {}`: {e} (install iproute2)", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `169.254.170.2` is on one of the host's interfaces.
pub fn address_present() -> Result<bool, String> {
    let out = ip(&["-o", "-4", "addr", "show", "to", "169.254.170.2/32"])?;
    Ok(!out.trim().is_empty())
}

/// Whether berth's interface exists.
pub fn interface_present() -> bool {
    ip(&["-o", "link", "show", "dev", INTERFACE]).is_ok()
}

/// One finding of [`check`]: whether it is fine, what was found, and the fix when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCheck {
    pub ok: bool,
    pub reason: String,
    pub fix: Option<String>,
}

/// What the task endpoint needs on this host (`berth doctor --host`): the `ip` command, and
/// `169.254.170.2` on the host or the right to add it (root).
pub fn check() -> Vec<HostCheck> {
    let present = match address_present() {
        Ok(p) => p,
        Err(e) => {
            return vec![HostCheck {
                ok: false,
                reason: format!(
                    "{e}: berth cannot put 169.254.170.2 on this host, and tasks with a task role are not placed on its agent"
                ),
                fix: Some(
                    "install iproute2 (`apt-get install iproute2`), then restart berth".into(),
                ),
            }];
        }
    };
    let root = is_root();
    let address = if present {
        HostCheck {
            ok: true,
            reason: "169.254.170.2 is on this host".into(),
            fix: None,
        }
    } else if root {
        HostCheck {
            ok: true,
            reason: format!(
                "169.254.170.2 is not on this host yet: berth adds it (on {INTERFACE}, or lo) when it starts and removes it when it stops"
            ),
            fix: None,
        }
    } else {
        HostCheck {
            ok: false,
            reason: "169.254.170.2 is not on this host and berth runs without root: tasks with a task role are not placed on its agent, and fail on its Fargate capacity".into(),
            fix: Some(format!(
                "run berth as root, or add the address once as root:\nip link add {INTERFACE} type dummy && ip addr add 169.254.170.2/32 dev {INTERFACE} && ip link set {INTERFACE} up\n(and give berth the right to listen on port 80: setcap cap_net_bind_service=+ep $(command -v berth))"
            )),
        }
    };
    vec![address]
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

impl HostNet {
    /// Makes `169.254.170.2` local to this host (reusing it when it already is): on berth's
    /// dummy interface, or on `lo` where the kernel has no dummy interfaces (a container
    /// without the module).
    pub fn setup() -> Result<HostNet, String> {
        if address_present()? {
            tracing::info!("169.254.170.2 is already on this host; using it");
            return Ok(HostNet {
                added_link: false,
                added_address: None,
            });
        }
        let mut added = HostNet {
            added_link: false,
            added_address: None,
        };
        let device = if interface_present() {
            INTERFACE
        } else {
            match ip(&["link", "add", INTERFACE, "type", "dummy"]) {
                Ok(_) => {
                    added.added_link = true;
                    INTERFACE
                }
                Err(e) => {
                    tracing::info!(error = %e, "no dummy interface; 169.254.170.2 goes on lo");
                    "lo"
                }
            }
        };
        // On `lo` the address carries berth's label, so a berth that finds it left behind
        // knows it for its own.
        let mut add = vec!["addr", "add", "169.254.170.2/32", "dev", device];
        if device == "lo" {
            add.extend(["label", LO_LABEL]);
        }
        let result = ip(&add)
            .map(|_| added.added_address = Some(device.to_string()))
            .and_then(|()| {
                if device == INTERFACE {
                    ip(&["link", "set", INTERFACE, "up"]).map(|_| ())
                } else {
                    Ok(())
                }
            });
        match result {
            Ok(()) => {
                tracing::info!(device, "added 169.254.170.2 on this host");
                Ok(added)
            }
            Err(e) => {
                added.teardown(&[]);
                Err(e)
            }
        }
    }

    /// Takes berth's interface as this process's to remove on a clean stop even when it was
    /// there already (left by a berth that was killed): the process serving the endpoint's
    /// port owns it.
    pub fn adopt(&mut self) {
        if self.added_link || self.added_address.is_some() {
            return;
        }
        if interface_present() {
            self.added_link = true;
        } else if berths_address_on_lo() {
            self.added_address = Some("lo".to_string());
        }
    }

    /// Removes what [`HostNet::setup`] added (or [`HostNet::adopt`] took), unless another
    /// process still serves on the address (a second berth on this host, on a port of its
    /// own): then the address stays, and the last berth to stop removes berth's own
    /// (`berth-ecs0`, or the address labelled `lo:berth`). `own_ports` are this process's
    /// listening ports on the address, which may not be closed yet.
    pub fn teardown(self, own_ports: &[u16]) {
        if let Some(port) = other_listener(own_ports) {
            tracing::info!(
                port,
                "169.254.170.2 stays on this host: another process serves on it"
            );
            return;
        }
        let result = if self.added_link || interface_present() {
            ip(&["link", "del", INTERFACE])
        } else if self.added_address.is_some() || berths_address_on_lo() {
            let device = self.added_address.as_deref().unwrap_or("lo");
            ip(&["addr", "del", "169.254.170.2/32", "dev", device])
        } else {
            return;
        };
        match result {
            Ok(_) => tracing::info!("removed 169.254.170.2 from this host"),
            Err(e) => tracing::warn!(error = %e, "could not remove 169.254.170.2"),
        }
    }
}

/// Whether the address on `lo` is berth's (labelled `lo:berth`).
fn berths_address_on_lo() -> bool {
    ip(&["-o", "-4", "addr", "show", "dev", "lo", "label", LO_LABEL])
        .is_ok_and(|out| out.contains("169.254.170.2/32"))
}

/// A TCP port some socket listens on at 169.254.170.2 other than `own_ports`, from
/// `/proc/net/tcp` (none when it cannot be read).
fn other_listener(own_ports: &[u16]) -> Option<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    listeners_on_address(&table)
        .into_iter()
        .find(|p| !own_ports.contains(p))
}

/// The ports listening on 169.254.170.2 in a `/proc/net/tcp` table: its local address is the
/// address's four bytes as a host-order (little-endian) hex number, then `:PORT` in hex; state
/// `0A` is LISTEN.
fn listeners_on_address(table: &str) -> Vec<u16> {
    let want = format!("{:08X}", u32::from_le_bytes(ADDRESS.octets()));
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let (addr, port) = local.split_once(':')?;
            (addr == want && state == "0A")
                .then(|| u16::from_str_radix(port, 16).ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_read_from_the_tcp_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 02AAFEA9:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 02AAFEA9:9C41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 02AAFEA9:0050 0200A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n\
   3: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n";
        assert_eq!(listeners_on_address(table), vec![80, 40001]);
    }
}
