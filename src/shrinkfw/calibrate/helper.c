/*
 * shrinkfw-load: the guest side of `shrinkfw calibrate`.
 *
 * A tiny static program put into the calibration initramfs. It does the file-system
 * operations of shrinkfw's workloads as fast as a process can (a busybox shell loop of
 * 100,000 stat commands takes minutes under qemu's TCG; this takes seconds), then prints one
 * result line on standard output that the host parses:
 *
 *   @@shrinkfw result op=lookup ops=100000 found=0 missing=100000 failed=0 errno=0 usec=812345
 *
 * Usage (every number decimal; names are PREFIX followed by a zero-padded index):
 *
 *   shrinkfw-load lookup DIR PREFIX WIDTH COUNT NAMES SEED
 *       stat() COUNT names in DIR. NAMES 0: names 0, 1, 2, ... in turn; otherwise names
 *       drawn at random from 0..NAMES-1 (a seeded xorshift generator).
 *   shrinkfw-load create DIR PREFIX COUNT WINDOW
 *       create COUNT new empty files in DIR (open O_CREAT|O_EXCL, close). WINDOW > 0: after
 *       creating file n, unlink file n-WINDOW, so at most WINDOW files live at once.
 *   shrinkfw-load read DIR NFILES OPENS BYTES WRITE
 *       open DIR/f0 .. DIR/f<NFILES-1> in turn, OPENS opens in all; read (WRITE 0) or
 *       overwrite (WRITE 1) the first BYTES bytes of each, and close it.
 *   shrinkfw-load walk DIR PREFIX DEPTH FANOUT FILES COUNT SEED
 *       stat() COUNT random paths DIR/<P>d<i>/.../<P>d<j>[/<P>f<k>] of a tree DEPTH levels
 *       deep with FANOUT directories per level and FILES files per leaf directory.
 *
 * Exit status: 0 when the operations ran (individual failures are counted, not fatal),
 * 2 on bad usage.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tally {
	const char *op;
	unsigned long ops;
	unsigned long found;   /* stat found the name / open succeeded */
	unsigned long missing; /* ENOENT */
	unsigned long failed;  /* any other error (ENOMEM under a memcg limit, ...) */
	int last_errno;
	struct timespec began;
};

static unsigned long long rng_state;

static unsigned long long next_random(void)
{
	/* xorshift64*: small, fast and good enough to pick names uniformly */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void seed_random(unsigned long long seed)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (rng_state == 0)
		rng_state = 1;
}

static unsigned long number(const char *text, const char *what)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *text == '\0' || *end != '\0') {
		fprintf(stderr, "shrinkfw-load: %s: not a number: %s\n", what, text);
		exit(2);
	}
	return value;
}

static void begin(struct tally *t, const char *op)
{
	memset(t, 0, sizeof(*t));
	t->op = op;
	clock_gettime(CLOCK_MONOTONIC, &t->began);
}

static void note(struct tally *t, int rc)
{
	t->ops++;
	if (rc == 0) {
		t->found++;
	} else if (errno == ENOENT) {
		t->missing++;
	} else {
		t->failed++;
		t->last_errno = errno;
	}
}

static int report(const struct tally *t)
{
	struct timespec now;
	long long usec;

	clock_gettime(CLOCK_MONOTONIC, &now);
	usec = (long long)(now.tv_sec - t->began.tv_sec) * 1000000LL +
	       (now.tv_nsec - t->began.tv_nsec) / 1000;
	printf("@@shrinkfw result op=%s ops=%lu found=%lu missing=%lu failed=%lu errno=%d usec=%lld\n",
	       t->op, t->ops, t->found, t->missing, t->failed, t->last_errno, usec);
	fflush(stdout);
	return 0;
}

static int do_lookup(char **argv)
{
	const char *dir = argv[0], *prefix = argv[1];
	int width = (int)number(argv[2], "WIDTH");
	unsigned long count = number(argv[3], "COUNT");
	unsigned long names = number(argv[4], "NAMES");
	char path[PATH_MAX];
	struct stat st;
	struct tally t;
	unsigned long i, index;

	seed_random(number(argv[5], "SEED"));
	begin(&t, "lookup");
	for (i = 0; i < count; i++) {
		index = names ? (unsigned long)(next_random() % names) : i;
		snprintf(path, sizeof(path), "%s/%s%0*lu", dir, prefix, width, index);
		note(&t, stat(path, &st));
	}
	return report(&t);
}

static int do_create(char **argv)
{
	const char *dir = argv[0], *prefix = argv[1];
	unsigned long count = number(argv[2], "COUNT");
	unsigned long window = number(argv[3], "WINDOW");
	char path[PATH_MAX];
	struct tally t;
	unsigned long n;
	int fd;

	begin(&t, "create");
	for (n = 0; n < count; n++) {
		snprintf(path, sizeof(path), "%s/%s%lu", dir, prefix, n);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		note(&t, fd < 0 ? -1 : 0);
		if (fd >= 0)
			close(fd);
		if (window && n >= window) {
			snprintf(path, sizeof(path), "%s/%s%lu", dir, prefix, n - window);
			unlink(path);
		}
	}
	return report(&t);
}

static int do_read(char **argv)
{
	const char *dir = argv[0];
	unsigned long files = number(argv[1], "NFILES");
	unsigned long opens = number(argv[2], "OPENS");
	unsigned long bytes = number(argv[3], "BYTES");
	int write_mode = number(argv[4], "WRITE") != 0;
	static char buffer[1 << 16];
	char path[PATH_MAX];
	struct tally t;
	unsigned long n, done;
	ssize_t got;
	size_t chunk;
	int fd;

	if (files == 0) {
		fprintf(stderr, "shrinkfw-load: read: NFILES must be > 0\n");
		return 2;
	}
	memset(buffer, 0x5a, sizeof(buffer));
	begin(&t, write_mode ? "write" : "read");
	for (n = 0; n < opens; n++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, n % files);
		fd = open(path, write_mode ? O_RDWR : O_RDONLY);
		note(&t, fd < 0 ? -1 : 0);
		if (fd < 0)
			continue;
		for (done = 0; done < bytes; done += (unsigned long)got) {
			chunk = bytes - done < sizeof(buffer) ? bytes - done : sizeof(buffer);
			got = write_mode ? pwrite(fd, buffer, chunk, (off_t)done)
					 : pread(fd, buffer, chunk, (off_t)done);
			if (got <= 0) {
				if (got < 0) {
					t.failed++;
					t.last_errno = errno;
				}
				break;
			}
		}
		close(fd);
	}
	return report(&t);
}

static int do_walk(char **argv)
{
	const char *dir = argv[0], *prefix = argv[1];
	unsigned long depth = number(argv[2], "DEPTH");
	unsigned long fanout = number(argv[3], "FANOUT");
	unsigned long files = number(argv[4], "FILES");
	unsigned long count = number(argv[5], "COUNT");
	char path[PATH_MAX];
	struct stat st;
	struct tally t;
	unsigned long n, level;
	size_t used;

	if (fanout == 0) {
		fprintf(stderr, "shrinkfw-load: walk: FANOUT must be > 0\n");
		return 2;
	}
	seed_random(number(argv[6], "SEED"));
	begin(&t, "walk");
	for (n = 0; n < count; n++) {
		used = (size_t)snprintf(path, sizeof(path), "%s", dir);
		for (level = 0; level < depth && used < sizeof(path); level++)
			used += (size_t)snprintf(path + used, sizeof(path) - used, "/%sd%llu", prefix,
						 next_random() % fanout);
		if (files && used < sizeof(path))
			snprintf(path + used, sizeof(path) - used, "/%sf%llu", prefix,
				 next_random() % files);
		note(&t, stat(path, &st));
	}
	return report(&t);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int args;
		int (*run)(char **argv);
	} commands[] = {
		{ "lookup", 6, do_lookup },
		{ "create", 4, do_create },
		{ "read", 5, do_read },
		{ "walk", 7, do_walk },
	};
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (argc - 2 != commands[i].args) {
			fprintf(stderr, "shrinkfw-load: %s takes %d arguments, got %d\n",
				commands[i].name, commands[i].args, argc - 2);
			return 2;
		}
		return commands[i].run(argv + 2);
	}
	fprintf(stderr, "usage: shrinkfw-load lookup|create|read|walk ARGS... (see helper.c)\n");
	return 2;
}
