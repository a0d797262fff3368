/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shipping logs to the API's log service: every line a dyno prints (read from its output
 * file, which the dyno writes without ever waiting on the agent) and every event of the
 * platform (agent_event()). Lines go in batches to POST /agent/logs.
 *
 * Each line of a dyno carries a cursor (dyno id, epoch, offset in the output file); the
 * agent keeps the last acknowledged cursor of each dyno in DATA_DIR/agent/dynos/<id>/log.cursor,
 * so that after a restart it resends from there, and the service drops what it has already
 * seen: no line is lost to a restart, and none is shown twice. An output file fully shipped
 * and larger than LOG_FILE_ROTATE is emptied and starts a new epoch.
 *
 * The routers' request lines, a line per request, are many: they wait and travel as text, a
 * line each ("app_id usec message"), to POST /agent/router-logs, not as a JSON object each;
 * shipments of both kinds take turns. At most LOG_ROUTER_QUEUE_BYTES of them wait, the rest are
 * dropped and counted in the L10 line.
 *
 * Backpressure: at most LOG_QUEUE_MAX lines wait in memory. Beyond that the agent stops
 * reading output files (dynos keep writing); a file that gets LOG_FILE_BEHIND_MAX bytes ahead
 * of the agent is skipped to its end, with an `Error L10 (output buffer overflow)` line saying
 * how much was dropped.
 */

#include "agent/agent-state.h"

#define LOG_QUEUE_MAX 10000
/* The routers' lines waiting, at most: a router logs a line per request, tens of thousands a second. */
#define LOG_ROUTER_QUEUE_BYTES (4 * 1024 * 1024)
/*
 * A busy router's lines are handled in slices, with pauses between them: LOG_ROUTER_SLICE
 * bytes of its file read at a time, LOG_ROUTER_SLICE_MS apart while more waits, shipped
 * LOG_ROUTER_BATCH lines at a time. Each slice of work (the agent's, then the log service's)
 * takes a CPU from the dynos and the routers while it lasts; requests that need that CPU wait
 * for its end. A quarter second of a busy router's lines at once held some requests up for
 * milliseconds; slices of a few hundred lines, a tenth of a millisecond or two.
 */
#define LOG_ROUTER_SLICE (64 * 1024)
#define LOG_ROUTER_SLICE_MS 2
#define LOG_ROUTER_BATCH 250
/* Below the service's 1500 lines per app, so that a tail sees every line of a batch. */
#define LOG_BATCH 1000
#define LOG_BATCH_BYTES (512 * 1024)
#define LOG_READ_MAX (256 * 1024)
#define LOG_FILE_ROTATE (1024 * 1024)
#define LOG_FILE_BEHIND_MAX (8 * 1024 * 1024)

/* Queues a line of the platform (`heroku[source]: msg`) or of an app for shipping. */
void agent_logs_queue(struct agent *a, const char *app_id, const char *source, const char *dyno, const char *msg);

/* Reads what a dyno printed since the last read. Called at every tick, and when a dyno ends. */
void agent_logs_collect(struct agent *a, struct agent_dyno *d);

/*
 * Reads the request logs of the spaces' routers (DATA_DIR/agent/routers/<space>.log, a line
 * per request led by the app's name) into the apps' streams as `heroku[router]` lines. After
 * an agent restart it starts at the end of each file: a restart may lose a few router lines,
 * never repeat them. Reads a slice (LOG_ROUTER_SLICE bytes) of each file whose last slice left
 * lines to read (behind) or did not (!behind); a->router_behind then tells whether any file
 * has lines left.
 */
void agent_logs_collect_routers(struct agent *a, bool behind);

/* Starts a shipment when lines wait and none is in flight. */
void agent_logs_ship(struct agent *a);

/* Loads a dyno's cursor (after an agent restart). */
void agent_logs_load_cursor(struct agent *a, struct agent_dyno *d);

/* The output file starts anew (a new run of the dyno): a new epoch. */
void agent_logs_new_epoch(struct agent *a, struct agent_dyno *d);
