/* The gateway's version: `cuegw --version` and the OpenAPI document's
 * info.version. A build may set it with CFLAGS_EXTRA=-DCUEGW_VERSION=... */
#ifndef CUEGW_VERSION_H
#define CUEGW_VERSION_H

#ifndef CUEGW_VERSION
#define CUEGW_VERSION "0.1.0"
#endif

#endif
