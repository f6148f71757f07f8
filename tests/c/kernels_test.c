/*
 * kernels_test -- several virtual kernels in one process from C: rump_pub_kernel_create,
 * _bind, _current and _destroy, their errno values, and that the kernels are separate
 * (own interfaces, own descriptors) yet talk over the process's in-memory link.
 *
 * Run by librump/tests/c_programs.rs without RUMP_NET.  Prints one PASS or FAIL line
 * per check and a closing "N passed, N failed" line; exits 1 if any check failed.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

static int passed, failed;

static void pass(const char *what)
{
	passed++;
	printf("PASS %s\n", what);
}

/* A rump_pub_* call, which returns the errno (0 for success). */
static void check_rv(const char *what, int rv, int want)
{
	if (rv == want) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s: returned %d (%s), want %d (%s)\n", what, rv, rump_pub_errno_name(rv),
		    want, rump_pub_errno_name(want));
	}
}

static void expect(const char *what, int ok)
{
	if (ok) {
		pass(what);
	} else {
		failed++;
		printf("FAIL %s\n", what);
	}
}

static struct rump_sockaddr_in sin_of(const char *a, int port)
{
	struct rump_sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = RUMP_AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = inet_addr(a);
	return sin;
}

/* Bad arguments get the errno the rest of the rump_pub_* calls give. */
static void errnos(void)
{
	struct rump_kernel *k = (struct rump_kernel *)&passed;

	check_rv("create NULL string is EFAULT", rump_pub_kernel_create(NULL, &k), RUMP_EFAULT);
	expect("*kp is NULL after a failed create", k == NULL);
	check_rv("create NULL kp is EFAULT", rump_pub_kernel_create("", NULL), RUMP_EFAULT);
	k = (struct rump_kernel *)&passed;
	check_rv("create with an unknown statement is EINVAL",
	    rump_pub_kernel_create("frobnicate 1", &k), RUMP_EINVAL);
	expect("*kp is NULL after a bad string", k == NULL);
	check_rv("create 'mem' without a prefix length is EINVAL",
	    rump_pub_kernel_create("mem 10.9.0.1", &k), RUMP_EINVAL);
	check_rv("create with a bad option value is EINVAL",
	    rump_pub_kernel_create("mem 10.9.0.1/24 loss 2", &k), RUMP_EINVAL);
	check_rv("create 'sockin; forward' is EINVAL",
	    rump_pub_kernel_create("sockin; forward", &k), RUMP_EINVAL);
	check_rv("create with a pcap of no interface is ENXIO",
	    rump_pub_kernel_create("pcap nosuch0 /dev/null", &k), RUMP_ENXIO);
	check_rv("bind of a made-up pointer is EINVAL",
	    rump_pub_kernel_bind((struct rump_kernel *)&passed), RUMP_EINVAL);
	check_rv("destroy NULL (the default kernel) is EINVAL", rump_pub_kernel_destroy(NULL),
	    RUMP_EINVAL);
	check_rv("destroy of a made-up pointer is EINVAL",
	    rump_pub_kernel_destroy((struct rump_kernel *)&passed), RUMP_EINVAL);
	check_rv("bind NULL while unbound", rump_pub_kernel_bind(NULL), 0);
	expect("current is NULL (the default kernel)", rump_pub_kernel_current() == NULL);
}

/* Binding moves rump_sys_* and rump_pub_netconfig_* calls; destroy waits for unbinding. */
static void binding(void)
{
	struct rump_kernel *k = NULL;
	int s0, s1;

	check_rv("create ''", rump_pub_kernel_create("", &k), 0);
	expect("create stores a kernel", k != NULL);
	s0 = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	expect("socket in the default kernel", s0 >= 0);
	check_rv("bind the new kernel", rump_pub_kernel_bind(k), 0);
	expect("current is the bound kernel", rump_pub_kernel_current() == k);
	s1 = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	expect("the new kernel has its own descriptor table (same first number)", s1 == s0);
	check_rv("ifcreate mem5 in the bound kernel", rump_pub_netconfig_ifcreate("mem5"), 0);
	check_rv("destroy while this thread has it bound is EBUSY", rump_pub_kernel_destroy(k),
	    RUMP_EBUSY);
	check_rv("bind NULL", rump_pub_kernel_bind(NULL), 0);
	expect("current is NULL again", rump_pub_kernel_current() == NULL);
	check_rv("mem5 is not in the default kernel", rump_pub_netconfig_ifup("mem5"),
	    RUMP_ENXIO);
	expect("the default kernel's socket is still open", rump_sys_close(s0) == 0);
	check_rv("destroy", rump_pub_kernel_destroy(k), 0);
	check_rv("destroy again is EINVAL", rump_pub_kernel_destroy(k), RUMP_EINVAL);
	check_rv("bind after destroy is EINVAL", rump_pub_kernel_bind(k), RUMP_EINVAL);
	expect("current stays NULL after a refused bind", rump_pub_kernel_current() == NULL);
}

static void *bind_and_exit(void *arg)
{
	return (void *)(long)rump_pub_kernel_bind(arg);
}

/* A thread that ends bound gives its binding up with its thread-locals. */
static void thread_exit(void)
{
	struct rump_kernel *k = NULL;
	pthread_t t;
	void *rv = NULL;

	check_rv("create for a thread", rump_pub_kernel_create("", &k), 0);
	expect("pthread_create", pthread_create(&t, NULL, bind_and_exit, k) == 0);
	expect("pthread_join", pthread_join(t, &rv) == 0);
	check_rv("the thread bound it", (int)(long)rv, 0);
	check_rv("destroy after the bound thread ended", rump_pub_kernel_destroy(k), 0);
}

/* Two kernels, one thread: UDP from mem0 of one to mem0 of the other. */
static void two_kernels_talk(void)
{
	struct rump_kernel *a = NULL, *b = NULL;
	struct rump_sockaddr_in to = sin_of("10.9.0.2", 7), any = sin_of("0.0.0.0", 7), from;
	struct rump_timeval tv = { 5, 0 };
	rump_socklen_t fromlen = sizeof(from);
	char buf[16];
	long n;
	int sa, sb;

	check_rv("create 'mem 10.9.0.1/24'", rump_pub_kernel_create("mem 10.9.0.1/24", &a), 0);
	check_rv("create 'mem 10.9.0.2/24'", rump_pub_kernel_create("mem 10.9.0.2/24", &b), 0);
	check_rv("the default kernel has no mem0", rump_pub_netconfig_ifup("mem0"), RUMP_ENXIO);
	rump_pub_kernel_bind(b);
	sb = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	expect("receiver socket", sb >= 0);
	expect("SO_RCVTIMEO 5 s", rump_sys_setsockopt(sb, RUMP_SOL_SOCKET, RUMP_SO_RCVTIMEO,
	    &tv, sizeof(tv)) == 0);
	expect("bind 0.0.0.0:7", rump_sys_bind(sb, (const rump_sockaddr *)&any,
	    sizeof(any)) == 0);
	rump_pub_kernel_bind(a);
	sa = rump_sys_socket(RUMP_PF_INET, RUMP_SOCK_DGRAM, 0);
	n = rump_sys_sendto(sa, "hello", 5, 0, (const rump_sockaddr *)&to, sizeof(to));
	expect("sendto 10.9.0.2:7 from the other kernel", n == 5);
	rump_pub_kernel_bind(b);
	memset(&from, 0, sizeof(from));
	n = rump_sys_recvfrom(sb, buf, sizeof(buf), 0, (rump_sockaddr *)&from, &fromlen);
	expect("the datagram crossed the in-memory link",
	    n == 5 && memcmp(buf, "hello", 5) == 0 &&
	    from.sin_addr.s_addr == inet_addr("10.9.0.1"));
	rump_sys_close(sb);
	rump_pub_kernel_bind(a);
	rump_sys_close(sa);
	rump_pub_kernel_bind(NULL);
	check_rv("destroy the sender", rump_pub_kernel_destroy(a), 0);
	check_rv("destroy the receiver", rump_pub_kernel_destroy(b), 0);
}

int main(void)
{
	struct rump_kernel *k = (struct rump_kernel *)&passed;

	check_rv("create before rump_init is ENOSYS", rump_pub_kernel_create("", &k),
	    RUMP_ENOSYS);
	expect("*kp is NULL after ENOSYS", k == NULL);
	if (rump_init() != 0) {
		printf("FAIL rump_init\n");
		return 1;
	}
	errnos();
	binding();
	thread_exit();
	two_kernels_talk();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
