/* EDR event samples for the unit tests, written to Microsoft's published
 * schemas: the Sysmon event fields (Sysinternals Sysmon, events 1, 3, 11,
 * 22) and the Windows Security audit events 4624 and 4625 (Microsoft Learn,
 * "4624(S): An account was successfully logged on", "4625(F): An account
 * failed to log on"), in the shape Winlogbeat ships them: winlog.event_data
 * holds the event's data fields under Microsoft's names. Addresses are
 * from the documentation ranges; names are invented. */
#ifndef TEST_EDR_SAMPLES_H
#define TEST_EDR_SAMPLES_H

#define SYSMON_1 \
	"{\"@timestamp\":\"2024-05-01T08:15:30.123Z\"," \
	"\"agent\":{\"type\":\"winlogbeat\",\"version\":\"8.12.0\",\"hostname\":\"WS-RAD-07\"}," \
	"\"host\":{\"name\":\"ws-rad-07.hosp.example\"}," \
	"\"event\":{\"code\":\"1\",\"provider\":\"Microsoft-Windows-Sysmon\"}," \
	"\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":\"1\"," \
	"\"provider_name\":\"Microsoft-Windows-Sysmon\",\"computer_name\":\"WS-RAD-07.hosp.example\"," \
	"\"record_id\":\"48213\",\"event_data\":{" \
	"\"RuleName\":\"-\",\"UtcTime\":\"2024-05-01 08:15:30.120\"," \
	"\"ProcessGuid\":\"{5a1c1e2f-f2b2-6632-1a02-000000000e00}\",\"ProcessId\":\"6120\"," \
	"\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\"," \
	"\"FileVersion\":\"10.0.19041.3570\",\"Description\":\"Windows PowerShell\"," \
	"\"Product\":\"Microsoft Windows Operating System\",\"Company\":\"Microsoft Corporation\"," \
	"\"OriginalFileName\":\"PowerShell.EXE\"," \
	"\"CommandLine\":\"powershell.exe -nop -w hidden -enc SQBFAFgA\"," \
	"\"CurrentDirectory\":\"C:\\\\Users\\\\jdoe\\\\\"," \
	"\"User\":\"HOSP\\\\jdoe\",\"LogonGuid\":\"{5a1c1e2f-e0a1-6632-5c3d-0a0000000000}\"," \
	"\"LogonId\":\"0xa3d5c\",\"TerminalSessionId\":\"1\",\"IntegrityLevel\":\"Medium\"," \
	"\"Hashes\":\"SHA256=9F914D42706FE215501044ACD85A32D58AAEF1419D404FDDFA5D3B48F66CCD9F\"," \
	"\"ParentProcessGuid\":\"{5a1c1e2f-e0a3-6632-9b01-000000000e00}\",\"ParentProcessId\":\"4412\"," \
	"\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\"," \
	"\"ParentCommandLine\":\"C:\\\\Windows\\\\Explorer.EXE\",\"ParentUser\":\"HOSP\\\\jdoe\"}}}"

#define SYSMON_3 \
	"{\"@timestamp\":\"2024-05-01T08:15:31.500Z\",\"host\":{\"name\":\"ws-rad-07\"}," \
	"\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":3," \
	"\"provider_name\":\"Microsoft-Windows-Sysmon\",\"event_data\":{" \
	"\"RuleName\":\"-\",\"UtcTime\":\"2024-05-01 08:15:31.400\"," \
	"\"ProcessGuid\":\"{5a1c1e2f-f2b2-6632-1a02-000000000e00}\",\"ProcessId\":\"6120\"," \
	"\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\"," \
	"\"User\":\"HOSP\\\\jdoe\",\"Protocol\":\"tcp\",\"Initiated\":\"true\"," \
	"\"SourceIsIpv6\":\"false\",\"SourceIp\":\"10.20.30.41\",\"SourceHostname\":\"ws-rad-07\"," \
	"\"SourcePort\":\"50433\",\"SourcePortName\":\"-\",\"DestinationIsIpv6\":\"false\"," \
	"\"DestinationIp\":\"203.0.113.9\",\"DestinationHostname\":\"-\"," \
	"\"DestinationPort\":\"443\",\"DestinationPortName\":\"https\"}}}"

#define SYSMON_11 \
	"{\"@timestamp\":\"2024-05-01T08:15:32.000Z\",\"host\":{\"name\":\"ws-rad-07\"}," \
	"\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":11," \
	"\"provider_name\":\"Microsoft-Windows-Sysmon\",\"event_data\":{" \
	"\"RuleName\":\"-\",\"UtcTime\":\"2024-05-01 08:15:31.990\"," \
	"\"ProcessGuid\":\"{5a1c1e2f-f2b2-6632-1a02-000000000e00}\",\"ProcessId\":\"6120\"," \
	"\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\"," \
	"\"TargetFilename\":\"C:\\\\Users\\\\jdoe\\\\AppData\\\\Local\\\\Temp\\\\upd.exe\"," \
	"\"CreationUtcTime\":\"2024-05-01 08:15:31.990\",\"User\":\"HOSP\\\\jdoe\"}}}"

#define SYSMON_22 \
	"{\"@timestamp\":\"2024-05-01T08:15:31.200Z\",\"host\":{\"name\":\"ws-rad-07\"}," \
	"\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":22," \
	"\"provider_name\":\"Microsoft-Windows-Sysmon\",\"event_data\":{" \
	"\"RuleName\":\"-\",\"UtcTime\":\"2024-05-01 08:15:31.100\"," \
	"\"ProcessGuid\":\"{5a1c1e2f-f2b2-6632-1a02-000000000e00}\",\"ProcessId\":\"6120\"," \
	"\"QueryName\":\"update.example.org\",\"QueryStatus\":\"0\"," \
	"\"QueryResults\":\"::ffff:203.0.113.9;\"," \
	"\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\"," \
	"\"User\":\"HOSP\\\\jdoe\"}}}"

#define SECURITY_4624 \
	"{\"@timestamp\":\"2024-05-01T07:58:02.441Z\",\"host\":{\"name\":\"dc01\"}," \
	"\"winlog\":{\"channel\":\"Security\",\"event_id\":\"4624\"," \
	"\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"computer_name\":\"DC01.hosp.example\"," \
	"\"event_data\":{" \
	"\"SubjectUserSid\":\"S-1-5-18\",\"SubjectUserName\":\"DC01$\",\"SubjectDomainName\":\"HOSP\"," \
	"\"SubjectLogonId\":\"0x3e7\",\"TargetUserSid\":\"S-1-5-21-3623811015-3361044348-30300820-1013\"," \
	"\"TargetUserName\":\"jdoe\",\"TargetDomainName\":\"HOSP\",\"TargetLogonId\":\"0x8dcdc\"," \
	"\"LogonType\":\"3\",\"LogonProcessName\":\"NtLmSsp \",\"AuthenticationPackageName\":\"NTLM\"," \
	"\"WorkstationName\":\"WS-RAD-07\",\"LogonGuid\":\"{00000000-0000-0000-0000-000000000000}\"," \
	"\"TransmittedServices\":\"-\",\"LmPackageName\":\"NTLM V2\",\"KeyLength\":\"128\"," \
	"\"ProcessId\":\"0x0\",\"ProcessName\":\"-\",\"IpAddress\":\"10.20.30.41\",\"IpPort\":\"50512\"," \
	"\"ImpersonationLevel\":\"%%1833\",\"RestrictedAdminMode\":\"-\"," \
	"\"TargetOutboundUserName\":\"-\",\"TargetOutboundDomainName\":\"-\"," \
	"\"VirtualAccount\":\"%%1843\",\"TargetLinkedLogonId\":\"0x0\",\"ElevatedToken\":\"%%1842\"}}}"

#define SECURITY_4625 \
	"{\"@timestamp\":\"2024-05-01T07:57:40.002Z\",\"host\":{\"name\":\"dc01\"}," \
	"\"winlog\":{\"channel\":\"Security\",\"event_id\":4625," \
	"\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{" \
	"\"SubjectUserSid\":\"S-1-5-18\",\"SubjectUserName\":\"DC01$\",\"SubjectDomainName\":\"HOSP\"," \
	"\"SubjectLogonId\":\"0x3e7\",\"TargetUserSid\":\"S-1-0-0\",\"TargetUserName\":\"administrator\"," \
	"\"TargetDomainName\":\"HOSP\",\"Status\":\"0xc000006d\",\"FailureReason\":\"%%2313\"," \
	"\"SubStatus\":\"0xc000006a\",\"LogonType\":\"10\",\"LogonProcessName\":\"User32 \"," \
	"\"AuthenticationPackageName\":\"Negotiate\",\"WorkstationName\":\"DC01\"," \
	"\"TransmittedServices\":\"-\",\"LmPackageName\":\"-\",\"KeyLength\":\"0\"," \
	"\"ProcessId\":\"0x1f4\",\"ProcessName\":\"C:\\\\Windows\\\\System32\\\\svchost.exe\"," \
	"\"IpAddress\":\"198.51.100.23\",\"IpPort\":\"0\"}}}"

#endif
