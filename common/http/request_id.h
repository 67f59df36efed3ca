/* Request ids: the client's X-Request-Id when it is a sane token, else a
 * fresh random one. It goes to Cuebot as metadata and into the logs. */
#ifndef CUEGW_REQUEST_ID_H
#define CUEGW_REQUEST_ID_H

#include "base/cg_limits.h"

#define REQUEST_ID_SIZE (CG_MAX_REQUEST_ID + 1)

/* Fills out with the client's id if it is 1..CG_MAX_REQUEST_ID printable
 * ASCII characters without spaces or quotes, else with 32 fresh hex
 * digits. */
void request_id_make(const char *client_id, char out[REQUEST_ID_SIZE]);

#endif
