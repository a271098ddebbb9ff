/* syslog_samples.h: syslog lines as vendors send them, for the unit tests,
 * the tests/tools record encoder and the benchmark load generator.
 *
 * Each line is written to the vendor's published format (with invented
 * hosts and addresses from the documentation ranges). Lines marked gbk
 * hold GBK bytes, as Huawei USG (its default), H3C and Sangfor devices
 * send them; they are about 10% of the set, written as \x escapes. The
 * expected hostname and app_name are what ward's parser must find (NULL:
 * absent).
 */
#ifndef WARD_TESTS_SYSLOG_SAMPLES_H
#define WARD_TESTS_SYSLOG_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>

struct syslog_sample {
	const char *vendor;
	bool gbk;               /* the line is GBK, not UTF-8 */
	const char *hostname;   /* expected parse result, NULL when absent */
	const char *app_name;
	const char *line;       /* without trailer */
};

__attribute__((unused))
static const struct syslog_sample syslog_samples[] = {
	{ "huawei-usg", false, "USG6600-FW",
	  NULL,
	  "<190>2026-11-21 13:39:02 USG6600-FW"
	  " %%01POLICY/6/POLICYPERMIT(l):vsys=public, protocol=6,"
	  " source-ip=10.20.1.15, source-port=51234,"
	  " destination-ip=198.51.100.20, destination-port=443, time=2026/11/21"
	  " 13:39:02, source-zone=trust, destination-zone=untrust,"
	  " application-name=HTTPS, rule-name=allow-web." },
	{ "huawei-usg", false, "USG6600-FW",
	  NULL,
	  "<188>Nov 21 2026 13:39:05 USG6600-FW"
	  " %%01SHELL/5/CMDRECORD(s)[2]:Recorded command information. (Task=VT0,"
	  " Ip=10.20.1.5, VpnName=, User=admin,"
	  " AuthenticationMethod=\"Local-user\", Command=\"display firewall"
	  " session table\")" },
	{ "huawei-usg", true, "USG6600-FW",
	  NULL,
	  "<190>Nov 21 2026 13:39:09 USG6600-FW"
	  " %%01UM/6/ONLINE(l):\xd3\xc3\xbb\xa7\xc9\xcf\xcf\xdf\xa3\xba\xd3\xc3"
	  "\xbb\xa7\xc3\xfb=\xd5\xc5\xce\xb0, \xd4\xb4IP=10.20.3.44,"
	  " \xc8\xcf\xd6\xa4\xb7\xbd\xca\xbd=\xb1\xbe\xb5\xd8\xc8\xcf\xd6\xa4,"
	  " \xb7\xc0\xbb\xf0\xc7\xbd=USG6600-FW\xa1\xa3" },
	{ "huawei-usg", false, "USG6600-FW",
	  NULL,
	  "<187>Nov 21 2026 13:39:11+08:00 USG6600-FW"
	  " %%01IFNET/3/LINK_DOWN(l):The line protocol on the interface"
	  " GigabitEthernet1/0/1 has entered the DOWN state." },
	{ "h3c", false, "H3C-F1060",
	  NULL,
	  "<189>Nov 21 13:39:02 2026 H3C-F1060 %%10SHELL/5/SHELL_LOGIN: admin"
	  " logged in from 10.30.0.8." },
	{ "h3c", false, "H3C-S5560",
	  NULL,
	  "<187>2026-11-21T13:39:04 H3C-S5560 %%10IFNET/3/PHY_UPDOWN: Physical"
	  " state on the interface GigabitEthernet1/0/24 changed to down." },
	{ "h3c", true, "H3C-F1060",
	  NULL,
	  "<190>Nov 21 13:39:06 2026 H3C-F1060"
	  " %%10FILTER/6/FILTER_ZONE_IPV4_EXECUTION:"
	  " SrcZoneName(1025)=Trust;DstZoneName(1035)=Untrust;Type(1067)=ACL;Secu"
	  "rityPolicy(1072)=\xbd\xfb\xd6\xb9\xcd\xe2\xc1\xaa;RuleID(1078)=5;Proto"
	  "col(1001)=TCP;SrcIPAddr(1003)=10.30.2.17;SrcPort(1004)=50012;DstIPAddr"
	  "(1007)=203.0.113.50;DstPort(1008)=3389;Event(1048)=(8003)Deny;" },
	{ "sangfor-af", false, "localhost",
	  "fwlog",
	  "<134>Nov 21 13:39:02 localhost fwlog:"
	  " \xe6\x97\xa5\xe5\xbf\x97\xe7\xb1\xbb\xe5\x9e\x8b:\xe6\x9c\x8d\xe5\x8a"
	  "\xa1\xe6\x8e\xa7\xe5\x88\xb6\xe6\x88\x96\xe5\xba\x94\xe7\x94\xa8\xe6"
	  "\x8e\xa7\xe5\x88\xb6,"
	  " \xe7\xad\x96\xe7\x95\xa5\xe5\x90\x8d\xe7\xa7\xb0:\xe4\xb8\x8a\xe7\xbd"
	  "\x91\xe7\xad\x96\xe7\x95\xa5, \xe7\x94\xa8\xe6\x88\xb7:(null),"
	  " \xe6\xba\x90IP:10.40.1.23,"
	  " \xe6\xba\x90\xe7\xab\xaf\xe5\x8f\xa3:52011,"
	  " \xe7\x9b\xae\xe7\x9a\x84IP:203.0.113.80,"
	  " \xe7\x9b\xae\xe7\x9a\x84\xe7\xab\xaf\xe5\x8f\xa3:443,"
	  " \xe5\xba\x94\xe7\x94\xa8\xe7\xb1\xbb\xe5\x9e\x8b:\xe7\xbd\x91\xe7\xab"
	  "\x99\xe6\xb5\x8f\xe8\xa7\x88,"
	  " \xe5\xba\x94\xe7\x94\xa8\xe5\x90\x8d\xe7\xa7\xb0:HTTPS,"
	  " \xe7\xb3\xbb\xe7\xbb\x9f\xe5\x8a\xa8\xe4\xbd\x9c:\xe5\x85\x81\xe8\xae"
	  "\xb8" },
	{ "sangfor-af", true, "localhost",
	  "fwlog",
	  "<131>Nov 21 13:39:04 localhost fwlog:"
	  " \xc8\xd5\xd6\xbe\xc0\xe0\xd0\xcd:IPS\xb7\xc0\xbb\xa4\xc8\xd5\xd6\xbe,"
	  " \xd4\xb4IP:198.51.100.77, \xd4\xb4\xb6\xcb\xbf\xda:40123,"
	  " \xc4\xbf\xb5\xc4IP:10.40.2.10, \xc4\xbf\xb5\xc4\xb6\xcb\xbf\xda:80,"
	  " \xd0\xad\xd2\xe9:tcp,"
	  " \xb9\xa5\xbb\xf7\xc0\xe0\xd0\xcd:web\xc2\xa9\xb6\xb4\xb9\xa5\xbb\xf7,"
	  " \xc2\xa9\xb6\xb4\xc3\xfb\xb3\xc6:SQL\xd7\xa2\xc8\xeb\xb9\xa5\xbb\xf7,"
	  " \xd1\xcf\xd6\xd8\xb5\xc8\xbc\xb6:\xb8\xdf,"
	  " \xb6\xaf\xd7\xf7:\xbe\xdc\xbe\xf8" },
	{ "sangfor-af", false, "localhost",
	  "fwlog",
	  "<130>Nov 21 13:39:05 localhost fwlog:"
	  " \xe6\x97\xa5\xe5\xbf\x97\xe7\xb1\xbb\xe5\x9e\x8b:WAF\xe5\xba\x94\xe7"
	  "\x94\xa8\xe9\x98\xb2\xe6\x8a\xa4\xe6\x97\xa5\xe5\xbf\x97,"
	  " \xe6\xba\x90IP:198.51.100.78,"
	  " \xe6\xba\x90\xe7\xab\xaf\xe5\x8f\xa3:40999,"
	  " \xe7\x9b\xae\xe7\x9a\x84IP:10.40.2.11,"
	  " \xe7\x9b\xae\xe7\x9a\x84\xe7\xab\xaf\xe5\x8f\xa3:80,"
	  " \xe6\x94\xbb\xe5\x87\xbb\xe7\xb1\xbb\xe5\x9e\x8b:\xe4\xbf\xa1\xe6\x81"
	  "\xaf\xe6\xb3\x84\xe6\xbc\x8f\xe6\x94\xbb\xe5\x87\xbb,"
	  " \xe4\xb8\xa5\xe9\x87\x8d\xe7\xba\xa7\xe5\x88\xab:\xe9\xab\x98,"
	  " \xe7\xb3\xbb\xe7\xbb\x9f\xe5\x8a\xa8\xe4\xbd\x9c:\xe6\x8b\x92\xe7\xbb"
	  "\x9d, URL:his.hospital.example/patient/list" },
	{ "hillstone", false, "2812345678901234(root)",
	  NULL,
	  "<190>Nov 21 13:39:02 2812345678901234(root) 44243624 Traffic@FLOW:"
	  " SESSION: 10.50.1.9:51512->203.0.113.25:443(TCP), application HTTPS,"
	  " interface ethernet0/2, vr trust-vr, policy 12, user -@-, host -,"
	  " send packets 12,send bytes 2048,receive packets 10,receive bytes"
	  " 8192,start time 2026-11-21 13:38:40,close time 2026-11-21"
	  " 13:39:02,session end,TCP FIN" },
	{ "hillstone", false, "2812345678901234(root)",
	  NULL,
	  "<189>Nov 21 13:39:03 2812345678901234(root) 4424362f Event@MGMT:"
	  " Admin user \"hillstone\" logined through SSH, from 10.50.0.5:62001"
	  " to 10.50.0.1:22(TCP)" },
	{ "cisco-asa", false, "asa-core",
	  NULL,
	  "<166>Nov 21 2026 13:39:02 asa-core : %ASA-6-302013: Built inbound TCP"
	  " connection 4711 for outside:203.0.113.11/49321 (203.0.113.11/49321)"
	  " to inside:10.60.1.20/443 (10.60.1.20/443)" },
	{ "cisco-asa", false, "asa-core",
	  NULL,
	  "<164>Nov 21 2026 13:39:03 asa-core : %ASA-4-106023: Deny tcp src"
	  " outside:198.51.100.9/51000 dst inside:10.60.1.30/3389 by"
	  " access-group \"outside_in\" [0x0, 0x0]" },
	{ "cisco-asa", false, NULL,
	  NULL,
	  "<163>Nov 21 2026 13:39:04: %ASA-3-710003: TCP access denied by ACL"
	  " from 198.51.100.9/51001 to outside:203.0.113.1/22" },
	{ "cisco-ios", false, NULL,
	  NULL,
	  "<189>4711: *Nov 21 13:39:05.123 UTC: %SYS-5-CONFIG_I: Configured from"
	  " console by admin on vty0 (10.60.0.5)" },
	{ "cisco-ios", false, NULL,
	  NULL,
	  "<187>4712: Nov 21 13:39:06.456 CST: %LINK-3-UPDOWN: Interface"
	  " GigabitEthernet0/1, changed state to down" },
	{ "fortigate", false, NULL,
	  NULL,
	  "<189>date=2026-11-21 time=13:39:02 devname=\"FGT-HOSP-01\""
	  " devid=\"FG100FTK22000001\" eventtime=1763732342123456789"
	  " tz=\"+0800\" logid=\"0000000013\" type=\"traffic\""
	  " subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.70.1.15"
	  " srcport=52100 srcintf=\"port1\" dstip=203.0.113.90 dstport=443"
	  " dstintf=\"wan1\" proto=6 action=\"close\" policyid=3"
	  " service=\"HTTPS\" sentbyte=1840 rcvdbyte=9920" },
	{ "fortigate", false, NULL,
	  NULL,
	  "<185>date=2026-11-21 time=13:39:03 devname=\"FGT-HOSP-01\""
	  " devid=\"FG100FTK22000001\" logid=\"0419016384\" type=\"utm\""
	  " subtype=\"ips\" eventtype=\"signature\" level=\"alert\""
	  " severity=\"critical\" srcip=198.51.100.66 dstip=10.70.2.8"
	  " attack=\"Apache.Log4j.Error.Log.Remote.Code.Execution\""
	  " action=\"dropped\"" },
	{ "fortigate", false, NULL,
	  NULL,
	  "<189>date=2026-11-21 time=13:39:04 devname=\"FGT-HOSP-01\""
	  " devid=\"FG100FTK22000001\" logid=\"0100032001\" type=\"event\""
	  " subtype=\"system\" level=\"information\" logdesc=\"Admin login"
	  " successful\" user=\"admin\" ui=\"https(10.70.0.5)\" action=\"login\""
	  " status=\"success\"" },
	{ "linux-sshd", false, "his-app01",
	  "sshd",
	  "<38>Nov 21 13:39:02 his-app01 sshd[812]: Failed password for invalid"
	  " user admin from 203.0.113.9 port 52144 ssh2" },
	{ "linux-sshd", false, "his-app01",
	  "sshd",
	  "<38>Nov 21 13:39:03 his-app01 sshd[815]: Accepted publickey for"
	  " deploy from 10.80.0.4 port 40022 ssh2: ED25519 SHA256:Zm9vYmFyYmF6" },
	{ "linux-sshd", false, "his-db01",
	  "sshd",
	  "<38>1 2026-11-21T13:39:04.512345+08:00 his-db01 sshd 2231 - -"
	  " pam_unix(sshd:session): session opened for user dba(uid=1001) by"
	  " (uid=0)" },
	{ "linux-sudo", false, "his-app01",
	  "sudo",
	  "<85>Nov 21 13:39:05 his-app01 sudo:   deploy : TTY=pts/0 ;"
	  " PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart his" },
	{ "linux-kernel", false, "gw01",
	  "kernel",
	  "<4>Nov 21 13:39:07 gw01 kernel: [812345.678901] IN=eth0 OUT="
	  " MAC=00:11:22:33:44:55 SRC=198.51.100.200 DST=10.80.0.1 LEN=60"
	  " PROTO=TCP SPT=40000 DPT=23 SYN" },
	{ "windows-snare", false, "DC01.hosp.example",
	  NULL,
	  "<14>Nov 21 13:39:02 DC01.hosp.example"
	  " MSWinEventLog\t1\tSecurity\t88231\tFri Nov 21 13:39:02"
	  " 2026\t4625\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tFailure"
	  " Audit\tDC01.hosp.example\tLogon\t\tAn account failed to log on. "
	  " Subject:  Security ID:  S-1-0-0  Account Name:  -  Logon Type:  3 "
	  " Account For Which Logon Failed:  Account Name:  nurse01  Source"
	  " Network Address:  10.90.3.21\t1021" },
	{ "windows-snare", false, "WIN-HIS01",
	  NULL,
	  "<14>Nov 21 13:39:05 WIN-HIS01 MSWinEventLog\t1\tSecurity\t88240\tFri"
	  " Nov 21 13:39:05"
	  " 2026\t4624\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tSuccess"
	  " Audit\tWIN-HIS01\t\xe7\x99\xbb\xe5\xbd\x95\t\t\xe5\xb7\xb2\xe6\x88"
	  "\x90\xe5\x8a\x9f\xe7\x99\xbb\xe5\xbd\x95\xe5\xb8\x90\xe6\x88\xb7\xe3"
	  "\x80\x82 \xe4\xbd\xbf\xe7\x94\xa8\xe8\x80\x85:"
	  " \xe5\xae\x89\xe5\x85\xa8 ID: S-1-5-18"
	  " \xe5\xb8\x90\xe6\x88\xb7\xe5\x90\x8d: WIN-HIS01$\t1033" },
	{ "windows-nxlog", false, "WS-NURSE-07",
	  "Microsoft-Windows-Security-Auditing",
	  "<13>Nov 21 13:39:03 WS-NURSE-07"
	  " Microsoft-Windows-Security-Auditing[636]: An account was"
	  " successfully logged on. Subject: Security ID: S-1-5-18 Logon Type: 2"
	  " New Logon: Account Name: nurse07" },
	{ "windows-nxlog", false, "DC01",
	  "Microsoft-Windows-Security-Auditing",
	  "<14>1 2026-11-21T13:39:04.000000+08:00 DC01"
	  " Microsoft-Windows-Security-Auditing 636 - [NXLOG@14506"
	  " EventReceivedTime=\"2026-11-21 13:39:05\""
	  " SourceModuleName=\"eventlog\""
	  " SourceModuleType=\"im_msvistalog\"][meta sequenceId=\"77\"] A user"
	  " account was locked out. Account Name: doctor12" },
	{ "rsyslog-5424", false, "his-web01.hosp.example",
	  "nginx",
	  "<165>1 2026-11-21T13:39:06.003Z his-web01.hosp.example nginx 5012"
	  " ACCESS [origin ip=\"10.80.1.10\" software=\"nginx\"] 10.90.3.21 - -"
	  " \"GET /his/login HTTP/1.1\" 200 512" },
};

#define SYSLOG_SAMPLES_COUNT (sizeof syslog_samples / sizeof syslog_samples[0])

#endif
