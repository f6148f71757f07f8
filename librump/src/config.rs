//! `RUMP_NET`: one variable describes a kernel's network (DESIGN.md fixes the grammar).
//!
//! Statements are separated by `;` or newlines:
//! `sockin` | `shmif BUSFILE ADDR/LEN [OPTIONS]` | `virtif TAP ADDR/LEN [OPTIONS]` |
//! `mem ADDR/LEN [OPTIONS]` | `route DEST/LEN GW` | `route default GW` | `forward` |
//! `pcap IFNAME FILE`, where
//! OPTIONS are word/value pairs: `mtu N`, `loss P`, `dup P`, `reorder P`, `corrupt P`,
//! `delay MS`, `seed N`. A statement that does not parse is an error naming it.

use std::net::Ipv4Addr;

use crate::kern::errno::{Errno, KResult};
use crate::kern::Kernel;

/// Per-interface options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IfOptions {
    /// MTU.
    pub mtu: Option<u32>,
    /// Probability of dropping a received frame.
    pub loss: f64,
    /// Probability of duplicating one.
    pub dup: f64,
    /// Probability of reordering one.
    pub reorder: f64,
    /// Probability of corrupting one.
    pub corrupt: f64,
    /// Delay in milliseconds.
    pub delay_ms: u64,
    /// Seed of the impairment's random numbers.
    pub seed: u64,
}

/// One statement of `RUMP_NET`.
#[derive(Clone, Debug, PartialEq)]
pub enum NetStmt {
    /// Boot with the sockin domain.
    Sockin,
    /// An interface on a shmif bus.
    Shmif {
        /// The bus file.
        bus: String,
        /// Address.
        addr: Ipv4Addr,
        /// Prefix length.
        prefixlen: u8,
        /// Options.
        opts: IfOptions,
    },
    /// An interface on a host tap.
    Virtif {
        /// The tap's name.
        tap: String,
        /// Address.
        addr: Ipv4Addr,
        /// Prefix length.
        prefixlen: u8,
        /// Options.
        opts: IfOptions,
    },
    /// An interface `memN` on the process's in-memory link, which joins the kernels
    /// of one process (drivers/memlink.rs; the C API's `rump_pub_kernel_create`).
    Mem {
        /// Address.
        addr: Ipv4Addr,
        /// Prefix length.
        prefixlen: u8,
        /// Options.
        opts: IfOptions,
    },
    /// A route; `None` destination is the default route.
    Route {
        /// Destination network and prefix length.
        dest: Option<(Ipv4Addr, u8)>,
        /// Gateway.
        gateway: Ipv4Addr,
    },
    /// `net.inet.ip.forwarding=1`.
    Forward,
    /// Capture an interface to a pcap file.
    Pcap {
        /// Interface name.
        ifname: String,
        /// Output file.
        file: String,
    },
}

/// A parsed `RUMP_NET`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetConfig {
    /// The statements, in order.
    pub stmts: Vec<NetStmt>,
    /// Each statement as the user wrote it, for messages.
    pub texts: Vec<String>,
}

fn parse_prefix(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = s.split_once('/')?;
    let addr: Ipv4Addr = a.parse().ok()?;
    let len: u8 = l.parse().ok()?;
    (len <= 32).then_some((addr, len))
}

fn parse_prob(v: &str) -> Option<f64> {
    let p: f64 = v.parse().ok()?;
    (0.0..=1.0).contains(&p).then_some(p)
}

const OPTION_WORDS: &[&str] = &["mtu", "loss", "dup", "reorder", "corrupt", "delay", "seed"];

fn parse_opts(words: &[&str]) -> Result<IfOptions, String> {
    let mut o = IfOptions::default();
    let mut it = words.iter();
    while let Some(&k) = it.next() {
        if !OPTION_WORDS.contains(&k) {
            return Err(format!("unknown option '{k}'"));
        }
        let Some(&v) = it.next().filter(|v| !OPTION_WORDS.contains(v)) else {
            return Err(format!("option '{k}' has no value"));
        };
        let bad = || format!("bad value '{v}' for option '{k}'");
        match k {
            "mtu" => {
                o.mtu = Some(
                    v.parse()
                        .ok()
                        .filter(|m| (68..=9000).contains(m))
                        .ok_or_else(bad)?,
                )
            }
            "loss" => o.loss = parse_prob(v).ok_or_else(bad)?,
            "dup" => o.dup = parse_prob(v).ok_or_else(bad)?,
            "reorder" => o.reorder = parse_prob(v).ok_or_else(bad)?,
            "corrupt" => o.corrupt = parse_prob(v).ok_or_else(bad)?,
            "delay" => o.delay_ms = v.parse().map_err(|_| bad())?,
            "seed" => o.seed = v.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown option '{k}'")),
        }
    }
    Ok(o)
}

fn parse_stmt(words: &[&str]) -> Result<NetStmt, String> {
    match words {
        ["sockin"] => Ok(NetStmt::Sockin),
        ["shmif" | "virtif", path, prefix, rest @ ..] => {
            let (addr, prefixlen) = parse_prefix(prefix)
                .ok_or_else(|| format!("bad address '{prefix}' (want A.B.C.D/LEN)"))?;
            let opts = parse_opts(rest)?;
            if words[0] == "shmif" {
                Ok(NetStmt::Shmif {
                    bus: path.to_string(),
                    addr,
                    prefixlen,
                    opts,
                })
            } else {
                Ok(NetStmt::Virtif {
                    tap: path.to_string(),
                    addr,
                    prefixlen,
                    opts,
                })
            }
        }
        ["mem", prefix, rest @ ..] => {
            let (addr, prefixlen) = parse_prefix(prefix)
                .ok_or_else(|| format!("bad address '{prefix}' (want A.B.C.D/LEN)"))?;
            Ok(NetStmt::Mem {
                addr,
                prefixlen,
                opts: parse_opts(rest)?,
            })
        }
        ["route", "default", gw] => Ok(NetStmt::Route {
            dest: None,
            gateway: gw.parse().map_err(|_| format!("bad gateway '{gw}'"))?,
        }),
        ["route", dest, gw] => Ok(NetStmt::Route {
            dest: Some(parse_prefix(dest).ok_or_else(|| format!("bad destination '{dest}'"))?),
            gateway: gw.parse().map_err(|_| format!("bad gateway '{gw}'"))?,
        }),
        ["forward"] => Ok(NetStmt::Forward),
        ["pcap", ifname, file] => Ok(NetStmt::Pcap {
            ifname: ifname.to_string(),
            file: file.to_string(),
        }),
        [w, ..] => Err(format!("unknown statement or wrong arguments for '{w}'")),
        [] => Err("empty statement".into()),
    }
}

impl NetConfig {
    /// Parse a `RUMP_NET` value.
    ///
    /// # Errors
    /// A message naming the statement that does not parse.
    pub fn parse(s: &str) -> Result<NetConfig, String> {
        let mut stmts = Vec::new();
        let mut texts = Vec::new();
        for raw in s.split([';', '\n']) {
            let words: Vec<&str> = raw.split_whitespace().collect();
            if words.is_empty() {
                continue;
            }
            let st = parse_stmt(&words).map_err(|m| format!("RUMP_NET: '{}': {m}", raw.trim()))?;
            stmts.push(st);
            texts.push(words.join(" "));
        }
        if stmts.contains(&NetStmt::Sockin) && stmts.len() > 1 {
            return Err(
                "RUMP_NET: 'sockin' stands alone: it replaces the kernel's own inet stack".into(),
            );
        }
        Ok(NetConfig { stmts, texts })
    }

    /// Whether the kernel boots with sockin.
    pub fn sockin(&self) -> bool {
        self.stmts.contains(&NetStmt::Sockin)
    }
}

/// Configure a freshly booted kernel's network: sockin, or the kernel's own inet stack
/// (always with `lo0`) and the statements in order.
///
/// # Errors
/// The host's error for a bus file (`EFTYPE` for a file that is not a bus) or a tap
/// (`EPERM`/`EACCES` without privileges, printed with a hint), `ENXIO` for a pcap statement naming no interface, route errors,
/// host errors; `ENXIO` for a `mem` statement when `memlink` is `None`.
pub fn netconfig_apply(
    k: &Kernel,
    net: &NetConfig,
    memlink: Option<&std::sync::Arc<crate::drivers::memlink::MemLink>>,
) -> KResult<()> {
    if net.sockin() {
        return crate::sockin::sockin_attach(k);
    }
    crate::netinet::in_proto::inet_attach(k)?;
    for (i, st) in net.stmts.iter().enumerate() {
        let r = match st {
            NetStmt::Sockin => Ok(()),
            NetStmt::Route { dest, gateway } => {
                let (d, len) = dest.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
                k.lock().rt_add_gateway(d, len, *gateway)
            }
            NetStmt::Forward => k.lock().sysctl_set_int("net.inet.ip.forwarding", 1),
            NetStmt::Pcap { ifname, file } => {
                k.lock().if_pcap_open(ifname, std::path::Path::new(file))
            }
            NetStmt::Shmif {
                bus,
                addr,
                prefixlen,
                opts,
            } => crate::drivers::shmif::shmif_attach(k, std::path::Path::new(bus), opts)
                .and_then(|i| k.lock().in_addr_add(i, *addr, *prefixlen, None)),
            NetStmt::Virtif {
                tap,
                addr,
                prefixlen,
                opts,
            } => crate::drivers::virtif::virtif_attach(k, tap, opts)
                .and_then(|i| k.lock().in_addr_add(i, *addr, *prefixlen, None)),
            NetStmt::Mem {
                addr,
                prefixlen,
                opts,
            } => memlink
                .ok_or(Errno::ENXIO)
                .and_then(|l| crate::drivers::memlink::memlink_attach(k, l, opts))
                .and_then(|i| k.lock().in_addr_add(i, *addr, *prefixlen, None)),
        };
        if let Err(e) = r {
            let text = net.texts.get(i).map_or("?", String::as_str);
            let hint = match (st, e) {
                (NetStmt::Virtif { .. }, Errno::EPERM | Errno::EACCES) => {
                    ": a tap takes root (CAP_NET_ADMIN) to create, or one made beforehand \
                     for this user (ip tuntap add NAME mode tap user USER)"
                }
                (NetStmt::Virtif { .. }, Errno::ENOENT | Errno::ENODEV | Errno::ENXIO) => {
                    ": the host has no /dev/net/tun (modprobe tun)"
                }
                (NetStmt::Virtif { .. }, Errno::ENAMETOOLONG) => {
                    ": a tap name has at most 15 bytes"
                }
                (NetStmt::Virtif { .. }, Errno::EBUSY) => {
                    ": the tap is attached to another process"
                }
                (NetStmt::Mem { .. }, Errno::ENXIO) => {
                    ": this kernel was booted without the process's in-memory link"
                }
                _ => "",
            };
            let msg = format!("RUMP_NET: '{text}': {e} ({}){hint}", e.name());
            tracing::error!("{msg}");
            eprintln!("{msg}");
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_example() {
        let c = NetConfig::parse("shmif /tmp/net/a 10.0.1.2/24; route default 10.0.1.1").unwrap();
        assert_eq!(c.stmts.len(), 2);
        assert!(
            matches!(&c.stmts[0], NetStmt::Shmif { bus, prefixlen: 24, .. } if bus == "/tmp/net/a")
        );
        assert_eq!(
            c.stmts[1],
            NetStmt::Route {
                dest: None,
                gateway: Ipv4Addr::new(10, 0, 1, 1)
            }
        );
    }

    #[test]
    fn parses_every_statement_and_option() {
        let c = NetConfig::parse(
            "virtif tap0 10.0.0.2/24 mtu 9000 loss 0.1 dup 0.01 reorder 0.05 corrupt 0.001 delay 5 seed 7\nroute 10.1.0.0/16 10.0.0.1\nforward\npcap virt0 /tmp/x.pcap;;",
        )
        .unwrap();
        assert_eq!(c.stmts.len(), 4);
        match &c.stmts[0] {
            NetStmt::Virtif { opts, .. } => {
                assert_eq!(opts.mtu, Some(9000));
                assert_eq!(opts.seed, 7);
                assert_eq!(opts.delay_ms, 5);
            }
            s => panic!("{s:?}"),
        }
        assert!(NetConfig::parse("").unwrap().stmts.is_empty());
        assert!(NetConfig::parse("sockin").unwrap().sockin());
        let c = NetConfig::parse("mem 10.0.0.1/24 mtu 9000; mem 10.0.1.1/24").unwrap();
        assert_eq!(
            c.stmts[0],
            NetStmt::Mem {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                prefixlen: 24,
                opts: IfOptions {
                    mtu: Some(9000),
                    ..IfOptions::default()
                }
            }
        );
        assert!(matches!(c.stmts[1], NetStmt::Mem { prefixlen: 24, .. }));
    }

    #[test]
    fn mem_statements_attach_to_the_link_the_boot_gives() {
        use crate::drivers::memlink::MemLink;
        use crate::kern::kernel::BootOptions;
        let net = NetConfig::parse("mem 10.0.0.1/24; mem 10.0.1.1/24").unwrap();
        let r = Kernel::boot(BootOptions {
            net: net.clone(),
            ..BootOptions::default()
        });
        assert_eq!(r.err(), Some(Errno::ENXIO));
        let link = MemLink::new();
        let k = Kernel::boot(BootOptions {
            net,
            memlink: Some(link.clone()),
            ..BootOptions::default()
        })
        .unwrap();
        let g = k.lock();
        assert!(g.ifunit("mem0").is_some() && g.ifunit("mem1").is_some());
        assert_eq!(link.ports(), 2);
    }

    #[test]
    fn bad_statements_are_named() {
        for bad in [
            "sockin extra",
            "shmif /bus 10.0.0.1",
            "shmif /bus 10.0.0.1/33",
            "virtif tap0 10.0.0.1/24 loss 2",
            "virtif tap0 10.0.0.1/24 mtu",
            "virtif tap0 10.0.0.1/24 colour red",
            "mem",
            "mem 10.0.0.1",
            "mem mem0 10.0.0.1/24",
            "route default nowhere",
            "frobnicate",
            "sockin; forward",
        ] {
            let e = NetConfig::parse(bad).unwrap_err();
            assert!(e.starts_with("RUMP_NET"), "{bad}: {e}");
        }
        let e = NetConfig::parse("forward; frobnicate 1").unwrap_err();
        assert!(e.contains("frobnicate 1"), "{e}");
        let e = NetConfig::parse("virtif tap0 10.0.0.1/24 mtu loss 0.1").unwrap_err();
        assert!(e.contains("option 'mtu' has no value"), "{e}");
        let c = NetConfig::parse("forward ;  route  default   10.0.0.1").unwrap();
        assert_eq!(c.texts, vec!["forward", "route default 10.0.0.1"]);
    }
}
