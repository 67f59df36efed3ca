/* The OpenAPI 3.1.0 document of the gateway's HTTP surface, written from the
 * same schema registry the router and the transcoder use, so it lists
 * exactly the routes this build serves, with the JSON names and types the
 * transcoder reads and writes.
 *
 * Why in C, from the compiled registry, rather than by a script over the
 * descriptor set: the document a running gateway serves (OPENAPI_PATH) and
 * the one `make openapi` writes (`cuegw --openapi`) then come from one
 * writer and one schema, and cannot drift from the routes; a deployment
 * needs no generated file beside the binary.
 *
 * Version 3.1 rather than 3.0: an unset message field is written as null,
 * and only 3.1 (JSON Schema's null type) can say "this message or null" in a
 * form that validators and generators agree on; 3.0's `nullable` has no
 * effect beside a $ref, so generated clients never expected the null. */
#ifndef CUEGW_OPENAPI_H
#define CUEGW_OPENAPI_H

#include <stddef.h>
#include <stdio.h>

#include "base/outbuf.h"

/* Writes the document into ob (growable mode). url_prefix ("" or "/cue",
 * prefix_len bytes of it) becomes the relative server URL. Needs
 * schema_init to have run. Returns 0, or -1 when ob failed (too big or out
 * of memory). */
int openapi_write(struct outbuf *ob, const char *url_prefix, size_t prefix_len);

/* The document for this process, built on first use and kept for the life
 * of the process (it is not per-request memory). Safe to call from several
 * threads; every call must pass the same prefix (there is one configuration
 * per process). Returns NULL when it could not be built (out of memory);
 * a later call tries again. */
const char *openapi_document(const char *url_prefix, size_t prefix_len, size_t *len);

/* `cuegw --openapi`: writes the document for the URL_PREFIX in the
 * environment (checked as the gateway checks it; no other setting is
 * needed) to out. Returns the process exit status: 0, or 2 after a message
 * on stderr. */
int openapi_print(FILE *out);

#endif
