
/*
 * Field names NetBSD defines as macros over unions.  Where glibc defines the
 * same name (ifr_name, ifr_addr, ifr_metric, ifc_buf, s6_addr, ...) the
 * expansion below is glibc's token for token, so including <net/if.h> or
 * <netinet/in.h> before or after this header is not a redefinition; the
 * rump_ structs carry the members those expansions name.
 */
#define s6_addr __in6_u.__u6_addr8
#define ifr_name ifr_ifrn.ifrn_name
#define ifr_addr ifr_ifru.ifru_addr
#define ifr_dstaddr ifr_ifru.ifru_dstaddr
#define ifr_broadaddr ifr_ifru.ifru_broadaddr
#define ifr_space ifr_ifru.ifru_space
#define ifr_flags ifr_ifru.ifru_flags
#define ifr_addrflags ifr_ifru.ifru_addrflags
#define ifr_metric ifr_ifru.ifru_ivalue
#define ifr_mtu ifr_ifru.ifru_mtu
#define ifr_dlt ifr_ifru.ifru_dlt
#define ifr_value ifr_ifru.ifru_value
#define ifr_media ifr_ifru.ifru_metric
#define ifr_data ifr_ifru.ifru_data
#define ifr_buf ifr_ifru.ifru_b.b_buf
#define ifr_buflen ifr_ifru.ifru_b.b_buflen
#define ifr_index ifr_ifru.ifru_value
#define ifr_ifindex ifr_ifru.ifru_ivalue
#define ifc_buf ifc_ifcu.ifcu_buf
#define ifc_req ifc_ifcu.ifcu_req
#define ifra_broadaddr ifra_dstaddr

/* fd_set manipulation for rump_fd_set (NetBSD: FD_SETSIZE 256, 32-bit masks). */
#define RUMP_FD_SET(n, p) \
  ((p)->fds_bits[(unsigned int)(n) >> 5] |= (uint32_t)1 << ((unsigned int)(n) & 31))
#define RUMP_FD_CLR(n, p) \
  ((p)->fds_bits[(unsigned int)(n) >> 5] &= ~((uint32_t)1 << ((unsigned int)(n) & 31)))
#define RUMP_FD_ISSET(n, p) \
  (((p)->fds_bits[(unsigned int)(n) >> 5] & ((uint32_t)1 << ((unsigned int)(n) & 31))) != 0)
#define RUMP_FD_ZERO(p) \
  do { \
    unsigned int rump_fd_zero_i_; \
    for (rump_fd_zero_i_ = 0; \
         rump_fd_zero_i_ < sizeof((p)->fds_bits) / sizeof((p)->fds_bits[0]); \
         rump_fd_zero_i_++) \
      (p)->fds_bits[rump_fd_zero_i_] = 0; \
  } while (0)

/*
 * Control-message access for rump_msghdr / rump_cmsghdr, NetBSD's CMSG_* with
 * amd64's __ALIGNBYTES (7).
 */
#define RUMP_CMSG_ALIGN(n) (((size_t)(n) + 7) & ~(size_t)7)
#define RUMP_CMSG_DATA(cmsg) \
  ((unsigned char *)(void *)(cmsg) + RUMP_CMSG_ALIGN(sizeof(struct rump_cmsghdr)))
#define RUMP_CMSG_FIRSTHDR(mhdr) \
  ((mhdr)->msg_controllen >= sizeof(struct rump_cmsghdr) \
       ? (struct rump_cmsghdr *)(mhdr)->msg_control \
       : (struct rump_cmsghdr *)0)
#define RUMP_CMSG_NXTHDR(mhdr, cmsg) \
  (((char *)(void *)(cmsg) + RUMP_CMSG_ALIGN((cmsg)->cmsg_len) + \
        RUMP_CMSG_ALIGN(sizeof(struct rump_cmsghdr)) > \
    (char *)(mhdr)->msg_control + (mhdr)->msg_controllen) \
       ? (struct rump_cmsghdr *)0 \
       : (struct rump_cmsghdr *)(void *)((char *)(void *)(cmsg) + \
                                         RUMP_CMSG_ALIGN((cmsg)->cmsg_len)))
#define RUMP_CMSG_SPACE(l) (RUMP_CMSG_ALIGN(sizeof(struct rump_cmsghdr)) + RUMP_CMSG_ALIGN(l))
#define RUMP_CMSG_LEN(l) (RUMP_CMSG_ALIGN(sizeof(struct rump_cmsghdr)) + (l))
