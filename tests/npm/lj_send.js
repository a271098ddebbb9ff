// Sends events to the relay's Lumberjack v2 input with the
// lumberjack-client package (a window of events per connection, in one
// zlib-compressed frame), and waits for the relay's ACKs.
//   node lj_send.js PORT BATCHES PER TAG [CA CERT KEY]
// Each event is a Winlogbeat-shaped Sysmon event of about 1 KiB, tagged
// TAG-b-i. lumberjack-client itself does not read ACKs, so this driver
// reads them from the client's socket: a batch counts as acknowledged when
// an ACK frame ('2' 'A' seq) with seq == PER arrives. Prints "acked B" for
// each batch; exits 0 when all were acknowledged, 1 after LJ_TIMEOUT_MS
// (default 20000) without the ACK. With LJ_CONTINUE=1 a batch without its
// ACK is reported as "failed B" and the next batch goes on (never resent,
// so that an ACKed event can be checked to be stored exactly once).
'use strict'
const fs = require('fs')
const LumberjackClient = require('lumberjack-client')

const [portArg, batchesArg, perArg, tag, ca, cert, key] = process.argv.slice(2)
const port = parseInt(portArg, 10)
const batches = parseInt(batchesArg, 10)
const per = parseInt(perArg, 10)
const useTls = Boolean(ca)

function event(b, i) {
  return {
    '@timestamp': new Date().toISOString(),
    host: { name: 'ws-rad-' + (i % 20) },
    agent: { type: 'winlogbeat', version: '8.12.0' },
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider_name: 'Microsoft-Windows-Sysmon',
      event_id: 3,
      event_data: {
        UtcTime: '2024-05-01 08:15:31.400',
        ProcessGuid: '{5a1c1e2f-f2b2-6632-1a02-000000000e00}',
        ProcessId: '6120',
        Image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        User: 'HOSP\\jdoe',
        Protocol: 'tcp',
        SourceIp: '10.20.30.' + (i % 250),
        SourcePort: String(50000 + i),
        DestinationIp: '203.0.113.9',
        DestinationPort: '443',
        RuleName: 'x'.repeat(500)
      }
    },
    tag: tag + '-' + b + '-' + i
  }
}

function sendBatch(b) {
  return new Promise((resolve, reject) => {
    const config = { host: '127.0.0.1', port }
    if (useTls) {
      Object.assign(config, {
        ca: [fs.readFileSync(ca)],
        cert: fs.readFileSync(cert),
        key: fs.readFileSync(key),
        servername: 'localhost'
      })
    }
    const client = new LumberjackClient(config, useTls)
    // Queued before the connection is up, the events leave as one window.
    for (let i = 0; i < per; i++) client.log(event(b, i))
    const timer = setTimeout(() => {
      client.connecting = true
      if (client.socket) client.socket.destroy()
      reject(new Error('no ACK for batch ' + b))
    },
      parseInt(process.env.LJ_TIMEOUT_MS || '20000', 10))
    let pending = Buffer.alloc(0)
    client.socket.on('close', () => {
      // The relay went away: this window will never be ACKed.
      if (!client.connecting) {
        clearTimeout(timer)
        client.connecting = true
        reject(new Error('connection closed before the ACK of batch ' + b))
      }
    })
    client.socket.on('data', (d) => {
      pending = Buffer.concat([pending, d])
      while (pending.length >= 6) {
        if (pending[0] !== 0x32 || pending[1] !== 0x41) {
          clearTimeout(timer)
          return reject(new Error('not an ACK frame'))
        }
        const seq = pending.readUInt32BE(2)
        pending = pending.subarray(6)
        if (seq === per) {
          clearTimeout(timer)
          // Keep the client from reconnecting once we close its socket.
          client.connecting = true
          client.socket.destroy()
          return resolve()
        }
      }
    })
  })
}

(async () => {
  for (let b = 0; b < batches; b++) {
    try {
      await sendBatch(b)
    } catch (e) {
      console.log('error ' + e.message)
      if (process.env.LJ_CONTINUE === '1') {
        console.log('failed ' + b)
        continue
      }
      process.exit(1)
    }
    console.log('acked ' + b)
  }
  process.exit(0)
})()
