/*
 * pattern.h -- the test pattern the example programs send and verify.
 *
 * The byte at stream offset i is
 *
 *     pattern(i) = (31 * i + (i >> 8) + 7) mod 256
 *
 * It depends only on the offset, so a receiver can check it whatever sizes its reads
 * return, and it repeats every 65536 bytes (31 * 65536 and 65536 >> 8 are both multiples
 * of 256), so a lost or repeated run of bytes shows up unless it is a multiple of 64 KiB
 * long.  Because of that period, one table of 65536 + n bytes holds every n-byte window
 * of the stream: the window at offset off starts at table[off % 65536].  Senders write
 * straight out of the table and receivers memcmp against it, so checking costs no more
 * than a memcmp.
 */
#ifndef EXAMPLES_PATTERN_H
#define EXAMPLES_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN_PERIOD ((uint64_t)65536)
#define PATTERN_MASK (PATTERN_PERIOD - 1)

static inline unsigned char pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 31u + (i >> 8) + 7u) & 0xffu);
}

/* A table covering every window of up to maxlen bytes; NULL if out of memory. */
static inline unsigned char *pattern_table(size_t maxlen)
{
	size_t n = (size_t)PATTERN_PERIOD + maxlen;
	unsigned char *t = malloc(n);
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		t[i] = pattern_byte(i);
	return t;
}

/* The n bytes of the stream that start at offset off (n <= maxlen of the table). */
static inline const unsigned char *pattern_at(const unsigned char *table, uint64_t off)
{
	return table + (size_t)(off & PATTERN_MASK);
}

/*
 * Where buf (n bytes, holding the stream from offset off) first differs from the
 * pattern: an index below n, or n when all of it matches.
 */
static inline size_t pattern_mismatch(const unsigned char *table, const unsigned char *buf,
    size_t n, uint64_t off)
{
	const unsigned char *want = pattern_at(table, off);
	size_t i;

	if (memcmp(buf, want, n) == 0)
		return n;
	for (i = 0; i < n; i++)
		if (buf[i] != want[i])
			break;
	return i;
}

#endif /* EXAMPLES_PATTERN_H */
