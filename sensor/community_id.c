/* community_id: Community ID v1 flow hashing
 * (https://github.com/corelight/community-id-spec).
 *
 * SHA-1 over seed . saddr . daddr . proto . 0 . sport . dport (network
 * order), the endpoints ordered so the smaller address:port comes first,
 * then "1:" + base64. SHA-1 comes from mbedtls through its generic md
 * interface, whose one-shot mbedtls_md() is the same in 2.28 and 3.6.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/md.h>

#include "flow.h"
#include "flow_internal.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* Request/reply pairs of ICMP types whose "ports" are the two types (RFC
 * 792, RFC 4443, RFC 4861); any other type is one-way and uses its code.
 * The lists are Zeek's ICMP4_counterpart/ICMP6_counterpart, which the
 * Community ID spec adopts. */
uint16_t flow__icmp_counterpart(uint8_t ip_version, uint8_t type, uint8_t code, bool *one_way)
{
	static const uint8_t v4[][2] = {
		{ 8, 0 }, { 0, 8 },       /* echo, echo reply */
		{ 13, 14 }, { 14, 13 },   /* timestamp */
		{ 15, 16 }, { 16, 15 },   /* information */
		{ 10, 9 },                /* router solicitation -> advertisement */
		{ 17, 18 }, { 18, 17 },   /* address mask */
	};
	static const uint8_t v6[][2] = {
		{ 128, 129 }, { 129, 128 }, /* echo */
		{ 133, 134 }, { 134, 133 }, /* router solicitation, advertisement */
		{ 135, 136 }, { 136, 135 }, /* neighbor solicitation, advertisement */
		{ 130, 131 }, { 131, 130 }, /* MLD query, report */
		{ 139, 140 }, { 140, 139 }, /* node information query, reply */
		{ 144, 145 }, { 145, 144 }, /* home agent address discovery */
	};
	const uint8_t (*map)[2] = ip_version == 6 ? v6 : v4;
	size_t i, n = ip_version == 6 ? sizeof(v6) / sizeof(v6[0]) : sizeof(v4) / sizeof(v4[0]);

	for (i = 0; i < n; i++) {
		if (map[i][0] == type) {
			*one_way = false;
			return map[i][1];
		}
	}
	*one_way = true;
	return code;
}

static void base64(const uint8_t *in, size_t len, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = tab[v >> 18];
		*out++ = tab[(v >> 12) & 63];
		*out++ = tab[(v >> 6) & 63];
		*out++ = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*out++ = tab[v >> 18];
		*out++ = tab[(v >> 12) & 63];
		*out++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

int community_id_v1(uint16_t seed, uint8_t ip_version, uint8_t proto,
		    const uint8_t *src, const uint8_t *dst, uint16_t sport,
		    uint16_t dport, char *out, size_t outlen)
{
	uint8_t buf[2 + 16 + 16 + 2 + 4], digest[20];
	size_t alen, n = 0;
	bool ports = false, one_way = false, swap;
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	int cmp;

	if (out == NULL || outlen < 31 || (ip_version != 4 && ip_version != 6) || md == NULL)
		return -EINVAL;
	alen = ip_version == 4 ? 4 : 16;

	switch (proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		dport = flow__icmp_counterpart(ip_version, (uint8_t)sport, (uint8_t)dport, &one_way);
		ports = true;
		break;
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		ports = true;
		break;
	default:
		sport = dport = 0;
		break;
	}

	/* Smaller address first, the ports decide a tie; one-way ICMP keeps
	 * its direction (the spec's reference implementation). */
	cmp = memcmp(src, dst, alen);
	swap = !one_way && (cmp > 0 || (cmp == 0 && sport > dport));

	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, swap ? dst : src, alen);
	n += alen;
	memcpy(buf + n, swap ? src : dst, alen);
	n += alen;
	buf[n++] = proto;
	buf[n++] = 0;
	if (ports) {
		uint16_t a = swap ? dport : sport, b = swap ? sport : dport;

		buf[n++] = (uint8_t)(a >> 8);
		buf[n++] = (uint8_t)a;
		buf[n++] = (uint8_t)(b >> 8);
		buf[n++] = (uint8_t)b;
	}
	if (mbedtls_md(md, buf, n, digest) != 0)
		return -EINVAL;
	out[0] = '1';
	out[1] = ':';
	base64(digest, sizeof(digest), out + 2);
	return 0;
}
