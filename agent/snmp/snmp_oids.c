/* snmp_oids: the built-in OID names, the names file, prefix lookup. */
#include "snmp_oids.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Sources: RFC 3418 (SNMPv2-MIB), RFC 2863 (IF-MIB), RFC 6933 (ENTITY-MIB),
 * RFC 1628 (UPS-MIB), RFC 3584 3.1 (v1 generic traps), RFC 3414 (USM
 * statistics), IANA enterprise numbers. */
static const char *const builtin[][2] = {
	{ "1.3.6.1.2.1", "mib-2" },
	{ "1.3.6.1.2.1.1.1", "sysDescr" },
	{ "1.3.6.1.2.1.1.2", "sysObjectID" },
	{ "1.3.6.1.2.1.1.3", "sysUpTime" },
	{ "1.3.6.1.2.1.1.4", "sysContact" },
	{ "1.3.6.1.2.1.1.5", "sysName" },
	{ "1.3.6.1.2.1.1.6", "sysLocation" },
	{ "1.3.6.1.2.1.2.2.1.1", "ifIndex" },
	{ "1.3.6.1.2.1.2.2.1.2", "ifDescr" },
	{ "1.3.6.1.2.1.2.2.1.3", "ifType" },
	{ "1.3.6.1.2.1.2.2.1.5", "ifSpeed" },
	{ "1.3.6.1.2.1.2.2.1.6", "ifPhysAddress" },
	{ "1.3.6.1.2.1.2.2.1.7", "ifAdminStatus" },
	{ "1.3.6.1.2.1.2.2.1.8", "ifOperStatus" },
	{ "1.3.6.1.2.1.2.2.1.9", "ifLastChange" },
	{ "1.3.6.1.2.1.31.1.1.1.1", "ifName" },
	{ "1.3.6.1.2.1.31.1.1.1.18", "ifAlias" },
	{ "1.3.6.1.2.1.17.0.1", "newRoot" },
	{ "1.3.6.1.2.1.17.0.2", "topologyChange" },
	{ "1.3.6.1.2.1.47.1.1.1.1.2", "entPhysicalDescr" },
	{ "1.3.6.1.2.1.47.1.1.1.1.7", "entPhysicalName" },
	{ "1.3.6.1.2.1.47.1.4.1", "entLastChangeTime" },
	{ "1.3.6.1.2.1.47.2.0.1", "entConfigChange" },
	{ "1.3.6.1.2.1.33", "upsMIB" },
	{ "1.3.6.1.2.1.33.1.2.2", "upsSecondsOnBattery" },
	{ "1.3.6.1.2.1.33.1.2.3", "upsEstimatedMinutesRemaining" },
	{ "1.3.6.1.2.1.33.1.2.4", "upsEstimatedChargeRemaining" },
	{ "1.3.6.1.2.1.33.1.6.2.1.1", "upsAlarmId" },
	{ "1.3.6.1.2.1.33.1.6.2.1.2", "upsAlarmDescr" },
	{ "1.3.6.1.2.1.33.1.6.3", "upsWellKnownAlarms" },
	{ "1.3.6.1.2.1.33.1.7.1", "upsTestId" },
	{ "1.3.6.1.2.1.33.1.7.2", "upsTestSpinLock" },
	{ "1.3.6.1.2.1.33.1.7.3", "upsTestResultsSummary" },
	{ "1.3.6.1.2.1.33.1.7.4", "upsTestResultsDetail" },
	{ "1.3.6.1.2.1.33.1.7.5", "upsTestStartTime" },
	{ "1.3.6.1.2.1.33.1.7.6", "upsTestElapsedTime" },
	{ "1.3.6.1.2.1.33.1.9.7", "upsConfigLowBattTime" },
	{ "1.3.6.1.2.1.33.2.1", "upsTrapOnBattery" },
	{ "1.3.6.1.2.1.33.2.2", "upsTrapTestCompleted" },
	{ "1.3.6.1.2.1.33.2.3", "upsTrapAlarmEntryAdded" },
	{ "1.3.6.1.2.1.33.2.4", "upsTrapAlarmEntryRemoved" },
	/* upsTraps is arc 2, not 0, so a UPS that sends SNMPv1 traps
	 * (enterprise upsTraps, specific-trap N) becomes upsTraps.0.N under
	 * RFC 3584 3.1; such UPSs are common, so both forms are named. */
	{ "1.3.6.1.2.1.33.2.0.1", "upsTrapOnBattery" },
	{ "1.3.6.1.2.1.33.2.0.2", "upsTrapTestCompleted" },
	{ "1.3.6.1.2.1.33.2.0.3", "upsTrapAlarmEntryAdded" },
	{ "1.3.6.1.2.1.33.2.0.4", "upsTrapAlarmEntryRemoved" },
	{ "1.3.6.1.4.1", "enterprises" },
	{ "1.3.6.1.4.1.9", "cisco" },
	{ "1.3.6.1.4.1.2011", "huawei" },
	{ "1.3.6.1.4.1.8072", "netSnmp" },
	{ "1.3.6.1.4.1.8072.4.0.1", "nsNotifyStart" },
	{ "1.3.6.1.4.1.8072.4.0.2", "nsNotifyShutdown" },
	{ "1.3.6.1.4.1.8072.4.0.3", "nsNotifyRestart" },
	{ "1.3.6.1.4.1.12356", "fortinet" },
	{ "1.3.6.1.4.1.25506", "h3c" },
	{ "1.3.6.1.4.1.28557", "hillstone" },
	{ "1.3.6.1.4.1.35047", "sangfor" },
	{ "1.3.6.1.6.3.1.1.4.1", "snmpTrapOID" },
	{ "1.3.6.1.6.3.1.1.4.3", "snmpTrapEnterprise" },
	{ "1.3.6.1.6.3.1.1.5.1", "coldStart" },
	{ "1.3.6.1.6.3.1.1.5.2", "warmStart" },
	{ "1.3.6.1.6.3.1.1.5.3", "linkDown" },
	{ "1.3.6.1.6.3.1.1.5.4", "linkUp" },
	{ "1.3.6.1.6.3.1.1.5.5", "authenticationFailure" },
	{ "1.3.6.1.6.3.1.1.5.6", "egpNeighborLoss" },
	{ "1.3.6.1.6.3.15.1.1.1", "usmStatsUnsupportedSecLevels" },
	{ "1.3.6.1.6.3.15.1.1.2", "usmStatsNotInTimeWindows" },
	{ "1.3.6.1.6.3.15.1.1.3", "usmStatsUnknownUserNames" },
	{ "1.3.6.1.6.3.15.1.1.4", "usmStatsUnknownEngineIDs" },
	{ "1.3.6.1.6.3.15.1.1.5", "usmStatsWrongDigests" },
	{ "1.3.6.1.6.3.15.1.1.6", "usmStatsDecryptionErrors" },
	{ "1.3.6.1.6.3.18.1.3", "snmpTrapAddress" },
	{ "1.3.6.1.6.3.18.1.4", "snmpTrapCommunity" },
};

struct entry {
	uint64_t hash;          /* of the whole OID, as prefix_hash builds it */
	uint32_t n;             /* arcs */
	uint32_t arcs_off;      /* index into arcs */
	uint32_t name_off;      /* byte offset into names */
};

struct snmp_oids {
	struct entry *ent;
	uint32_t n_ent, cap_ent;
	uint32_t *arcs;
	size_t n_arcs, cap_arcs;
	struct buf names;       /* NUL-terminated names back to back */
	uint32_t *slot;         /* open addressing: entry index + 1, 0 = empty */
	uint32_t n_slot;        /* power of two */
	uint32_t max_arcs;      /* the longest OID: lookups stop there */
};

/* One step of the prefix hash (a 64-bit multiply-xorshift mix). Each arc
 * folds into the previous prefix's hash, so a lookup computes the hash of
 * every prefix of an OID in one pass. */
static inline uint64_t hash_step(uint64_t h, uint32_t arc)
{
	h ^= arc + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static uint64_t hash_oid(const uint32_t *arcs, uint32_t n)
{
	uint64_t h = 0;

	for (uint32_t i = 0; i < n; i++)
		h = hash_step(h, arcs[i]);
	return h;
}

static struct entry *find(const struct snmp_oids *t, uint64_t h, const uint32_t *arcs, uint32_t n)
{
	uint32_t mask = t->n_slot - 1;

	if (t->n_slot == 0)
		return NULL;
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slot[i];
		struct entry *e;

		if (s == 0)
			return NULL;
		e = &t->ent[s - 1];
		if (e->hash == h && e->n == n &&
		    memcmp(t->arcs + e->arcs_off, arcs, n * sizeof(*arcs)) == 0)
			return e;
	}
}

static int rehash(struct snmp_oids *t, uint32_t n_slot)
{
	uint32_t *slot = calloc(n_slot, sizeof(*slot));

	if (slot == NULL)
		return -ENOMEM;
	free(t->slot);
	t->slot = slot;
	t->n_slot = n_slot;
	for (uint32_t k = 0; k < t->n_ent; k++) {
		uint32_t i = (uint32_t)t->ent[k].hash & (n_slot - 1);

		while (slot[i] != 0)
			i = (i + 1) & (n_slot - 1);
		slot[i] = k + 1;
	}
	return 0;
}

/* Adds or renames (a later name for the same OID wins). */
static int add(struct snmp_oids *t, const struct snmp_oid *o, const char *name, size_t len)
{
	uint64_t h = hash_oid(o->arc, o->n);
	struct entry *e = find(t, h, o->arc, o->n);
	size_t name_off = t->names.len;
	int rc;

	rc = buf_append(&t->names, name, len);
	if (rc == 0)
		rc = buf_append_byte(&t->names, 0);
	if (rc < 0)
		return rc;
	if (e != NULL) {
		e->name_off = (uint32_t)name_off;
		return 0;
	}
	if (t->n_ent == t->cap_ent) {
		uint32_t cap = t->cap_ent ? t->cap_ent * 2 : 128;
		struct entry *ent = realloc(t->ent, cap * sizeof(*ent));

		if (ent == NULL)
			return -ENOMEM;
		t->ent = ent;
		t->cap_ent = cap;
	}
	if (t->n_arcs + o->n > t->cap_arcs) {
		size_t cap = (t->cap_arcs + o->n) * 2;
		uint32_t *arcs = realloc(t->arcs, cap * sizeof(*arcs));

		if (arcs == NULL)
			return -ENOMEM;
		t->arcs = arcs;
		t->cap_arcs = cap;
	}
	memcpy(t->arcs + t->n_arcs, o->arc, o->n * sizeof(*o->arc));
	t->ent[t->n_ent] = (struct entry){ h, o->n, (uint32_t)t->n_arcs, (uint32_t)name_off };
	t->n_arcs += o->n;
	t->n_ent++;
	if (o->n > t->max_arcs)
		t->max_arcs = o->n;
	/* Keep the load factor under one half so probes stay short. */
	if ((uint64_t)t->n_ent * 2 > t->n_slot)
		return rehash(t, t->n_slot ? t->n_slot * 2 : 256);
	uint32_t i = (uint32_t)h & (t->n_slot - 1);

	while (t->slot[i] != 0)
		i = (i + 1) & (t->n_slot - 1);
	t->slot[i] = t->n_ent;
	return 0;
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > SNMP_OID_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* Splits off the next blank-separated token of line[*i, n). */
static bool token(const char *line, size_t n, size_t *i, const char **tok, size_t *len)
{
	while (*i < n && (line[*i] == ' ' || line[*i] == '\t' || line[*i] == '\r'))
		(*i)++;
	if (*i >= n)
		return false;
	*tok = line + *i;
	while (*i < n && line[*i] != ' ' && line[*i] != '\t' && line[*i] != '\r')
		(*i)++;
	*len = (size_t)(line + *i - *tok);
	return true;
}

/* One line of the names file (comment already cut). 0, or -EINVAL with
 * the reason in *why. */
static int parse_line(struct snmp_oids *t, const char *line, size_t n, const char **why)
{
	const char *oid_s, *name, *extra;
	size_t oid_n, name_n, extra_n, i = 0;
	struct snmp_oid o;

	if (!token(line, n, &i, &oid_s, &oid_n))
		return 0;
	if (!token(line, n, &i, &name, &name_n) || token(line, n, &i, &extra, &extra_n)) {
		*why = "expected 'OID name'";
		return -EINVAL;
	}
	if (snmp_oid_parse(oid_s, oid_n, &o) < 0) {
		*why = "bad OID (dotted decimal, first arc 0..2, at most 128 arcs)";
		return -EINVAL;
	}
	if (!name_ok(name, name_n)) {
		*why = "bad name (1..127 of letters, digits, '-', '_', '.', ':')";
		return -EINVAL;
	}
	return add(t, &o, name, name_n);
}

static int load_file(struct snmp_oids *t, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	int rc = 0;

	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return rc;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		const char *why = NULL;
		char *hash;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((hash = memchr(line, '#', (size_t)n)) != NULL)
			n = hash - line;
		rc = parse_line(t, line, (size_t)n, &why);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno, why ? why : strerror(-rc));
			goto out;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", file);
	}
out:
	free(line);
	fclose(f);
	return rc;
}

int snmp_oids_create(struct snmp_oids **out, const char *file, char *err, size_t errlen)
{
	struct snmp_oids *t = calloc(1, sizeof(*t));
	int rc = 0;

	*out = NULL;
	if (t == NULL)
		return -ENOMEM;
	buf_init(&t->names);
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]) && rc == 0; i++) {
		struct snmp_oid o;

		rc = snmp_oid_parse(builtin[i][0], strlen(builtin[i][0]), &o);
		if (rc == 0)
			rc = add(t, &o, builtin[i][1], strlen(builtin[i][1]));
	}
	if (rc < 0) {
		snprintf(err, errlen, "built-in OID names: %s", strerror(-rc));
		goto out;
	}
	if (file != NULL)
		rc = load_file(t, file, err, errlen);
out:
	if (rc < 0)
		snmp_oids_destroy(t);
	else
		*out = t;
	return rc;
}

void snmp_oids_destroy(struct snmp_oids *t)
{
	if (t == NULL)
		return;
	free(t->ent);
	free(t->arcs);
	free(t->slot);
	buf_free(&t->names);
	free(t);
}

const char *snmp_oids_lookup(const struct snmp_oids *t, const struct snmp_oid *o,
			     uint32_t *matched)
{
	const struct entry *best = NULL;
	uint32_t lim = o->n < t->max_arcs ? o->n : t->max_arcs;
	uint64_t h = 0;

	*matched = 0;
	for (uint32_t k = 1; k <= lim; k++) {
		const struct entry *e;

		h = hash_step(h, o->arc[k - 1]);
		e = find(t, h, o->arc, k);
		if (e != NULL) {
			best = e;
			*matched = k;
		}
	}
	return best ? (const char *)t->names.data + best->name_off : NULL;
}

size_t snmp_oids_name(const struct snmp_oids *t, const struct snmp_oid *o, char *dst)
{
	uint32_t matched;
	const char *name = snmp_oids_lookup(t, o, &matched);
	size_t n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	memcpy(dst, name, n);
	return n + snmp_oid_format_suffix(o, matched, dst + n);
}
