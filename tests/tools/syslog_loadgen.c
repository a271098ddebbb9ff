/* syslog_loadgen: a syslog load generator for `make bench`.
 *
 *   syslog_loadgen HOST PORT COUNT [--udp] [--connections N] [--seed S] [--wait]
 *   syslog_loadgen - 0 COUNT            (writes the TCP stream to stdout)
 *
 * Sends COUNT realistic syslog messages: a weighted mix of the devices a
 * hospital network actually forwards (Huawei USG, H3C, Sangfor AF,
 * Hillstone, Cisco ASA, FortiGate key=value, Linux sshd, Windows events
 * through Snare and NXLog), about 10% of them GBK-encoded as older Chinese
 * firmware sends them. Sequence numbers, addresses, ports, byte counts and
 * timestamps change from message to message.
 *
 * Over TCP the messages are framed by octet counting (RFC 6587, 3.4.1:
 * "LEN SP MSG"); with --connections N they are split into N contiguous
 * runs sent in parallel, one thread per connection. With --udp each message
 * is one datagram (RFC 5426), sent in batches with sendmmsg(); a receiver
 * that cannot keep up loses datagrams, which is what UDP does.
 *
 * The generator must never be the bottleneck of a benchmark, so every
 * message is built into one buffer before the first byte is sent, and the
 * buffer goes out in large write() calls. Building costs about a quarter
 * of a second per million messages and is not part of the timing.
 *
 * On success it prints one line on stdout:
 *
 *   messages=1000000 bytes=359000000 payload=352000000 gbk=100423 elapsed_s=0.912345 start_unix=1700574312.123456789
 *
 * bytes is what went on the wire; payload is the messages alone, without
 * octet-count prefixes, so a peer that writes each message plus a newline
 * has written payload + messages bytes when it is done.
 * With --wait it builds the messages and connects, prints "ready" on
 * stdout, and starts sending only when a line (or end of file) arrives on
 * stdin, so that a caller can prepare the machine in between (bench/run.sh
 * warms the page cache there).
 *
 * elapsed_s runs from the moment every connection is established to the
 * moment the last byte was handed to the kernel; start_unix is the wall
 * clock at that first moment, so a caller can time the receiver's side
 * from the same origin. Exit status: 0, 1 on a send or connect error,
 * 2 on bad usage.
 */
#include <errno.h>
#include <iconv.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the vendor sample table ---------------------------------------------
 *
 * Templates are UTF-8 text with {FIELD} placeholders; the fields are filled
 * per message (see enum field). A GBK sample's literal text is converted to
 * GBK once at startup; the placeholders only ever produce ASCII, which GBK
 * shares, so the message as a whole is valid GBK. Weights are per mille of
 * the messages sent; the GBK rows add up to 100.
 */
struct sample {
	const char *vendor;
	unsigned weight;
	int gbk;
	const char *tmpl;
};

static const struct sample samples[] = {
	/* Huawei USG: "Mmm dd yyyy hh:mm:ss host %%01MOD/sev/MNEMONIC(l):..." */
	{ "huawei-usg", 120, 0,
	  "<190>{BSDY} USG6650E-HQ %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp,"
	  "SourceIP={SIP},DestinationIP={DIP},SourcePort={SPORT},DestinationPort={DPORT},"
	  "SourceNatIP={NIP},SourceNatPort={NPORT},BeginTime={EPOCH0},EndTime={EPOCH},"
	  "SendPkts={PKTS},SendBytes={BYTES},RcvPkts={RPKTS},RcvBytes={RBYTES},"
	  "SourceVpnID=0,DestinationVpnID=0,SourceZone=trust,DestinationZone=untrust,"
	  "PolicyName=his-out-web,CloseReason=tcp-fin,ApplicationName=HTTPS." },
	{ "huawei-usg", 50, 0,
	  "<188>{BSDY} USG6650E-HQ %%01POLICY/4/POLICYDENY(l):vsys=public, protocol=6, "
	  "source-ip={SIP}, source-port={SPORT}, destination-ip={DIP}, destination-port={DPORT}, "
	  "time={YMDS} {HMS}, source-zone=trust, destination-zone=untrust, "
	  "application-name=SMB, rule-name=deny-smb-outbound." },

	/* H3C Comware: "Mmm dd hh:mm:ss yyyy host %%10MOD/sev/MNEMONIC: ..." */
	{ "h3c", 100, 0,
	  "<190>{BSD} {YEAR} H3C-F5030-HIS %%10FILTER/6/FILTER_ZONE_IPV4_EXECUTION: "
	  "SrcZoneName(1025)=Trust;DstZoneName(1035)=Untrust;Type(1067)=ACL;"
	  "SecurityPolicy(1072)=his-internet;RuleID(1078)={N};Protocol(1001)=TCP;"
	  "Application(1002)=https;SrcIPAddr(1003)={SIP};SrcPort(1004)={SPORT};"
	  "DstIPAddr(1007)={DIP};DstPort(1008)={DPORT};MatchCount(1069)=1;Event(1048)=Permit;" },
	{ "h3c", 15, 0,
	  "<187>{BSD} {YEAR} HIS-CORE-S7506 %%10IFNET/3/PHY_UPDOWN: "
	  "Physical state on the interface GigabitEthernet1/0/{N} changed to down." },
	{ "h3c", 15, 0,
	  "<190>{BSD} {YEAR} HIS-CORE-S7506 %%10SSHS/6/SSHS_AUTH_FAIL: SSH user {USER} "
	  "(IP: {SIP}) didn't pass public key authentication for wrong public key algorithm." },

	/* Sangfor AF: Chinese key:value text after "fwlog:". Current firmware
	 * sends UTF-8, older releases GBK. */
	{ "sangfor-af", 60, 0,
	  "<134>{BSD} AF-1000-HIS fwlog: 日志类型:服务控制或应用控制, 用户:(null), "
	  "源IP:{SIP}, 源端口:{SPORT}, 目的IP:{DIP}, 目的端口:{DPORT}, 应用类型:网站浏览, "
	  "应用名称:HTTPS, 系统动作:允许" },
	{ "sangfor-af", 40, 1,
	  "<132>{BSD} AF-1000-HIS fwlog: 日志类型:僵尸网络, 用户:{SIP}, 源IP:{SIP}, "
	  "源端口:{SPORT}, 目的IP:{DIP}, 目的端口:{DPORT}, 攻击类型:恶意域名访问, "
	  "严重级别:高, 系统动作:被记录, URL:update.malware-c2.example.net" },

	/* Hillstone StoneOS: "Module@FACILITY: ..." */
	{ "hillstone", 80, 0,
	  "<190>{BSD} SG-6000-E5760 Traffic@FLOW: SESSION: {SIP}:{SPORT}->{DIP}:{DPORT}(TCP), "
	  "application HTTPS, interface ethernet0/2, vr trust-vr, policy 27, user -@-, host -, "
	  "send packets {PKTS},send bytes {BYTES},receive packets {RPKTS},receive bytes {RBYTES},"
	  "start time {DATE} {HMS},close time {DATE} {HMS},session end,TCP FIN" },
	{ "hillstone", 30, 1,
	  "<186>{BSD} SG-6000-E5760 Threat@SECURITY: 从{DIP}:{SPORT}(ethernet0/1)到"
	  "{SIP}:{DPORT}(ethernet0/2), 威胁名称:SMB远程代码执行漏洞, 威胁类型:漏洞利用, "
	  "威胁子类型:缓冲区溢出, 应用/协议:SMB, 响应行为:重置, 检测引擎:IPS, "
	  "威胁级别:严重, 策略ID:{N}" },

	/* Cisco ASA with "logging timestamp": "Mmm dd yyyy hh:mm:ss: %ASA-..." */
	{ "cisco-asa", 70, 0,
	  "<166>{BSDY}: %ASA-6-302013: Built outbound TCP connection {SEQ} for "
	  "outside:{DIP}/{DPORT} ({DIP}/{DPORT}) to inside:{SIP}/{SPORT} ({NIP}/{NPORT})" },
	{ "cisco-asa", 70, 0,
	  "<166>{BSDY}: %ASA-6-302014: Teardown TCP connection {SEQ} for outside:{DIP}/{DPORT} "
	  "to inside:{SIP}/{SPORT} duration 0:{MMSS} bytes {BYTES} TCP FINs" },
	{ "cisco-asa", 40, 0,
	  "<164>{BSDY}: %ASA-4-106023: Deny tcp src outside:{DIP}/{SPORT} dst inside:{SIP}/{DPORT} "
	  "by access-group \"outside_access_in\" [0x5063b82f, 0x0]" },

	/* FortiGate: key=value, no header beyond the PRI. */
	{ "fortigate", 100, 0,
	  "<189>date={DATE} time={HMS} devname=\"FG200F-HIS\" devid=\"FG200FT922900123\" "
	  "eventtime={EPOCHNS} tz=\"+0800\" logid=\"0000000013\" type=\"traffic\" "
	  "subtype=\"forward\" level=\"notice\" vd=\"root\" srcip={SIP} srcport={SPORT} "
	  "srcintf=\"port2\" srcintfrole=\"lan\" dstip={DIP} dstport={DPORT} dstintf=\"wan1\" "
	  "dstintfrole=\"wan\" srccountry=\"Reserved\" dstcountry=\"China\" sessionid={SEQ} "
	  "proto=6 action=\"close\" policyid=12 policytype=\"policy\" "
	  "poluuid=\"5c0f6d8a-2c4e-51ee-7d1a-8a3c0b1f4e21\" service=\"HTTPS\" trandisp=\"snat\" "
	  "transip={NIP} transport={NPORT} appcat=\"unscanned\" duration={DUR} "
	  "sentbyte={BYTES} rcvdbyte={RBYTES} sentpkt={PKTS} rcvdpkt={RPKTS}" },
	{ "fortigate", 20, 0,
	  "<185>date={DATE} time={HMS} devname=\"FG200F-HIS\" devid=\"FG200FT922900123\" "
	  "eventtime={EPOCHNS} tz=\"+0800\" logid=\"0419016384\" type=\"utm\" subtype=\"ips\" "
	  "eventtype=\"signature\" level=\"alert\" vd=\"root\" severity=\"critical\" "
	  "srcip={DIP} srccountry=\"Netherlands\" dstip={SIP} srcintf=\"wan1\" "
	  "srcintfrole=\"wan\" dstintf=\"port2\" dstintfrole=\"lan\" sessionid={SEQ} "
	  "action=\"dropped\" proto=6 service=\"SMB\" policyid=3 "
	  "attack=\"MS.SMB.Server.SMB1.Trans2.Secondary.Handling.Code.Execution\" "
	  "srcport={SPORT} dstport=445 direction=\"incoming\" attackid=43796 "
	  "profile=\"default\" ref=\"http://www.fortinet.com/ids/VID43796\" "
	  "incidentserialno={SEQ} msg=\"applications3: MS.SMB.Server.SMB1.Trans2.Secondary."
	  "Handling.Code.Execution,\" crscore=50 craction=4096 crlevel=\"critical\"" },

	/* Linux sshd, through rsyslog (RFC 5424) and through busybox/old
	 * sysklogd (RFC 3164). */
	{ "linux-sshd", 30, 0,
	  "<38>1 {ISO} his-db01.his.local sshd {PID} - - Accepted publickey for oracle "
	  "from {SIP} port {SPORT} ssh2: RSA SHA256:3q2+7wV1nN8m0Qk6yWcO0sE5pJm2cV7yQh0aZ8rXy1U" },
	{ "linux-sshd", 40, 0,
	  "<86>{BSD} pacs-gw02 sshd[{PID}]: Failed password for invalid user {USER} "
	  "from {DIP} port {SPORT} ssh2" },
	{ "linux-sshd", 20, 0,
	  "<86>{BSD} lis-app01 sshd[{PID}]: pam_unix(sshd:session): session opened for "
	  "user root(uid=0) by (uid=0)" },

	/* Windows Security events through Snare (tab-separated, in the
	 * system code page: GBK on Chinese Windows) and NXLog (RFC 5424). */
	{ "windows-snare", 40, 0,
	  "<13>{BSD} EMR-APP01 MSWinEventLog\t1\tSecurity\t{SEQ}\t{CTIME}\t4625\t"
	  "Microsoft-Windows-Security-Auditing\tN/A\tN/A\tFailure Audit\tEMR-APP01.his.local\t"
	  "Logon\t\tAn account failed to log on.    Subject:   Security ID:  S-1-0-0   "
	  "Account Name:  -   Account Domain:  -   Logon ID:  0x0    Logon Type:   3    "
	  "Account For Which Logon Failed:   Security ID:  S-1-0-0   Account Name:  {USER}   "
	  "Account Domain:  HIS    Failure Information:   Failure Reason:  Unknown user name "
	  "or bad password.   Status:   0xC000006D   Sub Status:  0xC000006A    "
	  "Network Information:   Workstation Name: NURSE-PC{N}   Source Network Address: {SIP}   "
	  "Source Port:  {SPORT}\t{SEQ}" },
	{ "windows-snare", 30, 1,
	  "<13>{BSD} NURSE-PC017 MSWinEventLog\t1\tSecurity\t{SEQ}\t{CTIME}\t4625\t"
	  "Microsoft-Windows-Security-Auditing\tN/A\tN/A\t审核失败\tNURSE-PC017.his.local\t"
	  "登录\t\t帐户登录失败。    使用者:   安全 ID:  S-1-0-0   帐户名:  -   "
	  "帐户域:  -   登录 ID:  0x0    登录类型:   3    登录失败的帐户:   "
	  "安全 ID:  S-1-0-0   帐户名:  {USER}   帐户域:  HIS    失败信息:   "
	  "失败原因:  未知用户名或密码错误。   状态:   0xC000006D   子状态:  0xC000006A    "
	  "网络信息:   工作站名:  NURSE-PC{N}   源网络地址:  {SIP}   源端口:  {SPORT}\t{SEQ}" },
	{ "windows-nxlog", 30, 0,
	  "<14>1 {ISO} HIS-DC01.his.local Microsoft-Windows-Security-Auditing {PID} - "
	  "[NXLOG@14506 EventReceivedTime=\"{DATE} {HMS}\" SourceModuleName=\"eventlog\" "
	  "SourceModuleType=\"im_msvistalog\"] 已成功登录帐户。 使用者: 安全 ID: S-1-5-18 "
	  "帐户名: HIS-DC01$ 帐户域: HIS 登录 ID: 0x3E7 登录类型: 3 新登录: 安全 ID: "
	  "S-1-5-21-3623811015-3361044348-30300820-{N} 帐户名: {USER} 帐户域: HIS "
	  "网络信息: 工作站名: NURSE-PC{N} 源网络地址: {SIP} 源端口: {SPORT}" },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* ---- per-message fields -------------------------------------------------- */

enum field {
	F_SEQ,      /* message number, 1-based */
	F_BSD,      /* RFC 3164 "Mmm dd hh:mm:ss" (day space-padded) */
	F_BSDY,     /* "Mmm dd yyyy hh:mm:ss" (Huawei, Cisco) */
	F_YEAR, F_DATE, F_YMDS, F_HMS, F_MMSS,
	F_ISO,      /* RFC 3339 with µs and +08:00 */
	F_CTIME,    /* "Tue Nov 21 13:45:12 2023" (Snare) */
	F_EPOCH, F_EPOCH0, F_EPOCHNS,
	F_SIP,      /* hospital-side address, 10.0.0.0/8 */
	F_DIP,      /* Internet-side address */
	F_NIP,      /* the firewall's public NAT address, 203.0.113.0/24 */
	F_SPORT, F_DPORT, F_NPORT, F_PID,
	F_BYTES, F_RBYTES, F_PKTS, F_RPKTS, F_DUR, F_N, F_USER,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	[F_SEQ] = "SEQ", [F_BSD] = "BSD", [F_BSDY] = "BSDY", [F_YEAR] = "YEAR",
	[F_DATE] = "DATE", [F_YMDS] = "YMDS", [F_HMS] = "HMS", [F_MMSS] = "MMSS",
	[F_ISO] = "ISO", [F_CTIME] = "CTIME", [F_EPOCH] = "EPOCH", [F_EPOCH0] = "EPOCH0",
	[F_EPOCHNS] = "EPOCHNS", [F_SIP] = "SIP", [F_DIP] = "DIP", [F_NIP] = "NIP",
	[F_SPORT] = "SPORT", [F_DPORT] = "DPORT", [F_NPORT] = "NPORT", [F_PID] = "PID",
	[F_BYTES] = "BYTES", [F_RBYTES] = "RBYTES", [F_PKTS] = "PKTS", [F_RPKTS] = "RPKTS",
	[F_DUR] = "DUR", [F_N] = "N", [F_USER] = "USER",
};

static const char *const users[] = {
	"admin", "administrator", "root", "his_dba", "pacs", "nurse017", "zhangwei",
	"liuyang", "test", "oracle", "scanner", "guest",
};
static const unsigned short dports[] = { 443, 443, 443, 80, 80, 53, 445, 3389, 22, 1433, 8080, 104 };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* A compiled template: literal runs (already in the target charset) and
 * fields, alternating as the template has them. */
struct part {
	int field;          /* -1 for a literal */
	const char *lit;
	size_t len;
};

struct tmpl {
	struct part *parts;
	size_t nparts;
	int gbk;
};

/* The values of one message. Text fields are formatted into `txt` once per
 * message, because a template may use a field twice and both uses must
 * agree (Cisco repeats addresses). */
struct values {
	char txt[F_COUNT][48];
	size_t len[F_COUNT];
};

static uint64_t rng_state;

/* xorshift64*: fast, and a fixed seed makes a run reproducible. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)((rnd() >> 32) % n);
}

/* Decimal formatting without snprintf: the build loop formats about twenty
 * numbers per message. */
static size_t fmt_u64(char *dst, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	dst[n] = '\0';
	return n;
}

static size_t fmt_ip(char *dst, unsigned a, unsigned b, unsigned c, unsigned d)
{
	size_t n = fmt_u64(dst, a);

	dst[n++] = '.';
	n += fmt_u64(dst + n, b);
	dst[n++] = '.';
	n += fmt_u64(dst + n, c);
	dst[n++] = '.';
	n += fmt_u64(dst + n, d);
	return n;
}

static void set_num(struct values *v, int f, uint64_t x)
{
	v->len[f] = fmt_u64(v->txt[f], x);
}

/* Formats the time fields for wall time `sec` (+08:00 is added, as the
 * devices of a Chinese hospital log local time). Called when the second
 * changes, not per message. */
static void set_time_fields(struct values *v, time_t sec)
{
	time_t local = sec + 8 * 3600;
	struct tm tm;

	gmtime_r(&local, &tm);
	v->len[F_BSD] = (size_t)snprintf(v->txt[F_BSD], 48, "%s %2d %02d:%02d:%02d",
					 months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	v->len[F_BSDY] = (size_t)snprintf(v->txt[F_BSDY], 48, "%s %02d %d %02d:%02d:%02d",
					  months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900,
					  tm.tm_hour, tm.tm_min, tm.tm_sec);
	v->len[F_YEAR] = (size_t)snprintf(v->txt[F_YEAR], 48, "%d", tm.tm_year + 1900);
	v->len[F_DATE] = (size_t)snprintf(v->txt[F_DATE], 48, "%d-%02d-%02d",
					  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	v->len[F_YMDS] = (size_t)snprintf(v->txt[F_YMDS], 48, "%d/%02d/%02d",
					  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	v->len[F_HMS] = (size_t)snprintf(v->txt[F_HMS], 48, "%02d:%02d:%02d",
					 tm.tm_hour, tm.tm_min, tm.tm_sec);
	v->len[F_CTIME] = (size_t)snprintf(v->txt[F_CTIME], 48, "%s %s %2d %02d:%02d:%02d %d",
					   wdays[tm.tm_wday], months[tm.tm_mon], tm.tm_mday,
					   tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	set_num(v, F_EPOCH, (uint64_t)sec);
}

/* Fills the fields of message number `seq` sent at `us` (µs since the
 * epoch); the time fields must already be set for that second. */
static void set_values(struct values *v, uint64_t seq, int64_t us)
{
	unsigned dur = rnd_below(600);
	const char *user;
	time_t local = (time_t)(us / 1000000) + 8 * 3600;
	struct tm tm;

	set_num(v, F_SEQ, seq);
	v->len[F_SIP] = fmt_ip(v->txt[F_SIP], 10, rnd_below(32), rnd_below(256), 1 + rnd_below(254));
	v->len[F_DIP] = fmt_ip(v->txt[F_DIP], 1 + rnd_below(222), rnd_below(256), rnd_below(256),
			       1 + rnd_below(254));
	v->len[F_NIP] = fmt_ip(v->txt[F_NIP], 203, 0, 113, 1 + rnd_below(30));
	set_num(v, F_SPORT, 1024 + rnd_below(64512));
	set_num(v, F_DPORT, dports[rnd_below(sizeof(dports) / sizeof(dports[0]))]);
	set_num(v, F_NPORT, 1024 + rnd_below(64512));
	set_num(v, F_PID, 300 + rnd_below(65000));
	set_num(v, F_BYTES, 40 + rnd_below(2000000));
	set_num(v, F_RBYTES, 40 + rnd_below(20000000));
	set_num(v, F_PKTS, 1 + rnd_below(5000));
	set_num(v, F_RPKTS, 1 + rnd_below(20000));
	set_num(v, F_DUR, dur);
	set_num(v, F_EPOCH0, (uint64_t)(us / 1000000) - dur);
	set_num(v, F_EPOCHNS, (uint64_t)us * 1000 + rnd_below(1000));
	set_num(v, F_N, 1 + rnd_below(48));
	v->len[F_MMSS] = (size_t)snprintf(v->txt[F_MMSS], 48, "%02u:%02u", dur / 60, dur % 60);
	gmtime_r(&local, &tm);
	v->len[F_ISO] = (size_t)snprintf(v->txt[F_ISO], 48, "%d-%02d-%02dT%02d:%02d:%02d.%06d+08:00",
					 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
					 tm.tm_min, tm.tm_sec, (int)(us % 1000000));
	user = users[rnd_below(sizeof(users) / sizeof(users[0]))];
	v->len[F_USER] = strlen(user);
	memcpy(v->txt[F_USER], user, v->len[F_USER] + 1);
}

/* ---- template compilation ------------------------------------------------ */

/* Converts `len` bytes of UTF-8 to GBK into a new string (*out, *outlen).
 * Returns 0 or -errno (EILSEQ when the text has no GBK form). */
static int to_gbk(iconv_t cd, const char *src, size_t len, char **out, size_t *outlen)
{
	size_t cap = len * 2 + 1, left = cap, inleft = len;
	char *dst = malloc(cap), *ip = (char *)src, *op = dst;

	*out = NULL;
	*outlen = 0;
	if (dst == NULL)
		return -ENOMEM;
	if (iconv(cd, &ip, &inleft, &op, &left) == (size_t)-1) {
		int e = errno;

		free(dst);
		return -e;
	}
	*out = dst;
	*outlen = cap - left;
	return 0;
}

static int field_lookup(const char *name, size_t len)
{
	int f;

	for (f = 0; f < F_COUNT; f++)
		if (strlen(field_names[f]) == len && memcmp(field_names[f], name, len) == 0)
			return f;
	return -1;
}

static int part_add(struct tmpl *t, int field, const char *lit, size_t len, iconv_t cd)
{
	struct part *p;
	char *copy;
	size_t clen = len;
	int rc;

	if (field < 0 && len == 0)
		return 0;
	p = realloc(t->parts, (t->nparts + 1) * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	t->parts = p;
	p = &t->parts[t->nparts];
	p->field = field;
	p->lit = NULL;
	p->len = 0;
	if (field < 0) {
		if (t->gbk) {
			rc = to_gbk(cd, lit, len, &copy, &clen);
			if (rc < 0)
				return rc;
		} else {
			copy = strndup(lit, len);
			if (copy == NULL)
				return -ENOMEM;
		}
		p->lit = copy;
		p->len = clen;
	}
	t->nparts++;
	return 0;
}

/* Splits a sample's template into literals and fields. A '{' that does not
 * open a known field name stays literal text. */
static int tmpl_compile(struct tmpl *t, const struct sample *s, iconv_t cd)
{
	const char *p = s->tmpl, *lit = p, *end;
	int f, rc;

	memset(t, 0, sizeof(*t));
	t->gbk = s->gbk;
	while ((p = strchr(p, '{')) != NULL) {
		end = strchr(p, '}');
		f = end ? field_lookup(p + 1, (size_t)(end - p - 1)) : -1;
		if (f < 0) {
			p++;
			continue;
		}
		if ((rc = part_add(t, -1, lit, (size_t)(p - lit), cd)) < 0 ||
		    (rc = part_add(t, f, NULL, 0, cd)) < 0)
			return rc;
		p = lit = end + 1;
	}
	return part_add(t, -1, lit, strlen(lit), cd);
}

/* ---- building the stream ------------------------------------------------- */

struct stream {
	char *data;
	size_t len, cap;
	size_t *off;       /* off[i]: where message i's frame starts; off[count] = len */
	uint64_t count;
	uint64_t gbk;
	uint64_t payload;  /* message bytes, without the octet-count prefixes */
};

static int stream_reserve(struct stream *st, size_t more)
{
	size_t cap = st->cap ? st->cap : 1 << 20;
	char *d;

	if (st->len + more <= st->cap)
		return 0;
	while (cap < st->len + more)
		cap *= 2;
	d = realloc(st->data, cap);
	if (d == NULL)
		return -ENOMEM;
	st->data = d;
	st->cap = cap;
	return 0;
}

/* Renders one message into `msg` (at most `cap` bytes, truncated beyond). */
static size_t render(const struct tmpl *t, const struct values *v, char *msg, size_t cap)
{
	size_t n = 0, i, len;
	const char *src;

	for (i = 0; i < t->nparts; i++) {
		if (t->parts[i].field < 0) {
			src = t->parts[i].lit;
			len = t->parts[i].len;
		} else {
			src = v->txt[t->parts[i].field];
			len = v->len[t->parts[i].field];
		}
		if (len > cap - n)
			len = cap - n;
		memcpy(msg + n, src, len);
		n += len;
	}
	return n;
}

/* Builds `count` frames, "LEN SP MSG", into st. Message times advance
 * 20 µs per message from `start_us`, like a busy firewall's. */
static int stream_build(struct stream *st, const struct tmpl *tmpls, uint64_t count,
			int64_t start_us)
{
	static char msg[8192];
	unsigned pick[1000], i, k = 0;
	struct values v;
	time_t sec = -1;
	uint64_t n;
	size_t len, hl;
	char hdr[24];

	for (i = 0; i < NSAMPLES; i++)
		for (unsigned w = 0; w < samples[i].weight && k < 1000; w++)
			pick[k++] = i;
	while (k < 1000)
		pick[k++] = 0;
	memset(&v, 0, sizeof(v));
	st->off = malloc((count + 1) * sizeof(*st->off));
	if (st->off == NULL)
		return -ENOMEM;
	for (n = 0; n < count; n++) {
		int64_t us = start_us + (int64_t)n * 20;
		const struct tmpl *t = &tmpls[pick[rnd_below(1000)]];

		if (us / 1000000 != sec) {
			sec = us / 1000000;
			set_time_fields(&v, sec);
		}
		set_values(&v, n + 1, us);
		len = render(t, &v, msg, sizeof(msg));
		hl = fmt_u64(hdr, len);
		hdr[hl++] = ' ';
		if (stream_reserve(st, hl + len) < 0)
			return -ENOMEM;
		st->off[n] = st->len;
		memcpy(st->data + st->len, hdr, hl);
		memcpy(st->data + st->len + hl, msg, len);
		st->len += hl + len;
		st->payload += len;
		st->gbk += (uint64_t)t->gbk;
	}
	st->off[count] = st->len;
	st->count = count;
	return 0;
}

/* ---- sending --------------------------------------------------------------- */

struct sender {
	pthread_t thread;
	int started;
	int fd;
	int udp;
	const struct stream *st;
	uint64_t first, last;    /* messages [first, last) */
	int err;                 /* 0 or an errno */
};

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		/* 4 MiB per call: large enough that the syscall count does not
		 * matter, small enough not to pin the kernel in one copy. */
		w = write(fd, p, n > (4u << 20) ? (4u << 20) : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#define UDP_BATCH 256

/* Sends messages [first, last) as datagrams, without the octet-count
 * prefix (RFC 5426: one message per datagram). */
static int send_udp(int fd, const struct stream *st, uint64_t first, uint64_t last)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint64_t i = first;
	unsigned k;
	int r;

	memset(mm, 0, sizeof(mm));
	while (i < last) {
		for (k = 0; k < UDP_BATCH && i + k < last; k++) {
			const char *f = st->data + st->off[i + k];
			const char *sp = memchr(f, ' ', 12);

			iov[k].iov_base = (void *)(sp + 1);
			iov[k].iov_len = (size_t)(st->data + st->off[i + k + 1] - (sp + 1));
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fd, mm, k, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			/* A receiver not yet bound answers with ICMP port
			 * unreachable; that datagram is lost, like any other. */
			if (errno == ECONNREFUSED)
				continue;
			return errno;
		}
		i += (uint64_t)r;
	}
	return 0;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	const struct stream *st = s->st;

	if (s->udp)
		s->err = send_udp(s->fd, st, s->first, s->last);
	else
		s->err = write_all(s->fd, st->data + st->off[s->first],
				   st->off[s->last] - st->off[s->first]);
	if (!s->udp)
		(void)shutdown(s->fd, SHUT_WR);
	return NULL;
}

static int open_socket(const char *host, const char *port, int udp)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "syslog_loadgen: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "syslog_loadgen: connect %s:%s: %s\n", host, port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: syslog_loadgen HOST PORT COUNT [--udp] [--connections N] [--seed S] [--wait]\n"
		"       syslog_loadgen - 0 COUNT   (octet-counted stream to stdout)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct tmpl tmpls[NSAMPLES];
	struct stream st;
	struct sender *snd;
	struct timespec wall, t0;
	const char *host, *port;
	unsigned long long count, nconn = 1, seed = 0x5eed5eedULL;
	int udp = 0, wait_go = 0, rc = 0, i;
	unsigned c;
	iconv_t cd;
	double start, elapsed;

	if (argc < 4)
		usage();
	host = argv[1];
	port = argv[2];
	count = strtoull(argv[3], NULL, 10);
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--udp") == 0)
			udp = 1;
		else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc)
			nconn = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--wait") == 0)
			wait_go = 1;
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else
			usage();
	}
	if (count == 0 || nconn == 0 || nconn > 1024)
		usage();
	if (nconn > count)
		nconn = count;
	rng_state = seed ? seed : 1;
	signal(SIGPIPE, SIG_IGN);

	cd = iconv_open("GBK", "UTF-8");
	if (cd == (iconv_t)-1) {
		perror("syslog_loadgen: iconv_open GBK");
		return 1;
	}
	for (c = 0; c < NSAMPLES; c++) {
		if (tmpl_compile(&tmpls[c], &samples[c], cd) < 0) {
			fprintf(stderr, "syslog_loadgen: sample %u (%s) does not compile\n",
				c, samples[c].vendor);
			return 1;
		}
	}
	iconv_close(cd);

	memset(&st, 0, sizeof(st));
	clock_gettime(CLOCK_REALTIME, &t0);
	if (stream_build(&st, tmpls, count, (int64_t)t0.tv_sec * 1000000 + t0.tv_nsec / 1000) < 0) {
		fprintf(stderr, "syslog_loadgen: out of memory building %llu messages\n", count);
		return 1;
	}

	if (strcmp(host, "-") == 0)
		return write_all(STDOUT_FILENO, st.data, st.len) == 0 ? 0 : 1;

	snd = calloc(nconn, sizeof(*snd));
	if (snd == NULL)
		return 1;
	for (c = 0; c < nconn; c++) {
		snd[c].fd = open_socket(host, port, udp);
		if (snd[c].fd < 0)
			return 1;
		snd[c].udp = udp;
		snd[c].st = &st;
		snd[c].first = count * c / nconn;
		snd[c].last = count * (c + 1) / nconn;
	}
	if (wait_go) {
		char line[64];

		printf("ready\n");
		fflush(stdout);
		/* End of file starts the run as well; only a read error stops it. */
		if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin)) {
			perror("syslog_loadgen: stdin");
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	start = now_mono();
	for (c = 0; c < nconn; c++) {
		snd[c].started = pthread_create(&snd[c].thread, NULL, sender_main, &snd[c]) == 0;
		if (!snd[c].started)
			snd[c].err = EAGAIN;
	}
	for (c = 0; c < nconn; c++) {
		if (snd[c].started)
			pthread_join(snd[c].thread, NULL);
		if (snd[c].err != 0) {
			fprintf(stderr, "syslog_loadgen: connection %u: %s\n", c, strerror(snd[c].err));
			rc = 1;
		}
		close(snd[c].fd);
	}
	elapsed = now_mono() - start;
	printf("messages=%llu bytes=%zu payload=%llu gbk=%llu elapsed_s=%.6f start_unix=%lld.%09ld\n",
	       count, st.len, (unsigned long long)st.payload, (unsigned long long)st.gbk, elapsed,
	       (long long)wall.tv_sec, wall.tv_nsec);
	return rc;
}
