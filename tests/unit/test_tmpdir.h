/* Scratch directories for the unit tests: a fresh directory under $TMPDIR
 * (default /tmp) per test or group, removed whole afterwards. */
#ifndef WARD_TEST_TMPDIR_H
#define WARD_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Makes $TMPDIR/ward-NAME-XXXXXX into dst (cap bytes). 0 or -1. */
static inline int test_mkdtemp(char *dst, size_t cap, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dst, cap, "%s/ward-%s-XXXXXX", tmp ? tmp : "/tmp", name);
	return mkdtemp(dst) == NULL ? -1 : 0;
}

static inline int test_rm_entry(const char *path, const struct stat *sb, int flag,
				struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it. 0, or nftw's -1. */
static inline int test_rmtree(const char *dir)
{
	return nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
