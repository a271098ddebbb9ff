/* The per-source table: one entry per address, v4-mapped v6 folded into
 * v4, bounded with an overflow counter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sources.h"

static struct sockaddr_storage v4(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, ip, &in6->sin6_addr);
	return ss;
}

static void same_address_any_port(void **state)
{
	struct source_table t;
	struct sockaddr_storage a = v4("192.0.2.7", 514), b = v4("192.0.2.7", 40000);
	struct source *s1, *s2;

	(void)state;
	assert_int_equal(sources_init(&t, 8), 0);
	s1 = sources_get(&t, (struct sockaddr *)&a, 1);
	s2 = sources_get(&t, (struct sockaddr *)&b, 2);
	assert_non_null(s1);
	assert_ptr_equal(s1, s2);
	assert_string_equal(s1->name, "192.0.2.7");
	assert_int_equal(s1->first_us, 1);
	assert_int_equal(t.n, 1);
	sources_free(&t);
}

static void v4_mapped_is_v4(void **state)
{
	struct source_table t;
	struct sockaddr_storage a = v4("198.51.100.1", 1), b = v6("::ffff:198.51.100.1", 2);
	struct sockaddr_storage c = v6("2001:db8::1", 3);

	(void)state;
	assert_int_equal(sources_init(&t, 8), 0);
	assert_ptr_equal(sources_get(&t, (struct sockaddr *)&a, 1),
			 sources_get(&t, (struct sockaddr *)&b, 1));
	assert_string_equal(sources_get(&t, (struct sockaddr *)&c, 1)->name, "2001:db8::1");
	assert_int_equal(t.n, 2);
	sources_free(&t);
}

static void bounded_with_overflow(void **state)
{
	struct source_table t;
	char ip[32];
	int i;

	(void)state;
	assert_int_equal(sources_init(&t, 100), 0);
	for (i = 0; i < 150; i++) {
		struct sockaddr_storage a;

		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		a = v4(ip, 514);
		if (i < 100)
			assert_non_null(sources_get(&t, (struct sockaddr *)&a, i));
		else
			assert_null(sources_get(&t, (struct sockaddr *)&a, i));
	}
	assert_int_equal(t.n, 100);
	assert_int_equal(t.overflow_messages, 50);
	sources_free(&t);
	sources_free(NULL);
}

static void format_peers(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1", 514), b = v6("2001:db8::2", 6514);
	struct sockaddr_storage c = v6("::ffff:192.0.2.3", 5514);
	char out[64];

	(void)state;
	sockaddr_format((struct sockaddr *)&a, out, sizeof(out));
	assert_string_equal(out, "192.0.2.1:514");
	sockaddr_format((struct sockaddr *)&b, out, sizeof(out));
	assert_string_equal(out, "[2001:db8::2]:6514");
	sockaddr_format((struct sockaddr *)&c, out, sizeof(out));
	assert_string_equal(out, "192.0.2.3:5514");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_address_any_port),
		cmocka_unit_test(v4_mapped_is_v4),
		cmocka_unit_test(bounded_with_overflow),
		cmocka_unit_test(format_peers),
	};

	return cmocka_run_group_tests_name("sources", tests, NULL, NULL);
}
