/*
 * ttcp_pair -- the macro-wrapped ttcp between two virtual kernels of one process.
 *
 * ttcp.c is compiled twice more, unchanged, as in build/ttcp-rump (-DUSE_RUMP
 * -DRUMP_MACRO_RW, the paper's Figure 4) but with -Dmain=ttcp_recv_main and
 * -Dmain=ttcp_xmit_main: two objects, so each side has its own copy of ttcp's static
 * option variables.  This program boots two kernels beside the default one with
 * rump_pub_kernel_create, each with interface mem0 on the process's in-memory link
 * (10.0.0.1/24 receives, 10.0.0.2/24 transmits), and runs the receiver and the
 * transmitter in two threads, each bound to its kernel with rump_pub_kernel_bind, so
 * every socket call of each ttcp goes to its own kernel and every segment crosses the
 * link as an Ethernet frame.
 *
 *   ttcp_pair [-c] [-n NBUF] [-l LEN] [-p PORT]
 *
 * -n and -l are ttcp's (default 131072 buffers of 8192 bytes: 1 GiB); -c makes the
 * receiver verify the pattern.  ttcp's report lines go to stderr as usual (its CPU
 * figures are the whole process's: both kernels and both sides); the last line on
 * stdout is "ttcp_pair: ok" or "ttcp_pair: FAILED".
 *
 * getopt(3) keeps its state in globals, so the sides parse their arguments one after
 * the other: the transmitter starts once the receiver's kernel has a listening socket,
 * which also keeps its connect from being refused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>

int ttcp_recv_main(int argc, char **argv);
int ttcp_xmit_main(int argc, char **argv);

/* How long the receiver may take to listen. */
#define LISTEN_WAIT_MS 10000
/* Descriptors of the receiver's kernel looked at for the listening socket. */
#define LISTEN_SCAN_FDS 64

struct side {
	struct rump_kernel *kernel;
	int (*ttcp_main)(int, char **);
	int argc;
	char *argv[16];
	int status;
};

static void die(const char *what, int error)
{
	fprintf(stderr, "ttcp_pair: %s: %s\n", what, rump_pub_errno_name(error));
	printf("ttcp_pair: FAILED\n");
	exit(1);
}

static void *run_side(void *arg)
{
	struct side *s = arg;
	int rv;

	if ((rv = rump_pub_kernel_bind(s->kernel)) != 0)
		die("rump_pub_kernel_bind", rv);
	s->status = s->ttcp_main(s->argc, s->argv);
	if ((rv = rump_pub_kernel_bind(NULL)) != 0)
		die("rump_pub_kernel_bind NULL", rv);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Whether kernel k has a listening socket (SO_ACCEPTCONN, as netstat would see it). */
static int has_listener(struct rump_kernel *k)
{
	int fd, found = 0, rv;

	if ((rv = rump_pub_kernel_bind(k)) != 0)
		die("rump_pub_kernel_bind", rv);
	for (fd = 0; fd < LISTEN_SCAN_FDS && !found; fd++) {
		int v = 0;
		rump_socklen_t len = sizeof(v);

		if (rump_sys_getsockopt(fd, RUMP_SOL_SOCKET, RUMP_SO_ACCEPTCONN, &v, &len) == 0 &&
		    v != 0)
			found = 1;
	}
	if ((rv = rump_pub_kernel_bind(NULL)) != 0)
		die("rump_pub_kernel_bind NULL", rv);
	return found;
}

static void add_arg(struct side *s, char *a)
{
	if (s->argc + 1 >= (int)(sizeof(s->argv) / sizeof(s->argv[0]))) {
		fprintf(stderr, "ttcp_pair: too many arguments\n");
		exit(1);
	}
	s->argv[s->argc++] = a;
	s->argv[s->argc] = NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: ttcp_pair [-c] [-n NBUF] [-l LEN] [-p PORT]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct side rx, tx;
	pthread_t rt, tt;
	char *nbuf = "131072", *buflen = "8192", *port = "5001";
	int c, check = 0, rv, waited;

	while ((c = getopt(argc, argv, "cn:l:p:")) != -1) {
		switch (c) {
		case 'c':
			check = 1;
			break;
		case 'n':
			nbuf = optarg;
			break;
		case 'l':
			buflen = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if ((rv = rump_init()) != 0)
		die("rump_init", rv);
	memset(&rx, 0, sizeof(rx));
	memset(&tx, 0, sizeof(tx));
	if ((rv = rump_pub_kernel_create("mem 10.0.0.1/24", &rx.kernel)) != 0)
		die("rump_pub_kernel_create 10.0.0.1/24", rv);
	if ((rv = rump_pub_kernel_create("mem 10.0.0.2/24", &tx.kernel)) != 0)
		die("rump_pub_kernel_create 10.0.0.2/24", rv);

	rx.ttcp_main = ttcp_recv_main;
	add_arg(&rx, "ttcp");
	add_arg(&rx, "-r");
	add_arg(&rx, "-s");
	if (check)
		add_arg(&rx, "-c");
	add_arg(&rx, "-l");
	add_arg(&rx, buflen);
	add_arg(&rx, "-p");
	add_arg(&rx, port);

	tx.ttcp_main = ttcp_xmit_main;
	add_arg(&tx, "ttcp");
	add_arg(&tx, "-t");
	add_arg(&tx, "-s");
	add_arg(&tx, "-n");
	add_arg(&tx, nbuf);
	add_arg(&tx, "-l");
	add_arg(&tx, buflen);
	add_arg(&tx, "-p");
	add_arg(&tx, port);
	add_arg(&tx, "10.0.0.1");

	optind = 1;
	if ((rv = pthread_create(&rt, NULL, run_side, &rx)) != 0)
		die("pthread_create", rv);
	for (waited = 0; !has_listener(rx.kernel); waited++) {
		if (waited * 5 >= LISTEN_WAIT_MS) {
			fprintf(stderr, "ttcp_pair: the receiver did not listen in %d ms\n",
			    LISTEN_WAIT_MS);
			printf("ttcp_pair: FAILED\n");
			exit(1);
		}
		sleep_ms(5);
	}
	/* The receiver is done with getopt: the transmitter may parse its arguments. */
	optind = 1;
	if ((rv = pthread_create(&tt, NULL, run_side, &tx)) != 0)
		die("pthread_create", rv);
	pthread_join(tt, NULL);
	pthread_join(rt, NULL);

	if ((rv = rump_pub_kernel_destroy(tx.kernel)) != 0)
		die("rump_pub_kernel_destroy", rv);
	if ((rv = rump_pub_kernel_destroy(rx.kernel)) != 0)
		die("rump_pub_kernel_destroy", rv);
	if (rx.status != 0 || tx.status != 0) {
		printf("ttcp_pair: FAILED (receiver %d, transmitter %d)\n", rx.status, tx.status);
		return 1;
	}
	printf("ttcp_pair: ok\n");
	return 0;
}
