//! Packet capture to pcap files (the role of NetBSD's bpf with a file as listener):
//! every frame an interface sends or receives, in order, readable by `tcpdump -r`.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kern::errno::{Errno, KResult};
use crate::kern::kernel::KernelState;
use crate::kern::mbuf::MbufChain;
use crate::net::ifnet::PacketTap;
use crate::wire::pcap::PcapWriter;

/// A capture of one interface into a pcap file.
pub struct Bpf {
    w: PcapWriter<BufWriter<File>>,
    /// Wall-clock time at kernel time zero, so timestamps read as dates.
    epoch: Duration,
    buf: Vec<u8>,
}

impl PacketTap for Bpf {
    fn tap(&mut self, now: Duration, m: &MbufChain) {
        self.buf.clear();
        for s in m.iter_slices() {
            self.buf.extend_from_slice(s);
        }
        // A capture that cannot be written is given up silently: it must never
        // disturb the traffic it watches.
        let _ = self.w.write_packet(self.epoch + now, &self.buf);
        let _ = self.w.flush();
    }
}

impl KernelState {
    /// Start capturing an interface into a pcap file (RUMP_NET `pcap IFNAME FILE`).
    ///
    /// # Errors
    /// `ENXIO` for an unknown interface, the host's error for the file.
    pub fn if_pcap_open(&mut self, ifname: &str, path: &Path) -> KResult<()> {
        let idx = self.ifunit(ifname).ok_or(Errno::ENXIO)?;
        let f = File::create(path).map_err(|e| {
            crate::abi::hostabi::errno_from_host(e.raw_os_error().unwrap_or(libc::EIO))
        })?;
        let linktype = match self.ifp(idx).map(|i| i.if_type) {
            Some(crate::net::ifnet::IfType::Loop) => crate::wire::pcap::LINKTYPE_RAW,
            _ => crate::wire::pcap::LINKTYPE_ETHERNET,
        };
        let w = PcapWriter::with_linktype(BufWriter::new(f), linktype).map_err(|_| Errno::EIO)?;
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let epoch = wall.saturating_sub(self.host.clock_monotonic());
        self.ifp_mut(idx).ok_or(Errno::ENXIO)?.if_pcap = Some(Box::new(Bpf {
            w,
            epoch,
            buf: Vec::with_capacity(2048),
        }));
        Ok(())
    }

    /// Stop capturing an interface (the file is flushed and closed).
    pub fn if_pcap_close(&mut self, ifname: &str) {
        if let Some(i) = self.ifunit(ifname) {
            if let Some(ifp) = self.ifp_mut(i) {
                ifp.if_pcap = None;
            }
        }
    }

    /// An int sysctl by dotted name (configuration and socket creation, not the
    /// packet path: that reads typed fields).
    pub fn sysctl_int(&self, name: &str) -> Option<i32> {
        self.sysctl.get_int(name)
    }

    /// Set a string sysctl by dotted name.
    ///
    /// # Errors
    /// `ENOENT` for an unknown name, the node's check.
    pub fn sysctl_set_str(&mut self, name: &str, v: &str) -> KResult<()> {
        let id = self.sysctl.id_of(name).ok_or(Errno::ENOENT)?;
        self.sysctl
            .set(id, crate::kern::kern_sysctl::SysctlValue::Str(v.into()))
    }

    /// Set an int sysctl by dotted name.
    ///
    /// # Errors
    /// `ENOENT` for an unknown name, the node's check.
    pub fn sysctl_set_int(&mut self, name: &str, v: i32) -> KResult<()> {
        let id = self.sysctl.id_of(name).ok_or(Errno::ENOENT)?;
        self.sysctl
            .set(id, crate::kern::kern_sysctl::SysctlValue::Int(v))
    }
}
