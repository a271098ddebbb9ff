#include "soc_verify.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "soc_store.h"

/* Counts lines and loss records in the first `bytes` bytes of `path`. */
static int scan_ndjson(const char *path, uint64_t bytes, uint64_t *lines, uint64_t *loss,
		       uint64_t *size)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t off = 0;
	json_t *j;
	const char *type;
	int rc = 0;

	*lines = *loss = *size = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		*size += (uint64_t)n;
		if (off + (uint64_t)n > bytes)
			continue;   /* the unacknowledged tail */
		off += (uint64_t)n;
		(*lines)++;
		j = json_loadb(line, (size_t)n, JSON_DECODE_ANY, NULL);
		type = json_string_value(json_object_get(j, "type"));
		if (type != NULL && strcmp(type, "loss") == 0)
			(*loss)++;
		json_decref(j);
	}
	if (ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	return rc;
}

static int verify_lane(const char *dir, const char *device, const char *lane, FILE *out)
{
	struct soc_lane l;
	char path[4400];
	uint64_t lines, loss, size;
	int rc, ok;

	rc = soc_store_read_state(dir, device, lane, &l);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s/%s/records.ndjson", dir, device, lane);
	rc = scan_ndjson(path, l.bytes, &lines, &loss, &size);
	if (rc < 0)
		return rc;
	ok = size >= l.bytes && lines == l.records;
	fprintf(out, "{\"device\":\"%s\",\"lane\":\"%s\",\"records\":%" PRIu64
		",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"gaps\":%" PRIu64
		",\"duplicates\":%" PRIu64 ",\"duplicates_dropped\":%" PRIu64
		",\"epochs\":%" PRIu64 ",\"loss_records\":%" PRIu64
		",\"missing_seqs\":%" PRIu64 ",\"late_batches\":%" PRIu64
		",\"consistent\":%s}\n", device, lane, l.records, l.first_seq, l.last_seq,
		l.gaps, l.dups, l.dropped, l.epochs, loss, soc_lane_missing(&l), l.filled, ok ? "true" : "false");
	return ok ? 0 : 1;
}

static int verify_device(const char *dir, const char *device, FILE *out)
{
	char path[4200], state[4400], lane[64];
	struct dirent *e;
	DIR *d;
	size_t n;
	int rc, worst = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, device);
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n >= sizeof(lane))
			continue;
		memcpy(lane, e->d_name, n + 1);
		/* A lane is a directory with a state file: a lane created by a
		 * batch that was then refused has none yet. */
		snprintf(state, sizeof(state), "%s/%s/state", path, lane);
		if (access(state, F_OK) < 0)
			continue;
		rc = verify_lane(dir, device, lane, out);
		if (rc < 0) {
			fprintf(stderr, "ward-soc: %s/%s: %s\n", path, lane, strerror(-rc));
			rc = 1;
		}
		if (rc > worst)
			worst = rc;
	}
	closedir(d);
	return worst;
}

int soc_verify(const char *dir, FILE *out)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc, worst = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "quarantine") == 0)
			continue;
		rc = verify_device(dir, e->d_name, out);
		if (rc == -ENOTDIR)
			continue;
		if (rc < 0) {
			fprintf(stderr, "ward-soc: %s/%s: %s\n", dir, e->d_name, strerror(-rc));
			rc = 1;
		}
		if (rc > worst)
			worst = rc;
	}
	closedir(d);
	return worst;
}
