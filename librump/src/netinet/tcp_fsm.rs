//! TCP connection states (NetBSD: netinet/tcp_fsm.h; RFC 9293 section 3.3.2).
//!
//! The order matters as in BSD: every state from [`TcpState::Established`] on is
//! synchronized (both ISNs known), and every state after [`TcpState::CloseWait`] has
//! sent or is about to send our FIN, so the user can send no more.

/// The state of one connection (`t_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    /// No connection (TCPS_CLOSED).
    Closed,
    /// Waiting for a SYN (TCPS_LISTEN).
    Listen,
    /// Our SYN sent, waiting for the peer's (TCPS_SYN_SENT).
    SynSent,
    /// SYN received and answered, waiting for the ACK of ours (TCPS_SYN_RECEIVED).
    SynReceived,
    /// Data flows both ways (TCPS_ESTABLISHED).
    Established,
    /// The peer's FIN received, the user has not closed yet (TCPS_CLOSE_WAIT).
    CloseWait,
    /// Closed by the user, our FIN sent and not acknowledged (TCPS_FIN_WAIT_1).
    FinWait1,
    /// Both closed at once, waiting for the ACK of our FIN (TCPS_CLOSING).
    Closing,
    /// Peer closed first, then the user; waiting for the ACK of our FIN (TCPS_LAST_ACK).
    LastAck,
    /// Our FIN acknowledged, waiting for the peer's (TCPS_FIN_WAIT_2).
    FinWait2,
    /// Both FINs done; 2MSL quiet time (TCPS_TIME_WAIT).
    TimeWait,
}

impl TcpState {
    /// Both sequence spaces are known (TCPS_HAVERCVDSYN and past SYN_RECEIVED).
    pub fn synchronized(self) -> bool {
        self >= TcpState::Established
    }

    /// A SYN was received (TCPS_HAVERCVDSYN).
    pub fn have_rcvd_syn(self) -> bool {
        self >= TcpState::SynReceived
    }

    /// The peer's FIN was received (TCPS_HAVERCVDFIN).
    pub fn have_rcvd_fin(self) -> bool {
        matches!(
            self,
            TcpState::CloseWait | TcpState::Closing | TcpState::LastAck | TcpState::TimeWait
        )
    }

    /// Data from the user may still be sent (TCPS_HAVEESTABLISHED and not closed).
    pub fn may_send(self) -> bool {
        matches!(self, TcpState::Established | TcpState::CloseWait)
    }

    /// NetBSD's name of the state (tcpstates[]).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RCVD",
            TcpState::Established => "ESTABLISHED",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_bsd() {
        assert!(!TcpState::SynReceived.synchronized());
        assert!(TcpState::TimeWait.synchronized());
        assert!(TcpState::SynReceived.have_rcvd_syn());
        assert!(TcpState::LastAck.have_rcvd_fin());
        assert!(!TcpState::FinWait2.have_rcvd_fin());
        assert_eq!(TcpState::FinWait2.name(), "FIN_WAIT_2");
    }
}
