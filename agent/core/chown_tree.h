/* chown_tree: hand a directory tree to the user a process becomes.
 *
 * ward's processes start as root when they must (opening a capture, a
 * state directory left by an earlier run as another user), then become an
 * unprivileged user; what they wrote as root has to be that user's first.
 */
#ifndef WARD_CHOWN_TREE_H
#define WARD_CHOWN_TREE_H

#include <sys/types.h>

/* Gives `path` and everything below it to uid:gid, without following
 * symbolic links (lchown, nftw FTW_PHYS). Entries that are already theirs
 * are not touched. 0, or -1 with errno set (the first failure stops the
 * walk). Start-up only: nftw takes no context, so the owner is held in a
 * static and the call is not thread-safe. */
int chown_tree(const char *path, uid_t uid, gid_t gid);

#endif
