/*
 * rumperr.h -- names of NetBSD errno values, for programs that call rump_sys_* directly.
 *
 * rump_sys_* calls leave NetBSD numbers in errno (ECONNREFUSED is 61, not Linux's 111), so
 * the host's strerror() would name the wrong error.  rumperr_name() maps the common ones to
 * their symbolic names through the RUMP_E* constants of <rump/rumpdefs.h>.
 */
#ifndef EXAMPLES_RUMPERR_H
#define EXAMPLES_RUMPERR_H

#include <rump/rump_syscalls.h>

struct rumperr_entry {
	int num;
	const char *name;
};

#define RUMPERR_ENTRY(e) { RUMP_##e, #e }

/* The symbolic name of NetBSD errno value e, or "E?" for one not in the table. */
static inline const char *rumperr_name(int e)
{
	/*
	 * Not static: the table's entries are built from the RUMP_E* constants, which need
	 * not be constant expressions in every header generator's output.
	 */
	const struct rumperr_entry table[] = {
		RUMPERR_ENTRY(EPERM), RUMPERR_ENTRY(ENOENT), RUMPERR_ENTRY(ESRCH),
		RUMPERR_ENTRY(EINTR), RUMPERR_ENTRY(EIO), RUMPERR_ENTRY(ENXIO),
		RUMPERR_ENTRY(E2BIG), RUMPERR_ENTRY(EBADF), RUMPERR_ENTRY(ENOMEM),
		RUMPERR_ENTRY(EACCES), RUMPERR_ENTRY(EFAULT), RUMPERR_ENTRY(EBUSY),
		RUMPERR_ENTRY(EEXIST), RUMPERR_ENTRY(ENODEV), RUMPERR_ENTRY(EINVAL),
		RUMPERR_ENTRY(ENFILE), RUMPERR_ENTRY(EMFILE), RUMPERR_ENTRY(ENOTTY),
		RUMPERR_ENTRY(ENOSPC), RUMPERR_ENTRY(EPIPE), RUMPERR_ENTRY(ERANGE),
		RUMPERR_ENTRY(EAGAIN), RUMPERR_ENTRY(EINPROGRESS), RUMPERR_ENTRY(EALREADY),
		RUMPERR_ENTRY(ENOTSOCK), RUMPERR_ENTRY(EDESTADDRREQ), RUMPERR_ENTRY(EMSGSIZE),
		RUMPERR_ENTRY(EPROTOTYPE), RUMPERR_ENTRY(ENOPROTOOPT),
		RUMPERR_ENTRY(EPROTONOSUPPORT), RUMPERR_ENTRY(ESOCKTNOSUPPORT),
		RUMPERR_ENTRY(EOPNOTSUPP), RUMPERR_ENTRY(EPFNOSUPPORT),
		RUMPERR_ENTRY(EAFNOSUPPORT), RUMPERR_ENTRY(EADDRINUSE),
		RUMPERR_ENTRY(EADDRNOTAVAIL), RUMPERR_ENTRY(ENETDOWN),
		RUMPERR_ENTRY(ENETUNREACH), RUMPERR_ENTRY(ENETRESET),
		RUMPERR_ENTRY(ECONNABORTED), RUMPERR_ENTRY(ECONNRESET),
		RUMPERR_ENTRY(ENOBUFS), RUMPERR_ENTRY(EISCONN), RUMPERR_ENTRY(ENOTCONN),
		RUMPERR_ENTRY(ESHUTDOWN), RUMPERR_ENTRY(ETIMEDOUT),
		RUMPERR_ENTRY(ECONNREFUSED), RUMPERR_ENTRY(ENAMETOOLONG),
		RUMPERR_ENTRY(EHOSTDOWN), RUMPERR_ENTRY(EHOSTUNREACH),
		RUMPERR_ENTRY(ENOSYS), RUMPERR_ENTRY(EFTYPE), RUMPERR_ENTRY(EOVERFLOW), RUMPERR_ENTRY(ENOTSUP),
		RUMPERR_ENTRY(ECANCELED), RUMPERR_ENTRY(EPROTO),
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].num == e)
			return table[i].name;
	return "E?";
}

#endif /* EXAMPLES_RUMPERR_H */
