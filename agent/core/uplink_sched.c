/* uplink_sched: the uplink's pure parts, without I/O (uplink.h): how an
 * answer is classified, the backoff with full jitter, Retry-After, the
 * window of requests in flight and which lane goes next. uplink.c drives
 * them from its libuv loop; test_uplink checks them directly. */
#include "uplink.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <time.h>

#include "jsonw.h"      /* time_days_from_civil, time_days_in_month */

enum uplink_verdict uplink_classify(int status)
{
	if ((status >= 200 && status < 300) || status == 409)
		return UPLINK_ACKED;
	if (status == 429 || status == 503)
		return UPLINK_BACK_OFF;
	if (status >= 400 && status < 500)
		return UPLINK_QUARANTINE;
	return UPLINK_FAILED;
}

uint64_t uplink_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd)
{
	uint64_t ceil = base_ms;
	unsigned i;

	/* Doubling stops at the cap, so nothing overflows, and at most 64
	 * rounds run whatever the attempt count. */
	for (i = 0; i < attempt && ceil > 0 && ceil < cap_ms; i++)
		ceil = ceil > cap_ms / 2 ? cap_ms : ceil * 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	if (ceil == UINT64_MAX)
		return rnd;
	return rnd % (ceil + 1);
}

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int digits(const char *p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* IMF-fixdate, exactly 29 bytes: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_imf_fixdate(const char *p, size_t len, int64_t *out_s)
{
	int d, y, hh, mm, ss, m;

	if (len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
	    p[16] != ' ' || p[19] != ':' || p[22] != ':' || memcmp(p + 25, " GMT", 4) != 0)
		return -EINVAL;
	if (digits(p + 5, 2, &d) || digits(p + 12, 4, &y) || digits(p + 17, 2, &hh) ||
	    digits(p + 20, 2, &mm) || digits(p + 23, 2, &ss))
		return -EINVAL;
	for (m = 0; m < 12; m++)
		if (memcmp(p + 8, months[m], 3) == 0)
			break;
	if (m == 12 || d < 1 || d > time_days_in_month(y, m + 1) || hh > 23 || mm > 59 ||
	    ss > 60)
		return -EINVAL;
	*out_s = time_days_from_civil(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

int uplink_parse_retry_after(const char *v, size_t len, int64_t now_s, uint64_t *out_ms)
{
	uint64_t secs = 0;
	int64_t when;
	size_t i;

	*out_ms = 0;
	while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -EINVAL;
	if (v[0] >= '0' && v[0] <= '9') {
		for (i = 0; i < len; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -EINVAL;
			if (secs <= UPLINK_RETRY_AFTER_MAX / 1000)
				secs = secs * 10 + (uint64_t)(v[i] - '0');
		}
	} else {
		if (parse_imf_fixdate(v, len, &when) < 0)
			return -EINVAL;
		secs = when > now_s ? (uint64_t)(when - now_s) : 0;
	}
	*out_ms = secs >= UPLINK_RETRY_AFTER_MAX / 1000 ? UPLINK_RETRY_AFTER_MAX : secs * 1000;
	return 0;
}

/* ---- the in-flight window and the priority rule (pure) -------------------- */

void uplink_window_clear(struct uplink_window *w)
{
	w->head = w->n = 0;
	w->bytes = 0;
}

bool uplink_window_may_send(const struct uplink_window *w, unsigned max_n, uint64_t max_bytes,
			    uint64_t bytes)
{
	if (max_n > UPLINK_MAX_IN_FLIGHT)
		max_n = UPLINK_MAX_IN_FLIGHT;
	if (w->n >= max_n)
		return false;
	/* One request always may go, however big: a batch larger than the
	 * cap must not block its lane forever. */
	return w->n == 0 || (w->bytes <= max_bytes && bytes <= max_bytes - w->bytes);
}

bool uplink_window_has(const struct uplink_window *w, unsigned lane, const char *name)
{
	unsigned i;

	for (i = 0; i < w->n; i++) {
		const struct uplink_sent *e = &w->e[(w->head + i) % UPLINK_MAX_IN_FLIGHT];

		if (e->lane == lane && strcmp(e->name, name) == 0)
			return true;
	}
	return false;
}

int uplink_window_push(struct uplink_window *w, unsigned lane, const char *name,
		       uint64_t bytes, uint64_t now_ms)
{
	struct uplink_sent *e;

	if (w->n >= UPLINK_MAX_IN_FLIGHT)
		return -ENOSPC;
	if (strlen(name) > UPLINK_NAME_MAX || lane > UINT8_MAX)
		return -ENAMETOOLONG;
	if (uplink_window_has(w, lane, name))
		return -EEXIST;
	e = &w->e[(w->head + w->n) % UPLINK_MAX_IN_FLIGHT];
	e->lane = (uint8_t)lane;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->bytes = bytes;
	e->since_ms = now_ms;
	w->n++;
	w->bytes += bytes;
	return 0;
}

const struct uplink_sent *uplink_window_oldest(const struct uplink_window *w)
{
	return w->n > 0 ? &w->e[w->head] : NULL;
}

void uplink_window_pop(struct uplink_window *w, uint64_t now_ms)
{
	struct uplink_sent *next;

	if (w->n == 0)
		return;
	w->bytes -= w->e[w->head].bytes;
	w->head = (w->head + 1) % UPLINK_MAX_IN_FLIGHT;
	w->n--;
	if (w->n == 0) {
		w->head = 0;
		return;
	}
	next = &w->e[w->head];
	if (next->since_ms < now_ms)
		next->since_ms = now_ms;
}

int uplink_pick_lane(const struct uplink_lane_head *h, size_t n, uint64_t aging_ms, bool *aged)
{
	int first = -1, oldest = -1;
	size_t i;

	if (aged != NULL)
		*aged = false;
	for (i = 0; i < n; i++) {
		if (!h[i].ready)
			continue;
		if (h[i].cls == 0)
			return (int)i;          /* P0 never waits for aging */
		if (first < 0)
			first = (int)i;
		/* Strictly longer wins, so ties go to the higher lane. */
		if (h[i].waited_ms >= aging_ms &&
		    (oldest < 0 || h[i].waited_ms > h[oldest].waited_ms))
			oldest = (int)i;
	}
	if (oldest >= 0 && oldest != first) {
		if (aged != NULL)
			*aged = true;
		return oldest;
	}
	return first;
}

const char *uplink_state_name(enum uplink_state s)
{
	static const char *const names[] = { "stopped", "idle", "connecting", "sending",
					     "waiting" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

