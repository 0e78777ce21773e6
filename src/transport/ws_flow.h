/* transport/ws_flow.h: input flow control of a WebSocket connection, for hosts that hand its
 * messages to another thread (pyhost/ws.c) and must stop reading a client that sends faster than
 * the application consumes (DESIGN.md §2 push-back), instead of queueing without bound.
 *
 *   fa__ws_pause_reading      loop thread (inside on_message): stop reading the socket; the
 *                             messages already read in this batch are still delivered
 *   fa__ws_resume_reading_to  any thread: read again (posted to the connection's loop; a no-op
 *                             when it is not paused or has closed)
 *   fa__ws_send_frames_to     any thread: frames built by the caller, posted together
 */
#ifndef FA_TRANSPORT_WS_FLOW_H
#define FA_TRANSPORT_WS_FLOW_H

#include "fasterapi/ws.h"

void fa__ws_pause_reading(fa_ws_t *ws);
/* 0, FA_ESTATE (no such open connection), FA_ENOMEM. */
int fa__ws_resume_reading_to(fa_ws_handle_t h);
/* Any thread: complete server frames (fa__ws_frame_header + payload, one or many, in order) for
 * h, posted as one message: a host that gathers what a handler sent in one turn pays one hand-off
 * and one write for all of it. The caller has checked each frame (type, UTF-8). 0, FA_ESTATE,
 * FA_ENOMEM. */
int fa__ws_send_frames_to(fa_ws_handle_t h, const void *frames, size_t len);

#endif
