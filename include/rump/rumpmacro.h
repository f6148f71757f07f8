/*
 * rumpmacro.h -- the paper's Figure 4 for Linux hosts.
 *
 * Include it AFTER the host's own headers (<sys/socket.h>, <poll.h>, <sys/select.h>,
 * <unistd.h>).  From then on the program's socket calls run in the virtual kernel of
 * librump, with the host's structs, constants and errno values: librump translates them
 * (abi/hostabi.rs).  The kernel boots on first use, configured from RUMP_NET
 * (e.g. RUMP_NET=sockin).  Define RUMP_MACRO_RW before including it to also move
 * read(), write() and close() -- then every read/write/close of the program goes to the
 * virtual kernel, so use stdio (fread/fwrite) for the host's files.
 *
 * Hand-written (the host-ABI prototypes use the host's types, which cbindgen cannot
 * name); tests/headers checks it compiles with -Wall -Werror as C99 and C++.
 */
#ifndef RUMP_RUMPMACRO_H
#define RUMP_RUMPMACRO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

int rump_host_socket(int domain, int type, int protocol);
int rump_host_bind(int s, const struct sockaddr *name, socklen_t namelen);
int rump_host_connect(int s, const struct sockaddr *name, socklen_t namelen);
int rump_host_listen(int s, int backlog);
int rump_host_accept(int s, struct sockaddr *name, socklen_t *namelen);
int rump_host_accept4(int s, struct sockaddr *name, socklen_t *namelen, int flags);
int rump_host_getsockname(int s, struct sockaddr *name, socklen_t *namelen);
int rump_host_getpeername(int s, struct sockaddr *name, socklen_t *namelen);
int rump_host_setsockopt(int s, int level, int name, const void *val, socklen_t len);
int rump_host_getsockopt(int s, int level, int name, void *val, socklen_t *len);
ssize_t rump_host_send(int s, const void *buf, size_t len, int flags);
ssize_t rump_host_recv(int s, void *buf, size_t len, int flags);
ssize_t rump_host_sendto(int s, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen);
ssize_t rump_host_recvfrom(int s, void *buf, size_t len, int flags,
    struct sockaddr *from, socklen_t *fromlen);
ssize_t rump_host_sendmsg(int s, const struct msghdr *msg, int flags);
ssize_t rump_host_recvmsg(int s, struct msghdr *msg, int flags);
int rump_host_shutdown(int s, int how);
int rump_host_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int rump_host_select(int nd, fd_set *in, fd_set *out, fd_set *ex, struct timeval *tv);
ssize_t rump_host_read(int fd, void *buf, size_t len);
ssize_t rump_host_write(int fd, const void *buf, size_t len);
int rump_host_close(int fd);
int rump_host_fcntl(int fd, int cmd, long arg);
int rump_host_ioctl(int fd, unsigned long req, void *data);

#ifdef __cplusplus
}
#endif

#define socket(a, b, c)			rump_host_socket(a, b, c)
#define bind(a, b, c)			rump_host_bind(a, b, c)
#define connect(a, b, c)		rump_host_connect(a, b, c)
#define listen(a, b)			rump_host_listen(a, b)
#define accept(a, b, c)			rump_host_accept(a, b, c)
#define accept4(a, b, c, d)		rump_host_accept4(a, b, c, d)
#define getsockname(a, b, c)		rump_host_getsockname(a, b, c)
#define getpeername(a, b, c)		rump_host_getpeername(a, b, c)
#define setsockopt(a, b, c, d, e)	rump_host_setsockopt(a, b, c, d, e)
#define getsockopt(a, b, c, d, e)	rump_host_getsockopt(a, b, c, d, e)
#define send(a, b, c, d)		rump_host_send(a, b, c, d)
#define recv(a, b, c, d)		rump_host_recv(a, b, c, d)
#define sendto(a, b, c, d, e, f)	rump_host_sendto(a, b, c, d, e, f)
#define recvfrom(a, b, c, d, e, f)	rump_host_recvfrom(a, b, c, d, e, f)
#define sendmsg(a, b, c)		rump_host_sendmsg(a, b, c)
#define recvmsg(a, b, c)		rump_host_recvmsg(a, b, c)
#define shutdown(a, b)			rump_host_shutdown(a, b)
#define poll(a, b, c)			rump_host_poll(a, b, c)
#define select(a, b, c, d, e)		rump_host_select(a, b, c, d, e)

#ifdef RUMP_MACRO_RW
#define read(a, b, c)			rump_host_read(a, b, c)
#define write(a, b, c)			rump_host_write(a, b, c)
#define close(a)			rump_host_close(a)
#endif

#endif /* RUMP_RUMPMACRO_H */
