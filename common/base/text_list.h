/* Comma lists in settings and headers ("a, b,c"): the one reader of them,
 * so every list in cuegw trims and skips the same way. */
#ifndef CUEGW_TEXT_LIST_H
#define CUEGW_TEXT_LIST_H

#include <stddef.h>

/* The next entry of the list at *p, with the blanks (space, tab) around it
 * trimmed; NULL at the end. Empty entries (",,", a trailing comma) are
 * skipped. With blank_separates, a blank also ends an entry (header lists
 * such as Access-Control-Request-Headers, address lists). *p moves past the
 * entry; *n is its length. */
const char *text_list_next(const char **p, size_t *n, int blank_separates);

#endif
