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

/* Arena chunks this large are mapped, populated, straight from the kernel
 * (see arena.c), and unmapped when the request ends. */
#define CG_ARENA_MAP_MIN (256u * 1024)


/* URL_PREFIX length: a mount point, never a whole URL. */
#define CG_MAX_PREFIX 256

/* A client's X-Request-Id longer than this (or not printable ASCII) is
 * replaced by a fresh one rather than passed on to Cuebot and the logs. */
#define CG_MAX_REQUEST_ID 128

/* Response bodies up to this size are sent whole with a Content-Length;
 * larger ones stream to the web server in chunks of this size, so a 50 MB
 * GetJobs answer costs one chunk of output memory. */
#define CG_RESPONSE_CHUNK (64u * 1024)

/* The OpenAPI document, built once per process: under 1 MB for Cuebot's
 * schema; a site's own schema (PROTO_DIR) could be larger, never this. */
#define CG_MAX_OPENAPI (32u * 1024 * 1024)

/* Response headers the gateway writes (status, CORS, ids) fit in this. */
#define CG_MAX_HEADERS 2048

/* A bearer token. A JWT with a handful of claims is well under 1 KiB; 8 KiB
 * is what common web servers allow for a whole header line, and it bounds
 * what libjwt and jansson are ever asked to parse. */
#define CG_MAX_TOKEN (8u * 1024)

/* An Authorization value: the scheme, its separating spaces and a token.
 * Checked before the value is scanned, so a huge header costs nothing. */
#define CG_MAX_AUTH_HEADER (CG_MAX_TOKEN + 64u)

/* Request threads per process (WORKER_THREADS): requests served at once,
 * sharing the process's Cuebot channel. Not a connection limit: each
 * thread serves any number of FastCGI connections. Four keep a process
 * busy while some of its requests wait for Cuebot; more cost gRPC
 * wake-ups between its pollers, and tens of KiB each while idle. */
#define CG_DEFAULT_WORKER_THREADS 4
#define CG_MAX_WORKER_THREADS 256

/* What one request's FastCGI parameters may hold: the HTTP headers, the
 * CGI variables and any settings the web server adds. Web servers cap a
 * request's header block at 8 to 64 KiB; past these a request is refused
 * (431) before its parameters cost more memory. */
#define CG_MAX_PARAMS_BYTES (64u * 1024)
#define CG_MAX_PARAMS_COUNT 512u

/* The FastCGI peer's deadlines (PARAMS_TIMEOUT, BODY_TIMEOUT,
 * WRITE_TIMEOUT, IDLE_TIMEOUT). A web server sends a request's params at
 * once, and buffers the body (nginx, lighttpd) or streams what its client
 * sends (Apache mod_proxy_fcgi); it takes answers as fast as it can spool
 * them. A kept connection may rest between requests as long as the web
 * server's own upstream keepalive allows (nginx: 60 s). */
#define CG_DEFAULT_PARAMS_TIMEOUT_MS 10000
#define CG_DEFAULT_BODY_TIMEOUT_MS 60000
#define CG_DEFAULT_WRITE_TIMEOUT_MS 60000
#define CG_DEFAULT_IDLE_TIMEOUT_MS 300000

/* Connections one process holds at once. None of them holds a thread;
 * when all are taken, the one that has waited longest for a request is
 * closed to make room. */
#define CG_MAX_CONNS 1024

/* After answering on a connection the web server does not keep, cuegw
 * shuts its side and reads (and drops) what the web server still sends,
 * for at most this long and this much, before it closes: closing with
 * unread input resets a TCP connection, and a web server still writing
 * the body would see the reset before it read the answer. */
#define CG_LINGER_MS 2000

/* Protocol replies (GET_VALUES results, CANT_MPX_CONN) a peer may leave
 * unread before its connection is closed: each costs cuegw more than the
 * record that asked for it. */
#define CG_MAX_QUEUED_REPLIES (64u * 1024)
/* How long a kept connection whose request ended may wait, at most, for
 * the I/O thread to take it back when nothing else wakes it (fcgi/): its
 * IDLE_TIMEOUT starts then. */
#define CG_DONE_CHECK_MS 1000
#define CG_LINGER_MAX (16u * 1024 * 1024)

/* Answer bytes queued for a web server that is not taking them, past
 * which the request thread stops writing and waits for it to take some
 * (WRITE_TIMEOUT without progress closes the connection). Every shipped
 * front reads answers as fast as they come, so this is reached only
 * behind a slow client (Apache passes its pace on) or by a peer that
 * never reads; without it such an answer would sit whole in memory. */
#define CG_MAX_QUEUED_ANSWER (4u * 1024 * 1024)

#endif
