#include "sources.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sources_init(struct source_table *t, size_t max)
{
	size_t cap = 16;

	memset(t, 0, sizeof(*t));
	if (max == 0)
		return -EINVAL;
	/* Keep the load factor at or below one half so probes stay short. */
	while (cap < max * 2)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL)
		return -ENOMEM;
	t->cap = cap;
	t->max = max;
	return 0;
}

void sources_free(struct source_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a over the address bytes: cheap, and senders are few. */
static size_t addr_hash(uint8_t family, const uint8_t *a, size_t n)
{
	uint32_t h = 2166136261u ^ family;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

static int sa_key(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16], size_t *n)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*family = AF_INET;
		memcpy(addr, &in->sin_addr, 4);
		*n = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
			*n = 4;
		} else {
			*family = AF_INET6;
			memcpy(addr, in6->sin6_addr.s6_addr, 16);
			*n = 16;
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

struct source *sources_get(struct source_table *t, const struct sockaddr *sa,
					 int64_t now_us)
{
	uint8_t family, addr[16] = { 0 };
	size_t n, i, mask = t->cap - 1;
	struct source *s;

	if (sa_key(sa, &family, addr, &n) < 0)
		return NULL;
	for (i = addr_hash(family, addr, n) & mask;; i = (i + 1) & mask) {
		s = &t->slots[i];
		if (s->family == family && memcmp(s->addr, addr, 16) == 0)
			return s;
		if (s->family == 0)
			break;
	}
	if (t->n >= t->max) {
		t->overflow_messages++;
		return NULL;
	}
	s->family = family;
	memcpy(s->addr, addr, 16);
	inet_ntop(family, addr, s->name, sizeof(s->name));
	s->first_us = now_us;
	t->n++;
	return s;
}

void sockaddr_format(const struct sockaddr *sa, char *dst, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(dst, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, ip, sizeof(ip));
			snprintf(dst, len, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(dst, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(dst, len, "unknown");
	}
}
