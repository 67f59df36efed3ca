/* `cuegw --check-config`: validates the settings the environment holds
 * (ACCESS_POLICY and METRICS_DIR included), then makes one cheap read call
 * to Cuebot, and says what it found. For operators before a (re)start and
 * for deployment scripts. */
#ifndef CUEGW_CHECK_CONFIG_H
#define CUEGW_CHECK_CONFIG_H

#include <stdio.h>

/* Exit statuses, also listed in cuegw(8). */
enum {
    CHECK_OK = 0,
    CHECK_CUEBOT = 1,        /* settings valid, Cuebot not reached or refused */
    CHECK_SETTINGS = 2       /* a setting (or the policy file) is invalid */
};

/* Prints a summary to out and problems to err; returns a CHECK_* status.
 * Secrets are never printed, only whether they are set. */
int check_config(FILE *out, FILE *err);

#endif
