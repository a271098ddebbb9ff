/* chown_tree: see chown_tree.h. */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chown_tree.h"

static uid_t tree_uid;
static gid_t tree_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if ((st->st_uid != tree_uid || st->st_gid != tree_gid) &&
	    lchown(path, tree_uid, tree_gid) < 0)
		return -1;
	return 0;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	tree_uid = uid;
	tree_gid = gid;
	return nftw(path, chown_one, 16, FTW_PHYS);
}
