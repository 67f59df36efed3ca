/* Every hard cap cuegw enforces, in one place, so a limit is changed here and
 * nowhere else. Caps that operators may tune have settings (see SPEC §3);
 * these are the built-in values and defaults. */
#ifndef CUEGW_LIMITS_H
#define CUEGW_LIMITS_H

/* Nesting of JSON objects and arrays, and of protobuf messages on the wire.
 * Cuebot's schema nests a handful of levels; 100 matches python-protobuf's
 * json_format and leaves the C stack far from danger. */
#define CG_MAX_DEPTH 100

/* Default request body cap (GRPC_MAX_MESSAGE_SIZE). */
#define CG_DEFAULT_MAX_REQUEST (4u * 1024 * 1024)

/* Default response cap (GRPC_MAX_RECV_MSG_MB): busy farms answer GetJobs with
 * tens of MB. */
#define CG_DEFAULT_MAX_RESPONSE (256u * 1024 * 1024)

/* A status message is cut, never grown: errors must not allocate. */
#define CG_STATUS_MSG_MAX 240

/* The first arena chunk; later chunks double up to the largest size, so
 * the unused tail of the last chunk stays small. */
#define CG_ARENA_FIRST_CHUNK (16u * 1024)
#define CG_ARENA_MAX_CHUNK (1024u * 1024)

/* Arena memory kept from one request to the next: enough for ordinary
 * calls to run without malloc; a large response's chunks go back. */
#define CG_ARENA_RETAIN (1024u * 1024)

/* Blocks protobuf-c allocates at least this large are tracked for reuse. */
#define CG_ARENA_TRACK_MIN 512u

#endif
