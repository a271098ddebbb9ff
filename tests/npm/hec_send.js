// Sends events to the relay's HEC input with the splunk-logging client.
//   node hec_send.js URL TOKEN COUNT TAG [BATCH]
// Each event is a Sysmon process-creation event of about 1 KiB, tagged
// TAG-i. BATCH events go in one request (default 1). Prints one line per
// request: "ok N" with the HEC answer code, or "error STATUS BODY"; exits 0
// only when every request got {"code":0}.
'use strict'
const SplunkLogger = require('splunk-logging').Logger

const [url, token, countArg, tag, batchArg] = process.argv.slice(2)
const count = parseInt(countArg, 10)
const batch = parseInt(batchArg || '1', 10)

const logger = new SplunkLogger({ token, url, maxBatchCount: batch, maxRetries: 0 })
let failed = 0
let answered = 0
const requests = Math.ceil(count / batch)

logger.error = (err) => {
  console.log('error transport ' + err.message)
  failed++
}

function sysmon1(i) {
  return {
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider_name: 'Microsoft-Windows-Sysmon',
      event_id: 1,
      computer_name: 'ws-' + (i % 50) + '.hosp.example',
      event_data: {
        UtcTime: '2024-05-01 08:15:30.120',
        ProcessGuid: '{5a1c1e2f-f2b2-6632-1a02-000000000e00}',
        ProcessId: String(1000 + i),
        Image: 'C:\\Windows\\System32\\cmd.exe',
        CommandLine: 'cmd.exe /c echo ' + tag + '-' + i + ' ' + 'x'.repeat(400),
        CurrentDirectory: 'C:\\Users\\jdoe\\',
        User: 'HOSP\\jdoe',
        IntegrityLevel: 'Medium',
        ParentProcessId: '4412',
        ParentImage: 'C:\\Windows\\explorer.exe',
        ParentCommandLine: 'C:\\Windows\\Explorer.EXE'
      }
    },
    tag: tag + '-' + i
  }
}

for (let i = 0; i < count; i++) {
  logger.send({ message: sysmon1(i), metadata: { host: 'ws-' + (i % 50), sourcetype: 'sysmon' } },
    (err, resp, body) => {
      answered++
      if (err) {
        console.log('error transport ' + err.message)
        failed++
      } else if (resp.statusCode !== 200 || !body || body.code !== 0) {
        console.log('error ' + resp.statusCode + ' ' + JSON.stringify(body))
        failed++
      } else {
        console.log('ok ' + body.code)
      }
      if (answered === requests) process.exit(failed ? 1 : 0)
    })
}
if (count % batch !== 0) logger.flush()
