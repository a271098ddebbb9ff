#include "soc_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct dev_key {
	struct dev_key *next;
	char device[BATCH_NAME_MAX + 1];
	struct batch_key *key;
};

struct soc_ingest {
	struct batch_key *soc;
	char device_dir[4096];
	struct soc_store *store;
	size_t max_body;
	struct dev_key *keys;       /* loaded device keys, never evicted */
	struct soc_counters c;
	struct buf body;            /* scratch: the opened NDJSON */
	struct buf kept;            /* scratch: its lines not stored already */
};

int soc_ingest_create(struct soc_ingest **out, const char *soc_key, const char *device_dir,
		      struct soc_store *store, size_t max_body)
{
	struct soc_ingest *in;
	int rc;

	*out = NULL;
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		return -ENOMEM;
	buf_init(&in->body);
	buf_init(&in->kept);
	in->store = store;
	in->max_body = max_body;
	if ((size_t)snprintf(in->device_dir, sizeof(in->device_dir), "%s", device_dir) >=
	    sizeof(in->device_dir)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = batch_key_load(&in->soc, soc_key);
	if (rc < 0)
		goto out;
	if (!batch_key_has_private(in->soc)) {
		rc = -EINVAL;
		goto out;
	}
	*out = in;
	return 0;
out:
	soc_ingest_destroy(in);
	return rc;
}

void soc_ingest_destroy(struct soc_ingest *in)
{
	struct dev_key *k, *next;

	if (in == NULL)
		return;
	for (k = in->keys; k != NULL; k = next) {
		next = k->next;
		batch_key_destroy(k->key);
		free(k);
	}
	batch_key_destroy(in->soc);
	buf_free(&in->body);
	buf_free(&in->kept);
	free(in);
}

const struct soc_counters *soc_ingest_counters(const struct soc_ingest *in)
{
	return &in->c;
}

/* The device's public key: cached, or loaded from <dir>/<device>.pem.
 * -ENOENT when the device is unknown. A device added to the directory is
 * picked up by the next batch; a replaced key needs a restart. */
static int device_key(struct soc_ingest *in, const char *device, struct batch_key **out)
{
	struct dev_key *k;
	char path[4200];
	int rc;

	*out = NULL;
	/* The header allows '.', so "." and ".." could walk out of the dir. */
	if (device[0] == '.')
		return -ENOENT;
	for (k = in->keys; k != NULL; k = k->next) {
		if (strcmp(k->device, device) == 0) {
			*out = k->key;
			return 0;
		}
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pem", in->device_dir, device) >=
	    sizeof(path))
		return -ENOENT;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -ENOMEM;
	rc = batch_key_load(&k->key, path);
	if (rc < 0) {
		free(k);
		return rc == -EACCES ? -EACCES : -ENOENT;
	}
	strcpy(k->device, device);
	k->next = in->keys;
	in->keys = k;
	*out = k->key;
	return 0;
}

static int reject(struct soc_ingest *in, const uint8_t *batch, size_t len, const char *peer,
		  int rc, struct buf *resp)
{
	char reason[160];
	int qrc;

	in->c.rejected++;
	snprintf(reason, sizeof(reason), "%s", batch_strerror(rc));
	log_warn("batch from %s refused and quarantined: %s", peer, reason);
	qrc = soc_store_quarantine(in->store, batch, len, reason);
	if (qrc < 0)
		log_error("cannot quarantine a batch from %s: %s", peer, strerror(-qrc));
	(void)buf_printf(resp, "{\"error\":\"%s\"}", reason);
	return 400;
}

/* The seq a sealed line starts with: the sealer writes every line as
 * {"seq":N,...} (docs/protocol.md, "Body"). Strict: the line must start
 * with exactly {"seq": and decimal digits ending at ',' or '}', and the seq
 * must lie within the batch header's [first, last]. -EINVAL otherwise. */
static int line_seq(const uint8_t *p, size_t n, const struct batch_hdr *h, uint64_t *seq)
{
	static const char pre[] = "{\"seq\":";
	size_t i = sizeof(pre) - 1;
	uint64_t v = 0;

	if (n <= i || memcmp(p, pre, i) != 0 || p[i] < '0' || p[i] > '9')
		return -EINVAL;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (i >= n || (p[i] != ',' && p[i] != '}') || v < h->first_seq || v > h->last_seq)
		return -EINVAL;
	*seq = v;
	return 0;
}

/* De-duplicates a batch that overlaps the lane's stored seqs, record by
 * record: copies the lines whose seq is above the lane's last stored seq,
 * or in one of its holes, into in->kept and counts the others in *dropped. A line without a seq of
 * its own (not from ward's sealer) falls back to its position, which is
 * only known when the batch has no gaps; otherwise it is kept and the
 * batch counted in "overlaps". O(bytes) over the body, only for
 * overlapping batches, which are rare. Errors: -ENOMEM. */
static int dedup_lines(struct soc_ingest *in, const struct soc_lane *l,
		       const struct batch_hdr *h, uint64_t *kept, uint64_t *dropped)
{
	const struct buf *b = &in->body;
	int gapless = h->records == h->last_seq - h->first_seq + 1;
	int unknown = 0, rc;
	uint64_t idx = 0, seq;
	size_t off = 0, n;

	*kept = *dropped = 0;
	buf_reset(&in->kept);
	while (off < b->len) {
		const uint8_t *nl = memchr(b->data + off, '\n', b->len - off);

		n = nl == NULL ? b->len - off : (size_t)(nl - (b->data + off)) + 1;
		if (line_seq(b->data + off, n, h, &seq) < 0) {
			in->c.seqless_lines++;
			if (gapless) {
				seq = h->first_seq + idx;
			} else {
				seq = UINT64_MAX;
				unknown = 1;
			}
		}
		if (seq <= l->last_seq && !soc_lane_in_hole(l, seq)) {
			(*dropped)++;
		} else {
			rc = buf_append(&in->kept, b->data + off, n);
			if (rc < 0)
				return rc;
			(*kept)++;
		}
		off += n;
		idx++;
	}
	if (unknown) {
		in->c.overlaps++;
		log_warn("device %s lane %s: batch %" PRIu64 "-%" PRIu64 " overlaps stored seqs "
			 "and has gaps and lines without a seq: those lines are stored",
			 h->device, h->lane, h->first_seq, h->last_seq);
	}
	return 0;
}

/* Whether a batch starting a chain (first seq 1, prev hash zero) for a
 * lane with state starts a new epoch: a probe whose spool and CHAIN were
 * wiped. A replay of the current epoch's first batch has that batch's
 * hash. A lane state from version 1 has no such hash: there, as before,
 * the batch is taken for a replay. */
static int is_new_epoch(const struct soc_lane *l, const struct batch_hdr *h,
			const uint8_t hash[BATCH_HASH_SIZE])
{
	static const uint8_t zero[BATCH_HASH_SIZE];

	if (l->last_seq == 0 || h->first_seq != 1 ||
	    memcmp(h->prev_hash, zero, BATCH_HASH_SIZE) != 0)
		return 0;
	if (memcmp(l->epoch_hash, zero, BATCH_HASH_SIZE) == 0)
		return 0;
	return memcmp(l->epoch_hash, hash, BATCH_HASH_SIZE) != 0;
}

/* Records gaps and chain breaks before the batch is stored. */
static void check_continuity(struct soc_ingest *in, struct soc_lane *l,
			     const struct batch_hdr *h)
{
	static const uint8_t zero[BATCH_HASH_SIZE];
	char what[256];
	/* The first batch the SOC sees may not be the lane's first: only a
	 * hash we know can be broken. */
	int broke = l->last_seq > 0 && memcmp(h->prev_hash, l->last_hash, BATCH_HASH_SIZE) != 0 &&
		    !(memcmp(h->prev_hash, zero, BATCH_HASH_SIZE) == 0 && h->first_seq == 1);

	if (h->first_seq > l->last_seq + 1) {
		in->c.gaps++;
		snprintf(what, sizeof(what), "gap %" PRIu64 "-%" PRIu64 " before batch %" PRIu64
			 "-%" PRIu64, l->last_seq + 1, h->first_seq - 1, h->first_seq, h->last_seq);
		log_warn("device %s lane %s: seq %s", l->device, l->lane, what);
		(void)soc_store_note_gap(in->store, l, what);
		/* A batch answered 503 may come after the ones pipelined
		 * behind it: the hole stays open for it. */
		if (soc_lane_hole_open(l, l->last_seq + 1, h->first_seq - 1, h->prev_hash, broke))
			log_warn("device %s lane %s: %d gaps open: the lowest is forgotten, a batch "
				 "arriving for it will be taken for a duplicate", l->device, l->lane,
				 SOC_HOLES_MAX);
	}
	if (broke) {
		in->c.chain_breaks++;
		snprintf(what, sizeof(what), "chain break before batch %" PRIu64 "-%" PRIu64
			 ": prev hash is not the hash of the batch ending at %" PRIu64,
			 h->first_seq, h->last_seq, l->last_seq);
		log_warn("device %s lane %s: %s", l->device, l->lane, what);
		(void)soc_store_note_gap(in->store, l, what);
	}
}

/* Answers 409 for a batch whose every record is stored already. */
static int duplicate(struct soc_ingest *in, struct soc_lane *l, const struct batch_hdr *h,
		     uint64_t dropped, struct buf *resp)
{
	int rc;

	in->c.duplicates++;
	in->c.duplicates_dropped += dropped;
	l->dups++;
	l->dropped += dropped;
	/* Resends are rare (only unacknowledged batches), so keeping the
	 * counts durable costs little. */
	rc = soc_store_save(in->store, l);
	if (rc < 0)
		log_warn("device %s lane %s: cannot save lane state: %s", h->device, h->lane,
			 strerror(-rc));
	log_info("device %s lane %s: batch %" PRIu64 "-%" PRIu64 " stored already", h->device,
		 h->lane, h->first_seq, h->last_seq);
	(void)buf_printf(resp, "{\"error\":\"duplicate batch\",\"first_seq\":%" PRIu64
			 ",\"last_seq\":%" PRIu64 "}", h->first_seq, h->last_seq);
	return 409;
}

static void note_epoch(struct soc_ingest *in, struct soc_lane *l, const struct batch_hdr *h)
{
	char what[256];

	in->c.epochs++;
	snprintf(what, sizeof(what), "new chain epoch %" PRIu64 " at batch %" PRIu64 "-%" PRIu64
		 ": the probe restarted at seq 1 after seq %" PRIu64 " (spool wiped?)",
		 l->epochs + 1, h->first_seq, h->last_seq, l->last_seq);
	log_error("device %s lane %s: %s; the old records are kept", h->device, h->lane, what);
	(void)soc_store_note(in->store, l, what);
}

int soc_ingest_batch(struct soc_ingest *in, const uint8_t *batch, size_t len,
		     const char *peer, struct buf *resp)
{
	struct batch_hdr h;
	struct batch_key *dk;
	struct soc_lane *l;
	struct soc_append a;
	uint8_t hash[BATCH_HASH_SIZE];
	uint64_t kept, dropped = 0;
	char what[128];
	int rc;

	buf_reset(&in->body);
	rc = batch_parse_header(batch, len, &h);
	if (rc < 0)
		return reject(in, batch, len, peer, rc, resp);
	rc = device_key(in, h.device, &dk);
	if (rc < 0) {
		in->c.unknown_device++;
		log_warn("batch from %s refused: unknown device \"%s\" (%s/%s.pem: %s)", peer,
			 h.device, in->device_dir, h.device,
			 rc == -ENOENT ? "missing or not a P-256 public key" : strerror(-rc));
		(void)buf_printf(resp, "{\"error\":\"unknown device\"}");
		return 403;
	}
	rc = batch_open(batch, len, dk, in->soc, in->max_body, &h, &in->body);
	if (rc == 0)
		rc = batch_hash(batch, len, hash);
	if (rc < 0)
		return reject(in, batch, len, peer, rc, resp);
	rc = soc_store_lane(in->store, h.device, h.lane, &l);
	if (rc == -EINVAL) {
		/* Signed, but its names cannot be directories of the store
		 * (docs/soc-api.md, "Store layout"): sending it again won't help. */
		in->c.rejected++;
		log_warn("batch from %s refused: device \"%s\" lane \"%s\" cannot name a store "
			 "directory", peer, h.device, h.lane);
		(void)buf_printf(resp, "{\"error\":\"device id or lane not storable\"}");
		return 403;
	}
	if (rc < 0)
		goto store_error;
	memset(&a, 0, sizeof(a));
	a.ndjson = in->body.data;
	a.len = in->body.len;
	a.records = h.records;
	a.first_seq = h.first_seq;
	a.last_seq = h.last_seq;
	a.hash = hash;
	a.new_epoch = is_new_epoch(l, &h, hash);
	if (a.new_epoch) {
		note_epoch(in, l, &h);
	} else if (h.last_seq <= l->last_seq && !soc_lane_meets_hole(l, h.first_seq, h.last_seq)) {
		/* Every seq the header covers is stored already. */
		return duplicate(in, l, &h, h.records, resp);
	} else if (h.first_seq <= l->last_seq) {
		rc = dedup_lines(in, l, &h, &kept, &dropped);
		if (rc < 0)
			goto store_error;
		if (kept == 0)
			return duplicate(in, l, &h, dropped, resp);
		a.ndjson = in->kept.data;
		a.len = in->kept.len;
		a.records = kept;
		a.dropped = dropped;
		a.late = h.last_seq <= l->last_seq;
		if (a.late) {
			in->c.late_batches++;
			log_info("device %s lane %s: late batch %" PRIu64 "-%" PRIu64 " fills a gap "
				 "below seq %" PRIu64 "%s", h.device, h.lane, h.first_seq,
				 h.last_seq, l->last_seq, dropped > 0 ? " (some records dropped "
				 "as duplicates)" : "");
			snprintf(what, sizeof(what), "late batch %" PRIu64 "-%" PRIu64 " filled a gap",
				 h.first_seq, h.last_seq);
			(void)soc_store_note(in->store, l, what);
		} else if (dropped > 0) {
			log_info("device %s lane %s: batch %" PRIu64 "-%" PRIu64 " overlaps stored "
				 "seqs: %" PRIu64 " records dropped as duplicates", h.device, h.lane,
				 h.first_seq, h.last_seq, dropped);
		}
	} else {
		check_continuity(in, l, &h);
	}
	rc = soc_store_append(in->store, l, &a);
	if (rc < 0)
		goto store_error;
	in->c.batches_ok++;
	in->c.records += a.records;
	in->c.duplicates_dropped += a.dropped;
	log_info("device %s lane %s: stored batch %" PRIu64 "-%" PRIu64 ", %" PRIu64
		 " records, from %s", h.device, h.lane, h.first_seq, h.last_seq, a.records, peer);
	(void)buf_printf(resp, "{\"status\":\"ok\",\"first_seq\":%" PRIu64 ",\"last_seq\":%"
			 PRIu64 "}", h.first_seq, h.last_seq);
	return 200;
store_error:
	in->c.store_errors++;
	log_error("device %s lane %s: cannot store batch %" PRIu64 "-%" PRIu64 ": %s",
		  h.device, h.lane, h.first_seq, h.last_seq, strerror(-rc));
	(void)buf_printf(resp, "{\"error\":\"store failed: %s\"}", strerror(-rc));
	return 500;
}
