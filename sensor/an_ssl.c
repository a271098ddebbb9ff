/* an_ssl: the TLS analyzer (issue 5), Zeek's "ssl" service.
 *
 * Each direction is cut into TLS records (RFC 8446 5.1, RFC 5246 6.2)
 * whatever the chunking of the reassembled stream; plaintext handshake
 * records are joined into handshake messages, which may span records
 * (RFC 8446 5.1). A message is buffered whole before it is parsed, up to
 * 64 KiB (Certificate: 256 KiB); larger ones are skipped and counted.
 *
 * From the messages it fills Zeek's ssl.log (SSL::Info): version, cipher,
 * curve, server_name, resumed, last_alert, next_protocol, established,
 * ssl_history, the certificate chains' SHA-256 fingerprints with the
 * leaf's subject and issuer, sni_matches_cert, and the ja3, ja3s and ja4
 * fingerprints of the community packages. TLS <= 1.2 certificates become
 * x509 records (an_ssl_x509.c).
 *
 * Once both directions are encrypted (a ChangeCipherSpec in TLS <= 1.2,
 * an application_data record in TLS 1.3, where ChangeCipherSpec is only
 * for middlebox compatibility, RFC 8446 D.4) and one more encrypted
 * record is seen, the session is established: the ssl record is written
 * and the analyzer detaches, as Zeek does with
 * SSL::disable_analyzer_after_detection. Otherwise the record is written
 * when the flow ends.
 *
 * Malformed input (a record header that is not TLS, a hello whose
 * vectors overflow it, a bad certificate list) is counted with an_weird;
 * the analyzer then stops parsing that flow, keeping what it learnt.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "an_ssl.h"
#include "jsonw.h"

#define SSL_RECORD_MAX    (16384 + 2048)  /* TLSCiphertext.length, RFC 5246 6.2.3 */
#define SSL_MSG_MAX       (64u << 10)     /* a buffered handshake message */
#define SSL_CERT_MSG_MAX  (256u << 10)    /* a buffered Certificate message */
#define SSL_CHAIN_MAX     10              /* certificates per chain taken */
#define SSL_HISTORY_MAX   100             /* Zeek's SSL::max_ssl_history_length */
#define SSL_NAME_MAX      255             /* server_name, next_protocol kept */

enum {
	CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23, CT_HEARTBEAT = 24,
};

enum {
	HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11,
	HS_SERVER_KEY_EXCHANGE = 12, HS_CLIENT_KEY_EXCHANGE = 16,
};

/* ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

struct ssl_dir {
	uint8_t hdr[5];
	uint8_t hdr_len;              /* record header bytes so far */
	uint8_t rec_type;
	uint32_t rec_left;            /* body bytes of the record still to come */
	uint8_t alert[2];
	uint8_t alert_len;
	uint8_t hs_hdr[4];            /* handshake message header */
	uint8_t hs_hdr_len;
	uint32_t hs_len, hs_have;     /* the message body: length, bytes so far */
	uint8_t *hs;                  /* an_alloc'd hs_len bytes; NULL when skipping */
	bool hs_skip;
	bool encrypted;
	char (*fps)[65];              /* an_alloc'd SSL_CHAIN_MAX fingerprints */
	uint8_t nfps;
};

struct ssl_state {
	struct ssl_dir dir[2];        /* [0] responder, [1] originator */
	uint64_t ts_us;
	bool started, done, logged, established, resumed;
	bool client_hello, server_hello, hrr;
	bool ticket_empty_sid, client_psk, cke_seen;
	bool has_version, has_cipher, has_curve, has_sni, has_alpn;
	uint16_t version, cipher, curve;
	uint8_t sid[32], sid_len;
	uint8_t sni_len, alpn_len;
	char sni[SSL_NAME_MAX];
	char alpn[SSL_NAME_MAX];
	const char *last_alert;       /* static, or alert_tmp */
	char alert_tmp[16];
	char history[SSL_HISTORY_MAX + 1];
	uint8_t history_len;
	char ja3[33], ja3s[33], ja4[37];
	struct an_ssl_leaf leaf[2];   /* [0] server's chain, [1] client's */
};

/* ---- a bounds-checked reader ----------------------------------------- */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static bool rd_need(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static unsigned rd_u8(struct rd *r)
{
	return rd_need(r, 1) ? *r->p++ : 0;
}

static unsigned rd_u16(struct rd *r)
{
	unsigned v;

	if (!rd_need(r, 2))
		return 0;
	v = (unsigned)r->p[0] << 8 | r->p[1];
	r->p += 2;
	return v;
}

static unsigned rd_u24(struct rd *r)
{
	unsigned v;

	if (!rd_need(r, 3))
		return 0;
	v = (unsigned)r->p[0] << 16 | (unsigned)r->p[1] << 8 | r->p[2];
	r->p += 3;
	return v;
}

/* A vector of n bytes: a sub-reader over it, and skips it. */
static struct rd rd_sub(struct rd *r, size_t n)
{
	struct rd s = { r->p, r->p, true };

	if (rd_need(r, n)) {
		s.end = r->p + n;
		s.bad = false;
		r->p += n;
	}
	return s;
}

static size_t rd_left(const struct rd *r)
{
	return r->bad ? 0 : (size_t)(r->end - r->p);
}

/* ---- state helpers --------------------------------------------------- */

static void stop(struct ssl_state *st, struct an_session *s, const char *weird)
{
	if (weird)
		an_weird(s, weird);
	if (!st->done) {
		st->done = true;
		an_session_detach(s);
	}
}

/* Zeek's ssl_history: the client's letters upper case. */
static void history(struct ssl_state *st, struct an_session *s, bool is_orig, char c)
{
	if (st->history_len >= SSL_HISTORY_MAX)
		return;
	st->history[st->history_len++] = is_orig ? (char)(c - 'a' + 'A') : c;
	st->history[st->history_len] = '\0';
	if (st->history_len == SSL_HISTORY_MAX)
		an_weird(s, "SSL_max_ssl_history_length_reached");
}

static char hs_letter(unsigned type)
{
	switch (type) {
	case 0: return 'h';
	case 1: return 'c';
	case 2: return 's';
	case 3: return 'v';
	case 4: return 't';
	case 5: return 'e';
	case 6: return 'j';
	case 8: return 'o';
	case 11: return 'x';
	case 12: return 'k';
	case 13: return 'r';
	case 14: return 'n';
	case 15: return 'y';
	case 16: return 'g';
	case 20: return 'f';
	case 21: return 'w';
	case 22: return 'u';
	case 23: return 'a';
	case 24: return 'p';
	case 254: return 'm';
	}
	return 'z';
}

/* ---- the ssl record -------------------------------------------------- */

static void kv_fps(struct jsonw *w, const char *key, const struct ssl_dir *d)
{
	unsigned i;

	if (d->nfps == 0)
		return;
	jsonw_key(w, key);
	jsonw_array_open(w);
	for (i = 0; i < d->nfps; i++)
		jsonw_string_ascii(w, d->fps[i], 64);
	jsonw_array_close(w);
}

static void write_record(struct ssl_state *st, struct an_session *s)
{
	struct jsonw *w;
	char tmp[24];

	/* Like Zeek, a record only once some TLS message was seen. */
	if (st->logged || (st->history_len == 0 && !st->has_version))
		return;
	st->logged = true;
	w = an_record_begin(s, "ssl", st->ts_us);
	if (w == NULL)
		return;
	if (st->has_version)
		jsonw_kv_ascii(w, "version", an_ssl__version_name(st->version, tmp));
	if (st->has_cipher) {
		const char *n = an_ssl__cipher_name(st->cipher);

		if (n == NULL) {
			snprintf(tmp, sizeof(tmp), "unknown-%u", st->cipher);
			n = tmp;
		}
		jsonw_kv_ascii(w, "cipher", n);
	}
	if (st->has_curve) {
		const char *n = an_ssl__curve_name(st->curve);

		if (n == NULL) {
			snprintf(tmp, sizeof(tmp), "unknown-%u", st->curve);
			n = tmp;
		}
		jsonw_kv_ascii(w, "curve", n);
	}
	if (st->has_sni)
		jsonw_kv_str(w, "server_name", st->sni, st->sni_len);
	jsonw_kv_bool(w, "resumed", st->resumed);
	if (st->last_alert)
		jsonw_kv_ascii(w, "last_alert", st->last_alert);
	if (st->has_alpn)
		jsonw_kv_str(w, "next_protocol", st->alpn, st->alpn_len);
	jsonw_kv_bool(w, "established", st->established);
	jsonw_kv_ascii(w, "ssl_history", st->history);
	kv_fps(w, "cert_chain_fps", &st->dir[0]);
	kv_fps(w, "client_cert_chain_fps", &st->dir[1]);
	if (st->leaf[0].subject)
		jsonw_kv_str(w, "subject", st->leaf[0].subject, st->leaf[0].subject_size - 1);
	if (st->leaf[0].issuer)
		jsonw_kv_str(w, "issuer", st->leaf[0].issuer, st->leaf[0].issuer_size - 1);
	if (st->leaf[1].subject)
		jsonw_kv_str(w, "client_subject", st->leaf[1].subject, st->leaf[1].subject_size - 1);
	if (st->leaf[1].issuer)
		jsonw_kv_str(w, "client_issuer", st->leaf[1].issuer, st->leaf[1].issuer_size - 1);
	if (st->has_sni && st->leaf[0].sni_match >= 0)
		jsonw_kv_bool(w, "sni_matches_cert", st->leaf[0].sni_match == 1);
	if (st->ja3[0])
		jsonw_kv_ascii(w, "ja3", st->ja3);
	if (st->ja3s[0])
		jsonw_kv_ascii(w, "ja3s", st->ja3s);
	if (st->ja4[0])
		jsonw_kv_ascii(w, "ja4", st->ja4);
	an_record_end(s, SPOOL_P2);
}

/* ---- hellos ---------------------------------------------------------- */

/* Checks that an extensions block holds whole extensions; returns the
 * length of the well-formed prefix. */
static size_t exts_valid(struct an_session *s, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		size_t elen = (size_t)p[off + 2] << 8 | p[off + 3];

		if (off + 4 + elen > len)
			break;
		off += 4 + elen;
	}
	if (off != len)
		an_weird(s, "SSL_extension_overflow");
	return off;
}

static void client_ext(struct ssl_state *st, struct an_session *s, unsigned type, struct rd *e,
		       struct an_ssl_hello *h, bool *ticket)
{
	struct rd l;
	unsigned n;

	switch (type) {
	case SSL_EXT_SERVER_NAME:
		/* ServerNameList (RFC 6066 3): the first host_name is kept. */
		l = rd_sub(e, rd_u16(e));
		if (l.bad)
			an_weird(s, "SSL_malformed_server_name");
		for (n = 0; rd_left(&l) >= 3; n++) {
			unsigned nt = rd_u8(&l);
			struct rd name = rd_sub(&l, rd_u16(&l));

			if (name.bad) {
				an_weird(s, "SSL_malformed_server_name");
				break;
			}
			if (nt != 0 || st->has_sni || n > 0) {
				if (n > 0)
					an_weird(s, "SSL_many_server_names");
				continue;
			}
			st->sni_len = (uint8_t)(rd_left(&name) > SSL_NAME_MAX ? SSL_NAME_MAX
									  : rd_left(&name));
			memcpy(st->sni, name.p, st->sni_len);
			st->has_sni = true;
		}
		break;
	case SSL_EXT_SUPPORTED_GROUPS:
		l = rd_sub(e, rd_u16(e));
		h->groups = l.p;
		h->groups_len = rd_left(&l);
		break;
	case SSL_EXT_EC_POINT_FORMATS:
		l = rd_sub(e, rd_u8(e));
		h->point_formats = l.p;
		h->point_formats_len = rd_left(&l);
		break;
	case SSL_EXT_SIGNATURE_ALGORITHMS:
		l = rd_sub(e, rd_u16(e));
		h->sig_algs = l.p;
		h->sig_algs_len = rd_left(&l);
		break;
	case SSL_EXT_ALPN:
		h->has_alpn = true;
		l = rd_sub(e, rd_u16(e));
		if (rd_left(&l) >= 1) {
			struct rd first = rd_sub(&l, rd_u8(&l));

			if (!first.bad) {
				h->alpn = first.p;
				h->alpn_len = rd_left(&first);
			}
		}
		break;
	case SSL_EXT_SUPPORTED_VERSIONS:
		l = rd_sub(e, rd_u8(e));
		while (rd_left(&l) >= 2) {
			unsigned v = rd_u16(&l);

			if (!an_ssl__grease((uint16_t)v) && v > h->max_version)
				h->max_version = (uint16_t)v;
		}
		break;
	case SSL_EXT_SESSION_TICKET:
		*ticket = rd_left(e) > 0;
		break;
	case SSL_EXT_PRE_SHARED_KEY:
		st->client_psk = true;
		break;
	}
}

static void fingerprint_client(struct ssl_state *st, struct an_session *s,
			       const struct an_ssl_hello *h)
{
	size_t n = (h->ciphers_len > h->exts_len ? h->ciphers_len : h->exts_len) / 2 + 1;
	uint16_t *scratch = an_alloc(s, n * sizeof(*scratch));

	if (an_ssl__ja3(h, st->ja3) != 0)
		st->ja3[0] = '\0';
	if (scratch == NULL)
		return;
	if (an_ssl__ja4(h, scratch, st->ja4) != 0)
		st->ja4[0] = '\0';
	an_free(s, scratch, n * sizeof(*scratch));
}

/* ClientHello, RFC 8446 4.1.2 / RFC 5246 7.4.1.2. */
static void client_hello(struct ssl_state *st, struct an_session *s, struct rd *r)
{
	struct an_ssl_hello h;
	struct rd sid, cs, ex;
	bool ticket = false, sid_kept = false;
	size_t off;

	memset(&h, 0, sizeof(h));
	h.version = (uint16_t)rd_u16(r);
	rd_sub(r, 32);
	sid = rd_sub(r, rd_u8(r));
	cs = rd_sub(r, rd_u16(r));
	rd_sub(r, rd_u8(r));
	memset(&ex, 0, sizeof(ex));
	if (rd_left(r) > 0)
		ex = rd_sub(r, rd_u16(r));
	if (r->bad || rd_left(&sid) > 32 || rd_left(&cs) % 2 != 0) {
		stop(st, s, "SSL_malformed_client_hello");
		return;
	}
	h.ciphers = cs.p;
	h.ciphers_len = rd_left(&cs);
	h.exts = ex.p;
	h.exts_len = ex.p ? exts_valid(s, ex.p, rd_left(&ex)) : 0;
	/* A second ClientHello (after a HelloRetryRequest) keeps the
	 * first one's name and fingerprints. */
	if (st->client_hello)
		return;
	st->client_hello = true;
	for (off = 0; off < h.exts_len; ) {
		unsigned type = (unsigned)h.exts[off] << 8 | h.exts[off + 1];
		size_t elen = (size_t)h.exts[off + 2] << 8 | h.exts[off + 3];
		struct rd e = { h.exts + off + 4, h.exts + off + 4 + elen, false };

		client_ext(st, s, type, &e, &h, &ticket);
		off += 4 + elen;
	}
	/* Zeek's session-resumption bookkeeping: a real session id (not 32
	 * zero bytes) is remembered; a ticket with no session id makes a
	 * ChangeCipherSpec without ClientKeyExchange a resumption. */
	if (rd_left(&sid) > 0) {
		static const uint8_t zero[32];

		if (!(rd_left(&sid) == 32 && memcmp(sid.p, zero, 32) == 0)) {
			st->sid_len = (uint8_t)rd_left(&sid);
			memcpy(st->sid, sid.p, st->sid_len);
			sid_kept = true;
		}
	}
	st->ticket_empty_sid = ticket && !sid_kept;
	fingerprint_client(st, s, &h);
}

static void server_ext(struct ssl_state *st, struct an_session *s, unsigned type, struct rd *e,
		       uint16_t *selected)
{
	struct rd l;

	switch (type) {
	case SSL_EXT_SUPPORTED_VERSIONS:
		if (rd_left(e) == 2)
			*selected = (uint16_t)rd_u16(e);
		break;
	case SSL_EXT_KEY_SHARE:
		/* KeyShareServerHello, or the selected_group of a
		 * HelloRetryRequest (RFC 8446 4.2.8). */
		if (rd_left(e) >= 2) {
			st->curve = (uint16_t)rd_u16(e);
			st->has_curve = true;
		}
		break;
	case SSL_EXT_ALPN:
		l = rd_sub(e, rd_u16(e));
		if (rd_left(&l) >= 1) {
			struct rd p = rd_sub(&l, rd_u8(&l));

			if (!p.bad) {
				st->alpn_len = (uint8_t)(rd_left(&p) > SSL_NAME_MAX ? SSL_NAME_MAX
										: rd_left(&p));
				memcpy(st->alpn, p.p, st->alpn_len);
				st->has_alpn = true;
			}
		}
		break;
	case SSL_EXT_PRE_SHARED_KEY:
		if (st->client_psk)
			st->resumed = true;
		break;
	}
}

/* ServerHello and HelloRetryRequest, RFC 8446 4.1.3 / RFC 5246 7.4.1.3. */
static void server_hello(struct ssl_state *st, struct an_session *s, struct rd *r)
{
	struct an_ssl_hello h;
	struct rd random, sid, ex;
	uint16_t selected = 0;
	size_t off;

	memset(&h, 0, sizeof(h));
	h.version = (uint16_t)rd_u16(r);
	random = rd_sub(r, 32);
	sid = rd_sub(r, rd_u8(r));
	h.cipher = (uint16_t)rd_u16(r);
	rd_u8(r);
	memset(&ex, 0, sizeof(ex));
	if (rd_left(r) > 0)
		ex = rd_sub(r, rd_u16(r));
	if (r->bad || rd_left(&sid) > 32) {
		stop(st, s, "SSL_malformed_server_hello");
		return;
	}
	st->hrr = memcmp(random.p, hrr_random, 32) == 0;
	h.exts = ex.p;
	h.exts_len = ex.p ? exts_valid(s, ex.p, rd_left(&ex)) : 0;
	for (off = 0; off < h.exts_len; ) {
		unsigned type = (unsigned)h.exts[off] << 8 | h.exts[off + 1];
		size_t elen = (size_t)h.exts[off + 2] << 8 | h.exts[off + 3];
		struct rd e = { h.exts + off + 4, h.exts + off + 4 + elen, false };

		server_ext(st, s, type, &e, &selected);
		off += 4 + elen;
	}
	st->server_hello = true;
	st->version = selected ? selected : h.version;
	st->has_version = true;
	st->cipher = h.cipher;
	st->has_cipher = true;
	if (st->version < 0x0304 && st->sid_len > 0 && rd_left(&sid) == st->sid_len &&
	    memcmp(sid.p, st->sid, st->sid_len) == 0)
		st->resumed = true;
	if (an_ssl__ja3s(&h, st->ja3s) != 0)
		st->ja3s[0] = '\0';
}

/* ServerKeyExchange (RFC 8422 5.4): for ECDHE suites, ECParameters
 * start with curve_type named_curve (3) and the NamedCurve. */
static void server_key_exchange(struct ssl_state *st, struct rd *r)
{
	const char *name = an_ssl__cipher_name(st->cipher);

	if (st->version >= 0x0304 || name == NULL ||
	    (strstr(name, "_ECDHE_") == NULL && strstr(name, "_ECDH_anon_") == NULL))
		return;
	if (rd_u8(r) == 3 && rd_left(r) >= 2) {
		st->curve = (uint16_t)rd_u16(r);
		st->has_curve = true;
	}
}

/* Certificate of TLS <= 1.2 (RFC 5246 7.4.2); TLS 1.3 sends it
 * encrypted. */
static void certificate(struct ssl_state *st, struct an_session *s, bool is_orig, struct rd *r,
			uint64_t ts_us)
{
	struct ssl_dir *d = &st->dir[is_orig];
	struct rd list = rd_sub(r, rd_u24(r));
	unsigned i;

	if (st->version >= 0x0304)
		return;
	if (list.bad || rd_left(r) != 0) {
		stop(st, s, "SSL_bad_certificate_list");
		return;
	}
	if (d->fps == NULL) {
		d->fps = an_alloc(s, SSL_CHAIN_MAX * sizeof(*d->fps));
		if (d->fps == NULL)
			return;
	}
	d->nfps = 0;
	for (i = 0; rd_left(&list) > 0; i++) {
		struct rd der = rd_sub(&list, rd_u24(&list));

		if (der.bad) {
			stop(st, s, "SSL_bad_certificate_list");
			return;
		}
		if (i >= SSL_CHAIN_MAX) {
			an_weird(s, "SSL_too_many_certificates");
			break;
		}
		if (an_ssl__sha256_hex(der.p, rd_left(&der), d->fps[d->nfps]) != 0)
			continue;
		d->nfps++;
		an_ssl__x509(s, der.p, rd_left(&der), d->fps[d->nfps - 1], i, is_orig,
			     st->has_sni ? st->sni : NULL, st->sni_len, &st->leaf[is_orig], ts_us);
	}
}

static void handshake_msg(struct ssl_state *st, struct an_session *s, bool is_orig, unsigned type,
			  const uint8_t *p, size_t len, uint64_t ts_us)
{
	static const uint8_t empty[1];
	struct rd r = { p ? p : empty, p ? p + len : empty, false };

	switch (type) {
	case HS_CLIENT_HELLO:
		history(st, s, is_orig, 'c');
		if (!is_orig)
			an_weird(s, "SSL_client_hello_from_responder");
		else
			client_hello(st, s, &r);
		return;
	case HS_SERVER_HELLO:
		if (is_orig) {
			history(st, s, is_orig, 's');
			an_weird(s, "SSL_server_hello_from_originator");
			return;
		}
		server_hello(st, s, &r);
		history(st, s, is_orig, st->hrr ? 'j' : 's');
		return;
	case HS_CERTIFICATE:
		certificate(st, s, is_orig, &r, ts_us);
		break;
	case HS_SERVER_KEY_EXCHANGE:
		if (!is_orig)
			server_key_exchange(st, &r);
		break;
	case HS_CLIENT_KEY_EXCHANGE:
		if (is_orig)
			st->cke_seen = true;
		break;
	}
	history(st, s, is_orig, hs_letter(type));
}

/* ---- handshake message layer ----------------------------------------- */

static void hs_reset(struct an_session *s, struct ssl_dir *d)
{
	if (d->hs)
		an_free(s, d->hs, d->hs_len);
	d->hs = NULL;
	d->hs_hdr_len = 0;
	d->hs_len = d->hs_have = 0;
	d->hs_skip = false;
}

static void hs_feed(struct ssl_state *st, struct an_session *s, bool is_orig, const uint8_t *p,
		    size_t n, uint64_t ts_us)
{
	struct ssl_dir *d = &st->dir[is_orig];

	while (n > 0 && !st->done) {
		size_t take;

		if (d->hs_hdr_len < 4) {
			take = 4u - d->hs_hdr_len;
			if (take > n)
				take = n;
			memcpy(d->hs_hdr + d->hs_hdr_len, p, take);
			d->hs_hdr_len = (uint8_t)(d->hs_hdr_len + take);
			p += take;
			n -= take;
			if (d->hs_hdr_len < 4)
				return;
			d->hs_len = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 |
				    d->hs_hdr[3];
			d->hs_have = 0;
			if (d->hs_len > (d->hs_hdr[0] == HS_CERTIFICATE ? SSL_CERT_MSG_MAX
									  : SSL_MSG_MAX)) {
				an_weird(s, "SSL_handshake_message_too_large");
				d->hs_skip = true;
			} else if (d->hs_len > 0) {
				d->hs = an_alloc(s, d->hs_len);
				d->hs_skip = d->hs == NULL;
			}
		}
		take = d->hs_len - d->hs_have;
		if (take > n)
			take = n;
		if (d->hs)
			memcpy(d->hs + d->hs_have, p, take);
		d->hs_have += (uint32_t)take;
		p += take;
		n -= take;
		if (d->hs_have == d->hs_len) {
			if (!d->hs_skip)
				handshake_msg(st, s, is_orig, d->hs_hdr[0], d->hs, d->hs_len, ts_us);
			else
				history(st, s, is_orig, hs_letter(d->hs_hdr[0]));
			hs_reset(s, d);
		}
	}
}

/* ---- record layer ---------------------------------------------------- */

/* An encrypted record: once both sides encrypt, the handshake is over. */
static void ciphertext(struct ssl_state *st, struct an_session *s)
{
	if (st->established || !st->dir[0].encrypted || !st->dir[1].encrypted)
		return;
	st->established = true;
	write_record(st, s);
	stop(st, s, NULL);
}

static void record_end(struct ssl_state *st, struct an_session *s, bool is_orig)
{
	struct ssl_dir *d = &st->dir[is_orig];

	switch (d->rec_type) {
	case CT_CCS:
		history(st, s, is_orig, 'i');
		/* TLS 1.3's ChangeCipherSpec changes nothing (RFC 8446 D.4). */
		if (st->server_hello && st->version < 0x0304)
			d->encrypted = true;
		if (is_orig && st->ticket_empty_sid && !st->cke_seen)
			st->resumed = true;
		break;
	case CT_ALERT:
		if (!d->encrypted && d->alert_len == 2) {
			history(st, s, is_orig, 'l');
			st->last_alert = an_ssl__alert_name(d->alert[1], st->alert_tmp);
		}
		break;
	case CT_HANDSHAKE:
		if (d->encrypted)
			ciphertext(st, s);
		break;
	case CT_APPDATA:
		d->encrypted = true;
		ciphertext(st, s);
		break;
	case CT_HEARTBEAT:
		history(st, s, is_orig, 'b');
		break;
	}
	d->alert_len = 0;
}

static void record_body(struct ssl_state *st, struct an_session *s, bool is_orig,
			const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct ssl_dir *d = &st->dir[is_orig];

	if (d->encrypted)
		return;
	if (d->rec_type == CT_HANDSHAKE) {
		hs_feed(st, s, is_orig, p, n, ts_us);
	} else if (d->rec_type == CT_ALERT) {
		while (n > 0 && d->alert_len < 2) {
			d->alert[d->alert_len++] = *p++;
			n--;
		}
	}
}

/* RFC 8446 5.1: ContentType (20..24), legacy_record_version 0x03XX with
 * XX <= 4 (0x0300 is SSL 3.0), and a length within TLSCiphertext's. */
static bool record_header_ok(const uint8_t h[5])
{
	unsigned len = (unsigned)h[3] << 8 | h[4];

	return h[0] >= CT_CCS && h[0] <= CT_HEARTBEAT && h[1] == 3 && h[2] <= 4 &&
	       len <= SSL_RECORD_MAX;
}

static void data(void *vst, struct an_session *s, bool is_orig, const uint8_t *p, size_t n,
		 uint64_t ts_us)
{
	struct ssl_state *st = vst;
	struct ssl_dir *d = &st->dir[is_orig];

	while (n > 0 && !st->done) {
		size_t take;

		if (d->hdr_len < 5) {
			take = 5u - d->hdr_len;
			if (take > n)
				take = n;
			memcpy(d->hdr + d->hdr_len, p, take);
			d->hdr_len = (uint8_t)(d->hdr_len + take);
			p += take;
			n -= take;
			if (d->hdr_len < 5)
				return;
			if (!record_header_ok(d->hdr)) {
				stop(st, s, "SSL_bad_record_header");
				return;
			}
			if (!st->started) {
				st->started = true;
				st->ts_us = ts_us;
			}
			d->rec_type = d->hdr[0];
			d->rec_left = (uint32_t)d->hdr[3] << 8 | d->hdr[4];
			d->alert_len = 0;
		}
		take = d->rec_left;
		if (take > n)
			take = n;
		record_body(st, s, is_orig, p, take, ts_us);
		p += take;
		n -= take;
		d->rec_left -= (uint32_t)take;
		if (d->rec_left == 0 && !st->done) {
			d->hdr_len = 0;
			record_end(st, s, is_orig);
		}
	}
}

/* A gap loses the record framing of that direction: stop here and log
 * what was seen (missed bytes are in the conn record). */
static void gap(void *vst, struct an_session *s, bool is_orig, uint64_t len)
{
	stop(vst, s, NULL);
}

static int init(void *vst, struct an_session *s)
{
	struct ssl_state *st = vst;

	st->leaf[0].sni_match = st->leaf[1].sni_match = -1;
	return 0;
}

static void end(void *vst, struct an_session *s, uint64_t ts_us)
{
	struct ssl_state *st = vst;
	int i;

	write_record(st, s);
	for (i = 0; i < 2; i++) {
		hs_reset(s, &st->dir[i]);
		if (st->dir[i].fps)
			an_free(s, st->dir[i].fps, SSL_CHAIN_MAX * sizeof(*st->dir[i].fps));
		st->dir[i].fps = NULL;
		an_ssl__leaf_free(s, &st->leaf[i]);
	}
}

/* ---- detection ------------------------------------------------------- */

/* A handshake record header followed by the hello the side would send
 * first: ClientHello from the originator, ServerHello from the
 * responder (a capture that missed the client's first bytes). */
static enum an_probe_result probe_side(const uint8_t *p, size_t len, uint8_t hello)
{
	if (len >= 1 && p[0] != CT_HANDSHAKE)
		return AN_PROBE_NO;
	if (len >= 2 && p[1] != 3)
		return AN_PROBE_NO;
	if (len >= 3 && p[2] > 4)
		return AN_PROBE_NO;
	if (len >= 5 && ((unsigned)p[3] << 8 | p[4]) > SSL_RECORD_MAX)
		return AN_PROBE_NO;
	if (len >= 5 && ((unsigned)p[3] << 8 | p[4]) < 4)
		return AN_PROBE_NO;
	if (len >= 6 && p[5] != hello)
		return AN_PROBE_NO;
	/* The hello's length is 24 bits; one of 64 KiB or more is no hello. */
	if (len >= 7 && p[6] != 0)
		return AN_PROBE_NO;
	return len >= 6 ? AN_PROBE_YES : AN_PROBE_MAYBE;
}

static enum an_probe_result probe(const struct an_probe_view *v)
{
	if (v->proto != IPPROTO_TCP)
		return AN_PROBE_NO;
	if (v->orig_len > 0)
		return probe_side(v->orig, v->orig_len, HS_CLIENT_HELLO);
	if (v->resp_len > 0)
		return probe_side(v->resp, v->resp_len, HS_SERVER_HELLO);
	return AN_PROBE_MAYBE;
}

const struct analyzer an_ssl = {
	.name = "ssl",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct ssl_state),
	.probe = probe,
	.init = init,
	.data = data,
	.gap = gap,
	.end = end,
};
