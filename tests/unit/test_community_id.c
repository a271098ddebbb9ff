/* Community ID v1: the spec's published baselines
 * (corelight/community-id-spec, baseline/baseline_deflt.json and
 * baseline_seed1.json): both directions of each flow, ICMP/ICMPv6 type
 * mapping, one-way ICMP, SCTP, a protocol without ports, and seed 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flow.h"

struct vector {
	uint8_t proto;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	const char *deflt, *seed1;
};

/* sport/dport as the baseline lists them; for ICMP they are the type and
 * the mapped counterpart or code, which community_id_v1 maps to itself. */
static const struct vector vectors[] = {
	{ 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136,
	  "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135,
	  "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136,
	  "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=" },
	{ 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135,
	  "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=" },
	{ 58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0,
	  "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=" },
	{ 58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4,
	  "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=" },
	{ 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129,
	  "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=" },
	{ 58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128,
	  "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=" },
	{ 58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134,
	  "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=" },
	{ 58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133,
	  "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=" },
	{ 1, "192.168.0.89", "192.168.0.1", 8, 0,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, "192.168.0.1", "192.168.0.89", 0, 8,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, "10.0.0.1", "10.0.0.2", 11, 0,
	  "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20=" },
	{ 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7,
	  "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 132, "192.168.170.56", "192.168.170.8", 7, 7,
	  "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 6, "66.35.250.204", "128.232.110.120", 80, 34855,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53,
	  "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 17, "8.8.8.8", "192.168.1.52", 53, 54585,
	  "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 46, "10.1.12.1", "10.1.12.2", 0, 0,
	  "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=" },
	{ 46, "10.1.12.2", "10.1.12.1", 0, 0,
	  "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=" },
};

/* pycommunityid's README table and Zeek's community_id_v1 btest. */
static const struct {
	uint16_t seed;
	uint8_t proto;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	const char *id;
} more[] = {
	{ 0, 6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 0, 6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=" },
	{ 0, 17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=" },
	{ 0, 132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=" },
	{ 0, 1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },
	{ 0, 1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=" },
	{ 0, 1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=" },
	{ 0, 58, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 128, 0,
	  "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=" },
	{ 0, 46, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=" },
	{ 1, 6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 1, 17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=" },
	{ 1, 1, "1.2.3.4", "5.6.7.8", 8, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
};

static uint8_t parse(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	return 6;
}

static void check(uint16_t seed, int which)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint8_t s[16], d[16];
		uint8_t ver = parse(v->saddr, s);
		char out[40];

		assert_int_equal(parse(v->daddr, d), ver);
		assert_int_equal(community_id_v1(seed, ver, v->proto, s, d, v->sport, v->dport, out,
						 sizeof(out)), 0);
		assert_string_equal(out, which ? v->seed1 : v->deflt);
	}
}

static void test_baseline_default(void **state)
{
	(void)state;
	check(0, 0);
}

static void test_baseline_seed1(void **state)
{
	(void)state;
	check(1, 1);
}

/* ICMP as the sensor sees it: echo request and reply by type and code. */
static void test_icmp_type_code(void **state)
{
	uint8_t a[16], b[16];
	char req[40], rep[40];

	(void)state;
	parse("192.168.0.89", a);
	parse("192.168.0.1", b);
	assert_int_equal(community_id_v1(0, 4, 1, a, b, 8, 0, req, sizeof(req)), 0);
	assert_int_equal(community_id_v1(0, 4, 1, b, a, 0, 0, rep, sizeof(rep)), 0);
	assert_string_equal(req, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
	assert_string_equal(rep, req);
}

static void test_more_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		uint8_t s[16], d[16], ver = parse(more[i].saddr, s);
		char out[40];

		assert_int_equal(parse(more[i].daddr, d), ver);
		assert_int_equal(community_id_v1(more[i].seed, ver, more[i].proto, s, d, more[i].sport,
						 more[i].dport, out, sizeof(out)), 0);
		assert_string_equal(out, more[i].id);
	}
}

static void test_errors(void **state)
{
	uint8_t a[16] = { 1 }, b[16] = { 2 };
	char out[40];

	(void)state;
	assert_int_equal(community_id_v1(0, 5, 6, a, b, 1, 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(community_id_v1(0, 4, 6, a, b, 1, 2, out, 30), -EINVAL);
	assert_int_equal(community_id_v1(0, 4, 6, a, b, 1, 2, out, 31), 0);
	assert_int_equal(strlen(out), 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_default),
		cmocka_unit_test(test_baseline_seed1),
		cmocka_unit_test(test_icmp_type_code),
		cmocka_unit_test(test_more_vectors),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
