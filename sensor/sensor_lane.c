/* sensor_lane: ward-sensor's spool lanes (sensor_lane.h). */
#include "sensor_lane.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

int sensor_lane_open(const struct sensor_live_opts *o, const char *name, enum spool_class cls,
		     uint32_t max_record, struct spool_lane **out)
{
	struct spool_lane_opts lo = {
		.spool_dir = o->spool_dir,
		.name = name,
		.cls = cls,
		.segment_max_bytes = o->segment_max_bytes,
		.segment_max_age_ms = o->segment_max_age_ms,
		.max_record_bytes = max_record,
		/* The receivers' rule: only bulk (P2) is refused near the
		 * budget; notices must still get through. */
		.hard_limit_bytes = cls == SPOOL_P2 ? o->hard_limit_bytes : 0,
	};
	int rc = spool_lane_open(out, &lo);

	if (rc < 0)
		fprintf(stderr, "ward-sensor: spool: cannot open lane %s in %s: %s%s\n", name,
			o->spool_dir, strerror(-rc),
			rc == -EBUSY ? " (another ward-sensor writes this lane)" : "");
	return rc;
}

void sensor_lane_usage_check(struct spool_lane *lane, const char *spool_dir)
{
	/* A few KiB (a slot per lane): not for the stack of a thread. */
	struct spool_usage *u = malloc(sizeof(*u));

	if (u == NULL)
		return;
	if (spool_usage_scan(spool_dir, u) == 0)
		spool_lane_set_spool_usage(lane, u->total_bytes);
	free(u);
}

/* ---- the NDJSON stream ------------------------------------------------------ */

static int stream_append(struct sensor_lane_stream *s, const uint8_t *p, size_t len)
{
	uint64_t seq = 0;
	int rc;

	if (len == 0)
		return 0;
	rc = spool_lane_append(s->lane, clock_wall_us(), p, len, &seq);
	if (rc < 0)
		return rc;
	if (s->records++ == 0)
		s->first_seq = seq;
	s->last_seq = seq;
	return 0;
}

/* fopencookie's write: appends every whole line; keeps the rest. Returns
 * the bytes taken, or 0 (the stream's error) once an append failed. */
static ssize_t stream_write(void *cookie, const char *data, size_t size)
{
	struct sensor_lane_stream *s = cookie;
	const char *p = data, *end = data + size, *nl;
	int rc;

	if (s->err != 0) {
		errno = -s->err;
		return 0;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (s->line.len > 0) {
			/* The line began in an earlier write. */
			rc = buf_append(&s->line, p, (size_t)(nl - p));
			if (rc == 0)
				rc = stream_append(s, s->line.data, s->line.len);
			buf_reset(&s->line);
		} else {
			rc = stream_append(s, (const uint8_t *)p, (size_t)(nl - p));
		}
		if (rc < 0) {
			s->err = rc;
			errno = -rc;
			return 0;
		}
		p = nl + 1;
	}
	if (p < end && (rc = buf_append(&s->line, p, (size_t)(end - p))) < 0) {
		s->err = rc;
		errno = -rc;
		return 0;
	}
	return (ssize_t)size;
}

static int stream_close(void *cookie)
{
	struct sensor_lane_stream *s = cookie;
	int rc = 0;

	if (s->err == 0 && s->line.len > 0) {
		rc = stream_append(s, s->line.data, s->line.len);
		if (rc < 0)
			s->err = rc;
	}
	buf_free(&s->line);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

FILE *sensor_lane_stream_open(struct sensor_lane_stream *s)
{
	cookie_io_functions_t io = { .write = stream_write, .close = stream_close };

	buf_init(&s->line);
	return fopencookie(s, "w", io);
}
