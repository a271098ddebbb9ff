/* The two roles of the ward-agent binary.
 *
 *   supervisor  the process started by systemd or by hand: owns the
 *               configuration, the control socket, the P0 `agent` lane
 *               (loss and status records) and the spool budget; it starts
 *               the receiver process and restarts it if it dies. With
 *               the uplink on, it also holds the device key and runs the
 *               sealers and the uplink (seal_uplink.h).
 *   receivers   started by the supervisor as `ward-agent --receivers`
 *               with the IPC socket on fd 3: parses untrusted network
 *               input (syslog, SNMP) and writes its own lanes. It never holds
 *               key material (DESIGN.md, "Processes and privilege").
 */
#ifndef WARD_AGENT_H
#define WARD_AGENT_H

#include "config.h"

#define WARD_VERSION "0.1.0"
#define RECEIVERS_IPC_FD 3

/* Runs the supervisor until SIGTERM/SIGINT. `cfg_path` may be NULL (the
 * compiled-in defaults); `cfg` is the already validated configuration,
 * owned by the supervisor from here on. Returns the process exit code. */
int supervisor_main(const char *cfg_path, struct ward_config *cfg, const char *argv0);

/* Runs the receiver process on the IPC fd until SIGTERM or until the
 * supervisor goes away. Returns the process exit code. */
int receivers_main(int ipc_fd);

#endif
