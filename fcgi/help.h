/* `cuegw --help`: the command line and every setting of the table
 * (common/ops/settings.def); the full story is in cuegw(8) (docs/cuegw.8)
 * and the README. */
#ifndef CUEGW_HELP_H
#define CUEGW_HELP_H

#include <stdio.h>

void help_print(FILE *f);

/* `cuegw --list-settings`: the table itself, one line a setting. */
void settings_list_print(FILE *f);

#endif
